"""Structured logs and CloudWatch metrics (Powertools), created on first use so that
importing the app stays cheap. Logs carry a correlation id per cycle, never a secret and
never a mention's text at INFO."""

from __future__ import annotations

import functools
import statistics
from typing import Any

from chalicelib.cycle.context import CycleReport

NAMESPACE = "SocialListening"
SERVICE = "social-listening"
NOT_CONFIRMED_METRIC = "DeliveriesNotConfirmed"  # failed or unconfirmed deliveries of a cycle: the one alarmed figure


@functools.cache
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE)


# Every metric series the service emits: one dimension set (service) and these names, at most 10, so that
# CloudWatch's 10 free custom metrics cover them (each name + dimension set is a billed series beyond 10).
# Per-network and per-channel detail is in the cycle's log line, queryable with Logs Insights (docs/queries.md).
METRICS = ("MentionsFetched", "NetworkErrors", "MentionsNew", "MentionsAttached", "MentionsMuted",
           "DeliveriesSent", NOT_CONFIRMED_METRIC, "HealthNotices", "AlertLatency", "DynamoDBRequests")
NOT_CONFIRMED = {"failed", "unconfirmed"}  # a delivery given up on, or whose send cannot be known: alarmed


def publish_cycle(report: CycleReport, *, namespace: str = NAMESPACE) -> None:
    """One cycle's figures as one CloudWatch embedded-metric-format line on stdout (Lambda ships it to
    CloudWatch Metrics with the logs): mentions fetched (all networks), networks in error, new, attached and
    muted mentions, deliveries sent and not confirmed (failed or unconfirmed: the alarmed figure), health
    notices, the slowest channel's median alert latency, DynamoDB requests. ``METRICS`` lists them: no
    per-network dimension."""
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    metrics = EphemeralMetrics(namespace=namespace, service=SERVICE)
    statuses = [status for _, _, status, _ in report.deliveries]
    values = {
        "MentionsFetched": sum(report.fetched.values()),
        "NetworkErrors": len(report.errors),
        "MentionsNew": report.new_mentions,
        "MentionsAttached": report.attached,
        "MentionsMuted": report.muted,
        "DeliveriesSent": statuses.count("sent"),
        NOT_CONFIRMED_METRIC: sum(status in NOT_CONFIRMED for status in statuses),
        "HealthNotices": len(report.health_notices),
        "DynamoDBRequests": report.ddb_requests,
    }
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    medians = [statistics.median(seconds) for seconds in report.latency.values() if seconds]
    if medians:
        metrics.add_metric(name="AlertLatency", unit=MetricUnit.Seconds, value=max(medians))
    metrics.flush_metrics()


def log_cycle(report: CycleReport) -> None:
    """One INFO line per cycle: counts and errors in words, per network and channel (no mention text, no
    secrets): the detail the metrics leave out."""
    logger().info("poll cycle", extra={
        "tasks": report.tasks_run, "fetched": dict(report.fetched), "new": report.new_mentions,
        "attached": report.attached, "muted": report.muted, "held_back": report.held_back, "errors": report.errors,
        "deliveries": [{"recipient": r, "channel": c, "status": s, "mentions": n} for r, c, s, n in report.deliveries],
        "seconds": round(report.seconds, 3), "ddb_requests": report.ddb_requests, "retried": report.retried,
        "health_notices": [{"network": n, "state": s} for _, n, s in report.health_notices],
        "latency_median_seconds": {c: statistics.median(s) for c, s in sorted(report.latency.items()) if s},
    })

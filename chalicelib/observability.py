"""Structured logs and CloudWatch metrics (Powertools), created on first use so that
importing the app stays cheap. Logs carry a correlation id per cycle, never a secret and
never a mention's text at INFO."""

from __future__ import annotations

import functools
import statistics
from typing import Any

from chalicelib.pipeline import CycleReport

NAMESPACE = "SocialListening"
SERVICE = "social-listening"
NOT_CONFIRMED_METRIC = "DeliveriesNotConfirmed"  # failed or unconfirmed deliveries of a cycle: the one alarmed figure


@functools.cache
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service=SERVICE)


def publish_cycle(report: CycleReport, *, namespace: str = NAMESPACE) -> None:
    """One cycle's figures as CloudWatch embedded-metric-format lines on stdout (Lambda
    ships them to CloudWatch Metrics for free with the logs): per network mentions fetched
    and errors; new, attached, muted mentions; deliveries by channel and outcome (sent,
    skipped, retry, failed, unconfirmed) and the retries sent again; health notices by
    network and state (down, up, silent, data again); alert latency by channel; DynamoDB
    capacity consumed."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    def emit(name: str, value: float, unit: Any = MetricUnit.Count, **dimensions: str) -> None:
        with single_metric(name=name, unit=unit, value=value, namespace=namespace) as metric:
            metric.add_dimension(name="service", value=SERVICE)
            for key, dim in dimensions.items():
                metric.add_dimension(name=key, value=dim)

    for network, count in sorted(report.fetched.items()):
        emit("MentionsFetched", count, network=network)
    for network in sorted(report.errors):
        emit("NetworkErrors", 1, network=network)
    emit("MentionsNew", report.new_mentions)
    emit("MentionsAttached", report.attached)
    emit("MentionsMuted", report.muted)
    outcomes: dict[tuple[str, str], int] = {}
    for _, channel, status, _ in report.deliveries:
        outcomes[(channel, status)] = outcomes.get((channel, status), 0) + 1
    for (channel, status), count in sorted(outcomes.items()):
        emit("Deliveries", count, channel=channel, outcome=status)
    if report.retried:
        emit("DeliveriesRetried", report.retried)
    # One alarm-backed figure, no per-channel dimension: deliveries that failed or may not have arrived.
    emit(NOT_CONFIRMED_METRIC, sum(1 for *_, status, _ in report.deliveries if status in ("failed", "unconfirmed")))
    told: dict[tuple[str, str], int] = {}
    for _, network, state in report.health_notices:
        told[(network, state)] = told.get((network, state), 0) + 1
    for (network, state), count in sorted(told.items()):
        emit("HealthNotices", count, network=network, state=state)
    for channel, seconds in sorted(report.latency.items()):
        if seconds:
            emit("AlertLatency", statistics.median(seconds), MetricUnit.Seconds, channel=channel)
    emit("DynamoDBRequests", report.ddb_requests)


def log_cycle(report: CycleReport) -> None:
    """One INFO line per cycle: counts and errors in words (no mention text, no secrets)."""
    logger().info("poll cycle", extra={
        "tasks": report.tasks_run, "fetched": dict(report.fetched), "new": report.new_mentions,
        "attached": report.attached, "muted": report.muted, "errors": report.errors,
        "deliveries": [{"recipient": r, "channel": c, "status": s, "mentions": n} for r, c, s, n in report.deliveries],
        "seconds": round(report.seconds, 3), "ddb_requests": report.ddb_requests,
    })

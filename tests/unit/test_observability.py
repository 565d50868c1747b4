"""Metrics are CloudWatch EMF lines with exact names and values; logs carry no mention text."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.observability import METRICS, log_cycle, publish_cycle
from chalicelib.pipeline import CycleReport


def report() -> CycleReport:
    return CycleReport(
        tasks_run=3, fetched=Counter({"hackernews": 4, "reddit": 2}), new_mentions=5,
        errors={"github": "github: server error (HTTP 503)"}, attached=1, muted=0, held_back=2,
        deliveries=[("Maria", "email", "sent", 5), ("Maria", "sms", "skipped", 1)],
        latency={"email": [30.0, 90.0, 60.0]}, ddb_requests=17,
    )


def test_the_figures_are_one_emf_line_of_at_most_ten_series_with_no_per_network_dimension(
        capsys: pytest.CaptureFixture[str]) -> None:
    publish_cycle(report(), namespace="Test")
    (blob,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Test"
    assert directive["Dimensions"] == [["service"]]  # one dimension set: each name is one series
    assert blob["service"] == "social-listening"
    metrics = {d["Name"]: (blob[d["Name"]], d["Unit"]) for d in directive["Metrics"]}
    assert metrics == {
        "MentionsFetched": ([6.0], "Count"),
        "NetworkErrors": ([1.0], "Count"),
        "MentionsNew": ([5.0], "Count"),
        "MentionsAttached": ([1.0], "Count"),
        "MentionsMuted": ([0.0], "Count"),
        "DeliveriesSent": ([1.0], "Count"),
        "DeliveriesNotConfirmed": ([0.0], "Count"),
        "HealthNotices": ([0.0], "Count"),
        "AlertLatency": ([60.0], "Seconds"),
        "DynamoDBRequests": ([17.0], "Count"),
    }
    assert set(metrics) == set(METRICS) and len(METRICS) <= 10


def test_failed_and_unconfirmed_deliveries_count_as_not_confirmed_and_a_retry_does_not(
        capsys: pytest.CaptureFixture[str]) -> None:
    busy = report()
    busy.deliveries = [("M", "email", "failed", 1), ("M", "sms", "retry", 1), ("N", "email", "unconfirmed", 1),
                       ("N", "sms", "skipped", 1), ("O", "email", "sent", 2)]
    busy.latency = {"email": [10.0], "sms": [40.0, 20.0]}
    publish_cycle(busy, namespace="Test")
    (blob,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (blob["DeliveriesSent"], blob["DeliveriesNotConfirmed"], blob["AlertLatency"]) == ([1.0], [2.0], [30.0])


def test_the_cycle_log_line_has_counts_and_errors_but_no_mention_text(capsys: pytest.CaptureFixture[str]) -> None:
    log_cycle(report())
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["message"] == "poll cycle" and line["level"] == "INFO"
    assert line["new"] == 5 and line["errors"] == {"github": "github: server error (HTTP 503)"}
    assert line["deliveries"][0] == {"recipient": "Maria", "channel": "email", "status": "sent", "mentions": 5}
    assert line["fetched"] == {"hackernews": 4, "reddit": 2}  # per network: in the log, not in the metrics
    assert line["latency_median_seconds"] == {"email": 60.0}
    assert line["held_back"] == 2  # held for the digest by the owner-feedback model (not a metric: 10 series)

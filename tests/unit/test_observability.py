"""Metrics are CloudWatch EMF lines with exact names and values; logs carry no mention text."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from chalicelib.observability import log_cycle, publish_cycle
from chalicelib.pipeline import CycleReport


def report() -> CycleReport:
    return CycleReport(
        tasks_run=3, fetched=Counter({"hackernews": 4, "reddit": 2}), new_mentions=5,
        errors={"github": "github: server error (HTTP 503)"}, attached=1, muted=0,
        deliveries=[("Maria", "email", "sent", 5), ("Maria", "sms", "skipped", 1)],
        latency={"email": [30.0, 90.0, 60.0]}, ddb_requests=17,
    )


def test_each_figure_is_one_emf_metric_with_its_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    publish_cycle(report(), namespace="Test")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    metrics = {}
    for blob in lines:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Test"
        (definition,) = directive["Metrics"]
        dimensions = tuple(sorted((d, blob[d]) for d in directive["Dimensions"][0] if d != "service"))
        (value,) = blob[definition["Name"]]  # EMF values come as a list of one
        metrics[(definition["Name"], dimensions)] = (value, definition["Unit"])
    assert metrics == {
        ("MentionsFetched", (("network", "hackernews"),)): (4.0, "Count"),
        ("MentionsFetched", (("network", "reddit"),)): (2.0, "Count"),
        ("NetworkErrors", (("network", "github"),)): (1.0, "Count"),
        ("MentionsNew", ()): (5.0, "Count"),
        ("MentionsAttached", ()): (1.0, "Count"),
        ("MentionsMuted", ()): (0.0, "Count"),
        ("Deliveries", (("channel", "email"), ("outcome", "sent"))): (1.0, "Count"),
        ("Deliveries", (("channel", "sms"), ("outcome", "skipped"))): (1.0, "Count"),
        ("DeliveriesNotConfirmed", ()): (0.0, "Count"),
        ("AlertLatency", (("channel", "email"),)): (60.0, "Seconds"),
        ("DynamoDBRequests", ()): (17.0, "Count"),
    }


def test_the_cycle_log_line_has_counts_and_errors_but_no_mention_text(capsys: pytest.CaptureFixture[str]) -> None:
    log_cycle(report())
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line["message"] == "poll cycle" and line["level"] == "INFO"
    assert line["new"] == 5 and line["errors"] == {"github": "github: server error (HTTP 503)"}
    assert line["deliveries"][0] == {"recipient": "Maria", "channel": "email", "status": "sent", "mentions": 5}

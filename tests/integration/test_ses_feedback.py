"""The ses_feedback Lambda on the local stack: a bounce stops the alert emails to that address."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.networks.hackernews.emulator import story_hit
from chalicelib.runtime import runtime
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for

pytestmark = pytest.mark.integration


def test_a_permanent_bounce_suppresses_later_alert_emails(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(replay, tmp_path)
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    bounce = {"notificationType": "Bounce", "mail": {"source": "alerts@beanthere.example"},
              "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "maria@beanthere.example"}]}}
    with Client(app, stage_name="dev") as client:
        event = client.events.generate_sns_event(message=json.dumps(bounce))
        assert client.lambda_.invoke("ses_feedback", event).payload == {"suppressed": 1}
    runtime.cache_clear()
    assert store.suppressed() == {"maria@beanthere.example": "bounced"}
    replay.add_items("hackernews", [story_hit(9001, int(time.time()) - 10, "Bean There is great")])
    report = pipeline_for(config, store, Clock()).run_cycle()
    assert report.new_mentions == 1 and report.deliveries == []  # no email to a bounced address
    assert stack.sent_emails() == []

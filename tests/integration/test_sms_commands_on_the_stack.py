"""SMS commands against the real store: an OK from the recipient's phone marks the mention handled."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from chalicelib.links import TokenSigner
from chalicelib.sms_commands import handle, inbound
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import SIGNING_KEY, make_config
from tests.integration.test_pipeline import Clock, pipeline_for

pytestmark = pytest.mark.integration


def sms(body: str, sender: str = "+351912345678", message_id: str = "abc-1") -> dict:
    return json.loads(json.dumps({
        "originationNumber": sender, "destinationNumber": "+18005550100", "messageKeyword": "KEYWORD_123",
        "messageBody": body, "inboundMessageId": message_id, "previousPublishedMessageId": "prev-1",
    }))


def test_ok_mute_and_reply_by_sms_change_the_store(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    from chalicelib.networks.hackernews.emulator import comment_hit

    replay.add_items("hackernews", [comment_hit(77, int(time.time()) - 30, "Bean There was rude, refund me",
                                                story_id=70, story_title="x", author="angry_ana")])
    config = make_config(replay, tmp_path)
    clock = Clock()
    pipeline_for(config, store, clock).run_cycle()
    (_, text), = stack.sent_sms()
    code = text.rsplit("/s/", 1)[1]
    signer = TokenSigner(SIGNING_KEY.encode())

    outcome = handle(inbound(sms(f"ok {code}")), config=config, store=store, signer=signer, clock=clock)
    assert outcome.answer is not None and "handled" in outcome.answer
    stored = store.get_mention("hackernews#77")
    assert stored is not None and stored.state == "handled"
    again = handle(inbound(sms(f"OK {code}", message_id="abc-2")), config=config, store=store, signer=signer,
                   clock=clock)
    assert again.answer is not None and "already handled" in again.answer

    handle(inbound(sms(f"MUTE {code}", message_id="abc-3")), config=config, store=store, signer=signer, clock=clock)
    assert store.muted_authors() == ["hackernews:angry_ana"]
    item = store.client.get_item(TableName=store.table, Key={"pk": {"S": "MUTES"},
                                                             "sk": {"S": "author#hackernews:angry_ana"}})["Item"]
    assert item["by"] == {"S": "Maria"}  # the recipient the code was sent to, as a muting link records it
    stranger = handle(inbound(sms(f"OK {code}", sender="+14155550199", message_id="abc-4")), config=config,
                      store=store, signer=signer, clock=clock)
    assert stranger.answer is None  # not a recipient: ignored

    replay.add_items("hackernews", [comment_hit(78, int(time.time()) - 5, "Bean There again, refund!",
                                                story_id=70, story_title="x", author="angry_ana")])
    clock.offset += 600
    report = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock).run_cycle()
    assert (report.new_mentions, report.muted, report.deliveries) == (1, 1, [])  # muted by SMS: stored, not alerted


def test_the_inbound_sms_lambda_handles_a_command_and_answers(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.networks.hackernews.emulator import comment_hit
    from chalicelib.runtime import runtime

    replay.add_items("hackernews", [comment_hit(88, int(time.time()) - 30, "Bean There was rude, refund me",
                                                story_id=80, story_title="x", author="angry_ana")])
    config = make_config(replay, tmp_path)
    pipeline_for(config, store, Clock()).run_cycle()
    (_, alert), = stack.sent_sms()
    code = alert.rsplit("/s/", 1)[1]
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        event = client.events.generate_sns_event(message=json.dumps(sms(f"OK {code}", message_id="lambda-1")))
        assert client.lambda_.invoke("inbound_sms", event).payload == {"handled": 1}
    runtime.cache_clear()
    stored = store.get_mention("hackernews#88")
    assert stored is not None and stored.state == "handled"
    answers = [text for phone, text in stack.sent_sms()[1:] if phone == "+351912345678"]
    assert len(answers) == 1 and "handled" in answers[0]

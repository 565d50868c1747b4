"""REPLY <code> <text> by SMS, through the inbound_sms Lambda on the local stack: posted to the
network right away (GitHub's emulation on the replay server), exactly once however often SNS
delivers the message, failures answered in words; networks without a write API answered
with the link to paste the reply at."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.networks.github.emulator import issue
from chalicelib.networks.hackernews.emulator import comment_hit
from chalicelib.runtime import runtime
from chalicelib.store import Store
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for
from tests.integration.test_sms_commands_on_the_stack import sms

pytestmark = pytest.mark.integration
MARIA = "+351912345678"
COMMENT_URL = "https://github.com/beanthere/shop/issues/12#issuecomment-2400000000"


@dataclass
class Texting:
    client: Client
    stack: LocalStack
    code: str  # of the alert SMS Maria got
    answered: int = 0  # SMS to Maria seen so far

    def send(self, body: str, message_id: str) -> dict[str, object]:
        """The inbound_sms Lambda's result for one SNS event carrying Maria's SMS."""
        event = self.client.events.generate_sns_event(message=json.dumps(sms(body, message_id=message_id)))
        result: dict[str, object] = self.client.lambda_.invoke("inbound_sms", event).payload
        return result

    def answers(self) -> list[str]:
        """The SMS answers Maria got since the last call."""
        texts = [text for phone, text in self.stack.sent_sms() if phone == MARIA]
        new, self.answered = texts[self.answered:], len(texts)
        return new


def alert_by_sms(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch, item: tuple[str, dict]) -> Iterator[Texting]:
    """One poll cycle that alerts Maria by SMS about ``item`` (network, payload); then the Lambda."""
    stack.client("ssm").put_parameter(Name="/social-listening/test/github-token", Value="ghp_test",
                                      Type="SecureString", Overwrite=True)
    replay.apis["github"].posted.clear()  # type: ignore[attr-defined]
    replay.add_items(*item)
    networks = (f"  github:\n    base_url: {replay.base_url('github')}\n"
                "    token_parameter: /social-listening/test/github-token\n")
    config = make_config(replay, tmp_path, networks=networks)
    pipeline_for(config, store, Clock()).run_cycle()
    (_, alert), = stack.sent_sms()
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        yield Texting(client, stack, alert.rsplit("/s/", 1)[1], answered=1)
    runtime.cache_clear()


@pytest.fixture
def github_alert(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[Texting]:
    yield from alert_by_sms(stack, store, replay, tmp_path, monkeypatch, ("github", [
        issue(5_000_001, 12, "beanthere/shop", int(time.time()) - 60, "Bean There charged me twice",
              "Terrible service from Bean There, I want a refund now", login="ines-d")]))


@pytest.fixture
def hackernews_alert(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> Iterator[Texting]:
    yield from alert_by_sms(stack, store, replay, tmp_path, monkeypatch, ("hackernews", [
        comment_hit(6_001, int(time.time()) - 30, "Bean There was rude, refund me", story_id=6_000,
                    story_title="x", author="angry_ana")]))


def posted(replay: ReplayServer) -> list[str]:
    return [p["body"] for p in replay.apis["github"].posted]  # type: ignore[attr-defined]


def test_a_reply_by_sms_is_posted_once_even_when_sns_delivers_it_twice(
    github_alert: Texting, replay: ReplayServer, store: Store
) -> None:
    text = f"REPLY {github_alert.code} So sorry, Ines! We refunded you today."
    assert github_alert.send(text, "in-reply-1") == {"handled": 1}
    assert github_alert.send(text, "in-reply-1") == {"handled": 1}  # the same SNS message again
    assert posted(replay) == ["So sorry, Ines! We refunded you today."]
    assert github_alert.answers() == [f"Posted: {COMMENT_URL}"]
    stored = store.get_mention("github#5000001")
    assert stored is not None and stored.state == "handled"
    (reply,) = store.replies()
    assert (reply["mention"], reply["text"], reply["recipient"], reply["status"], reply["detail"]) == (
        "github#5000001", "So sorry, Ines! We refunded you today.", "Maria", "posted", COMMENT_URL)
    (audit,) = store.audit_log("github#5000001")
    assert (audit["action"], audit["recipient"], audit["result"]) == ("reply", "Maria", "posted by SMS")


def test_failed_posts_are_answered_in_words_recorded_and_never_post_twice(
    github_alert: Texting, replay: ReplayServer, store: Store
) -> None:
    text = f"REPLY {github_alert.code} Sorry about that"
    replay.inject("github", Fault(401), Fault(429, headers={"Retry-After": "30"}), Fault(500))
    for number in range(3):
        github_alert.send(text, f"in-fail-{number}")
    assert posted(replay) == []
    assert github_alert.answers() == [
        "Not posted: token rejected (HTTP 401)",
        "Not posted: rate limited (HTTP 429), retry after 30 s",
        "Not posted: server error (HTTP 500); nothing was posted",
    ]
    assert [(r["status"], r["detail"]) for r in store.replies()] == [
        ("failed", "token rejected (HTTP 401)"),
        ("failed", "rate limited (HTTP 429), retry after 30 s"),
        ("failed", "server error (HTTP 500); nothing was posted"),
    ]
    stored = store.get_mention("github#5000001")
    assert stored is not None and stored.state == "new"
    github_alert.send(text, "in-fail-0")  # SNS delivers a failed one again: not retried behind the owner's back
    github_alert.send(text, "in-retry")  # the owner sends it again
    assert posted(replay) == ["Sorry about that"]
    assert github_alert.answers() == [f"Posted: {COMMENT_URL}"]
    assert [a["result"] for a in store.audit_log("github#5000001")] == [
        "not posted by SMS: token rejected (HTTP 401)",
        "not posted by SMS: rate limited (HTTP 429), retry after 30 s",
        "not posted by SMS: server error (HTTP 500); nothing was posted",
        "posted by SMS",
    ]


def test_a_reply_by_sms_to_a_network_without_a_write_api_gets_the_link_to_paste_it(
    hackernews_alert: Texting, store: Store
) -> None:
    hackernews_alert.send(f"REPLY {hackernews_alert.code} We're sorry, please email us", "in-hn-1")
    assert hackernews_alert.answers() == [
        "Not posted: Hacker News has no API for replies. Paste your reply there: "
        "https://news.ycombinator.com/reply?id=6001"]
    (reply,) = store.replies()
    assert (reply["status"], reply["detail"]) == ("manual", "https://news.ycombinator.com/reply?id=6001")
    stored = store.get_mention("hackernews#6001")
    assert stored is not None and stored.state == "new"
    (audit,) = store.audit_log("hackernews#6001")
    assert (audit["action"], audit["result"]) == ("reply", "link to reply by hand sent by SMS")


def test_mute_thread_by_sms_mutes_the_conversation_and_is_audited(hackernews_alert: Texting, store: Store) -> None:
    hackernews_alert.send(f"MUTE {hackernews_alert.code} thread", "in-mute-1")
    assert hackernews_alert.answers() == [f"{hackernews_alert.code}: its thread is muted on Hacker News."]
    assert store.muted() == ([], ["hackernews:6000"])
    (audit,) = store.audit_log("hackernews#6001")
    assert (audit["action"], audit["recipient"], audit["result"]) == ("mute_thread", "Maria", "done by SMS")


def test_a_failed_reply_from_the_page_is_audited_with_the_reason_too(
    github_alert: Texting, stack: LocalStack, replay: ReplayServer, store: Store
) -> None:
    import re

    from tests.integration.test_assign_and_mute_thread import FORM, link_in

    text = stack.sent_emails()[0].get_body(("plain",)).get_content()
    path = link_in(text, "Reply")
    page = github_alert.client.http.get(path).body.decode()
    key = re.search(r'name="key" value="([A-Za-z0-9_-]+)"', page).group(1)  # type: ignore[union-attr]
    replay.inject("github", Fault(401))
    failed = github_alert.client.http.post(path, headers=FORM, body=f"text=Sorry&key={key}")
    assert failed.status_code == 502 and "token rejected (HTTP 401)" in failed.body.decode()
    assert github_alert.client.http.post(path, headers=FORM, body=f"text=Sorry&key={key}").status_code == 200
    assert posted(replay) == ["Sorry"]
    assert [(a["action"], a["recipient"], a["result"]) for a in store.audit_log("github#5000001")] == [
        ("reply", "Maria", "not posted: token rejected (HTTP 401)"), ("reply", "Maria", "posted")]

"""REPLY and MUTE ... THREAD by SMS, handled with a fake store and a fake poster (no AWS, no network)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.replies import Reply as PostedReply
from chalicelib.replies import ReplyRateLimited
from chalicelib.sms_commands import InboundSms, Invalid, Mute, Outcome, handle, parse
from tests.builders import FakeClock, RecordingStore
from tests.unit.test_sms_commands import (
    CODE,
    CONFIG,
    KEY,
    LINK_EXPIRES,
    MENTION_KEY,
    NOW,
    RUI,
    holding,
    stored_mention,
)

GITHUB_KEY = "github#5000001"
GITHUB_CODE = "Gh5zz0Aa"
REPLY_URL = "https://github.com/beanthere/shop/issues/12#issuecomment-2400000000"


class FakePoster:
    """Posts by remembering; the same key is posted once. ``fail`` is raised instead, if set."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str, str]] = []
        self.posted: dict[str, str] = {}

    def post(self, stored: StoredMention, text: str, key: str) -> PostedReply:
        self.calls.append((stored.key, text, key))
        if self.fail is not None:
            raise self.fail
        already = key in self.posted
        self.posted.setdefault(key, text)
        return PostedReply(REPLY_URL, "2400000000", already_posted=already)


def github_mention(thread: dict[str, str] | None = None) -> StoredMention:
    mention = Mention("github", "5000001", "https://github.com/beanthere/shop/issues/12", "Bean There charged twice",
                      dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), author_handle="ines-d",
                      thread=thread if thread is not None else {"repo": "beanthere/shop", "number": "12"})
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", True),)), "new", "2026-11-27T10:00")


def with_github_link(store: RecordingStore) -> RecordingStore:
    """``store`` with GITHUB_CODE too: the short link of an SMS alert to Rui about GITHUB_KEY."""
    store.put_short_link(GITHUB_CODE, TokenSigner(KEY, clock=FakeClock(NOW)).sign(GITHUB_KEY, "handled", "Rui"),
                         LINK_EXPIRES)
    return store


@pytest.fixture
def store() -> RecordingStore:
    return with_github_link(holding(FakeClock(NOW), stored_mention(), github_mention()))


def state(store: RecordingStore, key: str) -> str:
    stored = store.get_mention(key)
    assert stored is not None
    return stored.state


def send(store: RecordingStore, body: str, message_id: str, poster: FakePoster | None) -> Outcome:
    sms = InboundSms(RUI, "+12065550142", "", body, message_id)
    return handle(sms, config=CONFIG, store=store, signer=TokenSigner(KEY, clock=FakeClock(NOW)), clock=FakeClock(NOW),
                  poster=poster)


@pytest.mark.parametrize("text", ["MUTE Ab3dE5gH THREAD", "mute Ab3dE5gH thread", "Mute  Ab3dE5gH\tThread "])
def test_mute_with_thread_after_the_code_parses_to_a_thread_mute(text: str) -> None:
    assert parse(text) == Mute("Ab3dE5gH", thread=True)


def test_mute_with_any_other_word_after_the_code_is_still_invalid() -> None:
    assert parse("MUTE Ab3dE5gH threads") == Invalid("MUTE takes only the code; nothing after it")


def test_mute_thread_mutes_the_conversation_root_for_the_recipient(store: RecordingStore) -> None:
    outcome = send(store, f"MUTE {GITHUB_CODE} THREAD", "in-1", None)
    assert (outcome.answer, outcome.done) == (f"{GITHUB_CODE}: its thread is muted on GitHub.", "muted the thread")
    assert store.of("mute_thread") == [("github:beanthere/shop#12", "Rui")] and store.of("mute_author") == []
    assert store.of("audit") == [(GITHUB_KEY, "mute_thread", "Rui", "done by SMS", "in-1")]


def test_mute_thread_of_a_comment_in_no_known_conversation_mutes_nothing() -> None:
    orphan = Mention("hackernews", "4242", "https://news.ycombinator.com/item?id=4242", "Bean There",
                     dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), kind="comment")
    store = holding(FakeClock(NOW), StoredMention(MatchedMention(orphan, (RuleMatch("brand", "brand", True),)), "new",
                                                  "2026-11-27T10:00"))
    outcome = send(store, f"MUTE {CODE} THREAD", "in-2", None)
    assert (outcome.answer, outcome.done) == (f"{CODE} is in no conversation to mute.", "nothing: no thread")
    assert store.of("mute_thread") == [] and store.of("audit") == []


def test_a_reply_is_posted_with_a_key_made_from_the_inbound_message(store: RecordingStore) -> None:
    poster = FakePoster()
    outcome = send(store, f"REPLY {GITHUB_CODE} So sorry, refunded today", "in-3", poster)
    assert (outcome.answer, outcome.done) == (f"Posted: {REPLY_URL}", "posted a reply")
    ((key, text, idempotency_key),) = poster.calls
    assert (key, text) == (GITHUB_KEY, "So sorry, refunded today")
    assert idempotency_key.startswith("sms-") and len(idempotency_key) == 44
    assert state(store, GITHUB_KEY) == "handled"
    assert store.of("record_reply") == [(GITHUB_KEY, "So sorry, refunded today", "Rui", "posted", REPLY_URL)]
    assert store.of("request_reply") == []  # not left as "requested"
    assert store.of("audit") == [(GITHUB_KEY, "reply", "Rui", "posted by SMS", "in-3")]


def test_each_inbound_message_gets_its_own_key_and_the_same_message_keeps_it(store: RecordingStore) -> None:
    poster = FakePoster()
    send(store, f"REPLY {GITHUB_CODE} one", "in-a", poster)
    send(store, f"REPLY {GITHUB_CODE} two", "in-b", poster)
    keys = [call[2] for call in poster.calls]
    assert len(set(keys)) == 2
    store._nonces.clear()  # as if the inbound message had been forgotten: the key alone still stops a double post
    send(store, f"REPLY {GITHUB_CODE} one", "in-a", poster)
    assert poster.calls[2][2] == keys[0] and len(poster.posted) == 2


def test_a_refused_post_is_answered_with_the_reason_and_recorded(store: RecordingStore) -> None:
    poster = FakePoster(fail=ReplyRateLimited("github", "rate limited (HTTP 429), retry after 30 s", 30))
    outcome = send(store, f"REPLY {GITHUB_CODE} Sorry", "in-4", poster)
    assert (outcome.answer, outcome.done) == ("Not posted: rate limited (HTTP 429), retry after 30 s", "reply failed")
    assert state(store, GITHUB_KEY) == "new"
    refused = "rate limited (HTTP 429), retry after 30 s"
    assert store.of("record_reply") == [(GITHUB_KEY, "Sorry", "Rui", "failed", refused)]
    assert store.of("audit") == [(GITHUB_KEY, "reply", "Rui", f"not posted by SMS: {refused}", "in-4")]


def test_an_unexpected_error_is_answered_too_and_logged(store: RecordingStore,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="chalicelib.sms_commands"):
        outcome = send(store, f"REPLY {GITHUB_CODE} Sorry", "in-5", FakePoster(fail=RuntimeError("boom")))
    assert outcome.answer == "Not posted: an unexpected error; try again from the alert email"
    assert caplog.messages == ["posting a reply by SMS failed"]
    assert store.of("record_reply")[0][3] == "failed"


def test_a_network_without_a_write_api_is_answered_with_the_link_to_paste_the_reply(store: RecordingStore) -> None:
    poster = FakePoster()
    outcome = send(store, f"REPLY {CODE} Sorry about that", "in-6", poster)
    assert outcome.answer == ("Not posted: Hacker News has no API for replies. Paste your reply there: "
                              "https://news.ycombinator.com/reply?id=4242")
    assert poster.calls == [] and state(store, MENTION_KEY) == "new"
    assert store.of("record_reply") == [(MENTION_KEY, "Sorry about that", "Rui", "manual",
                               "https://news.ycombinator.com/reply?id=4242")]
    assert store.of("audit") == [(MENTION_KEY, "reply", "Rui", "link to reply by hand sent by SMS", "in-6")]


def test_without_a_poster_a_reply_is_only_requested_as_before(store: RecordingStore) -> None:
    outcome = send(store, f"REPLY {GITHUB_CODE} Later", "in-7", None)
    assert outcome.answer == f"{GITHUB_CODE}: reply requested on GitHub."
    assert store.of("request_reply") == [(GITHUB_KEY, "Later", "Rui")] and store.of("record_reply") == []

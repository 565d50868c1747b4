"""reply: posting through a poster (once per key), the owner's words when refused, the text as posted."""

from __future__ import annotations

import pytest

from chalicelib.actions.reply import post_reply, reply_text, request_reply
from chalicelib.networks import can_reply, reply_limit_text
from chalicelib.replies import Reply, ReplyRateLimited
from tests.unit.actions.fakes import recipient, recording, stored_mention

RUI = recipient("Rui")
URL = "https://github.com/beanthere/shop/issues/12#issuecomment-2400000000"


class Poster:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.posted: dict[str, str] = {}

    def post(self, stored: object, text: str, key: str) -> Reply:
        if self.fail is not None:
            raise self.fail
        already = key in self.posted
        self.posted.setdefault(key, text)
        return Reply(URL, "2400000000", already_posted=already)


def github() -> object:
    return stored_mention("github", "5000001", thread={"repo": "beanthere/shop", "number": "12"})


def test_a_posted_reply_marks_the_mention_handled() -> None:
    stored = github()
    store, poster = recording(stored), Poster()  # type: ignore[arg-type]
    outcome = post_reply(stored, RUI, text="Refunded today", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    assert (outcome.status, outcome.reply.url, outcome.reply.already_posted) == ("done", URL, False)
    assert poster.posted == {"k" * 16: "Refunded today"}
    assert store.writes == [("set_mention_state", "github#5000001", "handled")]


def test_the_same_key_sent_again_posts_nothing_more_and_writes_nothing() -> None:
    stored = github()
    store, poster = recording(stored), Poster()  # type: ignore[arg-type]
    post_reply(stored, RUI, text="one", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    again = post_reply(stored, RUI, text="one", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    assert again.done and again.reply.already_posted
    assert len(poster.posted) == 1 and len(store.writes) == 1


def test_a_refused_reply_is_failed_in_the_owners_words_and_changes_nothing() -> None:
    stored = github()
    store = recording(stored)  # type: ignore[arg-type]
    poster = Poster(fail=ReplyRateLimited("github", "rate limited (HTTP 429), retry after 30 s", 30))
    outcome = post_reply(stored, RUI, text="Sorry", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    assert (outcome.status, outcome.said) == ("failed", "rate limited (HTTP 429), retry after 30 s")
    assert "GitHub" in outcome.detail
    assert store.writes == []


def test_an_unexpected_error_is_raised_not_taken_for_a_refusal() -> None:
    stored = github()
    with pytest.raises(RuntimeError):
        post_reply(stored, RUI, text="x", key="k" * 16, store=recording(stored),  # type: ignore[arg-type]
                   poster=Poster(fail=RuntimeError("boom")))


def test_request_reply_records_the_text_for_the_actor() -> None:
    store = recording()
    stored = stored_mention()
    assert request_reply(stored, RUI, text="Later", store=store).done
    assert store.writes == [("request_reply", stored.key, "Later", "Rui")]


def test_reply_text_keeps_line_breaks_and_drops_controls_and_direction_marks() -> None:
    assert reply_text("  Sorry\r\nabout \u202ethat\x07\u200f.\rRui  ") == "Sorry\nabout that.\nRui"


def test_only_networks_with_a_replier_can_be_posted_to_and_say_their_limit() -> None:
    assert (can_reply("github"), can_reply("hackernews")) == (True, False)
    assert reply_limit_text("bluesky") == "at most 300 graphemes" and reply_limit_text("hackernews") == ""

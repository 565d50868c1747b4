"""mute_author, mute_thread, exclude, raise_cap, unsubscribe: each recorded as the actor's."""

from __future__ import annotations

import datetime as dt

from chalicelib.actions.exclude import exclude
from chalicelib.actions.mute_author import mute_author
from chalicelib.actions.mute_thread import THREAD_ROOT_MAX_CHARS, mute_thread, thread_to_mute
from chalicelib.actions.raise_cap import raise_cap
from chalicelib.actions.unsubscribe import unsubscribe
from tests.unit.actions.fakes import CONFIG, recipient, recording, stored_mention

RUI, ANA = recipient("Rui"), recipient("Ana")
BRAND, ESPRESSO = CONFIG.rules


def test_mute_author_mutes_the_handle_on_its_network_as_muted_by_the_actor() -> None:
    store = recording()
    outcome = mute_author(stored_mention(author="grumpy_dev"), ANA, store=store)
    assert (outcome.status, outcome.said) == ("done", "muted the author")
    assert store.writes == [("mute_author", "hackernews", "grumpy_dev", "Ana")]


def test_mute_author_of_a_mention_with_no_handle_mutes_nothing() -> None:
    store = recording()
    outcome = mute_author(stored_mention(author=""), ANA, store=store)
    assert (outcome.status, outcome.detail) == ("nothing", "This mention has no author handle.")
    assert store.writes == []


def test_mute_thread_mutes_the_conversation_root_as_muted_by_the_actor() -> None:
    store = recording()
    stored = stored_mention("github", "5000001", thread={"repo": "beanthere/shop", "number": "12"})
    assert mute_thread(stored, RUI, store=store).status == "done"
    assert store.writes == [("mute_thread", "github:beanthere/shop#12", "Rui")]


def test_a_comment_in_no_known_conversation_or_a_root_too_long_has_no_thread_to_mute() -> None:
    store = recording()
    orphan = stored_mention(kind="comment", thread={})
    huge = stored_mention(kind="story", thread={"story_id": "9" * THREAD_ROOT_MAX_CHARS})
    assert thread_to_mute(orphan.item.mention) is None and thread_to_mute(huge.item.mention) is None
    assert [mute_thread(s, RUI, store=store).status for s in (orphan, huge)] == ["nothing", "nothing"]
    assert store.writes == []


def test_exclude_adds_the_signed_term_to_the_rule() -> None:
    store = recording()
    outcome = exclude(BRAND, "roastery", ANA, store=store)
    assert outcome.detail == "\u201cbrand\u201d now excludes roastery, from the next poll on."
    assert store.writes == [("add_exclusion", "brand", "roastery")]


def test_raise_cap_raises_the_rules_cap_by_itself_for_the_utc_day() -> None:
    store = recording()
    late = dt.datetime(2026, 11, 27, 23, 59, tzinfo=dt.UTC).timestamp()  # already the 28th in Lisbon
    outcome = raise_cap(BRAND, RUI, store=store, clock=lambda: late)
    assert outcome.detail == "\u201cbrand\u201d may alert 5 more mentions today."
    assert store.writes == [("add_to_daily_caps", "2026-11-27", None, {"brand": 5})]


def test_raise_cap_of_a_rule_without_a_cap_raises_nothing() -> None:
    store = recording()
    assert raise_cap(ESPRESSO, RUI, store=store, clock=lambda: 0.0).status == "nothing"
    assert store.writes == []


def test_unsubscribe_suppresses_the_actors_address_and_twice_is_harmless() -> None:
    store = recording()
    assert [unsubscribe(ANA, store=store).status for _ in range(2)] == ["done", "done"]
    assert store.suppressed() == {"ana@beanthere.example": "unsubscribed"}


def test_unsubscribe_of_a_recipient_without_email_does_nothing() -> None:
    store = recording()
    assert unsubscribe(RUI, store=store).status == "nothing"
    assert store.writes == []

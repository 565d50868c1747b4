"""handled, not_relevant, snooze: what each does to a stored mention, with a fake store."""

from __future__ import annotations

from chalicelib.actions.common import GONE
from chalicelib.actions.handled import mark_handled
from chalicelib.actions.not_relevant import (
    EXCLUSION_TERM_MAX_CHARS,
    Exclusion,
    mark_not_relevant,
    suggested_exclusions,
)
from chalicelib.actions.snooze import snooze
from tests.unit.actions.fakes import CONFIG, NOW, recipient, recording, stored_mention

RUI = recipient("Rui")


def test_handled_marks_the_mention_handled_and_returns_it_so() -> None:
    stored = stored_mention()
    store = recording(stored)
    outcome = mark_handled(stored, RUI, store=store)
    assert (outcome.status, outcome.said) == ("done", "marked handled")
    assert outcome.mention is not None and outcome.mention.state == "handled"
    assert store.writes == [("set_mention_state", stored.key, "handled")]


def test_handled_twice_does_nothing_the_second_time() -> None:
    stored = stored_mention(state="handled")
    store = recording(stored)
    outcome = mark_handled(stored, RUI, store=store)
    assert (outcome.status, outcome.said, outcome.mention) == ("nothing", "already handled", stored)
    assert store.writes == []


def test_handled_of_a_mention_no_longer_stored_is_gone() -> None:
    assert mark_handled(stored_mention(), RUI, store=recording()) == GONE


def test_not_relevant_marks_the_mention_and_changes_no_rule() -> None:
    stored = stored_mention()
    store = recording(stored)
    outcome = mark_not_relevant(stored, RUI, store=store)
    assert (outcome.status, outcome.said) == ("done", "marked not relevant")
    assert store.writes == [("set_mention_state", stored.key, "not_relevant")]


def test_suggested_exclusions_name_the_rule_and_skip_terms_that_would_remove_a_wanted_mention() -> None:
    marked = stored_mention(native_id="1", text="Bean There roastery tour in Copenhagen", state="not_relevant")
    wanted = stored_mention(native_id="2", text="Bean There espresso in Copenhagen is great")
    store = recording(marked, wanted)
    found = suggested_exclusions(marked, config=CONFIG, store=store, clock=lambda: NOW)
    assert found, "some exclusion is suggested for a mention with words besides the rule's"
    assert all(isinstance(e, Exclusion) and e.rule == "brand" for e in found)
    assert "copenhagen" not in {e.term.casefold() for e in found}  # it would have removed the wanted one
    assert all(e.would_have_removed == 0 for e in found)


def test_suggested_exclusions_leave_out_terms_too_long_for_a_link() -> None:
    long_word = "W" * (EXCLUSION_TERM_MAX_CHARS + 1)
    stored = stored_mention(text=f"Bean There {long_word}")
    found = suggested_exclusions(stored, config=CONFIG, store=recording(stored), clock=lambda: NOW)
    assert all(len(e.term) <= EXCLUSION_TERM_MAX_CHARS for e in found)
    assert long_word not in {e.term for e in found}


def test_suggested_exclusions_skip_rules_no_longer_configured() -> None:
    stored = stored_mention(text="Bean There roastery tour", rules=("gone-rule",))
    assert suggested_exclusions(stored, config=CONFIG, store=recording(stored), clock=lambda: NOW) == []


def test_snooze_stores_until_now_plus_the_period() -> None:
    stored = stored_mention()
    store = recording(stored)
    outcome = snooze(stored, RUI, seconds=7200, store=store, clock=lambda: NOW + 0.9)
    assert (outcome.status, outcome.until) == ("done", int(NOW) + 7200)
    assert store.writes == [("snooze", stored.key, int(NOW) + 7200)]


def test_snooze_of_a_mention_no_longer_stored_is_gone() -> None:
    assert snooze(stored_mention(), RUI, seconds=3600, store=recording(), clock=lambda: NOW) == GONE

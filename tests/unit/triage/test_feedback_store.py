"""The feedback model as stored (chalicelib.triage.feedback on MemoryStore): a click is a
read-modify-write conditioned on the version, a lost race retries, a refused blob starts anew."""

from __future__ import annotations

import logging

import pytest

from chalicelib.store.memory import MemoryStore
from chalicelib.triage.feedback import SAVE_ATTEMPTS, load_model, record_click, stored_model
from chalicelib.triage.learn import FeedbackModel
from tests.unit.triage.test_learn import NOISE, RELEVANT, matched


def test_before_any_click_there_is_a_new_model_at_version_zero() -> None:
    model, version = stored_model(MemoryStore())
    assert (model, version) == (FeedbackModel(), 0)


def test_each_click_is_saved_with_the_version_raised_by_one() -> None:
    store = MemoryStore()
    assert record_click(store, matched(NOISE[0]), "not_relevant")
    assert record_click(store, matched(RELEVANT[0]), "relevant")
    expected = FeedbackModel()
    expected.record(matched(NOISE[0]), "not_relevant")
    expected.record(matched(RELEVANT[0]), "relevant")
    assert store.feedback_model() == (expected.to_json(), 2)
    assert load_model(store) == expected


def test_a_save_conditioned_on_an_old_version_is_refused() -> None:
    store = MemoryStore()
    assert store.save_feedback_model("{}", 0)
    assert not store.save_feedback_model("{}", 0)  # someone else wrote version 1 first
    assert store.save_feedback_model("[]", 1)
    assert store.feedback_model() == ("[]", 2)


class RacingStore(MemoryStore):
    """Another click lands between each of the first ``races`` reads and the write that follows it."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races
        self.saves = 0

    def save_feedback_model(self, model: str, version: int) -> bool:
        self.saves += 1
        if self.races:
            self.races -= 1
            other, read = stored_model(self)
            other.record(matched(NOISE[1]), "not_relevant")
            assert super().save_feedback_model(other.to_json(), read)
        return super().save_feedback_model(model, version)


def test_two_clicks_at_once_both_count_the_loser_reads_again() -> None:
    store = RacingStore(races=1)
    assert record_click(store, matched(RELEVANT[0]), "relevant")
    model = load_model(store)
    assert (model.clicks, store.saves) == ({"relevant": 1, "not_relevant": 1}, 2)
    assert store.feedback_model() is not None and store.feedback_model()[1] == 2  # type: ignore[index]


def test_a_click_that_keeps_losing_the_race_is_not_learned_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    store = RacingStore(races=SAVE_ATTEMPTS)
    assert not record_click(store, matched(RELEVANT[0]), "relevant")
    assert load_model(store).clicks == {"relevant": 0, "not_relevant": SAVE_ATTEMPTS}
    assert f"kept changing under a click ({SAVE_ATTEMPTS} tries)" in caplog.text


def test_a_refused_stored_model_is_logged_by_field_only_and_replaced(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    secret_words = '{"version":1,"counts":{"relevant":"the harbor seal"}}'
    assert store.save_feedback_model(secret_words, 0)
    with caplog.at_level(logging.ERROR):
        model, version = stored_model(store)
    assert (model, version) == (FeedbackModel(), 1)
    assert "counts.relevant must be 2048 counts" in caplog.text and "harbor" not in caplog.text
    assert record_click(store, matched(NOISE[0]), "not_relevant")  # the new model replaces it at version 2
    assert store.feedback_model()[1] == 2  # type: ignore[index]
    assert load_model(store).clicks == {"relevant": 0, "not_relevant": 1}

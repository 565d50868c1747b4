"""What the owner's clicks teach the feedback model: Not relevant, Mark as handled and Reply each
record their label once the state is set; a click that changed nothing teaches nothing; a model
that cannot be saved does not undo the action."""

from __future__ import annotations

import logging

import pytest

from chalicelib.actions.handled import mark_handled
from chalicelib.actions.not_relevant import mark_not_relevant
from chalicelib.actions.reply import post_reply
from chalicelib.triage.feedback import load_model
from chalicelib.triage.learn import FeedbackModel
from tests.unit.actions.fakes import FakeStore, recipient, stored_mention
from tests.unit.actions.test_reply import Poster

RUI = recipient("Rui")


def taught(*clicks: tuple[object, str]) -> str:
    model = FeedbackModel()
    for stored, label in clicks:
        model.record(stored.item, label)  # type: ignore[attr-defined, arg-type]
    return model.to_json()


def test_not_relevant_teaches_not_relevant_after_setting_the_state() -> None:
    stored = stored_mention()
    store = FakeStore(stored)
    assert mark_not_relevant(stored, RUI, store=store).done
    assert store.writes == [("set_mention_state", stored.key, "not_relevant")]
    assert store.model == (taught((stored, "not_relevant")), 1)


def test_handled_teaches_relevant() -> None:
    stored = stored_mention()
    store = FakeStore(stored)
    assert mark_handled(stored, RUI, store=store).done
    assert store.model == (taught((stored, "relevant")), 1)


def test_a_click_on_a_mention_already_so_teaches_nothing() -> None:
    stored = stored_mention(state="handled")
    store = FakeStore(stored)
    assert mark_handled(stored, RUI, store=store).status == "nothing"
    assert store.model is None


def test_a_click_on_a_mention_gone_teaches_nothing() -> None:
    store = FakeStore()
    assert mark_not_relevant(stored_mention(), RUI, store=store).status == "gone"
    assert store.model is None


def test_a_posted_reply_teaches_relevant_once() -> None:
    stored = stored_mention("github", "5000001", thread={"repo": "beanthere/shop", "number": "12"})
    store, poster = FakeStore(stored), Poster()
    post_reply(stored, RUI, text="Refunded today", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    post_reply(stored, RUI, text="Refunded today", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    assert store.model == (taught((stored, "relevant")), 1)
    assert load_model(store).clicks == {"relevant": 1, "not_relevant": 0}


class BrokenModelStore(FakeStore):
    def save_feedback_model(self, model: str, version: int) -> bool:
        raise RuntimeError("DynamoDB is down")


def test_a_model_that_cannot_be_saved_leaves_the_action_done(caplog: pytest.LogCaptureFixture) -> None:
    stored = stored_mention()
    store = BrokenModelStore(stored)
    with caplog.at_level(logging.ERROR):
        outcome = mark_not_relevant(stored, RUI, store=store)
    assert (outcome.status, store.writes) == ("done", [("set_mention_state", stored.key, "not_relevant")])
    assert "could not teach the feedback model a not_relevant click" in caplog.text

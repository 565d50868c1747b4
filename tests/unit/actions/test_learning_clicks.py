"""What the owner's clicks teach the feedback model: Not relevant, Mark as handled and Reply each
record their label once the state is set; a click that changed nothing teaches nothing; a model
that cannot be saved does not undo the action."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from chalicelib.actions.handled import mark_handled
from chalicelib.actions.not_relevant import mark_not_relevant
from chalicelib.actions.reply import post_reply
from chalicelib.actions.wrong_label import wrong_label
from chalicelib.links import TokenSigner
from chalicelib.model import StoredMention, Triage
from chalicelib.triage.feedback import load_model
from chalicelib.triage.learn import FeedbackModel
from chalicelib.web.service import ActionService
from tests.builders import RecordingStore
from tests.unit.actions.fakes import CONFIG, KEY, NOW, recipient, recording, stored_mention
from tests.unit.actions.test_reply import Poster

RUI = recipient("Rui")


def relabelled(store: RecordingStore) -> list[tuple[str, list[str], int]]:
    """The mentions the store was asked to relabel: key, intents, priority."""
    return [(item.mention.key, sorted(item.triage.intents) if item.triage else [], item.priority)
            for (item,) in store.of("relabel_mention")]


def taught(*clicks: tuple[object, str]) -> str:
    model = FeedbackModel()
    for stored, label in clicks:
        model.record(stored.item, label)  # type: ignore[attr-defined, arg-type]
    return model.to_json()


def test_not_relevant_teaches_not_relevant_after_setting_the_state() -> None:
    stored = stored_mention()
    store = recording(stored)
    assert mark_not_relevant(stored, RUI, store=store).done
    assert store.writes == [("set_mention_state", stored.key, "not_relevant")]
    assert store.feedback_model() == (taught((stored, "not_relevant")), 1)


def test_handled_teaches_relevant() -> None:
    stored = stored_mention()
    store = recording(stored)
    assert mark_handled(stored, RUI, store=store).done
    assert store.feedback_model() == (taught((stored, "relevant")), 1)


def test_a_click_on_a_mention_already_so_teaches_nothing() -> None:
    stored = stored_mention(state="handled")
    store = recording(stored)
    assert mark_handled(stored, RUI, store=store).status == "nothing"
    assert store.feedback_model() is None


def test_a_click_on_a_mention_gone_teaches_nothing() -> None:
    store = recording()
    assert mark_not_relevant(stored_mention(), RUI, store=store).status == "gone"
    assert store.feedback_model() is None


def test_a_posted_reply_teaches_relevant_once() -> None:
    stored = stored_mention("github", "5000001", thread={"repo": "beanthere/shop", "number": "12"})
    store, poster = recording(stored), Poster()
    post_reply(stored, RUI, text="Refunded today", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    post_reply(stored, RUI, text="Refunded today", key="k" * 16, store=store, poster=poster)  # type: ignore[arg-type]
    assert store.feedback_model() == (taught((stored, "relevant")), 1)
    assert load_model(store).clicks == {"relevant": 1, "not_relevant": 0}


class BrokenModelStore(RecordingStore):
    def save_feedback_model(self, model: str, version: int) -> bool:
        raise RuntimeError("DynamoDB is down")


def test_a_model_that_cannot_be_saved_leaves_the_action_done(caplog: pytest.LogCaptureFixture) -> None:
    stored = stored_mention()
    store = BrokenModelStore(stored, clock=lambda: NOW)
    with caplog.at_level(logging.ERROR):
        outcome = mark_not_relevant(stored, RUI, store=store)
    assert (outcome.status, store.writes) == ("done", [("set_mention_state", stored.key, "not_relevant")])
    assert "could not teach the feedback model a not_relevant click" in caplog.text


# --- Wrong label -------------------------------------------------------------------------

def praised(**fields: object) -> StoredMention:
    """A mention triage called praise (priority 10 + 5 praise + 15 brand + 15 urgent rule = 45)."""
    stored = stored_mention(**fields)  # type: ignore[arg-type]
    judged = Triage(0.6, "positive", frozenset({"praise"}), 45, ("praises",), False)
    return replace(stored, item=replace(stored.item, triage=judged))


def test_wrong_label_sets_the_owners_intent_recomputes_priority_and_teaches_the_correction() -> None:
    stored = praised()
    store = recording(stored)
    outcome = wrong_label(stored, RUI, choice="complaint", store=store, vip=[], clock=store.clock)
    assert (outcome.status, outcome.said) == ("done", "labelled complaint")
    # 10 + 20 complains + 15 names your business + 15 urgent rule + 10 posted within the hour (15 minutes ago)
    assert relabelled(store) == [(stored.key, ["complaint"], 70)]
    assert outcome.mention is not None and outcome.mention.item.triage is not None
    assert outcome.mention.item.triage.reasons[0] == "complains"
    assert outcome.mention.item.triage.opportunity is True
    assert store.feedback_model() == (taught((stored, "complaint")), 1)
    similar = replace(stored.item, mention=replace(stored.item.mention, native_id="4243"))
    assert load_model(store).corrected_intents(similar) == {"complaint"}


def test_wrong_label_not_for_us_marks_it_not_relevant_and_teaches_that() -> None:
    stored = praised()
    store = recording(stored)
    outcome = wrong_label(stored, RUI, choice="not_for_us", store=store, vip=[], clock=store.clock)
    assert (outcome.status, store.writes) == ("done", [("set_mention_state", stored.key, "not_relevant")])
    assert store.feedback_model() == (taught((stored, "not_relevant")), 1)


def test_wrong_label_to_the_label_it_has_changes_and_teaches_nothing() -> None:
    stored = praised()
    store = recording(stored)
    outcome = wrong_label(stored, RUI, choice="praise", store=store, vip=[], clock=store.clock)
    assert (outcome.status, outcome.said, store.writes) == ("nothing", "already labelled praise", [])
    assert store.feedback_model() is None


def test_wrong_label_refuses_a_choice_it_does_not_offer() -> None:
    stored = praised()
    expected = "unknown label 'spam'; expected one of complaint, question, praise, not_for_us"
    with pytest.raises(ValueError, match=expected):
        wrong_label(stored, RUI, choice="spam", store=recording(stored), vip=[], clock=lambda: NOW)


def test_the_wrong_label_page_offers_the_four_choices_and_posts_the_one_chosen() -> None:
    stored = praised()
    store = recording(stored)
    signer = TokenSigner(KEY, clock=lambda: NOW)
    service = ActionService(CONFIG, store, signer)  # type: ignore[arg-type]
    token = signer.sign(stored.key, "wrong_label", "Rui")
    page = service.confirm_page(token, f"/a/{token}")
    assert page.status == 200
    for value, label in (("complaint", "This is a complaint"), ("question", "This is a question"),
                         ("praise", "This is praise"), ("not_for_us", "Not for us")):
        assert f'value="{value}"' in page.body and label in page.body
    refused = service.perform(token, form=b"label=spam")
    assert (refused.status, store.writes) == (400, [])  # the link is not spent: the next post is done
    done = service.perform(token, form=b"label=question")
    assert done.status == 200 and "Label noted" in done.body
    assert [r[:2] for r in relabelled(store)] == [(stored.key, ["question"])]
    assert [a[:3] for a in store.of("audit")] == [(stored.key, "wrong_label", "Rui")]
    assert service.perform(token, form=b"label=praise").status == 409  # one click per link

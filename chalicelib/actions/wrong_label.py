"""Wrong label: the owner says what a mention is ("this is a complaint / question / praise / not
for us"). The mention's intents become the owner's (its priority recomputed from them), or it is
marked not relevant; the feedback model learns the click either way, so similar mentions are
corrected (``FeedbackModel.corrected_intents``) or held back (``hold_back``) from then on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import GONE, Outcome, learn
from chalicelib.actions.handled import StateStore
from chalicelib.actions.not_relevant import mark_not_relevant
from chalicelib.triage import with_intents

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import MatchedMention, StoredMention
    from chalicelib.triage.intent import Intent

# The owner's choices: value -> (what the page says, the intent it sets; None: not for us).
CHOICES: dict[str, tuple[str, Intent | None]] = {
    "complaint": ("This is a complaint", "complaint"),
    "question": ("This is a question", "question"),
    "praise": ("This is praise", "praise"),
    "not_for_us": ("Not for us", None),
}


class RelabelStore(StateStore, Protocol):
    def relabel_mention(self, item: MatchedMention) -> bool: ...


def wrong_label(stored: StoredMention, actor: Recipient, *, choice: str, store: RelabelStore, vip: list[str],
                clock: Callable[[], float]) -> Outcome:
    """``actor`` says the mention is ``choice`` (a key of ``CHOICES``; ValueError for anything
    else): its intents become that one intent, or it is marked not relevant."""
    if choice not in CHOICES:
        raise ValueError(f"unknown label {choice!r}; expected one of {', '.join(CHOICES)}")
    said, intent = CHOICES[choice]
    if intent is None:
        return mark_not_relevant(stored, actor, store=store)
    judged = stored.item.triage
    if judged is None:  # every stored mention is triaged; one that is not has no intents to correct
        return Outcome("failed", "not triaged", "This mention has no labels to correct.", mention=stored)
    if judged.intents == {intent}:
        return Outcome("nothing", f"already labelled {intent}", mention=stored)
    now = dt.datetime.fromtimestamp(clock(), tz=dt.UTC)
    item = with_intents(stored.item, frozenset({intent}), vip=vip, now=now)
    if not store.relabel_mention(item):
        return GONE
    relabelled = replace(stored, item=item)
    return learn(Outcome("done", f"labelled {intent}", f"{said}: noted. Similar mentions will be labelled so.",
                         mention=relabelled), stored, intent, store=store)

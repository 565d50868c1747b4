"""The owner-feedback model as stored: read once per cycle, and a click as a read-modify-write.

A click reads the model and its version, learns, and writes it back on condition that the version
is still the one read; a click that lost the race to another reads again and learns again, so two
clicks at once both count. A stored model ``FeedbackModel.from_json`` refuses is logged (what is
wrong with it, never its content) and replaced by a new one: the clicks stay in the mentions' states.
"""

from __future__ import annotations

import logging
from typing import Protocol

from chalicelib.model import MatchedMention
from chalicelib.triage.learn import FeedbackModel, Label

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 8  # clicks racing for the model: each lost race reads it again


class ModelStore(Protocol):
    def feedback_model(self) -> tuple[str, int] | None: ...
    def save_feedback_model(self, model: str, version: int) -> bool: ...


def stored_model(store: ModelStore) -> tuple[FeedbackModel, int]:
    """The business's model and the version it was read at (0 and a new model before any click)."""
    found = store.feedback_model()
    if found is None:
        return FeedbackModel(), 0
    blob, version = found
    try:
        return FeedbackModel.from_json(blob), version
    except ValueError as error:  # says which field is wrong, never the content
        log.error("the stored feedback model was refused (%s); starting a new one", error)
        return FeedbackModel(), version


def load_model(store: ModelStore) -> FeedbackModel:
    """The business's model, for a cycle to read."""
    return stored_model(store)[0]


def record_click(store: ModelStore, matched: MatchedMention, label: Label) -> bool:
    """Teach the stored model one click (conditioned on its version, retried when another click
    wrote first). False (logged) when it kept losing the race: the click is then not learned."""
    for _ in range(SAVE_ATTEMPTS):
        model, version = stored_model(store)
        model.record(matched, label)
        if store.save_feedback_model(model.to_json(), version):
            return True
    log.warning("the feedback model kept changing under a click (%d tries); this click is not learned",
                SAVE_ATTEMPTS)
    return False


class ModelCache:
    """The business's feedback model, read the first time a step of one poll cycle asks for it."""

    def __init__(self, store: ModelStore) -> None:
        self.store = store
        self._model: FeedbackModel | None = None

    def get(self) -> FeedbackModel:
        if self._model is None:
            self._model = load_model(self.store)
        return self._model

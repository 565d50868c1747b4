"""Mark a mention handled: it is alerted no more (a snooze of it ends without an alert)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import GONE, Outcome, learn

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import StoredMention


class StateStore(Protocol):
    def set_mention_state(self, key: str, state: str) -> bool: ...
    def feedback_model(self) -> tuple[str, int] | None: ...
    def save_feedback_model(self, model: str, version: int) -> bool: ...


def set_state(stored: StoredMention, state: str, *, store: StateStore) -> Outcome:
    """Set the mention's state (``handled``, ``not_relevant``); ``nothing`` if it was so already,
    ``gone`` if it is no longer stored."""
    if stored.state == state:
        return Outcome("nothing", f"already {state.replace('_', ' ')}", mention=stored)
    if not store.set_mention_state(stored.key, state):
        return GONE
    return Outcome("done", f"marked {state.replace('_', ' ')}", mention=replace(stored, state=state))


def mark_handled(stored: StoredMention, actor: Recipient, *, store: StateStore) -> Outcome:
    """``actor`` marks the mention handled (the channel audits it as theirs); the feedback model
    learns it relevant."""
    return learn(set_state(stored, "handled", store=store), stored, "relevant", store=store)

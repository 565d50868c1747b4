"""That's wrong: the owner says a mention the feedback model held back is relevant after all. It
goes back to the new mentions (state ``new``), and the model learns it relevant: that click also
raises the bar for holding back (its calibration guard), so similar mentions are held less."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.actions.common import Outcome, learn
from chalicelib.actions.handled import StateStore, set_state

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import StoredMention


def unhold(stored: StoredMention, actor: Recipient, *, store: StateStore) -> Outcome:
    """``actor`` says the held mention is relevant; ``nothing`` if it is no longer held (the
    owner acted on it since)."""
    if stored.state != "held":
        return Outcome("nothing", f"not held: {stored.state.replace('_', ' ')}", mention=stored)
    outcome = set_state(stored, "new", store=store)
    return learn(outcome, stored, "relevant", store=store)

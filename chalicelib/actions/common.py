"""What every action returns: its outcome, in the owner's words."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.triage.feedback import ModelStore, record_click

if TYPE_CHECKING:
    from chalicelib.model import StoredMention
    from chalicelib.triage.learn import Label

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of an action. ``status``: ``done`` (it changed what it says), ``nothing`` (there
    was nothing to do: already so, or nothing to act on), ``gone`` (the mention is no longer
    stored) or ``failed`` (tried and not done: ``said`` says why, in the owner's words).
    ``said`` is short, for the audit log; ``detail`` a sentence for the person who acted.
    ``mention`` is the mention as it is after the action, where it has one."""

    status: Literal["done", "nothing", "gone", "failed"]
    said: str
    detail: str = ""
    mention: StoredMention | None = None
    until: int = 0  # snooze: when the mention is alerted again (Unix seconds)
    reply: Any = None  # reply: the posted chalicelib.replies.Reply

    @property
    def done(self) -> bool:
        return self.status == "done"


GONE = Outcome("gone", "mention gone", "This mention is no longer stored.")


def learn(outcome: Outcome, stored: StoredMention, label: Label, *, store: ModelStore) -> Outcome:
    """Teach the owner-feedback model ``label`` for ``stored`` when the action changed something
    (``done``: a second click on an already handled mention teaches nothing twice). The action
    stands whatever happens here: a model that cannot be saved is logged, not the owner's failure."""
    if outcome.done:
        try:
            record_click(store, stored.item, label)
        except Exception:  # the state is set; the click is kept there even when the model misses it
            log.exception("could not teach the feedback model a %s click", label)
    return outcome

"""What every action returns: its outcome, in the owner's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from chalicelib.model import StoredMention


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

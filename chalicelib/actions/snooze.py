"""Snooze a mention: it is alerted again when the snooze ends, unless handled by then."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import GONE, Outcome

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import StoredMention

# What a snooze link offers: the form's ``for`` field -> (seconds, label, when it alerts again).
PERIODS = {
    "1h": (3600, "1 hour", "in an hour"),
    "1d": (86400, "1 day", "tomorrow at this time"),
    "1w": (7 * 86400, "1 week", "in a week, at this time"),
}
DEFAULT_PERIOD = "1d"
MIN_SECONDS = 3600  # what an SMS may ask: 1h to 4w
MAX_SECONDS = 4 * 7 * 86400


class SnoozeStore(Protocol):
    def snooze(self, key: str, until: int) -> bool: ...


def snooze(stored: StoredMention, actor: Recipient, *, seconds: int, store: SnoozeStore,
           clock: Callable[[], float]) -> Outcome:
    """Snooze the mention for ``seconds`` from now (``until`` in the outcome); ``gone`` if it is
    no longer stored."""
    until = int(clock()) + seconds
    if not store.snooze(stored.key, until):
        return GONE
    return Outcome("done", f"snoozed until {until}", mention=stored, until=until)

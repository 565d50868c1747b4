"""That's wrong: the owner says a mention the feedback model held back is relevant after all. It
gets the alert it would have had, and the model learns it relevant: that click also raises the bar
for holding back (its calibration guard), so similar mentions are held less.

The alert goes the one delivery path (``chalicelib.alerts.delivery``) through the cycle: the
mention is snoozed until the time it was stored (a snooze already over), so the next cycle alerts
it (``chalicelib.cycle.snoozes``, within its mutes, caps and quiet hours; a snoozed mention is never
held again) and then it is new. The snooze record is the same for every click on it (its time is
the mention's own), and its delivery's job id comes from that record: two clicks, even at once,
alert it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import GONE, Outcome, learn
from chalicelib.actions.handled import StateStore

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import StoredMention

ALERTED = "It will be alerted at the next check, as it would have been, and then be with your new mentions."


class UnholdStore(StateStore, Protocol):
    def snooze(self, key: str, until: int) -> bool: ...


def release_time(stored: StoredMention) -> int:
    """When the released mention's snooze ends: when it was stored (0 if that cannot be read), the
    same for every click, so they all write one snooze record."""
    try:
        return int(dt.datetime.fromisoformat(stored.stored_at).timestamp())
    except ValueError:
        return 0


def unhold(stored: StoredMention, actor: Recipient, *, store: UnholdStore) -> Outcome:
    """``actor`` says the held mention is relevant: it is alerted at the next cycle (the module's
    docstring); ``nothing`` if it is no longer held (the owner acted on it since), ``gone`` if it
    is no longer stored."""
    if stored.state != "held":
        return Outcome("nothing", f"not held: {stored.state.replace('_', ' ')}", mention=stored)
    if not store.snooze(stored.key, release_time(stored)):
        return GONE
    outcome = Outcome("done", "released: alerted at the next check", ALERTED, mention=replace(stored, state="snoozed"))
    return learn(outcome, stored, "relevant", store=store)

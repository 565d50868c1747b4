"""Raise a rule's daily cap for today: as many more of its mentions are alerted at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome

if TYPE_CHECKING:
    from chalicelib.config import Recipient, RuleConfig


class CapStore(Protocol):
    def add_to_daily_caps(self, day: str, *, raised: dict[str, int]) -> object: ...


def raise_cap(rule: RuleConfig, actor: Recipient, *, store: CapStore, clock: Callable[[], float]) -> Outcome:
    """Raise ``rule``'s cap for the UTC day by its own daily cap; ``nothing`` for a rule with no cap."""
    if not rule.daily_cap:
        return Outcome("nothing", "no cap to raise", f"\u201c{rule.name}\u201d has no daily cap.")
    day = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date().isoformat()
    store.add_to_daily_caps(day, raised={rule.name: rule.daily_cap})
    return Outcome("done", "done", f"\u201c{rule.name}\u201d may alert {rule.daily_cap} more mentions today.")

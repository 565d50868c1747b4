"""Step: snoozes. Alert again each mention whose snooze ended.

Invariant: the job id comes from the snooze record (``snooze-<record>``), so a retried cycle
finds the deliveries recorded and sends nothing twice; a mention no longer snoozed (handled
since) is not alerted, and the snooze is ended either way.
"""

from __future__ import annotations

from chalicelib.cycle.context import Cycle
from chalicelib.cycle.send import deliver


def alert_ended_snoozes(cycle: Cycle) -> None:
    """Alert the snoozes that ended (``cycle.report.snoozes_ended``)."""
    store = cycle.store
    for record, key in store.snoozes_ended():
        stored = store.get_mention(key)
        if stored is not None and stored.state == "snoozed":
            deliver(cycle, f"snooze-{record}", [stored])
            cycle.report.snoozes_ended += 1
        store.end_snooze(record, key)

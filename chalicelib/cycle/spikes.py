"""Step: spikes. Tell the owner once (per cooldown) when a rule group's volume this hour is far
above the same hour over the last seven days.

Invariants: read only when this cycle counted mentions (the counters it reads changed); a
new installation (fewer than ``SPIKE_BASELINE_DAYS`` days with mentions) is never told; each
group is told at most once per ``alerts.spike_cooldown_hours`` (a conditional write).
"""

from __future__ import annotations

import datetime as dt

from chalicelib.cycle.context import Cycle
from chalicelib.cycle.health import notify_all

SPIKE_BASELINE_DAYS = 3  # days with mentions among the last seven before spikes are told


def check_spikes(cycle: Cycle) -> None:
    """Detect and tell this hour's spikes (``cycle.report.spikes``)."""
    from chalicelib.alerts.notices import compose_spike_notice
    from chalicelib.spikes import detect

    config, store = cycle.config, cycle.store
    alerts = config.alerts
    now = cycle.now()
    days = [(now - dt.timedelta(days=back)).date().isoformat() for back in range(8)]
    hour = now.strftime("%H")
    counts = store.hour_counts(days, hour)  # this hour of each day: its four quarter-hour slots
    if sum(1 for day in days[1:] if counts[day] is not None) < SPIKE_BASELINE_DAYS:
        return  # a new installation has no usual volume yet: its first day is not a spike
    for group, count in sorted((counts[days[0]] or {}).items()):
        history = [(counts[day] or {}).get(group, 0) for day in days[1:]]
        spike = detect(group, count, history, sensitivity=alerts.spike_sensitivity, min_count=alerts.spike_min_count)
        if spike is None or not store.tell_spike(group, alerts.spike_cooldown_hours * 3600):
            continue
        cycle.report.spikes.append((group, count))
        notify_all(cycle, f"spike-{group}", lambda name, address, spike=spike: compose_spike_notice(
            business=config.business.name, from_address=alerts.from_address, to_name=name,
            to_address=address, group=spike.group, count=spike.count, usual=spike.usual))

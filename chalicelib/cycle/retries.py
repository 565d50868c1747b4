"""Step: retries. Send again, once each, the alert deliveries whose transient failure's retry is due.

Invariants:
- one Query of the sparse ``RETRY`` index finds them (``chalicelib.alerts.delivery.due_retries``);
  a retry found still ``sending`` (its cycle stopped mid-send) is ``unconfirmed``, never resent;
- each is claimed with a conditional write (still "retry" with the tries seen), so of two
  overlapping cycles one resends; what can fail is written before the claim, as for a first send;
- the bundle is rebuilt from the stored mention keys, without the mentions handled, marked not
  relevant, snoozed or muted since, and planned again (suppressed addresses, quiet hours);
  nothing left: ``skipped``. Digests are retried by the digest run (``chalicelib.digest``).
"""

from __future__ import annotations

from chalicelib.alerts.delivery import claim_retry, due_retries
from chalicelib.alerts.router import plan_deliveries
from chalicelib.cycle.bundle import prepare
from chalicelib.cycle.context import Cycle
from chalicelib.cycle.screen import mute_list
from chalicelib.cycle.send import send

ALERT_CHANNELS = ("email", "sms")
NOT_TO_ALERT = frozenset({"handled", "not_relevant", "snoozed"})  # a retry skips mentions dealt with since


def retry_due(cycle: Cycle) -> None:
    """Resend the due alert retries (the module's invariants)."""
    store, report = cycle.store, cycle.report
    stopped, due = due_retries(store, ALERT_CHANNELS)
    report.deliveries.extend((d.recipient, d.channel, "unconfirmed", len(d.mention_keys)) for d in stopped)
    if not due:
        return
    now = cycle.now()
    mutes = mute_list(cycle)
    suppressed = store.suppressed()
    for delivery in due:
        stored = store.get_mentions(delivery.mention_keys)
        keep = [stored[k] for k in delivery.mention_keys if k in stored and stored[k].state not in NOT_TO_ALERT
                and mutes.reason(stored[k].item.mention) is None]
        plan = next((p for p in plan_deliveries(cycle.config, keep, now, suppressed)
                     if (p.recipient.name, p.channel) == (delivery.recipient, delivery.channel)), None)
        prepared = prepare(cycle, plan, now) if plan is not None else None  # before the claim, as a first send
        claimed = claim_retry(store, delivery, cycle.job_lease_seconds)
        if claimed is None:
            continue  # another cycle took it
        report.retried += 1
        if prepared is None:
            store.finish_retry(claimed, claimed.attempts, "skipped",
                               detail="nothing left to send: handled, muted or unsubscribed since")
            report.deliveries.append((delivery.recipient, delivery.channel, "skipped", len(delivery.mention_keys)))
            continue
        send(cycle, delivery.job_id, prepared, {}, retry=claimed)


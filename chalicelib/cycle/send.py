"""Step: send, a job's mentions screened, planned, prepared, claimed, sent and recorded.

Invariants (the delivery path is ``chalicelib.alerts.delivery``):
- each delivery (job, recipient, channel) is claimed with a conditional write before it is
  sent, so a retried, overlapping or resumed cycle never sends it twice; the writes that can
  fail come before the claim (``chalicelib.cycle.bundle.prepare``);
- a held delivery (quiet hours, the hourly SMS cap) is recorded ``skipped``, never sent;
- a first send that fails transiently is retried by a later cycle (``chalicelib.cycle.retries``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chalicelib.alerts.delivery import send_claimed
from chalicelib.alerts.router import plan_deliveries
from chalicelib.cycle.bundle import Prepared, bundle, prepare
from chalicelib.cycle.context import Cycle
from chalicelib.cycle.screen import screen
from chalicelib.model import Delivery, StoredMention


def deliver(cycle: Cycle, job_id: str, mentions: Sequence[StoredMention]) -> None:
    """Alert ``mentions`` as job ``job_id``: screened, then one claimed send per planned delivery."""
    now = cycle.now()
    leads, also = screen(cycle, mentions, now)
    suppressed = cycle.store.suppressed() if leads else {}
    for plan in plan_deliveries(cycle.config, leads, now, suppressed):
        prepared = prepare(cycle, plan, now)  # writes that can fail come before the claim
        if not cycle.store.claim_delivery(job_id, plan.recipient.name, plan.channel, [m.key for m in plan.mentions]):
            continue  # recorded before: sent, failed or skipped by an earlier run
        send(cycle, job_id, prepared, also)


def send(cycle: Cycle, job_id: str, prepared: Prepared, also: Mapping[str, tuple[StoredMention, ...]],
         retry: Delivery | None = None) -> None:
    """Send one claimed delivery and record how it went: sent, skipped (held), retry, failed or
    unconfirmed. ``retry``: the claimed retry this send is (its ``attempts`` counts this try),
    None for a first send."""
    store, report, plan = cycle.store, cycle.report, prepared.plan
    count, name, channel = len(plan.mentions), plan.recipient.name, plan.channel
    if plan.held:
        if retry is None:
            store.finish_delivery(job_id, name, channel, "skipped", detail=plan.held)
        else:
            store.finish_retry(retry, retry.attempts, "skipped", detail=plan.held)
        report.deliveries.append((name, channel, "skipped", count))
        return
    held_by_cap = report.held_by_cap if retry is None else {}  # a retry does not tell this cycle's caps
    alert = bundle(cycle, prepared, also, held_by_cap, job_id)
    status, _ = send_claimed(store, job_id, name, channel, lambda: cycle.channels[channel].send(alert),
                             clock=cycle.clock, retry=retry)
    report.deliveries.append((name, channel, status, count))
    if status == "sent":
        sent_at = cycle.clock()
        report.latency.setdefault(channel, []).extend(
            sent_at - item.mention.item.mention.created_at.timestamp() for item in alert.items)

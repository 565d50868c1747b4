"""Step: bundle, what each planned delivery carries.

Invariants:
- ``prepare`` makes every write a send needs (the recipient's hourly SMS counter, the SMS's
  short link) before the delivery is claimed, so a failing write leaves nothing claimed and
  unsent (a claim that then fails only counts one SMS too many, or leaves an unused link);
- an SMS over the recipient's ``sms_per_hour`` is held ("hourly SMS cap"), and the last one
  the hour allows says so;
- every link in a bundle is signed for its recipient; an email carries at most
  ``alerts.max_mentions_per_email`` mentions (an SMS one), a one-click unsubscribe link, and
  one notice per rule whose daily cap held mentions back this cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace

from chalicelib.alerts import UNSUBSCRIBE_TTL, AlertBundle, AlertItem, Notice
from chalicelib.alerts.router import PlannedDelivery, is_urgent
from chalicelib.cycle.context import Cycle
from chalicelib.cycle.screen import daily_caps
from chalicelib.links import DEFAULT_TTL_SECONDS, alert_actions, new_short_code
from chalicelib.model import StoredMention


@dataclass(frozen=True, slots=True)
class Prepared:
    """A planned delivery ready to claim: the plan (held when over the hourly SMS cap), whether
    it is the last SMS the hour allows, and the SMS's short link ("" for email)."""

    plan: PlannedDelivery
    last_sms: bool = False
    short_link: str = ""


def prepare(cycle: Cycle, plan: PlannedDelivery, now: dt.datetime) -> Prepared:
    """The writes a send needs, made before its claim (the module's invariants)."""
    if plan.held or plan.channel != "sms":
        return Prepared(plan)
    name = plan.recipient.name
    sent_this_hour = cycle.store.count_sms(name, now.strftime("%Y-%m-%dT%H"))
    if sent_this_hour > plan.recipient.sms_per_hour:
        return Prepared(replace(plan, held="hourly SMS cap"))
    code = new_short_code()
    token = cycle.signer.sign(plan.mentions[0].key, "handled", name)
    cycle.store.put_short_link(code, token, int(cycle.clock()) + DEFAULT_TTL_SECONDS)
    return Prepared(plan, sent_this_hour == plan.recipient.sms_per_hour,
                    f"{cycle.config.alerts.action_base_url}/s/{code}")


def bundle(cycle: Cycle, prepared: Prepared, also: Mapping[str, tuple[StoredMention, ...]],
           held_by_cap: Mapping[str, int], job_id: str = "") -> AlertBundle:
    """The alert for one prepared delivery (``also``: per lead's key, the mentions attached;
    ``held_by_cap``: per rule, the mentions its cap held back this cycle; ``job_id``: the alert
    job, whose mentions the inbox lists at the email's "…and N more")."""
    config, signer, plan = cycle.config, cycle.signer, prepared.plan
    limit = config.alerts.max_mentions_per_email if plan.channel == "email" else 1
    base = config.alerts.action_base_url
    threshold = config.alerts.urgent_priority
    recipient = plan.recipient.name
    items = tuple(
        AlertItem(m, {action: f"{base}/a/{signer.sign(m.key, action, recipient)}"
                      for action in alert_actions(config, recipient)},
                  urgent=is_urgent(m, threshold),
                  also=tuple((o.item.mention.network, o.item.mention.url) for o in also.get(m.key, ())))
        for m in plan.mentions[:limit]
    )
    caps = daily_caps(config)
    notices = tuple(
        Notice(f"Rule \u201c{rule}\u201d reached its daily cap of {caps[rule]}: {count} more "
               f"{'mention waits' if count == 1 else 'mentions wait'} for the daily digest.",
               "Raise the cap for today", f"{base}/a/{signer.sign(f'rule:{rule}', 'raise_cap', recipient)}")
        for rule, count in sorted(held_by_cap.items()) if plan.channel == "email" and rule in caps
    )
    unsubscribe = ""
    if plan.channel == "email":
        token = signer.sign(f"recipient:{recipient}", "unsubscribe", recipient, ttl_seconds=UNSUBSCRIBE_TTL)
        unsubscribe = f"{base}/u/{token}"
    return AlertBundle(plan.recipient, items, len(plan.mentions), prepared.short_link, notices, unsubscribe,
                       last_sms_this_hour=prepared.last_sms,
                       urgent_total=sum(1 for m in plan.mentions if is_urgent(m, threshold)),
                       inbox_link=f"{base}/in/?job={job_id}" if job_id else "")

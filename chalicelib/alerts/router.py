"""Who hears about which mentions, on which channel: email for every matched mention,
SMS for urgent ones (held back in the recipient's quiet hours)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chalicelib.config import ListenConfig, Recipient
from chalicelib.model import StoredMention


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    recipient: Recipient
    channel: str  # "email" | "sms"
    mentions: tuple[StoredMention, ...]  # most important first
    held: str | None = None  # why it is not sent now (recorded, not sent)


def is_urgent(mention: StoredMention, urgent_priority: int) -> bool:
    """An urgent rule matched, or triage put the mention at or above the urgent priority."""
    return mention.item.urgent or mention.item.priority >= urgent_priority


def by_importance(mentions: Sequence[StoredMention], urgent_priority: int) -> list[StoredMention]:
    """Urgent first, then by priority, then newest first."""
    return sorted(mentions, key=lambda m: (not is_urgent(m, urgent_priority), -m.item.priority,
                                           -m.item.mention.created_at.timestamp()))


def in_quiet_hours(recipient: Recipient, now: dt.datetime) -> bool:
    if recipient.quiet_hours is None:
        return False
    local = now.astimezone(zoneinfo.ZoneInfo(recipient.timezone)).time()
    return recipient.quiet_hours.contains(local)


def plan_deliveries(config: ListenConfig, mentions: Sequence[StoredMention], now: dt.datetime,
                    suppressed: Collection[str] = ()) -> list[PlannedDelivery]:
    """The deliveries for one alert job, in a stable order. No email goes to a suppressed
    address (unsubscribed, bounced or complained)."""
    threshold = config.alerts.urgent_priority
    ordered = tuple(by_importance(mentions, threshold))
    urgent = tuple(m for m in ordered if is_urgent(m, threshold))
    # Instant email for what is urgent or important enough; the rest is in the daily digest.
    ordered = tuple(m for m in ordered if is_urgent(m, threshold) or m.item.priority >= config.alerts.email_priority)
    plans: list[PlannedDelivery] = []
    for recipient in config.recipients:
        if recipient.email and ordered and recipient.email.casefold() not in suppressed:
            plans.append(PlannedDelivery(recipient, "email", ordered))
        if recipient.phone and recipient.sms and urgent:
            wake = urgent[0].item.priority >= config.alerts.quiet_hours_priority
            held = "quiet hours" if in_quiet_hours(recipient, now) and not wake else None
            plans.append(PlannedDelivery(recipient, "sms", urgent, held))
    return plans

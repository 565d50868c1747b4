"""Who hears about which mentions, on which channel: email for every matched mention,
SMS for urgent ones (held back in the recipient's quiet hours)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.config import ListenConfig, Recipient
from chalicelib.store import StoredMention


@dataclass(frozen=True, slots=True)
class PlannedDelivery:
    recipient: Recipient
    channel: str  # "email" | "sms"
    mentions: tuple[StoredMention, ...]  # most important first
    held: str | None = None  # why it is not sent now (recorded, not sent)


def by_importance(mentions: Sequence[StoredMention]) -> list[StoredMention]:
    """Urgent first, then newest first."""
    return sorted(mentions, key=lambda m: (not m.item.urgent, -m.item.mention.created_at.timestamp()))


def in_quiet_hours(recipient: Recipient, now: dt.datetime) -> bool:
    if recipient.quiet_hours is None:
        return False
    local = now.astimezone(zoneinfo.ZoneInfo(recipient.timezone)).time()
    return recipient.quiet_hours.contains(local)


def plan_deliveries(config: ListenConfig, mentions: Sequence[StoredMention], now: dt.datetime) -> list[PlannedDelivery]:
    """The deliveries for one alert job, in a stable order."""
    ordered = tuple(by_importance(mentions))
    urgent = tuple(m for m in ordered if m.item.urgent)
    plans: list[PlannedDelivery] = []
    for recipient in config.recipients:
        if recipient.email and ordered:
            plans.append(PlannedDelivery(recipient, "email", ordered))
        if recipient.phone and recipient.sms and urgent:
            held = "quiet hours" if in_quiet_hours(recipient, now) else None
            plans.append(PlannedDelivery(recipient, "sms", urgent, held))
    return plans

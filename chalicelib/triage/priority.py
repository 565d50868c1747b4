"""How soon a mention deserves the owner's attention: a 0-100 score with its reasons in words.

Points add up from the intent, the matched rule groups, sentiment, the author's reach, the VIP
list and the mention's age, then the total is clamped to 0-100. docs/triage.md has the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chalicelib.model import Mention, RuleMatch
from chalicelib.networks import reach_label
from chalicelib.triage.intent import Intent
from chalicelib.triage.sentiment import Sentiment

BASE = 10

# (intent, points, reason); a recommendation request is also a question, so only the first of the two counts.
# Someone asking for a recommendation in the owner's industry, or leaving a competitor, is a customer to win:
# worth more than a complaint about the owner's own business (10 + 40 = 50 against 10 + 20 + 15 = 45).
INTENT_POINTS: tuple[tuple[Intent, int, str], ...] = (
    ("recommendation_request", 40, "asks for a recommendation"),
    ("question", 15, "asks a question"),
)
COMPLAINT_POINTS = (20, "complains")
PURCHASE_POINTS = (20, "wants to buy")
CHURN_FROM_COMPETITOR_POINTS = (40, "is leaving a competitor")
CHURN_POINTS = (20, "talks about leaving")
PRAISE_POINTS = (5, "praises")

GROUP_POINTS: dict[str, tuple[int, str]] = {
    "brand": (15, "names your business"),
    "product": (10, "names your product"),
    "competitor": (10, "names a competitor"),
    "industry": (0, ""),
}
URGENT_POINTS = (15, "matches an urgent rule")
VIP_POINTS = (30, "VIP author")
VERY_NEGATIVE = (-0.5, 10, "very negative")

# (at least this reach, points); the reason shows the reach itself, e.g. "12k followers".
REACH_STEPS: tuple[tuple[int, int], ...] = ((100_000, 15), (10_000, 10), (1_000, 6))

# (younger than, points, reason), first match wins; anything between the steps adds nothing.
FRESH_STEPS: tuple[tuple[dt.timedelta, int, str], ...] = (
    (dt.timedelta(hours=1), 10, "posted within the hour"),
    (dt.timedelta(hours=6), 5, "posted in the last 6 hours"),
)
STALE_STEPS: tuple[tuple[dt.timedelta, int, str], ...] = (
    (dt.timedelta(days=7), -20, "over a week old"),
    (dt.timedelta(days=3), -10, "over 3 days old"),
)


@dataclass(frozen=True, slots=True)
class Priority:
    """Score 0-100, the reasons that made it, and whether there is something to answer."""

    score: int
    reasons: tuple[str, ...]
    opportunity: bool


def is_vip(mention: Mention, vip: Collection[str]) -> bool:
    """True when the author is on the owner's VIP list.

    In: entries written "network:handle" or plain "handle", with or without a leading "@",
    compared case-insensitively. Out: whether the mention's author_handle is one of them.
    """
    handle = mention.author_handle.strip().lstrip("@").casefold()
    if not handle:
        return False
    network = mention.network.casefold()
    for entry in vip:
        wanted_network, sep, wanted_handle = entry.strip().casefold().rpartition(":")
        if wanted_handle.lstrip("@") == handle and (not sep or wanted_network == network):
            return True
    return False


def _reach_points(mention: Mention) -> tuple[int, str] | None:
    if mention.reach is None:
        return None
    for floor, points in REACH_STEPS:
        if mention.reach >= floor:
            return points, reach_label(mention.network, mention.reach)
    return None


def _age_points(mention: Mention, now: dt.datetime) -> tuple[int, str] | None:
    age = now - mention.created_at
    for limit, points, reason in STALE_STEPS:
        if age > limit:
            return points, reason
    for limit, points, reason in FRESH_STEPS:
        if age < limit:
            return points, reason
    return None


def priority(
    mention: Mention,
    matches: Sequence[RuleMatch],
    *,
    intents: frozenset[Intent],
    sentiment: Sentiment,
    vip: Collection[str],
    now: dt.datetime,
) -> Priority:
    """Score a mention.

    In: the mention, the rules it matched, its intents and sentiment, the owner's VIP list and
    the current time (timezone-aware). Out: score 0-100, reasons in the order they were added,
    and the opportunity flag (a question, a recommendation request, a complaint, or someone
    leaving a competitor).
    """
    groups = {match.group for match in matches}
    leaves_competitor = "churn" in intents and "competitor" in groups
    found: list[tuple[int, str]] = []
    if is_vip(mention, vip):
        found.append(VIP_POINTS)
    for intent, points, reason in INTENT_POINTS:
        if intent in intents:
            found.append((points, reason))
            break
    for intent, (points, reason) in (
        ("complaint", COMPLAINT_POINTS),
        ("purchase_intent", PURCHASE_POINTS),
        ("churn", CHURN_FROM_COMPETITOR_POINTS if leaves_competitor else CHURN_POINTS),
        ("praise", PRAISE_POINTS),
    ):
        if intent in intents:
            found.append((points, reason))
    for group in ("brand", "product", "competitor", "industry"):
        if group in groups and GROUP_POINTS[group][0]:
            found.append(GROUP_POINTS[group])
    if any(match.urgent for match in matches):
        found.append(URGENT_POINTS)
    threshold, points, reason = VERY_NEGATIVE
    if sentiment.compound <= threshold:
        found.append((points, reason))
    for extra in (_reach_points(mention), _age_points(mention, now)):
        if extra is not None:
            found.append(extra)
    score = max(0, min(100, BASE + sum(points for points, _ in found)))
    opportunity = bool(intents & {"question", "recommendation_request", "complaint"}) or leaves_competitor
    return Priority(score, tuple(reason for _, reason in found), opportunity)

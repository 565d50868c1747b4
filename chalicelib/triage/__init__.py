"""Triage of a matched mention: sentiment, intents, priority 0-100 with reasons, and whether it is
an opportunity to answer. Importing this package is cheap; VADER's lexicon loads on first use.

    triage(mention, matches, vip=owner_vips, now=now) -> Triage
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from chalicelib.model import Mention, RuleMatch
from chalicelib.triage import intent, priority, sentiment
from chalicelib.triage.intent import INTENTS, Intent
from chalicelib.triage.sentiment import SentimentLabel

__all__ = ["INTENTS", "Intent", "SentimentLabel", "Triage", "triage"]


@dataclass(frozen=True, slots=True)
class Triage:
    """What triage decided about one mention."""

    sentiment: float  # VADER compound after the domain adjustments, in [-1, 1]
    sentiment_label: SentimentLabel
    intents: frozenset[Intent]
    priority: int  # 0-100
    reasons: tuple[str, ...]  # why the priority is what it is, in words, e.g. "names a competitor"
    opportunity: bool  # a question, recommendation request, complaint, or someone leaving a competitor


def triage(mention: Mention, matches: Sequence[RuleMatch], *, vip: Collection[str] = (), now: dt.datetime) -> Triage:
    """Triage one mention.

    In: the mention, the rules it matched, the owner's VIP handles ("network:handle" or "handle")
    and the current time (timezone-aware). Out: a Triage of the title and text together.
    """
    text = mention.searchable_text
    # Modules, not functions, are imported here so chalicelib.triage.sentiment stays the module.
    feeling = sentiment.sentiment(text)
    found = intent.intents(text, feeling)
    ranked = priority.priority(mention, matches, intents=found, sentiment=feeling, vip=vip, now=now)
    return Triage(
        sentiment=feeling.compound,
        sentiment_label=feeling.label,
        intents=found,
        priority=ranked.score,
        reasons=ranked.reasons,
        opportunity=ranked.opportunity,
    )

"""Triage of a matched mention: sentiment, intents, priority 0-100 with reasons, and whether it is
an opportunity to answer. Importing this package is cheap; VADER's lexicon loads on first use.

    triage(mention, matches, vip=owner_vips, now=now) -> Triage
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence

from chalicelib.model import Mention, RuleMatch, Triage  # Triage is plain data: it lives with the model
from chalicelib.triage import intent, priority, sentiment
from chalicelib.triage.intent import INTENTS, Intent
from chalicelib.triage.sentiment import SentimentLabel

__all__ = ["INTENTS", "Intent", "SentimentLabel", "Triage", "triage"]


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

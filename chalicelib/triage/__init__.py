"""Triage of a matched mention: sentiment, intents, priority 0-100 with reasons, and whether it is
an opportunity to answer. Importing this package is cheap; VADER's lexicon loads on first use.

    triage(mention, matches, vip=owner_vips, now=now) -> Triage
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import replace

from chalicelib.model import MatchedMention, Mention, RuleMatch, Triage  # Triage is plain data: it lives with the model
from chalicelib.triage import intent, priority, sentiment
from chalicelib.triage.intent import INTENTS, Intent
from chalicelib.triage.sentiment import SentimentLabel

__all__ = ["INTENTS", "Intent", "SentimentLabel", "Triage", "triage", "with_intents"]


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


def with_intents(matched: MatchedMention, intents: frozenset[Intent], *, vip: Collection[str],
                 now: dt.datetime) -> MatchedMention:
    """The mention with its intents replaced (the owner's corrections) and its priority, reasons and
    opportunity recomputed from them (as of ``now``); the sentiment stays. Untriaged: unchanged."""
    judged = matched.triage
    if judged is None or intents == judged.intents:
        return matched
    feeling = sentiment.Sentiment(judged.sentiment, judged.sentiment_label)
    ranked = priority.priority(matched.mention, matched.matches, intents=intents, sentiment=feeling, vip=vip, now=now)
    return replace(matched, triage=replace(judged, intents=intents, priority=ranked.score, reasons=ranked.reasons,
                                           opportunity=ranked.opportunity))

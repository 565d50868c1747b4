"""Steps: what the owner's clicks taught (``chalicelib.triage.learn``), used by the cycle.

Invariants:
- the feedback model is read at most once per cycle (``chalicelib.triage.feedback.ModelCache``),
  and only by a cycle that has new mentions;
- right after triage, each new mention's intents are the model's ``corrected_intents`` (the
  owner's Wrong-label clicks on similar mentions) and its priority is recomputed from them;
- before alerting, beside the mutes, a new mention the model would hold back is stored with state
  ``held`` and the model's reason, listed in the digest, counted in ``held_back``, never dropped
  and not alerted; a mention of an urgent rule, of urgent priority or by a VIP author is never held.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from chalicelib.model import MatchedMention, StoredMention
from chalicelib.triage import with_intents
from chalicelib.triage.feedback import load_model
from chalicelib.triage.priority import is_vip

if TYPE_CHECKING:
    from chalicelib.cycle.context import Cycle
    from chalicelib.triage.learn import FeedbackModel

HOLDABLE_STATES = frozenset({"new", "held"})  # a snoozed or handled mention is the owner's: never held


def _model(cycle: Cycle) -> FeedbackModel:
    return cycle.feedback.get() if cycle.feedback is not None else load_model(cycle.store)


def corrected(cycle: Cycle, items: Sequence[MatchedMention]) -> list[MatchedMention]:
    """The triaged new mentions with the owner's intent corrections applied (priority recomputed)."""
    if not items:
        return []
    learned, now, vip = _model(cycle), cycle.now(), cycle.config.vip
    return [with_intents(m, learned.corrected_intents(m), vip=vip, now=now) for m in items]


def hold_back(cycle: Cycle, mentions: Sequence[StoredMention], day: str) -> list[StoredMention]:
    """The mentions to alert; the others held for ``day``'s digest (the module's invariants)."""
    if not mentions:
        return []
    learned, config = _model(cycle), cycle.config
    kept = []
    for stored in mentions:
        item = stored.item
        never = (stored.state not in HOLDABLE_STATES or item.urgent or item.priority >= config.alerts.urgent_priority
                 or is_vip(item.mention, config.vip))
        reason = None if never else learned.hold_back(item)
        if reason is None:
            kept.append(stored)
            continue
        cycle.store.hold_mention(stored.key, day, reason)
        cycle.report.held_back += 1
    return kept

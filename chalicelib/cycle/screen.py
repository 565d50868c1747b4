"""Step: screen, the noise control before alerting.

Invariants:
- a mention of a muted author, domain or thread (listen.yaml's and those added from alerts
  and SMS) is dropped, counted in ``muted``;
- a new mention the owner-feedback model holds back is stored ``held`` for the digest, counted
  in ``held_back``, not alerted (``chalicelib.cycle.learning``);
- the mentions that tell one story (cross-posts, reposts, the same link on several networks)
  collapse into one lead with the others attached; a story alerted earlier today or yesterday
  is attached, not alerted again (its fingerprints are remembered per day);
- a lead whose every rule is over its daily cap (plus what the owner raised it by today)
  waits for the digest, counted per rule in ``held_by_cap``; a lead matching any uncapped or
  not-full rule passes and counts against its capped rules.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence

from chalicelib.alerts.router import by_importance
from chalicelib.config import ListenConfig
from chalicelib.cycle.context import Cycle
from chalicelib.cycle.learning import hold_back
from chalicelib.model import StoredMention
from chalicelib.mutes import MuteList


def mute_list(cycle: Cycle) -> MuteList:
    """listen.yaml's mutes and those added from alerts and SMS (authors and threads: one read)."""
    mute = cycle.config.mute
    authors, threads = cycle.store.muted()
    return MuteList.of([*mute.authors, *authors], mute.domains, [*mute.threads, *threads])


def screen(cycle: Cycle, mentions: Sequence[StoredMention],
           now: dt.datetime) -> tuple[list[StoredMention], dict[str, tuple[StoredMention, ...]]]:
    """The leads to alert (within their caps) and, per lead's key, the mentions attached to it."""
    from chalicelib.noise import collapse, fingerprints

    report = cycle.report
    mutes = mute_list(cycle) if mentions else MuteList.of()
    kept = [m for m in mentions if mutes.reason(m.item.mention) is None]
    report.muted += len(mentions) - len(kept)
    today, yesterday = now.date().isoformat(), (now - dt.timedelta(days=1)).date().isoformat()
    kept = hold_back(cycle, kept, today)
    by_key = {m.key: m for m in kept}
    known = {fp: lead for fp, lead in cycle.store.known_stories([yesterday, today]).items() if lead not in by_key}
    leads: list[StoredMention] = []
    also: dict[str, tuple[StoredMention, ...]] = {}
    remember: dict[str, str] = {}
    for story in collapse([m.item for m in kept], known=known):
        if story.earlier:
            report.attached += len(story.mentions)
            continue
        lead = by_key[story.lead.mention.key]
        leads.append(lead)
        also[lead.key] = tuple(by_key[o.mention.key] for o in story.others)
        report.attached += len(story.others)
        for member in story.mentions:
            remember.update({fp: story.story_key for fp in fingerprints(member) if fp not in remember})
    if remember:
        cycle.store.remember_stories(today, remember)
    return within_caps(cycle, leads, today), also


def within_caps(cycle: Cycle, leads: list[StoredMention], day: str) -> list[StoredMention]:
    """The leads within their rules' daily caps of ``day`` (one read, one counter write)."""
    caps = daily_caps(cycle.config)
    if not caps or not leads:
        return leads
    counts, raised = cycle.store.daily_caps(day)
    passed, held, sent = apply_caps(cycle.config, leads, caps, counts, raised)
    cycle.report.held_by_cap.update(held)
    cycle.store.add_to_daily_caps(day, counts=dict(sent))
    return passed


def daily_caps(config: ListenConfig) -> dict[str, int]:
    """Rule name -> its daily cap, for the rules that have one."""
    return {r.name: r.daily_cap for r in config.rules if r.daily_cap}


def apply_caps(config: ListenConfig, leads: Sequence[StoredMention], caps: Mapping[str, int],
               counts: Mapping[str, int], raised: Mapping[str, int]
               ) -> tuple[list[StoredMention], Counter[str], Counter[str]]:
    """Most important first, the leads that pass (``counts``: alerted today per rule;
    ``raised``: what the owner added to a cap today). Out: (passed, held per full rule, passed
    per capped rule)."""
    sent: Counter[str] = Counter()
    held: Counter[str] = Counter()
    passed = []
    for lead in by_importance(leads, config.alerts.urgent_priority):
        rules = lead.item.rule_names
        full = [r for r in rules if r in caps and counts.get(r, 0) + sent[r] >= caps[r] + raised.get(r, 0)]
        if full and len(full) == len(rules):
            held.update(full)
            continue
        passed.append(lead)
        sent.update(r for r in rules if r in caps)
    return passed, held, sent

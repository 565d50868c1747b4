"""Match (after fetch, before store): which fetched items are mentions, and under which rules.

Invariants:
- an item of a network the owner searches matches when a rule matches it (``RuleSet.match_many``:
  its terms, filters and exclusions);
- every item of an owned network (``NetworkSpec.owned``: the owner's own reviews, the comments on
  its posts, its @mentions) is a mention whatever the rules say: it carries the network's own
  match ("your Google reviews", urgent when the network says so: a one-star review) first, then
  the rules it also matches;
- order is kept: the i-th result comes from the earliest input it was made from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.model import MatchedMention, Mention
from chalicelib.networks import NETWORKS, spec


class Matcher(Protocol):
    def match_many(self, mentions: Sequence[Mention]) -> list[MatchedMention]: ...


def match_all(matcher: Matcher, mentions: Sequence[Mention]) -> list[MatchedMention]:
    """The mentions among ``mentions`` with their matches (see the module's invariants)."""
    ruled = {m.mention.key: m.matches for m in matcher.match_many(mentions)}
    owned = {name for name in {m.network for m in mentions} if name in NETWORKS and spec(name).owned}
    found = []
    for mention in mentions:
        matches = ruled.get(mention.key, ())
        if mention.network in owned:
            found.append(MatchedMention(mention, (spec(mention.network).owned_match(mention), *matches)))
        elif matches:
            found.append(MatchedMention(mention, matches))
    return found

"""Owned networks (the owner's reviews, comments on its posts): every item is a mention, with the
network's own match first; searched networks keep only what a rule matches."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from chalicelib.cycle import match
from chalicelib.model import MatchedMention, Mention, RuleMatch, matched_from_dict, matched_to_dict
from chalicelib.networks.spec import NetworkSpec
from tests.builders import mention

BRAND = RuleMatch("brand", "brand", False, ((0, 10),))
REVIEWS = NetworkSpec(name="reviews", label="Reviews", source="x:Y", owned=True,
                      urgent_when=lambda m: m.rating is not None and m.rating <= 1)


class WordMatcher:
    """Matches the mentions whose text holds "Bean There"."""

    def match_many(self, mentions: Sequence[Mention]) -> list[MatchedMention]:
        return [MatchedMention(m, (BRAND,)) for m in mentions if "Bean There" in m.text]


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match, "NETWORKS", {**match.NETWORKS, "reviews": "made.up"})
    real = match.spec
    monkeypatch.setattr(match, "spec", lambda name: REVIEWS if name == "reviews" else real(name))


def test_an_owned_item_is_a_mention_without_any_rule() -> None:
    review = mention("Lovely scones", network="reviews", native_id="r1", rating=4)
    [found] = match.match_all(WordMatcher(), [review])
    assert found.mention is review
    assert found.matches == (RuleMatch("your Reviews", "brand", False),)
    assert not found.urgent


def test_a_one_star_review_is_urgent_and_keeps_the_rules_it_also_matches() -> None:
    review = mention("Bean There was cold", network="reviews", native_id="r2", rating=1)
    [found] = match.match_all(WordMatcher(), [review])
    assert found.matches == (RuleMatch("your Reviews", "brand", True), BRAND)
    assert found.urgent


def test_searched_networks_keep_only_rule_matches_in_input_order() -> None:
    hit, miss = mention("Bean There rocks", native_id="1"), mention("nothing here", native_id="2")
    review = mention("ok", network="reviews", native_id="r3")
    found = match.match_all(WordMatcher(), [miss, review, hit])
    assert [f.mention.native_id for f in found] == ["r3", "1"]
    assert found[1].matches == (BRAND,)


def test_the_rating_is_stored_and_read_back_and_old_items_read_without_it() -> None:
    item = MatchedMention(mention("ok", network="reviews", native_id="r4", rating=2), (BRAND,))
    data = matched_to_dict(item)
    assert data["rating"] == 2
    assert matched_from_dict(data).mention.rating == 2
    unrated = matched_to_dict(MatchedMention(mention("ok"), (BRAND,)))
    assert "rating" not in unrated  # nothing stored for the networks without stars
    assert matched_from_dict(unrated).mention.rating is None

"""How a matched mention is kept in the store (``chalicelib.model.matched_to_dict``, issue #19): fields
that hold their default are left out (a stored mention is billed per KB), and dicts stored whole before
that change read back the same (no migration)."""

from __future__ import annotations

import datetime as dt
import json

from chalicelib.model import MatchedMention, Mention, RuleMatch, Triage, matched_from_dict, matched_to_dict

WHEN = dt.datetime(2026, 12, 5, 9, 59, 55, tzinfo=dt.UTC)
PLAIN = MatchedMention(
    Mention("hackernews", "5", "https://news.ycombinator.com/item?id=5", "", WHEN,
            title="Talking about Beanword0 today", author_handle="pg", author_name="pg",
            author_url="https://news.ycombinator.com/user?id=pg", reach=1),
    (RuleMatch("rule-00", "brand", True, ((14, 23),)),),
    Triage(0.0, "neutral", frozenset(), 50, ("names your business", "matches an urgent rule"), False),
)
# The same mention as the store kept it before issue 19 (every field; the shape `make cost` stored, its
# job/ids changed): what an item written by the former version holds in its ``data`` attribute.
STORED_WHOLE = (
    '{"network":"hackernews","native_id":"5","url":"https://news.ycombinator.com/item?id=5","text":"",'
    '"created_at":"2026-12-05T09:59:55+00:00","title":"Talking about Beanword0 today","kind":"post",'
    '"author_handle":"pg","author_name":"pg","author_url":"https://news.ycombinator.com/user?id=pg","reach":1,'
    '"lang":null,"community":"","links":[],"tags":[],"thread":{},'
    '"matches":[{"rule":"rule-00","group":"brand","urgent":true,"spans":[[14,23]]}],'
    '"triage":{"sentiment":0.0,"sentiment_label":"neutral","intents":[],"priority":50,'
    '"reasons":["names your business","matches an urgent rule"],"opportunity":false}}'
)


def compact(item: MatchedMention) -> str:
    return json.dumps(matched_to_dict(item), separators=(",", ":"))  # as the store writes it


def test_fields_at_their_default_are_left_out() -> None:
    assert compact(PLAIN) == (
        '{"network":"hackernews","native_id":"5","url":"https://news.ycombinator.com/item?id=5",'
        '"created_at":"2026-12-05T09:59:55+00:00","title":"Talking about Beanword0 today",'
        '"author_handle":"pg","author_name":"pg","author_url":"https://news.ycombinator.com/user?id=pg","reach":1,'
        '"matches":[{"rule":"rule-00","group":"brand","urgent":true,"spans":[[14,23]]}],'
        '"triage":{"sentiment":0.0,"sentiment_label":"neutral","priority":50,'
        '"reasons":["names your business","matches an urgent rule"]}}'
    )
    assert (len(STORED_WHOLE), len(compact(PLAIN))) == (597, 480)  # 20% less


def test_the_compact_dict_reads_back_the_same_mention() -> None:
    assert matched_from_dict(json.loads(compact(PLAIN))) == PLAIN
    bare = MatchedMention(Mention("rss", "x", "https://a.example/x", "", WHEN), (RuleMatch("r", "industry", False),))
    assert matched_to_dict(bare) == {"network": "rss", "native_id": "x", "url": "https://a.example/x",
                                     "created_at": "2026-12-05T09:59:55+00:00",
                                     "matches": [{"rule": "r", "group": "industry"}]}
    assert matched_from_dict(matched_to_dict(bare)) == bare


def test_every_field_set_is_kept_and_read_back() -> None:
    full = MatchedMention(
        Mention("reddit", "t3_abc", "https://www.reddit.com/r/x/comments/abc/", "body text", WHEN, title="Title",
                kind="comment", author_handle="u1", author_name="U One", author_url="https://www.reddit.com/user/u1",
                reach=0, lang="pt", community="lisboa", links=("https://beanthere.example/",), tags=("coffee",),
                thread={"root": "t3_abc", "parent": "t1_def"}),
        (RuleMatch("brand", "brand", False, ((0, 4),)), RuleMatch("urgent", "product", True)),
        Triage(-0.5, "negative", frozenset({"complaint", "churn"}), 90, ("a complaint",), True),
    )
    data = matched_to_dict(full)
    assert data["reach"] == 0 and data["kind"] == "comment"  # a zero is not a missing value
    assert data["matches"] == [{"rule": "brand", "group": "brand", "spans": [[0, 4]]},
                               {"rule": "urgent", "group": "product", "urgent": True}]
    assert data["triage"]["intents"] == ["churn", "complaint"] and data["triage"]["opportunity"] is True
    assert matched_from_dict(json.loads(json.dumps(data))) == full


def test_a_mention_stored_whole_before_reads_the_same() -> None:
    assert matched_from_dict(json.loads(STORED_WHOLE)) == PLAIN
    untriaged = json.loads(STORED_WHOLE) | {"triage": None}
    assert matched_from_dict(untriaged) == MatchedMention(PLAIN.mention, PLAIN.matches, None)


def test_the_rule_filter_of_rule_mentions_since_still_finds_the_rule() -> None:
    # Mentions.rule_mentions_since filters the data attribute on '"rule":<name>' server-side
    assert f'"rule":{json.dumps("rule-00")}' in compact(PLAIN)

"""Priority: points from intent, rule group, sentiment, reach, VIP list and age, with reasons in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from chalicelib.model import Mention, RuleMatch
from chalicelib.networks.spec import short_count
from chalicelib.triage import Triage, triage
from chalicelib.triage.priority import Priority, is_vip, priority
from chalicelib.triage.sentiment import Sentiment

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
NEUTRAL = Sentiment(0.0, "neutral")
COMPETITOR = RuleMatch("quickbooks", "competitor", False)
BRAND = RuleMatch("tally", "brand", False)


def mention(*, age: dt.timedelta = dt.timedelta(hours=12), **fields: object) -> Mention:
    base = Mention(
        network="mastodon",
        native_id="1",
        url="https://example.social/@alice/1",
        text="Can anyone recommend an alternative to QuickBooks? Moving away from it.",
        created_at=NOW - age,
        author_handle="alice",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def test_reasons_name_every_contribution_in_order() -> None:
    result = priority(
        mention(age=dt.timedelta(minutes=20), reach=12_345),
        [COMPETITOR],
        intents=frozenset({"question", "recommendation_request", "churn"}),
        sentiment=NEUTRAL,
        vip=(),
        now=NOW,
    )
    assert result == Priority(
        score=100,  # 10 + 40 + 40 + 10 + 10 + 10, clamped
        reasons=(
            "asks for a recommendation",
            "is leaving a competitor",
            "names a competitor",
            "12k followers",
            "posted within the hour",
        ),
        opportunity=True,
    )


def test_a_customer_to_win_outranks_a_complaint_about_the_business() -> None:
    complaint = priority(mention(), [BRAND], intents=frozenset({"complaint"}), sentiment=NEUTRAL, vip=(), now=NOW)
    asking = priority(
        mention(),
        [RuleMatch("bookkeeping apps", "industry", False)],
        intents=frozenset({"question", "recommendation_request"}),
        sentiment=NEUTRAL,
        vip=(),
        now=NOW,
    )
    leaving = priority(mention(), [COMPETITOR], intents=frozenset({"churn"}), sentiment=NEUTRAL, vip=(), now=NOW)
    assert (complaint.score, asking.score, leaving.score) == (45, 50, 60)
    assert leaving.reasons == ("is leaving a competitor", "names a competitor")


def test_plain_question_about_the_brand() -> None:
    result = priority(mention(), [BRAND], intents=frozenset({"question"}), sentiment=NEUTRAL, vip=(), now=NOW)
    assert result == Priority(40, ("asks a question", "names your business"), True)


def test_complaint_that_is_very_negative_from_an_urgent_rule() -> None:
    result = priority(
        mention(),
        [RuleMatch("tally outage", "product", True)],
        intents=frozenset({"complaint"}),
        sentiment=Sentiment(-0.8, "negative"),
        vip=(),
        now=NOW,
    )
    assert result == Priority(65, ("complains", "names your product", "matches an urgent rule", "very negative"), True)


def test_vip_author_comes_first() -> None:
    result = priority(mention(), [BRAND], intents=frozenset({"praise"}), sentiment=NEUTRAL, vip={"alice"}, now=NOW)
    assert result == Priority(60, ("VIP author", "praises", "names your business"), False)


def test_leaving_without_a_competitor_rule_is_not_an_opportunity() -> None:
    result = priority(mention(), [BRAND], intents=frozenset({"churn"}), sentiment=NEUTRAL, vip=(), now=NOW)
    assert result == Priority(45, ("talks about leaving", "names your business"), False)


def test_purchase_intent_scores_but_is_not_an_opportunity_to_answer() -> None:
    result = priority(mention(), [BRAND], intents=frozenset({"purchase_intent"}), sentiment=NEUTRAL, vip=(), now=NOW)
    assert result == Priority(45, ("wants to buy", "names your business"), False)


def test_industry_talk_adds_nothing_and_gives_no_reason() -> None:
    result = priority(
        mention(), [RuleMatch("cafes", "industry", False)], intents=frozenset(), sentiment=NEUTRAL, vip=(), now=NOW
    )
    assert result == Priority(10, (), False)


def test_score_never_goes_below_zero() -> None:
    result = priority(mention(age=dt.timedelta(days=8)), [], intents=frozenset(), sentiment=NEUTRAL, vip=(), now=NOW)
    assert result == Priority(0, ("over a week old",), False)


def test_score_never_goes_above_one_hundred() -> None:
    result = priority(
        mention(age=dt.timedelta(minutes=5), reach=250_000),
        [BRAND, COMPETITOR, RuleMatch("outage", "product", True)],
        intents=frozenset({"question", "recommendation_request", "complaint", "churn"}),
        sentiment=Sentiment(-0.9, "negative"),
        vip={"alice"},
        now=NOW,
    )
    assert result.score == 100


@pytest.mark.parametrize(
    ("age", "reasons", "score"),
    [
        (dt.timedelta(minutes=59), ("posted within the hour",), 20),
        (dt.timedelta(hours=1), ("posted in the last 6 hours",), 15),
        (dt.timedelta(hours=7), (), 10),
        (dt.timedelta(days=3, minutes=1), ("over 3 days old",), 0),
        (dt.timedelta(days=7, minutes=1), ("over a week old",), 0),
    ],
)
def test_age(age: dt.timedelta, reasons: tuple[str, ...], score: int) -> None:
    result = priority(mention(age=age), [], intents=frozenset(), sentiment=NEUTRAL, vip=(), now=NOW)
    assert (result.reasons, result.score) == (reasons, score)


@pytest.mark.parametrize(
    ("network", "reach", "reasons", "score"),
    [
        ("mastodon", None, (), 10),
        ("mastodon", 999, (), 10),
        ("mastodon", 1_000, ("1k followers",), 16),
        ("hackernews", 1_540, ("1.5k points",), 16),
        ("stackexchange", 10_000, ("10k reputation",), 20),
        ("bluesky", 2_500_000, ("2.5M likes",), 25),
    ],
)
def test_reach(network: str, reach: int | None, reasons: tuple[str, ...], score: int) -> None:
    result = priority(
        mention(network=network, reach=reach), [], intents=frozenset(), sentiment=NEUTRAL, vip=(), now=NOW
    )
    assert (result.reasons, result.score) == (reasons, score)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (950, "950"),
        (1_000, "1k"),
        (1_234, "1.2k"),
        (9_990, "10k"),
        (12_345, "12k"),
        (999_999, "999k"),
        (2_500_000, "2.5M"),
    ],
)
def test_short_count(n: int, text: str) -> None:
    assert short_count(n) == text


@pytest.mark.parametrize(
    ("vip", "expected"),
    [
        ({"alice"}, True),
        ({"@Alice"}, True),
        ({"MASTODON:alice"}, True),
        ({"mastodon:@alice"}, True),
        ({"reddit:alice"}, False),
        ({"alicia"}, False),
        (set(), False),
    ],
)
def test_vip_entries_match_handles_case_insensitively(vip: set[str], expected: bool) -> None:
    assert is_vip(mention(author_handle="Alice"), vip) is expected


def test_vip_entry_with_a_mastodon_account_on_another_instance() -> None:
    assert is_vip(mention(author_handle="bob@fosstodon.org"), {"mastodon:bob@fosstodon.org"}) is True
    assert is_vip(mention(author_handle="bob@fosstodon.org"), {"bob"}) is False


def test_anonymous_author_is_never_vip() -> None:
    assert is_vip(mention(author_handle=""), {""}) is False


def test_triage_reads_title_and_text_together() -> None:
    post = mention(
        title="Moving away from QuickBooks",
        text="Can anyone recommend an alternative? The latest price hike was the last straw.",
        age=dt.timedelta(minutes=30),
        reach=12_000,
    )
    result = triage(post, [COMPETITOR], vip=("mastodon:ALICE",), now=NOW)
    assert result == Triage(
        sentiment=0.3612,  # VADER's own reading: questions are scored like statements
        sentiment_label="positive",
        intents=frozenset({"question", "recommendation_request", "churn"}),
        priority=100,
        reasons=(
            "VIP author",
            "asks for a recommendation",
            "is leaving a competitor",
            "names a competitor",
            "12k followers",
            "posted within the hour",
        ),
        opportunity=True,
    )

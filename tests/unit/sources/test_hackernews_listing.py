"""Hacker News with several terms: one by-date listing of everything new, filtered by the rules."""

from __future__ import annotations

from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.networks.hackernews.source import HackerNews, HackerNewsOptions
from chalicelib.sources.base import Budget
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer

NOW = 1_800_000_000


def source(replay: ReplayServer) -> HackerNews:
    opts = HackerNewsOptions(base_url=replay.base_url("hackernews"))
    return HackerNews(opts, http=HttpClient("hackernews", timeout=2, sleep=lambda s: None), clock=lambda: NOW)


def test_several_terms_are_one_listing_of_new_items_read_from_the_last_hour_on_a_first_run(
    replay: ReplayServer, budget: Budget
) -> None:
    replay.add_items("hackernews", [
        story_hit(1, NOW - 7200, "Bean There two hours ago"),
        story_hit(2, NOW - 600, "Bean There opened"),
        comment_hit(3, NOW - 300, "a refund, finally", story_id=2, story_title="Bean There opened"),
        story_hit(4, NOW - 100, "Unrelated framework"),
    ])
    terms = ["Bean There", "refund", "espresso"]
    results = source(replay).fetch_many(terms, dict.fromkeys(terms), budget)

    (request,) = replay.received["hackernews"]
    assert request.param("query") == ""
    # the last hour, and the overlap window behind it that every Hacker News read re-reads (late-indexed items)
    assert request.param("numericFilters") == f"created_at_i>={NOW - 3600 - 600}"
    assert {t: sorted(m.native_id for m in r.mentions) for t, r in results.items()} == {
        "Bean There": ["2", "4"], "refund": ["3"], "espresso": []}  # the rules drop "4"
    assert results["Bean There"].cursor == results["espresso"].cursor


def test_one_term_is_still_searched(replay: ReplayServer, budget: Budget) -> None:
    source(replay).fetch_many(["Bean There"], {"Bean There": None}, budget)
    assert [r.param("query") for r in replay.received["hackernews"]] == ['"Bean There"']

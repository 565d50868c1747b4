"""Hacker News (Algolia search_by_date) against the replay server."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from chalicelib.networks.hackernews.emulator import HackerNewsAPI, comment_hit, late, story_hit
from chalicelib.networks.hackernews.source import HackerNews, HackerNewsOptions
from chalicelib.sources.base import BadPayload, Budget
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer

NOW = 1_800_000_000


def source(replay: ReplayServer, **options: object) -> HackerNews:
    opts = HackerNewsOptions(base_url=replay.base_url("hackernews"), **options)  # type: ignore[arg-type]
    http = HttpClient("hackernews", timeout=opts.timeout_seconds, sleep=lambda s: None)
    return HackerNews(opts, http=http, clock=lambda: NOW)


def test_first_run_fetches_only_the_lookback_window(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [
        story_hit(1, NOW - 2 * 86400, "Bean There two days ago"),
        story_hit(2, NOW - 3600, "Bean There an hour ago"),
    ])
    result = source(replay).fetch("Bean There", None, budget)
    assert [m.native_id for m in result.mentions] == ["2"]
    assert result.cursor == {"created_at_i": NOW - 3600, "ids": ["2"]}


def test_sends_the_documented_search_parameters(replay: ReplayServer, budget: Budget) -> None:
    source(replay).fetch("Bean There", {"created_at_i": NOW - 60, "ids": []}, budget)
    request = replay.received["hackernews"][0]
    assert request.path == "/search_by_date"
    assert request.query == [
        ("query", '"Bean There"'), ("tags", "(story,comment)"), ("numericFilters", f"created_at_i>={NOW - 60 - 600}"),
        ("hitsPerPage", "100"), ("page", "0"),
    ]
    assert request.headers["user-agent"].startswith("social-listening/")


def test_two_pages_are_followed_and_the_cursor_advances(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(100 + i, NOW - 500 + i, f"beanthere {i}") for i in range(150)])
    result = source(replay, overlap_seconds=0).fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    assert result.pages == 2 and result.complete
    assert len(result.mentions) == 150
    assert result.cursor == {"created_at_i": NOW - 500 + 149, "ids": ["249"]}


def test_page_limit_leaves_a_gap_that_the_next_cycle_reads(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(100 + i, NOW - 500 + i, f"beanthere {i}") for i in range(250)])
    hn = source(replay, max_pages=1, overlap_seconds=0)
    first = hn.fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    assert not first.complete and len(first.mentions) == 100
    assert first.cursor["gap"] == [NOW - 1000, NOW - 500 + 150]
    seen = {m.native_id for m in first.mentions}
    cursor = first.cursor
    for _ in range(3):
        result = hn.fetch("beanthere", cursor, budget)
        seen |= {m.native_id for m in result.mentions}
        cursor = result.cursor
    assert seen == {str(100 + i) for i in range(250)}
    assert "gap" not in cursor


def test_story_and_comment_are_normalized(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [
        story_hit(7, NOW - 30, "Show HN: Bean There & friends", author="maria", url="https://beanthere.example/",
                  points=42),
        comment_hit(8, NOW - 20, "<p>Is Bean There&#x27;s cold brew good? 😀</p><p>Asking for a friend</p>",
                    story_id=7, story_title="Show HN", author="jo e"),
    ])
    story, comment = sorted(source(replay).fetch("Bean There", None, budget).mentions, key=lambda m: m.native_id)
    assert story.title == "Show HN: Bean There & friends" and story.kind == "post" and story.reach == 42
    assert story.url == "https://news.ycombinator.com/item?id=7"
    assert story.links == ("https://beanthere.example/",)
    assert story.created_at == dt.datetime.fromtimestamp(NOW - 30, tz=dt.UTC)
    assert comment.text == "Is Bean There's cold brew good? 😀\n\nAsking for a friend"
    assert comment.kind == "comment" and comment.reach is None and comment.title == ""
    assert comment.author_url == "https://news.ycombinator.com/user?id=jo%20e"
    assert comment.thread == {"story_id": "7", "parent_id": "7"}


def test_exhausted_budget_stops_before_asking(replay: ReplayServer) -> None:
    result = source(replay).fetch("beanthere", {"created_at_i": NOW - 60, "ids": []}, Budget(time.monotonic() - 1))
    assert result.mentions == [] and not result.complete and replay.received["hackernews"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>oops</html>", "hackernews: response is not valid JSON at line 1 column 1"),
        (b'{"nbPages": 1}', "hackernews: response has no 'hits' list"),
        (b'{"hits": [], "nbPages": "2"}', "hackernews: 'nbPages' is not a number"),
    ],
)
def test_malformed_pages_are_bad_payload(replay: ReplayServer, budget: Budget, body: bytes, message: str) -> None:
    replay.inject("hackernews", Fault(200, {"Content-Type": "application/json"}, body))
    with pytest.raises(BadPayload) as err:
        source(replay).fetch("beanthere", None, budget)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"objectID": "1/../x", "created_at_i": NOW - 5}, "a hit's objectID is not a numeric id"),
        ({"objectID": "9", "created_at_i": "now"}, "hit 9: created_at_i is not a Unix time before year 9999"),
        ({"objectID": "9", "created_at_i": 10**20}, "hit 9: created_at_i is not a Unix time before year 9999"),
        ({"objectID": "9", "created_at_i": -5}, "hit 9: created_at_i is not a Unix time before year 9999"),
        ({"objectID": "9", "created_at_i": NOW - 5, "author": 5}, "hit 9: author is not a string"),
        ([1, 2], "a hit is not an object"),
    ],
)
def test_a_bad_hit_is_skipped_and_counted_and_the_page_comes_through(replay: ReplayServer, budget: Budget,
                                                                      bad: object, reason: str) -> None:
    good = [story_hit(1, NOW - 30, "beanthere one"), story_hit(2, NOW - 20, "beanthere two")]
    body = {"hits": [good[1], bad, good[0]], "nbPages": 1}
    replay.inject("hackernews", Fault(200, {"Content-Type": "application/json"}, json.dumps(body).encode()))
    result = source(replay).fetch("beanthere", {"created_at_i": NOW - 100, "ids": []}, budget)
    assert sorted(m.native_id for m in result.mentions) == ["1", "2"]
    assert result.skipped == [reason]
    assert result.cursor["created_at_i"] == NOW - 5 if reason.endswith("author is not a string") else NOW - 20


def test_a_title_is_text_never_markup(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(3, NOW - 10, "Why <script> tags block rendering & what to do")])
    [story] = source(replay).fetch("rendering", None, budget).mentions
    assert story.title == "Why <script> tags block rendering & what to do"


def test_odd_comment_html_does_not_lose_the_comment(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [comment_hit(4, NOW - 10, "beanthere <![ rest", story_id=1, story_title="s"),
                                    comment_hit(5, NOW - 9, "beanthere " + "<a " * 20000, story_id=1, story_title="s")])
    result = source(replay).fetch("beanthere", None, budget)
    assert sorted((m.native_id, m.text) for m in result.mentions) == [("4", "beanthere"), ("5", "beanthere")]
    assert result.skipped == []


def test_a_future_dated_item_is_returned_but_never_moves_the_watermark_past_now(replay: ReplayServer,
                                                                               budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(10, NOW + 86400 * 365, "beanthere from the future"),
                                    story_hit(11, NOW - 50, "beanthere now")])
    hn = source(replay)
    first = hn.fetch("beanthere", {"created_at_i": NOW - 100, "ids": []}, budget)
    future = [m for m in first.mentions if m.native_id == "10"]
    assert future[0].created_at == dt.datetime.fromtimestamp(NOW + 86400 * 365, tz=dt.UTC)
    assert first.cursor["created_at_i"] == NOW - 50
    # A post published after the future-dated one was seen is still found; the future one is not returned twice.
    replay.add_items("hackernews", [story_hit(12, NOW - 40, "beanthere later")])
    second = hn.fetch("beanthere", first.cursor, budget)
    assert [m.native_id for m in second.mentions] == ["12"]


def test_a_cursor_ahead_of_the_clock_is_brought_back_to_now(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(13, NOW - 5, "beanthere")])
    result = source(replay, overlap_seconds=0).fetch("beanthere", {"created_at_i": NOW + 10**6, "ids": []}, budget)
    assert replay.received["hackernews"][0].param("numericFilters") == f"created_at_i>={NOW}"
    assert result.cursor["created_at_i"] == NOW


def test_the_overlap_window_catches_an_item_indexed_late_and_returns_nothing_twice(replay: ReplayServer,
                                                                                  budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(20, NOW - 100, "beanthere a"), story_hit(21, NOW - 60, "beanthere b")])
    hn = source(replay, overlap_seconds=300)
    first = hn.fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    assert first.cursor == {"created_at_i": NOW - 60, "ids": ["20", "21"]}
    # Indexed only now, dated 4 minutes before the watermark: the overlap re-reads it.
    replay.add_items("hackernews", [story_hit(22, NOW - 300, "beanthere late")])
    second = hn.fetch("beanthere", first.cursor, budget)
    assert [m.native_id for m in second.mentions] == ["22"]
    assert replay.received["hackernews"][-1].param("numericFilters") == f"created_at_i>={NOW - 360}"
    assert hn.fetch("beanthere", second.cursor, budget).mentions == []


def test_without_an_overlap_a_late_item_is_lost(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(21, NOW - 60, "beanthere b")])
    hn = source(replay, overlap_seconds=0)
    first = hn.fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    replay.add_items("hackernews", [story_hit(22, NOW - 300, "beanthere late")])
    assert hn.fetch("beanthere", first.cursor, budget).mentions == []


def test_the_replay_late_indexing_mode_serves_an_item_from_its_indexing_time(budget: Budget) -> None:
    now = [float(NOW)]
    with ReplayServer({"hackernews": HackerNewsAPI(clock=lambda: now[0])}) as server:
        server.add_items("hackernews", [late(story_hit(30, NOW - 100, "beanthere late"), 400),
                                        story_hit(31, NOW + 50, "beanthere not yet")])
        opts = HackerNewsOptions(base_url=server.base_url("hackernews"), overlap_seconds=0)
        hn = HackerNews(opts, http=HttpClient("hackernews"), clock=lambda: now[0])
        assert hn.fetch("beanthere", None, budget).mentions == []
        now[0] = NOW + 100
        [seen] = hn.fetch("beanthere", None, budget).mentions
        assert seen.native_id == "31" and seen.created_at == dt.datetime.fromtimestamp(NOW + 50, tz=dt.UTC)
        now[0] = NOW + 300
        assert sorted(m.native_id for m in hn.fetch("beanthere", None, budget).mentions) == ["30", "31"]
        body = json.loads(server.apis["hackernews"].handle(server.received["hackernews"][0], server.items["hackernews"])
                          .body)
        assert [h["objectID"] for h in body["hits"]] == ["31", "30"]
        assert all("indexed_at_i" not in h for h in body["hits"])



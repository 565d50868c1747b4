"""Hacker News (Algolia search_by_date) against the replay server."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.sources.base import BadPayload, Budget, RateLimited, SourceError, Unavailable
from chalicelib.sources.hackernews import HackerNews, HackerNewsOptions
from chalicelib.sources.http import HttpClient
from offline.replay.hackernews import comment_hit, story_hit
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
        ("query", '"Bean There"'), ("tags", "(story,comment)"), ("numericFilters", f"created_at_i>={NOW - 60}"),
        ("hitsPerPage", "100"), ("page", "0"),
    ]
    assert request.headers["user-agent"].startswith("social-listening/")


def test_two_pages_are_followed_and_the_cursor_advances(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(100 + i, NOW - 500 + i, f"beanthere {i}") for i in range(150)])
    result = source(replay).fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    assert result.pages == 2 and result.complete
    assert len(result.mentions) == 150
    assert result.cursor == {"created_at_i": NOW - 500 + 149, "ids": ["249"]}


def test_second_cycle_fetches_nothing_already_seen(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(1, NOW - 100, "beanthere a"), story_hit(2, NOW - 100, "beanthere b")])
    hn = source(replay)
    first = hn.fetch("beanthere", {"created_at_i": NOW - 1000, "ids": []}, budget)
    assert sorted(m.native_id for m in first.mentions) == ["1", "2"]
    second = hn.fetch("beanthere", first.cursor, budget)
    assert second.mentions == [] and second.cursor == first.cursor
    replay.add_items("hackernews", [
        story_hit(3, NOW - 100, "beanthere same second"), story_hit(4, NOW - 50, "beanthere"),
    ])
    third = hn.fetch("beanthere", second.cursor, budget)
    assert sorted(m.native_id for m in third.mentions) == ["3", "4"]


def test_page_limit_leaves_a_gap_that_the_next_cycle_reads(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(100 + i, NOW - 500 + i, f"beanthere {i}") for i in range(250)])
    hn = source(replay, max_pages=1)
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
        story_hit(7, NOW - 30, "Show HN: Bean There &amp; friends", author="maria", url="https://beanthere.example/",
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


def test_429_with_retry_after_is_rate_limited_without_waiting(replay: ReplayServer, budget: Budget) -> None:
    replay.inject("hackernews", Fault(429, {"Retry-After": "120"}, b"Too Many Requests"))
    started = time.monotonic()
    with pytest.raises(RateLimited) as err:
        source(replay).fetch("beanthere", None, budget)
    assert err.value.retry_after == 120.0
    assert str(err.value) == "hackernews: rate limited (HTTP 429, retry after 120 s)"
    assert time.monotonic() - started < 1


def test_500_is_retried_then_reported(replay: ReplayServer, budget: Budget) -> None:
    replay.inject("hackernews", *[Fault(500)] * 3)
    with pytest.raises(Unavailable, match=r"^hackernews: server error \(HTTP 500\)$"):
        source(replay).fetch("beanthere", None, budget)
    assert len(replay.received["hackernews"]) == 3


def test_a_5xx_that_recovers_is_not_an_error(replay: ReplayServer, budget: Budget) -> None:
    replay.add_items("hackernews", [story_hit(1, NOW - 10, "beanthere")])
    replay.inject("hackernews", Fault(503))
    assert [m.native_id for m in source(replay).fetch("beanthere", None, budget).mentions] == ["1"]


def test_timeout_is_unavailable(replay: ReplayServer, budget: Budget) -> None:
    replay.inject("hackernews", *[Fault(delay_seconds=0.6, passthrough=True)] * 3)
    with pytest.raises(Unavailable, match=r"^hackernews: no answer within 0.5 s$"):
        source(replay, timeout_seconds=0.5).fetch("beanthere", None, budget)


def test_exhausted_budget_stops_before_asking(replay: ReplayServer) -> None:
    result = source(replay).fetch("beanthere", {"created_at_i": NOW - 60, "ids": []}, Budget(time.monotonic() - 1))
    assert result.mentions == [] and not result.complete and replay.received["hackernews"] == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>oops</html>", "hackernews: response is not valid JSON at line 1 column 1"),
        (b'{"nbPages": 1}', "hackernews: response has no 'hits' list"),
        (b'{"hits": [{"objectID": "1/../x", "created_at_i": 1}]}',
         "hackernews: hits[0].objectID is not a numeric id"),
        (b'{"hits": [{"objectID": "1", "created_at_i": "now"}]}',
         "hackernews: hits[0].created_at_i is not a Unix time"),
        (b'{"hits": [{"objectID": "1", "created_at_i": 1, "author": 5}]}',
         "hackernews: hits[0].author is not a string"),
    ],
)
def test_malformed_payloads_are_bad_payload(replay: ReplayServer, budget: Budget, body: bytes, message: str) -> None:
    replay.inject("hackernews", Fault(200, {"Content-Type": "application/json"}, body))
    with pytest.raises(BadPayload) as err:
        source(replay).fetch("beanthere", None, budget)
    assert str(err.value) == message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["hits", "nbPages", "objectID", "created_at_i", "_tags", "author", "title", "points",
                         "story_id", "url", "comment_text"]), children, max_size=6),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())))
def test_no_payload_raises_anything_but_source_error(replay_server: ReplayServer, body: bytes) -> None:
    replay_server.reset()
    replay_server.inject("hackernews", Fault(200, {"Content-Type": "application/json"}, body))
    try:
        source(replay_server).fetch("beanthere", None, Budget(time.monotonic() + 10))
    except SourceError:
        pass

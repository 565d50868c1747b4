"""The Lobsters connector against the replay emulation of its JSON pages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.networks.lobsters.emulator import LobstersAPI, demo_items, lobsters_comment, lobsters_story
from chalicelib.networks.lobsters.source import Lobsters, LobstersOptions
from chalicelib.sources.base import BadPayload, Budget, RateLimited, SourceError, Unavailable
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"lobsters": LobstersAPI()}) as srv:
        yield srv


@pytest.fixture
def srv(server: ReplayServer) -> ReplayServer:
    server.reset()
    return server


def connector(srv: ReplayServer, sleeps: list[float] | None = None, **options: object) -> Lobsters:
    opts = LobstersOptions(base_url=srv.base_url("lobsters"), **options)  # type: ignore[arg-type]
    record = sleeps if sleeps is not None else []
    http = HttpClient("lobsters", timeout=opts.timeout_seconds, sleep=record.append)
    return Lobsters(opts, http=http, clock=lambda: NOW)


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 60)


def stories(count: int, newest: int, step: int = 60, prefix: str = "s") -> list[dict]:
    return [lobsters_story(f"{prefix}{i}", newest - i * step, f"Story number {i}") for i in range(count)]


def test_two_pages_followed_and_cursor_advanced(srv: ReplayServer) -> None:
    srv.add_items("lobsters", stories(40, NOW - 10))
    result = connector(srv).fetch("*", None, budget())
    assert sorted(m.native_id for m in result.mentions) == sorted(f"s/s{i}" for i in range(40))
    assert [r.path for r in srv.received["lobsters"]] == ["/newest.json", "/newest/page/2.json"]
    assert result.complete is True
    assert result.cursor["created_at"] == NOW - 10
    assert result.cursor["ids"] == ["s0"]
    assert "gap" not in result.cursor


def test_second_cycle_fetches_nothing_already_seen(srv: ReplayServer) -> None:
    srv.add_items("lobsters", stories(5, NOW - 100))
    lobsters = connector(srv)
    first = lobsters.fetch("*", None, budget())
    srv.add_items("lobsters", [lobsters_story("fresh1", NOW - 5, "Something new")])
    second = lobsters.fetch("*", first.cursor, budget())
    third = lobsters.fetch("*", second.cursor, budget())
    assert len(first.mentions) == 5
    assert [m.native_id for m in second.mentions] == ["s/fresh1"]
    assert third.mentions == []


def test_story_at_the_same_instant_as_the_watermark_is_not_lost(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story("a1", NOW - 30, "First")])
    lobsters = connector(srv)
    first = lobsters.fetch("*", None, budget())
    srv.add_items("lobsters", [lobsters_story("a2", NOW - 30, "Same second")])
    second = lobsters.fetch("*", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["s/a2"]


def test_first_run_fetches_only_the_last_day(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [
        lobsters_story("new1", NOW - 3600, "An hour old"),
        lobsters_story("old1", NOW - 25 * 3600, "A day and an hour old"),
        lobsters_story("old2", NOW - 48 * 3600, "Two days old"),
    ])
    result = connector(srv).fetch("*", None, budget())
    assert [m.native_id for m in result.mentions] == ["s/new1"]
    assert len(srv.received["lobsters"]) == 1


def test_request_cap_stops_the_walk_and_the_next_cycle_reads_the_rest(srv: ReplayServer) -> None:
    srv.add_items("lobsters", stories(60, NOW - 10))  # three pages of 25
    lobsters = connector(srv, max_requests=2)
    first = lobsters.fetch("*", None, budget())
    second = lobsters.fetch("*", first.cursor, budget())
    third = lobsters.fetch("*", second.cursor, budget())
    assert first.complete is False
    assert len(first.mentions) == 50
    assert first.cursor["gap"]["page"] == 3
    assert [r.path for r in srv.received["lobsters"]][2:] == ["/newest/page/3.json", "/newest.json"]
    assert sorted(m.native_id for m in second.mentions) == sorted(f"s/s{i}" for i in range(50, 60))
    assert second.complete is True and "gap" not in second.cursor
    assert third.mentions == []


def test_comments_are_fetched_for_new_stories_and_for_threads_that_grew(srv: ReplayServer) -> None:
    story = lobsters_story("th1", NOW - 600, "A thread", comments=[
        lobsters_comment("cm1", NOW - 500, "<p>first</p>", story_short_id="th1", user="dana"),
    ])
    srv.add_items("lobsters", [story])
    lobsters = connector(srv)
    first = lobsters.fetch("*", None, budget())
    assert [m.native_id for m in first.mentions] == ["s/th1", "c/cm1"]
    assert [r.path for r in srv.received["lobsters"]] == ["/newest.json", "/s/th1.json"]

    srv.reset()
    story["comments"].append(lobsters_comment("cm2", NOW - 400, "<p>a reply</p>", story_short_id="th1",
                                              user="eli", parent="cm1", depth=1))
    story["comment_count"] = 2
    srv.add_items("lobsters", [story])
    second = lobsters.fetch("*", first.cursor, budget())
    reply = second.mentions[0]
    assert [m.native_id for m in second.mentions] == ["c/cm2"]
    assert (reply.kind, reply.url, reply.author_handle) == ("comment", "https://lobste.rs/c/cm2", "eli")
    assert reply.thread == {"story_id": "th1", "parent_id": "cm1"}

    srv.reset()
    srv.add_items("lobsters", [story])
    third = lobsters.fetch("*", second.cursor, budget())
    assert third.mentions == []
    assert [r.path for r in srv.received["lobsters"]] == ["/newest.json"]  # no growth, no thread fetched


def test_thread_left_for_lack_of_requests_is_fetched_next_cycle(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story("wt1", NOW - 600, "Busy thread", comments=[
        lobsters_comment("wc1", NOW - 500, "<p>hello</p>", story_short_id="wt1"),
    ])])
    lobsters = connector(srv, max_requests=1)
    first = lobsters.fetch("*", None, budget())
    second = lobsters.fetch("*", first.cursor, budget())
    assert ([m.native_id for m in first.mentions], first.complete) == (["s/wt1"], False)
    third = lobsters.fetch("*", second.cursor, budget())
    assert ([m.native_id for m in second.mentions], second.complete) == (["c/wc1"], False)  # newest page waits
    assert (third.mentions, third.complete) == ([], True)
    assert [r.path for r in srv.received["lobsters"]] == ["/newest.json", "/s/wt1.json", "/newest.json"]


def test_429_with_retry_after_raises_rate_limited_without_sleeping(srv: ReplayServer) -> None:
    sleeps: list[float] = []
    srv.inject("lobsters", Fault(429, {"Retry-After": "37", "RateLimit-Limit": "60", "RateLimit-Remaining": "0",
                                       "RateLimit-Reset": str(NOW + 37)}, b"Throttled"))
    with pytest.raises(RateLimited) as err:
        connector(srv, sleeps).fetch("*", None, budget())
    assert err.value.retry_after == 37
    assert sleeps == []


def test_429_with_only_ratelimit_reset_waits_until_that_epoch(srv: ReplayServer) -> None:
    srv.inject("lobsters", Fault(429, {"RateLimit-Reset": str(NOW + 12)}, b"Throttled"))
    with pytest.raises(RateLimited) as err:
        connector(srv).fetch("*", None, budget())
    assert err.value.retry_after == 12


def test_500_is_unavailable_after_the_retries(srv: ReplayServer) -> None:
    sleeps: list[float] = []
    srv.inject("lobsters", *[Fault(500)] * 3)
    with pytest.raises(Unavailable):
        connector(srv, sleeps).fetch("*", None, budget())
    assert len(srv.received["lobsters"]) == 3
    assert sleeps == [0.5, 1.0]


def test_timeout_is_unavailable(srv: ReplayServer) -> None:
    srv.inject("lobsters", *[Fault(delay_seconds=0.7, passthrough=True)] * 3)
    with pytest.raises(Unavailable, match="no answer"):
        connector(srv, timeout_seconds=0.2).fetch("*", None, budget())


def test_malformed_json_is_bad_payload(srv: ReplayServer) -> None:
    srv.inject("lobsters", Fault(200, {"Content-Type": "application/json"}, b'[{"short_id": "ab'))
    with pytest.raises(BadPayload, match="not valid JSON"):
        connector(srv).fetch("*", None, budget())


def test_a_story_without_offset_in_its_time_is_skipped_and_counted(srv: ReplayServer) -> None:
    story = lobsters_story("tz1", NOW - 60, "No offset")
    story["created_at"] = "2027-01-15T07:59:00"
    srv.add_items("lobsters", [story, lobsters_story("ok1", NOW - 50, "Fine")])
    result = connector(srv).fetch("*", None, budget())
    assert [m.native_id for m in result.mentions] == ["s/ok1"]
    assert result.skipped == ["story tz1.created_at is not an ISO time with offset"]
    assert result.cursor["created_at"] == NOW - 50


def test_unicode_emoji_and_entities_come_out_as_plain_text(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story(
        "uni1", NOW - 60, "Café ☕ «naïve» 日本語 & <tags>", user="zoë",
        description="Tom &amp; Jerry&#39;s <em>crème brûlée</em> 🍮 &lt;script&gt;",
    )])
    mention = connector(srv).fetch("*", None, budget()).mentions[0]
    assert mention.title == "Café ☕ «naïve» 日本語 & <tags>"
    assert mention.text == "Tom & Jerry's crème brûlée 🍮 <script>"
    assert (mention.author_handle, mention.author_url) == ("zoë", "")  # not a Lobsters username: no profile link


def test_story_normalized_with_permalink_author_reach_links_tags_and_thread(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story("nm1", NOW - 60, "Normalized", user="fern", score=7,
                                              url="https://example.org/post", tags=("web", "rust"))])
    mention = connector(srv).fetch("*", None, budget()).mentions[0]
    assert mention.url == "https://lobste.rs/s/nm1"
    assert (mention.author_handle, mention.author_url) == ("fern", "https://lobste.rs/~fern")
    assert mention.reach == 7
    assert mention.links == ("https://example.org/post",)
    assert mention.tags == ("rust", "web")
    assert mention.thread == {"story_id": "nm1"}
    assert mention.created_at.isoformat() == "2027-01-15T07:59:00+00:00"


def test_older_object_form_of_submitter_user_is_accepted(srv: ReplayServer) -> None:
    story = lobsters_story("ob1", NOW - 60, "Old shape")
    story["submitter_user"] = {"username": "gus", "karma": 10}
    srv.add_items("lobsters", [story])
    assert connector(srv).fetch("*", None, budget()).mentions[0].author_handle == "gus"


def test_foreign_short_id_url_is_not_used_as_permalink(srv: ReplayServer) -> None:
    story = lobsters_story("ph1", NOW - 60, "Phishing")
    story["short_id_url"] = "https://evil.example/s/ph1"
    srv.add_items("lobsters", [story])
    assert connector(srv).fetch("*", None, budget()).mentions[0].url == "https://lobste.rs/s/ph1"


def test_a_short_id_that_is_not_alphanumeric_is_skipped_and_counted(srv: ReplayServer) -> None:
    story = lobsters_story("x", NOW - 60, "Bad id")
    story["short_id"] = "../../admin"
    srv.add_items("lobsters", [story, lobsters_story("ok2", NOW - 70, "Fine")])
    result = connector(srv).fetch("*", None, budget())
    assert [m.native_id for m in result.mentions] == ["s/ok2"]
    assert result.skipped == ["a story.short_id is not a short id"]


def test_a_future_dated_story_is_returned_but_never_moves_the_watermark_past_now(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story("fut1", NOW + 365 * 86400, "From the future"),
                               lobsters_story("now1", NOW - 60, "Now")])
    lob = connector(srv)
    first = lob.fetch("*", None, budget())
    assert sorted(m.native_id for m in first.mentions) == ["s/fut1", "s/now1"]
    assert first.cursor["created_at"] == NOW - 60
    srv.add_items("lobsters", [lobsters_story("now2", NOW - 30, "Later")])
    assert [m.native_id for m in lob.fetch("*", first.cursor, budget()).mentions] == ["s/now2"]


def test_a_cursor_ahead_of_the_clock_is_brought_back_to_now(srv: ReplayServer) -> None:
    srv.add_items("lobsters", [lobsters_story("now3", NOW - 5, "Now")])
    cursor = {"created_at": NOW + 10**6, "ids": [], "since": NOW - 3600, "stories": {}}
    result = connector(srv).fetch("*", cursor, budget())
    assert result.cursor["created_at"] == NOW
    srv.add_items("lobsters", [lobsters_story("now4", NOW + 30, "A minute later")])
    later = connector(srv)
    later._clock = lambda: NOW + 60
    assert [m.native_id for m in later.fetch("*", result.cursor, budget()).mentions] == ["s/now4"]


def test_a_bad_comment_is_skipped_and_its_thread_still_read(srv: ReplayServer) -> None:
    good = lobsters_comment("c1", NOW - 60, "<p>kept <![ odd</p>", story_short_id="th1")
    bad = lobsters_comment("c2", NOW - 50, "bad", story_short_id="th1")
    bad["created_at"] = "99999-01-01T00:00:00Z"
    srv.add_items("lobsters", [lobsters_story("th1", NOW - 600, "Thread", comments=[good, bad])])
    result = connector(srv).fetch("*", None, budget())
    assert sorted((m.native_id, m.text) for m in result.mentions) == [("c/c1", "kept"), ("s/th1", "")]
    assert result.skipped == ["story th1 comment c2.created_at is not an ISO time with offset"]


def test_requests_send_a_user_agent_without_axios_and_ask_for_json(srv: ReplayServer) -> None:
    connector(srv).fetch("*", None, budget())
    request = srv.received["lobsters"][0]
    assert request.path == "/newest.json"
    assert request.query == []
    assert "axios" not in request.headers["user-agent"].lower()
    assert request.headers["accept"] == "application/json"


def test_demo_items_parse_and_include_comments(srv: ReplayServer) -> None:
    srv.add_items("lobsters", demo_items(NOW, {}))
    result = connector(srv).fetch("*", None, budget())
    assert len([m for m in result.mentions if m.kind == "post"]) == 6
    assert sorted(m.native_id for m in result.mentions if m.kind == "comment") == ["c/c0ffee1", "c/c0ffee2",
                                                                                  "c/c0ffee3"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["short_id", "created_at", "title", "comment_count", "submitter_user", "tags", "comments",
                         "url", "description", "score", "username"]), children, max_size=6),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=60) | _json.map(lambda v: json.dumps(v).encode()))
def test_any_body_raises_nothing_but_source_error(server: ReplayServer, body: bytes) -> None:
    server.reset()
    server.inject("lobsters", *[Fault(200, {"Content-Type": "application/json"}, body)] * 6)
    try:
        connector(server).fetch("*", None, budget())
    except SourceError:
        pass


_hostile = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["9999-12-31T23:59:59-01:00", "2027-01-15T07:59:00", "../x", "ABC", "https://evil.example/s/abc", [], {}])


@settings(max_examples=80, deadline=None)
@given(story_field=st.sampled_from(["short_id", "created_at", "title", "url", "description", "short_id_url", "score",
                                    "comment_count", "tags", "submitter_user", "comments"]),
       comment_field=st.sampled_from(["short_id", "created_at", "comment", "parent_comment", "score",
                                      "commenting_user"]),
       story_value=_hostile, comment_value=_hostile)
def test_documented_shape_with_hostile_values_raises_nothing_but_bad_payload(
        story_field: str, comment_field: str, story_value: object, comment_value: object) -> None:
    lobsters = Lobsters(LobstersOptions(), http=HttpClient("lobsters"), clock=lambda: NOW)
    comment = {**lobsters_comment("cm1", NOW, "<p>x</p>", story_short_id="ab1"), comment_field: comment_value}
    story = {**lobsters_story("ab1", NOW, "Title", comments=[comment]), story_field: story_value}
    try:
        for listed in lobsters._parse_page([story]):
            lobsters._story_mention(listed)
        thread, comments = lobsters._parse_thread(story, "ab1")
        for each in comments:
            lobsters._comment_mention(each, thread)
    except BadPayload:
        pass


def test_the_cursor_moves_past_an_unreadable_story_so_it_is_counted_once(srv: ReplayServer) -> None:
    bad = lobsters_story("bad1", NOW - 40, "Bad title")
    bad["title"] = None
    srv.add_items("lobsters", [bad, lobsters_story("ok3", NOW - 50, "Fine")])
    lob = connector(srv)
    first = lob.fetch("*", None, budget())
    assert first.skipped == ["story bad1.title is not a string"]
    assert first.cursor["created_at"] == NOW - 40 and first.cursor["ids"] == ["bad1"]
    second = lob.fetch("*", first.cursor, budget())
    assert second.mentions == [] and second.skipped == []


_corrupt_stories = st.one_of(
    st.builds(lambda when: {**lobsters_story("zz9", NOW - 5, "Corrupt"), "created_at": when},
              st.sampled_from(["99999-01-01T00:00:00Z", "-0001-01-01T00:00:00Z", "2027-01-15T07:59:00", "yesterday",
                               None, 1_800_000_000, "3027-01-15T07:59:00+00:00"])),
    st.just({**lobsters_story("zz8", NOW - 5, "Huge"), "description": "<p>" + "x" * 450_000 + "</p>"}),
    st.just({**lobsters_story("zz7", NOW - 5, "Odd markup"), "description": "<![ " * 2000}),
    st.just({**lobsters_story("zz6", NOW - 5, "No title"), "title": None}),
    st.just({"short_id": "zz5"}),
    st.just(["not", "a", "story"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corrupt=_corrupt_stories, position=st.integers(min_value=0, max_value=3),
       ages=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=3, unique=True))
def test_one_corrupted_story_never_costs_the_good_ones_or_the_cursor(server: ReplayServer, corrupt: object,
                                                                     position: int, ages: list[int]) -> None:
    server.reset()
    good = [lobsters_story(f"ok{i}", NOW - age, f"Good {i}") for i, age in enumerate(ages)]
    page = [*good[:position], corrupt, *good[position:]]
    server.inject("lobsters", Fault(200, {"Content-Type": "application/json"}, json.dumps(page).encode()))
    result = connector(server, max_requests=1).fetch("*", {"created_at": NOW - 4000, "ids": [], "since": NOW - 4000,
                                                           "stories": {}}, budget())
    assert {f"s/ok{i}" for i in range(len(ages))} <= {m.native_id for m in result.mentions}
    assert NOW - min(ages) <= result.cursor["created_at"] <= NOW

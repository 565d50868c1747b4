"""The Lobsters connector against the replay emulation of its JSON pages."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.networks.lobsters.emulator import LobstersAPI, demo_items, lobsters_comment, lobsters_story
from chalicelib.networks.lobsters.source import Lobsters, LobstersOptions
from chalicelib.sources.base import BadPayload, Budget, RateLimited
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


def test_429_with_only_ratelimit_reset_waits_until_that_epoch(srv: ReplayServer) -> None:
    srv.inject("lobsters", Fault(429, {"RateLimit-Reset": str(NOW + 12)}, b"Throttled"))
    with pytest.raises(RateLimited) as err:
        connector(srv).fetch("*", None, budget())
    assert err.value.retry_after == 12


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


def test_a_story_whose_thread_is_gone_is_skipped_and_the_page_still_read(srv: ReplayServer) -> None:
    """Found by the connector suite: a story deleted between the listing and its thread (the
    site answers 404) used to fail the whole cycle, every cycle while it stayed listed."""
    gone = lobsters_story("gone1", NOW - 60, "Deleted soon")
    gone["comment_count"] = 2
    srv.inject("lobsters", Fault(200, {"Content-Type": "application/json"},
                                 json.dumps([gone, lobsters_story("ok9", NOW - 90, "Fine")]).encode()))
    lob = connector(srv)
    first = lob.fetch("*", None, budget())
    second = lob.fetch("*", first.cursor, budget())
    assert sorted(m.native_id for m in first.mentions) == ["s/gone1", "s/ok9"]
    assert first.skipped == ["story gone1: its thread is gone (HTTP 404)"]
    assert [r.path for r in srv.received["lobsters"]] == ["/newest.json", "/s/gone1.json", "/newest.json"]
    assert second.mentions == [] and second.skipped == []


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



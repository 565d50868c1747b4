"""The YouTube connector against the replay emulation of search.list."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.networks.youtube.emulator import YouTubeAPI, demo_items, youtube_video
from chalicelib.networks.youtube.source import YouTube, YouTubeOptions
from chalicelib.sources.base import BadPayload, Budget, CredentialsError, RateLimited, Unavailable
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import secrets
from tests.conftest import MemoryState

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z = 2027-01-15T00:00:00-08:00 (midnight in Los Angeles)
KEY = "test-api-key"
SECRETS = {"/listen/youtube/key": KEY}


@pytest.fixture(scope="module")
def api() -> YouTubeAPI:
    return YouTubeAPI(keys=(KEY,), daily_calls=10**9)


@pytest.fixture(scope="module")
def server(api: YouTubeAPI) -> Iterator[ReplayServer]:
    with ReplayServer({"youtube": api}) as srv:
        yield srv


@pytest.fixture
def srv(server: ReplayServer, api: YouTubeAPI) -> ReplayServer:
    server.reset()
    api.calls, api.daily_calls = 0, 10**9
    return server


lookup = secrets(SECRETS)


def connector(srv: ReplayServer, *, state: MemoryState | None = None, sleeps: list[float] | None = None,
              clock: float = NOW + 3600, secrets: object = lookup, **options: object) -> YouTube:
    options.setdefault("pace_through_the_day", False)
    opts = YouTubeOptions(base_url=srv.base_url("youtube"), key_parameter="/listen/youtube/key",
                          **options)  # type: ignore[arg-type]
    record = sleeps if sleeps is not None else []
    http = HttpClient("youtube", timeout=opts.timeout_seconds, sleep=record.append)
    return YouTube(opts, http=http, secrets=secrets, state=state if state is not None else MemoryState(),  # type: ignore[arg-type]
                   clock=lambda: clock)


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 60)


def videos(count: int, newest: int, title: str = "Bean There Cafe review", step: int = 60) -> list[dict]:
    return [youtube_video(f"vid{i:08d}", newest - i * step, f"{title} {i}") for i in range(count)]


def test_two_pages_followed_and_cursor_advanced(srv: ReplayServer) -> None:
    srv.add_items("youtube", videos(7, NOW))
    result = connector(srv, max_results=5).fetch("Bean There", None, budget())
    tokens = [r.param("pageToken") for r in srv.received["youtube"]]
    assert sorted(m.native_id for m in result.mentions) == [f"vid{i:08d}" for i in range(7)]
    assert len(tokens) == 2 and tokens[0] is None and tokens[1]
    assert result.complete is True
    assert result.cursor == {"published_at": NOW, "since": NOW + 3600 - 86400,
                             "recent": {f"vid{i:08d}": NOW - i * 60 for i in range(7)}}


def test_a_video_search_finds_late_is_still_returned_once(srv: ReplayServer) -> None:
    srv.add_items("youtube", [youtube_video("seenvideo01", NOW, "Bean There seen")])
    youtube = connector(srv)
    first = youtube.fetch("Bean There", None, budget())
    srv.add_items("youtube", [youtube_video("latevideo01", NOW - 600, "Bean There indexed late")])
    second = youtube.fetch("Bean There", first.cursor, budget())
    third = youtube.fetch("Bean There", second.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["latevideo01"]
    assert third.mentions == []


def test_first_run_asks_only_for_the_last_day(srv: ReplayServer) -> None:
    srv.add_items("youtube", [youtube_video("recent00001", NOW, "Bean There recent"),
                              youtube_video("oldvideo001", NOW - 2 * 86400, "Bean There old")])
    result = connector(srv, clock=NOW + 60).fetch("Bean There", None, budget())
    assert [m.native_id for m in result.mentions] == ["recent00001"]
    assert srv.received["youtube"][0].param("publishedAfter") == "2027-01-14T08:01:00Z"


def test_page_limit_leaves_a_gap_read_with_published_before(srv: ReplayServer) -> None:
    srv.add_items("youtube", videos(12, NOW))
    youtube = connector(srv, max_results=5, max_pages=1)
    first = youtube.fetch("Bean There", None, budget())
    second = youtube.fetch("Bean There", first.cursor, budget())
    third = youtube.fetch("Bean There", second.cursor, budget())
    fourth = youtube.fetch("Bean There", third.cursor, budget())
    assert first.complete is False and first.cursor["gap"][1] == NOW - 4 * 60
    assert srv.received["youtube"][1].param("publishedBefore") == "2027-01-15T07:56:00Z"
    ids = [m.native_id for r in (first, second, third) for m in r.mentions]
    assert sorted(ids) == [f"vid{i:08d}" for i in range(12)]
    assert third.complete is True and "gap" not in third.cursor
    assert fourth.mentions == []


def test_exact_search_parameters(srv: ReplayServer) -> None:
    connector(srv).fetch("Bean There Café", None, budget())
    request = srv.received["youtube"][0]
    assert request.path == "/youtube/v3/search"
    assert request.query == [("part", "snippet"), ("q", '"Bean There Café"'), ("type", "video"), ("order", "date"),
                             ("publishedAfter", "2027-01-14T09:00:00Z"), ("maxResults", "50"), ("key", KEY)]


def test_video_normalized_with_unescaped_text_permalink_channel_and_thread(srv: ReplayServer) -> None:
    srv.add_items("youtube", [youtube_video(
        "dQw4w9WgXcQ", NOW, "Tom & Jerry's \"Café\" ☕ <live> 日本語 🎉", description="It's 5 > 3 & naïve 🍮",
        channel_id="UCuAXFkgsw1L7xaCfnd5JJOw", channel_title="Zoë's Café & Co",
    )])
    mention = connector(srv).fetch("Café", None, budget()).mentions[0]
    assert mention.title == "Tom & Jerry's \"Café\" ☕ <live> 日本語 🎉"
    assert mention.text == "It's 5 > 3 & naïve 🍮"
    assert mention.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert (mention.author_handle, mention.author_url) == ("Zoë's Café & Co",
                                                           "https://www.youtube.com/channel/UCuAXFkgsw1L7xaCfnd5JJOw")
    assert mention.thread == {"video_id": "dQw4w9WgXcQ", "channel_id": "UCuAXFkgsw1L7xaCfnd5JJOw"}
    assert mention.created_at == dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)


def test_video_id_that_is_not_a_video_id_skips_that_result_alone(srv: ReplayServer) -> None:
    item = youtube_video("abcdefghijk", NOW, "Bean There")
    item["id"]["videoId"] = "../evil?x=1"
    srv.add_items("youtube", [item, youtube_video("goodvideo01", NOW - 60, "Bean There")])
    result = connector(srv).fetch("Bean There", None, budget())
    assert [m.native_id for m in result.mentions] == ["goodvideo01"]
    assert result.skipped == ["items[0].id.videoId is not a video id"]


def test_daily_budget_is_never_exceeded_and_then_rate_limited_until_midnight_pacific(srv: ReplayServer) -> None:
    srv.add_items("youtube", videos(3, NOW))
    state = MemoryState()
    for _ in range(3):
        connector(srv, state=state, daily_search_calls=3).fetch("Bean There", None, budget())
    with pytest.raises(RateLimited, match="daily budget") as err:
        connector(srv, state=state, daily_search_calls=3).fetch("Bean There", None, budget())
    assert len(srv.received["youtube"]) == 3
    assert err.value.retry_after == 23 * 3600  # clock is 01:00 PT
    quota = state.values[("youtube", "quota")]
    assert (quota["day"], quota["used"], quota["terms"]["Bean There"]["used"]) == ("2027-01-15", 3, 3)


def test_budget_running_out_mid_walk_returns_what_was_read_with_a_gap(srv: ReplayServer) -> None:
    srv.add_items("youtube", videos(8, NOW))
    state = MemoryState()
    result = connector(srv, state=state, daily_search_calls=1, max_results=5).fetch("Bean There", None, budget())
    assert len(result.mentions) == 5 and result.complete is False
    assert result.cursor["gap"][1] == NOW - 4 * 60


def test_budget_starts_afresh_on_the_next_pacific_day(srv: ReplayServer) -> None:
    state = MemoryState()
    state.put_state("youtube", "quota", {"day": "2027-01-14", "used": 90,
                                         "terms": {"Bean There": {"used": 90, "seen": NOW - 60}}})
    connector(srv, state=state, clock=NOW + 60).fetch("Bean There", None, budget())
    assert state.values[("youtube", "quota")] == {"day": "2027-01-15", "used": 1,
                                                  "terms": {"Bean There": {"used": 1, "seen": NOW + 60}}}


def test_each_term_gets_its_share_of_the_budget_spread_over_the_day(srv: ReplayServer) -> None:
    state = MemoryState()
    fetched = []
    for _ in range(3):  # 01:00 PT, 48 calls a day for two terms: 24 each, one twenty-fourth of the day gone
        for term in ("Bean There", "Beanbag"):
            result = connector(srv, state=state, pace_through_the_day=True, daily_search_calls=48).fetch(
                term, None, budget())
            fetched.append((term, result.pages))
    assert fetched == [("Bean There", 1), ("Beanbag", 1), ("Bean There", 1), ("Beanbag", 1),
                       ("Bean There", 0), ("Beanbag", 0)]
    assert len(srv.received["youtube"]) == 4


def test_a_term_past_its_share_returns_its_cursor_unchanged_without_calling(srv: ReplayServer) -> None:
    state = MemoryState()
    youtube = connector(srv, state=state, pace_through_the_day=True, daily_search_calls=12)  # one every 2 h
    first = youtube.fetch("Bean There", None, budget())
    second = youtube.fetch("Bean There", first.cursor, budget())
    assert (second.mentions, second.cursor, second.complete) == ([], first.cursor, True)
    assert len(srv.received["youtube"]) == 1


def test_retries_never_overrun_the_budget(srv: ReplayServer) -> None:
    state = MemoryState()
    srv.inject("youtube", *[Fault(500)] * 3)
    with pytest.raises(Unavailable):
        connector(srv, state=state, daily_search_calls=2).fetch("Bean There", None, budget())
    assert len(srv.received["youtube"]) == 2
    assert state.values[("youtube", "quota")]["used"] == 2


def test_quota_exceeded_is_rate_limited_until_midnight_pacific_and_spends_the_day(srv: ReplayServer,
                                                                                  api: YouTubeAPI) -> None:
    api.daily_calls = 0
    state = MemoryState()
    with pytest.raises(RateLimited, match="quota is exceeded") as err:
        connector(srv, state=state).fetch("Bean There", None, budget())
    assert err.value.retry_after == 23 * 3600
    assert state.values[("youtube", "quota")]["used"] == 90
    with pytest.raises(RateLimited):
        connector(srv, state=state).fetch("Bean There", None, budget())
    assert len(srv.received["youtube"]) == 1


@pytest.mark.parametrize(("status", "domain", "reason"), [(403, "usageLimits", "accessNotConfigured"),
                                                           (400, "usageLimits", "keyInvalid"),
                                                           (403, "global", "forbidden")])
def test_key_refusals_are_credentials_errors(srv: ReplayServer, status: int, domain: str, reason: str) -> None:
    body = {"error": {"code": status, "message": "refused", "errors": [{"message": "refused", "domain": domain,
                                                                        "reason": reason}]}}
    srv.inject("youtube", Fault(status, {"Content-Type": "application/json"}, json.dumps(body).encode()))
    with pytest.raises(CredentialsError, match="API key rejected"):
        connector(srv).fetch("Bean There", None, budget())


def test_demo_items_parse(srv: ReplayServer) -> None:
    srv.add_items("youtube", demo_items(NOW, {}))
    result = connector(srv).fetch("Bean There", None, budget())
    assert len(result.mentions) == 4
    assert all("Bean There Café" in m.searchable_text for m in result.mentions)


_hostile = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["9999-12-31T23:59:59-01:00", "2027-01-15T07:59:00", "youtube#channel", "UC/../x", "&amp;&#39;", [], {}])


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(["kind", "videoId", "publishedAt", "channelId", "title", "description", "channelTitle",
                              "snippet", "id", "nextPageToken", "items"]), value=_hostile)
def test_documented_shape_with_hostile_values_raises_nothing_but_bad_payload(field: str, value: object) -> None:
    youtube = YouTube(YouTubeOptions(), http=HttpClient("youtube"), clock=lambda: NOW)
    video = youtube_video("abcdefghijk", NOW, "Title")
    body: dict = {"kind": "youtube#searchListResponse", "nextPageToken": "CAUQAA", "items": [video]}
    if field in ("kind", "videoId"):
        video["id"][field] = value
    elif field in ("snippet", "id"):
        video[field] = value
    elif field in ("nextPageToken", "items"):
        body[field] = value
    else:
        video["snippet"][field] = value
    try:
        items, _, listed = youtube._parse_page(body)
    except BadPayload:
        return  # the page itself is not the documented shape
    assert len(items) + len(youtube._skips.reasons()) <= listed
    assert all(item["_mention"].native_id == "abcdefghijk" for item in items)


# --- issue 11: defects 7 and 9 -------------------------------------------------------------


def test_one_unreadable_result_is_skipped_and_the_page_comes_through(srv: ReplayServer) -> None:
    """Defect 9: one result with a malformed channel id used to reject the whole page."""
    bad = youtube_video("badvideo001", NOW - 30, "Bean There bad")
    bad["snippet"]["channelId"] = "UC/../x"
    srv.add_items("youtube", [youtube_video("goodvideo01", NOW - 60, "Bean There one"), bad,
                              youtube_video("goodvideo02", NOW - 10, "Bean There two")])
    result = connector(srv, clock=NOW).fetch("Bean There", None, budget())
    assert sorted(m.native_id for m in result.mentions) == ["goodvideo01", "goodvideo02"]
    assert result.skipped == ["items[1].snippet.channelId is not a channel id"]
    assert result.cursor["published_at"] == NOW - 10


def test_a_video_from_the_future_is_kept_but_the_watermark_stays_at_now(srv: ReplayServer) -> None:
    """Defect 7: a video dated next year set publishedAfter past now for a year."""
    year = 365 * 86400
    srv.add_items("youtube", [youtube_video("futurevid01", NOW + year, "Bean There from the future"),
                              youtube_video("todayvideo1", NOW - 60, "Bean There today")])
    first = connector(srv, clock=NOW).fetch("Bean There", None, budget())
    assert {m.native_id: m.created_at.timestamp() for m in first.mentions} == {
        "futurevid01": NOW + year, "todayvideo1": NOW - 60}
    assert first.cursor["published_at"] == NOW
    srv.add_items("youtube", [youtube_video("latervideo1", NOW + 120, "Bean There later")])
    second = connector(srv, clock=NOW + 600).fetch("Bean There", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["latervideo1"]
    assert second.cursor["published_at"] == NOW + 600


def test_a_watermark_stored_in_the_future_is_pulled_back_to_now(srv: ReplayServer) -> None:
    srv.add_items("youtube", [youtube_video("todayvideo1", NOW - 60, "Bean There today")])
    cursor = {"published_at": NOW + 86400 * 30, "since": NOW - 86400, "recent": {}}
    result = connector(srv, clock=NOW).fetch("Bean There", cursor, budget())
    [request] = srv.received["youtube"]
    assert request.param("publishedAfter") == "2027-01-15T07:00:00Z"  # now minus the 60-minute lag window
    assert [m.native_id for m in result.mentions] == ["todayvideo1"]
    assert result.cursor["published_at"] == NOW


def test_several_terms_are_one_search_call_with_the_documented_or_operator(srv: ReplayServer) -> None:
    srv.add_items("youtube", [youtube_video("beanvideo01", NOW - 60, "Bean There review"),
                              youtube_video("refundvid01", NOW - 30, "asking for a refund"),
                              youtube_video("othervideo1", NOW - 10, "cats")])
    state = MemoryState()
    results = connector(srv, state=state).fetch_many(["Bean There", "refund", "espresso"],
                                                     dict.fromkeys(["Bean There", "refund", "espresso"]), budget())
    (call,) = srv.received["youtube"]
    assert call.param("q") == '"Bean There"|refund|espresso'
    assert {t: [m.native_id for m in r.mentions] for t, r in results.items()} == {
        "Bean There": ["beanvideo01"], "refund": ["refundvid01"], "espresso": []}
    assert results["Bean There"].cursor == results["refund"].cursor == results["espresso"].cursor
    assert state.get_state("youtube", "quota")["used"] == 1  # one call of the day's budget for three terms


def test_terms_whose_cursors_differ_search_from_the_oldest_floor(srv: ReplayServer) -> None:
    cursors = {"Bean There": {"published_at": NOW, "since": NOW - 86400, "recent": {}},
               "refund": {"published_at": NOW - 7200, "since": NOW - 86400, "recent": {}}}
    connector(srv).fetch_many(["Bean There", "refund"], cursors, budget())
    (call,) = srv.received["youtube"]
    assert call.param("publishedAfter") == "2027-01-15T05:00:00Z"  # refund's watermark less an hour of index lag

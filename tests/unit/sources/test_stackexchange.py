"""The Stack Exchange connector against the emulated /2.3/search/advanced."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest

from chalicelib.networks.stackexchange.emulator import StackExchangeAPI, demo_items, question
from chalicelib.networks.stackexchange.source import StackExchange, StackExchangeOptions
from chalicelib.sources.base import (
    Budget,
    CredentialsError,
    RateLimited,
    SourceError,
)
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState

NOW = 1_790_000_000  # 2026-09-21T14:13:20Z
API = StackExchangeAPI(valid_keys={"k3y"})


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"stackexchange": API}) as srv:
        yield srv


@pytest.fixture
def srv(server: ReplayServer) -> ReplayServer:
    server.reset()
    API.quota_used.clear()
    return server


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 30)


def connector(srv: ReplayServer, *, now: float = NOW, state: MemoryState | None = None,
              secrets: dict[str, str] | None = None, **options: object) -> StackExchange:
    opts = StackExchangeOptions(base_url=srv.base_url("stackexchange"), **options)  # type: ignore[arg-type]
    lookup = None if secrets is None else secrets.__getitem__
    http = HttpClient("stackexchange", timeout=opts.timeout_seconds, sleep=lambda s: None)
    return StackExchange(opts, http=http, secrets=lookup, state=state, clock=lambda: now)


def coffee_questions(count: int, newest: int) -> list[dict]:
    return [question(1000 + i, newest - i * 10, f"Espresso question {i}", "<p>espresso grind</p>")
            for i in range(count)]


def test_two_pages_followed_and_cursor_advanced(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", coffee_questions(5, NOW - 100))
    result = connector(srv, page_size=3).fetch("espresso", None, budget())
    assert [m.native_id for m in result.mentions] == [f"stackoverflow/{1000 + i}" for i in range(5)]
    assert result.pages == 2 and result.complete
    assert [r.param("page") for r in srv.received["stackexchange"]] == ["1", "2"]
    assert result.cursor["sites"] == {"stackoverflow": {"fromdate": NOW - 100, "ids": [1000]}}


def test_second_cycle_fetches_nothing_already_seen(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", coffee_questions(3, NOW - 100))
    first = connector(srv).fetch("espresso", None, budget())
    srv.add_items("stackexchange", [question(2000, NOW - 100, "Espresso same second", "espresso"),
                                    question(2001, NOW + 5, "Espresso newer", "espresso")])
    second = connector(srv, now=NOW + 10).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["stackoverflow/2001", "stackoverflow/2000"]
    third = connector(srv, now=NOW + 20).fetch("espresso", second.cursor, budget())
    assert third.mentions == []
    assert srv.received["stackexchange"][-1].param("fromdate") == str(NOW + 5)


def test_first_run_fetches_only_the_last_day(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", [question(1, NOW - 2 * 86400, "Old espresso", "espresso"),
                                    question(2, NOW - 3600, "New espresso", "espresso")])
    result = connector(srv).fetch("espresso", None, budget())
    assert [m.native_id for m in result.mentions] == ["stackoverflow/2"]
    assert srv.received["stackexchange"][0].param("fromdate") == str(NOW - 86400)


def test_exact_request_parameters_for_each_site(srv: ReplayServer) -> None:
    connector(srv, sites=["stackoverflow", "coffee"], key_parameter="/listen/se-key",
              secrets={"/listen/se-key": "k3y"}).fetch("cold brew", None, budget())
    assert [r.query for r in srv.received["stackexchange"]] == [
        [("site", site), ("q", "cold brew"), ("sort", "creation"), ("order", "desc"), ("fromdate", str(NOW - 86400)),
         ("pagesize", "100"), ("page", "1"), ("filter", "withbody"), ("key", "k3y")]
        for site in ("stackoverflow", "coffee")
    ]
    assert srv.received["stackexchange"][0].path == "/search/advanced"


def test_page_limit_leaves_a_gap_read_next_cycle(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", coffee_questions(5, NOW - 100))
    first = connector(srv, page_size=2, max_pages=1).fetch("espresso", None, budget())
    assert not first.complete and len(first.mentions) == 2
    assert first.cursor["sites"]["stackoverflow"]["gap"] == [NOW - 86400, NOW - 110]
    assert first.cursor["sites"]["stackoverflow"]["gap_ids"] == [1001]
    second = connector(srv, page_size=2, max_pages=5).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["stackoverflow/1002", "stackoverflow/1003", "stackoverflow/1004"]
    assert srv.received["stackexchange"][-1].param("todate") == str(NOW - 110)
    assert "gap" not in second.cursor["sites"]["stackoverflow"]


def test_backoff_is_remembered_and_honoured_without_calling(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", coffee_questions(4, NOW - 100))
    srv.inject("stackexchange", Fault(status=200, headers={"Content-Type": "application/json"}, body=json.dumps(
        {"items": [question(1000, NOW - 100, "Espresso", "espresso")], "has_more": True, "quota_max": 10000,
         "quota_remaining": 9000, "backoff": 10}).encode()))
    state = MemoryState()
    first = connector(srv, state=state).fetch("espresso", None, budget())
    assert len(srv.received["stackexchange"]) == 1 and not first.complete
    assert first.cursor["not_before"] == NOW + 10
    with pytest.raises(RateLimited) as err:
        connector(srv, now=NOW + 4, state=state).fetch("other term", None, budget())
    assert err.value.retry_after == 6
    assert len(srv.received["stackexchange"]) == 1
    later = connector(srv, now=NOW + 11, state=state).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in later.mentions] == ["stackoverflow/1001", "stackoverflow/1002", "stackoverflow/1003"]


def test_quota_reserve_stops_until_midnight_utc(srv: ReplayServer) -> None:
    srv.inject("stackexchange", Fault(status=200, body=json.dumps(
        {"items": [], "has_more": False, "quota_max": 10000, "quota_remaining": 50}).encode()))
    first = connector(srv).fetch("espresso", None, budget())
    assert first.cursor["quota_remaining"] == 50
    with pytest.raises(RateLimited) as err:
        connector(srv, now=NOW + 1).fetch("espresso", first.cursor, budget())
    midnight = dt.datetime(2026, 9, 22, tzinfo=dt.UTC).timestamp()
    assert err.value.retry_after == midnight - (NOW + 1)
    assert "daily quota down to 50" in str(err.value)
    next_day = connector(srv, now=midnight + 5).fetch("espresso", first.cursor, budget())
    assert next_day.cursor["quota_remaining"] == 299


def test_throttle_violation_is_rate_limited_with_the_seconds_from_the_message(srv: ReplayServer) -> None:
    srv.inject("stackexchange", Fault(status=400, body=json.dumps(
        {"error_id": 502, "error_message": "too many requests from this IP, more requests available in 82626 seconds",
         "error_name": "throttle_violation"}).encode()))
    with pytest.raises(RateLimited) as err:
        connector(srv).fetch("espresso", None, budget())
    assert err.value.retry_after == 82626


def test_key_required_error_is_a_credentials_error(srv: ReplayServer) -> None:
    srv.inject("stackexchange", Fault(status=400, body=json.dumps(
        {"error_id": 405, "error_message": "key required", "error_name": "key_required"}).encode()))
    with pytest.raises(CredentialsError, match="error 405 key_required"):
        connector(srv).fetch("espresso", None, budget())


def test_other_api_error_names_the_error(srv: ReplayServer) -> None:
    srv.inject("stackexchange", Fault(status=400, body=json.dumps(
        {"error_id": 400, "error_message": "site", "error_name": "bad_parameter"}).encode()))
    with pytest.raises(SourceError, match=r"request refused \(error 400 bad_parameter\)") as err:
        connector(srv).fetch("espresso", None, budget())
    assert type(err.value) is SourceError


@pytest.mark.parametrize("huge", [10**12, 253_402_300_800, 2**63, 10**30])
def test_a_huge_unix_time_skips_that_question_alone(srv: ReplayServer, huge: int) -> None:
    """Defect 9: a creation_date no calendar holds crashed the whole fetch (OverflowError or
    ValueError out of the connector). It is one question skipped, counted in words; the
    others come through and the cursor moves, to the cycle's clock and not past it."""
    srv.add_items("stackexchange", [question(1, huge, "Espresso from the far future", "espresso"),
                                    question(2, NOW - 20, "Espresso good", "espresso")])
    result = connector(srv).fetch("espresso", None, budget())
    assert [m.native_id for m in result.mentions] == ["stackoverflow/2"]
    assert result.skipped == [f"items[0].creation_date {huge} is not a date (after year 9999)"]
    assert result.cursor["sites"]["stackoverflow"] == {"fromdate": NOW, "ids": [1]}


def test_a_future_dated_question_is_kept_but_does_not_move_the_cursor_past_now(srv: ReplayServer) -> None:
    """Defect 7: a question claiming a date a year ahead is stored with that date, but the
    watermark stays at the cycle's clock, so a question asked a moment later is not lost."""
    year_ahead = NOW + 366 * 86400
    srv.add_items("stackexchange", [question(1, year_ahead, "Espresso from next year", "espresso"),
                                    question(2, NOW - 20, "Espresso good", "espresso")])
    first = connector(srv).fetch("espresso", None, budget())
    assert [(m.native_id, m.created_at) for m in first.mentions] == [
        ("stackoverflow/1", dt.datetime.fromtimestamp(year_ahead, tz=dt.UTC)),
        ("stackoverflow/2", dt.datetime.fromtimestamp(NOW - 20, tz=dt.UTC))]
    assert first.cursor["sites"]["stackoverflow"] == {"fromdate": NOW, "ids": [1]}
    srv.add_items("stackexchange", [question(3, NOW + 30, "Espresso asked a moment later", "espresso")])
    second = connector(srv, now=NOW + 60).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["stackoverflow/1", "stackoverflow/3"]
    assert second.cursor["sites"]["stackoverflow"] == {"fromdate": NOW + 60, "ids": [1]}


def test_unicode_emoji_and_entities_come_out_right(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", [question(
        7, NOW - 10, "Café “Bean There” & cold brew?", "<p>Ol&aacute; &amp; obrigado ☕ 😊 &lt;3</p>",
        display_name="Jörg & Ana", reputation=1234, tags=["café"])])
    [mention] = connector(srv).fetch("café", None, budget()).mentions
    assert mention.title == "Café “Bean There” & cold brew?"
    assert mention.text == "Olá & obrigado ☕ 😊 <3"
    assert (mention.author_name, mention.author_handle, mention.reach) == ("Jörg & Ana", "1", 1234)
    assert mention.url.startswith("https://stackoverflow.com/questions/7/")
    assert mention.author_url.startswith("https://stackoverflow.com/users/1/")
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 10, tz=dt.UTC)
    assert (mention.community, mention.tags, mention.thread) == (
        "stackoverflow", ("café",), {"site": "stackoverflow", "question_id": "7"})


def test_demo_items_are_served_and_parsed(srv: ReplayServer) -> None:
    srv.add_items("stackexchange", demo_items(NOW, {}))
    result = connector(srv, sites=["stackoverflow", "coffee"]).fetch("Bean There", None, budget())
    assert sorted(m.native_id for m in result.mentions) == [
        "coffee/1201", "coffee/1202", "stackoverflow/79900001", "stackoverflow/79900002"]


def test_several_terms_read_each_sites_new_questions_once_instead_of_a_search_per_term_and_site(
    srv: ReplayServer,
) -> None:
    srv.add_items("stackexchange", [
        question(3001, NOW - 300, "Bean There app", "<p>crashes</p>"),
        question(3002, NOW - 200, "Refund", "<p>a refund</p>", site="coffee"),
        question(3003, NOW - 100, "Unrelated", "<p>nothing</p>"),
    ])
    terms = ["Bean There", "refund", "espresso"]
    results = connector(srv, sites=["stackoverflow", "coffee"]).fetch_many(terms, dict.fromkeys(terms), budget())

    calls = srv.received["stackexchange"]
    assert [(r.path, r.param("site"), r.param("q")) for r in calls] == [
        ("/questions", "stackoverflow", None), ("/questions", "coffee", None)]  # 2 requests, not 3 x 2
    assert calls[0].param("fromdate") == str(NOW - 3600)  # a first run of the list reads the last hour
    assert {t: sorted(m.native_id for m in r.mentions) for t, r in results.items()} == {
        "Bean There": ["stackoverflow/3001", "stackoverflow/3003"], "refund": ["coffee/3002"], "espresso": []}
    assert results["Bean There"].cursor["sites"] == results["espresso"].cursor["sites"] == {
        "stackoverflow": {"fromdate": NOW - 100, "ids": [3003]}, "coffee": {"fromdate": NOW - 200, "ids": [3002]}}


def test_fewer_terms_than_list_from_terms_are_still_searched_one_by_one(srv: ReplayServer) -> None:
    terms = ["Bean There", "refund"]
    connector(srv, list_from_terms=3).fetch_many(terms, dict.fromkeys(terms), budget())
    assert [(r.path, r.param("q")) for r in srv.received["stackexchange"]] == [
        ("/search/advanced", "Bean There"), ("/search/advanced", "refund")]

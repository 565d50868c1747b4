"""Bluesky through the Jetstream firehose (chalicelib/networks/bluesky/jetstream.py and the connector's
``fetch_many``), against the replay server's emulated Jetstream: the mode choice, the cursor, and each
fault in words, losing nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.cycle.fetch import advance, fetch_all
from chalicelib.cycle.schedule import Task
from chalicelib.networks.bluesky import FIREHOSE_FROM_TERMS, SPEC, firehose_chosen, poll_mode
from chalicelib.networks.bluesky.emulator import BlueskyAPI, post_view
from chalicelib.networks.bluesky.jetstream import REPLAY_WINDOW_SECONDS
from chalicelib.networks.bluesky.source import Bluesky, BlueskyOptions
from chalicelib.sources.base import Budget, FetchResult, Unavailable
from chalicelib.sources.http import HttpClient
from chalicelib.store.memory import MemoryStore
from offline.replay.server import Fault, ReplayServer
from tests.builders import secrets as lookup_in
from tests.conftest import MemoryState

NOW = float(int(time.time()))
SECRETS = {"/h": "beanthere.bsky.social", "/p": "abcd-efgh-ijkl-mnop"}
TERMS = ["bean there", *(f"beanthere{n:03d}" for n in range(1, FIREHOSE_FROM_TERMS))]
SUBSCRIBE = "/subscribe"
PROFILES = "/xrpc/app.bsky.actor.getProfiles"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"bluesky": BlueskyAPI()}) as server:
        yield server


@pytest.fixture
def api() -> BlueskyAPI:
    emulation = BlueskyAPI()
    emulation.clock = lambda: NOW
    return emulation


@pytest.fixture
def srv(module_srv: ReplayServer, api: BlueskyAPI) -> ReplayServer:
    module_srv.reset()
    module_srv.apis["bluesky"] = api
    return module_srv


def make_bluesky(srv: ReplayServer, **options: Any) -> Bluesky:
    opts = BlueskyOptions(base_url=srv.base_url("bluesky"), handle_parameter="/h", app_password_parameter="/p",
                          firehose_idle_seconds=0.2, **options)
    return Bluesky(opts, http=HttpClient("bluesky", sleep=lambda s: None), secrets=lookup_in(SECRETS),
                   state=MemoryState(), clock=lambda: NOW)


def budget(seconds: float = 30) -> Budget:
    return Budget(deadline=time.monotonic() + seconds)


def paths(srv: ReplayServer) -> list[str]:
    return [r.path for r in srv.received["bluesky"]]


def mentions(results: dict[str, FetchResult]) -> dict[str, list[str]]:
    return {term: [m.text for m in result.mentions] for term, result in results.items() if result.mentions}


def posts(count: int, *, start: float = NOW - 300, text: str = "post {n} about Bean There") -> list[dict[str, Any]]:
    return [post_view(start + 10 * n, text.format(n=n), did=f"did:plc:author{n:03d}", handle=f"a{n}.bsky.social",
                      clock_id=n) for n in range(count)]


def test_many_terms_read_the_firehose_once_and_hand_back_the_posts_that_contain_a_term(srv: ReplayServer) -> None:
    srv.add_items("bluesky", [
        post_view(NOW - 200, "Coffee at Bean There today", clock_id=1),
        post_view(NOW - 150, "beanthere003 is my favourite", did="did:plc:bob2", handle="bob.bsky.social", clock_id=2),
        post_view(NOW - 100, "Nothing to do with us", did="did:plc:eve3", handle="eve.bsky.social", clock_id=3),
        post_view(NOW - 50, "Bean, but somewhere else", did="did:plc:eve3", handle="eve.bsky.social", clock_id=4),
    ])
    results = make_bluesky(srv).fetch_many(TERMS, {}, budget())
    assert mentions(results) == {"bean there": ["Coffee at Bean There today"],
                                 "beanthere003": ["beanthere003 is my favourite"]}
    assert sorted(paths(srv)) == sorted([SUBSCRIBE, "/xrpc/com.atproto.server.createSession", PROFILES])
    (subscribe,) = [r for r in srv.received["bluesky"] if r.path == SUBSCRIBE]
    first_run = NOW - 10 * 60 - 1.0  # firehose_first_run_minutes back, less the overlap
    assert subscribe.query == [("wantedCollections", "app.bsky.feed.post"), ("cursor", str(int(first_run * 1e6))),
                               ("maxMessageSizeBytes", str(1 << 20))]
    (profiles,) = [r for r in srv.received["bluesky"] if r.path == PROFILES]
    assert sorted(profiles.params("actors")) == ["did:plc:ana4lisbon2x", "did:plc:bob2"]  # matched authors only
    mention = results["beanthere003"].mentions[0]
    assert (mention.author_handle, mention.url) == ("bob.bsky.social",
                                                    f"https://bsky.app/profile/bob.bsky.social/post/{mention.url[-13:]}")
    assert {r.cursor["time_us"] for r in results.values()} == {int((NOW - 50 + 1) * 1e6)}  # the last event's time
    assert results["bean there"].cursor["seen"] == {}  # the overlap's last post matched nothing: nothing to remember
    assert all(r.complete for r in results.values())


def test_few_terms_search_once_a_term_and_never_open_the_firehose(srv: ReplayServer) -> None:
    srv.add_items("bluesky", [post_view(NOW - 100, "bean there")])
    results = make_bluesky(srv).fetch_many(TERMS[:3], {}, budget())
    assert mentions(results) == {"bean there": ["bean there"]}
    assert paths(srv).count(SEARCH) == 3 and SUBSCRIBE not in paths(srv)


@pytest.mark.parametrize(("mode", "terms", "firehose"), [("search", 40, False), ("firehose", 1, True),
                                                         ("auto", FIREHOSE_FROM_TERMS - 1, False),
                                                         ("auto", FIREHOSE_FROM_TERMS, True)])
def test_the_mode_is_chosen_by_the_terms_unless_listen_yaml_forces_one(srv: ReplayServer, mode: str, terms: int,
                                                                       firehose: bool) -> None:
    queries = [f"term{n}" for n in range(terms)]
    bluesky = make_bluesky(srv, mode=mode)
    if terms == 1:
        bluesky.fetch(queries[0], None, budget())
    else:
        bluesky.fetch_many(queries, {}, budget())
    assert (SUBSCRIBE in paths(srv), paths(srv).count(SEARCH)) == (firehose, 0 if firehose else terms)
    assert firehose_chosen({"mode": mode}, terms) is firehose
    assert SPEC.requests_per_poll is not None
    assert SPEC.requests_per_poll({"mode": mode}, queries, terms) == (1 if firehose else terms)


def test_make_check_says_which_way_bluesky_is_read() -> None:
    assert poll_mode({}, TERMS) == (f"reads the Jetstream firehose, one connection a poll (from "
                                    f"{FIREHOSE_FROM_TERMS} terms up; one search a term below)")
    assert poll_mode({}, TERMS[:2]) == (f"one searchPosts request a term (the firehose from {FIREHOSE_FROM_TERMS} "
                                        "terms up)")
    assert poll_mode({"mode": "search"}, TERMS) == "one searchPosts request a term (as listen.yaml's mode asks)"


@pytest.mark.parametrize(("field", "value", "words"), [
    ("mode", "stream", "'auto', 'search' or 'firehose'"),
    ("jetstream_url", "https://jetstream2.us-east.bsky.network/subscribe", "must be a ws:// or wss:// URL"),
    ("firehose_from_terms", 1, "greater than or equal to 2"),
])
def test_a_bad_firehose_option_is_refused_in_words_naming_it(field: str, value: Any, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        BlueskyOptions(**{field: value})
    assert field in str(err.value) and words in str(err.value)


def test_the_next_cycle_reads_from_the_cursor_and_returns_nothing_twice(srv: ReplayServer, api: BlueskyAPI) -> None:
    global NOW
    srv.add_items("bluesky", posts(3))
    bluesky = make_bluesky(srv)
    first = bluesky.fetch_many(TERMS, {}, budget())
    assert len(first["bean there"].mentions) == 3
    cursors = {term: result.cursor for term, result in first.items()}
    srv.add_items("bluesky", [post_view(NOW - 5, "late Bean There post", did="did:plc:late1", clock_id=9)])
    second = bluesky.fetch_many(TERMS, cursors, budget())
    assert mentions(second) == {"bean there": ["late Bean There post"]}
    subscribes = [r for r in srv.received["bluesky"] if r.path == SUBSCRIBE]
    assert subscribes[1].param("cursor") == str(cursors["bean there"]["time_us"] - 1_000_000)  # the overlap
    third = bluesky.fetch_many(TERMS, {t: r.cursor for t, r in second.items()}, budget())
    assert mentions(third) == {}


def test_a_refused_connection_is_said_and_keeps_the_cursor(srv: ReplayServer) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    bluesky = make_bluesky(srv, jetstream_url=f"ws://127.0.0.1:{port}/subscribe")
    with pytest.raises(Unavailable) as err:
        bluesky.fetch_many(TERMS, {}, budget())
    assert f"Jetstream at 127.0.0.1:{port} could not be reached" in str(err.value)
    assert "the next cycle starts from the same cursor" in str(err.value)
    srv.inject("bluesky", Fault(status=503, body=b"busy"))
    with pytest.raises(Unavailable, match="HTTP 503"):
        make_bluesky(srv).fetch_many(TERMS, {}, budget())


def test_a_connection_closed_mid_stream_keeps_what_was_read_and_the_next_cycle_reads_the_rest(
        srv: ReplayServer, api: BlueskyAPI, caplog: pytest.LogCaptureFixture) -> None:
    srv.add_items("bluesky", posts(4))
    api.abort_after = 2
    bluesky = make_bluesky(srv)
    first = bluesky.fetch_many(TERMS, {}, budget())
    assert mentions(first) == {"bean there": ["post 0 about Bean There", "post 1 about Bean There"]}
    assert not first["bean there"].complete
    assert first["bean there"].cursor["time_us"] == int((NOW - 300 + 10 + 1) * 1e6)  # post 1, the last read
    assert "Jetstream closed the connection" in caplog.text
    api.abort_after = None
    second = bluesky.fetch_many(TERMS, {t: r.cursor for t, r in first.items()}, budget())
    assert mentions(second) == {"bean there": ["post 2 about Bean There", "post 3 about Bean There"]}
    assert second["bean there"].complete


def test_a_cursor_older_than_the_replay_window_says_how_much_may_be_missed(srv: ReplayServer) -> None:
    srv.add_items("bluesky", posts(1))
    old = {"time_us": int((NOW - 40 * 3600) * 1e6), "seen": {}}
    results = make_bluesky(srv).fetch_many(TERMS, dict.fromkeys(TERMS, old), budget())
    window_start = NOW - REPLAY_WINDOW_SECONDS + 60
    assert results["bean there"].skipped == [
        "Jetstream replays the last 36 hours only: posts from "
        f"{_iso(NOW - 40 * 3600)} to {_iso(window_start)} (4.0 hours) may have been missed"]
    (subscribe,) = [r for r in srv.received["bluesky"] if r.path == SUBSCRIBE]
    assert subscribe.param("cursor") == str(int(window_start * 1e6) - 1_000_000)
    assert mentions(results) == {"bean there": ["post 0 about Bean There"]}


def test_a_malformed_event_is_skipped_alone_with_its_reason(srv: ReplayServer, api: BlueskyAPI) -> None:
    srv.add_items("bluesky", posts(2))
    at = int((NOW - 250) * 1e6)
    no_rkey = {"did": "did:plc:x1", "time_us": at + 1, "kind": "commit",
               "commit": {"operation": "create", "collection": "app.bsky.feed.post", "cid": "bafyreiabcdefghij",
                          "record": {"text": "Bean There"}}}
    api.jetstream_frames = [(at, "{not json"), (at + 1, json.dumps(no_rkey)),
                            (at + 2, json.dumps({"did": "did:plc:x1", "time_us": at + 2, "kind": "bogus"}))]
    results = make_bluesky(srv).fetch_many(TERMS, {}, budget())
    assert mentions(results) == {"bean there": ["post 0 about Bean There", "post 1 about Bean There"]}
    assert results["bean there"].skipped == [
        f"Jetstream event after time_us {int((NOW - 300 + 10 + 1) * 1e6)} is not JSON",
        f"Jetstream event at time_us {at + 1}: commit.rkey is not a record key",
        f"Jetstream event at time_us {at + 2}: unknown kind 'bogus'"]


def test_a_byte_budget_stops_the_read_and_the_next_cycles_go_on_from_the_cursor(srv: ReplayServer) -> None:
    srv.add_items("bluesky", posts(5))
    bluesky = make_bluesky(srv, firehose_max_mib=1000 / 2**20)  # about two events a cycle
    seen: list[str] = []
    cursors: dict[str, Any] = {}
    for _ in range(5):
        results = bluesky.fetch_many(TERMS, cursors, budget())
        seen += [m.text for m in results["bean there"].mentions]
        cursors = {t: r.cursor for t, r in results.items()}
        if results["bean there"].complete:
            break
    assert seen == [f"post {n} about Bean There" for n in range(5)]
    assert len([p for p in paths(srv) if p == SUBSCRIBE]) > 1


def test_a_time_budget_spent_reads_nothing_new_and_loses_nothing(srv: ReplayServer) -> None:
    srv.add_items("bluesky", posts(2))
    bluesky = make_bluesky(srv)
    spent = bluesky.fetch_many(TERMS, {}, Budget(deadline=time.monotonic() + 0.05, clock=_after_first_call()))
    assert not spent["bean there"].complete and spent["bean there"].mentions == []
    again = bluesky.fetch_many(TERMS, {t: r.cursor for t, r in spent.items()}, budget())
    assert len(again["bean there"].mentions) == 2


def test_either_mode_takes_the_other_s_cursor(srv: ReplayServer) -> None:
    srv.add_items("bluesky", posts(2))
    search_cursor = {"since": _iso(NOW - 305), "seen": {}}
    bluesky = make_bluesky(srv)
    results = bluesky.fetch_many(TERMS, dict.fromkeys(TERMS, search_cursor), budget())
    assert len(results["bean there"].mentions) == 2
    (subscribe,) = [r for r in srv.received["bluesky"] if r.path == SUBSCRIBE]
    assert subscribe.param("cursor") == str(int((NOW - 305) * 1e6) - 1_000_000)
    back = bluesky.fetch("bean there", results["bean there"].cursor, budget())  # one term: a search again
    # The search re-reads its overlap minute: the posts the firehose read in its last second are
    # remembered; an older one may come again (the store keeps a mention once).
    assert [m.text for m in back.mentions] == ["post 0 about Bean There"]
    (search,) = [r for r in srv.received["bluesky"] if r.path == SEARCH]
    assert search.param("since") == _iso(results["bean there"].cursor["time_us"] / 1e6 - 60)


def test_a_post_whose_author_has_no_profile_is_named_by_its_did(srv: ReplayServer, api: BlueskyAPI) -> None:
    at = int((NOW - 30) * 1e6)
    event = {"did": "did:plc:gone7", "time_us": at, "kind": "commit",
             "commit": {"rev": "3mmoojpaqkn2z", "operation": "create", "collection": "app.bsky.feed.post",
                        "rkey": "3mmoojp4cd223", "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzfys72r5grvskxoswy4",
                        "record": {"$type": "app.bsky.feed.post", "createdAt": _iso(NOW - 31), "text": "Bean There!"}}}
    api.jetstream_frames = [(at, json.dumps(event))]
    (mention,) = make_bluesky(srv).fetch_many(TERMS, {}, budget())["bean there"].mentions
    assert (mention.author_handle, mention.url) == (
        "did:plc:gone7", "https://bsky.app/profile/did%3Aplc%3Agone7/post/3mmoojp4cd223")


def test_the_websocket_client_is_imported_only_when_the_firehose_is_read() -> None:
    code = "import sys, chalicelib.networks.bluesky.source, chalicelib.runtime; print('websockets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert out.stdout.strip() == "False"


def _iso(unix: float) -> str:
    from chalicelib.networks.bluesky.source import _iso as iso

    return iso(unix)


def _after_first_call() -> Any:
    """A budget clock that has time to open the connection and none after it."""
    calls = iter(range(10**6))

    def clock() -> float:
        return time.monotonic() + (0 if next(calls) < 1 else 3600)

    return clock


LISTEN = """\
business: {{name: Bean There Café}}
rules:
  - name: brand
    group: brand
    keywords: [{keywords}]
networks:
  bluesky: {{handle_parameter: /h, app_password_parameter: /p{extra}}}
recipients:
  - {{name: Maria, email: maria@beanthere.example}}
alerts: {{from_address: alerts@beanthere.example, action_base_url: "http://127.0.0.1:8000"}}
secrets: {{signing_key_parameter: /k}}
"""


@pytest.mark.parametrize(("terms", "words"), [
    (2, "Bluesky: every minute for your 2 terms (2 requests a poll); one searchPosts request a term (the firehose "
        f"from {FIREHOSE_FROM_TERMS} terms up)"),
    (100, "Bluesky: every minute for your 100 terms (1 request a poll); reads the Jetstream firehose, one connection "
          f"a poll (from {FIREHOSE_FROM_TERMS} terms up; one search a term below)"),
])
def test_make_check_s_bluesky_line_says_the_mode_for_the_terms(terms: int, words: str) -> None:
    from chalicelib.config import parse_config
    from chalicelib.sources.limits import statements

    keywords = ", ".join(f"beanthere{n:03d}" for n in range(terms))
    assert statements(parse_config(LISTEN.format(keywords=keywords, extra=""), "listen.yaml")) == [words]


def test_a_bad_mode_in_listen_yaml_is_said_with_the_field_and_the_allowed_values() -> None:
    from chalicelib.config import ConfigError, parse_config

    with pytest.raises(ConfigError) as err:
        parse_config(LISTEN.format(keywords="bean", extra=", mode: stream"), "listen.yaml")
    (problem,) = err.value.problems
    assert "networks.bluesky.mode" in problem and "'auto', 'search' or 'firehose'" in problem


def test_make_cost_prices_the_firehose_s_lambda_time_and_says_whether_it_changes_the_bill() -> None:
    from offline.cost import LAMBDA_FREE_GB_S, PRICES, bluesky_firehose_lambda, poll_memory_mb

    mb = poll_memory_mb()
    figures = dict(bluesky_firehose_lambda({"cpu_seconds": 0.1}))
    seconds = 0.5 + 0.1 * 1769 / mb  # the connection's wait, and the CPU at the poll's share of a vCPU
    assert figures["bluesky_firehose_lambda_gb_s_per_month"] == round(43_200 * seconds * mb / 1024)
    assert figures["bluesky_firehose_lambda_usd_without_free_tier"] == round(
        43_200 * seconds * mb / 1024 * PRICES["lambda_gb_second"], 3)
    assert figures["bluesky_firehose_changes_the_bill"] == 0
    busy = (LAMBDA_FREE_GB_S / 43_200 / (mb / 1024) - 0.5) * mb / 1769 + 0.01  # just past the free tier
    assert dict(bluesky_firehose_lambda({"cpu_seconds": busy}))["bluesky_firehose_changes_the_bill"] == 1


def test_an_event_larger_than_the_reader_takes_is_left_out_by_the_server_and_never_stalls_the_cursor(
        srv: ReplayServer, api: BlueskyAPI) -> None:
    srv.add_items("bluesky", posts(2))
    at = int((NOW - 250) * 1e6)
    huge = {"did": "did:plc:big1", "time_us": at, "kind": "commit",
            "commit": {"rev": "3mmoojpaqkn2z", "operation": "create", "collection": "app.bsky.feed.post",
                       "rkey": "3mmoojp4cd223", "cid": "bafyreicl7rzkxdrm4zz2ehbx52kuk3mvfow6p3gzfys72r5grvskxoswy4",
                       "record": {"text": "Bean There " + "x" * (1 << 20)}}}
    api.jetstream_frames = [(at, json.dumps(huge))]
    results = make_bluesky(srv).fetch_many(TERMS, {}, budget())
    assert mentions(results) == {"bean there": ["post 0 about Bean There", "post 1 about Bean There"]}
    assert results["bean there"].complete


def test_a_cycle_whose_firehose_cursor_moved_writes_one_small_task_state_item_at_any_number_of_terms(
        srv: ReplayServer) -> None:
    """Through the cycle's own steps (fetch_all, then advance after the store): every term gets the firehose's
    new cursor each minute, and the stored task states change in the interval's shared item alone."""
    terms = [*TERMS, *(f"brand term {n}" for n in range(300))]
    tasks = [Task("bluesky", term, 60.0) for term in terms]
    store = MemoryStore(clock=lambda: NOW)
    cycle = SimpleNamespace(store=store)
    sources = {"bluesky": make_bluesky(srv)}
    for minute in range(4):
        srv.add_items("bluesky", [post_view(NOW - 40 + 10 * minute, f"Bean There, minute {minute}", clock_id=minute)])
        before = dict(store._task_items)
        states = store.get_task_states(["bluesky"])
        results, errors = fetch_all(sources, tasks, states, 30)
        assert errors == {} and len({json.dumps(r.cursor) for r in results.values()}) == 1
        advance(cycle, tasks, results, states, ran=NOW + 60 * minute, last_runs={})  # type: ignore[arg-type]
        changed = {group for (_, group), body in store._task_items.items() if before.get(("bluesky", group)) != body}
        if minute > 0:
            assert changed == {"60#shared"} and len(store._task_items[("bluesky", "60#shared")]) < 300
        stored = store.get_task_states(["bluesky"])["bluesky"]
        assert {t: (s.cursor, s.last_run) for t, s in stored.items()} == {
            task.query: (results[task].cursor, NOW + 60 * minute) for task in tasks}

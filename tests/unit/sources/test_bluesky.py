"""The Bluesky connector against the PDS emulation on the replay server."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.networks.bluesky.emulator import BlueskyAPI, post_view
from chalicelib.networks.bluesky.source import Bluesky, BlueskyOptions
from chalicelib.sources.base import Budget, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import secrets as lookup_in
from tests.conftest import MemoryState

NOW = int(time.time())
SECRETS = {"/listen/bluesky/handle": "beanthere.bsky.social", "/listen/bluesky/app_password": "abcd-efgh-ijkl-mnop"}
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"bluesky": BlueskyAPI()}) as server:
        yield server


@pytest.fixture
def api() -> BlueskyAPI:
    return BlueskyAPI()


@pytest.fixture
def srv(module_srv: ReplayServer, api: BlueskyAPI) -> ReplayServer:
    """The module's server with a fresh emulation, no items, faults or recorded requests."""
    module_srv.reset()
    module_srv.apis["bluesky"] = api
    return module_srv


def make_bluesky(srv: ReplayServer, state: MemoryState | None = None, secrets: dict[str, str] | None = None,
                 **options: Any) -> Bluesky:
    opts = BlueskyOptions(base_url=srv.base_url("bluesky"), handle_parameter="/listen/bluesky/handle",
                          app_password_parameter="/listen/bluesky/app_password", **options)
    table = SECRETS if secrets is None else secrets

    return Bluesky(opts, http=HttpClient("bluesky", timeout=opts.timeout_seconds, sleep=lambda s: None),
                   secrets=lookup_in(table), state=state if state is not None else MemoryState())


def paths(srv: ReplayServer, path: str) -> list[Any]:
    return [r for r in srv.received["bluesky"] if r.path == path]


def test_search_sends_the_documented_request_with_the_session_token(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 60, "Bean There Café rocks")])
    make_bluesky(srv).fetch("bean there", None, budget)

    [login] = paths(srv, CREATE)
    assert json.loads(login.body) == {"identifier": "beanthere.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
    [search] = paths(srv, SEARCH)
    assert [k for k, _ in search.query] == ["q", "sort", "since", "limit"]
    assert (search.param("q"), search.param("sort"), search.param("limit")) == ("bean there", "latest", "100")
    since = dt.datetime.fromisoformat(search.param("since") or "").timestamp()
    assert since == pytest.approx(time.time() - 86400, abs=10)
    assert search.headers["authorization"].startswith("Bearer ey")


def test_two_pages_are_followed_and_the_cursor_advances(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 600 + n, f"coffee {n}", clock_id=n) for n in range(1, 6)])
    result = make_bluesky(srv, limit=3).fetch("coffee", None, budget)

    assert [r.param("cursor") for r in paths(srv, SEARCH)] == [None, "3"]
    assert sorted(m.text for m in result.mentions) == [f"coffee {n}" for n in range(1, 6)]
    assert (result.pages, result.complete) == (2, True)
    newest = NOW - 595 + 1  # createdAt NOW-595, indexed a second later: sortAt is the createdAt
    assert result.cursor["since"] == dt.datetime.fromtimestamp(newest - 1 - 60, tz=dt.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    assert len(result.cursor["seen"]) == 5


def test_late_indexed_post_with_an_older_sort_time_is_still_found(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 100, "coffee first")])
    bsky = make_bluesky(srv)
    first = bsky.fetch("coffee", None, budget)
    srv.add_items("bluesky", [post_view(NOW - 130, "coffee late", indexed_delay=40)])
    second = bsky.fetch("coffee", first.cursor, budget)
    assert [m.text for m in second.mentions] == ["coffee late"]


def test_first_run_fetches_only_the_last_24_hours(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 30 * 3600, "old coffee"), post_view(NOW - 3600, "new coffee")])
    result = make_bluesky(srv).fetch("coffee", None, budget)
    assert [m.text for m in result.mentions] == ["new coffee"]


def test_page_limit_leaves_a_gap_that_the_next_cycle_reads(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 600 + n, f"coffee {n}", clock_id=n) for n in range(1, 6)])
    bsky = make_bluesky(srv, limit=2, max_pages=1)
    results = [bsky.fetch("coffee", None, budget)]
    while not results[-1].complete and len(results) < 6:
        results.append(bsky.fetch("coffee", results[-1].cursor, budget))
    after = bsky.fetch("coffee", results[-1].cursor, budget)
    # Each gap page re-reads the post at its exclusive `until` edge (dropped by uri): 4 cycles for 5 posts.
    assert [r.complete for r in results] == [False, False, False, True]
    assert sorted(m.text for r in results for m in r.mentions) == [f"coffee {n}" for n in range(1, 6)]
    assert "gap" not in results[-1].cursor
    assert after.mentions == []


def test_two_fetches_in_a_row_create_exactly_one_session(srv: ReplayServer, budget: Budget) -> None:
    state = MemoryState()
    first = make_bluesky(srv, state=state).fetch("coffee", None, budget)
    make_bluesky(srv, state=state).fetch("coffee", first.cursor, budget)  # a new Lambda: session from state
    assert len(paths(srv, CREATE)) == 1
    assert len(paths(srv, SEARCH)) == 2
    assert set(state.values[("bluesky", "session")]) == {"accessJwt", "refreshJwt", "did", "handle"}


def test_expired_access_token_is_refreshed_not_recreated(srv: ReplayServer, api: BlueskyAPI, budget: Budget) -> None:
    state = MemoryState()
    make_bluesky(srv, state=state).fetch("coffee", None, budget)
    old_session = dict(state.values[("bluesky", "session")])
    api.expire_access_tokens()
    make_bluesky(srv, state=state).fetch("coffee", None, budget)

    assert len(paths(srv, CREATE)) == 1
    [refresh] = paths(srv, REFRESH)
    assert refresh.headers["authorization"] == f"Bearer {old_session['refreshJwt']}"
    assert [r.path for r in srv.received["bluesky"]] == [CREATE, SEARCH, SEARCH, REFRESH, SEARCH]
    assert state.values[("bluesky", "session")]["accessJwt"] != old_session["accessJwt"]


def test_failed_refresh_falls_back_to_a_new_session(srv: ReplayServer, api: BlueskyAPI, budget: Budget) -> None:
    state = MemoryState()
    make_bluesky(srv, state=state).fetch("coffee", None, budget)
    api.expire_access_tokens()
    api.expire_refresh_tokens()
    make_bluesky(srv, state=state).fetch("coffee", None, budget)
    assert [r.path for r in srv.received["bluesky"]] == [CREATE, SEARCH, SEARCH, REFRESH, CREATE, SEARCH]


def test_create_session_limit_is_rate_limited_until_reset(srv: ReplayServer, budget: Budget) -> None:
    reset = int(time.time()) + 200
    srv.inject("bluesky", Fault(status=429, headers={"ratelimit-limit": "30", "ratelimit-remaining": "0",
                                                      "ratelimit-reset": str(reset), "ratelimit-policy": "30;w=300"},
                                body=b'{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}'))
    with pytest.raises(RateLimited) as err:
        make_bluesky(srv).fetch("coffee", None, budget)
    assert err.value.retry_after == pytest.approx(200, abs=3)


def test_remaining_zero_stops_before_the_next_request(srv: ReplayServer, budget: Budget) -> None:
    reset = int(time.time()) + 90
    body = json.dumps({"posts": [post_view(NOW - 60, "coffee")], "cursor": "1"}).encode()
    srv.inject("bluesky", Fault(passthrough=True), Fault(status=200, body=body, headers={
        "ratelimit-remaining": "0", "ratelimit-reset": str(reset), "Content-Type": "application/json"}))
    with pytest.raises(RateLimited) as err:
        make_bluesky(srv).fetch("coffee", None, budget)
    assert err.value.retry_after == pytest.approx(90, abs=3)
    assert len(paths(srv, SEARCH)) == 1


def test_post_is_normalized_with_unicode_emoji_links_tags_and_thread(srv: ReplayServer, budget: Budget) -> None:
    root = post_view(NOW - 120, "Where to get coffee in Lisbon?", handle="rui.bsky.social", did="did:plc:rui7")
    reply = post_view(NOW - 60, "Bean There Café ☕ &amp; pastéis 🎉 https://beanthere.example #coffee",
                      handle="marta.bsky.social", did="did:plc:marta2", display_name="Marta 🌸", langs=("pt",),
                      like_count=7, reply_to=root, links=("https://beanthere.example",), tags=("coffee",))
    srv.add_items("bluesky", [reply])
    [mention] = make_bluesky(srv).fetch("bean", None, budget).mentions

    rkey = reply["uri"].rsplit("/", 1)[1]
    # Bluesky text is plain: an "&amp;" is what the author typed.
    assert mention.text == "Bean There Café ☕ &amp; pastéis 🎉 https://beanthere.example #coffee"
    assert mention.native_id == reply["uri"]
    assert mention.url == f"https://bsky.app/profile/marta.bsky.social/post/{rkey}"
    assert (mention.author_handle, mention.author_name) == ("marta.bsky.social", "Marta 🌸")
    assert mention.author_url == "https://bsky.app/profile/marta.bsky.social"
    assert (mention.kind, mention.lang, mention.reach) == ("comment", "pt", 7)
    assert mention.links == ("https://beanthere.example",)
    assert mention.tags == ("coffee",)
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC)
    assert mention.thread == {"uri": reply["uri"], "cid": reply["cid"], "root_uri": root["uri"],
                              "root_cid": root["cid"], "parent_uri": root["uri"], "parent_cid": root["cid"]}


def test_invalid_handle_links_the_profile_by_did(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 60, "coffee", handle="handle.invalid", did="did:plc:abc123")])
    [mention] = make_bluesky(srv).fetch("coffee", None, budget).mentions
    assert mention.url.startswith("https://bsky.app/profile/did%3Aplc%3Aabc123/post/")
    assert mention.author_handle == "did:plc:abc123"


def test_post_uri_with_unsafe_characters_skips_that_post_alone(srv: ReplayServer, budget: Budget) -> None:
    item = post_view(NOW - 60, "coffee")
    item["uri"] = "at://did:plc:abc/app.bsky.feed.post/../../evil?x=1"
    srv.add_items("bluesky", [item, post_view(NOW - 50, "good coffee")])
    result = make_bluesky(srv).fetch("coffee", None, budget)
    assert [m.text for m in result.mentions] == ["good coffee"]
    assert result.skipped == ["posts[1].uri is not an app.bsky.feed.post at:// uri"]


# --- issue 11: defects 7 and 9 -------------------------------------------------------------


def test_a_post_from_the_future_is_kept_but_the_watermark_stays_at_now(srv: ReplayServer, budget: Budget) -> None:
    """Defect 7: a post whose createdAt and indexedAt claim next year would move ``since``
    past now, and every real post until then would be lost."""
    year = 365 * 86400
    srv.add_items("bluesky", [post_view(NOW - 60, "coffee now"), post_view(NOW + year, "coffee in a year")])
    bsky = make_bluesky(srv)
    first = bsky.fetch("coffee", None, budget)
    assert {m.text: m.created_at.timestamp() for m in first.mentions} == pytest.approx(
        {"coffee now": NOW - 60 + 0.0, "coffee in a year": NOW + year + 0.0}, abs=0.01)
    since = dt.datetime.fromisoformat(first.cursor["since"]).timestamp()
    assert since <= time.time()
    srv.add_items("bluesky", [post_view(time.time() + 1, "coffee later")])
    second = bsky.fetch("coffee", first.cursor, budget)
    assert [m.text for m in second.mentions] == ["coffee later"]


def test_a_watermark_stored_in_the_future_is_pulled_back_to_now(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("bluesky", [post_view(NOW - 30, "coffee recent")])
    cursor = {"since": "2031-01-01T00:00:00.000Z", "seen": {}}
    result = make_bluesky(srv).fetch("coffee", cursor, budget)
    [search] = paths(srv, SEARCH)
    assert dt.datetime.fromisoformat(search.param("since") or "").timestamp() == pytest.approx(time.time(), abs=10)
    assert result.cursor["since"] < "2031"



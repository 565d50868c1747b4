"""The Reddit connector against the Reddit emulation on the replay server."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks.reddit.emulator import RedditAPI, comment, post
from chalicelib.networks.reddit.source import Reddit, RedditOptions
from chalicelib.sources.base import (
    Budget,
    CredentialsError,
    RateLimited,
    SourceError,
)
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import secrets as lookup_in
from tests.conftest import MemoryState

UA = "python:bean-there-listening:0.1 (by /u/beanthere)"
SECRETS = {
    "/listen/reddit/client_id": "app-client-id",
    "/listen/reddit/client_secret": "app-client-secret",
    "/listen/reddit/username": "beanthere",
    "/listen/reddit/password": "hunter2",
}
NOW = int(time.time())


@pytest.fixture
def api() -> RedditAPI:
    return RedditAPI()


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"reddit": RedditAPI()}) as server:
        yield server


@pytest.fixture
def srv(module_srv: ReplayServer, api: RedditAPI) -> ReplayServer:
    """The module's server with a fresh emulation, no items, faults or recorded requests."""
    module_srv.reset()
    module_srv.apis["reddit"] = api
    return module_srv


def make_reddit(srv: ReplayServer, state: MemoryState | None = None, secrets: dict[str, str] | None = None,
                **options: Any) -> Reddit:
    base = srv.base_url("reddit")
    opts = RedditOptions(
        base_url=base, auth_base_url=base, user_agent=UA,
        client_id_parameter="/listen/reddit/client_id", client_secret_parameter="/listen/reddit/client_secret",
        username_parameter="/listen/reddit/username", password_parameter="/listen/reddit/password",
        **options,
    )
    table = SECRETS if secrets is None else secrets

    return Reddit(opts, http=HttpClient("reddit", timeout=opts.timeout_seconds, sleep=lambda s: None),
                  secrets=lookup_in(table), state=state if state is not None else MemoryState())


def api_requests(srv: ReplayServer, path_start: str = "/") -> list[Any]:
    return [r for r in srv.received["reddit"] if r.path.startswith(path_start) and r.path != "/api/v1/access_token"]


def token_requests(srv: ReplayServer) -> list[Any]:
    return [r for r in srv.received["reddit"] if r.path == "/api/v1/access_token"]


def test_search_sends_the_documented_parameters_token_and_user_agent(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(1, NOW - 60, "Bean There Café is lovely")])
    make_reddit(srv).fetch("bean there", None, budget)

    login = token_requests(srv)[0]
    assert login.method == "POST"
    basic = base64.b64encode(b"app-client-id:app-client-secret").decode()
    assert login.headers["authorization"] == f"Basic {basic}"
    assert login.body == b"grant_type=password&username=beanthere&password=hunter2"
    search = api_requests(srv)[0]
    assert search.path == "/search"
    assert search.query == [("q", "bean there"), ("sort", "new"), ("t", "day"), ("type", "link"),
                            ("limit", "100"), ("raw_json", "1")]
    assert search.headers["authorization"].startswith("bearer ")
    assert search.headers["user-agent"] == UA


def test_two_pages_are_followed_with_after_and_the_cursor_advances(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(n, NOW - 600 + n, f"coffee post {n}") for n in range(1, 6)])
    result = make_reddit(srv, limit=3).fetch("coffee", None, budget)

    assert sorted(m.native_id for m in result.mentions) == ["t3_1", "t3_2", "t3_3", "t3_4", "t3_5"]
    assert result.pages == 2
    assert result.complete is True
    assert [r.param("after") for r in api_requests(srv)] == [None, "t3_3"]
    assert result.cursor == {"created_utc": float(NOW - 595), "ids": ["t3_5"]}


def test_first_run_fetches_only_the_last_24_hours(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(1, NOW - 30 * 3600, "old coffee"), post(2, NOW - 3600, "new coffee")])
    result = make_reddit(srv).fetch("coffee", None, budget)
    assert [m.native_id for m in result.mentions] == ["t3_2"]


def test_page_limit_leaves_a_gap_that_the_next_cycle_reads(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(n, NOW - 600 + n, f"coffee {n}") for n in range(1, 6)])
    reddit = make_reddit(srv, limit=2, max_pages=1)
    first = reddit.fetch("coffee", None, budget)
    second = reddit.fetch("coffee", first.cursor, budget)
    third = reddit.fetch("coffee", second.cursor, budget)

    assert (first.complete, second.complete, third.complete) == (False, False, True)
    seen = [m.native_id for r in (first, second, third) for m in r.mentions]
    assert sorted(seen) == ["t3_1", "t3_2", "t3_3", "t3_4", "t3_5"]
    assert "gap" not in third.cursor


def test_stream_reads_new_posts_and_comments_of_the_subreddits(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [
        post(1, NOW - 100, "A post in lisbon", subreddit="lisbon"),
        post(2, NOW - 90, "A post elsewhere", subreddit="pics"),
        comment(3, NOW - 80, "A comment", link_number=1, subreddit="Coffee", parent="t1_9"),
    ])
    reddit = make_reddit(srv, subreddits=["lisbon", "r/Coffee"])
    first = reddit.fetch("*", None, budget)
    second = reddit.fetch("*", first.cursor, budget)

    assert [r.path for r in api_requests(srv)][:2] == ["/r/lisbon+Coffee/new", "/r/lisbon+Coffee/comments"]
    assert [(m.native_id, m.kind) for m in first.mentions] == [("t3_1", "post"), ("t1_3", "comment")]
    assert first.mentions[1].thread == {"fullname": "t1_3", "link_id": "t3_1", "parent_id": "t1_9"}
    assert first.mentions[1].url == "https://www.reddit.com/r/Coffee/comments/1/comment/3/"
    assert second.mentions == []


def test_post_is_normalized_with_unicode_emoji_and_literal_ampersands(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(46, NOW - 60, "Café ☕ & pastéis <3", selftext="Bean There Café rocks 🎉 &amp; more",
                                  author="lx_local", score=42, url="https://beanthere.example/menu")])
    [mention] = make_reddit(srv).fetch("café", None, budget).mentions

    assert mention.title == "Café ☕ & pastéis <3"
    assert mention.text == "Bean There Café rocks 🎉 &amp; more"  # raw_json=1: what the author typed
    assert mention.url == "https://www.reddit.com/r/lisbon/comments/1a/café_pastéis_3/"  # Reddit's own slug
    assert mention.author_handle == "lx_local"
    assert mention.author_url == "https://www.reddit.com/user/lx_local"
    assert mention.reach == 42
    assert mention.community == "lisbon"
    assert mention.links == ("https://beanthere.example/menu",)
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC)
    assert mention.thread == {"fullname": "t3_1a"}


def test_real_permalink_shapes_are_read_profile_subreddits_and_unicode_slugs(srv: ReplayServer,
                                                                             budget: Budget) -> None:
    """Defect 1: profile subreddits (u_<user>, hyphens, over 21 characters), a legacy dotted
    subreddit and Unicode title slugs (Reddit keeps word characters of every script) are real
    permalinks; once one was refused the whole page was, and the cursor never moved."""
    srv.add_items("reddit", [
        post(1, NOW - 300, "커피 추천 coffee", subreddit="u_Some-Name-936"),
        post(2, NOW - 200, "Crème brûlée coffee à Lisboa", subreddit="lisbon"),
        post(3, NOW - 100, "हिन्दी coffee", subreddit="reddit.com"),
    ])
    result = make_reddit(srv).fetch("coffee", None, budget)

    assert [(m.url, m.community) for m in result.mentions] == [
        # title_to_url drops combining marks (vowel signs are not word characters): "हिन्दी" -> "हनद"
        ("https://www.reddit.com/r/reddit.com/comments/3/हनद_coffee/", "reddit.com"),
        ("https://www.reddit.com/r/lisbon/comments/2/crème_brûlée_coffee_à_lisboa/", "lisbon"),
        ("https://www.reddit.com/r/u_Some-Name-936/comments/1/커피_추천_coffee/", "u_Some-Name-936"),
    ]
    assert result.skipped == []
    assert result.cursor == {"created_utc": float(NOW - 100), "ids": ["t3_3"]}


@pytest.mark.parametrize("permalink", [
    "//evil.example/r/x/comments/1/",
    "https://evil.example/r/coffee/comments/1/x/",
    "/r/coffee/comments/1/../../../../evil/",
    "/r/../comments/1/x/",
    "/r/coffee/comments/1/slug/\n",
    "/r/coffee/comments/1/a b/",
    '/r/coffee/comments/1/"onmouseover=x/',
    "/r/coffee/comments/1/<script>/",
    "/r/coffee/comments/1/slug#frag",
    "/r/coffee/comments/1/slug/?q=<x>",
    "/r/coffee/comments/1/sl\\ug/",
    "/r/coffee/comments/1/sl\u0000ug/",
    "/user/x/comments/1/slug/",
])
def test_an_unsafe_permalink_skips_its_item_alone_and_the_cursor_moves_past_it(
        srv: ReplayServer, budget: Budget, permalink: str) -> None:
    bad = post(2, NOW - 30, "coffee bad")
    bad["data"]["permalink"] = permalink
    srv.add_items("reddit", [post(1, NOW - 60, "coffee good"), bad])
    result = make_reddit(srv).fetch("coffee", None, budget)

    assert [m.native_id for m in result.mentions] == ["t3_1"]
    assert result.skipped == ["children[0].permalink is not a /r/<subreddit>/comments/ permalink"]
    assert result.cursor == {"created_utc": float(NOW - 30), "ids": ["t3_2"]}


def test_a_future_dated_post_is_kept_but_does_not_move_the_cursor_past_now(srv: ReplayServer,
                                                                          budget: Budget) -> None:
    """Defect 7: a post claiming a date a year ahead is kept with that date; the watermark
    stays at the cycle's clock, so a post made a moment later is still found."""
    year_ahead = NOW + 366 * 86400
    srv.add_items("reddit", [post(1, year_ahead, "coffee from next year"), post(2, NOW - 20, "coffee good")])
    first = make_reddit(srv).fetch("coffee", None, budget)
    assert [(m.native_id, m.created_at) for m in first.mentions] == [
        ("t3_1", dt.datetime.fromtimestamp(year_ahead, tz=dt.UTC)),
        ("t3_2", dt.datetime.fromtimestamp(NOW - 20, tz=dt.UTC))]
    assert NOW <= first.cursor["created_utc"] <= time.time() and first.cursor["ids"] == ["t3_1"]
    srv.add_items("reddit", [post(3, first.cursor["created_utc"] + 0.5, "coffee a moment later")])
    second = make_reddit(srv).fetch("coffee", first.cursor, budget)
    assert "t3_3" in [m.native_id for m in second.mentions]


def test_two_fetches_in_a_row_log_in_once(srv: ReplayServer, budget: Budget) -> None:
    state = MemoryState()
    make_reddit(srv, state=state).fetch("coffee", None, budget)
    make_reddit(srv, state=state).fetch("coffee", None, budget)  # a new Lambda: token from state
    assert len(token_requests(srv)) == 1
    assert state.values[("reddit", "oauth")]["expires_at"] == pytest.approx(time.time() + 86400, abs=30)


def test_token_near_expiry_is_replaced_before_use(srv: ReplayServer, budget: Budget) -> None:
    state = MemoryState()
    state.put_state("reddit", "oauth", {"access_token": "old", "expires_at": time.time() + 30})
    make_reddit(srv, state=state).fetch("coffee", None, budget)
    assert len(token_requests(srv)) == 1
    assert state.values[("reddit", "oauth")]["access_token"] != "old"


def test_rejected_token_gets_one_new_login_and_retry(srv: ReplayServer, api: RedditAPI, budget: Budget) -> None:
    state = MemoryState()
    reddit = make_reddit(srv, state=state)
    reddit.fetch("coffee", None, budget)
    api.expire_tokens()
    reddit.fetch("coffee", None, budget)
    assert len(token_requests(srv)) == 2
    assert [r.path for r in api_requests(srv)] == ["/search", "/search", "/search"]


def test_token_rejected_twice_is_a_credentials_error(srv: ReplayServer, budget: Budget) -> None:
    srv.inject("reddit", Fault(passthrough=True), Fault(status=401), Fault(passthrough=True), Fault(status=401))
    with pytest.raises(CredentialsError, match=r"access token rejected \(HTTP 401\)"):
        make_reddit(srv).fetch("coffee", None, budget)


def test_wrong_client_secret_is_a_credentials_error(srv: ReplayServer, budget: Budget) -> None:
    secrets = {**SECRETS, "/listen/reddit/client_secret": "nope"}
    with pytest.raises(CredentialsError, match=r"client id or secret rejected \(HTTP 401\)"):
        make_reddit(srv, secrets=secrets).fetch("coffee", None, budget)


def test_used_up_allowance_stops_before_the_next_request(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(n, NOW - 600 + n, f"coffee {n}") for n in range(1, 4)])
    headers = {"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "1000", "x-ratelimit-reset": "123"}
    srv.inject("reddit", Fault(passthrough=True))
    body = {"kind": "Listing", "data": {"after": "t3_2", "children": [post(3, NOW - 597, "coffee 3")]}}
    srv.inject("reddit", Fault(status=200, headers=headers, body=json.dumps(body).encode()))
    reddit = make_reddit(srv, limit=1)
    with pytest.raises(RateLimited) as err:
        reddit.fetch("coffee", None, budget)
    assert err.value.retry_after == pytest.approx(123, abs=2)
    assert len(api_requests(srv)) == 1
    with pytest.raises(RateLimited):
        reddit.fetch("other", None, budget)
    assert len(api_requests(srv)) == 1


def test_whoa_there_pardner_page_says_the_network_blocked_us(srv: ReplayServer, budget: Budget) -> None:
    page = b"<html><body><h1>whoa there, pardner!</h1><p>Your request has been blocked.</p></body></html>"
    srv.inject("reddit", Fault(passthrough=True), Fault(status=403, headers={"Content-Type": "text/html"}, body=page))
    with pytest.raises(SourceError, match="blocked the request") as err:
        make_reddit(srv).fetch("coffee", None, budget)
    assert type(err.value) is SourceError


def test_user_agent_must_have_reddits_form() -> None:
    with pytest.raises(ValidationError, match=r"<platform>:<app ID>:<version> \(by /u/<reddit user>\)"):
        RedditOptions(user_agent="my-bot/1.0")
    assert RedditOptions(user_agent=UA).user_agent == UA


def test_subreddit_names_are_validated() -> None:
    with pytest.raises(ValidationError, match="is not a subreddit name"):
        RedditOptions(subreddits=["lisbon/../x"])


def test_several_terms_are_one_or_search_and_each_term_gets_the_groups_cursor(
    srv: ReplayServer, budget: Budget
) -> None:
    srv.add_items("reddit", [post(1, NOW - 300, "Bean There Café is lovely"), post(2, NOW - 200, "a rude refund"),
                             post(3, NOW - 100, "nothing to see")])
    results = make_reddit(srv).fetch_many(["bean there", "refund", "espresso"],
                                          {"bean there": None, "refund": None, "espresso": None}, budget)

    (search,) = api_requests(srv)
    assert search.param("q") == '"bean there" OR refund OR espresso'
    assert {term: [m.native_id for m in r.mentions] for term, r in results.items()} == {
        "bean there": ["t3_1"], "refund": ["t3_2"], "espresso": []}
    cursor = {"created_utc": float(NOW - 200), "ids": ["t3_2"]}
    assert [r.cursor for r in results.values()] == [cursor, cursor, cursor]


def test_terms_whose_cursors_differ_search_from_the_oldest_and_miss_nothing(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("reddit", [post(1, NOW - 900, "refund asked"), post(2, NOW - 100, "coffee good")])
    results = make_reddit(srv).fetch_many(
        ["coffee", "refund"],
        {"coffee": {"created_utc": float(NOW - 300), "ids": []},
         "refund": {"created_utc": float(NOW - 1000), "ids": []}},
        budget)
    assert sorted(m.native_id for r in results.values() for m in r.mentions) == ["t3_1", "t3_2"]


def test_terms_beyond_the_documented_query_length_go_in_another_search(srv: ReplayServer, budget: Budget) -> None:
    terms = [f"term number {n:03d} " + "x" * 80 for n in range(8)]  # ~100 characters each, quoted
    make_reddit(srv).fetch_many(terms, dict.fromkeys(terms), budget)
    queries = [r.param("q") for r in api_requests(srv)]
    assert [len(q) <= 512 for q in queries] == [True, True]
    assert sum(q.count(" OR ") + 1 for q in queries) == 8

"""The GitHub connector against the emulated /search/issues and GraphQL discussion search."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.networks.github.emulator import GitHubAPI, demo_items, discussion, issue
from chalicelib.networks.github.source import GitHub, GitHubOptions
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    CredentialsError,
    RateLimited,
    SourceError,
)
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState

NOW = 1_790_000_000  # 2026-09-21T14:13:20Z
API = GitHubAPI(valid_tokens={"ghp_good"}, clock=lambda: NOW)
SECRETS = {"/listen/github-token": "ghp_good"}


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"github": API}) as srv:
        API.public_base = srv.base_url("github")
        yield srv


@pytest.fixture
def srv(server: ReplayServer) -> ReplayServer:
    server.reset()
    API.windows.clear()
    return server


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 30)


def connector(srv: ReplayServer, *, now: float = NOW, state: MemoryState | None = None,
              secrets: dict[str, str] | None = None, **options: object) -> GitHub:
    opts = GitHubOptions(base_url=srv.base_url("github"), **options)  # type: ignore[arg-type]
    lookup = None if secrets is None else secrets.__getitem__
    http = HttpClient("github", timeout=opts.timeout_seconds, sleep=lambda s: None)
    return GitHub(opts, http=http, secrets=lookup, state=state, clock=lambda: now)


def authed(srv: ReplayServer, **options: object) -> GitHub:
    return connector(srv, token_parameter="/listen/github-token", secrets=SECRETS, **options)  # type: ignore[arg-type]


def coffee_issues(count: int, newest: int) -> list[dict]:
    return [issue(500 + i, 10 + i, "beanthere/shop", newest - i * 10, f"Espresso issue {i}", "espresso grind")
            for i in range(count)]


def iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_two_pages_followed_by_link_and_cursor_advanced(srv: ReplayServer) -> None:
    srv.add_items("github", coffee_issues(5, NOW - 100))
    result = authed(srv, per_page=3).fetch("espresso", None, budget())
    assert [m.native_id for m in result.mentions] == [str(500 + i) for i in range(5)]
    assert result.pages == 2 and result.complete
    assert [r.param("page") for r in srv.received["github"]] == [None, "2"]
    assert result.cursor == {"issues": {"created": NOW - 100, "ids": ["500"]}}


def test_exact_request_parameters_and_headers(srv: ReplayServer) -> None:
    authed(srv).fetch("cold brew", None, budget())
    [request] = srv.received["github"]
    assert request.path == "/search/issues"
    assert request.query == [("q", f'"cold brew" created:>={iso(NOW - 86400)} (is:issue OR is:pull-request)'),
                             ("sort", "created"), ("order", "desc"), ("per_page", "100"), ("advanced_search", "true")]
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["authorization"] == "Bearer ghp_good"


def test_every_search_names_its_types_and_a_refusal_is_said_in_words(srv: ReplayServer) -> None:
    """Defect 2: GitHub answers 422 "Query must include 'is:issue' or 'is:pull-request'" for an
    issue search without a type. One search names both; a refusal is said in GitHub's own
    words (reduced to plain characters)."""
    srv.add_items("github", [issue(1, 1, "a/b", NOW - 50, "espresso issue", ""),
                             issue(2, 2, "a/b", NOW - 40, "espresso pull", "", pull=True)])
    result = authed(srv).fetch("espresso", None, budget())
    assert [(m.native_id, m.thread["kind"]) for m in result.mentions] == [("2", "pull"), ("1", "issue")]
    assert [r.param("q").split(" ", 2)[2] for r in srv.received["github"]] == ["(is:issue OR is:pull-request)"]

    srv.inject("github", Fault(status=422, body=json.dumps({
        "message": "Validation Failed", "errors": [{"message": "Query must include 'is:issue' or 'is:pull-request'",
                                                    "resource": "Search", "field": "q", "code": "invalid"}],
        "documentation_url": "https://docs.github.com/rest/search/search#search-issues-and-pull-requests",
        "status": "422"}).encode()), Fault(status=422, body=b'{"message": "Query must include is:issue"}'))
    with pytest.raises(SourceError) as err:
        authed(srv).fetch("espresso", None, budget())
    assert str(err.value) == "github: search query refused (HTTP 422): Query must include is:issue"
    srv.inject("github", Fault(status=422, body=rb'{"message": "<b>Bad</b> query\u202e", "status": "422"}'))
    with pytest.raises(SourceError) as err:
        authed(srv).fetch("espresso", None, budget())
    assert str(err.value) == "github: search query refused (HTTP 422): bBadb query"


def test_a_token_refused_both_types_at_once_searches_each_type_from_then_on(srv: ReplayServer) -> None:
    """GitHub App user tokens may not combine issues and pull requests in one search (422):
    the connector switches to one search per type, remembers it, and loses nothing."""
    typed_only = GitHubAPI(valid_tokens={"ghp_good"}, clock=lambda: NOW, refuse_combined=True)
    srv.apis["github"] = typed_only
    try:
        srv.add_items("github", [issue(1, 1, "a/b", NOW - 50, "espresso issue", ""),
                                 issue(2, 2, "a/b", NOW - 40, "espresso pull", "", pull=True)])
        state = MemoryState()
        first = authed(srv, state=state).fetch("espresso", None, budget())
        assert [(m.native_id, m.thread["kind"]) for m in first.mentions] == [("1", "issue"), ("2", "pull")]
        assert [r.param("q").split(" ", 2)[2] for r in srv.received["github"]] == [
            "(is:issue OR is:pull-request)", "is:issue", "is:pull-request"]
        assert first.cursor == {"typed": True, "issues": {"created": NOW - 50, "ids": ["1"]},
                                "pulls": {"created": NOW - 40, "ids": ["2"]}}
        assert state.get_state("github", "search") == {"typed": True}

        srv.received["github"].clear()
        srv.add_items("github", [issue(3, 3, "a/b", NOW - 5, "espresso again", "")])
        second = authed(srv, state=MemoryState()).fetch("espresso", first.cursor, budget())
        assert [m.native_id for m in second.mentions] == ["3"]
        assert [r.param("q").split()[-1] for r in srv.received["github"]] == ["is:issue", "is:pull-request"]
    finally:
        srv.apis["github"] = API


def test_without_a_token_no_authorization_is_sent(srv: ReplayServer) -> None:
    connector(srv).fetch("espresso", None, budget())
    assert "authorization" not in srv.received["github"][0].headers


def test_second_cycle_fetches_nothing_already_seen(srv: ReplayServer) -> None:
    srv.add_items("github", coffee_issues(3, NOW - 100))
    first = authed(srv).fetch("espresso", None, budget())
    srv.add_items("github", [issue(900, 90, "a/b", NOW - 100, "Espresso same second", None),
                             issue(901, 91, "a/b", NOW + 5, "Espresso newer", "x")])
    second = connector(srv, now=NOW + 10).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["901", "900"]
    third = connector(srv, now=NOW + 20).fetch("espresso", second.cursor, budget())
    assert third.mentions == []
    assert srv.received["github"][-1].param("q") == f'"espresso" created:>={iso(NOW + 5)} (is:issue OR is:pull-request)'


def test_first_run_fetches_only_the_last_day(srv: ReplayServer) -> None:
    srv.add_items("github", [issue(1, 1, "a/b", NOW - 2 * 86400, "old espresso", ""),
                             issue(2, 2, "a/b", NOW - 3600, "new espresso", "")])
    assert [m.native_id for m in authed(srv).fetch("espresso", None, budget()).mentions] == ["2"]


def test_page_limit_leaves_a_gap_read_next_cycle(srv: ReplayServer) -> None:
    srv.add_items("github", coffee_issues(5, NOW - 100))
    first = authed(srv, per_page=2, max_pages=1).fetch("espresso", None, budget())
    assert not first.complete and len(first.mentions) == 2
    assert first.cursor["issues"]["gap"] == [NOW - 86400, NOW - 110]
    second = authed(srv, per_page=2).fetch("espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["502", "503", "504"]
    assert srv.received["github"][1].param("q") == (
        f'"espresso" created:{iso(NOW - 86400)}..{iso(NOW - 110)} (is:issue OR is:pull-request)')
    assert "gap" not in second.cursor["issues"]


def test_link_to_another_host_is_never_followed(srv: ReplayServer) -> None:
    srv.inject("github", Fault(status=200, headers={"Link": '<https://evil.example/search/issues?page=2>; rel="next"'},
                               body=b'{"total_count": 0, "incomplete_results": false, "items": []}'))
    with pytest.raises(BadPayload, match="Link rel=next points outside the search API"):
        authed(srv).fetch("espresso", None, budget())
    assert len(srv.received["github"]) == 1


def test_rate_limit_used_up_stops_and_is_remembered_until_reset(srv: ReplayServer) -> None:
    srv.add_items("github", coffee_issues(5, NOW - 100))
    state = MemoryState()
    for _ in range(8):  # unauthenticated search allows 10 a minute
        connector(srv, state=state).fetch("nothing-matches", None, budget())
    first = connector(srv, per_page=2, state=state).fetch("espresso", None, budget())
    assert len(first.mentions) == 4 and not first.complete
    assert first.cursor["not_before"] == NOW + 60
    with pytest.raises(RateLimited) as err:
        connector(srv, now=NOW + 20, state=state).fetch("other term", None, budget())
    assert err.value.retry_after == 40
    assert len(srv.received["github"]) == 10


def test_403_with_remaining_zero_is_rate_limited_not_credentials(srv: ReplayServer) -> None:
    srv.inject("github", Fault(status=403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(NOW + 42)},
                               body=b'{"message": "API rate limit exceeded"}'))
    with pytest.raises(RateLimited) as err:
        authed(srv).fetch("espresso", None, budget())
    assert err.value.retry_after == 42


def test_secondary_limit_with_retry_after_is_rate_limited(srv: ReplayServer) -> None:
    srv.inject("github", Fault(status=403, headers={"retry-after": "17"},
                               body=b'{"message": "You have exceeded a secondary rate limit."}'))
    with pytest.raises(RateLimited) as err:
        authed(srv).fetch("espresso", None, budget())
    assert err.value.retry_after == 17


def test_plain_403_is_a_credentials_error(srv: ReplayServer) -> None:
    srv.inject("github", Fault(status=403, body=b'{"message": "Resource not accessible by integration"}'))
    with pytest.raises(CredentialsError, match="HTTP 403"):
        authed(srv).fetch("espresso", None, budget())


def test_a_future_dated_issue_is_kept_but_does_not_move_the_cursor_past_now(srv: ReplayServer) -> None:
    """Defect 7: an issue claiming a date a year ahead is kept with that date; the watermark
    stays at the cycle's clock, so an issue opened a moment later is still found."""
    year_ahead = NOW + 366 * 86400
    srv.add_items("github", [issue(1, 1, "a/b", year_ahead, "espresso from next year", ""),
                             issue(2, 2, "a/b", NOW - 20, "espresso good", "")])
    first = authed(srv).fetch("espresso", None, budget())
    assert [(m.native_id, m.created_at) for m in first.mentions] == [
        ("1", dt.datetime.fromtimestamp(year_ahead, tz=dt.UTC)), ("2", dt.datetime.fromtimestamp(NOW - 20, tz=dt.UTC))]
    assert first.cursor["issues"] == {"created": NOW, "ids": ["1"]}
    srv.add_items("github", [issue(3, 3, "a/b", NOW + 30, "espresso a moment later", "")])
    second = connector(srv, now=NOW + 60, token_parameter="/listen/github-token", secrets=SECRETS).fetch(
        "espresso", first.cursor, budget())
    assert [m.native_id for m in second.mentions] == ["1", "3"]
    assert second.cursor["issues"] == {"created": NOW + 60, "ids": ["1"]}


def test_unicode_emoji_and_markdown_come_out_as_text(srv: ReplayServer) -> None:
    srv.add_items("github", [issue(7, 42, "beanthere/shop", NOW - 10, "Café “Bean There” & cold brew ☕",
                                   "**Olá** & obrigado 😊 <3 &amp;", login="ines-d", pull=True, labels=("café",))])
    [mention] = authed(srv).fetch("café", None, budget()).mentions
    assert mention.title == "Café “Bean There” & cold brew ☕"
    assert mention.text == "Olá & obrigado 😊 <3 &"  # Markdown read as GitHub shows it
    assert (mention.author_handle, mention.author_url) == ("ines-d", "https://github.com/ines-d")
    assert (mention.url, mention.community, mention.tags) == (
        "https://github.com/beanthere/shop/pull/42", "beanthere/shop", ("café",))
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 10, tz=dt.UTC)
    assert mention.thread == {"repo": "beanthere/shop", "number": "42", "kind": "pull", "node_id": "PR_kwDO00000007"}


def test_discussions_are_searched_with_graphql_when_enabled(srv: ReplayServer) -> None:
    srv.add_items("github", demo_items(NOW, {}))
    result = authed(srv, discussions=True).fetch("Bean There", None, budget())
    kinds = {m.native_id: m.thread["kind"] for m in result.mentions}
    assert kinds == {"3100000001": "issue", "3100000002": "issue", "D_kwDOBeanT4s0001": "discussion"}
    graphql = srv.received["github"][1]
    assert (graphql.method, graphql.path) == ("POST", "/graphql")
    sent = json.loads(graphql.body)
    assert "search(type: DISCUSSION, query: $q, first: 50, after: $after)" in sent["query"]
    assert sent["variables"] == {"q": f'"Bean There" created:>={iso(NOW - 86400)} sort:created-desc', "after": None}
    [found] = [m for m in result.mentions if m.thread["kind"] == "discussion"]
    assert (found.url, found.community, found.text) == (
        "https://github.com/beanthere/shop/discussions/9", "beanthere/shop",
        "Thinking of gifting a subscription — do you deliver outside Lisbon?")
    assert result.cursor["discussions"] == {"created": NOW - 120, "ids": ["D_kwDOBeanT4s0001"]}


def test_discussion_pages_follow_end_cursor(srv: ReplayServer) -> None:
    srv.add_items("github", [discussion(f"D_kw{i}", i, "a/b", NOW - 100 - i, "espresso?", "") for i in range(55)])
    result = authed(srv, discussions=True).fetch("espresso", None, budget())
    assert len(result.mentions) == 55 and result.pages == 3
    assert json.loads(srv.received["github"][2].body)["variables"]["after"] is not None


def test_discussions_need_a_token(srv: ReplayServer) -> None:
    connector(srv, discussions=True).fetch("espresso", None, budget())
    assert [r.path for r in srv.received["github"]] == ["/search/issues"]


def test_graphql_rate_limited_error_is_rate_limited(srv: ReplayServer) -> None:
    srv.inject("github", Fault(status=200, body=b'{"items": []}'),
               Fault(status=200, body=b'{"errors": [{"type": "RATE_LIMITED", "message": "limit"}]}'))
    with pytest.raises(RateLimited):
        authed(srv, discussions=True).fetch("espresso", None, budget())


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["items", "id", "number", "html_url", "repository_url", "user", "login", "created_at",
                         "title", "body", "labels", "name", "pull_request", "node_id", "data", "search", "nodes",
                         "pageInfo", "errors"]),
        inner, max_size=6),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), _json.map(lambda v: json.dumps(v).encode())))
def test_any_body_raises_nothing_but_source_error(srv: ReplayServer, body: bytes) -> None:
    connector_ = authed(srv, max_pages=1, discussions=True)
    try:
        decoded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        decoded = body  # not JSON: parsing the raw bytes must still only raise SourceError
    for parse in (connector_.parse_issues, connector_.parse_discussions):
        try:
            parse(decoded)
        except SourceError:
            pass
    srv.inject("github", Fault(status=200, body=body))
    try:
        connector_.fetch("espresso", None, budget())
    except SourceError:
        pass


def test_several_terms_are_one_search_within_githubs_documented_five_operators(srv: ReplayServer) -> None:
    srv.add_items("github", [issue(901, 1, "beanthere/shop", NOW - 300, "Bean There app crashes", "help"),
                             issue(902, 2, "beanthere/shop", NOW - 200, "Refund flow", "asks for a refund"),
                             issue(903, 3, "beanthere/shop", NOW - 100, "Unrelated", "nothing")])
    terms = ["Bean There", "refund", "t3", "t4", "t5", "t6"]
    results = authed(srv).fetch_many(terms, dict.fromkeys(terms), budget())

    queries = [r.param("q") for r in srv.received["github"]]
    assert len(queries) == 2  # five terms, then one: each query at most five AND/OR/NOT operators
    assert queries[0].startswith('("Bean There" OR "refund" OR "t3" OR "t4" OR "t5") created:>=')
    assert queries[1].startswith('"t6" created:>=')
    assert all(q.count(" OR ") <= 5 and len(q) <= 256 for q in queries)
    assert {t: [m.native_id for m in r.mentions] for t, r in results.items()} == {
        "Bean There": ["901"], "refund": ["902"], "t3": [], "t4": [], "t5": [], "t6": []}
    assert results["Bean There"].cursor == results["t5"].cursor != results["t6"].cursor

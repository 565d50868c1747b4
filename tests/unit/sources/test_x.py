"""X within the owner's monthly budget: what each answer costs is kept, a page that could pass the budget is
never asked for, the next month starts afresh, a walk cut short is finished, terms share queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks.x.emulator import XAPI, snowflake, x_post
from chalicelib.networks.x.source import X, XOptions, next_month_start
from chalicelib.sources.base import Budget, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer
from tests.builders import FakeClock
from tests.conftest import MemoryState

NOW = dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC).timestamp()
TOKEN = "AAAA-bearer"


@pytest.fixture
def srv(replay_server: ReplayServer) -> Iterator[ReplayServer]:
    apis = dict(replay_server.apis)
    replay_server.reset()
    replay_server.apis["x"] = XAPI(bearer_token=TOKEN)
    yield replay_server
    replay_server.apis.clear()
    replay_server.apis.update(apis)
    replay_server.reset()


def posts(count: int, text: str = "Bean There flat white number {n}", age: int = 1200) -> list[dict[str, Any]]:
    """``count`` posts by as many authors, one a second, the newest ``age`` - count seconds old."""
    return [x_post(snowflake(NOW - age + n, n), NOW - age + n, text.format(n=n), user_id=str(5000 + n),
                   username=f"fan{n}") for n in range(count)]


def connector(srv: ReplayServer, clock: FakeClock, state: MemoryState, **options: Any) -> X:
    opts = XOptions(**{"base_url": srv.base_url("x"), "bearer_token_parameter": "/x/bearer",
                       "monthly_budget_usd": 5.0, **options})
    return X(opts, http=HttpClient("x", retries=0, sleep=clock.sleep), clock=clock, state=state,
             secrets=lambda name: TOKEN if name == "/x/bearer" else None)


def billed(api: XAPI) -> float:
    return api.posts_served * 0.005 + api.users_served * 0.010


def fetch(source: X, cursor: Any = None) -> Any:
    return source.fetch("Bean There", cursor, Budget(deadline=float("inf")))


def test_what_each_answer_costs_is_kept_per_month_and_matches_what_x_bills(srv: ReplayServer) -> None:
    srv.add_items("x", posts(12))
    state, clock = MemoryState(), FakeClock(NOW)
    result = fetch(connector(srv, clock, state))
    assert len(result.mentions) == 12 and result.complete
    api = srv.apis["x"]
    assert (api.posts_served, api.users_served) == (12, 12)
    assert state.get_state("x", "spend") == {"month": "2026-12", "usd": pytest.approx(billed(api))}
    assert billed(api) == pytest.approx(0.18)


def test_a_page_that_could_pass_the_budget_is_never_asked_for(srv: ReplayServer) -> None:
    srv.add_items("x", posts(45))
    state, clock = MemoryState(), FakeClock(NOW)
    source = connector(srv, clock, state, monthly_budget_usd=0.40)  # a page of 10 may cost $0.15
    first = fetch(source)
    assert len(first.mentions) == 20 and not first.complete  # a third page could reach $0.45
    assert first.cursor["gap"]["next_token"]
    with pytest.raises(RateLimited) as err:
        fetch(source, first.cursor)
    assert str(err.value) == ("x: monthly budget of $0.40 reached: $0.30 spent, and one more page may cost $0.15; "
                              "X is read again on 1 Jan (raise networks.x.monthly_budget_usd to read it sooner)")
    assert err.value.retry_after == pytest.approx(next_month_start(NOW) - NOW)
    assert billed(srv.apis["x"]) <= 0.40
    requests = len(srv.received["x"])
    raised = connector(srv, clock, state, monthly_budget_usd=1.00)  # the owner raises the budget
    second = fetch(raised, first.cursor)  # the walk cut short is finished
    assert len(second.mentions) == 25 and second.complete and set(second.cursor) == {"since_id"}
    read = [m.native_id for r in (first, second) for m in r.mentions]
    assert len(read) == len(set(read)) == 45
    assert len(srv.received["x"]) == requests + 3
    assert state.get_state("x", "spend") == {"month": "2026-12", "usd": pytest.approx(0.675)}
    assert billed(srv.apis["x"]) == pytest.approx(0.675)


def test_a_new_month_starts_with_nothing_spent(srv: ReplayServer) -> None:
    state, clock = MemoryState(), FakeClock(NOW)
    state.put_state("x", "spend", {"month": "2026-12", "usd": 4.99})
    source = connector(srv, clock, state)
    with pytest.raises(RateLimited):
        fetch(source)
    clock.now = next_month_start(NOW) + 60
    srv.add_items("x", [x_post(snowflake(clock.now - 30, 1), clock.now - 30, "Bean There in January")])
    assert len(fetch(source).mentions) == 1
    assert state.get_state("x", "spend") == {"month": "2027-01", "usd": pytest.approx(0.015)}


def test_the_cursor_moves_to_the_newest_post_and_nothing_is_read_twice(srv: ReplayServer) -> None:
    srv.add_items("x", posts(3))
    clock = FakeClock(NOW)
    source = connector(srv, clock, MemoryState())
    first = fetch(source)
    assert first.cursor == {"since_id": max(m.native_id for m in first.mentions)}
    srv.add_items("x", [x_post(snowflake(NOW + 30, 7), NOW + 30, "Bean There again", username="late")])
    clock.advance(60)
    second = fetch(source, first.cursor)
    assert [m.author_handle for m in second.mentions] == ["late"]
    assert ("since_id", first.cursor["since_id"]) in srv.received["x"][-1].query
    assert fetch(source, second.cursor).mentions == []


def test_terms_share_one_query_with_or_and_retweets_are_left_out(srv: ReplayServer) -> None:
    srv.add_items("x", posts(2, "a cortado at Bean There {n}") + posts(1, "latte art contest {n}", age=600))
    source = connector(srv, FakeClock(NOW), MemoryState())
    found = source.fetch_many(["Bean There", "latte", "cortado"], {}, Budget(deadline=float("inf")))
    [request] = srv.received["x"]
    assert request.param("query") == '"Bean There" OR latte OR cortado -is:retweet'
    assert sum(len(r.mentions) for r in found.values()) == 3


def test_without_author_details_only_posts_are_bought(srv: ReplayServer) -> None:
    srv.add_items("x", posts(4))
    state = MemoryState()
    result = fetch(connector(srv, FakeClock(NOW), state, author_details=False))
    assert srv.received["x"][0].param("expansions") is None
    assert state.get_state("x", "spend")["usd"] == pytest.approx(0.02)
    assert result.mentions[0].url.startswith("https://x.com/i/web/status/")


def test_the_post_as_the_owner_sees_it(srv: ReplayServer) -> None:
    long_post = x_post(snowflake(NOW - 60, 1), NOW - 60, "Bean There &amp; friends…", username="sara_brews",
                       name="Sara", followers=4200, hashtags=("lisbon",), urls=("https://beanthere.example/menu",),
                       replied_to=123)
    long_post["note_tweet"] = {"text": "Bean There & friends: the whole long story of my morning"}
    srv.add_items("x", [long_post])
    [m] = fetch(connector(srv, FakeClock(NOW), MemoryState())).mentions
    assert m.text == "Bean There & friends: the whole long story of my morning"
    assert (m.author_handle, m.author_name, m.reach, m.kind) == ("sara_brews", "Sara", 4200, "comment")
    assert m.url == f"https://x.com/sara_brews/status/{long_post['id']}"
    assert (m.tags, m.links) == (("lisbon",), ("https://beanthere.example/menu",))
    first_request = srv.received["x"][0]
    assert first_request.param("start_time") == "2026-12-31T19:00:00Z"  # one hour back on a first run


def test_the_budget_must_be_set_in_dollars() -> None:
    with pytest.raises(ValidationError, match="monthly_budget_usd"):
        XOptions(bearer_token_parameter="/x/bearer")
    with pytest.raises(ValidationError, match="greater than 0"):
        XOptions(bearer_token_parameter="/x/bearer", monthly_budget_usd=0)

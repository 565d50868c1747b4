"""X (API v2 recent search): the connector over the documentation's own examples (README.md beside the
payloads cites each), what each costs against the monthly budget, and the replay emulator kept inside their
shape."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.networks.x.emulator import XAPI, demo_items
from chalicelib.networks.x.source import X, XOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.conftest import MemoryState
from tests.contracts import corpus

NOW = 1_800_000_000
TOKEN = "/listen/x/bearer"
EXPECTED = corpus.expected("x")
PAYLOADS = corpus.payloads("x", ".json")
POSTS = [p for p in PAYLOADS if EXPECTED.get(p.name, {}).get("kind") == "posts"]
ERRORS = [p for p in PAYLOADS if EXPECTED.get(p.name, {}).get("kind") == "error"]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"x": XAPI()}) as srv:
        yield srv


def connector(server: ReplayServer, state: MemoryState | None = None) -> X:
    opts = XOptions(base_url=server.base_url("x"), bearer_token_parameter=TOKEN, monthly_budget_usd=5.0)
    return X(opts, http=HttpClient("x", retries=0, sleep=lambda s: None), clock=lambda: NOW, state=state,
             secrets=lambda name: XAPI().bearer_token if name == TOKEN else None)


def served(path: Path) -> bytes:
    body = json.loads(path.read_bytes())
    if isinstance(body.get("data"), dict):  # a post lookup's one object, read as a page of one
        body["data"] = [body["data"]]
    return json.dumps(body).encode()


@pytest.mark.parametrize("path", POSTS, ids=lambda p: p.name)
def test_the_connector_reads_the_posts_the_payload_holds(server: ReplayServer, path: Path) -> None:
    server.reset()
    server.inject("x", Fault(200, {"Content-Type": "application/json"}, served(path)))
    state = MemoryState()
    result = connector(server, state).fetch("bean", {"since_id": "1"}, Budget(time.monotonic() + 30))
    wanted = EXPECTED[path.name]
    assert result.skipped == wanted["skipped"]
    assert len(result.mentions) == len(wanted["mentions"])
    for got, want in zip(result.mentions, wanted["mentions"], strict=True):
        assert got.native_id == want["native_id"]
        assert got.created_at == dt.datetime.fromisoformat(want["created_at"])
        for field in ("url", "author_handle", "author_name", "kind", "text", "reach", "lang"):
            if field in want:
                assert getattr(got, field) == want[field], field
        assert got.thread == want.get("thread", got.thread)
        assert list(got.links) == want.get("links", list(got.links))
    if "cost_usd" in wanted:  # each post $0.005, each author $0.010
        assert state.get_state("x", "spend") == {"month": "2027-01", "usd": pytest.approx(wanted["cost_usd"])}
    if "next_token" in wanted:  # the page said there is more: the walk goes on from its token
        assert any(("next_token", wanted["next_token"]) in r.query for r in server.received["x"])


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_a_documented_error_is_said_in_words(server: ReplayServer, path: Path) -> None:
    server.reset()
    wanted = EXPECTED[path.name]
    headers = {"Content-Type": "application/json", **wanted.get("headers", {})}
    server.inject("x", Fault(wanted["status"], headers, path.read_bytes()))
    with pytest.raises(SourceError) as err:
        connector(server).fetch("bean", {"since_id": "1"}, Budget(time.monotonic() + 30))
    assert str(err.value) == wanted["error"]


def shapes(paths: list[Path]) -> Any:
    return corpus.shapes_of([json.loads(served(p)) for p in paths if json.loads(served(p)).get("data")])


def test_the_replay_emulator_stays_inside_the_documented_shape() -> None:
    documented = shapes(POSTS)
    request = Request("GET", "/2/tweets/search/recent",
                      [("query", "bean -is:retweet"), ("max_results", "10"), ("expansions", "author_id")],
                      {"Authorization": f"Bearer {XAPI().bearer_token}"}, b"")
    emulated = json.loads(XAPI().handle(request, demo_items(NOW, {})).body)
    assert emulated["data"]
    assert corpus.drift(corpus.shape(emulated), documented) == []

"""The Stack Exchange connector over real Stack Exchange answers (chalicelib/networks/stackexchange/contract/
README.md cites each one), and the emulator held to their shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from chalicelib.networks.stackexchange.emulator import StackExchangeAPI, demo_items
from chalicelib.networks.stackexchange.source import StackExchange, StackExchangeOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "stackexchange"
EXPECTED = corpus.expected(NETWORK)
PAGES = corpus.expected_with(NETWORK, "mentions")
ERRORS = corpus.expected_with(NETWORK, "error")


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: StackExchangeAPI()}) as server:
        yield server


def payload(name: str) -> bytes:
    return corpus.raw(NETWORK, name)


def connector(srv: ReplayServer, now: float) -> StackExchange:
    options = StackExchangeOptions(base_url=srv.base_url(NETWORK), sites=["stackoverflow"],
                                   first_run_lookback_hours=24 * 365 * 20, max_pages=1)
    return StackExchange(options, http=HttpClient(NETWORK, timeout=5, sleep=lambda s: None), state=MemoryState(),
                         clock=lambda: now)


def serve(srv: ReplayServer, status: int, name: str) -> None:
    srv.reset()
    srv.inject(NETWORK, Fault(status=status, body=payload(name), headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize("name", PAGES)
def test_the_connector_reads_every_recorded_page(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    newest = max(m["created_unix"] for m in expected["mentions"])
    serve(srv, 200, name)
    result = connector(srv, newest + 60).fetch("socket", None, Budget(deadline=time.monotonic() + 30))

    assert [{"native_id": m.native_id, "url": m.url, "author_handle": m.author_handle, "author_name": m.author_name,
             "created_unix": int(m.created_at.timestamp()), "tags": list(m.tags)}
            for m in result.mentions] == expected["mentions"]
    assert len(result.skipped) == expected["skipped"]
    assert result.cursor["sites"]["stackoverflow"]["fromdate"] == newest
    assert result.cursor["quota_remaining"] == expected["quota_remaining"]


@pytest.mark.parametrize("name", ERRORS)
def test_recorded_refusals_are_said_in_words(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    serve(srv, expected["status"], name)
    with pytest.raises(SourceError) as err:
        connector(srv, 1_700_000_000).fetch("socket", None, Budget(deadline=time.monotonic() + 30))
    assert (type(err.value).__name__, str(err.value)) == (expected["error"], expected["message"])


def test_the_emulator_serves_pages_inside_the_recorded_shape() -> None:
    documented = corpus.shapes_of([json.loads(payload(name)) for name in PAGES])
    now = int(time.time())
    api = StackExchangeAPI()
    answers = [api.handle(Request(method="GET", path="/search/advanced", headers={}, body=b"",
                                  query=[("site", site), ("q", "Bean There"), ("filter", "withbody")]),
                          demo_items(now, {}))
               for site in ("stackoverflow", "coffee")]
    assert [answer.status for answer in answers] == [200, 200]
    for answer in answers:
        page = json.loads(answer.body)
        assert page["items"]
        assert corpus.page_drift(page, documented, ("items",)) == []

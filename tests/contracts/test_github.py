"""The GitHub connector over GitHub's own recorded answers (chalicelib/networks/github/contract/README.md
cites each one), and the emulator held to their shape."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest

from chalicelib.networks.github.emulator import GitHubAPI, demo_items
from chalicelib.networks.github.source import GitHub, GitHubOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.contracts import corpus

NETWORK = "github"
EXPECTED = corpus.expected(NETWORK)
PAGES = corpus.expected_with(NETWORK, "mentions")
ERRORS = corpus.expected_with(NETWORK, "error")
GRAPHQL_ERRORS = sorted(name for name, entry in EXPECTED.items() if "graphql_error" in entry)
ISO = "%Y-%m-%dT%H:%M:%SZ"
# Keys of a pull request item that GitHub's OpenAPI description documents (components/schemas/
# issue-search-result-item: ``draft``, ``pull_request.url``, ``pull_request.merged_at``; rendered
# e.g. at https://docs.rs/crate/openapi-github/0.1.0/source/docs/IssueSearchResultItem.md) but that
# the recorded pages, from 2013-2017, predate. The emulator may serve them.
SCHEMA_ONLY = [
    "$.items[].draft: not in the documented payloads",
    "$.items[].pull_request.url: not in the documented payloads",
    "$.items[].pull_request.merged_at: not in the documented payloads",
]


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: GitHubAPI()}) as server:
        yield server


def payload(name: str) -> bytes:
    return corpus.raw(NETWORK, name)


def unix(iso: str) -> int:
    return int(dt.datetime.strptime(iso, ISO).replace(tzinfo=dt.UTC).timestamp())


def github(srv: ReplayServer, now: float) -> GitHub:
    options = GitHubOptions(base_url=srv.base_url(NETWORK), first_run_lookback_hours=24 * 365 * 20, max_pages=1)
    return GitHub(options, http=HttpClient(NETWORK, timeout=5, sleep=lambda s: None), clock=lambda: now)


@pytest.mark.parametrize("name", PAGES)
def test_the_connector_reads_every_recorded_search_page(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    now = max(unix(m["created_at"]) for m in expected["mentions"]) + 60
    srv.reset()
    srv.inject(NETWORK, Fault(status=200, body=payload(name), headers={"Content-Type": "application/json"}))
    result = github(srv, now).fetch("sesame", None, Budget(deadline=time.monotonic() + 30))

    assert [{"native_id": m.native_id, "url": m.url, "author": m.author_handle,
             "created_at": m.created_at.strftime(ISO), "community": m.community, "kind": m.thread["kind"],
             "tags": list(m.tags)} for m in result.mentions] == expected["mentions"]
    assert len(result.skipped) == expected["skipped"]
    assert result.cursor["issues"]["created"] == now - 60


@pytest.mark.parametrize("name", ERRORS)
def test_recorded_refusals_are_said_in_words(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    srv.reset()
    srv.inject(NETWORK, Fault(status=expected["status"], body=payload(name),
                              headers={"Content-Type": "application/json", **expected["headers"]}))
    with pytest.raises(SourceError) as err:
        github(srv, 1_700_000_000).fetch("sesame", None, Budget(deadline=time.monotonic() + 30))
    assert (type(err.value).__name__, str(err.value)) == (expected["error"], expected["message"])


@pytest.mark.parametrize("name", GRAPHQL_ERRORS)
def test_recorded_graphql_errors_are_said_in_words(srv: ReplayServer, name: str) -> None:
    with pytest.raises(SourceError) as err:
        github(srv, 1_700_000_000).parse_discussions(json.loads(payload(name)))
    assert str(err.value) == EXPECTED[name]["graphql_error"]


def test_the_emulator_serves_search_pages_inside_the_recorded_shape() -> None:
    documented = corpus.shapes_of([json.loads(payload(name)) for name in PAGES])
    now = int(time.time())
    api = GitHubAPI()
    answers = [api.handle(Request(method="GET", path="/search/issues", query=[("q", f"{words} {kind}")],
                                  headers={}, body=b""), demo_items(now, {}))
               for words, kind in (("Bean There", "is:issue"), ("Fábrica", "is:pull-request"))]
    assert [answer.status for answer in answers] == [200, 200]
    for answer in answers:
        page = json.loads(answer.body)
        assert page["items"]
        problems = corpus.page_drift(page, documented, ("items",))
        assert [problem for problem in problems if problem not in SCHEMA_ONLY] == []

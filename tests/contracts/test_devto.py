"""DEV (Forem API): the connector over the API's documented examples and client libraries'
recorded answers (README.md beside the payloads cites each), and the replay emulator kept
inside their shape."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.networks.devto.emulator import DevToAPI, demo_items
from chalicelib.networks.devto.source import DevTo, DevToOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.contracts import corpus

NOW = 1_800_000_000
EXPECTED = corpus.expected("devto")
PAYLOADS = corpus.payloads("devto", ".json")
ARTICLES = [p for p in PAYLOADS if "count" in EXPECTED.get(p.name, {})]
ERRORS = [p for p in PAYLOADS if "status" in EXPECTED.get(p.name, {})]


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"devto": DevToAPI()}) as srv:
        yield srv


def connector(server: ReplayServer) -> DevTo:
    opts = DevToOptions(base_url=server.base_url("devto"))
    return DevTo(opts, http=HttpClient("devto", retries=0, sleep=lambda s: None), clock=lambda: NOW)


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_the_connector_reads_the_articles_the_payload_holds(server: ReplayServer, path: Path) -> None:
    server.reset()
    body = json.loads(path.read_bytes())
    page = body if isinstance(body, list) else [body]  # a single article is read as a page of one
    server.inject("devto", Fault(200, {"Content-Type": "application/json"}, json.dumps(page).encode()))
    result = connector(server).fetch("*", {"published_at": 0, "ids": []}, Budget(time.monotonic() + 30))
    wanted = EXPECTED[path.name]
    assert result.skipped == wanted.get("skipped", [])
    assert len(result.mentions) == wanted["count"]
    got = {m.native_id: m for m in result.mentions}
    for article_id, article in wanted.get("articles", {}).items():
        m = got[article_id]
        assert (m.url, m.author_handle, list(m.tags)) == (article["url"], article["author"], article["tags"])
        assert m.created_at == dt.datetime.fromisoformat(article["created_at"])
        assert m.author_url == f"https://dev.to/{article['author']}"
        if "title" in article:
            assert m.title == article["title"]


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_a_documented_error_is_said_in_words(server: ReplayServer, path: Path) -> None:
    server.reset()
    wanted = EXPECTED[path.name]
    headers = {"Content-Type": "application/json", **({"Retry-After": "30"} if wanted["status"] == 429 else {})}
    server.inject("devto", Fault(wanted["status"], headers, path.read_bytes()))
    with pytest.raises(SourceError) as err:
        connector(server).fetch("*", {"published_at": 0, "ids": []}, Budget(time.monotonic() + 30))
    assert str(err.value) == wanted["error"]


def test_the_replay_emulator_stays_inside_the_documented_shape() -> None:
    pages = []
    for path in ARTICLES:
        body = corpus.load_json(path)
        if isinstance(body, list):
            pages.append(body)
    documented = corpus.shapes_of(pages)
    request = Request("GET", "/api/articles/latest", [("per_page", "30"), ("page", "1")], {}, b"")
    emulated = json.loads(DevToAPI().handle(request, demo_items(NOW, {})).body)
    assert emulated
    assert corpus.drift(corpus.shape(emulated), documented) == []

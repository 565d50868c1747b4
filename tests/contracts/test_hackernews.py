"""Hacker News: the connector over Algolia answers recorded by others (README.md beside the
payloads cites each), and the replay emulator kept inside their shape."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.networks.hackernews.emulator import HackerNewsAPI, comment_hit, demo_items, story_hit
from chalicelib.networks.hackernews.source import HackerNews, HackerNewsOptions
from chalicelib.sources.base import Budget
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.contracts import corpus

NOW = 1_800_000_000
EXPECTED = corpus.expected("hackernews")
PAYLOADS = corpus.payloads("hackernews", ".json")


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"hackernews": HackerNewsAPI()}) as srv:
        yield srv


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda p: p.name)
def test_the_connector_reads_what_the_payload_holds(server: ReplayServer, path: Path) -> None:
    server.reset()
    server.inject("hackernews", Fault(200, {"Content-Type": "application/json"}, path.read_bytes()))
    opts = HackerNewsOptions(base_url=server.base_url("hackernews"))
    hn = HackerNews(opts, http=HttpClient("hackernews", retries=0), clock=lambda: NOW)
    result = hn.fetch("anything", {"created_at_i": 0, "ids": []}, Budget(time.monotonic() + 30))
    wanted = EXPECTED[path.name]
    assert result.skipped == []
    assert len(result.mentions) == wanted["count"]
    got = {m.native_id: m for m in result.mentions}
    for object_id, mention in wanted["mentions"].items():
        m = got[object_id]
        assert m.url == f"https://news.ycombinator.com/item?id={object_id}"
        assert (m.kind, m.author_handle, m.created_at.isoformat(), m.title, list(m.links)) == (
            mention["kind"], mention["author"], mention["created_at"], mention["title"], mention["links"])
        assert m.author_url == f"https://news.ycombinator.com/user?id={mention['author']}"
        if "thread" in mention:
            assert m.thread == mention["thread"]
    # The page moved the cursor to its newest hit, never past the clock.
    assert result.cursor["created_at_i"] == max(json.loads(path.read_bytes())["hits"], key=lambda h: h["created_at_i"])[
        "created_at_i"]


def test_the_replay_emulator_stays_inside_the_documented_shape() -> None:
    documented = corpus.shapes_of([corpus.load_json(p) for p in PAYLOADS])
    api = HackerNewsAPI()
    items = [*demo_items(NOW, {}), story_hit(1, NOW - 5, "t", url="https://a.example/", story_text="<p>x</p>"),
             comment_hit(2, NOW - 4, "c", story_id=1, story_title="t", parent_id=1)]
    request = Request("GET", "/search_by_date", [("query", ""), ("hitsPerPage", "100")], {}, b"")
    emulated = json.loads(api.handle(request, items).body)
    assert corpus.drift(corpus.shape(emulated), documented) == []

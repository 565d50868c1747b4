"""Lobsters: the connector over JSON pages and threads recorded by client applications
(README.md beside the payloads cites each), and the replay emulator kept inside their shape."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from chalicelib.networks.lobsters.emulator import LobstersAPI, demo_items, lobsters_comment, lobsters_story
from chalicelib.networks.lobsters.source import Lobsters, LobstersOptions
from chalicelib.sources.http import HttpClient
from offline.replay.server import Request
from tests.contracts import corpus

NOW = 1_800_000_000
EXPECTED = corpus.expected("lobsters")
PAYLOADS = corpus.payloads("lobsters", ".json")
PAGES = [p for p in PAYLOADS if "stories" in EXPECTED.get(p.name, {})]
THREADS = [p for p in PAYLOADS if "story" in EXPECTED.get(p.name, {})]


def connector() -> Lobsters:
    return Lobsters(LobstersOptions(), http=HttpClient("lobsters"), clock=lambda: NOW)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_a_story_page_reads_into_the_stories_it_holds(path: Path) -> None:
    lob = connector()
    stories = lob._parse_page(corpus.load_json(path))
    assert lob._story_skips.reasons() == []
    wanted = EXPECTED[path.name]
    assert len(stories) == wanted["count"]
    mentions = {m.native_id: m for m in (lob._story_mention(s) for s in stories)}
    for sid, story in wanted["stories"].items():
        m = mentions[f"s/{sid}"]
        assert (m.url, m.author_handle, list(m.links)) == (story["url"], story["author"], story["links"])
        assert m.kind == "post"
        assert m.created_at == dt.datetime.fromisoformat(story["created_at"])
        assert m.author_url == f"https://lobste.rs/~{story['author']}"


@pytest.mark.parametrize("path", THREADS, ids=lambda p: p.name)
def test_a_thread_reads_into_its_comments(path: Path) -> None:
    lob = connector()
    wanted = EXPECTED[path.name]
    story, comments = lob._parse_thread(corpus.load_json(path), wanted["story"])
    assert lob._skipped == []
    assert len(comments) == wanted["comments"]
    mentions = {m.native_id: m for m in (lob._comment_mention(c, story) for c in comments)}
    for cid, comment in wanted["comment"].items():
        m = mentions[f"c/{cid}"]
        assert (m.url, m.author_handle, m.kind) == (f"https://lobste.rs/c/{cid}", comment["author"], "comment")
        assert m.created_at == dt.datetime.fromisoformat(comment["created_at"])
        assert m.text.startswith(comment["starts"])
        assert m.thread["story_id"] == wanted["story"]


def test_the_replay_emulator_stays_inside_the_documented_shape() -> None:
    pages = corpus.shapes_of([corpus.load_json(p) for p in PAGES])
    threads = corpus.shapes_of([corpus.load_json(p) for p in THREADS])
    api = LobstersAPI()
    items = [*demo_items(NOW, {}), lobsters_story("abc1", NOW - 60, "A story", comments=[
        lobsters_comment("c1", NOW - 30, "<p>hi</p>", story_short_id="abc1"),
        lobsters_comment("c2", NOW - 20, "<p>re</p>", story_short_id="abc1", parent="c1", depth=1)])]
    newest = json.loads(api.handle(Request("GET", "/newest.json", [], {}, b""), items).body)
    thread = json.loads(api.handle(Request("GET", "/s/abc1.json", [], {}, b""), items).body)
    assert newest and thread["comments"]
    assert corpus.drift(corpus.shape(newest), pages) == []
    assert corpus.drift(corpus.shape(thread), threads) == []

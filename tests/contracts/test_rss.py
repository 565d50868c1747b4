"""RSS/Atom: the connector over feeds no one on this project wrote.

1. ``chalicelib/networks/rss/contract/``: twelve files of feedparser's own test corpus (README.md cites
   them), each served as feedparser's harness serves it (its address, its ``Header:`` lines),
   read by the whole connector (HTTP, redirects, parsing); ids, permalinks, authors and
   times checked against values written by hand from the files.
2. The whole corpus (over 2,000 files, fetched once by ``offline.feed_corpus``): no crash,
   no wrong permalink; prints ``feed_corpus_files``, ``feed_corpus_crashes`` and
   ``feed_corpus_wrong_permalinks``.
3. The replay emulator's feeds parse into the same entry fields as the corpus's.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from chalicelib.networks.rss.emulator import FeedsAPI, demo_items
from chalicelib.networks.rss.source import Feeds, FeedsOptions
from chalicelib.sources.base import Budget
from chalicelib.sources.http import HttpClient
from offline.feed_corpus import corpus_dir
from offline.replay.server import ReplayServer
from tests.contracts import corpus
from tests.contracts.feed_corpus import NOW, ORIGIN, CorpusSession, permalink_problems, run_corpus

EXPECTED = corpus.expected("rss")


def _fetch(name: str) -> tuple[str, list]:
    source = EXPECTED[name]["source"]
    feed_url = ORIGIN + "tests/" + source
    session = CorpusSession(corpus.folder("rss"), files={source: corpus.folder("rss") / name})
    feeds = Feeds(FeedsOptions(feeds=[feed_url]), http=HttpClient("rss", session=session, retries=0),
                  clock=lambda: NOW)
    result = feeds.fetch("*", {"feeds": {feed_url: {"seen": []}}}, Budget(deadline=float("inf")))
    assert result.skipped == []
    return feed_url, result.mentions


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_connector_reads_what_the_file_holds(name: str) -> None:
    feed_url, mentions = _fetch(name)
    wanted = EXPECTED[name]["entries"]
    got = [{"entry_id": m.thread["entry_id"], "url": m.url, "author": m.author_handle,
            "created_at": m.created_at.isoformat()} for m in mentions]
    now = dt.datetime.fromtimestamp(NOW, tz=dt.UTC).isoformat()
    hashed = hashlib.sha256(b"\n").hexdigest()  # an entry with no id, no link and no title
    assert got == [{**w, "entry_id": hashed if w["entry_id"] == "HASH" else w["entry_id"],
                    "url": feed_url if w["url"] == "FEED" else w["url"],
                    "created_at": w["created_at"] or now} for w in wanted]
    assert [m.native_id for m in mentions] == [hashlib.sha256(g["entry_id"].encode()).hexdigest()[:32] for g in got]


def test_a_permalink_that_is_the_feeds_own_address_is_counted_wrong() -> None:
    feed = "http://127.0.0.1:8097/tests/x.xml"
    reference = [{"link": "http://127.0.0.1:8097/relative/uri"}, {"link": "http://a.example/"}, {}]
    permalinks = [feed, "http://a.example/", feed]
    assert permalink_problems("x.xml", feed, permalinks, reference, {1: "http://b.example/"}) == [
        "x.xml: entry 0 got the feed's address; its link is 'http://127.0.0.1:8097/relative/uri'",
        "x.xml: entry 1 got 'http://a.example/'; the file expects 'http://b.example/'",
    ]


def test_feedparsers_own_corpus_runs_through_the_connector() -> None:
    root = corpus_dir()
    if not (root / "wellformed").is_dir():
        pytest.skip(f"feedparser's test corpus is not in {root}: run `python -m offline.stack --ensure` "
                    "(make install does) once with network access")
    run = run_corpus(root)
    corpus.FIGURES.update({
        "feed_corpus_files": run.files,
        "feed_corpus_entries": run.entries,
        "feed_corpus_refused": len(run.refused),
        "feed_corpus_crashes": len(run.crashes),
        "feed_corpus_wrong_permalinks": len(run.wrong_permalinks),
        "feed_corpus_expected_links_checked": run.expected_links_checked,
    })
    assert run.files > 2000
    assert run.crashes == []
    assert run.wrong_permalinks == []
    # Every refusal is said in words naming the feed (ill-formed XML, not a feed, a redirect not followed, a 404).
    assert all(": rss: " in reason for reason in run.refused)


def test_the_replay_emulators_feeds_read_into_the_same_fields_as_the_corpus() -> None:
    with ReplayServer({"rss": FeedsAPI()}) as server:
        server.add_items("rss", demo_items(NOW, {}))
        names = ["bean-there-alert", "lisboa-food-blog"]
        urls = [f"{server.base_url('rss')}/{n}" for n in names]
        feeds = Feeds(FeedsOptions(feeds=urls), http=HttpClient("rss"), clock=lambda: NOW)
        emulated = feeds.fetch("*", None, Budget(deadline=float("inf"))).mentions
    _, documented = _fetch("wellformed-rss-item_guid.xml")
    documented_fields = corpus.shapes_of([m.thread for m in documented])
    assert emulated and all(corpus.drift(corpus.shape(m.thread), documented_fields) == [] for m in emulated)
    assert all(m.url.startswith("https://") for m in emulated)

"""Benchmarks of the network connectors' hostile-input paths, each beside the old way.

- ``html_to_text``: 40,000 characters of unfinished tags (``<a <a <a ...``, what a broken or
  hostile post can hold) through today's one-pass reader and through the stdlib
  ``HTMLParser`` the helper used before (it rescans every unfinished tag: quadratic).

- Hacker News' overlap window: a day of hits for one search term on the replay server's
  late-indexing mode, polled every 5 minutes (listen.yaml's default) with no window and with
  1-, 5- and 10-minute windows; how many of the late-indexed hits each one fetched. The
  delays are an assumption, not a measurement of Algolia: one hit in five is indexed late,
  by 30 s to 15 min (uniform); seeded.

Run: ``.venv/bin/python -m bench.networks``; prints ``name: value`` lines.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from html.parser import HTMLParser

from chalicelib.networks.hackernews.emulator import HackerNewsAPI, late, story_hit
from chalicelib.networks.hackernews.source import HackerNews, HackerNewsOptions
from chalicelib.sources.base import Budget
from chalicelib.sources.http import HttpClient
from chalicelib.text import html_to_text
from offline.replay.server import ReplayServer

HOSTILE_CHARS = 40_000
SEED = 20261204
START = 1_800_000_000
DAY = 86_400
POLL_SECONDS = 300
HITS_PER_DAY = 1_000
LATE_SHARE = 0.2
LATE_SECONDS = (30, 900)
WINDOWS = (0, 60, 300, 600)


class _OldExtractor(HTMLParser):
    """The helper as it was: the stdlib parser collecting data outside script and style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def old_html_to_text(html: str) -> str:
    extractor = _OldExtractor()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.parts)


def _seconds(convert: Callable[[str], str], text: str) -> float:
    started = time.perf_counter()
    convert(text)
    return time.perf_counter() - started


def text_results() -> list[tuple[str, float]]:
    hostile = ("<a " * HOSTILE_CHARS)[:HOSTILE_CHARS]
    return [
        ("html_to_text_40k_hostile_seconds", _seconds(html_to_text, hostile)),
        ("html_to_text_40k_hostile_seconds_old_htmlparser", _seconds(old_html_to_text, hostile)),
    ]


def _day_of_hits() -> tuple[list[dict], set[str]]:
    rng = random.Random(SEED)
    hits, late_ids = [], set()
    for n in range(HITS_PER_DAY):
        hit = story_hit(50_000_000 + n, START + rng.randrange(DAY), "beanthere")
        if rng.random() < LATE_SHARE:
            hit = late(hit, rng.randint(*LATE_SECONDS))
            late_ids.add(hit["objectID"])
        hits.append(hit)
    return hits, late_ids


def late_items_fetched(window: int, hits: list[dict], late_ids: set[str]) -> tuple[int, int]:
    """(late-indexed hits fetched, requests made) over the day, polling every 5 minutes."""
    now = [float(START)]
    with ReplayServer({"hackernews": HackerNewsAPI(clock=lambda: now[0])}) as server:
        server.add_items("hackernews", hits)
        options = HackerNewsOptions(base_url=server.base_url("hackernews"), overlap_seconds=window,
                                    first_run_lookback_hours=1)
        http = HttpClient("hackernews", sleep=lambda s: None)
        source = HackerNews(options, http=http, clock=lambda: now[0])
        cursor, fetched = None, set()
        while now[0] <= START + DAY + max(LATE_SECONDS):
            result = source.fetch("beanthere", cursor, Budget(time.monotonic() + 30))
            cursor = result.cursor
            fetched |= {m.native_id for m in result.mentions}
            now[0] += POLL_SECONDS
        return len(fetched & late_ids), http.requests_made


def late_indexing_results() -> list[tuple[str, float]]:
    hits, late_ids = _day_of_hits()
    results: list[tuple[str, float]] = [("hn_late_indexed_items", len(late_ids))]
    for window in WINDOWS:
        caught, requests = late_items_fetched(window, hits, late_ids)
        name = "no_window" if window == 0 else f"window_{window // 60}min"
        results.append((f"hn_late_items_caught_{name}", caught))
        results.append((f"hn_requests_{name}", requests))
    return results


def run() -> list[tuple[str, float]]:
    return late_indexing_results() + text_results()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.4g}")

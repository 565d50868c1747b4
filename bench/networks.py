"""Benchmarks of the network connectors' hostile-input paths, each beside the old way.

- ``html_to_text``: 40,000 characters of unfinished tags (``<a <a <a ...``, what a broken or
  hostile post can hold) through today's one-pass reader and through the stdlib
  ``HTMLParser`` the helper used before (it rescans every unfinished tag: quadratic).

Run: ``.venv/bin/python -m bench.networks``; prints ``name: value`` lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html.parser import HTMLParser

from chalicelib.text import html_to_text

HOSTILE_CHARS = 40_000


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


def run() -> list[tuple[str, float]]:
    return text_results()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.4g}")

"""feedparser's own test corpus (its sdist's ``tests/``, fetched by ``offline.feed_corpus``)
served to the RSS connector as its harness serves it: each file at
``http://127.0.0.1:8097/tests/<path>`` with the ``Header:`` lines it states (status,
Location, Content-Location, Content-Type), compressed files decompressed as an HTTP client
would. No socket is opened: a stand-in ``requests`` session answers from the files.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
import requests

from chalicelib.networks.rss.source import Feeds, FeedsOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient

ORIGIN = "http://127.0.0.1:8097/"
NOW = 1_800_000_000
_HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
_EXPECTED_LINK = re.compile(r"entries\[(\d+)\]\['link'\] == '([^']*)'")


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".py")


def stated_headers(body: bytes) -> dict[str, str]:
    return {k.decode().strip(): v.decode("utf-8", "replace").strip() for k, v in _HEADER.findall(body)}


def _decompressed(path: Path, body: bytes) -> bytes:
    """What an HTTP client hands over for the compression tests (the raw bytes when they do not inflate)."""
    try:
        if path.suffix == ".gz":
            return gzip.decompress(body)
        if path.suffix == ".z":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        return body
    return body


class CorpusSession(requests.Session):
    """A requests session answering every GET from the corpus folder, as feedparser's harness does."""

    def __init__(self, root: Path, files: dict[str, Path] | None = None) -> None:
        super().__init__()
        self.root = root
        self.files = files  # path below tests/ -> file, when the files are not laid out as in the sdist

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        resp = requests.Response()
        resp.url = url
        path = urlsplit(url).path
        if path == "/-/return-304.xml":
            resp.status_code, resp._content = 304, b""
            return resp
        rel = path.removeprefix("/tests/")
        file = self.files.get(rel) if self.files is not None else self.root / rel
        if not path.startswith("/tests/") or file is None or not file.is_file():
            resp.status_code, resp._content = 404, b"not found"
            return resp
        body = file.read_bytes()
        headers = stated_headers(body)
        resp.status_code = int(headers.pop("Status", "200"))
        resp.headers.update({"Content-Type": "application/xml", **headers})
        resp._content = _decompressed(file, body)
        return resp


@dataclass
class CorpusRun:
    files: int = 0
    entries: int = 0
    refused: list[str] = field(default_factory=list)  # files answered with a SourceError (named, in words)
    crashes: list[str] = field(default_factory=list)  # files that raised anything else
    wrong_permalinks: list[str] = field(default_factory=list)
    expected_links_checked: int = 0


def _reference_entries(body: bytes, final_url: str, headers: dict[str, str]) -> list[Any]:
    """feedparser's own reading of the body as its harness gets it (base: the address read and
    its Content-Location)."""
    location = urljoin(final_url, headers.get("Content-Location", "")) or final_url
    response_headers = {"content-location": location, "content-type": headers.get("Content-Type", "")}
    return feedparser.parse(io.BytesIO(body), response_headers=response_headers).get("entries") or []


def _http(link: Any) -> str:
    if not isinstance(link, str):
        return ""
    try:
        parts = urlsplit(link)
    except ValueError:
        return ""
    return link if parts.scheme in ("http", "https") and parts.hostname else ""


def permalink_problems(rel: str, feed_url: str, permalinks: list[str], reference: list[Any],
                       expected_links: dict[int, str]) -> list[str]:
    """Wrong permalinks of one feed: a permalink that is the feed's own address while feedparser
    found a link for the entry; one that differs from feedparser's resolved http(s) link; one
    that differs from the link the corpus file's own ``Expect:`` line states."""
    problems = []
    if len(permalinks) != len(reference):
        return [f"{rel}: {len(permalinks)} entries read, feedparser has {len(reference)}"]
    for index, (permalink, entry) in enumerate(zip(permalinks, reference, strict=True)):
        link = entry.get("link") if isinstance(entry, dict) else None
        if link and permalink == feed_url and _http(link) != feed_url:
            problems.append(f"{rel}: entry {index} got the feed's address; its link is {link!r}")
        elif _http(link) and permalink != link:
            problems.append(f"{rel}: entry {index} got {permalink!r}; feedparser resolved {link!r}")
        expected = expected_links.get(index)
        if expected and _http(expected) and permalink != expected:
            problems.append(f"{rel}: entry {index} got {permalink!r}; the file expects {expected!r}")
    return problems


def run_corpus(root: Path) -> CorpusRun:
    run = CorpusRun()
    session = CorpusSession(root)
    for path in corpus_files(root):
        rel = path.relative_to(root).as_posix()
        run.files += 1
        feed_url = ORIGIN + "tests/" + rel
        feeds = Feeds(FeedsOptions(feeds=[feed_url]), http=HttpClient("rss", session=session, retries=0),
                      clock=lambda: NOW)
        try:
            # A cursor that has seen nothing yet, so every entry, dated or not, is a mention.
            feeds.fetch("*", {"feeds": {feed_url: {"seen": []}}}, Budget(deadline=float("inf")))
            entries, permalinks, reference, expected = _read(feeds, session, feed_url, path)
        except SourceError as err:
            run.refused.append(f"{rel}: {err}")
            continue
        except Exception as err:  # the figure counts every crash, whatever it is
            run.crashes.append(f"{rel}: {type(err).__name__}: {err}")
            continue
        run.entries += entries
        run.expected_links_checked += len(expected)
        run.wrong_permalinks += permalink_problems(rel, feed_url, permalinks, reference, expected)
    return run


def _read(feeds: Feeds, session: CorpusSession, feed_url: str, path: Path) -> tuple[int, list[str], list, dict]:
    """The connector's permalinks for every entry of the feed (in order), feedparser's reference
    entries, and the links the file's ``Expect:`` line states, by entry index."""
    resp, final_url, _ = feeds._get_following_redirects(feed_url, feed_url, {}, Budget(deadline=float("inf")))
    if resp.status_code != 200:
        return 0, [], [], {}
    raw = path.read_bytes()
    content_type = resp.headers.get("Content-Type", "")
    location = resp.headers.get("Content-Location", "")
    entries, community, _ = feeds.parse_feed(feed_url, resp.content, content_type, base=final_url,
                                            content_location=location)
    permalinks = [feeds._mention(feed_url, community, entry, NOW).url for entry in entries]
    reference = _reference_entries(resp.content, final_url, dict(resp.headers))
    expect = next((line for line in raw.decode("utf-8", "replace").splitlines() if line.startswith("Expect:")), "")
    expected = {int(i): link for i, link in _EXPECTED_LINK.findall(expect)}
    return len(entries), permalinks, reference, expected


def iter_problems(run: CorpusRun) -> Iterator[str]:
    yield from run.crashes
    yield from run.wrong_permalinks

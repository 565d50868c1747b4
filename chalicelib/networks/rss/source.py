"""RSS and Atom feeds, Google Alerts feeds first among them: every configured feed is read
once a cycle (``fetch("*")``) and filtered locally by the pipeline.

Each feed is fetched with ``If-None-Match``/``If-Modified-Since`` from its cursor; a 304
means nothing new. Entries are told apart by their Atom ``id`` / RSS ``guid`` (else the
link, else a hash of link and title) and remembered as short hashes.

Cursor: ``{"feeds": {feed_url: {"etag": str, "modified": str, "seen": [native ids],
"newest": unix, "moved_to": url | absent}}, "resume": feed_url | absent}``. ``seen`` always
holds every entry of the last answer (a feed shows its latest N entries), plus older ones up to ``remembered_ids``.
An unseen entry dated more than the lookback before ``newest`` is an old item that came
back, not news, and is skipped. When the time budget cuts a cycle short, ``resume`` names
the first feed not read, and the next cycle starts there, so the same feeds are not starved.

``newest`` never passes the cycle's clock: an entry dated in the future is returned with its
claimed date and remembered by id, but moves nothing. Redirects are followed (at most 3,
only to http(s), never from https to http); a 301/308 is remembered in ``moved_to`` and
read there next cycle. Relative links resolve against ``xml:base``, the response's
``Content-Location`` and the address the feed was read from, as feedparser's rules say. An
entry that cannot be read is skipped and counted; the rest of the feed comes through.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import re
import time
import xml.sax
from typing import Any, ClassVar
from urllib.parse import parse_qs, urljoin, urlsplit

import feedparser
import requests
from pydantic import Field, field_validator

from chalicelib.model import Mention
from chalicelib.networks.rss import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    SourceBase,
    SourceError,
    SourceOptions,
    read_each,
)
from chalicelib.text import html_to_text

_GOOGLE_HOSTS = frozenset({"www.google.com", "google.com"})
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
# Values sent back in If-None-Match / If-Modified-Since: visible ASCII and spaces only.
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]{1,200}$")
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})


class FeedsOptions(SourceOptions):
    base_url: str = "https://www.google.com/alerts/feeds"  # unused: every feed has its own URL
    feeds: list[str] = Field(default_factory=list)
    first_run_lookback_hours: int = 24
    remembered_ids: int = 200  # per feed, beyond the entries the feed currently shows

    @field_validator("feeds")
    @classmethod
    def _feeds_are_http_urls(cls, feeds: list[str]) -> list[str]:
        for url in feeds:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
                raise ValueError(f"{url!r} is not an http(s) feed URL")
        return feeds


class Feeds(SourceBase):
    options: FeedsOptions
    spec = SPEC
    # Google Alerts of a small brand can be quiet for days; a week of nothing is worth a look.
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=False, local_stream=True,
                                                        expected_data_hours=168)
    options_model: ClassVar[type[SourceOptions]] = FeedsOptions

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Every entry that is new in any configured feed since ``cursor`` (``query`` is "*":
        feeds are filtered locally). A feed that fails keeps its cursor and makes the result
        incomplete; when every feed that was tried failed, the first error is raised."""
        old: dict[str, Any] = (cursor or {}).get("feeds", {})
        feeds: dict[str, Any] = {url: old[url] for url in self.options.feeds if url in old}
        order = list(dict.fromkeys(self.options.feeds))
        resume = (cursor or {}).get("resume")
        if resume in order:
            order = order[order.index(resume):] + order[: order.index(resume)]
        next_cursor: Cursor = {"feeds": feeds}
        mentions: dict[str, Mention] = {}
        errors: list[SourceError] = []
        skipped: list[str] = []
        pages = 0
        complete = True
        for url in order:
            if budget.exhausted():
                next_cursor["resume"] = url
                complete = False
                break
            try:
                found, feeds[url], feed_skipped = self._fetch_feed(url, old.get(url), budget)
            except SourceError as err:
                errors.append(err)
                complete = False
                continue
            pages += 1
            skipped += feed_skipped
            for mention in found:
                mentions.setdefault(mention.native_id, mention)  # one entry shown by two feeds counts once
        if errors and pages == 0:
            raise errors[0]
        return FetchResult(mentions=list(mentions.values()), cursor=next_cursor, pages=pages, complete=complete,
                           skipped=skipped)

    def _fetch_feed(self, url: str, cursor: dict[str, Any] | None,
                    budget: Budget) -> tuple[list[Mention], dict, list[str]]:
        now = int(self._clock())
        headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.1"}
        if cursor and _HEADER_VALUE.match(str(cursor.get("etag", ""))):
            headers["If-None-Match"] = cursor["etag"]
        if cursor and _HEADER_VALUE.match(str(cursor.get("modified", ""))):
            headers["If-Modified-Since"] = cursor["modified"]
        # A feed that answered 301 before is read at its new address (the configured one stays the key).
        start = str(cursor.get("moved_to", "")) if cursor else ""
        resp, final_url, moved_to = self._get_following_redirects(url, start if _http_url(start) else url, headers,
                                                                  budget)
        if resp.status_code == 304:
            return [], dict(cursor or {}), []
        if resp.status_code != 200:
            raise SourceError(self.name, f"feed {url} answered HTTP {resp.status_code}; check its address")
        entries, community, skipped = self.parse_feed(
            url, resp.content, resp.headers.get("Content-Type", ""),
            base=final_url, content_location=resp.headers.get("Content-Location", ""))

        seen = list(cursor.get("seen", [])) if cursor else []
        known = set(seen)
        # The newest date never passes the cycle's clock: a future-dated entry would hide every later one.
        newest = min(int(cursor["newest"]), now) if cursor and isinstance(cursor.get("newest"), int) else None
        lookback = self.options.first_run_lookback_hours * 3600
        floor = now - lookback if cursor is None else (newest - lookback if newest is not None else None)

        def wanted(entry: dict[str, Any]) -> Mention | None:
            published = entry["published"]
            if entry["native_id"] in known:
                return None
            if cursor is None and published is None:
                return None  # first run: an undated entry may be years old
            if floor is not None and published is not None and published < floor:
                return None
            return self._mention(url, community, entry, now)

        mentions, unreadable = read_each(self.name, entries, wanted)
        skipped += [f"feed {url}: {reason}" for reason in unreadable]

        current = [e["native_id"] for e in entries]
        keep = max(self.options.remembered_ids, len(current))
        next_seen = list(dict.fromkeys(current + seen))[:keep]
        # A future-dated entry is returned with its claimed date (and remembered by id) but moves nothing.
        dates = [e["published"] for e in entries if e["published"] is not None and e["published"] <= now]
        next_cursor: dict[str, Any] = {"seen": next_seen}
        if dates or newest is not None:
            next_cursor["newest"] = max(dates + ([newest] if newest is not None else []))
        for name, header in (("etag", "ETag"), ("modified", "Last-Modified")):
            value = resp.headers.get(header, "")
            if _HEADER_VALUE.match(value):
                next_cursor[name] = value
        if moved_to:
            next_cursor["moved_to"] = moved_to
        return mentions, next_cursor, skipped

    def _get_following_redirects(self, url: str, start: str, headers: dict[str, str],
                                 budget: Budget) -> tuple[requests.Response, str, str]:
        """GET ``start``, following at most ``MAX_REDIRECTS`` redirects to http(s) addresses and never
        from https to http. Returns the last response, its URL, and the address to read next cycle
        when the feed has moved for good (301/308 from the first request on), else ``start`` if it
        differs from ``url``, else ""."""
        current = start
        moved_to = start if start != url else ""
        permanent = True
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.http.request("GET", current, headers=headers, budget=budget, accept=(304,))
            if resp.status_code not in _REDIRECTS:
                return resp, current, moved_to
            location = resp.headers.get("Location", "")
            target = _redirect_target(current, location)
            if not target:
                raise SourceError(self.name, f"feed {url} redirects to {location[:200]!r}, which is not an http(s) "
                                             "address; not followed")
            if urlsplit(current).scheme == "https" and urlsplit(target).scheme == "http":
                raise SourceError(self.name, f"feed {url} redirects from https to http ({target[:200]}); not "
                                             "followed")
            permanent = permanent and resp.status_code in _PERMANENT
            if permanent:
                moved_to = target
            current = target
        raise SourceError(self.name, f"feed {url} redirects more than {MAX_REDIRECTS} times; check its address")

    def parse_feed(self, url: str, body: bytes, content_type: str = "", *, base: str = "",
                   content_location: str = "") -> tuple[list[dict[str, Any]], str, list[str]]:
        """The entries of one feed body as plain dicts (native_id, entry_id, link, title, text,
        published, author, author_url, lang, tags), the feed's community name, and one reason per
        entry that could not be read (skipped, never the whole feed). Relative links resolve
        against ``xml:base``, then ``content_location`` (the response's Content-Location, itself
        relative to the address read), then ``base`` (the address read; ``url`` when not given).
        Raises ``BadPayload`` naming the feed when the body is not an RSS or Atom feed."""
        base = _http_url(base or url)
        location = _redirect_target(base, content_location.strip()) if base and content_location else ""
        try:
            # A file object, never bytes or str: feedparser would open a path or URL given as a string.
            headers = {"content-type": content_type[:200]} if content_type else {}
            if location or base:
                headers["content-location"] = location or base
            parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
        except Exception as err:  # the parser's own failure on hostile input is a bad payload, whatever its type
            raise BadPayload(self.name, f"feed {url}: unreadable ({type(err).__name__})") from None
        entries = parsed.get("entries") or []
        if parsed.get("bozo") and not entries and isinstance(parsed.get("bozo_exception"), xml.sax.SAXException):
            raise BadPayload(self.name, f"feed {url}: not well-formed XML ({_xml_error(parsed.get('bozo_exception'))})")
        if not entries and not parsed.get("version"):
            raise BadPayload(self.name, f"feed {url}: not an RSS or Atom feed")
        feed = parsed.get("feed") if isinstance(parsed.get("feed"), dict) else {}
        community = _plain(feed.get("title"), feed.get("title_detail")) or urlsplit(url).hostname or url
        feed_lang = feed.get("language")
        read, skipped = read_each(self.name, entries, lambda entry: self._entry(entry, feed_lang))
        return read, community, [f"feed {url}: {reason}" for reason in skipped]

    def _entry(self, entry: Any, feed_lang: Any) -> dict[str, Any]:
        if not isinstance(entry, dict):
            raise BadPayload(self.name, "an entry is not a mapping")
        link = _str(entry.get("link"))
        title = _plain(entry.get("title"), entry.get("title_detail"))
        entry_id = _str(entry.get("id")) or link or hashlib.sha256(f"{link}\n{title}".encode()).hexdigest()
        content = entry.get("content")
        body_detail = content[0] if isinstance(content, list) and content and isinstance(content[0], dict) else None
        text = (_plain(body_detail.get("value"), body_detail) if body_detail
                else _plain(entry.get("summary"), entry.get("summary_detail")))
        title_detail = entry.get("title_detail") if isinstance(entry.get("title_detail"), dict) else {}
        lang = title_detail.get("language") or feed_lang
        author_detail = entry.get("author_detail") if isinstance(entry.get("author_detail"), dict) else {}
        tags = entry.get("tags") if isinstance(entry.get("tags"), list) else []
        return {
            "native_id": hashlib.sha256(entry_id.encode("utf-8", "replace")).hexdigest()[:32],
            "entry_id": entry_id[:500],
            "link": _real_link(link),
            "title": title,
            "text": text,
            # dict.get: feedparser's own get() maps a missing key to another one, with a warning.
            "published": _unix(dict.get(entry, "published_parsed")) or _unix(dict.get(entry, "updated_parsed")),
            "author": _str(entry.get("author")).strip(),
            "author_url": _http_url(_str(author_detail.get("href"))),
            "lang": lang if isinstance(lang, str) and _LANG.match(lang) else None,
            "tags": tuple(t["term"] for t in tags if isinstance(t, dict) and isinstance(t.get("term"), str)),
        }

    def _mention(self, feed_url: str, community: str, entry: dict[str, Any], now: int) -> Mention:
        return Mention(
            network=self.name,
            native_id=entry["native_id"],
            url=entry["link"] or feed_url,
            text=entry["text"],
            title=entry["title"],
            created_at=dt.datetime.fromtimestamp(entry["published"] or now, tz=dt.UTC),
            kind="post",
            author_handle=entry["author"],
            author_name=entry["author"],
            author_url=entry["author_url"],
            lang=entry["lang"],
            community=community,
            links=(entry["link"],) if entry["link"] else (),
            tags=entry["tags"],
            thread={"feed": feed_url, "entry_id": entry["entry_id"]},
        )


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _plain(value: Any, detail: Any) -> str:
    """Plain text of a feed text construct: HTML ones are stripped, text ones kept as they are."""
    text = _str(value)
    kind = _str(detail.get("type")) if isinstance(detail, dict) else ""
    return html_to_text(text) if "html" in kind else text.strip()


def _http_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        return url if parts.scheme in ("http", "https") and parts.hostname else ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""


def _redirect_target(current: str, location: str) -> str:
    """The absolute http(s) address a Location or Content-Location header names (relative to
    ``current``), or "" when it names anything else (another scheme, credentials, no host)."""
    try:
        target = urljoin(current, location.strip()) if location.strip() else ""
        parts = urlsplit(target)
        if parts.username or parts.password or any(c.isspace() or ord(c) < 0x20 for c in target):
            return ""
        return _http_url(target)
    except ValueError:
        return ""


def _real_link(link: str) -> str:
    """The article a Google Alerts redirect (``https://www.google.com/url?...&url=<real>``)
    points to; any other http(s) link as it is; "" for anything else."""
    try:
        parts = urlsplit(link)
        if parts.scheme == "https" and parts.hostname in _GOOGLE_HOSTS and parts.path == "/url":
            target = parse_qs(parts.query).get("url", [""])[0]
            if _http_url(target):
                return target
    except ValueError:
        return ""
    return _http_url(link)


def _unix(parsed: Any) -> int | None:
    """Unix seconds of one of feedparser's UTC ``*_parsed`` struct_times, None if absent or absurd."""
    if not isinstance(parsed, time.struct_time):
        return None
    try:
        value = calendar.timegm(parsed)
        dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return value if value >= 0 else None


def _xml_error(err: Any) -> str:
    if err is None:
        return "unknown error"
    message = getattr(err, "getMessage", None)
    text = message() if callable(message) else type(err).__name__
    line = getattr(err, "getLineNumber", None)
    return f"{text} at line {line()}" if callable(line) else str(text)[:200]


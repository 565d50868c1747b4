"""Hacker News through the Algolia ``search_by_date`` API: stories and comments, newest
first, fetched incrementally on ``created_at_i``.

Cursor: ``{"created_at_i": T, "ids": [objectIDs read at or after T - overlap], "gap": [low, high] | absent}``.
Each cycle reads from ``overlap_seconds`` before T (``>=``): Algolia indexes some items
minutes after their ``created_at_i``, and the overlap catches them; the ids read in that
window are remembered, so nothing is returned twice. T never passes the cycle's clock: an
item dated in the future is returned with its claimed date but does not move T. When the
page limit or the time budget stops a walk, ``gap`` remembers the range still to read, and
the next cycle reads it first. A hit that cannot be read is skipped and counted; the rest
of its page comes through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from chalicelib.model import Mention
from chalicelib.networks.hackernews import SPEC
from chalicelib.sources.base import (
    BadPayload,
    BatchedSearch,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    SearchBatching,
    SourceBase,
    SourceOptions,
    read_each,
)
from chalicelib.text import html_to_text

MAX_REMEMBERED_IDS = 2000  # ids kept in the cursor for the overlap window
LATEST_UNIX = 253402300799  # 9999-12-31T23:59:59Z: later "times" are not dates
LIST_LOOKBACK_SECONDS = 3600  # a first by-date listing of all of Hacker News reads the last hour

ITEM_URL = "https://news.ycombinator.com/item?id="
USER_URL = "https://news.ycombinator.com/user?id="


class HackerNewsOptions(SourceOptions):
    base_url: str = "https://hn.algolia.com/api/v1"
    hits_per_page: int = 100
    first_run_lookback_hours: int = 24
    # Algolia indexes some items minutes after their created_at_i: each cycle re-reads this much
    # behind the watermark (ids already read there are remembered). `make bench` measures it.
    overlap_seconds: int = Field(default=600, ge=0, le=86400)


class HackerNews(BatchedSearch, SourceBase):
    options: HackerNewsOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False)
    options_model: ClassVar[type[SourceOptions]] = HackerNewsOptions
    # Several terms: one by-date listing of every new story and comment (``search_by_date`` with
    # an empty query, https://hn.algolia.com/api), filtered by the rules, instead of a search per
    # term; all of Hacker News is ~10 items a minute, one page. Algolia allows 10,000 requests an
    # hour per IP (same page). A first listing reads the last hour, not the whole lookback.
    batching: ClassVar[SearchBatching] = SearchBatching(max_terms=10**6, max_chars=10**9, doc="https://hn.algolia.com/api")

    def _render(self, terms: Sequence[str]) -> str:
        return ""  # the listing takes no query

    def _cursor_floor(self, cursor: Cursor) -> float:
        gap = cursor.get("gap")
        return float(gap[0] if gap else cursor["created_at_i"])

    def _cursor_at(self, floor: float) -> Cursor:
        return {"created_at_i": int(floor), "ids": []}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        if len(terms) == 1:
            return self.fetch(terms[0], cursor, budget)
        return self.fetch("", cursor or self._cursor_at(self._clock() - LIST_LOOKBACK_SECONDS), budget)

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        now = int(self._clock())
        if cursor is None:
            cursor = {"created_at_i": now - self.options.first_run_lookback_hours * 3600, "ids": []}
        # A cursor is never ahead of the cycle's clock, whatever an older version or a bad item left in it.
        watermark = min(int(cursor["created_at_i"]), now)
        seen = set(cursor.get("ids", []))
        gap = cursor.get("gap")
        window = self.options.overlap_seconds
        low, high = (int(gap[0]), int(gap[1])) if gap else (max(0, watermark - window), None)

        raw, pages, complete = self._walk(query, low, high, budget)
        # A hit already read in the overlap window is neither returned nor counted as unreadable again.
        fresh = [hit for hit in raw if _id_and_time(hit)[0] not in seen]
        mentions, skipped = read_each(self.name, fresh, self._read)

        # Only items dated up to now move the watermark: a future-dated one is returned with its
        # claimed date, and re-read (and recognised by id) until the clock reaches it.
        times = {oid: t for oid, t in (_id_and_time(hit) for hit in raw) if oid is not None and t is not None}
        dated = [t for t in times.values() if t <= now]
        next_watermark = watermark if gap else max([watermark, *dated])
        # Every id read in the window behind the watermark is remembered, so re-reading it returns nothing twice.
        recent = {oid for oid, t in times.items() if t >= next_watermark - window}
        kept = recent if complete and gap is None else recent | seen
        next_cursor: Cursor = {"created_at_i": next_watermark, "ids": sorted(kept)[-MAX_REMEMBERED_IDS:]}
        if not complete and times:
            # Read newest first and stopped early: the older part is still to read.
            next_cursor["gap"] = [low, min(times.values())]
        elif not complete and gap:
            next_cursor["gap"] = gap
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete, skipped=skipped)

    def _walk(self, query: str, low: int, high: int | None, budget: Budget) -> tuple[list[dict[str, Any]], int, bool]:
        numeric = f"created_at_i>={low}" + (f",created_at_i<={high}" if high is not None else "")
        search = f'"{query}"' if " " in query else query
        hits: list[dict[str, Any]] = []
        page = 0
        while True:
            if page >= self.options.max_pages or budget.exhausted():
                return hits, page, False
            body, _ = self.http.get_json(
                f"{self.options.base_url}/search_by_date",
                params={
                    "query": search,
                    "tags": "(story,comment)",
                    "numericFilters": numeric,
                    "hitsPerPage": self.options.hits_per_page,
                    "page": page,
                },
                budget=budget,
            )
            page_hits, nb_pages = self._parse_page(body)
            hits.extend(page_hits)
            page += 1
            if page >= nb_pages or not page_hits:
                return hits, page, True

    def _parse_page(self, body: Any) -> tuple[list[dict[str, Any]], int]:
        if not isinstance(body, dict) or not isinstance(body.get("hits"), list):
            raise BadPayload(self.name, "response has no 'hits' list")
        nb_pages = body.get("nbPages", 1)
        if not isinstance(nb_pages, int) or isinstance(nb_pages, bool):
            raise BadPayload(self.name, "'nbPages' is not a number")
        return body["hits"], nb_pages

    def _read(self, hit: Any) -> Mention:
        """One hit as a mention; ``BadPayload`` naming the hit and field when it is not one."""
        if not isinstance(hit, dict):
            raise BadPayload(self.name, "a hit is not an object")
        object_id, created = _id_and_time(hit)
        if object_id is None:
            raise BadPayload(self.name, "a hit's objectID is not a numeric id")
        if created is None:
            raise BadPayload(self.name, f"hit {object_id}: created_at_i is not a Unix time before year 9999")
        for name in ("author", "title", "url", "story_text", "comment_text", "story_title"):
            if hit.get(name) is not None and not isinstance(hit[name], str):
                raise BadPayload(self.name, f"hit {object_id}: {name} is not a string")
        if not isinstance(hit.get("_tags", []), list):
            raise BadPayload(self.name, f"hit {object_id}: _tags is not a list")
        return self._mention(hit, created)

    def _mention(self, hit: dict[str, Any], created: int) -> Mention:
        is_comment = "comment" in hit.get("_tags", [])
        html = hit.get("comment_text") if is_comment else hit.get("story_text")
        author = hit.get("author") or ""
        points = hit.get("points")
        thread = {k: str(hit[k]) for k in ("story_id", "parent_id") if isinstance(hit.get(k), int)}
        story_url = hit.get("url") or ""
        return Mention(
            network=self.name,
            native_id=hit["objectID"],
            url=ITEM_URL + hit["objectID"],
            text=html_to_text(html or ""),
            # Titles are plain text on Hacker News ("Why <script> tags block rendering"): never markup.
            title="" if is_comment else (hit.get("title") or "").strip(),
            created_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            kind="comment" if is_comment else "post",
            author_handle=author,
            author_name=author,
            author_url=USER_URL + quote(author, safe="") if author else "",
            reach=points if isinstance(points, int) and not isinstance(points, bool) else None,
            links=(story_url,) if story_url.startswith(("http://", "https://")) else (),
            thread=thread,
        )


def _id_and_time(hit: Any) -> tuple[str | None, int | None]:
    """A hit's objectID (digits) and created_at_i (a Unix time a datetime can hold), None where not."""
    if not isinstance(hit, dict):
        return None, None
    object_id = hit.get("objectID")
    created = hit.get("created_at_i")
    good_id = isinstance(object_id, str) and object_id.isascii() and object_id.isdigit() and len(object_id) <= 20
    good_time = isinstance(created, int) and not isinstance(created, bool) and 0 <= created <= LATEST_UNIX
    return (object_id if good_id else None), (created if good_time else None)

"""Hacker News through the Algolia ``search_by_date`` API: stories and comments, newest
first, fetched incrementally on ``created_at_i``.

Cursor: ``{"created_at_i": T, "ids": [objectIDs at T], "gap": [low, high] | absent}``.
Items at exactly T are fetched again (``>=``) and dropped by id, so nothing published in
the same second as the watermark is missed. When the page limit or the time budget stops
a walk, ``gap`` remembers the range still to read, and the next cycle reads it first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import quote

from chalicelib.model import Mention
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
)
from chalicelib.text import html_to_text

LIST_LOOKBACK_SECONDS = 3600  # a first by-date listing of all of Hacker News reads the last hour

ITEM_URL = "https://news.ycombinator.com/item?id="
USER_URL = "https://news.ycombinator.com/user?id="


class HackerNewsOptions(SourceOptions):
    base_url: str = "https://hn.algolia.com/api/v1"
    hits_per_page: int = 100
    first_run_lookback_hours: int = 24


class HackerNews(BatchedSearch, SourceBase):
    options: HackerNewsOptions
    name: ClassVar[str] = "hackernews"
    display_name: ClassVar[str] = "Hacker News"
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
        if cursor is None:
            cursor = {"created_at_i": int(self._clock()) - self.options.first_run_lookback_hours * 3600, "ids": []}
        watermark = int(cursor["created_at_i"])
        seen_at_watermark = set(cursor.get("ids", []))
        gap = cursor.get("gap")
        low, high = (int(gap[0]), int(gap[1])) if gap else (watermark, None)

        hits, pages, complete = self._walk(query, low, high, budget)
        mentions = [
            self._mention(hit) for hit in hits
            if not (hit["created_at_i"] == watermark and hit["objectID"] in seen_at_watermark)
        ]

        next_cursor: Cursor = {"created_at_i": watermark, "ids": sorted(seen_at_watermark)}
        if gap is None and hits:
            newest = max(h["created_at_i"] for h in hits)
            if newest > watermark:
                next_cursor = {"created_at_i": newest, "ids": []}
            next_cursor["ids"] = sorted(
                {h["objectID"] for h in hits if h["created_at_i"] == next_cursor["created_at_i"]}
                | (seen_at_watermark if newest == watermark else set())
            )
        if not complete and hits:
            # Read newest first and stopped early: the older part is still to read.
            next_cursor["gap"] = [low, min(h["created_at_i"] for h in hits)]
        elif not complete and gap:
            next_cursor["gap"] = gap
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete)

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
        for index, hit in enumerate(body["hits"]):
            self._check_hit(hit, index)
        return body["hits"], nb_pages

    def _check_hit(self, hit: Any, index: int) -> None:
        if not isinstance(hit, dict):
            raise BadPayload(self.name, f"hits[{index}] is not an object")
        object_id = hit.get("objectID")
        if not isinstance(object_id, str) or not object_id.isdigit() or not object_id.isascii():
            raise BadPayload(self.name, f"hits[{index}].objectID is not a numeric id")
        created = hit.get("created_at_i")
        if not isinstance(created, int) or isinstance(created, bool) or created < 0:
            raise BadPayload(self.name, f"hits[{index}].created_at_i is not a Unix time")
        for name in ("author", "title", "url", "story_text", "comment_text", "story_title"):
            if hit.get(name) is not None and not isinstance(hit[name], str):
                raise BadPayload(self.name, f"hits[{index}].{name} is not a string")
        tags = hit.get("_tags", [])
        if not isinstance(tags, list):
            raise BadPayload(self.name, f"hits[{index}]._tags is not a list")

    def _mention(self, hit: dict[str, Any]) -> Mention:
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
            title="" if is_comment else html_to_text(hit.get("title") or ""),
            created_at=dt.datetime.fromtimestamp(hit["created_at_i"], tz=dt.UTC),
            kind="comment" if is_comment else "post",
            author_handle=author,
            author_name=author,
            author_url=USER_URL + quote(author, safe="") if author else "",
            reach=points if isinstance(points, int) and not isinstance(points, bool) else None,
            links=(story_url,) if story_url.startswith(("http://", "https://")) else (),
            thread=thread,
        )

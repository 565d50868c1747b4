"""Hacker News' Algolia search API (``/api/v1/search_by_date``) over a corpus of hits.

Implements what the connector relies on: ``query`` (words ANDed, a quoted phrase kept
together, case-insensitive over title, story_text, comment_text and url), ``tags``
(comma = AND, parentheses = OR), ``numericFilters`` on ``created_at_i``, newest first,
``hitsPerPage`` and 0-based ``page`` with ``nbPages``.

Late-indexing mode (``HackerNewsAPI(clock=...)``): Algolia makes some items searchable
minutes after their ``created_at_i``. An item is served once the clock reaches its
``indexed_at_i`` (a replay-only key, never served; ``created_at_i`` when absent);
``late(hit, seconds)`` marks one indexed late.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any

from offline.replay.server import Request, Response

_NUMERIC = re.compile(r"^(created_at_i|points|num_comments)(>=|<=|>|<|=)(\d+)$")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "=": operator.eq}
_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Cache-Control": "no-store",
    "Server": "nginx",
}


def _query_terms(query: str) -> list[str]:
    return [t.lower() for t in re.findall(r'"([^"]+)"|(\S+)', query) for t in t if t]


def _tag_groups(tags: str) -> list[set[str]]:
    groups = []
    for part in re.findall(r"\([^)]*\)|[^,]+", tags):
        groups.append({t.strip() for t in part.strip("()").split(",") if t.strip()})
    return groups


class HackerNewsAPI:
    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock  # set: late-indexing mode (items with ``indexed_at_i`` wait for it)

    def _indexed(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = self.clock() if self.clock is not None else None
        return [{k: v for k, v in item.items() if k != "indexed_at_i"} for item in items
                if now is None or item.get("indexed_at_i", item.get("created_at_i", 0)) <= now]

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        items = self._indexed(items)
        if request.path != "/search_by_date":
            return Response.json({"message": "Not Found", "status": 404}, 404)
        try:
            hits_per_page = int(request.param("hitsPerPage", "20") or 20)
            page = int(request.param("page", "0") or 0)
        except ValueError:
            return Response.json({"message": "invalid paging parameters", "status": 400}, 400)
        filters = []
        for clause in (request.param("numericFilters") or "").split(","):
            if not clause:
                continue
            m = _NUMERIC.match(clause.strip())
            if not m:
                return Response.json({"message": f"invalid numericFilters {clause!r}", "status": 400}, 400)
            filters.append((m.group(1), _OPS[m.group(2)], int(m.group(3))))
        terms = _query_terms(request.param("query") or "")
        groups = _tag_groups(request.param("tags") or "")

        def keep(hit: dict[str, Any]) -> bool:
            text = " ".join(str(hit.get(k) or "") for k in ("title", "story_text", "comment_text", "url")).lower()
            tags = set(hit.get("_tags", []))
            return (
                all(term in text for term in terms)
                and all(group & tags for group in groups)
                and all(op(hit.get(field) or 0, value) for field, op, value in filters)
            )

        matching = sorted((h for h in items if keep(h)), key=lambda h: h["created_at_i"], reverse=True)
        nb_pages = math.ceil(len(matching) / hits_per_page) if hits_per_page else 0
        start = page * hits_per_page
        payload = {
            "hits": matching[start : start + hits_per_page],
            "nbHits": len(matching),
            "page": page,
            "nbPages": nb_pages,
            "hitsPerPage": hits_per_page,
            "exhaustiveNbHits": True,
            "exhaustiveTypo": True,
            "query": request.param("query") or "",
            "params": "&".join(f"{k}={v}" for k, v in request.query),
            "processingTimeMS": 1,
        }
        return Response.json(payload, headers=_HEADERS)


def late(hit: dict[str, Any], seconds: int) -> dict[str, Any]:
    """``hit`` as Algolia indexes it ``seconds`` after its ``created_at_i`` (late-indexing mode)."""
    return {**hit, "indexed_at_i": hit["created_at_i"] + seconds}


def story_hit(object_id: int, created_at_i: int, title: str, *, author: str = "pg", url: str = "",
              story_text: str | None = None, points: int = 1) -> dict[str, Any]:
    """A story hit in the shape Algolia returns."""
    import datetime as dt

    return {
        "created_at": dt.datetime.fromtimestamp(created_at_i, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "title": title, "url": url or None, "author": author, "points": points,
        "story_text": story_text, "comment_text": None, "num_comments": 0,
        "story_id": None, "story_title": None, "story_url": None, "parent_id": None,
        "created_at_i": created_at_i,
        "_tags": ["story", f"author_{author}", f"story_{object_id}"],
        "objectID": str(object_id),
    }


def comment_hit(object_id: int, created_at_i: int, comment_text: str, *, story_id: int, story_title: str,
                author: str = "pg", parent_id: int | None = None) -> dict[str, Any]:
    """A comment hit in the shape Algolia returns (``points`` is null on comments now)."""
    import datetime as dt

    return {
        "created_at": dt.datetime.fromtimestamp(created_at_i, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "title": None, "url": None, "author": author, "points": None,
        "story_text": None, "comment_text": comment_text, "num_comments": None,
        "story_id": story_id, "story_title": story_title, "story_url": None,
        "parent_id": parent_id or story_id, "created_at_i": created_at_i,
        "_tags": ["comment", f"author_{author}", f"story_{story_id}"],
        "objectID": str(object_id),
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Hacker News talking about Bean There Café (a Lisbon roastery) in the last minutes."""
    return [
        story_hit(41230001, now - 540, "Show HN: We built the ordering system for Bean There Café in Lisbon",
                  author="tiago_dev", url="https://beanthere.example/blog/ordering", points=87),
        comment_hit(41230002, now - 420, "Bean There Café's cold brew is the reason I moved to Príncipe Real. "
                    "Worth every cent.", story_id=41230001, story_title="Show HN: ordering system", author="mkl"),
        comment_hit(41230003, now - 300, "Can anyone recommend a specialty coffee Lisbon roaster that ships to "
                    "Berlin? Fábrica Coffee was out of stock.", story_id=41230009,
                    story_title="Ask HN: Coffee subscriptions in Europe?", author="jensb"),
        story_hit(41230004, now - 240, "Rust 2.0 released", author="steveklabnik", points=512),
        comment_hit(41230005, now - 120, "Is the Beanbag subscription worth it? Copenhagen Coffee Lab seems "
                    "cheaper &amp; their beans are &quot;fresher&quot;.", story_id=41230009,
                    story_title="Ask HN: Coffee subscriptions in Europe?", author="ana_r"),
    ]


def demo_late_complaint(now: int) -> list[dict[str, Any]]:
    """An urgent complaint that arrives later in the demo."""
    return [
        comment_hit(41230010, now - 20, "Got food poisoning after the brunch at Bean There Café yesterday and "
                    "they were rude when I called. I want a refund.", story_id=41230009,
                    story_title="Ask HN: Coffee subscriptions in Europe?", author="paulo_m"),
    ]

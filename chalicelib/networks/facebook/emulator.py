"""The Facebook Page's Graph API endpoints on the offline replay server (the shared Graph API
emulation of ``instagram/emulator.py``: token, usage headers, code 4, ``debug_token``), over a
corpus of Page posts in the API's shape (each with its ``comments``, and their replies as
``comments``), and signed ``page`` webhook deliveries.

Items: the Page's feed (its own posts and visitor posts); ``"_edge": "tagged"`` posts that
mention the Page; ``"_edge": "ratings"`` recommendations. Endpoints (below ``/<version>/``):
``GET {page-id}/feed`` (``limit``, ``after``; comments cut to ``comments.limit(n)``),
``GET {post-id}/comments``, ``GET {page-id}/tagged``, ``GET {page-id}/ratings``, ``GET {object-id}``,
``POST {object-id}/comments`` (form ``message``, at most 8000 characters; kept in ``posted``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.networks.instagram.emulator import (
    GraphAPIBase,
    _comments_limit,
    _error,
    _offset,
    _page,
    _served,
    iso,
)
from offline.replay.server import Request, Response

PAGE_ID = "1067280970047460"
PAGE_NAME = "Bean There Café"


def facebook_post(n: int, t: float, text: str, *, visitor: bool = False, comments: int = 1) -> dict[str, Any]:
    """Post ``n`` of the Page's feed at ``t`` (the Page's own, or with ``visitor`` someone else's whose
    message is ``text``), with ``comments`` comments whose message is ``text`` (a second apart)."""
    post_id = f"{PAGE_ID}_{1000 + n}"
    author = {"id": str(5550000 + n), "name": f"Guest {n}"} if visitor else {"id": PAGE_ID, "name": PAGE_NAME}
    data = [{"id": f"{1000 + n}_{2000 + n * 100 + i}", "message": text, "created_time": iso(t - i),
             "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{1000 + n}/?comment_id={2000 + n * 100 + i}",
             "from": {"id": str(7770000 + n), "name": f"Guest {n}"}} for i in range(comments)]
    return {"id": post_id, "message": text if visitor else "Fresh croissants today", "created_time": iso(t),
            "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/{1000 + n}/", "from": author,
            "comments": {"data": data}}


def tagged_post(n: int, t: float, text: str) -> dict[str, Any]:
    """Someone's post ``n`` that mentions the Page."""
    return {"_edge": "tagged", "id": f"{8880000 + n}_{9990000 + n}", "message": text, "created_time": iso(t),
            "permalink_url": f"https://www.facebook.com/{8880000 + n}/posts/{9990000 + n}/",
            "from": {"id": str(8880000 + n), "name": f"Critic {n}"}}


def recommendation(n: int, t: float, text: str, *, positive: bool) -> dict[str, Any]:
    """A recommendation of the Page (``/{page-id}/ratings``)."""
    return {"_edge": "ratings", "created_time": iso(t), "recommendation_type": "positive" if positive else "negative",
            "review_text": text, "has_review": True, "reviewer": {"id": str(6660000 + n), "name": f"Reviewer {n}"},
            "open_graph_story": {"id": f"{6660000 + n}_{4440000 + n}"}}


def feed_event(value: dict[str, Any], *, page: str = PAGE_ID, at: int | None = None) -> dict[str, Any]:
    """A ``page`` delivery of the ``feed`` field (value as the Page webhooks reference lists it)."""
    return {"object": "page", "entry": [{"id": page, "time": at if at is not None else value.get("created_time", 1),
                                         "changes": [{"field": "feed", "value": value}]}]}


def rating_event(item: dict[str, Any], *, page: str = PAGE_ID) -> dict[str, Any]:
    """The ``ratings`` delivery of recommendation ``item``."""
    when = int(dt.datetime.fromisoformat(item["created_time"]).timestamp())
    value = {"item": "rating", "verb": "add", "reviewer_id": item["reviewer"]["id"],
             "reviewer_name": item["reviewer"]["name"], "recommendation_type": item["recommendation_type"],
             "review_text": item["review_text"], "open_graph_story_id": item["open_graph_story"]["id"],
             "created_time": when}
    return {"object": "page", "entry": [{"id": page, "time": when, "changes": [{"field": "ratings", "value": value}]}]}


class FacebookAPI(GraphAPIBase):
    def __init__(self, tokens: tuple[str, ...] = ("fb-page-token",), page_id: str = PAGE_ID,
                 call_limit: int = 10**9) -> None:
        super().__init__(tokens, page_id, call_limit)
        self.page_id = page_id

    def _route(self, request: Request, parts: list[str], items: list[dict[str, Any]]) -> Response:
        path = "/" + "/".join(parts)
        feed = self._edge(items, None)
        node, edge = parts[1], (parts[2] if len(parts) == 3 else None)
        if request.method == "POST" and edge == "comments" and len(parts) == 3:
            if not any(node == o["id"] for o in self._objects(items)):
                return _error("Unsupported post request. Object with ID does not exist", 100)
            return self._record(request, node, edge, 8000)
        if request.method != "GET" or len(parts) not in (2, 3):
            return _error("Unsupported request", 100)
        limit = int(request.param("limit") or 25) if (request.param("limit") or "25").isdigit() else 25
        offset = _offset(request.param("after"))
        if offset is None:
            return _error("Invalid cursor", 100)
        if node == self.page_id and edge == "feed":
            comments_limit = _comments_limit(request.param("fields") or "")
            rows = [self._with_comments(post, comments_limit) for post in feed]
            return Response.json(_page(rows, offset, limit, path))
        if node == self.page_id and edge in ("tagged", "ratings"):
            return Response.json(_page([_served(i) for i in self._edge(items, edge)], offset, limit, path))
        if edge == "comments":
            post = next((p for p in feed if p["id"] == node), None)
            if post is None:
                return _error("Unsupported get request. Object with ID does not exist", 100)
            return Response.json(_page(_data(post), offset, limit, path))
        found = next((o for o in self._objects(items) if o["id"] == node), None)
        if found is None or edge is not None:
            return _error("Unsupported get request. Object with ID does not exist", 100)
        return Response.json({k: v for k, v in _served(found).items() if k != "comments"})

    def _edge(self, items: list[dict[str, Any]], edge: str | None) -> list[dict[str, Any]]:
        latest: dict[str, dict[str, Any]] = {}
        for item in items:
            if isinstance(item, dict) and item.get("_edge") == edge:
                key = item["open_graph_story"]["id"] if edge == "ratings" else item["id"]
                latest[key] = item
        return sorted(latest.values(), key=lambda i: i["created_time"], reverse=True)

    def _objects(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every post and comment (and recommendation story) that can be read or commented on."""
        found: list[dict[str, Any]] = []
        for post in self._edge(items, None) + self._edge(items, "tagged"):
            found.append(post)
            for comment in _data(post):
                found += [comment, *_data(comment)]
        found += [{"id": r["open_graph_story"]["id"]} for r in self._edge(items, "ratings")]
        return found

    def _with_comments(self, post: dict[str, Any], limit: int) -> dict[str, Any]:
        served = _served(post)
        if "comments" in post:
            served["comments"] = _page(_data(post), 0, limit, f"/{post['id']}/comments")
        return served


def _data(item: dict[str, Any]) -> list[dict[str, Any]]:
    comments = item.get("comments")
    data = comments.get("data") if isinstance(comments, dict) else None
    rows = [c for c in data if isinstance(c, dict)] if isinstance(data, list) else []
    return sorted(rows, key=lambda c: str(c.get("created_time", "")), reverse=True)


def demo_items(now: float, business: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A visitor's question, a comment complaint, a post that mentions the Page, a negative recommendation."""
    return [facebook_post(1, now - 3 * 3600, "Are you open on the public holiday?", visitor=True, comments=0),
            facebook_post(2, now - 1800, "The cortado was cold and nobody cared."),
            tagged_post(1, now - 5400, "Great brunch at Bean There Café this morning"),
            recommendation(1, now - 900, "Rude staff, waited 20 minutes for a coffee.", positive=False)]

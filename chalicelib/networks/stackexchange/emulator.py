"""Stack Exchange API 2.3 ``/search/advanced`` over a corpus of questions.

Implements what the connector relies on: ``site`` (each corpus item carries the API site
name it lives on in ``_site``, dropped from answers), ``q`` (every word, case-insensitive,
in the title or body), ``fromdate``/``todate`` (inclusive, on ``creation_date``),
``sort=creation&order=desc``, ``pagesize`` and 1-based ``page`` with ``has_more``, the
common wrapper (``quota_max``/``quota_remaining`` counted per key or per IP, ``backoff``
when configured), ``filter=withbody`` (otherwise ``body`` is left out) and errors as HTTP
400 with ``error_id``/``error_name``/``error_message``.

Replies: ``POST /posts/{id}/comments/add`` (form ``site``, ``body``, ``access_token``, ``key``):
an access token not in ``access_tokens`` is error 402 ``invalid_access_token`` (none: 401),
no key 400, a body outside 15-600 characters 400 ``bad_parameter``, a question not in the
corpus 400, an account under 50 reputation (``reputation``) 407 ``write_failed``, and a
second write within 5 s 502 ``throttle_violation``. Answers the comment in the common
wrapper; what was posted is kept in ``posted``.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import parse_qsl

from offline.replay.server import Request, Response

_HEADERS = {
    "Cache-Control": "private",
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Credentials": "false",
}
_COMMENT_PATH = re.compile(r"^/posts/(\d+)/comments/add$")
_SITE_HOSTS = {"stackoverflow": "stackoverflow.com", "superuser": "superuser.com", "serverfault": "serverfault.com",
               "askubuntu": "askubuntu.com"}


def _error(error_id: int, name: str, message: str) -> Response:
    return Response.json({"error_id": error_id, "error_message": message, "error_name": name}, 400, _HEADERS)


class StackExchangeAPI:
    """``valid_keys``: when given, any other ``key`` is refused like the real API does.
    ``backoff``: seconds put in the ``backoff`` field of every answer (None: never)."""

    def __init__(self, *, quota_max: int = 10000, valid_keys: set[str] | None = None,
                 backoff: int | None = None) -> None:
        self.quota_max = quota_max
        self.valid_keys = valid_keys
        self.backoff = backoff
        self.quota_used: dict[str, int] = {}
        self.access_tokens: set[str] = {"write-token"}
        self.reputation = 120  # the token's user on every site
        self.posted: list[dict[str, Any]] = []  # comments made, with "_site" and "body"
        self._last_write = 0.0

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        comment_path = _COMMENT_PATH.match(request.path)
        if request.method == "POST" and comment_path:
            return self._add_comment(request, items, int(comment_path.group(1)))
        if request.path not in ("/search/advanced", "/questions"):  # /questions: the site's newest, no q
            return _error(404, "no_method", "no method found with this name")
        key = request.param("key")
        if key is not None and self.valid_keys is not None and key not in self.valid_keys:
            return _error(400, "bad_parameter", "key")
        site = request.param("site")
        if not site:
            return _error(400, "bad_parameter", "site is required")
        try:
            page = int(request.param("page", "1") or 1)
            page_size = int(request.param("pagesize", "30") or 30)
            fromdate = int(request.param("fromdate") or 0)
            todate = int(request.param("todate")) if request.param("todate") else None  # None: no upper end
        except ValueError:
            return _error(400, "bad_parameter", "page, pagesize, fromdate and todate are integers")
        if not 1 <= page_size <= 100 or page < 1:
            return _error(400, "bad_parameter", "pagesize")
        quota_max = self.quota_max if key else min(self.quota_max, 300)
        used = self.quota_used.get(key or "ip", 0) + 1
        self.quota_used[key or "ip"] = used
        if used > quota_max:
            return _error(502, "throttle_violation",
                          "too many requests from this IP, more requests available in 3600 seconds")
        words = [w.lower() for w in (request.param("q") or "").split()]

        def keep(q: dict[str, Any]) -> bool:
            text = html.unescape(f"{q.get('title', '')} {q.get('body', '')}").lower()
            return (
                q.get("_site") == site
                and fromdate <= q["creation_date"] and (todate is None or q["creation_date"] <= todate)
                and all(w in text for w in words)
            )

        matching = sorted((q for q in items if keep(q)), key=lambda q: q["creation_date"], reverse=True)
        start = (page - 1) * page_size
        with_body = request.param("filter") == "withbody"
        shown = [
            {k: v for k, v in q.items() if k != "_site" and (with_body or k != "body")}
            for q in matching[start : start + page_size]
        ]
        payload: dict[str, Any] = {
            "items": shown,
            "has_more": start + page_size < len(matching),
            "quota_max": quota_max,
            "quota_remaining": quota_max - used,
        }
        if self.backoff is not None:
            payload["backoff"] = self.backoff
        return Response.json(payload, headers=_HEADERS)


    def _add_comment(self, request: Request, items: list[dict[str, Any]], post_id: int) -> Response:
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        if not form.get("access_token"):
            return _error(401, "access_token_required", "access_token is required for write methods")
        if form["access_token"] not in self.access_tokens:
            return _error(402, "invalid_access_token", "access_token is invalid")
        if not form.get("key") or (self.valid_keys is not None and form["key"] not in self.valid_keys):
            return _error(400, "bad_parameter", "key")
        site, body = form.get("site"), form.get("body", "")
        if not 15 <= len(body.strip()) <= 600:
            return _error(400, "bad_parameter", "body must be between 15 and 600 characters")
        if not any(q["_site"] == site and q["question_id"] == post_id for q in items):
            return _error(400, "bad_parameter", "id")
        if self.reputation < 50:
            return _error(407, "write_failed", "You must have 50 reputation to comment")
        now = time.time()
        if now - self._last_write < 5:
            return _error(502, "throttle_violation", "too many writes from this user, more requests available in "
                          f"{5 - int(now - self._last_write)} seconds")
        self._last_write = now
        quota_used = self.quota_used.get(form["key"], 0) + 1
        self.quota_used[form["key"]] = quota_used
        comment = {
            "owner": {"account_id": 4242, "reputation": self.reputation, "user_id": 4141, "user_type": "registered",
                      "display_name": "Bean There Caf&#233;"},
            "edited": False, "score": 0, "creation_date": int(now), "post_id": post_id,
            "comment_id": 140_000_000 + len(self.posted), "content_license": "CC BY-SA 4.0",
        }
        self.posted.append({**comment, "_site": site, "body": body})
        payload: dict[str, Any] = {"items": [comment], "has_more": False, "quota_max": self.quota_max,
                                   "quota_remaining": self.quota_max - quota_used}
        if self.backoff is not None:
            payload["backoff"] = self.backoff
        return Response.json(payload, headers=_HEADERS)


def question(question_id: int, creation_date: int, title: str, body_html: str, *, site: str = "stackoverflow",
             user_id: int = 1, display_name: str = "rosa", reputation: int = 101, tags: list[str] | None = None,
             score: int = 0, is_answered: bool = False) -> dict[str, Any]:
    """A question in the shape ``/search/advanced?filter=withbody`` returns, plus ``_site``.
    ``title`` and ``display_name`` are given as plain text and HTML-encoded as the API does."""
    host = _SITE_HOSTS.get(site, f"{site}.stackexchange.com")
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "question"
    return {
        "_site": site,
        "tags": tags or [],
        "owner": {
            "reputation": reputation,
            "user_id": user_id,
            "user_type": "registered",
            "profile_image": f"https://www.gravatar.com/avatar/{user_id:032x}?s=256&d=identicon&r=PG",
            "display_name": html.escape(display_name),
            "link": f"https://{host}/users/{user_id}/{slug[:20]}",
        },
        "is_answered": is_answered,
        "view_count": 3,
        "answer_count": 0,
        "score": score,
        "last_activity_date": creation_date,
        "creation_date": creation_date,
        "question_id": question_id,
        "content_license": "CC BY-SA 4.0",
        "link": f"https://{host}/questions/{question_id}/{slug}",
        "title": html.escape(title),
        "body": body_html,
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Six recent questions about coffee in Lisbon, most naming Bean There Café (two are noise)."""
    return [
        question(79900001, now - 60, "Bean There Café online shop returns 502 at checkout",
                 "<p>I tried to buy a <strong>Beanbag subscription</strong> from Bean There Café three times "
                 "today and every time the payment page fails with a 502. Is their Shopify API down? "
                 "Very frustrating &mdash; my order is still missing.</p>",
                 site="stackoverflow", user_id=4411, display_name="Inês Duarte", reputation=2310,
                 tags=["shopify", "http-status-code-502"]),
        question(1201, now - 140, "How long should cold brew steep for a light roast?",
                 "<p>Bean There Café in Lisbon says their <em>Cold brew</em> steeps for 16 hours. "
                 "Is that too long for a light roast? Fábrica Coffee seems to do 12.</p>",
                 site="coffee", user_id=88, display_name="João", reputation=455, tags=["cold-brew", "steeping"]),
        question(79900002, now - 200, "Parsing café names with accents (é) in Python",
                 "<p>Scraping a list like <code>Bean There Café, Copenhagen Coffee Lab</code> gives me "
                 "<code>Caf\\xc3\\xa9</code>. How do I decode it properly?</p>",
                 site="stackoverflow", user_id=9021, display_name="dev_pt", reputation=78,
                 tags=["python", "unicode"]),
        question(1202, now - 260, "Which Lisbon roasteries sell single-origin beans by mail?",
                 "<p>I liked Bean There Café's Ethiopian. Do they or Copenhagen Coffee Lab ship to Porto?</p>",
                 site="coffee", user_id=91, display_name="Marta 😊", reputation=12, tags=["beans", "portugal"]),
        question(79900003, now - 320, "Docker compose healthcheck never succeeds",
                 "<p>My healthcheck for postgres never turns healthy. Compose file below.</p>",
                 site="stackoverflow", user_id=310, display_name="kev", reputation=5012, tags=["docker"]),
        question(1203, now - 400, "Best grind size for AeroPress?",
                 "<p>Medium-fine works for me, but what do baristas recommend?</p>",
                 site="coffee", user_id=92, display_name="Ana", reputation=7, tags=["aeropress", "grind"]),
    ]

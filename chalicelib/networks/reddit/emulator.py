"""Reddit's OAuth API over a corpus of things (``{"kind": "t3"|"t1", "data": {...}}``).

Implements what the connector relies on: the password grant at
``POST /api/v1/access_token`` (HTTP basic client id/secret; a wrong password is a 200
``{"error": "invalid_grant"}`` as on Reddit), bearer tokens on every API call (401
otherwise), ``GET /search`` (words ANDed over title and selftext, ``type=link``, ``t``
window, ``sort=new``), ``GET /r/<a+b>/new`` and ``/r/<a+b>/comments``, Listing paging
with ``after``/``before`` fullnames and ``limit`` (max 100), and the
``x-ratelimit-used/remaining/reset`` headers over a 600 s window.

Replies: ``POST /api/comment`` (form ``api_type=json``, ``thing_id``, ``text``) answers as
Reddit does, HTTP 200 with ``{"json": {"errors": [[code, message, field]], "data": {"things":
[t1]}}}``: ``NO_TEXT``, ``TOO_LONG`` (over 10000 characters), ``THREAD_LOCKED`` (a locked post),
``DELETED_LINK`` (unknown thing) and ``RATELIMIT`` (while ``comment_wait_minutes`` is set).
Posted comments are kept in ``posted``.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

from offline.replay.queries import any_of, matches_any
from offline.replay.server import Request, Response

_WINDOWS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 31 * 86400, "year": 366 * 86400}
_SUBREDDIT_PATH = re.compile(r"^/r/([A-Za-z0-9_.+-]+)/(new|comments)$")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    out = ""
    while True:
        number, digit = divmod(number, 36)
        out = _BASE36[digit] + out
        if not number:
            return out


class RedditAPI:
    """One emulated Reddit with one approved script app and one account."""

    def __init__(self, client_id: str = "app-client-id", client_secret: str = "app-client-secret",  # noqa: S107
                 username: str = "beanthere", password: str = "hunter2", expires_in: int = 86400,  # noqa: S107
                 allowance: int = 1000) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.expires_in = expires_in
        self.allowance = allowance  # requests per 600 s window
        self.tokens: set[str] = set()
        self._window_start = time.time()
        self._used = 0
        self.posted: list[dict[str, Any]] = []  # t1 things made by /api/comment
        self.comment_wait_minutes: int | None = None  # set: /api/comment answers RATELIMIT

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after its expires_in)."""
        self.tokens.clear()

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.path == "/api/v1/access_token":
            return self._access_token(request)
        auth = request.headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or auth[7:] not in self.tokens:
            return Response.json({"message": "Unauthorized", "error": 401}, 401, self._rate_headers())
        headers = self._rate_headers()
        if request.path == "/api/comment" and request.method == "POST":
            return self._comment(request, items, headers)
        if request.path == "/search":
            if request.param("type", "link") != "link":
                return Response.json({"message": "only type=link is emulated", "error": 400}, 400, headers)
            window = _WINDOWS.get(request.param("t") or "all")
            since = time.time() - window if window else 0
            alternatives = any_of(request.param("q") or "", " OR ")
            things = [
                t for t in items
                if t["kind"] == "t3" and t["data"]["created_utc"] >= since
                and matches_any(alternatives, t["data"]["title"] + " " + t["data"]["selftext"])
            ]
            return self._listing(request, things, headers)
        m = _SUBREDDIT_PATH.match(request.path)
        if m:
            subs = {s.lower() for s in m.group(1).split("+")}
            kind = "t3" if m.group(2) == "new" else "t1"
            things = [t for t in items if t["kind"] == kind and t["data"]["subreddit"].lower() in subs]
            return self._listing(request, things, headers)
        return Response.json({"message": "Not Found", "error": 404}, 404, headers)

    def _access_token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("authorization", "") != f"Basic {expected}":
            return Response.json({"message": "Unauthorized", "error": 401}, 401)
        form = dict(parse_qsl(request.body.decode()))
        if form.get("grant_type") != "password":
            return Response.json({"error": "unsupported_grant_type"})
        if form.get("username") != self.username or form.get("password") != self.password:
            return Response.json({"error": "invalid_grant"})
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return Response.json({"access_token": token, "token_type": "bearer", "expires_in": self.expires_in,
                              "scope": "*"})

    def _rate_headers(self) -> dict[str, str]:
        now = time.time()
        if now - self._window_start >= 600:
            self._window_start, self._used = now, 0
        self._used += 1
        return {
            "x-ratelimit-used": str(self._used),
            "x-ratelimit-remaining": f"{max(0, self.allowance - self._used):.1f}",
            "x-ratelimit-reset": str(int(600 - (now - self._window_start))),
            "cache-control": "private, s-maxage=0, max-age=0, must-revalidate, no-store",
        }

    def _listing(self, request: Request, things: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        ordered = sorted(things, key=lambda t: (t["data"]["created_utc"], t["data"]["name"]), reverse=True)
        names = [t["data"]["name"] for t in ordered]
        try:
            limit = max(1, min(100, int(request.param("limit", "25") or 25)))
        except ValueError:
            limit = 25
        after, before = request.param("after"), request.param("before")
        if after:
            start = names.index(after) + 1 if after in names else len(names)
            page = ordered[start : start + limit]
        elif before:
            end = names.index(before) if before in names else 0
            start = max(0, end - limit)
            page = ordered[start:end]
        else:
            start = 0
            page = ordered[:limit]
        more_after = start + len(page) < len(ordered)
        payload = {
            "kind": "Listing",
            "data": {
                "after": page[-1]["data"]["name"] if page and more_after else None,
                "dist": len(page),
                "modhash": None,
                "geo_filter": "",
                "children": page,
                "before": page[0]["data"]["name"] if page and start > 0 else None,
            },
        }
        return Response.json(payload, headers=headers)


    def _comment(self, request: Request, items: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))

        def refused(code: str, message: str, field: str) -> Response:
            return Response.json({"json": {"errors": [[code, message, field]]}}, headers=headers)

        if self.comment_wait_minutes is not None:
            return refused("RATELIMIT", "Looks like you've been doing that a lot. Take a break for "
                           f"{self.comment_wait_minutes} minutes before trying again.", "ratelimit")
        text = form.get("text", "")
        if not text.strip():
            return refused("NO_TEXT", "we need something here", "text")
        if len(text) > 10000:
            return refused("TOO_LONG", "this is too long (max: 10000)", "text")
        parent = next((t for t in [*items, *self.posted] if t["data"]["name"] == form.get("thing_id")), None)
        if parent is None:
            return refused("DELETED_LINK", "the link you are commenting on has been deleted", "parent")
        if parent["data"].get("locked"):
            return refused("THREAD_LOCKED", "Comments are locked.", "parent")
        data = parent["data"]
        link_id = data["name"] if parent["kind"] == "t3" else data["link_id"]
        parts = data["permalink"].strip("/").split("/")  # r, <sub>, comments, <link>, <slug>[, <comment>]
        sub, link, slug = parts[1], link_id[3:], parts[4]
        comment_id = _base36(2_000_000_000 + len(self.posted))
        now = time.time()
        thing = {"kind": "t1", "data": {
            "id": comment_id, "name": f"t1_{comment_id}", "parent_id": data["name"], "link_id": link_id,
            "body": text, "body_html": None, "author": self.username, "subreddit": sub,
            "permalink": f"/r/{sub}/comments/{link}/{slug}/{comment_id}/", "created": now, "created_utc": now,
            "score": 1, "ups": 1, "downs": 0, "replies": "", "stickied": False, "edited": False,
        }}
        self.posted.append(thing)
        return Response.json({"json": {"errors": [], "data": {"things": [thing]}}}, headers=headers)


def title_slug(title: str, max_length: int = 50) -> str:
    """The slug Reddit puts in a permalink: whitespace becomes ``_``, every other character
    that is not a Unicode word character is dropped, runs of ``_`` become one, the result is
    lowercased and cut at a word boundary near 50 characters (reddit's ``title_to_url``,
    reddit-archive/reddit r2/r2/lib/utils/utils.py). Korean, Hindi or accented titles keep
    their letters; a title with no word character is ``_``."""
    slug = re.sub(r"\s+", "_", title)
    slug = re.sub(r"\W+", "", slug)
    slug = re.sub(r"_+", "_", slug).strip("_").lower()
    if len(slug) > max_length:
        slug = slug[:max_length]
        cut = slug.rfind("_")
        slug = slug[:cut] if cut > 0 else slug
    return slug or "_"


def post(number: int, created_utc: float, title: str, *, selftext: str = "", subreddit: str = "lisbon",
         author: str = "coffee_fan", score: int = 1, url: str = "") -> dict[str, Any]:
    """A t3 (link/self post) thing in the shape Reddit's listings return."""
    post_id = _base36(number)
    slug = title_slug(title)
    permalink = f"/r/{subreddit}/comments/{post_id}/{slug}/"
    return {
        "kind": "t3",
        "data": {
            "id": post_id, "name": f"t3_{post_id}", "title": title, "selftext": selftext,
            "selftext_html": None, "author": author, "author_fullname": "t2_" + _base36(number + 7),
            "subreddit": subreddit, "subreddit_name_prefixed": f"r/{subreddit}", "subreddit_id": "t5_2qh1i",
            "permalink": permalink, "url": url or f"https://www.reddit.com{permalink}", "is_self": not url,
            "domain": f"self.{subreddit}" if not url else url.split("/")[2],
            "created": float(created_utc), "created_utc": float(created_utc), "score": score, "ups": score,
            "upvote_ratio": 1.0, "num_comments": 0, "over_18": False, "locked": False, "stickied": False,
        },
    }


def comment(number: int, created_utc: float, body: str, *, link_number: int, link_title: str = "",
            subreddit: str = "lisbon", author: str = "coffee_fan", score: int = 1,
            parent: str | None = None) -> dict[str, Any]:
    """A t1 (comment) thing in the shape ``/r/<sub>/comments`` returns."""
    comment_id, link_id = _base36(number), _base36(link_number)
    return {
        "kind": "t1",
        "data": {
            "id": comment_id, "name": f"t1_{comment_id}", "body": body, "body_html": None,
            "author": author, "subreddit": subreddit, "subreddit_id": "t5_2qh1i",
            "link_id": f"t3_{link_id}", "parent_id": parent or f"t3_{link_id}", "link_title": link_title,
            "permalink": f"/r/{subreddit}/comments/{link_id}/comment/{comment_id}/",
            "link_permalink": f"https://www.reddit.com/r/{subreddit}/comments/{link_id}/",
            "created": float(created_utc), "created_utc": float(created_utc), "score": score, "ups": score,
            "controversiality": 0, "stickied": False,
        },
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """About six Reddit things from the last few minutes around "Bean There Café" in Lisbon."""
    return [
        post(900001, now - 540, "Best specialty coffee in Lisbon? Bean There Café vs Fábrica Coffee",
             selftext="Visiting next week. Is Bean There Café worth the trip from Baixa? Do they do cold brew?",
             subreddit="lisbon", author="travel_mia", score=14),
        comment(900101, now - 420, "Bean There Café's cold brew is the best I've had in Lisbon. Friendly staff too ☕",
                link_number=900001, link_title="Best specialty coffee in Lisbon?", author="lx_local", score=9),
        comment(900102, now - 300, "Ordered the Beanbag subscription from Bean There Café 3 weeks ago & still "
                "nothing arrived. No reply to emails either. Pretty disappointed.",
                link_number=900001, link_title="Best specialty coffee in Lisbon?", author="grumpy_grinder", score=3),
        post(900002, now - 240, "Copenhagen Coffee Lab opened a new spot in Alfama",
             selftext="Anyone tried it yet? Looks nice.", subreddit="lisboa", author="alfama_walks", score=5),
        post(900003, now - 150, "Does anyone know if Bean There Café roasts decaf?",
             selftext="Looking for a good decaf for my partner. Their Beanbag subscription page doesn't say.",
             subreddit="Coffee", author="decaf_dan", score=2),
        post(900004, now - 60, "Tram 28 tips for a first visit?", selftext="Going early morning, any advice?",
             subreddit="lisbon", author="first_timer", score=1),
    ]

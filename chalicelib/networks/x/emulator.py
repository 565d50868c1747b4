"""X API v2 recent search (``GET /2/tweets/search/recent``) over a corpus of posts, in the shapes of the
documentation's examples (chalicelib/networks/x/contract/, cited in its README).

Implements what the connector relies on: an app bearer token (anything else: 401 with the problem body
``{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}``), ``query``
(required: 400 invalid-request problem; alternatives split on `` OR ``, quoted phrases kept, ``-is:retweet``
honoured, words case-insensitive), ``max_results`` (10-100, else 400), ``since_id`` (exclusive),
``start_time`` (inclusive, ISO 8601), newest first with an opaque ``next_token``; ``expansions=author_id`` puts
each author once in ``includes.users``; an empty answer is ``{"meta": {"result_count": 0}}``. Rate-limit
headers ``x-rate-limit-limit/-remaining/-reset`` (450 a 15-minute window). ``posts_served`` and
``users_served`` count what X would bill.

Each corpus item is a post object with its author under ``_user`` (served in ``includes.users``).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from offline.replay.queries import any_of, matches_any
from offline.replay.server import Request, Response

TWITTER_EPOCH_MS = 1288834974657
WINDOW_SECONDS, WINDOW_LIMIT = 900, 450


def snowflake(unix: float, sequence: int = 0) -> int:
    """A post id made at ``unix`` (X's ids are snowflakes: milliseconds since its epoch << 22)."""
    return ((int(unix * 1000) - TWITTER_EPOCH_MS) << 22) | (sequence & 0xFFF)


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _problem(status: int, title: str, detail: str, kind: str) -> Response:
    return Response.json({"title": title, "detail": detail, "type": kind, **({"status": status} if status == 401
                                                                               else {})}, status,
                         {"Content-Type": "application/problem+json"})


class XAPI:
    def __init__(self, bearer_token: str = "AAAAAAAAAAAAAAAAAAAAAbeanthere-demo-token") -> None:  # noqa: S107
        self.bearer_token = bearer_token
        self.posts_served = 0
        self.users_served = 0
        self._window_start = time.time()
        self._used = 0

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.path != "/2/tweets/search/recent":
            return _problem(404, "Not Found Error", "The requested resource was not found.",
                            "https://api.x.com/2/problems/resource-not-found")
        if request.headers.get("authorization", request.headers.get("Authorization")) != f"Bearer {self.bearer_token}":
            return _problem(401, "Unauthorized", "Unauthorized", "about:blank")
        query = request.param("query")
        if not query:
            return _problem(400, "Invalid Request", "The 'query' parameter is required.",
                            "https://api.x.com/2/problems/invalid-request")
        try:
            size = int(request.param("max_results", "10") or 10)
            offset = int(request.param("next_token", "0") or "0", 36)
        except ValueError:
            return _problem(400, "Invalid Request", "One or more parameters to your request was invalid.",
                            "https://api.x.com/2/problems/invalid-request")
        if not 10 <= size <= 100:
            return _problem(400, "Invalid Request", f"The `max_results` query parameter value [{size}] is not "
                            "between 10 and 100", "https://api.x.com/2/problems/invalid-request")
        headers = self._rate_headers()
        wanted = any_of(query.replace("-is:retweet", " ").replace("(", " ").replace(")", " "), " OR ")
        since = int(request.param("since_id") or 0)
        start = request.param("start_time")
        start_at = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() if start else 0.0
        found = sorted((post for post in items if _number(post) > since and _time(post) >= start_at
                        and matches_any(wanted, str(post.get("text", "")))), key=_number, reverse=True)
        page = found[offset: offset + size]
        if not page:
            return Response.json({"meta": {"result_count": 0}}, headers=headers)
        served = [{k: v for k, v in post.items() if k != "_user"} for post in page]
        body: dict[str, Any] = {"data": served}
        if "author_id" in (request.param("expansions") or ""):
            users = list({post["_user"]["id"]: post["_user"] for post in page if "_user" in post}.values())
            body["includes"] = {"users": users}
            self.users_served += len(users)
        self.posts_served += len(page)
        meta: dict[str, Any] = {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"], "result_count": len(page)}
        if offset + size < len(found):
            meta["next_token"] = _base36(offset + size)
        body["meta"] = meta
        return Response.json(body, headers=headers)

    def _rate_headers(self) -> dict[str, str]:
        now = time.time()
        if now - self._window_start >= WINDOW_SECONDS:
            self._window_start, self._used = now, 0
        self._used += 1
        return {"x-rate-limit-limit": str(WINDOW_LIMIT),
                "x-rate-limit-remaining": str(max(0, WINDOW_LIMIT - self._used)),
                "x-rate-limit-reset": str(int(self._window_start + WINDOW_SECONDS))}


def _number(post: dict[str, Any]) -> int:
    try:
        return int(post["id"])
    except (KeyError, TypeError, ValueError):
        return 0


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out.rjust(8, "0")


def _time(post: dict[str, Any]) -> float:
    """When X made the post: its snowflake id says (``created_at`` is the same time, as text)."""
    try:
        return ((int(post["id"]) >> 22) + TWITTER_EPOCH_MS) / 1000
    except (KeyError, TypeError, ValueError):
        return 0.0


def x_post(post_id: int, created_at: float, text: str, *, username: str = "lisbon_eats", name: str = "Ana Lisboa",
           followers: int = 1200, user_id: str = "1111111111", conversation_id: int | None = None,
           replied_to: int | None = None, urls: tuple[str, ...] = (), hashtags: tuple[str, ...] = (),
           lang: str = "en") -> dict[str, Any]:
    """A post as recent search answers it with the connector's fields, its author under ``_user``."""
    post: dict[str, Any] = {
        "id": str(post_id), "text": text, "created_at": _iso(created_at), "author_id": user_id,
        "conversation_id": str(conversation_id or post_id), "lang": lang,
        "edit_history_tweet_ids": [str(post_id)],
        "_user": {"id": user_id, "name": name, "username": username,
                  "public_metrics": {"followers_count": followers, "following_count": 180, "tweet_count": 5120,
                                     "listed_count": 3}},
    }
    if replied_to is not None:
        post["referenced_tweets"] = [{"type": "replied_to", "id": str(replied_to)}]
        post["in_reply_to_user_id"] = "2244994945"
    entities: dict[str, Any] = {}
    if urls:
        entities["urls"] = [{"start": 0, "end": 23, "url": "https://t.co/abcdEFGH12", "expanded_url": url,
                             "display_url": url.split("://", 1)[-1][:25]} for url in urls]
    if hashtags:
        entities["hashtags"] = [{"start": 0, "end": len(tag) + 1, "tag": tag} for tag in hashtags]
    if entities:
        post["entities"] = entities
    return post


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Three posts around "Bean There Café", in the minutes before ``now``."""
    return [
        x_post(snowflake(now - 420, 1), now - 420, "Anyone know a good coffee place near Cais do Sodré that "
               "isn't Bean There Café? Their queue is 20 min every morning", username="joao_lx", name="João",
               followers=310, user_id="1500000001"),
        x_post(snowflake(now - 260, 2), now - 260, "The flat white at Bean There Café is insanely good. "
               "Best in Lisbon &amp; I've tried them all ☕ #lisbon", username="sara_brews", name="Sara",
               followers=4200, user_id="1500000002", hashtags=("lisbon",)),
        x_post(snowflake(now - 90, 3), now - 90, "Switching from Fábrica Coffee to Bean There Café for our "
               "office beans, their Beanbag subscription is cheaper", username="devteam_pt", name="Dev Team PT",
               followers=890, user_id="1500000003"),
    ]

"""Several Mastodon instances under one prefix: ``/mastodon/<instance host>/api/...``.

Each corpus item is a Status entity plus ``"_instance": "<host>"`` (the instance whose
database holds it, with that instance's local id); the key is dropped when served.

Implements what the connector relies on: ``GET /api/v1/timelines/tag/:hashtag`` and
``GET /api/v2/search?type=statuses`` (needs a user token: without one ``statuses`` is
empty, a wrong one is 401), the paginated-query semantics of ``max_id``, ``since_id``,
``min_id`` (the ``limit`` statuses just above it) and ``limit`` (max 40), newest first;
search filters on ``min_id``/``max_id``, orders newest first and pages with ``offset``;
the ``Link`` header with rel="next" (max_id) and rel="prev" (min_id), and
``X-RateLimit-Limit/Remaining/Reset`` (ISO time) over 300 requests / 5 min.

An instance in ``token_required`` answers its hashtag timelines only with a token (401
``{"error": "The access token is invalid"}`` without one, as documented for 4.5's
``timelines_access``); with ``known_tags`` set, another hashtag is 404 "Record not found".

Replies: ``GET /api/v2/search?q=<status url or uri>&resolve=true`` finds the status on the
instance (``resolve`` fetches one known only elsewhere into the instance, with a local id;
without a token it is 401), and ``POST /api/v1/statuses`` (form or JSON: ``status``,
``in_reply_to_id``, ``visibility``, ``language``; user token) posts as ``account``, with
``Idempotency-Key`` honoured per token (the same key returns the first status). What was
posted is kept in ``posted``.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from chalicelib.replies import grapheme_count
from chalicelib.text import html_to_text
from offline.replay.server import Request, Response

_TAG_PATH = re.compile(r"^/([A-Za-z0-9.-]+)/api/v1/timelines/tag/([^/]+)$")
_SEARCH_PATH = re.compile(r"^/([A-Za-z0-9.-]+)/api/v2/search$")
_STATUSES_PATH = re.compile(r"^/([A-Za-z0-9.-]+)/api/v1/statuses$")
_LINK = re.compile(r"https?://[^\s<>\"]+")
_WINDOW_SECONDS = 300


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def snowflake(unix: float, sequence: int = 0) -> str:
    """A Mastodon id for a status made at ``unix`` seconds."""
    return str((int(unix * 1000) << 16) + sequence)


class MastodonAPI:
    """Any number of instances; ``access_tokens`` maps an instance host to its valid token
    (an instance not listed accepts any bearer token)."""

    def __init__(self, access_tokens: dict[str, str] | None = None, allowance: int = 300,
                 token_required: frozenset[str] = frozenset()) -> None:
        self.access_tokens = access_tokens or {}
        # Instances whose hashtag timelines are for signed-in users (Mastodon 4.5 timelines_access):
        # without a token they answer 401 with the body the documentation shows.
        self.token_required = set(token_required)
        self.known_tags: set[str] | None = None  # when set, another hashtag is 404 "Record not found"
        self.allowance = allowance
        self._windows: dict[str, tuple[float, int]] = {}
        self.account = "beanthere"  # the token's account (the owner) on every instance
        self.posted: list[dict[str, Any]] = []
        self.resolved: dict[tuple[str, str], dict[str, Any]] = {}  # (instance, uri) -> local copy
        self._by_key: dict[tuple[str, str], dict[str, Any]] = {}  # (token, Idempotency-Key) -> status
        self._sequence = itertools.count(100)

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        statuses_match = _STATUSES_PATH.match(request.path)
        if statuses_match and request.method == "POST":
            return self._post_status(request, items, statuses_match.group(1))
        tag_match, search_match = _TAG_PATH.match(request.path), _SEARCH_PATH.match(request.path)
        instance = (tag_match or search_match).group(1) if (tag_match or search_match) else ""
        headers = self._rate_headers(instance)
        if not instance:
            return Response.json({"error": "Not Found"}, 404, headers)
        auth = request.headers.get("authorization")
        token_ok = auth is not None and auth.startswith("Bearer ") and (
            instance not in self.access_tokens or auth[7:] == self.access_tokens[instance])
        if auth is not None and not token_ok:
            return Response.json({"error": "The access token is invalid"}, 401, headers)
        if tag_match and auth is None and instance in self.token_required:
            return Response.json({"error": "The access token is invalid"}, 401, headers)
        statuses = [s for s in items if s["_instance"] == instance]
        try:
            limit = max(1, min(40, int(request.param("limit", "20") or 20)))
            offset = int(request.param("offset", "0") or 0)
        except ValueError:
            return Response.json({"error": "Validation failed: limit/offset"}, 422, headers)
        if tag_match:
            tag = unquote(tag_match.group(2)).lower()
            if self.known_tags is not None and tag not in self.known_tags:
                return Response.json({"error": "Record not found"}, 404, headers)
            statuses = [s for s in statuses if tag in {t["name"].lower() for t in s["tags"]}]
            page = self._paginate(request, statuses, limit)
            link = self._link(request, instance, page)
            return Response.json([_public(s) for s in page], headers={**headers, **link})
        if request.param("type") not in (None, "statuses"):
            return Response.json({"accounts": [], "statuses": [], "hashtags": []}, headers=headers)
        if auth is None and request.param("resolve") == "true":
            return Response.json({"error": "Search queries that resolve remote resources are not supported "
                                           "without authentication"}, 401, headers)
        if not token_ok:
            # Full-text status search is only for signed-in users.
            return Response.json({"accounts": [], "statuses": [], "hashtags": []}, headers=headers)
        if (request.param("q") or "").startswith(("https://", "http://")):
            return self._resolve(request, items, instance, headers)
        terms = (request.param("q") or "").lower().split()
        matching = [s for s in statuses if all(t in html_to_text(s["content"]).lower() for t in terms)]
        # Search filters on min_id/max_id but always orders newest first, then offset/limit.
        for name, keep in (("min_id", lambda i, b: i > b), ("max_id", lambda i, b: i < b)):
            bound = request.param(name)
            if bound:
                matching = [s for s in matching if keep(int(s["id"]), int(bound))]
        matching.sort(key=lambda s: int(s["id"]), reverse=True)
        page = matching[offset : offset + limit]
        return Response.json({"accounts": [], "statuses": [_public(s) for s in page], "hashtags": []},
                             headers=headers)

    def _paginate(self, request: Request, statuses: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
        ordered = sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
        max_id, since_id, min_id = (request.param(n) for n in ("max_id", "since_id", "min_id"))
        if max_id:
            ordered = [s for s in ordered if int(s["id"]) < int(max_id)]
        if since_id:
            ordered = [s for s in ordered if int(s["id"]) > int(since_id)]
        if min_id:
            # The `limit` statuses just above min_id, still served newest first.
            return [s for s in ordered if int(s["id"]) > int(min_id)][-limit:]
        return ordered[:limit]

    def _link(self, request: Request, instance: str, page: list[dict[str, Any]]) -> dict[str, str]:
        if not page:
            return {}
        host = request.headers.get("host", "127.0.0.1")
        base = f"http://{host}/mastodon/{instance}{request.path.removeprefix('/' + instance)}"
        limit = request.param("limit", "20")
        return {"Link": f'<{base}?limit={limit}&max_id={page[-1]["id"]}>; rel="next", '
                        f'<{base}?limit={limit}&min_id={page[0]["id"]}>; rel="prev"'}

    def _rate_headers(self, instance: str) -> dict[str, str]:
        now = time.time()
        start, used = self._windows.get(instance, (now, 0))
        if now - start >= _WINDOW_SECONDS:
            start, used = now, 0
        self._windows[instance] = (start, used + 1)
        return {
            "X-RateLimit-Limit": str(self.allowance),
            "X-RateLimit-Remaining": str(max(0, self.allowance - used - 1)),
            "X-RateLimit-Reset": _iso(start + _WINDOW_SECONDS),
            "Cache-Control": "private, no-store",
            "Vary": "Accept, Origin",
        }


    def _resolve(self, request: Request, items: list[dict[str, Any]], instance: str,
                  headers: dict[str, str]) -> Response:
        """A URL query: the status with that uri or url on this instance, or (``resolve=true``)
        the one known elsewhere, fetched into this instance with a local id."""
        q = request.param("q") or ""
        empty = {"accounts": [], "statuses": [], "hashtags": []}
        local = [s for s in [*items, *self.resolved.values()]
                 if s["_instance"] == instance and q in (s["uri"], s["url"])]
        if local:
            return Response.json({**empty, "statuses": [_public(local[0])]}, headers=headers)
        remote = [s for s in items if q in (s["uri"], s["url"])]
        if not remote or request.param("resolve") != "true":
            return Response.json(empty, headers=headers)
        origin = remote[0]
        origin_host = urlsplit(origin["uri"]).hostname or instance
        username = origin["account"]["username"]
        created = dt.datetime.fromisoformat(origin["created_at"]).timestamp()
        copy = {**origin, "_instance": instance, "id": snowflake(created, next(self._sequence)),
                "account": {**origin["account"],
                            "acct": username if origin_host == instance else f"{username}@{origin_host}"}}
        copy = self.resolved.setdefault((instance, origin["uri"]), copy)
        return Response.json({**empty, "statuses": [_public(copy)]}, headers=headers)

    def _post_status(self, request: Request, items: list[dict[str, Any]], instance: str) -> Response:
        headers = self._rate_headers(instance)
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not token or (instance in self.access_tokens and token != self.access_tokens[instance]):
            return Response.json({"error": "The access token is invalid"}, 401, headers)
        if request.headers.get("content-type", "").startswith("application/json"):
            form = {k: str(v) for k, v in json.loads(request.body or b"{}").items() if v is not None}
        else:
            form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        key = request.headers.get("idempotency-key")
        if key and (token, key) in self._by_key:
            return Response.json(_public(self._by_key[(token, key)]), headers=headers)
        text = form.get("status", "")
        if not text.strip():
            return Response.json({"error": "Validation failed: Text can't be blank"}, 422, headers)
        if grapheme_count(_LINK.sub("x" * 23, text)) > 500:
            return Response.json({"error": "Validation failed: Text character limit of 500 exceeded"}, 422, headers)
        parent: dict[str, Any] | None = None
        if form.get("in_reply_to_id"):
            known = [s for s in [*items, *self.resolved.values(), *self.posted] if s["_instance"] == instance]
            parent = next((s for s in known if s["id"] == form["in_reply_to_id"]), None)
            if parent is None:
                return Response.json({"error": "Record not found"}, 404, headers)
        now = time.time()
        posted = status(snowflake(now, next(self._sequence)), now, f"<p>{html.escape(text)}</p>",
                        instance=instance, acct=self.account, display_name="Bean There Café", followers=900,
                        language=form.get("language") or None,
                        in_reply_to_id=parent["id"] if parent else None)
        posted["visibility"] = form.get("visibility") or "public"
        self.posted.append(posted)
        if key:
            self._by_key[(token, key)] = posted
        return Response.json(_public(posted), headers=headers)


def _public(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if not k.startswith("_")}


def status(status_id: str, created_at: float, content: str, *, instance: str = "mastodon.social",
           acct: str = "beanfan", home: str | None = None, display_name: str = "Bean Fan", followers: int = 120,
           tags: tuple[str, ...] = (), language: str | None = "en", in_reply_to_id: str | None = None,
           spoiler_text: str = "", reblog: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Status entity as ``instance`` serves it. ``home`` is the author's own instance
    (default: ``instance``); a remote author's ``acct`` is ``user@home`` as on Mastodon."""
    home = home or instance
    origin_id = status_id if home == instance else snowflake(created_at, 7)
    origin_url = f"https://{home}/@{acct}/{origin_id}"
    return {
        "_instance": instance,
        "id": status_id,
        "created_at": _iso(created_at),
        "in_reply_to_id": in_reply_to_id,
        "in_reply_to_account_id": "109348773621580384" if in_reply_to_id else None,
        "sensitive": bool(spoiler_text),
        "spoiler_text": spoiler_text,
        "visibility": "public",
        "language": language,
        "uri": f"https://{home}/users/{acct}/statuses/{origin_id}",
        "url": origin_url,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 1,
        "edited_at": None,
        "content": content,
        "reblog": reblog,
        "account": {
            "id": "109348773621580381",
            "username": acct,
            "acct": acct if home == instance else f"{acct}@{home}",
            "display_name": display_name,
            "locked": False,
            "bot": False,
            "created_at": "2022-11-12T00:00:00.000Z",
            "note": "",
            "url": f"https://{home}/@{acct}",
            "avatar": f"https://{home}/avatars/original/missing.png",
            "followers_count": followers,
            "following_count": 80,
            "statuses_count": 310,
            "emojis": [],
            "fields": [],
        },
        "media_attachments": [],
        "mentions": [],
        "tags": [{"name": t.lower(), "url": f"https://{instance}/tags/{quote(t.lower())}"} for t in tags],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def hashtag_link(tag: str, instance: str = "mastodon.social") -> str:
    """A hashtag as Mastodon renders it in ``content``."""
    return f'<a href="https://{instance}/tags/{tag}" class="mention hashtag" rel="tag">#<span>{tag}</span></a>'


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """About six statuses on mastodon.social from the last few minutes around "Bean There Café"."""
    return [
        status(snowflake(now - 500, 1), now - 500,
               '<p>Morning flat white at Bean There Café in Lisbon, still the best in town ☕ '
               + hashtag_link("coffee") + "</p>",
               acct="ana_lx", display_name="Ana", followers=340, tags=("coffee",), language="en"),
        status(snowflake(now - 400, 2), now - 400,
               "<p>Does Bean There Café ship the Beanbag subscription outside Portugal? "
               + hashtag_link("specialtycoffee") + "</p>",
               acct="roastnerd", home="fosstodon.org", display_name="Roast Nerd", followers=90,
               tags=("specialtycoffee",)),
        status(snowflake(now - 300, 3), now - 300,
               "<p>Waited 25 minutes for a cold brew at Bean There Café &amp; it was warm. Not great, folks. "
               + hashtag_link("coffee") + "</p>",
               acct="grumpycup", display_name="Grumpy Cup", followers=55, tags=("coffee",)),
        status(snowflake(now - 200, 4), now - 200,
               "<p>Fábrica Coffee vs Copenhagen Coffee Lab for a Sunday espresso? "
               + hashtag_link("lisbon") + "</p>",
               acct="tiago", display_name="Tiago", followers=210, tags=("lisbon",), language="en"),
        status(snowflake(now - 120, 5), now - 120,
               "<p>Sunset at Miradouro da Senhora do Monte 🌅 "
               + hashtag_link("lisbon") + "</p>",
               acct="photowalk", display_name="Photo Walk", followers=1200, tags=("lisbon",)),
        status(snowflake(now - 60, 6), now - 60,
               "<p>Bean There Café's new Ethiopian roast is fruity and bright. Love it! "
               + hashtag_link("coffee") + "</p>",
               acct="beanfan", display_name="Bean Fan", followers=120, tags=("coffee",)),
    ]

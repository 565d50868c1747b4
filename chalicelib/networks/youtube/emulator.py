"""YouTube Data API v3 ``search.list`` over a corpus of ``youtube#searchResult`` items.

Implements what the connector relies on: ``key`` (a key not in ``keys`` gets Google's 400
"API key not valid" error), the ``search.list`` quota bucket (``daily_calls`` calls, then
403 ``quotaExceeded``), ``q`` (words ANDed, a quoted phrase kept together, case-insensitive
over the unescaped title and description), ``type=video``, ``order=date`` (newest first),
``publishedAfter`` and ``publishedBefore`` (both inclusive), ``maxResults`` (default 5, at
most 50) and opaque ``pageToken``/``nextPageToken``. Titles and descriptions are stored
HTML-escaped, as the API returns them.

Replies: ``commentThreads.insert`` and ``comments.insert`` (``POST /youtube/v3/commentThreads``
or ``/comments`` with ``part=snippet``; a Bearer token in ``oauth_tokens``, else 401
``authError``): a video not in the corpus is 404 ``videoNotFound``, one in
``comments_disabled`` 403 ``commentsDisabled``, an empty text 400 ``commentTextRequired``,
over 10000 characters 400 ``commentTextTooLong``. Answers the inserted resource; kept in
``posted``.

OAuth: ``POST /token`` emulates Google's token endpoint for ``grant_type=refresh_token``
(form fields ``refresh_token``, ``client_id``, ``client_secret``): a client not in
``oauth_clients`` is 401 ``invalid_client``, a refresh token not in ``refresh_tokens`` 400
``invalid_grant``; otherwise a new access token valid ``token_lifetime`` seconds, answered
as Google documents it (``access_token``, ``expires_in``, ``scope``, ``token_type``).
``expire_access_tokens()`` ends every token issued so far (an hour passing, server side).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from offline.replay.queries import any_of, matches_any
from offline.replay.server import Request, Response

_HEADERS = {
    "Content-Type": "application/json; charset=UTF-8",
    "Vary": "Origin, X-Origin, Referer",
    "Cache-Control": "private",
    "Server": "ESF",
    "X-XSS-Protection": "0",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
}


def _error(status: int, message: str, reason: str, domain: str, extra: dict[str, Any] | None = None) -> Response:
    error: dict[str, Any] = {"code": status, "message": message,
                             "errors": [{"message": message, "domain": domain, "reason": reason}]}
    error.update(extra or {})
    return Response(status, dict(_HEADERS), json.dumps({"error": error}).encode())


def _time(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"CAUQ{offset}AA".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"CAUQ(\d+)AA", raw)
    return int(match.group(1)) if match else None


class GoogleTokenEndpoint:
    """Google's OAuth token endpoint (``POST /token``, ``grant_type=refresh_token``), for every
    Google network's emulation: a client not in ``oauth_clients`` is 401 ``invalid_client``, a
    refresh token not in ``refresh_tokens`` 400 ``invalid_grant``; otherwise a new access token
    valid ``token_lifetime`` seconds, answered as Google documents it (``access_token``,
    ``expires_in``, ``scope``, ``token_type``). ``expire_access_tokens()`` ends every token
    issued so far (an hour passing, server side)."""

    scope = "https://www.googleapis.com/auth/youtube.force-ssl"

    def _start_tokens(self) -> None:
        self._lock = threading.Lock()
        self.oauth_tokens: dict[str, float] = {}  # access token -> when it expires (time.time())
        self.oauth_clients: dict[str, str] = {"test-client-id": "test-client-secret"}
        self.refresh_tokens: set[str] = {"test-refresh-token"}
        self.token_lifetime = 3599
        self.tokens_issued = 0

    def authorised(self, request: Request) -> bool:
        """Whether the request carries a Bearer token this endpoint issued that has not expired."""
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer ") and self.oauth_tokens.get(auth[7:], 0.0) > time.time()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is expired from now on."""
        with self._lock:
            self.oauth_tokens = dict.fromkeys(self.oauth_tokens, 0.0)

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        headers = {**_HEADERS, "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate", "Pragma": "no-cache"}

        def refused(status: int, error: str, description: str) -> Response:
            return Response(status, headers, json.dumps({"error": error, "error_description": description}).encode())

        if form.get("grant_type") != "refresh_token":
            return refused(400, "unsupported_grant_type", "Invalid grant_type: ")
        if self.oauth_clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return refused(401, "invalid_client", "Unauthorized")
        if form.get("refresh_token") not in self.refresh_tokens:
            return refused(400, "invalid_grant", "Token has been expired or revoked.")
        with self._lock:
            self.tokens_issued += 1
            token = "ya29.a0" + hashlib.sha256(f"{self.tokens_issued}{time.time()}".encode()).hexdigest()
            self.oauth_tokens[token] = time.time() + self.token_lifetime
        return Response(200, headers, json.dumps({
            "access_token": token, "expires_in": self.token_lifetime,
            "scope": self.scope, "token_type": "Bearer"}).encode())


class YouTubeAPI(GoogleTokenEndpoint):
    def __init__(self, keys: tuple[str, ...] = ("test-api-key",), daily_calls: int = 100) -> None:
        self.keys = keys
        self.daily_calls = daily_calls
        self.calls = 0
        self._start_tokens()
        self.comments_disabled: set[str] = set()  # video ids
        self.posted: list[dict[str, Any]] = []  # inserted commentThreads and comments

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.method == "POST" and request.path in ("/youtube/v3/commentThreads", "/youtube/v3/comments"):
            return self._insert(request, items)
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        if request.path != "/youtube/v3/search":
            return _error(404, "Not Found", "notFound", "global")
        if request.param("key") not in self.keys:
            return _error(400, "API key not valid. Please pass a valid API key.", "badRequest", "global", {
                "status": "INVALID_ARGUMENT",
                "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                             "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}],
            })
        with self._lock:
            self.calls += 1
            over = self.calls > self.daily_calls
        if over:
            return _error(403, "The request cannot be completed because you have exceeded your "
                          '<a href="/youtube/v3/getting-started#quota">quota</a>.', "quotaExceeded", "youtube.quota")
        try:
            max_results = min(50, max(0, int(request.param("maxResults", "5") or 5)))
            after = _time(request.param("publishedAfter")) if request.param("publishedAfter") else None
            before = _time(request.param("publishedBefore")) if request.param("publishedBefore") else None
        except ValueError:
            return _error(400, "Invalid value.", "invalidParameter", "youtube.parameter")
        token = request.param("pageToken")
        offset = _offset(token) if token else 0
        if offset is None:
            return _error(400, "The request specifies an invalid page token.", "invalidPageToken", "youtube.parameter")
        alternatives = any_of(request.param("q") or "", "|")

        def keep(item: dict[str, Any]) -> bool:
            snippet = item["snippet"]
            text = html.unescape(f"{snippet['title']} {snippet['description']}").lower()
            published = _time(snippet["publishedAt"])
            return (
                matches_any(alternatives, text)
                and (request.param("type") != "video" or item["id"]["kind"] == "youtube#video")
                and (after is None or published >= after)
                and (before is None or published <= before)
            )

        matching = sorted((i for i in items if keep(i)), key=lambda i: _time(i["snippet"]["publishedAt"]),
                          reverse=True)
        page = matching[offset : offset + max_results]
        payload: dict[str, Any] = {
            "kind": "youtube#searchListResponse",
            "etag": hashlib.sha1(json.dumps(page).encode(), usedforsecurity=False).hexdigest()[:27],
        }
        if offset + max_results < len(matching):
            payload["nextPageToken"] = _token(offset + max_results)
        if offset:
            payload["prevPageToken"] = _token(max(0, offset - max_results))
        payload["regionCode"] = request.param("regionCode") or "PT"
        payload["pageInfo"] = {"totalResults": len(matching), "resultsPerPage": max_results}
        payload["items"] = page
        return Response(200, dict(_HEADERS), json.dumps(payload).encode())


    def _insert(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if not self.authorised(request):
            return _error(401, "Request had invalid authentication credentials.", "authError", "global",
                          {"status": "UNAUTHENTICATED"})
        if request.param("part") != "snippet":
            return _error(400, "'part' must be snippet.", "invalidPart", "youtube.part")
        try:
            snippet = json.loads(request.body)["snippet"]
            thread = request.path.endswith("commentThreads")
            text = snippet["topLevelComment"]["snippet"]["textOriginal"] if thread else snippet["textOriginal"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "The request metadata is invalid.", "invalidCommentMetadata", "youtube.comment")
        if thread:
            video_id = snippet.get("videoId")
        else:
            parent = next((p for p in self.posted if p["id"] == snippet.get("parentId")), None)
            if parent is None:
                return _error(404, "The comment identified by the parentId parameter could not be found.",
                              "parentCommentNotFound", "youtube.comment")
            video_id = parent["snippet"]["videoId"]
        if not any(i["id"].get("videoId") == video_id for i in items):
            return _error(404, "The video identified by the videoId parameter could not be found.",
                          "videoNotFound", "youtube.commentThread")
        if video_id in self.comments_disabled:
            return _error(403, "The video identified by the videoId parameter has disabled comments.",
                          "commentsDisabled", "youtube.commentThread")
        if not isinstance(text, str) or not text.strip():
            return _error(400, "The comment text is required.", "commentTextRequired", "youtube.comment")
        if len(text) > 10000:
            return _error(400, "The comment text is too long.", "commentTextTooLong", "youtube.comment")
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        seed = hashlib.sha1(f"{video_id}{len(self.posted)}{now}".encode(), usedforsecurity=False).digest()
        comment_id = "Ugz" + base64.urlsafe_b64encode(seed).decode()[:20] + "4AaABAg"
        comment = {"kind": "youtube#comment", "etag": seed.hex()[:27], "id": comment_id, "snippet": {
            "channelId": "UCBeanThere0000000000000", "videoId": video_id, "textDisplay": html.escape(text),
            "textOriginal": text, "authorDisplayName": "@beanthere",
            "authorChannelUrl": "http://www.youtube.com/@beanthere",
            "authorChannelId": {"value": "UCBeanThereOwner00000000"}, "canRate": True, "viewerRating": "none",
            "likeCount": 0, "publishedAt": now, "updatedAt": now}}
        if not thread:
            comment["id"] = f"{snippet['parentId']}.{comment_id[3:25]}"
            comment["snippet"]["parentId"] = snippet["parentId"]
            self.posted.append(comment)
            return Response(200, dict(_HEADERS), json.dumps(comment).encode())
        resource = {"kind": "youtube#commentThread", "etag": seed.hex()[1:28], "id": comment_id, "snippet": {
            "channelId": snippet.get("channelId", "UCBeanThere0000000000000"), "videoId": video_id,
            "topLevelComment": comment, "canReply": True, "totalReplyCount": 0, "isPublic": True}}
        self.posted.append({**comment, "thread": resource})
        return Response(200, dict(_HEADERS), json.dumps(resource).encode())


def youtube_escape(text: str) -> str:
    """Escape text the way search.list does in titles and descriptions (``&#39;`` for apostrophes)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def youtube_video(video_id: str, published_at: float, title: str, *, description: str = "",
                  channel_id: str = "UCBeanThere0000000000000", channel_title: str = "Lisbon Eats",
                  live: str = "none") -> dict[str, Any]:
    """A ``youtube#searchResult`` for a video, with the title and description escaped like the API does."""
    when = dt.datetime.fromtimestamp(published_at, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    thumbs = {size: {"url": f"https://i.ytimg.com/vi/{video_id}/{name}.jpg", "width": w, "height": h}
              for size, name, w, h in (("default", "default", 120, 90), ("medium", "mqdefault", 320, 180),
                                       ("high", "hqdefault", 480, 360))}
    return {
        "kind": "youtube#searchResult",
        "etag": hashlib.sha1(video_id.encode(), usedforsecurity=False).hexdigest()[:27],
        "id": {"kind": "youtube#video", "videoId": video_id},
        "snippet": {
            "publishedAt": when,
            "channelId": channel_id,
            "title": youtube_escape(title),
            "description": youtube_escape(description[:160]),
            "thumbnails": thumbs,
            "channelTitle": youtube_escape(channel_title),
            "liveBroadcastContent": live,
            "publishTime": when,
        },
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Six videos around "Bean There Café", published in the minutes before ``now``."""
    return [
        youtube_video("bTcafe0001a", now - 580, "Bean There Café: Lisbon's best specialty coffee? ☕",
                      description="We tried the pour-over and the cold brew at Bean There Café in Lisbon. "
                      "Here's what we thought.", channel_id="UCcoffeeTravel0000000001",
                      channel_title="Coffee Travels"),
        youtube_video("bTcafe0002b", now - 470, "Unboxing the Beanbag subscription from Bean There Café",
                      description="What's inside this month's box: two single-origin roasts & a tasting card.",
                      channel_id="UCunboxLisboa00000000002", channel_title="Unbox Lisboa"),
        youtube_video("bTcafe0003c", now - 360, "Is Bean There Café's cold brew worth €5?",
                      description="Does anyone know why the price went up? Let me know in the comments.",
                      channel_id="UCbudgetEats000000000003", channel_title="Budget Eats PT"),
        youtube_video("bTcafe0004d", now - 250, "I waited 40 minutes at Bean There Café... never again",
                      description="Cold drink, wrong order and rude staff. Honest review, not sponsored.",
                      channel_id="UChonestReview0000000004", channel_title="Honest Reviews"),
        youtube_video("bTcafe0005e", now - 150, "Fábrica Coffee vs Copenhagen Coffee Lab: Lisbon flat white battle",
                      description="Two of Lisbon's most famous roasters, side by side.",
                      channel_id="UCcoffeeTravel0000000001", channel_title="Coffee Travels"),
        youtube_video("bTcafe0006f", now - 60, "Lisbon tram 28 full ride in 4K",
                      description="The whole route from Martim Moniz to Campo de Ourique.",
                      channel_id="UCtramLovers000000000006", channel_title="Tram Lovers"),
    ]

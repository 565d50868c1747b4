"""Business Profile API v4 reviews over a corpus of Review resources (shapes from contract/).

Implements what the connector and the replier rely on:

- ``GET /v4/accounts/<a>/locations/<l>/reviews``: the location's reviews (the corpus items whose
  ``name`` is under it), ``orderBy=updateTime desc`` (the default; ``rating``/``rating desc``
  also), ``pageSize`` (default and at most 50), opaque ``pageToken``/``nextPageToken``, and
  ``averageRating``/``totalReviewCount``; ``reviews`` left out when there are none, as proto3
  JSON does.
- ``PUT /v4/<review name>/reply`` with ``{"comment": ...}``: sets the review's one
  ``reviewReply`` (an existing one is replaced, never a second added) and answers the
  ReviewReply; every PUT is kept in ``replies``. A review not in the corpus is 404
  ``NOT_FOUND``; an empty comment or one over 4096 bytes 400 ``INVALID_ARGUMENT``.
- Auth: a Bearer token from the emulated Google token endpoint (``POST /token``, shared with
  YouTube's emulation), else 401 ``UNAUTHENTICATED`` in Google's words.
- ``quota_exhausted_once``: the next listing answers 429 ``RESOURCE_EXHAUSTED`` once (the demo).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from chalicelib.networks.youtube.emulator import GoogleTokenEndpoint
from chalicelib.networks.youtube.emulator import _offset as _page_offset
from chalicelib.networks.youtube.emulator import _token as _page_token
from offline.replay.server import Request, Response

_HEADERS = {"Content-Type": "application/json; charset=UTF-8", "Vary": "Origin, X-Origin, Referer",
            "Server": "ESF", "X-Content-Type-Options": "nosniff"}
_LIST = re.compile(r"^/v4/(accounts/[0-9]+/locations/[0-9]+)/reviews$")
_REPLY = re.compile(r"^/v4/(accounts/[0-9]+/locations/[0-9]+/reviews/[A-Za-z0-9_-]+)/reply$")
STARS = ("ONE", "TWO", "THREE", "FOUR", "FIVE")
UNAUTHENTICATED = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                   "or other valid authentication credential. See "
                   "https://developers.google.com/identity/sign-in/web/devconsole-project.")


def _error(code: int, status: str, message: str) -> Response:
    return Response(code, dict(_HEADERS), json.dumps({"error": {"code": code, "message": message,
                                                                "status": status}}).encode())


def _time(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


def _rfc3339(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GoogleReviewsAPI(GoogleTokenEndpoint):
    scope = "https://www.googleapis.com/auth/business.manage"

    def __init__(self) -> None:
        self._start_tokens()
        self.quota_exhausted_once = False
        self.replies: list[dict[str, Any]] = []  # every updateReply received: {"name", "comment"}

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        listing, reply = _LIST.match(request.path), _REPLY.match(request.path)
        if not (listing and request.method == "GET") and not (reply and request.method == "PUT"):
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        if not self.authorised(request):
            return _error(401, "UNAUTHENTICATED", UNAUTHENTICATED)
        if reply:
            return self._reply(reply.group(1), request, items)
        assert listing is not None
        if self.quota_exhausted_once:
            self.quota_exhausted_once = False
            return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
        return self._list(listing.group(1), request, items)

    def _list(self, location: str, request: Request, items: list[dict[str, Any]]) -> Response:
        try:
            size = min(50, max(1, int(request.param("pageSize") or 50)))
        except ValueError:
            return _error(400, "INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32)")
        token = request.param("pageToken")
        offset = _page_offset(token) if token else 0
        if offset is None:
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        order = request.param("orderBy") or "updateTime desc"
        reviews = [i for i in items if str(i.get("name", "")).startswith(f"{location}/reviews/")]
        if order == "updateTime desc":
            reviews.sort(key=lambda r: _time(r["updateTime"]), reverse=True)
        elif order in ("rating", "rating desc"):
            reviews.sort(key=lambda r: STARS.index(r["starRating"]), reverse=order == "rating desc")
        else:
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        page = reviews[offset: offset + size]
        stars = [STARS.index(r["starRating"]) + 1 for r in reviews if r.get("starRating") in STARS]
        body: dict[str, Any] = {}
        if page:
            body["reviews"] = page
        body["averageRating"] = round(sum(stars) / len(stars), 1) if stars else 0
        body["totalReviewCount"] = len(reviews)
        if offset + size < len(reviews):
            body["nextPageToken"] = _page_token(offset + size)
        return Response(200, dict(_HEADERS), json.dumps(body).encode())

    def _reply(self, name: str, request: Request, items: list[dict[str, Any]]) -> Response:
        review = next((i for i in items if i.get("name") == name), None)
        if review is None:
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        try:
            comment = json.loads(request.body)["comment"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        if not isinstance(comment, str) or not comment.strip() or len(comment.encode()) > 4096:
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        answer = {"comment": comment, "updateTime": _rfc3339(dt.datetime.now(dt.UTC).timestamp())}
        review["reviewReply"] = answer  # the review's one reply: replaced, never a second one
        self.replies.append({"name": name, "comment": comment})
        return Response(200, dict(_HEADERS), json.dumps(answer).encode())


LOCATION = "accounts/106941250772149994434/locations/4547712559962801423"


def google_review(review_id: str, updated_at: float, comment: str, *, stars: int = 5, reviewer: str = "Ana Silva",
                  location: str = LOCATION, created_at: float | None = None, anonymous: bool = False) -> dict[str, Any]:
    """A Review resource as reviews.list returns it (the shape of contract/reviews_list.json)."""
    review: dict[str, Any] = {
        "reviewId": review_id,
        "reviewer": ({"isAnonymous": True} if anonymous else
                     {"profilePhotoUrl": "https://lh3.googleusercontent.com/a-/AOh14GgxnobyiCdv9hi_-L69VIJ9DxCoNxdWEcASBrnQ=c0x00000000-cc-rp",
                      "displayName": reviewer}),
        "starRating": STARS[stars - 1],
        "createTime": _rfc3339(updated_at if created_at is None else created_at),
        "updateTime": _rfc3339(updated_at),
        "name": f"{location}/reviews/{review_id}",
    }
    if comment:
        review["comment"] = comment
    return review


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Two reviews of the café's location (the one-star complaint comes later: ``demo_one_star``)."""
    return [
        google_review("AbFvOqbeanthere0001", now - 540, "Best flat white in Lisbon, and the pastel de nata is warm.",
                      stars=5, reviewer="Inês Carvalho"),
        google_review("AbFvOqbeanthere0002", now - 300, "Nice place but the wifi kept dropping.", stars=3,
                      reviewer="Tom Becker"),
    ]


def demo_one_star(now: int) -> list[dict[str, Any]]:
    """A one-star review written a minute before ``now``: urgent, so it goes out by SMS."""
    return [google_review("AbFvOqbeanthere0003", now - 60, "Waited 25 minutes, cold coffee, and nobody said sorry. "
                          "Never again.", stars=1, reviewer="Marta Nunes")]

"""Instagram's Graph API endpoints on the offline replay server, over a corpus of IG Media in the
API's own shape (each with its ``comments`` as field expansion gives them), and signed webhook
deliveries for the ``/hooks/instagram`` endpoint.

Items: the account's media (served as stored, newest first); an item with ``"_edge": "tags"`` is
someone else's media the account is tagged in, ``"_edge": "mention"`` someone else's media whose
caption or comments @mention it (read only through ``mentioned_media``/``mentioned_comment``).

Endpoints (below ``/<version>/``): ``GET {ig-user-id}/media`` (``limit``, ``after``; comments cut
to ``comments.limit(n)`` of ``fields`` with their own cursor), ``GET {media-id}/comments``,
``GET {ig-user-id}/tags``, ``GET {ig-user-id}?fields=mentioned_comment.comment_id(..)`` and
``mentioned_media.media_id(..)``, ``GET {media-id}``, ``POST {comment-id}/replies`` and
``POST {ig-user-id}/mentions`` (form ``message``; kept in ``posted``), ``GET debug_token``
(``token_expires_at``, ``data_access_expires_at``). A Bearer token not in
``tokens`` is Meta's 400 code 190; past ``call_limit`` calls every call is 400 code 4 (the
app's limit), with the usage headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``) on every
answer, their percentages ``calls / call_limit``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl

from offline.replay.server import Request, Response

VERSION_PATH = re.compile(r"^/v[0-9]{1,2}\.[0-9]$")
OWNER = "beanthere"
IG_USER_ID = "17841405822304914"
APP_SECRET = "offline-app-secret"  # noqa: S105 - the emulator's own, for signed deliveries
_ids = itertools.count(17911496353086895)


def iso(t: float) -> str:
    """A time as the Graph API writes it: ``2020-06-01T10:56:52+0000``."""
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def instagram_media(n: int, t: float, text: str, *, owner: str = OWNER, comments: int = 1) -> dict[str, Any]:
    """Media ``n`` of the account, posted at ``t``, with ``comments`` comments whose text is ``text``
    (the first at ``t``, the others a second apart before it)."""
    data = [{"id": str(17800000000000000 + n * 100 + i), "text": text, "timestamp": iso(t - i),
             "username": f"guest{n}", "like_count": 0, "from": {"id": str(2323232 + n), "username": f"guest{n}"}}
            for i in range(comments)]
    return {"id": str(17900000000000000 + n), "caption": "Fresh from the roaster", "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/Bean{n:04d}/", "timestamp": iso(t), "username": owner,
            "comments_count": len(data), "comments": {"data": data}}


def tagged_media(n: int, t: float, caption: str, *, username: str = "cafe_critic") -> dict[str, Any]:
    """Someone else's media ``n`` that tags the account."""
    return {"_edge": "tags", "id": str(17890000000000000 + n), "caption": caption, "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/Tag{n:04d}/", "timestamp": iso(t), "username": username,
            "comments_count": 0, "like_count": 3}


def mentioning_media(n: int, t: float, caption: str, *, comment: str | None = None,
                     username: str = "cafe_critic") -> dict[str, Any]:
    """Someone else's media ``n`` whose caption (or, with ``comment``, a comment on it) @mentions the account."""
    data = [] if comment is None else [{"id": str(17880000000000000 + n), "text": comment, "timestamp": iso(t),
                                        "username": username, "like_count": 1}]
    return {"_edge": "mention", "id": str(17870000000000000 + n), "caption": caption, "media_type": "IMAGE",
            "timestamp": iso(t), "username": username, "comments_count": len(data), "comments": {"data": data}}


def comments_event(media: dict[str, Any], comment: dict[str, Any], *, account: str = IG_USER_ID,
                   at: int | None = None) -> dict[str, Any]:
    """The ``comments`` webhook delivery Meta sends for ``comment`` on ``media`` (contract/webhook_comments.json)."""
    when = at if at is not None else int(dt.datetime.fromisoformat(comment["timestamp"]).timestamp())
    value = {"id": comment["id"], "from": {"id": comment.get("from", {}).get("id", "232323232"),
                                           "username": comment["username"]},
             "text": comment["text"], "media": {"id": media["id"], "media_product_type": "FEED"}}
    return {"object": "instagram", "entry": [{"id": account, "time": when,
                                              "changes": [{"field": "comments", "value": value}]}]}


def mentions_event(media_id: str, comment_id: str | None = None, *, account: str = IG_USER_ID,
                   at: int = 1520622968) -> dict[str, Any]:
    """The ``mentions`` webhook delivery (ids only; contract/webhook_mentions_*.json)."""
    value = {"media_id": media_id, **({"comment_id": comment_id} if comment_id else {})}
    return {"object": "instagram", "entry": [{"id": account, "time": at,
                                              "changes": [{"field": "mentions", "value": value}]}]}


def signed_delivery(payload: Any, app_secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """A webhook delivery as Meta posts it: the raw JSON body and its headers, the body signed with
    HMAC-SHA256 under the app secret (``X-Hub-Signature-256: sha256=<hex>``)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def badly_signed_delivery(payload: Any, app_secret: str = APP_SECRET) -> tuple[bytes, dict[str, str]]:
    """A delivery whose body was changed after signing (the signature no longer matches)."""
    body, headers = signed_delivery(payload, app_secret)
    return body.replace(b"}", b" }", 1), headers


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"QVFI{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    match = re.fullmatch(r"QVFI(\d+)", raw)
    return int(match.group(1)) if match else None


def _error(message: str, code: int, status: int = 400, headers: dict[str, str] | None = None,
           kind: str = "OAuthException") -> Response:
    return Response.json({"error": {"message": message, "type": kind, "code": code,
                                    "fbtrace_id": "AQt_hJ68vFybS4TnupatNtX"}}, status, headers)


def _page(rows: list[dict[str, Any]], offset: int, limit: int, path: str) -> dict[str, Any]:
    chunk = rows[offset:offset + limit]
    body: dict[str, Any] = {"data": chunk}
    if offset + limit < len(rows):
        after = _cursor(offset + limit)
        body["paging"] = {"cursors": {"before": _cursor(offset), "after": after},
                          "next": f"https://graph.facebook.com{path}?limit={limit}&after={after}"}
    elif chunk:
        body["paging"] = {"cursors": {"before": _cursor(offset), "after": _cursor(offset + len(chunk))}}
    return body


def _served(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


class GraphAPIBase:
    """What every emulated Graph API shares (the Facebook Page's emulator too): the version in the
    path, a Bearer token in ``tokens`` (else Meta's 400 code 190), ``call_limit`` calls (then 400
    code 4), the usage headers on every answer, ``GET debug_token``."""

    def __init__(self, tokens: tuple[str, ...], node_id: str, call_limit: int) -> None:
        self.tokens = tokens
        self.node_id = node_id
        self.call_limit = call_limit
        self.calls = 0
        self.regain_minutes = 0  # estimated_time_to_regain_access said in the BUC header
        self.token_expires_at = 0  # debug_token's expires_at (0: never)
        self.data_access_expires_at = 0
        self.posted: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def usage_headers(self) -> dict[str, str]:
        pct = min(100, int(self.calls * 100 / self.call_limit)) if self.call_limit else 100
        app = {"call_count": pct, "total_cputime": max(0, pct - 1), "total_time": max(0, pct - 1)}
        buc = {self.node_id: [{"type": "pages", "call_count": pct, "total_cputime": max(0, pct - 1),
                               "total_time": max(0, pct - 1),
                               "estimated_time_to_regain_access": self.regain_minutes}]}
        return {"X-App-Usage": json.dumps(app), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        version, _, rest = request.path.lstrip("/").partition("/")
        if not VERSION_PATH.match("/" + version):
            return _error("Unknown path components: " + request.path[:40], 2500)
        with self._lock:
            self.calls += 1
            over = self.calls > self.call_limit
            headers = self.usage_headers()
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return _error("Error validating access token: Session has expired.", 190, headers=headers)
        if over:
            return _error("(#4) Application request limit reached", 4, headers=headers)
        parts = [version, *rest.split("/")]
        if parts[1:] == ["debug_token"]:
            response = Response.json({"data": {
                "app_id": "1234567890", "type": "USER", "application": "Bean There listening",
                "data_access_expires_at": self.data_access_expires_at, "expires_at": self.token_expires_at,
                "is_valid": True, "scopes": ["instagram_basic", "instagram_manage_comments", "pages_show_list",
                                             "pages_read_engagement"], "user_id": "10215241773831025"}})
        else:
            response = self._route(request, parts, items)
        response.headers.update(headers)
        return response

    def _route(self, request: Request, parts: list[str], items: list[dict[str, Any]]) -> Response:
        raise NotImplementedError

    def _record(self, request: Request, node: str, edge: str, limit: int) -> Response:
        """A posted comment or reply (form ``message``), kept in ``posted``; its new id answered."""
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        message = form.get("message", "")
        if not message.strip():
            return _error("(#100) The parameter message is required", 100)
        if len(message) > limit:
            return _error(f"(#100) Param message must be at most {limit} characters long.", 100)
        posted = {"id": str(next(_ids)), "edge": edge, "node": node, "message": message,
                  **{k: form[k] for k in ("media_id", "comment_id") if k in form}}
        with self._lock:
            self.posted.append(posted)
        return Response.json({"id": posted["id"]})


class InstagramAPI(GraphAPIBase):
    def __init__(self, tokens: tuple[str, ...] = ("ig-page-token",), ig_user_id: str = IG_USER_ID,
                 call_limit: int = 10**9) -> None:
        super().__init__(tokens, ig_user_id, call_limit)
        self.ig_user_id = ig_user_id

    def _route(self, request: Request, parts: list[str], items: list[dict[str, Any]]) -> Response:
        media = self._media(items)
        path = "/" + "/".join(parts)
        if request.method == "POST" and len(parts) == 3 and parts[2] in ("replies", "mentions"):
            return self._post(request, parts[1], parts[2], items)
        if request.method != "GET" or len(parts) not in (2, 3):
            return _error("Unsupported request", 100)
        node = parts[1]
        edge = parts[2] if len(parts) == 3 else None
        limit = int(request.param("limit", "25") or 25) if (request.param("limit") or "25").isdigit() else 25
        offset = _offset(request.param("after"))
        if offset is None:
            return _error("Invalid cursor", 100)
        if node == self.ig_user_id and edge == "media":
            comments_limit = _comments_limit(request.param("fields") or "")
            rows = [self._with_comments(m, comments_limit) for m in media]
            return Response.json(_page(rows, offset, limit, path))
        if node == self.ig_user_id and edge == "tags":
            tagged = [_served(m) for m in self._media(items, "tags")]
            return Response.json(_page(tagged, offset, limit, path))
        if edge == "comments":
            found = next((m for m in media if m["id"] == node), None)
            if found is None:
                return _error("Unsupported get request. Object with ID does not exist", 100)
            rows = _comments(found)
            return Response.json(_page(rows, offset, limit, path))
        if node == self.ig_user_id and edge is None:
            return self._mentioned(request.param("fields") or "", items)
        found = next((m for m in media if m["id"] == node), None)
        if found is None:
            return _error("Unsupported get request. Object with ID does not exist", 100)
        return Response.json({k: found[k] for k in ("id", "permalink", "username", "timestamp") if k in found})

    def _media(self, items: list[dict[str, Any]], edge: str | None = None) -> list[dict[str, Any]]:
        """The stored media of one edge, newest first, the last stored copy of each id."""
        latest: dict[str, dict[str, Any]] = {}
        for item in items:
            if isinstance(item, dict) and item.get("_edge") == edge:
                latest[item["id"]] = item
        return sorted(latest.values(), key=lambda m: m["timestamp"], reverse=True)

    def _with_comments(self, media: dict[str, Any], limit: int) -> dict[str, Any]:
        served = _served(media)
        rows = _comments(media)
        if "comments" in media:
            served["comments"] = _page(rows, 0, limit, f"/{media['id']}/comments")
        return served

    def _mentioned(self, fields: str, items: list[dict[str, Any]]) -> Response:
        match = re.fullmatch(r"mentioned_(comment|media)\.(comment_id|media_id)\(([0-9]+)\)(\{[a-z_,]*\})?", fields)
        if not match:
            return Response.json({"id": self.ig_user_id})
        kind, _, wanted, _ = match.groups()
        for media in self._media(items, "mention"):
            if kind == "media" and media["id"] == wanted:
                return Response.json({"mentioned_media": _served({k: v for k, v in media.items() if k != "comments"}),
                                      "id": self.ig_user_id})
            for comment in _comments(media):
                if kind == "comment" and comment["id"] == wanted:
                    return Response.json({"mentioned_comment": comment, "id": self.ig_user_id})
        return _error("(#100) Tried accessing nonexisting field", 100)

    def _post(self, request: Request, node: str, edge: str, items: list[dict[str, Any]]) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        if edge == "replies":
            known = {c["id"] for m in self._media(items) for c in _comments(m)}
            if node not in known:
                return _error("Unsupported post request. Object with ID does not exist", 100)
        elif node != self.ig_user_id or not form.get("media_id"):
            return _error("(#100) The parameter media_id is required", 100)
        return self._record(request, node, edge, 2200)


def _comments(media: dict[str, Any]) -> list[dict[str, Any]]:
    comments = media.get("comments")
    data = comments.get("data") if isinstance(comments, dict) else None
    rows = [c for c in data if isinstance(c, dict)] if isinstance(data, list) else []
    return sorted(rows, key=lambda c: str(c.get("timestamp", "")), reverse=True)


def _comments_limit(fields: str) -> int:
    match = re.search(r"comments\.limit\(([0-9]{1,3})\)", fields)
    return int(match.group(1)) if match else 25


def demo_items(now: float, business: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The account's recent media with a question and a complaint, a tag and a comment @mention."""
    question = instagram_media(1, now - 3 * 3600, "Do you have oat milk? Asking for the whole office ☕")
    complaint = instagram_media(2, now - 1800, "Waited 25 minutes for a cold flat white. Not coming back.")
    return [question, complaint,
            tagged_media(1, now - 7200, "Best pastel de nata in Lisbon, at @beanthere"),
            mentioning_media(1, now - 5400, "Morning fuel", comment="@beanthere are you open on Sundays?")]

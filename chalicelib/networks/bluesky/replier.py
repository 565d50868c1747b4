"""Replying on Bluesky: ``com.atproto.repo.createRecord`` of an ``app.bsky.feed.post`` in the
owner's repo, with ``reply.root`` (the thread's root, or the post itself when it is not a
reply) and ``reply.parent`` (the post), ``createdAt``, and rich-text facets for links and
@mentions (byte offsets into the UTF-8 text, as the lexicon says).

The session is the connector's (``chalicelib.networks.bluesky.source``): cached in the state under
"session", refreshed when expired. A mention facet needs the DID of the handle: the
replied-to author's comes from the post's uri, any other is resolved with
``com.atproto.identity.resolveHandle``; a handle that does not resolve stays plain text.

The limit is 300 graphemes and 3000 UTF-8 bytes. The createRecord POST is never retried
(a timeout may have posted, and Bluesky has no idempotency key): ``ReplyUncertain``. An
expired access token is refused before anything is written, so that one is renewed and
the POST sent again.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

import requests

from chalicelib.model import Mention
from chalicelib.networks.bluesky import SPEC
from chalicelib.networks.bluesky.source import (
    APP_URL,
    CID,
    DID_FORM,
    ERROR_NAME,
    HANDLE,
    POST_URI,
    Bluesky,
    BlueskyOptions,
    _number,
    _token_expired,
)
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRateLimited,
    ReplyRefused,
    ReplyTooLong,
    grapheme_count,
)
from chalicelib.sources.base import BadPayload, SourceError, SourceOptions
from chalicelib.sources.http import decode_json

MAX_BYTES = 3000
_LINK = re.compile(r"(?:^|(?<=[\s(]))https?://[^\s]+")
_MENTION = re.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9.-]+)\b")
_TRAILING = ".,;:!?\"'"


class BlueskyReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = BlueskyOptions
    connector_class = Bluesky
    _connector: Bluesky

    def _length(self, text: str) -> int:
        return grapheme_count(text)

    def check_length(self, text: str) -> None:
        super().check_length(text)
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:
            raise ReplyTooLong(self.network, f"the reply is {size} bytes in UTF-8; the limit is {MAX_BYTES}",
                               MAX_BYTES)

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        uri, cid = self._thread(mention, "uri", "cid")
        root = {"uri": mention.thread.get("root_uri") or uri, "cid": mention.thread.get("root_cid") or cid}
        for ref in ({"uri": uri, "cid": cid}, root):
            if not POST_URI.match(ref["uri"]) or not CID.match(ref["cid"]):
                raise NotReplyable(self.network, "the mention's post reference is not an at:// uri and a CID")
        budget = self._budget()
        session = self._connector._current_session(budget)
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": _iso(self._clock()),
            "reply": {"root": root, "parent": {"uri": uri, "cid": cid}},
        }
        facets = self.facets(text, mention)
        if facets:
            record["facets"] = facets
        resp = self._create(record, session)
        if _token_expired(resp):
            # Refused before anything was written: renew the session and send it once more.
            session = self._connector._refresh_session(session, budget) or self._connector._create_session(budget)
            resp = self._create(record, session)
            if _token_expired(resp):
                raise ReplyCredentialsError(self.network, f"session rejected (HTTP {resp.status_code}) right after "
                                                          "login")
        if resp.status_code == 429:
            retry_after = _number(resp.headers.get("Retry-After"))
            reset = _number(resp.headers.get("ratelimit-reset"))
            if retry_after is None and reset is not None:
                retry_after = max(0.0, reset - self._clock())
            raise ReplyRateLimited(self.network, "rate limited (HTTP 429)", retry_after)
        if resp.status_code >= 400:
            raise ReplyRefused(self.network, f"post refused (HTTP {resp.status_code} {_error_name(resp)})")
        body = decode_json(self.network, resp)
        match = POST_URI.match(body.get("uri", "")) if isinstance(body, dict) and isinstance(
            body.get("uri"), str) else None
        if match is None or match.group(1) != session["did"]:
            raise BadPayload(self.network, "createRecord: 'uri' is not a post in the owner's repo")
        handle = session.get("handle", "")
        profile = handle if HANDLE.match(handle) and handle != "handle.invalid" else session["did"]
        return Reply(url=f"{APP_URL}{profile}/post/{match.group(2)}", native_id=body["uri"])

    def facets(self, text: str, mention: Mention) -> list[dict[str, Any]]:
        """Link and mention facets of ``text``, with byte offsets into its UTF-8 encoding."""
        facets: list[dict[str, Any]] = []
        for match in _LINK.finditer(text):
            link = match.group(0).rstrip(_TRAILING)
            if link.endswith(")") and "(" not in link:
                link = link[:-1]
            start = match.start()
            facets.append(_facet(text, start, start + len(link),
                                 {"$type": "app.bsky.richtext.facet#link", "uri": link}))
        for match in _MENTION.finditer(text):
            handle = match.group(1).lower()
            if not HANDLE.match(handle):
                continue
            did = self._did(handle, mention)
            if did is not None:
                facets.append(_facet(text, match.start(), match.end(),
                                     {"$type": "app.bsky.richtext.facet#mention", "did": did}))
        return sorted(facets, key=lambda f: f["index"]["byteStart"])

    def _did(self, handle: str, mention: Mention) -> str | None:
        """The DID of ``handle``: the replied-to author's from the post uri, else resolved."""
        author = POST_URI.match(mention.thread.get("uri", ""))
        if author and handle == mention.author_handle.lower():
            return author.group(1)
        try:
            body = self._connector._xrpc_get("com.atproto.identity.resolveHandle", {"handle": handle},
                                             self._budget())
        except SourceError as err:
            if isinstance(err, BadPayload) or type(err) is SourceError:
                return None  # an unknown handle: left as plain text
            raise
        did = body.get("did") if isinstance(body, dict) else None
        return did if isinstance(did, str) and DID_FORM.match(did) else None

    def _create(self, record: dict[str, Any], session: dict[str, str]) -> requests.Response:
        return self._post(f"{self.options.base_url}/xrpc/com.atproto.repo.createRecord",
                          headers={"Authorization": f"Bearer {session['accessJwt']}"},
                          json_body={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
                          accept=(400, 401, 429))


def _facet(text: str, start: int, end: int, feature: dict[str, str]) -> dict[str, Any]:
    return {
        "index": {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))},
        "features": [feature],
    }


def _error_name(resp: requests.Response) -> str:
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        return "with no error name"
    return error if isinstance(error, str) and ERROR_NAME.match(error) else "with no error name"


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

"""Replying on Mastodon from the owner's account on the home instance (``instances[0]``).

1. The status is found on the home instance: a status read there already has its local id
   (``thread["id"]``); any other is resolved with ``GET /api/v2/search?q=<status uri>
   &resolve=true&type=statuses`` (user token), which fetches it into the instance.
2. ``POST /api/v1/statuses`` (form: ``status`` starting with ``@acct ``, ``in_reply_to_id``,
   ``visibility``) with ``Idempotency-Key: <key>``, which Mastodon keeps for one hour: a
   resend with the same key within that hour returns the first status instead of posting.

The token needs ``read:search`` and ``write:statuses``. The GET is retried by the HTTP
client; the POST never is (a timeout may have posted): ``ReplyUncertain``, and a call with
the same key within the hour sends it again, safely, with the same Idempotency-Key.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from chalicelib.model import Mention
from chalicelib.networks.mastodon import SPEC
from chalicelib.networks.mastodon.source import ACCT, STATUS_ID, MastodonOptions, _host
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRefused,
    grapheme_count,
)
from chalicelib.sources.base import BadPayload, SourceOptions, require_secret
from chalicelib.sources.http import decode_json

URL_LENGTH = 23  # Mastodon counts every link as 23 characters, however long
_URL = re.compile(r"https?://[^\s<>\"]+")
_REMOTE_MENTION = re.compile(r"(?<![\w/])@([A-Za-z0-9_]+)@[A-Za-z0-9.-]+\b")  # counted as @user only
_VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})


MastodonReplyOptions = MastodonOptions  # reply_visibility lives with the network's options


class MastodonReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = MastodonReplyOptions
    resend_is_safe: ClassVar[float] = 3000.0  # the Idempotency-Key is kept 1 h; 10 min of margin

    def _length(self, text: str) -> int:
        """Characters as Mastodon counts them: graphemes, links as 23, ``@user@host`` as ``@user``."""
        countable = _URL.sub("x" * URL_LENGTH, text)
        return grapheme_count(_REMOTE_MENTION.sub(r"@\1", countable))

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, MastodonReplyOptions)
        home = self.options.instances[0]
        token = require_secret(self.network, self._secrets, self.options.access_token_parameter, "access token")
        headers = {"Authorization": f"Bearer {token}"}
        status = self._local_status(mention, home, headers)
        acct = status["account"]["acct"]
        body = text if text.startswith(f"@{acct}") else f"@{acct} {text}"
        self.check_length(body)  # the @acct prefix counts too; it is known only now
        visibility = self.options.reply_visibility if self.options.reply_visibility in _VISIBILITIES else "public"
        form: dict[str, str] = {"status": body, "in_reply_to_id": status["id"], "visibility": visibility}
        if mention.lang and re.fullmatch(r"[a-z]{2,3}", mention.lang):
            form["language"] = mention.lang
        resp = self._post(f"{home}/api/v1/statuses", data=form,
                          headers={**headers, "Idempotency-Key": idempotency_key}, accept=(401, 403, 404, 422))
        if resp.status_code in (401, 403):
            raise ReplyCredentialsError(self.network, f"access token refused for posting (HTTP {resp.status_code}); "
                                                      "it needs the write:statuses scope")
        if resp.status_code == 404:
            raise ReplyRefused(self.network, "the status to reply to is gone (HTTP 404)")
        if resp.status_code == 422:
            raise ReplyRefused(self.network, f"the instance refused the reply (HTTP 422: {_error(resp)})")
        posted = decode_json(self.network, resp)
        if not isinstance(posted, dict) or not isinstance(posted.get("id"), str) or not STATUS_ID.match(posted["id"]):
            raise BadPayload(self.network, "posted status has no numeric id")
        url = posted.get("url") or posted.get("uri")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise BadPayload(self.network, "posted status has no https url")
        return Reply(url=url, native_id=posted["id"])

    def _local_status(self, mention: Mention, home: str, headers: dict[str, str]) -> dict[str, Any]:
        """The status as the home instance knows it: its local id and its author's acct there."""
        uri = mention.thread.get("uri") or ""
        if mention.thread.get("instance") == home and STATUS_ID.match(mention.thread.get("id", "")):
            acct = mention.author_handle.removesuffix("@" + _host(home))
            if ACCT.match(acct):
                return {"id": mention.thread["id"], "account": {"acct": acct}}
        if not uri.startswith("https://"):
            raise NotReplyable(self.network, "the mention has no https status uri to resolve")
        resp = self.http.request("GET", f"{home}/api/v2/search", headers=headers, accept=(401,),
                                 params={"q": uri, "resolve": "true", "type": "statuses", "limit": 1})
        if resp.status_code == 401:
            raise ReplyCredentialsError(self.network, "access token rejected (HTTP 401)")
        body = decode_json(self.network, resp)
        statuses = body.get("statuses") if isinstance(body, dict) else None
        if not isinstance(statuses, list):
            raise BadPayload(self.network, "search: response has no 'statuses' list")
        for status in statuses:
            if (isinstance(status, dict) and isinstance(status.get("id"), str) and STATUS_ID.match(status["id"])
                    and isinstance(status.get("account"), dict) and isinstance(status["account"].get("acct"), str)
                    and ACCT.match(status["account"]["acct"])):
                return status
        raise NotReplyable(self.network, "the home instance could not find the status (deleted, or not public)")


def _error(resp: Any) -> str:
    """Mastodon's ``error`` text, cut short and kept to plain characters (said to the owner)."""
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        return "no reason given"
    if not isinstance(error, str):
        return "no reason given"
    return re.sub(r"[^\w .,:'-]", "", error)[:120] or "no reason given"

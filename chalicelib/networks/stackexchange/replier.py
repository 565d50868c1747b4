"""Replying on Stack Exchange with a comment on the question: ``POST /2.3/posts/{id}/comments/add``
(form: ``site``, ``body``, ``access_token`` with the ``write_access`` scope, ``key``).

Write rules of the API: a comment is 15 to 600 characters, the account needs 50 reputation
on the site (else ``ReplyRefused``), and a user may write at most once every 5 seconds:
after each comment the next is held back that long (or the ``backoff`` the answer asks),
in the state under "write_pacing"; asked earlier, ``ReplyRateLimited`` without a request.
Errors come as HTTP 400 with ``error_id`` (502 ``throttle_violation`` is rate limiting).
The POST is never retried (a timeout may have posted; the API has no idempotency key):
``ReplyUncertain``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import requests

from chalicelib.model import Mention
from chalicelib.networks.stackexchange import SPEC
from chalicelib.networks.stackexchange.source import (
    _CREDENTIAL_ERRORS,
    _SECONDS_IN_MESSAGE,
    _SERVER_ERRORS,
    _SITE,
    StackExchangeOptions,
    _on_se_network,
)
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRateLimited,
    ReplyRefused,
    ReplyTooLong,
    ReplyUnavailable,
)
from chalicelib.sources.base import BadPayload, SourceOptions, require_secret
from chalicelib.sources.http import decode_json

MIN_COMMENT = 15
SECONDS_BETWEEN_WRITES = 5


StackExchangeReplyOptions = StackExchangeOptions  # access_token_parameter lives with the network's options


class StackExchangeReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = StackExchangeReplyOptions

    def check_length(self, text: str) -> None:
        super().check_length(text)
        if len(text.strip()) < MIN_COMMENT:
            raise ReplyTooLong(self.network, f"a comment needs at least {MIN_COMMENT} characters", MIN_COMMENT)

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, StackExchangeReplyOptions)
        site, question_id = self._thread(mention, "site", "question_id")
        if not _SITE.match(site) or not (question_id.isdigit() and question_id.isascii()):
            raise NotReplyable(self.network, "the mention's site or question id is not valid")
        if not _on_se_network(mention.url, rf"/(questions|q)/{question_id}(/|$)"):
            raise NotReplyable(self.network, "the mention's link is not a Stack Exchange question URL")
        now = self._clock()
        pacing = self._state.get_state(self.network, "write_pacing") or {}
        not_before = pacing.get("not_before")
        if isinstance(not_before, int | float) and not_before > now:
            wait = float(not_before) - now
            raise ReplyRateLimited(self.network, f"one write every {SECONDS_BETWEEN_WRITES} s: wait {wait:.0f} s",
                                   wait)
        key = require_secret(self.network, self._secrets, self.options.key_parameter, "Stack Apps key")
        token = require_secret(self.network, self._secrets, self.options.access_token_parameter,
                               "access token (write_access)")
        resp = self._post(f"{self.options.base_url}/posts/{question_id}/comments/add", accept=(400,),
                          data={"site": site, "body": text, "access_token": token, "key": key, "preview": "false"})
        body = decode_json(self.network, resp)
        if resp.status_code == 400 or (isinstance(body, dict) and "error_id" in body):
            raise self._api_error(body, resp)
        comment = self._comment(body)
        backoff = body.get("backoff")
        wait = backoff if isinstance(backoff, int) and not isinstance(backoff, bool) and backoff > 0 else 0
        self._state.put_state(self.network, "write_pacing",
                              {"not_before": self._clock() + max(SECONDS_BETWEEN_WRITES, wait)})
        parts = urlsplit(mention.url)
        url = urlunsplit(("https", parts.netloc, parts.path, "",
                          f"comment{comment['comment_id']}_{comment['post_id']}"))
        return Reply(url=url, native_id=str(comment["comment_id"]))

    def _comment(self, body: Any) -> dict[str, Any]:
        items = body.get("items") if isinstance(body, dict) else None
        comment = items[0] if isinstance(items, list) and items else None
        if not isinstance(comment, dict) or not all(
                isinstance(comment.get(name), int) and not isinstance(comment[name], bool)
                for name in ("comment_id", "post_id")):
            raise BadPayload(self.network, "comments/add: items[0] has no comment_id and post_id")
        return comment

    def _api_error(self, body: Any, resp: requests.Response) -> Exception:
        if not isinstance(body, dict) or not isinstance(body.get("error_id"), int):
            return BadPayload(self.network, f"HTTP {resp.status_code} without an 'error_id'")
        error_id: int = body["error_id"]
        name = re.sub(r"[^a-z_]", "", str(body.get("error_name", "")))[:40] or "error"
        message = body.get("error_message") if isinstance(body.get("error_message"), str) else ""
        if error_id == 502:
            seconds = _SECONDS_IN_MESSAGE.search(message)
            retry_after = float(seconds.group(1)) if seconds else None
            if retry_after is not None:
                self._state.put_state(self.network, "write_pacing", {"not_before": self._clock() + retry_after})
            wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
            return ReplyRateLimited(self.network, f"throttle violation (error 502{wait})", retry_after)
        if error_id in _CREDENTIAL_ERRORS:
            return ReplyCredentialsError(self.network, f"access token or key refused (error {error_id} {name}); the "
                                                       "token needs the write_access scope")
        if error_id in _SERVER_ERRORS:
            return ReplyUnavailable(self.network, f"server error (error {error_id} {name}); nothing was posted")
        return ReplyRefused(self.network, f"Stack Exchange refused the comment (error {error_id} {name})")

"""Answering a Google review as the owner: ``accounts.locations.reviews.updateReply``
(``PUT /v4/{review name}/reply``, body ``{"comment": text}``; answers the ReviewReply;
https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/updateReply).

A review has one reply from the business: updateReply creates it, or replaces the one there, so a
second reply to the same review updates it and is never a duplicate; a PUT sent again after a
timeout replaces the reply with the same text (``resend_is_safe``). The reply may hold 4096 bytes
of UTF-8 (ReviewReply.comment). The access token comes from the owner's refresh token through the
shared Google OAuth code; a 401 (a token revoked early) gets one new token and one more try.
Errors come as google.rpc ``error.status``: 404 ``NOT_FOUND`` (the review was deleted) and 400
``INVALID_ARGUMENT`` are ``ReplyRefused``, 429 ``RESOURCE_EXHAUSTED`` ``ReplyRateLimited``, a
second 401 or a 403 ``ReplyCredentialsError`` that says how to reconnect.
"""

from __future__ import annotations

from typing import Any, ClassVar

import requests

from chalicelib.model import Mention
from chalicelib.networks.google_oauth import GoogleOAuth
from chalicelib.networks.google_reviews import SPEC
from chalicelib.networks.google_reviews.source import (
    LOCATION,
    QUOTA_WAIT_SECONDS,
    RECONNECT,
    REVIEW_ID,
    REVIEWS_PAGE,
    GoogleReviewsOptions,
    _error_status,
)
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRateLimited,
    ReplyRefused,
)
from chalicelib.sources.base import BadPayload, SourceOptions
from chalicelib.sources.http import decode_json, parse_retry_after

RESEND_IS_SAFE_SECONDS = 7 * 86400.0  # a PUT again replaces the same reply: safe whenever the owner retries


class GoogleReviewsReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = GoogleReviewsOptions
    resend_is_safe: ClassVar[float] = RESEND_IS_SAFE_SECONDS

    def _length(self, text: str) -> int:
        return len(text.encode("utf-8"))

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, GoogleReviewsOptions)
        (name,) = self._thread(mention, "review")
        location, _, review_id = name.partition("/reviews/")
        if not LOCATION.match(location) or not REVIEW_ID.match(review_id):
            raise NotReplyable(self.network, "the mention's review name is not a Business Profile review name")
        oauth = GoogleOAuth(self.network, self.options, self.http, self._secrets, self._clock, reconnect=RECONNECT)
        url = f"{self.options.base_url}/v4/{name}/reply"
        resp = oauth.send(self._budget(), lambda headers: self._post(
            url, method="PUT", headers=headers, json_body={"comment": text}, accept=(400, 401, 403, 404, 429)))
        self._check_status(resp)
        body: Any = decode_json(self.network, resp)
        if not isinstance(body, dict) or not isinstance(body.get("comment"), str):
            raise BadPayload(self.network, "updateReply: the answer is not a ReviewReply")
        return Reply(url=mention.url if mention.url.startswith("https://") else REVIEWS_PAGE,
                     native_id=f"{name}/reply")

    def _check_status(self, resp: requests.Response) -> None:
        code = resp.status_code
        if code < 400:
            return
        status = _error_status(resp)
        said = f"HTTP {code}: {status}" if status else f"HTTP {code}"
        if code == 429:
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            raise ReplyRateLimited(self.network, f"Google's quota of requests a minute is used up ({said})",
                                   QUOTA_WAIT_SECONDS if wait is None else wait)
        if code in (401, 403):
            raise ReplyCredentialsError(self.network, f"Google refused the reply ({said}): the connected account "
                                                      f"must manage the location; {RECONNECT}")
        if code == 404:
            raise ReplyRefused(self.network, f"the review is gone ({said})")
        raise ReplyRefused(self.network, f"Google refused the reply ({said})")


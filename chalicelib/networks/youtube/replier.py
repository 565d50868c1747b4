"""Replying on YouTube with an OAuth 2.0 access token of the owner's channel (scope
``youtube.force-ssl``).

Access tokens come from the owner's refresh token in SSM through the shared Google OAuth code
(chalicelib/networks/google_oauth.py: held in this process's memory only). A 401 on the insert
(a token revoked early) gets one new token and one more try: a 401 posted nothing.
``invalid_grant`` and ``invalid_client`` are said in words as ``ReplyCredentialsError``.

- on a video: ``commentThreads.insert`` (``POST /youtube/v3/commentThreads?part=snippet``,
  ``snippet.videoId`` + ``snippet.topLevelComment.snippet.textOriginal``);
- on a comment (``thread["comment_id"]``): ``comments.insert`` with ``snippet.parentId``.

Each insert costs 50 units of the 10,000-unit daily quota (not the search bucket). Errors
come as Google's ``error.errors[].reason``: ``commentsDisabled``/``videoNotFound`` are
``ReplyRefused``, ``quotaExceeded``/``rateLimitExceeded`` ``ReplyRateLimited``, an expired
token (401) ``ReplyCredentialsError``. The POST is never retried (a timeout may have posted;
the API has no idempotency key): ``ReplyUncertain``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import requests

from chalicelib.model import Mention
from chalicelib.networks.google_oauth import GoogleOAuth, forget_access_tokens
from chalicelib.networks.youtube import SPEC
from chalicelib.networks.youtube.source import (
    _CHANNEL_ID,
    _QUOTA_REASONS,
    _RATE_REASONS,
    _REASON,
    _VIDEO_ID,
    WATCH_URL,
    YouTubeOptions,
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
from chalicelib.sources.http import decode_json

COMMENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

_REFUSED_REASONS = frozenset({"commentsDisabled", "videoNotFound", "commentNotFound", "parentCommentIsPrivate",
                              "processingFailure", "commentTextTooLong", "invalidCommentMetadata",
                              "operationNotSupported", "ineligibleAccount"})


YouTubeReplyOptions = YouTubeOptions  # the oauth_* options live with the network's options
__all__ = ["YouTubeReplier", "YouTubeReplyOptions", "forget_access_tokens"]


class YouTubeReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = YouTubeReplyOptions

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, YouTubeReplyOptions)
        (video_id,) = self._thread(mention, "video_id")
        if not _VIDEO_ID.match(video_id):
            raise NotReplyable(self.network, "the mention's video id is not a YouTube video id")
        parent = mention.thread.get("comment_id")
        if parent:
            if not COMMENT_ID.match(parent):
                raise NotReplyable(self.network, "the mention's comment id is not a YouTube comment id")
            resp = self._insert("comments", {"snippet": {"parentId": parent, "textOriginal": text}})
            return self._reply(decode_json(self.network, resp), video_id, "youtube#comment")
        snippet: dict[str, Any] = {"videoId": video_id, "topLevelComment": {"snippet": {"textOriginal": text}}}
        channel = mention.thread.get("channel_id", "")
        if channel and _CHANNEL_ID.match(channel):
            snippet["channelId"] = channel
        resp = self._insert("commentThreads", {"snippet": snippet})
        return self._reply(decode_json(self.network, resp), video_id, "youtube#commentThread")

    def _insert(self, resource: str, body: dict[str, Any]) -> requests.Response:
        """POST the insert with a live access token; a 401 (the token died early) is sent
        once more with a new one. Any other refusal is raised in words."""
        url = f"{self.options.base_url}/youtube/v3/{resource}"
        assert isinstance(self.options, YouTubeReplyOptions)
        oauth = GoogleOAuth(self.network, self.options, self.http, self._secrets, self._clock)
        resp = oauth.send(self._budget(), lambda headers: self._post(
            url, params={"part": "snippet"}, headers=headers, json_body=body, accept=(400, 401, 403, 404)))
        self._check_status(resp)
        return resp

    def _reply(self, body: Any, video_id: str, kind: str) -> Reply:
        if not isinstance(body, dict) or body.get("kind") != kind:
            raise BadPayload(self.network, f"insert: response is not a {kind}")
        comment_id = body.get("id")
        if not isinstance(comment_id, str) or not COMMENT_ID.match(comment_id):
            raise BadPayload(self.network, "insert: 'id' is not a comment id")
        return Reply(url=f"{WATCH_URL}{video_id}&lc={comment_id}", native_id=comment_id)

    def _check_status(self, resp: requests.Response) -> None:
        status = resp.status_code
        if status < 400:
            return
        reasons: set[str] = set()
        try:
            error = resp.json().get("error", {})
            reasons = {str(e.get("reason")) for e in error.get("errors", []) if isinstance(e, dict)}
        except (ValueError, AttributeError, TypeError):
            pass  # not Google's error shape: the status alone decides
        reasons = {r for r in reasons if _REASON.match(r)}  # said to the owner: Google's codes only
        said = ", ".join(sorted(reasons)) or "?"
        if reasons & _QUOTA_REASONS:
            raise ReplyRateLimited(self.network, f"the daily API quota is used up (HTTP {status}: {said})", None)
        if reasons & _RATE_REASONS:
            raise ReplyRateLimited(self.network, f"YouTube asks to slow down (HTTP {status}: {said})", None)
        if reasons & _REFUSED_REASONS or status == 404:
            raise ReplyRefused(self.network, f"YouTube refused the comment (HTTP {status}: {said})")
        if status in (401, 403):
            raise ReplyCredentialsError(self.network, f"OAuth token rejected (HTTP {status}: {said}), even one just "
                                                      "made from the refresh token: the owner must authorise the "
                                                      "youtube.force-ssl scope")
        raise ReplyRefused(self.network, f"YouTube refused the comment (HTTP {status}: {said})")

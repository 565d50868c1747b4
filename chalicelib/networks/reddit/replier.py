"""Replying on Reddit: ``POST /api/comment`` (form ``api_type=json``, ``thing_id`` = the post's
or comment's fullname, ``text`` = Markdown) with the connector's user-context token (the
script app's password grant, cached in the state under "oauth"; the token needs the
``submit`` scope, which a script app has).

Reddit answers refusals with HTTP 200 and ``json.errors`` (``[code, message, field]``):
``RATELIMIT`` ("try again in 4 minutes") is ``ReplyRateLimited``, the others (THREAD_LOCKED,
DELETED_COMMENT, TOO_LONG...) ``ReplyRefused``. A 401 gets one new token and one resend
(the comment was refused, not posted). The POST is never retried otherwise: a timeout may
have posted, and Reddit has no idempotency key (``ReplyUncertain``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import requests

from chalicelib.model import Mention
from chalicelib.networks.reddit import SPEC
from chalicelib.networks.reddit.source import FULLNAME, PERMALINK, SITE_URL, Reddit, RedditOptions
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyError,
    ReplyRateLimited,
    ReplyRefused,
)
from chalicelib.sources.base import BadPayload, Budget, SourceOptions
from chalicelib.sources.http import decode_json

_WAIT = re.compile(r"(\d+)\s+(second|minute|hour)s?")
_ERROR_CODE = re.compile(r"[^A-Z_]")
_SECONDS = {"second": 1, "minute": 60, "hour": 3600}


class RedditReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = RedditOptions
    connector_class = Reddit
    _connector: Reddit

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, RedditOptions)
        (fullname,) = self._thread(mention, "fullname")
        if not FULLNAME.match(fullname):
            raise NotReplyable(self.network, "the mention's fullname is not a t1_/t3_ id")
        if self.options.user_agent is None:
            raise ReplyError(self.network, "options.user_agent is not set; Reddit requires one")
        budget = self._budget()
        form = {"api_type": "json", "thing_id": fullname, "text": text}
        for attempt in range(2):
            token = self._connector._access_token(budget, renew=attempt > 0)
            resp = self._comment(form, token, budget)
            if resp.status_code != 401:
                return self._reply(decode_json(self.network, resp))
        raise ReplyCredentialsError(self.network, "access token rejected (HTTP 401) even after a new login")

    def _comment(self, form: dict[str, str], token: str, budget: Budget) -> requests.Response:
        assert isinstance(self.options, RedditOptions)
        resp = self._post(f"{self.options.base_url}/api/comment", data=form, accept=(401, 403),
                          headers={"User-Agent": self.options.user_agent or "", "Authorization": f"bearer {token}"})
        if resp.status_code == 403:
            if b"whoa there, pardner" in resp.content.lower():
                raise ReplyRefused(self.network, "Reddit's network blocked the request (HTTP 403 'whoa there, "
                                                 "pardner!')")
            raise ReplyCredentialsError(self.network, "posting refused (HTTP 403): the account may be banned there "
                                                      "or the app lacks the submit scope")
        return resp

    def _reply(self, body: Any) -> Reply:
        """The posted comment from Reddit's ``{"json": {"errors": [...], "data": {"things": [...]}}}``."""
        answer = body.get("json") if isinstance(body, dict) else None
        if not isinstance(answer, dict) or not isinstance(answer.get("errors", []), list):
            raise BadPayload(self.network, "comment: response has no 'json' object")
        if answer.get("errors"):
            first = answer["errors"][0]
            parts = [p if isinstance(p, str) else "" for p in first] if isinstance(first, list) else [""]
            code = _ERROR_CODE.sub("", parts[0])[:40] or "UNKNOWN"
            if code == "RATELIMIT":
                wait = _WAIT.search(parts[1] if len(parts) > 1 else "")
                retry_after = float(int(wait.group(1)) * _SECONDS[wait.group(2)]) if wait else None
                said = f", retry after {retry_after:g} s" if retry_after is not None else ""
                raise ReplyRateLimited(self.network, f"Reddit says we are commenting too often{said}", retry_after)
            raise ReplyRefused(self.network, f"Reddit refused the comment ({code})")
        data = answer.get("data")
        things = data.get("things") if isinstance(data, dict) else None
        thing = things[0] if isinstance(things, list) and things else None
        comment = thing.get("data") if isinstance(thing, dict) and thing.get("kind") == "t1" else None
        if not isinstance(comment, dict) or not isinstance(comment.get("name"), str) or \
                not FULLNAME.match(comment["name"]) or not comment["name"].startswith("t1_"):
            raise BadPayload(self.network, "comment: json.data.things[0] is not a t1 comment")
        permalink = comment.get("permalink")
        if isinstance(permalink, str) and PERMALINK.match(permalink):
            url = SITE_URL + permalink
        else:
            link_id = comment.get("link_id")
            if not isinstance(link_id, str) or not FULLNAME.match(link_id) or not link_id.startswith("t3_"):
                raise BadPayload(self.network, "comment: no permalink and no t3 link_id")
            url = f"{SITE_URL}/comments/{link_id[3:]}/_/{comment['name'][3:]}/"
        return Reply(url=url, native_id=comment["name"])

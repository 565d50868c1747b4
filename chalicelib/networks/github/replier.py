"""Replying on GitHub with the owner's token (``token_parameter``).

What works: a classic personal access token with the ``public_repo`` scope (it comments on
any public repository the account can see), or a GitHub App's token (on the repositories
where the app is installed). A fine-grained personal access token acts on the repositories
of its one resource owner only: GitHub refuses it on other owners' repositories ("Resource
not accessible by personal access token", HTTP 403; GitHub's documented limitation of
fine-grained tokens), and the replier says so in words.

- issues and pull requests: ``POST /repos/{owner}/{repo}/issues/{number}/comments`` with
  ``{"body": text}`` (201 and the comment, whose ``html_url`` is the reply's URL);
- discussions: GraphQL ``addDiscussionComment(input: {discussionId, body})``.

A locked issue is ``ReplyRefused``; a secondary rate limit (403/429 with ``retry-after``, or
remaining 0) ``ReplyRateLimited``. The POST is never retried (a timeout may have posted;
GitHub has no idempotency key): ``ReplyUncertain``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from chalicelib.model import Mention
from chalicelib.networks.github import SPEC
from chalicelib.networks.github.source import _NAME_WITH_OWNER, _NODE_ID, SECONDARY_LIMIT_WAIT, GitHubOptions
from chalicelib.replies import (
    BaseReplier,
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRateLimited,
    ReplyRefused,
)
from chalicelib.sources.base import BadPayload, SourceOptions, require_secret
from chalicelib.sources.http import decode_json, parse_retry_after

ADD_DISCUSSION_COMMENT = """
mutation($id: ID!, $body: String!) {
  addDiscussionComment(input: {discussionId: $id, body: $body}) {
    comment { id url }
  }
}
"""
_COMMENT_URL = re.compile(r"^https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+/(issues|pull)/\d+#issuecomment-\d+$")
_DISCUSSION_COMMENT_URL = re.compile(
    r"^https://github\.com/[A-Za-z0-9-]+/[A-Za-z0-9._-]+/discussions/\d+#discussioncomment-\d+$")
_ERROR_TYPE = re.compile(r"[^A-Z_]")
FINE_GRAINED_REFUSED = (
    "a fine-grained personal access token can comment only on repositories of its own resource owner, "
    "and this repository is not one; use a classic token with the public_repo scope, or a GitHub App "
    "installed on this repository"
)


class GitHubReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = GitHubOptions

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, GitHubOptions)
        repo, number, kind = self._thread(mention, "repo", "number", "kind")
        if not _NAME_WITH_OWNER.match(repo) or not (number.isdigit() and number.isascii()):
            raise NotReplyable(self.network, "the mention's repository or number is not owner/repo and a number")
        token = require_secret(self.network, self._secrets, self.options.token_parameter, "token")
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                   "Authorization": f"Bearer {token}"}
        if kind == "discussion":
            (node_id,) = self._thread(mention, "node_id")
            if not _NODE_ID.match(node_id):
                raise NotReplyable(self.network, "the discussion's node id is not a node id")
            return self._discussion_comment(node_id, text, headers)
        owner, name = repo.split("/")
        resp = self._post(f"{self.options.base_url}/repos/{quote(owner, safe='')}/{quote(name, safe='')}/issues/"
                          f"{number}/comments", json_body={"body": text}, headers=headers,
                          accept=(401, 403, 404, 410, 422, 429))
        self._check_status(resp, headers)
        body = decode_json(self.network, resp)
        if not isinstance(body, dict) or not isinstance(body.get("id"), int) or isinstance(body["id"], bool):
            raise BadPayload(self.network, "created comment has no numeric id")
        url = body.get("html_url")
        if not isinstance(url, str) or not _COMMENT_URL.match(url):
            raise BadPayload(self.network, "created comment's html_url is not a github.com comment URL")
        return Reply(url=url, native_id=str(body["id"]))

    def _discussion_comment(self, node_id: str, text: str, headers: dict[str, str]) -> Reply:
        assert isinstance(self.options, GitHubOptions)
        resp = self._post(f"{self.options.base_url}/graphql", headers=headers, accept=(401, 403, 429),
                          json_body={"query": ADD_DISCUSSION_COMMENT, "variables": {"id": node_id, "body": text}})
        self._check_status(resp, headers)
        body = decode_json(self.network, resp)
        errors = body.get("errors") if isinstance(body, dict) else None
        if isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            kind = _ERROR_TYPE.sub("", str(first.get("type", "")))[:40] or "ERROR"
            if kind == "RATE_LIMITED":
                raise ReplyRateLimited(self.network, "GraphQL rate limit reached", SECONDARY_LIMIT_WAIT)
            if kind == "FORBIDDEN":
                if _fine_grained(headers, str(first.get("message", "")).encode()):
                    raise ReplyCredentialsError(self.network, f"{FINE_GRAINED_REFUSED} (FORBIDDEN)")
                raise ReplyCredentialsError(self.network, "the token may not comment on this discussion (FORBIDDEN)")
            raise ReplyRefused(self.network, f"GitHub refused the discussion comment ({kind})")
        data = body.get("data") if isinstance(body, dict) else None
        added = data.get("addDiscussionComment") if isinstance(data, dict) else None
        comment = added.get("comment") if isinstance(added, dict) else None
        if not isinstance(comment, dict) or not isinstance(comment.get("id"), str) or not _NODE_ID.match(
                comment["id"]):
            raise BadPayload(self.network, "addDiscussionComment: no comment id")
        url = comment.get("url")
        if not isinstance(url, str) or not _DISCUSSION_COMMENT_URL.match(url):
            raise BadPayload(self.network, "addDiscussionComment: comment url is not a github.com discussion comment")
        return Reply(url=url, native_id=comment["id"])

    def _check_status(self, resp: requests.Response, headers: dict[str, str]) -> None:
        status = resp.status_code
        if status in (403, 429):
            retry_after = parse_retry_after(resp.headers.get("retry-after"))
            limited = (retry_after is not None or status == 429 or resp.headers.get("x-ratelimit-remaining") == "0"
                       or b"rate limit" in resp.content.lower())
            if limited:
                wait = retry_after if retry_after is not None else SECONDARY_LIMIT_WAIT
                raise ReplyRateLimited(self.network, f"rate limited (HTTP {status}), retry after {wait:g} s", wait)
            if b"locked" in resp.content.lower():
                raise ReplyRefused(self.network, "the conversation is locked (HTTP 403)")
            if _fine_grained(headers, resp.content):
                raise ReplyCredentialsError(self.network, f"{FINE_GRAINED_REFUSED} (HTTP 403)")
            raise ReplyCredentialsError(self.network, "the token may not comment here (HTTP 403); it needs the "
                                                      "public_repo scope or issues write access")
        if status == 401:
            raise ReplyCredentialsError(self.network, "token rejected (HTTP 401)")
        if status == 404:
            raise ReplyRefused(self.network, "the issue is gone or the token cannot see it (HTTP 404)")
        if status == 410:
            raise ReplyRefused(self.network, "issues are disabled in this repository (HTTP 410)")
        if status == 422:
            raise ReplyRefused(self.network, f"GitHub refused the comment (HTTP 422: {_message(resp)})")


def _fine_grained(headers: dict[str, str], refusal: bytes) -> bool:
    """True when a refusal is GitHub's answer to a fine-grained personal access token acting
    outside its resource owner: its words say so, or the token is one (``github_pat_``)."""
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    return b"by personal access token" in refusal.lower() or token.startswith("github_pat_")


def _message(resp: requests.Response) -> str:
    try:
        message: Any = resp.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return re.sub(r"[^\w .,:'-]", "", message)[:120] if isinstance(message, str) else "Validation Failed"

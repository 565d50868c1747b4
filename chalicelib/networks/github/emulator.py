"""GitHub's REST ``/search/issues`` and GraphQL ``search(type: DISCUSSION)`` over a corpus.

The corpus holds issues and pull requests in the REST search shape (``issue()``) and
discussions in the GraphQL node shape (``discussion()``, marked by ``__typename``).
Implements what the connector relies on: the search syntax it sends (quoted phrases and
words matched case-insensitively in title and body, ``created:>=ISO`` and
``created:ISO..ISO``, ``sort:created-desc``), ``sort=created&order=desc``, ``per_page`` and
``page`` with a ``Link`` header (next, last, prev, first) on the public host, the rate-limit
headers (search: 30 a minute with a token, 10 without; ``x-ratelimit-resource``), 403 when
that is used up, and 401 for a token it does not know (when ``valid_tokens`` is given).
An issue search must say its type, as GitHub requires: ``is:issue`` or ``is:pull-request``
(``type:issue``/``type:pr``, ``is:pr``), or both as ``(is:issue OR is:pull-request)``; one
without is refused with HTTP 422 "Query must include 'is:issue' or 'is:pull-request'", and
so is one with both when ``refuse_combined`` is set (GitHub App user tokens).

Replies: ``POST /repos/{owner}/{repo}/issues/{number}/comments`` (token; 404 for an issue not
in the corpus, 403 "Unable to create comment because issue is locked." for a locked one,
422 for an empty or over-65536-character body; 201 and the IssueComment) and the GraphQL
mutation ``addDiscussionComment(input: {discussionId, body})``. A fine-grained personal access
token (``fine_grained``: token -> its resource owner) may comment only on that owner's
repositories, as on GitHub: elsewhere 403 "Resource not accessible by personal access token"
(or a GraphQL ``FORBIDDEN`` error). What was posted is kept
in ``posted``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from offline.replay.queries import any_of, matches_any
from offline.replay.server import Request, Response

_ISO = "%Y-%m-%dT%H:%M:%SZ"
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_DOCS = "https://docs.github.com/rest"
# GraphQL's answer to a request without a token.
_GRAPHQL_UNAUTHENTICATED = {"message": "This endpoint requires you to be authenticated.",
                            "documentation_url": "https://docs.github.com/graphql", "status": "401"}
_COMMENTS_PATH = re.compile(r"^/repos/([A-Za-z0-9-]+/[A-Za-z0-9._-]+)/issues/(\d+)/comments$")


def _unix(iso: str) -> int:
    return int(dt.datetime.strptime(iso, _ISO).replace(tzinfo=dt.UTC).timestamp())


def _iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime(_ISO)


_ISSUE_TYPES = {"is:issue": "issue", "type:issue": "issue", "is:pull-request": "pull", "is:pr": "pull",
                "type:pr": "pull"}
_UNTYPED = "Query must include 'is:issue' or 'is:pull-request'"


def _types(q: str) -> set[str]:
    """The item types an issue search asks for ("issue", "pull"); empty when it names none."""
    words = [word.strip("()").lower() for _, word in _TOKEN.findall(q)]
    return {_ISSUE_TYPES[word] for word in words if word in _ISSUE_TYPES}


_TERM_GROUP = re.compile(r'\(((?:"[^"]*"|[^()\s"]+)(?: OR (?:"[^"]*"|[^()\s"]+))+)\)')


def _parse_search(q: str) -> tuple[list[list[str]], int, int] | None:
    """(alternatives of lower-case terms, created low, created high) of a search string, or
    None if unsupported. Terms combined as ``("a b" OR c)`` are alternatives; other words
    must all appear."""
    alternatives: list[list[str]] = [[]]
    for group in _TERM_GROUP.finditer(q):
        if not all(word.lower() in _ISSUE_TYPES for word in group.group(1).split(" OR ")):
            alternatives = any_of(group.group(1), " OR ")
            q = q.replace(group.group(0), " ")
            break
    terms: list[str] = []
    low, high = 0, 2**62
    for phrase, word in _TOKEN.findall(q):
        token = phrase or word
        try:
            if word.strip("()").lower() in _ISSUE_TYPES or word == "OR":
                continue
            if word.startswith("created:>="):
                low = _unix(word[len("created:>="):])
            elif word.startswith("created:") and ".." in word:
                first, _, last = word[len("created:"):].partition("..")
                low, high = _unix(first), _unix(last)
            elif word.startswith(("sort:", "is:", "type:")):
                continue
            elif token:
                terms.append(token.lower())
        except ValueError:
            return None
    return [[*alternative, *terms] for alternative in alternatives], low, high


class GitHubAPI:
    """``valid_tokens``: when given, any other bearer token gets 401. ``clock`` drives the
    one-minute rate-limit windows (real time by default)."""

    def __init__(self, *, valid_tokens: set[str] | None = None, public_base: str = "https://api.github.com",
                 clock: Callable[[], float] = time.time, fine_grained: dict[str, str] | None = None,
                 refuse_combined: bool = False) -> None:
        self.refuse_combined = refuse_combined  # True: one search may name one type only
        self.valid_tokens = valid_tokens
        self.fine_grained = fine_grained or {}  # fine-grained token -> the one owner it may act on
        self.public_base = public_base
        self.clock = clock
        self.windows: dict[str, tuple[int, int]] = {}  # who -> (window reset unix, requests used)
        self.posted: list[dict[str, Any]] = []  # comments made, issue and discussion alike

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        if token is not None and self.valid_tokens is not None and token not in self.valid_tokens:
            return Response.json({"message": "Bad credentials", "documentation_url": _DOCS, "status": "401"}, 401)
        if request.method == "GET" and request.path == "/search/issues":
            return self._search_issues(request, items, token)
        comments = _COMMENTS_PATH.match(request.path)
        if request.method == "POST" and comments:
            return self._add_comment(request, items, token, comments.group(1), int(comments.group(2)))
        if request.method == "POST" and request.path == "/graphql" and b"addDiscussionComment" in request.body:
            return self._add_discussion_comment(request, items, token)
        if request.method == "POST" and request.path == "/graphql":
            return self._graphql(request, items, token)
        return Response.json({"message": "Not Found", "documentation_url": _DOCS, "status": "404"}, 404)

    def _add_comment(self, request: Request, items: list[dict[str, Any]], token: str | None, repo: str,
                     number: int) -> Response:
        if token is None:
            return Response.json({"message": "Requires authentication", "documentation_url": _DOCS,
                                  "status": "401"}, 401)
        headers, _ = self._rate(token, 5000, "core")
        target = next((i for i in items if i.get("__typename") is None and i["number"] == number
                       and i["repository_url"].endswith(f"/repos/{repo}")), None)
        if target is None:
            return Response.json({"message": "Not Found", "documentation_url": _DOCS, "status": "404"}, 404, headers)
        owner = self.fine_grained.get(token)
        if owner is not None and repo.split("/")[0].lower() != owner.lower():
            return Response.json({"message": "Resource not accessible by personal access token",
                                  "documentation_url": f"{_DOCS}/issues/comments#create-an-issue-comment",
                                  "status": "403"}, 403, headers)
        if target.get("locked"):
            return Response.json({"message": "Unable to create comment because issue is locked.",
                                  "documentation_url": _DOCS, "status": "403"}, 403, headers)
        try:
            text = json.loads(request.body).get("body")
        except (ValueError, AttributeError):
            return Response.json({"message": "Problems parsing JSON", "documentation_url": _DOCS, "status": "400"},
                                 400, headers)
        if not isinstance(text, str) or not text.strip() or len(text) > 65536:
            code = "missing_field" if not text else "custom"
            return Response.json({"message": "Validation Failed", "errors": [
                {"resource": "IssueComment", "code": code, "field": "body"}], "documentation_url": _DOCS,
                "status": "422"}, 422, headers)
        comment_id = 2_400_000_000 + len(self.posted)
        now = _iso(int(self.clock()))
        api = f"{self.public_base}/repos/{repo}/issues"
        comment = {
            "url": f"{api}/comments/{comment_id}", "html_url": f"{target['html_url']}#issuecomment-{comment_id}",
            "issue_url": f"{api}/{number}", "id": comment_id, "node_id": f"IC_kwDO{comment_id:010d}",
            "user": {"login": "beanthere", "id": 4242, "type": "User", "site_admin": False,
                     "html_url": "https://github.com/beanthere"},
            "created_at": now, "updated_at": now, "author_association": "OWNER", "body": text,
            "reactions": {"url": f"{api}/comments/{comment_id}/reactions", "total_count": 0},
            "performed_via_github_app": None,
        }
        self.posted.append(comment)
        return Response.json(comment, 201, headers)

    def _add_discussion_comment(self, request: Request, items: list[dict[str, Any]], token: str | None) -> Response:
        if token is None:
            return Response.json(_GRAPHQL_UNAUTHENTICATED, 401)
        headers, _ = self._rate(f"graphql:{token}", 5000, "graphql")
        try:
            variables = json.loads(request.body).get("variables") or {}
            node_id, text = variables["id"], variables["body"]
        except (ValueError, AttributeError, KeyError):
            return Response.json({"errors": [{"message": "Parse error"}]}, 200, headers)
        target = next((i for i in items if i.get("__typename") == "Discussion" and i["id"] == node_id), None)
        if target is None:
            return Response.json({"data": {"addDiscussionComment": None}, "errors": [
                {"type": "NOT_FOUND", "path": ["addDiscussionComment"],
                 "message": f"Could not resolve to a node with the global id of '{node_id}'"}]}, 200, headers)
        owner = self.fine_grained.get(token)
        if owner is not None and target["repository"]["nameWithOwner"].split("/")[0].lower() != owner.lower():
            return Response.json({"data": {"addDiscussionComment": None}, "errors": [
                {"type": "FORBIDDEN", "path": ["addDiscussionComment"],
                 "message": "Resource not accessible by personal access token"}]}, 200, headers)
        number = 9_000_000 + len(self.posted)
        comment = {"id": f"DC_kwDO{number:010d}", "url": f"{target['url']}#discussioncomment-{number}",
                   "body": text, "discussionId": node_id}
        self.posted.append(comment)
        return Response.json({"data": {"addDiscussionComment": {"comment": {"id": comment["id"],
                                                                            "url": comment["url"]}}}}, 200, headers)

    def _rate(self, who: str, limit: int, resource: str) -> tuple[dict[str, str], bool]:
        now = int(self.clock())
        reset, used = self.windows.get(who, (now + 60, 0))
        if reset <= now:
            reset, used = now + 60, 0
        allowed = used < limit
        used += 1 if allowed else 0
        self.windows[who] = (reset, used)
        return {
            "x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(limit - used),
            "x-ratelimit-reset": str(reset), "x-ratelimit-used": str(used), "x-ratelimit-resource": resource,
            "x-github-api-version-selected": "2022-11-28", "x-github-media-type": "github.v3; format=json",
            "Server": "github.com",
        }, allowed

    def _search_issues(self, request: Request, items: list[dict[str, Any]], token: str | None) -> Response:
        headers, allowed = self._rate(token or "ip", 30 if token else 10, "search")
        if not allowed:
            return Response.json({"message": "API rate limit exceeded for 127.0.0.1.", "documentation_url": _DOCS},
                                 403, headers)
        parsed = _parse_search(request.param("q") or "")
        try:
            per_page = min(100, int(request.param("per_page", "30") or 30))
            page = int(request.param("page", "1") or 1)
        except ValueError:
            parsed = None
        if parsed is None:
            return Response.json({"message": "Validation Failed", "errors": [{"resource": "Search", "field": "q",
                                  "code": "invalid"}], "documentation_url": _DOCS, "status": "422"}, 422, headers)
        types = _types(request.param("q") or "")
        if not types or (self.refuse_combined and len(types) > 1):
            return Response.json({"message": "Validation Failed", "errors": [
                {"message": _UNTYPED, "resource": "Search", "field": "q", "code": "invalid"}],
                "documentation_url": _DOCS, "status": "422"}, 422, headers)
        terms, low, high = parsed

        def keep(item: dict[str, Any]) -> bool:
            text = f"{item.get('title') or ''} {item.get('body') or ''}".lower()
            kind = "pull" if item.get("pull_request") is not None else "issue"
            return ("__typename" not in item and kind in types and low <= _unix(item["created_at"]) <= high
                    and matches_any(terms, text))

        matching = sorted((i for i in items if keep(i)), key=lambda i: i["created_at"], reverse=True)
        last = max(1, math.ceil(len(matching) / per_page))
        start = (page - 1) * per_page
        hits = [{**i, "score": 1.0} for i in matching[start : start + per_page]]
        links = []
        for rel, number in (("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)):
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last):
                query = [(k, v) for k, v in request.query if k != "page"] + [("page", str(number))]
                links.append(f'<{self.public_base}/search/issues?{urlencode(query)}>; rel="{rel}"')
        if links:
            headers["Link"] = ", ".join(links)
        payload = {"total_count": len(matching), "incomplete_results": False, "items": hits}
        return Response.json(payload, headers=headers)

    def _graphql(self, request: Request, items: list[dict[str, Any]], token: str | None) -> Response:
        if token is None:
            return Response.json(_GRAPHQL_UNAUTHENTICATED, 401)
        headers, allowed = self._rate(f"graphql:{token}", 5000, "graphql")
        try:
            body = json.loads(request.body)
            query, variables = body["query"], body.get("variables") or {}
            parsed = _parse_search(variables["q"])
            offset = int(base64.b64decode(variables["after"]).decode().removeprefix("cursor:")) if variables.get(
                "after") else 0
        except (ValueError, KeyError, TypeError):
            return Response.json({"errors": [{"message": "Parse error"}]}, 200, headers)
        if not allowed:
            return Response.json({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]},
                                 200, headers)
        if "search(type: DISCUSSION" not in query or parsed is None:
            return Response.json({"errors": [{"type": "INVALID", "message": "unsupported query"}]}, 200, headers)
        terms, low, high = parsed
        first = int(m.group(1)) if (m := re.search(r"first:\s*(\d+)", query)) else 10

        def keep(node: dict[str, Any]) -> bool:
            text = f"{node['title']} {node['body']}".lower()
            return (node.get("__typename") == "Discussion" and low <= _unix(node["createdAt"]) <= high
                    and matches_any(terms, text))

        matching = sorted((n for n in items if keep(n)), key=lambda n: n["createdAt"], reverse=True)
        nodes = [{k: v for k, v in n.items() if k != "__typename"} for n in matching[offset : offset + first]]
        end = offset + len(nodes)
        payload = {"data": {"search": {
            "discussionCount": len(matching),
            "pageInfo": {"hasNextPage": end < len(matching),
                         "endCursor": base64.b64encode(f"cursor:{end}".encode()).decode() if nodes else None},
            "nodes": nodes,
        }}}
        return Response.json(payload, headers=headers)


def issue(issue_id: int, number: int, repo: str, created_at: int, title: str, body: str | None, *,
          login: str = "octocat", pull: bool = False, comments: int = 0, labels: tuple[str, ...] = (),
          state: str = "open") -> dict[str, Any]:
    """An issue (or pull request with ``pull=True``) in the shape ``/search/issues`` returns."""
    api = f"https://api.github.com/repos/{repo}/issues/{number}"
    kind = "pull" if pull else "issues"
    item: dict[str, Any] = {
        "url": api, "repository_url": f"https://api.github.com/repos/{repo}",
        "labels_url": api + "/labels{/name}", "comments_url": api + "/comments", "events_url": api + "/events",
        "html_url": f"https://github.com/{repo}/{kind}/{number}",
        "id": issue_id, "node_id": ("PR_kwDO" if pull else "I_kwDO") + f"{issue_id:08d}", "number": number,
        "title": title,
        "user": {"login": login, "id": issue_id % 9973 + 1, "node_id": f"U_kgDO{issue_id % 9973:06d}",
                 "avatar_url": f"https://avatars.githubusercontent.com/u/{issue_id % 9973 + 1}?v=4",
                 "url": f"https://api.github.com/users/{login}", "html_url": f"https://github.com/{login}",
                 "type": "User", "site_admin": False},
        "labels": [{"id": 1000 + i, "name": name, "color": "d73a4a", "default": False}
                   for i, name in enumerate(labels)],
        "state": state, "locked": False, "assignee": None, "assignees": [], "milestone": None,
        "comments": comments, "created_at": _iso(created_at), "updated_at": _iso(created_at), "closed_at": None,
        "author_association": "NONE", "active_lock_reason": None, "body": body,
        "reactions": {"url": api + "/reactions", "total_count": 0},
        "timeline_url": api + "/timeline", "performed_via_github_app": None, "state_reason": None,
    }
    if pull:
        item["draft"] = False
        item["pull_request"] = {
            "url": f"https://api.github.com/repos/{repo}/pulls/{number}",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo}/pull/{number}.patch", "merged_at": None,
        }
    return item


def discussion(node_id: str, number: int, repo: str, created_at: int, title: str, body: str, *,
               login: str = "octocat", category: str = "Q&A", comments: int = 0) -> dict[str, Any]:
    """A discussion node in the shape the connector's GraphQL query selects (plus ``__typename``)."""
    return {
        "__typename": "Discussion", "id": node_id, "number": number,
        "url": f"https://github.com/{repo}/discussions/{number}", "title": title, "body": body,
        "createdAt": _iso(created_at), "author": {"login": login, "url": f"https://github.com/{login}"},
        "repository": {"nameWithOwner": repo}, "comments": {"totalCount": comments}, "category": {"name": category},
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Six recent issues, pull requests and discussions; two do not mention Bean There Café."""
    return [
        issue(3_100_000_001, 412, "beanthere/shop", now - 90, "Beanbag subscription renewal charged twice",
              "My **Beanbag subscription** renewed today and I was charged twice 😡. "
              "Order #8812, Bean There Café Lisbon. Please refund the duplicate.",
              login="ines-d", labels=("bug", "billing"), comments=1),
        issue(3_100_000_002, 77, "lisbon-dev/coffee-map", now - 150, "Add Bean There Café to the map",
              "Bean There Café (Rua da Boavista) roasts in house; their Cold brew is great. "
              "Also missing: Copenhagen Coffee Lab in Alfama.", login="joaomaps", labels=("data",)),
        issue(3_100_000_003, 78, "lisbon-dev/coffee-map", now - 210, "Update opening hours for Fábrica Coffee",
              "Fábrica Coffee now opens at 8:00 on weekdays.", login="joaomaps", pull=True),
        issue(3_100_000_004, 1534, "psf/requests", now - 300, "Timeout not honoured with streaming uploads",
              "When streaming a file upload the connect timeout seems ignored.", login="someone"),
        discussion("D_kwDOBeanT4s0001", 9, "beanthere/shop", now - 120,
                   "Does Bean There Café ship the Beanbag subscription to Porto?",
                   "Thinking of gifting a subscription &mdash; do you deliver outside Lisbon?", login="marta-p"),
        discussion("D_kwDOBeanT4s0002", 10, "beanthere/shop", now - 360, "Roadmap for 2027",
                   "What should we build next for the shop?", login="beanthere-team", category="Ideas"),
    ]

"""GitHub issues and pull requests through ``/search/issues`` (and, with a token and
``discussions: true``, discussions through GraphQL ``search(type: DISCUSSION)``), newest
first, fetched incrementally on ``created_at``.

GitHub refuses an issue search without a type ("Query must include 'is:issue' or
'is:pull-request'", HTTP 422). One search names both types, ``(is:issue OR is:pull-request)``
with ``advanced_search=true``, so a term costs one request of the 10 (30 with a token) a
minute. Tokens that may not combine them (GitHub App user tokens) get the same 422 for it:
the connector then switches, for good (kept in ``SourceState`` and the cursor), to two typed
searches, ``is:issue`` and ``is:pull-request``, each with its own cursor. A refused query is
said in words, with GitHub's own message.

Every item is read alone: one that cannot be read is skipped with its reason (and, when its
id and time can be read, still moves the cursor); no cursor moves past the cycle's clock,
so an item dated in the future is kept with its date but does not hide later ones.

Cursor: ``{"issues": {"created": T, "ids": [ids at T], "gap": [low, high], "gap_ids": [...]},
"pulls": {...}, "discussions": {...the same...}, "typed": true, "not_before": unix}``
(``issues`` holds issues and pull requests while one search covers both).
Items created at exactly T are asked for again (``created:>=``) and dropped by id. When
the page limit, the time budget or the rate limit stops a walk, ``gap`` remembers the range
still to read (``created:low..high``, read first next time) and ``gap_ids`` what was already
returned at its upper end.

Rate limits: search allows 30 requests a minute with a token, 10 without. When
``x-ratelimit-remaining`` reaches 0 the connector stops and remembers ``x-ratelimit-reset``
(in the cursor and the shared ``SourceState``); asked again earlier it raises ``RateLimited``
without calling. Secondary limits (403/429 with ``retry-after``, or 403 with remaining 0)
are ``RateLimited`` too, never a credentials error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from chalicelib.model import Mention
from chalicelib.networks.github import SPEC
from chalicelib.sources.base import (
    BadPayload,
    BatchedSearch,
    Budget,
    Capabilities,
    CredentialsError,
    Cursor,
    FetchResult,
    RateLimited,
    SearchBatching,
    SourceBase,
    SourceError,
    SourceOptions,
    read_each,
    require_secret,
)
from chalicelib.sources.http import decode_json, parse_retry_after
from chalicelib.text import markdown_to_text

PROFILE_URL = "https://github.com/"
_HTML_URL = re.compile(r"^https://github\.com/([A-Za-z0-9-]+)/(?!\.\.?/)([A-Za-z0-9._-]+)/(issues|pull|discussions)/(\d+)\Z")
_NAME_WITH_OWNER = re.compile(r"^[A-Za-z0-9-]+/(?!\.\.?\Z)[A-Za-z0-9._-]+\Z")
_LOGIN = re.compile(r"^[A-Za-z0-9-]+(\[bot\])?$")
_NODE_ID = re.compile(r"^[A-Za-z0-9_=-]{1,100}$")
_ISO = "%Y-%m-%dT%H:%M:%SZ"
# The issue searches: cursor key -> the type qualifier GitHub requires. One search for both
# types, or (for tokens GitHub refuses that for) one search per type.
COMBINED_SEARCH = (("issues", "(is:issue OR is:pull-request)"),)
TYPED_SEARCHES = (("issues", "is:issue"), ("pulls", "is:pull-request"))
UNTYPED_REFUSAL = b"is:issue"  # in GitHub's words when it wants a type it did not get
SECONDARY_LIMIT_WAIT = 60.0  # GitHub's advice when a secondary limit gives no retry-after
DISCUSSIONS_QUERY = """
query($q: String!, $after: String) {
  search(type: DISCUSSION, query: $q, first: 50, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      ... on Discussion {
        id number url title body createdAt
        author { login url }
        repository { nameWithOwner }
        comments { totalCount }
        category { name }
      }
    }
  }
}
"""


class _CombinedRefused(Exception):
    """GitHub refused one search for both issues and pull requests (this token needs two)."""


Read = tuple[str, int, Mention | None]  # (id, created unix, mention; None: skipped but dated)


class GitHubOptions(SourceOptions):
    base_url: str = "https://api.github.com"
    token_parameter: str | None = None  # SSM parameter holding a token; without one search allows 10/min
    discussions: bool = False  # also search discussions (GraphQL, needs a token)
    per_page: int = 100
    first_run_lookback_hours: int = 24


class GitHub(BatchedSearch, SourceBase):
    options: GitHubOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True)
    options_model: ClassVar[type[SourceOptions]] = GitHubOptions
    # Several terms in one search: ``("a" OR "b")``. GitHub documents at most five AND/OR/NOT
    # operators and 256 characters a query
    # (https://docs.github.com/en/search-github/getting-started-with-searching-on-github/troubleshooting-search-queries);
    # the type pair ``(is:issue OR is:pull-request)`` uses one operator, so five terms (four ORs),
    # and the created range and qualifiers take ~90 characters, so the terms get 160.
    batching: ClassVar[SearchBatching] = SearchBatching(
        max_terms=5, max_chars=160,
        doc="https://docs.github.com/en/search-github/getting-started-with-searching-on-github/"
            "troubleshooting-search-queries")

    def _start(self) -> None:
        self._not_before = 0

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Issues, pull requests (and discussions when enabled) that contain ``query`` and
        were created since ``cursor``. Returns them as mentions with the next cursor; raises
        ``RateLimited`` without calling while a rate limit that GitHub announced still runs."""
        return self._fetch_terms((query,), cursor, budget)

    def _render(self, terms: Sequence[str]) -> str:
        phrases = ['"' + term.replace('"', " ").strip() + '"' for term in terms]  # each term one quoted phrase
        return phrases[0] if len(phrases) == 1 else f"({' OR '.join(phrases)})"

    def _cursor_floor(self, cursor: Cursor) -> float:
        kinds = [cursor[kind] for kind in ("issues", "pulls", "discussions") if isinstance(cursor.get(kind), dict)]
        return float(min((int(k["gap"][0]) if k.get("gap") else int(k["created"]) for k in kinds),
                         default=int(self._clock()) - self.options.first_run_lookback_hours * 3600))

    def _cursor_at(self, floor: float) -> Cursor:
        return {kind: {"created": int(floor), "ids": []} for kind in ("issues", "pulls", "discussions")}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Items containing any of ``terms`` (one search per type) created since ``cursor``."""
        now = int(self._clock())
        cursor = cursor or {}
        shared = self._state.get_state(self.name, "rate") if self._state is not None else None
        self._not_before = max(
            int(cursor.get("not_before", 0)),
            int(shared["not_before"]) if isinstance(shared, dict) and _is_int(shared.get("not_before")) else 0,
        )
        if self._not_before > now:
            raise RateLimited(self.name, f"search rate limit reached, resets in {self._not_before - now} s",
                              retry_after=float(self._not_before - now))
        token = (
            require_secret(self.name, self._secrets, self.options.token_parameter, "GitHub token")
            if self.options.token_parameter else None
        )
        term = self._render(terms)
        mode = self._state.get_state(self.name, "search") if self._state is not None else None
        typed = bool(cursor.get("typed")) or (isinstance(mode, dict) and mode.get("typed") is True)
        try:
            result = self._fetch_all(term, cursor, token, typed, now, budget)
        except _CombinedRefused:
            # This token may not search both types at once: one search per type from now on. The
            # pull requests start where the combined search left off.
            if self._state is not None:
                self._state.put_state(self.name, "search", {"typed": True})
            issues = cursor.get("issues")
            cursor = {**cursor, "typed": True, **({"pulls": issues} if issues and "pulls" not in cursor else {})}
            result = self._fetch_all(term, cursor, token, True, now, budget)
        if self._not_before:
            result.cursor["not_before"] = self._not_before
            if self._state is not None:
                self._state.put_state(self.name, "rate", {"not_before": self._not_before})
        return result

    def _fetch_all(self, term: str, cursor: Cursor, token: str | None, typed: bool, now: int,
                   budget: Budget) -> FetchResult:
        start = {"created": now - self.options.first_run_lookback_hours * 3600, "ids": []}
        searches = dict(TYPED_SEARCHES if typed else COMBINED_SEARCH)
        kinds = [*searches, *(["discussions"] if token and self.options.discussions else [])]
        result = FetchResult(mentions=[], cursor={"typed": True} if typed else {})
        for kind in kinds:
            sub_cursor = cursor.get(kind) or start
            if not result.complete:
                result.cursor[kind] = sub_cursor
                continue
            found, result.cursor[kind], kind_pages, result.complete = self._fetch_kind(
                kind, term, sub_cursor, token, searches.get(kind, ""), result, budget
            )
            result.mentions.extend(found)
            result.pages += kind_pages
        return result

    def _fetch_kind(
        self, kind: str, term: str, cursor: dict[str, Any], token: str | None, qualifier: str, so_far: FetchResult,
        budget: Budget,
    ) -> tuple[list[Mention], dict[str, Any], int, bool]:
        now = int(self._clock())  # the cycle's clock: no cursor moves past it
        watermark = int(cursor["created"])
        seen_at_watermark = set(cursor.get("ids", []))
        gap = cursor.get("gap")
        low, high = (int(gap[0]), int(gap[1])) if gap else (watermark, None)
        # Ranges are inclusive at both ends: what was returned at the gap's upper end is known.
        seen_at_high = set(cursor.get("gap_ids", []))
        created = f"created:>={_iso(low)}" if high is None else f"created:{_iso(low)}..{_iso(high)}"
        search = f"{term} {created}"

        if kind == "discussions":
            read, pages, complete = self._walk_discussions(search, token, so_far, budget)
        else:
            combined = qualifier == dict(COMBINED_SEARCH)["issues"]
            read, pages, complete = self._walk_issues(f"{search} {qualifier}", token, so_far, budget, combined)
        mentions = [
            mention for key, at, mention in read
            if mention is not None
            and not (at == watermark and key in seen_at_watermark) and not (at == high and key in seen_at_high)
        ]
        found = [(key, min(at, now)) for key, at, _ in read]  # what moves the cursor, clamped to now
        next_cursor: dict[str, Any] = {"created": watermark, "ids": sorted(seen_at_watermark)}
        if gap is None and found:
            newest = max(at for _, at in found)
            if newest > watermark:
                next_cursor = {"created": newest, "ids": []}
            next_cursor["ids"] = sorted(
                {key for key, at in found if at == next_cursor["created"]}
                | (seen_at_watermark if newest == watermark else set())
            )
        if not complete and found:
            # Read newest first and stopped early: the older part is still to read.
            oldest = min(at for _, at in found)
            next_cursor["gap"] = [low, oldest]
            next_cursor["gap_ids"] = sorted(
                {key for key, at in found if at == oldest} | (seen_at_high if oldest == high else set())
            )
        elif not complete and gap:
            next_cursor["gap"] = gap
            next_cursor["gap_ids"] = sorted(seen_at_high)
        elif not complete:
            next_cursor = dict(cursor)  # nothing read: ask for the same range next time
        return mentions, next_cursor, pages, complete

    def _headers(self, token: str | None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _may_call(self, pages: int, budget: Budget) -> bool:
        return pages < self.options.max_pages and not budget.exhausted() and self._not_before <= int(self._clock())

    def _walk_issues(
        self, search: str, token: str | None, so_far: FetchResult, budget: Budget, combined: bool
    ) -> tuple[list[Read], int, bool]:
        pages_before = so_far.pages
        found: list[Read] = []
        url = f"{self.options.base_url}/search/issues"
        params: dict[str, Any] | None = {
            "q": search, "sort": "created", "order": "desc", "per_page": self.options.per_page,
            "advanced_search": "true",
        }
        page = 0
        while True:
            if not self._may_call(pages_before + page, budget):
                return found, page, False
            resp = self.http.request("GET", url, params=params, headers=self._headers(token), budget=budget,
                                     accept=(401, 403, 422, 429))
            if combined and resp.status_code == 422 and UNTYPED_REFUSAL in resp.content:
                raise _CombinedRefused
            self._check_status(resp)
            read, skipped = self.parse_issues(decode_json(self.name, resp))
            found.extend(read)
            so_far.skipped.extend(skipped)
            page += 1
            next_url = self._next_link(resp)
            if next_url is None:
                return found, page, True
            url, params = next_url, None

    def _walk_discussions(
        self, search: str, token: str | None, so_far: FetchResult, budget: Budget
    ) -> tuple[list[Read], int, bool]:
        pages_before = so_far.pages
        found: list[Read] = []
        after: str | None = None
        page = 0
        while True:
            if not self._may_call(pages_before + page, budget):
                return found, page, False
            resp = self.http.request(
                "POST", f"{self.options.base_url}/graphql", headers=self._headers(token), budget=budget,
                json_body={"query": DISCUSSIONS_QUERY, "variables": {"q": f"{search} sort:created-desc",
                                                                      "after": after}},
                accept=(401, 403, 422, 429),
            )
            self._check_status(resp)
            discussions, after, skipped = self.parse_discussions(decode_json(self.name, resp))
            found.extend(discussions)
            so_far.skipped.extend(skipped)
            page += 1
            if after is None:
                return found, page, True

    def _check_status(self, resp: requests.Response) -> None:
        """Remember the rate limit a response announces; raise for refusals."""
        now = int(self._clock())
        remaining = resp.headers.get("x-ratelimit-remaining", "").strip()
        reset = resp.headers.get("x-ratelimit-reset", "").strip()
        reset_at = int(reset) if reset.isdigit() and reset.isascii() else None
        if resp.status_code in (403, 429):
            retry_after = parse_retry_after(resp.headers.get("retry-after"), now=now)
            if retry_after is None and remaining == "0" and reset_at is not None:
                retry_after = float(max(0, reset_at - now))
            if retry_after is None and (resp.status_code == 429 or b"rate limit" in resp.content.lower()):
                retry_after = SECONDARY_LIMIT_WAIT
            if retry_after is not None:
                self._not_before = max(self._not_before, now + int(retry_after + 0.999))
                if self._state is not None:
                    self._state.put_state(self.name, "rate", {"not_before": self._not_before})
                raise RateLimited(self.name, f"rate limited (HTTP {resp.status_code}), retry after {retry_after:g} s",
                                  retry_after)
            raise CredentialsError(self.name, "token lacks access to search (HTTP 403)")
        if resp.status_code == 401:
            raise CredentialsError(self.name, "token rejected (HTTP 401)")
        if resp.status_code == 422:
            raise SourceError(self.name, f"search query refused (HTTP 422): {_refusal(resp)}")
        if remaining == "0" and reset_at is not None:
            self._not_before = max(self._not_before, reset_at)  # no call until the reset, none of them would pass

    def _next_link(self, resp: requests.Response) -> str | None:
        """The Link rel="next" URL, only when it points to the search endpoint on our base URL."""
        link = resp.links.get("next", {}).get("url")
        if not link:
            return None
        base, target = urlsplit(self.options.base_url), urlsplit(link)
        if (target.scheme, target.netloc, target.path) != (base.scheme, base.netloc, base.path + "/search/issues"):
            raise BadPayload(self.name, "Link rel=next points outside the search API")
        return link

    def parse_issues(self, body: Any) -> tuple[list[Read], list[str]]:
        """Read one ``/search/issues`` page, each item alone: (id, created unix, mention) per
        item (mention None for an item skipped whose id and time could still be read), and
        one reason per skipped item. A page that is not a search result is ``BadPayload``."""
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadPayload(self.name, "response has no 'items' list")
        return self._read_items(body["items"], self._issue, _issue_stamp)

    def _read_items(self, items: list[Any], read: Callable[[Any, int], Read],
                    stamp: Callable[[Any], tuple[str, int] | None]) -> tuple[list[Read], list[str]]:
        good, skipped = read_each(self.name, enumerate(items), lambda pair: read(pair[1], pair[0]))
        read_keys = {key for key, _, _ in good}
        stamps = [mark for item in items if (mark := stamp(item)) is not None and mark[0] not in read_keys]
        # A skipped item whose id and time can be read still moves the cursor (no mention).
        return good + [(key, at, None) for key, at in stamps], skipped

    def _issue(self, item: Any, index: int) -> tuple[str, int, Mention]:
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        if not _is_int(item.get("id")) or not _is_int(item.get("number")):
            raise BadPayload(self.name, f"{where}.id or .number is not an integer")
        html_url = _match(_HTML_URL, item.get("html_url"))
        if html_url is None or html_url.group(4) != str(item["number"]):
            raise BadPayload(self.name, f"{where}.html_url is not a github.com issue or pull request URL")
        created = self._created(item.get("created_at"), f"{where}.created_at")
        labels = item.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, dict) and isinstance(x.get("name"), str)
                                                   for x in labels):
            raise BadPayload(self.name, f"{where}.labels is not a list of labels")
        node_id = item.get("node_id", "")
        if node_id and not _match(_NODE_ID, node_id):
            raise BadPayload(self.name, f"{where}.node_id is not a node id")
        # The html_url says which it is: GitHub's older answers give issues a pull_request
        # object of nulls (PyGithub's recorded 2014 search results).
        is_pull = html_url.group(3) == "pull"
        # The repository is read from the checked html_url: GitHub's older answers have no
        # repository_url (PyGithub's recorded 2014 search results).
        community = f"{html_url.group(1)}/{html_url.group(2)}"
        return self._post(item, where, "user", native_id=str(item["id"]), url=html_url.group(0), created=created,
                          repo=community, tags=tuple(x["name"] for x in labels),
                          thread={"number": str(item["number"]), "kind": "pull" if is_pull else "issue",
                                  "node_id": node_id})

    def _post(self, record: dict[str, Any], where: str, author: str, *, native_id: str, url: str, created: int,
              repo: str, tags: tuple[str, ...], thread: dict[str, str]) -> tuple[str, int, Mention]:
        """An issue, pull request or discussion (``record``, already checked but for its
        title, body and ``author``) as a mention, with its id and creation time."""
        title, body = self._text(record, "title", where), self._text(record, "body", where)
        login, profile = self._author(record.get(author), f"{where}.{author}")
        return native_id, created, Mention(
            network=self.name,
            native_id=native_id,
            url=url,
            text=markdown_to_text(body),
            title=title.strip(),
            created_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            kind="post",
            author_handle=login,
            author_name=login,
            author_url=profile,
            community=repo,
            tags=tags,
            thread={"repo": repo, **thread},
        )

    def parse_discussions(self, body: Any) -> tuple[list[Read], str | None, list[str]]:
        """Read one GraphQL discussions search page, each node alone: (node id, created unix,
        mention) per discussion, the ``after`` cursor of the next page (None on the last page)
        and one reason per skipped node."""
        if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
            first = body["errors"][0] if isinstance(body["errors"][0], dict) else {}
            if first.get("type") == "RATE_LIMITED":
                self._not_before = max(self._not_before, int(self._clock() + SECONDARY_LIMIT_WAIT))
                raise RateLimited(self.name, "GraphQL rate limit reached", SECONDARY_LIMIT_WAIT)
            kind = re.sub(r"[^A-Z_]", "", str(first.get("type", "")))[:40] or "error"
            raise SourceError(self.name, f"discussion search refused ({kind})")
        search = body.get("data", {}).get("search") if isinstance(body, dict) and isinstance(
            body.get("data"), dict) else None
        if not isinstance(search, dict) or not isinstance(search.get("nodes"), list):
            raise BadPayload(self.name, "GraphQL answer has no data.search.nodes list")
        info = search.get("pageInfo")
        if not isinstance(info, dict) or not isinstance(info.get("hasNextPage"), bool):
            raise BadPayload(self.name, "data.search.pageInfo.hasNextPage is not a boolean")
        after = info.get("endCursor") if info["hasNextPage"] else None
        if info["hasNextPage"] and not isinstance(after, str):
            raise BadPayload(self.name, "data.search.pageInfo.endCursor is not a string")
        found, skipped = self._read_items(search["nodes"], self._discussion, _discussion_stamp)
        return found, after, skipped

    def _discussion(self, node: Any, index: int) -> tuple[str, int, Mention]:
        where = f"nodes[{index}]"
        if not isinstance(node, dict) or not _match(_NODE_ID, node.get("id")) or not _is_int(node.get("number")):
            raise BadPayload(self.name, f"{where} has no node id and number")
        url = _match(_HTML_URL, node.get("url"))
        if url is None or url.group(3) != "discussions" or url.group(4) != str(node["number"]):
            raise BadPayload(self.name, f"{where}.url is not a github.com discussion URL")
        repo = node.get("repository")
        if not isinstance(repo, dict) or not _match(_NAME_WITH_OWNER, repo.get("nameWithOwner")):
            raise BadPayload(self.name, f"{where}.repository.nameWithOwner is not owner/repo")
        created = self._created(node.get("createdAt"), f"{where}.createdAt")
        category = node.get("category")
        tags = (category["name"],) if isinstance(category, dict) and isinstance(category.get("name"), str) else ()
        return self._post(node, where, "author", native_id=node["id"], url=url.group(0), created=created,
                          repo=repo["nameWithOwner"], tags=tags,
                          thread={"number": str(node["number"]), "kind": "discussion", "node_id": node["id"]})

    def _created(self, value: Any, where: str) -> int:
        created = _unix(value)
        if created is None:
            raise BadPayload(self.name, f"{where} is not an ISO time like 2026-01-31T12:00:00Z")
        return created

    def _text(self, item: dict[str, Any], field: str, where: str) -> str:
        value = item.get(field)
        if value is not None and not isinstance(value, str):
            raise BadPayload(self.name, f"{where}.{field} is not a string")
        return value or ""

    def _author(self, user: Any, where: str) -> tuple[str, str]:
        """(login, profile URL) of a user object; a deleted account (null) is ("", "").
        The profile URL is built from the checked login, not taken from the payload."""
        if user is None:
            return "", ""
        if not isinstance(user, dict) or not _match(_LOGIN, user.get("login")):
            raise BadPayload(self.name, f"{where}.login is not a GitHub login")
        login: str = user["login"]
        return login, PROFILE_URL + quote(login, safe="")


def _unix(value: Any) -> int | None:
    """Unix seconds of an ISO time like ``2026-01-31T12:00:00Z``, or None."""
    try:
        return int(dt.datetime.strptime(value, _ISO).replace(tzinfo=dt.UTC).timestamp())
    except (TypeError, ValueError):
        return None


def _issue_stamp(item: Any) -> tuple[str, int] | None:
    """An issue's id and creation time when both can be read, even if the rest cannot."""
    if not isinstance(item, dict) or not _is_int(item.get("id")):
        return None
    created = _unix(item.get("created_at"))
    return (str(item["id"]), created) if created is not None else None


def _discussion_stamp(node: Any) -> tuple[str, int] | None:
    if not isinstance(node, dict) or not _match(_NODE_ID, node.get("id")):
        return None
    created = _unix(node.get("createdAt"))
    return (node["id"], created) if created is not None else None


def _refusal(resp: requests.Response) -> str:
    """GitHub's own words for a refused search (``message`` and the ``errors[].message``),
    reduced to plain characters: the text is said to the owner."""
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    words: list[str] = []
    if isinstance(body, dict):
        errors = body.get("errors") if isinstance(body.get("errors"), list) else []
        words = [e["message"] for e in errors if isinstance(e, dict) and isinstance(e.get("message"), str)]
        if not words and isinstance(body.get("message"), str):
            words = [body["message"]]
    text = "; ".join(words) or "GitHub gave no reason"
    return re.sub(r"[^\w .,:;'()-]", "", text)[:200]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _match(pattern: re.Pattern[str], value: Any) -> re.Match[str] | None:
    return pattern.match(value) if isinstance(value, str) else None


def _iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime(_ISO)

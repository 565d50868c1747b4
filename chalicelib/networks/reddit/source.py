"""Reddit through the OAuth API of an approved "script" app: post search per term, and a
local stream of new posts and comments from the owner's subreddits.

Auth: a password-grant token from ``<auth_base_url>/api/v1/access_token`` (HTTP basic
client_id:client_secret), cached through ``state`` under "oauth" until about 60 s before
it expires; a 401 from the API gets one new token and one retry.

Every listing is walked newest first with ``after`` and stops at the cursor's
``created_utc`` watermark. Cursor per listing: ``{"created_utc": T, "ids": [fullnames at
T], "gap": {"after": fullname, "created_utc": W, "ids": [...]} | absent}``; ``gap`` is the
older part a walk stopped by the page limit or the budget did not read yet (read first
next cycle). The search cursor is one such listing cursor; the stream cursor is
``{"posts": {...}, "comments": {...}}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

import requests
from pydantic import Field, field_validator

from chalicelib.model import Mention
from chalicelib.networks.reddit import SPEC
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
    quoted,
    read_each,
    require_secret,
)
from chalicelib.sources.http import decode_json

SITE_URL = "https://www.reddit.com"
USER_AGENT_FORM = re.compile(r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+ \(by /u/[A-Za-z0-9_-]{3,20}\)\Z")
# A subreddit the owner names: a community (2-21 letters, digits, _) or a profile subreddit ``u_<user>``.
SUBREDDIT_NAME = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_]{1,20}|u_[A-Za-z0-9_-]{3,20})\Z")
FULLNAME = re.compile(r"^t[13]_[a-z0-9]{1,13}\Z")
# A permalink is a path on www.reddit.com: ``/r/<subreddit>/comments/<post id>/<slug>/[<comment id>/]``.
# Real subreddits include profile subreddits (``u_<user name>``: hyphens, up to 22 characters)
# and legacy names with a dot (``reddit.com``); the slug is the title lowercased with every
# character but Unicode word characters dropped (reddit's ``title_to_url``), so Korean or
# accented titles keep their letters. An old search result may carry ``?ref=search_posts``;
# the URL is built from the path alone. Anything else (another host, ``..``, spaces, quotes,
# control characters, a trailing newline) is refused: the whole string must match.
PERMALINK = re.compile(
    r"^/r/(?P<sub>[A-Za-z0-9_][A-Za-z0-9_.-]{0,49})/comments/(?P<post>[a-z0-9]{1,13})/(?P<slug>[\w-]*)"
    r"(?:/(?P<comment>[a-z0-9]{1,13}))?/?(?:\?[A-Za-z0-9_=&]{1,100})?\Z"
)
USERNAME = re.compile(r"^[A-Za-z0-9_-]{3,20}$")
TOKEN_MARGIN_SECONDS = 60  # a token this close to expiry is replaced before use
# The smallest search window (``t``) that still covers a watermark of that age.
SEARCH_WINDOWS = (("hour", 3600), ("day", 86400), ("week", 7 * 86400), ("month", 31 * 86400), ("year", 366 * 86400))


class RedditOptions(SourceOptions):
    base_url: str = "https://oauth.reddit.com"
    auth_base_url: str = "https://www.reddit.com"
    client_id_parameter: str | None = None
    client_secret_parameter: str | None = None
    username_parameter: str | None = None
    password_parameter: str | None = None
    user_agent: str | None = None  # required by Reddit: "<platform>:<app ID>:<version> (by /u/<user>)"
    subreddits: list[str] = Field(default_factory=list)
    first_run_lookback_hours: int = 24
    limit: int = 100

    @field_validator("user_agent")
    @classmethod
    def _user_agent_form(cls, value: str | None) -> str | None:
        if value is not None and not USER_AGENT_FORM.match(value):
            raise ValueError(
                "user_agent must look like '<platform>:<app ID>:<version> (by /u/<reddit user>)', "
                "e.g. 'python:bean-there-listening:0.1 (by /u/beanthere)'; Reddit throttles other forms"
            )
        return value

    @field_validator("subreddits")
    @classmethod
    def _subreddit_names(cls, value: list[str]) -> list[str]:
        names = [name.removeprefix("r/") for name in value]
        for name in names:
            if not SUBREDDIT_NAME.match(name):
                raise ValueError(f"{name!r} is not a subreddit name (letters, digits and _; 2-21 characters) "
                                 "or a profile subreddit (u_<user name>)")
        return names


class Reddit(BatchedSearch, SourceBase):
    options: RedditOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True, local_stream=True)
    options_model: ClassVar[type[SourceOptions]] = RedditOptions
    # Several terms in one search: Reddit's search takes ``OR`` between terms and phrases
    # (https://www.reddit.com/wiki/search, "Boolean operators"; copy at
    # https://gist.github.com/douira/c2d158f76d41b931787c17d23ea0bb58) and a ``q`` of at most
    # 512 characters (https://www.reddit.com/dev/api#GET_search). No operator count is
    # documented; 20 terms a query keeps each answer's 100 newest posts a wide enough window.
    batching: ClassVar[SearchBatching] = SearchBatching(
        max_terms=20, max_chars=512, doc="https://www.reddit.com/wiki/search; https://www.reddit.com/dev/api#GET_search")

    def _start(self) -> None:
        self._token: dict[str, Any] | None = None
        self._blocked_until = 0.0  # x-ratelimit-remaining hit 0: no request before this time

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New posts matching ``query`` (or, for ``"*"``, new posts and comments of the
        configured subreddits) since ``cursor``, with the cursor to use next time."""
        if self.options.user_agent is None:
            raise SourceError(self.name, "options.user_agent is not set; Reddit requires one")
        if query == "*":
            return self._fetch_stream(cursor, budget)
        return self._fetch_terms((query,), cursor, budget)

    def _render(self, terms: Sequence[str]) -> str:
        return " OR ".join(quoted(term) for term in terms)

    def _cursor_floor(self, cursor: Cursor) -> float:
        return float(cursor.get("gap", cursor)["created_utc"])

    def _cursor_at(self, floor: float) -> Cursor:
        return {"created_utc": floor, "ids": []}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New posts matching any of ``terms`` (one search) since ``cursor``."""
        if self.options.user_agent is None:
            raise SourceError(self.name, "options.user_agent is not set; Reddit requires one")
        mark = cursor if cursor is not None else self._first_mark()
        window = self._search_window(mark)
        q = terms[0] if len(terms) == 1 else self._render(terms)
        params = {"q": q, "sort": "new", "t": window, "type": "link", "limit": self.options.limit, "raw_json": 1}
        walk = self._walk("/search", params, mark, budget)
        return FetchResult(walk.mentions, walk.mark, walk.pages, walk.complete, walk.skipped)

    def _fetch_stream(self, cursor: Cursor | None, budget: Budget) -> FetchResult:
        if not self.options.subreddits:
            return FetchResult([], cursor or {}, 0, True)
        subs = "+".join(self.options.subreddits)
        cursor = cursor or {}
        result = FetchResult([], {}, 0, True)
        for key, path in (("posts", f"/r/{subs}/new"), ("comments", f"/r/{subs}/comments")):
            mark = cursor.get(key) or self._first_mark()
            params = {"limit": self.options.limit, "raw_json": 1}
            walk = self._walk(path, params, mark, budget)
            result.cursor[key] = walk.mark
            result.mentions.extend(walk.mentions)
            result.skipped.extend(walk.skipped)
            result.pages += walk.pages
            result.complete = result.complete and walk.complete
        return result

    def _first_mark(self) -> Cursor:
        return {"created_utc": float(int(self._clock()) - self.options.first_run_lookback_hours * 3600), "ids": []}

    def _search_window(self, mark: Cursor) -> str:
        oldest = float(mark.get("gap", mark)["created_utc"])
        age = self._clock() - oldest
        # 5 s of slack: the first-run watermark is exactly one lookback old when it is made.
        return next((name for name, seconds in SEARCH_WINDOWS if age <= seconds + 5), "all")

    def _walk(self, path: str, params: dict[str, Any], mark: Cursor, budget: Budget) -> _Walk:
        """Walk one listing newest first down to the watermark (or through the gap).

        Each thing is read alone: one that cannot be read is skipped with its reason, and
        when its fullname and time can still be read it moves the cursor like any other."""
        gap = mark.get("gap")
        floor = gap if gap else mark
        floor_at = float(floor["created_utc"])
        floor_ids = set(floor.get("ids", []))
        now = float(self._clock())  # the cycle's clock: no cursor moves past it
        after: str | None = gap["after"] if gap else None
        walk = _Walk(mentions=[], mark=mark, pages=0, complete=False, skipped=[])
        seen: dict[str, float] = {}  # fullname -> time for the cursor (clamped to now)
        while walk.pages < self.options.max_pages and not budget.exhausted():
            page_params = {**params, **({"after": after} if after else {})}
            body = self._api_get(path, page_params, budget)
            children, after = self._parse_listing(body)
            walk.pages += 1
            reached_floor = False
            fresh: list[tuple[int, Any]] = []
            for index, child in enumerate(children):
                stamp = _stamp(child)
                if stamp is not None and stamp[1] < floor_at:
                    reached_floor = True
                elif stamp is None or stamp[1] > floor_at or stamp[0] not in floor_ids:
                    fresh.append((index, child))
                    if stamp is not None and stamp[0] not in seen:
                        seen[stamp[0]] = min(stamp[1], now)
            read, skipped = read_each(self.name, fresh, lambda pair: self._read_thing(*pair))
            walk.skipped.extend(skipped)
            known = {m.native_id for m in walk.mentions}  # listings can shift while walked
            walk.mentions.extend(m for m in read if m.native_id not in known)
            if reached_floor or not after or not children:
                walk.complete = True
                break
        walk.mark = self._next_mark(mark, seen, walk.complete, after)
        return walk

    def _next_mark(self, mark: Cursor, seen: dict[str, float], complete: bool, after: str | None) -> Cursor:
        """The cursor after a walk that saw ``seen`` (fullname -> time, never later than now)."""
        gap = mark.get("gap")
        watermark = float(mark["created_utc"])
        ids = set(mark.get("ids", []))
        next_mark: Cursor = {"created_utc": watermark, "ids": sorted(ids)}
        if gap is None and seen:
            newest = max(seen.values())
            if newest > watermark:
                next_mark = {"created_utc": newest, "ids": []}
            at_newest = {name for name, at in seen.items() if at == next_mark["created_utc"]}
            next_mark["ids"] = sorted(at_newest | (ids if newest <= watermark else set()))
        if not complete and after:
            low = gap if gap else {"created_utc": watermark, "ids": sorted(ids)}
            next_mark["gap"] = {"after": after, "created_utc": low["created_utc"], "ids": low.get("ids", [])}
        elif not complete and gap:
            next_mark["gap"] = gap
        return next_mark

    def _api_get(self, path: str, params: dict[str, Any], budget: Budget) -> Any:
        """GET an API path with the bearer token; a 401 gets one new token and one retry."""
        for attempt in range(2):
            token = self._access_token(budget, renew=attempt > 0)
            resp = self._send(
                "GET", f"{self.options.base_url}{path}", budget,
                params=params, headers={"Authorization": f"bearer {token}"},
            )
            if resp.status_code != 401:
                return decode_json(self.name, resp)
        raise CredentialsError(self.name, "access token rejected (HTTP 401) even after a new login")

    def _send(self, method: str, url: str, budget: Budget, **kwargs: Any) -> requests.Response:
        """One request that honours Reddit's rate-limit headers and its network block page."""
        now = self._clock()
        if now < self._blocked_until:
            wait = self._blocked_until - now
            raise RateLimited(self.name, f"request allowance used up, resets in {wait:g} s", retry_after=wait)
        headers = {"User-Agent": self.options.user_agent or "", **kwargs.pop("headers", {})}
        resp = self.http.request(method, url, budget=budget, headers=headers, accept=(401, 403), **kwargs)
        self._note_rate_limit(resp)
        if resp.status_code == 403:
            if b"whoa there, pardner" in resp.content.lower():
                raise SourceError(self.name, "Reddit's network blocked the request (HTTP 403 'whoa there, pardner!')")
            raise CredentialsError(self.name, "access refused (HTTP 403): the app or account may lack access")
        return resp

    def _note_rate_limit(self, resp: requests.Response) -> None:
        try:
            remaining = float(resp.headers.get("x-ratelimit-remaining", "1"))
            reset = float(resp.headers.get("x-ratelimit-reset", "0"))
        except ValueError:
            return  # a malformed header says nothing; the 429 path still protects us
        if remaining < 1:
            self._blocked_until = self._clock() + max(0.0, reset)

    def _access_token(self, budget: Budget, *, renew: bool) -> str:
        if not renew:
            cached = self._token or (self._state.get_state(self.name, "oauth") if self._state else None)
            if (
                isinstance(cached, dict)
                and isinstance(cached.get("access_token"), str)
                and isinstance(cached.get("expires_at"), int | float)
                and cached["expires_at"] - TOKEN_MARGIN_SECONDS > self._clock()
            ):
                self._token = cached
                return str(cached["access_token"])
        self._token = self._login(budget)
        if self._state is not None:
            self._state.put_state(self.name, "oauth", self._token)
        return str(self._token["access_token"])

    def _login(self, budget: Budget) -> dict[str, Any]:
        opts = self.options
        client_id = require_secret(self.name, self._secrets, opts.client_id_parameter, "app client id")
        client_secret = require_secret(self.name, self._secrets, opts.client_secret_parameter, "app client secret")
        username = require_secret(self.name, self._secrets, opts.username_parameter, "account username")
        password = require_secret(self.name, self._secrets, opts.password_parameter, "account password")
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        resp = self._send(
            "POST", f"{opts.auth_base_url}/api/v1/access_token", budget,
            headers={"Authorization": f"Basic {basic}"},
            data={"grant_type": "password", "username": username, "password": password},
        )
        if resp.status_code == 401:
            raise CredentialsError(self.name, "app client id or secret rejected (HTTP 401)")
        body = decode_json(self.name, resp)
        if not isinstance(body, dict):
            raise BadPayload(self.name, "access_token: response is not an object")
        if "error" in body:
            # Reddit answers a wrong username/password with 200 {"error": "invalid_grant"}.
            error = body["error"] if isinstance(body["error"], str | int) else "unknown"
            raise CredentialsError(self.name, f"username or password rejected ({error})")
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not token:
            raise BadPayload(self.name, "access_token: no 'access_token' string")
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool) or expires_in <= 0:
            raise BadPayload(self.name, "access_token: 'expires_in' is not a positive number")
        return {"access_token": token, "expires_at": self._clock() + float(expires_in)}

    def _parse_listing(self, body: Any) -> tuple[list[Any], str | None]:
        """The children of one Listing page (each still to be read alone) and its ``after``."""
        if not isinstance(body, dict) or body.get("kind") != "Listing" or not isinstance(body.get("data"), dict):
            raise BadPayload(self.name, "response is not a Listing")
        data = body["data"]
        after = data.get("after")
        if after is not None and (not isinstance(after, str) or not FULLNAME.fullmatch(after)):
            raise BadPayload(self.name, "Listing.after is not a fullname")
        children = data.get("children")
        if not isinstance(children, list):
            raise BadPayload(self.name, "Listing has no 'children' list")
        return children, after

    def _read_thing(self, index: int, child: Any) -> Mention:
        """One t1 or t3 thing as a mention, or ``BadPayload`` naming the field that is wrong."""
        return self._mention(self._check_thing(child, index))

    def _check_thing(self, child: Any, index: int) -> dict[str, Any]:
        where = f"children[{index}]"
        if not isinstance(child, dict) or child.get("kind") not in ("t1", "t3") or not isinstance(child.get("data"),
                                                                                                   dict):
            raise BadPayload(self.name, f"{where} is not a t1 or t3 thing")
        kind, data = child["kind"], child["data"]
        name = data.get("name")
        if not isinstance(name, str) or not FULLNAME.fullmatch(name) or not name.startswith(kind + "_"):
            raise BadPayload(self.name, f"{where}.name is not a {kind} fullname")
        created = data.get("created_utc")
        if not isinstance(created, int | float) or isinstance(created, bool) or not 0 <= created < 1e11:
            raise BadPayload(self.name, f"{where}.created_utc is not a Unix time")
        permalink = data.get("permalink")
        parts = PERMALINK.fullmatch(permalink) if isinstance(permalink, str) else None
        if parts is None:
            raise BadPayload(self.name, f"{where}.permalink is not a /r/<subreddit>/comments/ permalink")
        text_fields = ("title", "selftext", "url") if kind == "t3" else ("body", "link_id", "parent_id", "link_title")
        for field in ("author", "subreddit", *text_fields):
            if data.get(field) is not None and not isinstance(data[field], str):
                raise BadPayload(self.name, f"{where}.{field} is not a string")
        if kind == "t1":
            for field in ("link_id", "parent_id"):
                if not isinstance(data.get(field), str) or not FULLNAME.fullmatch(data[field]):
                    raise BadPayload(self.name, f"{where}.{field} is not a fullname")
        score = data.get("score")
        if score is not None and (not isinstance(score, int) or isinstance(score, bool)):
            raise BadPayload(self.name, f"{where}.score is not a number")
        path = permalink.split("?", 1)[0]
        return {**data, "kind": kind, "created_utc": float(created), "permalink": path, "community": parts["sub"]}

    def _mention(self, thing: dict[str, Any]) -> Mention:
        is_comment = thing["kind"] == "t1"
        author = thing.get("author") or ""
        url = thing.get("url") or ""
        permalink = SITE_URL + thing["permalink"]
        thread = {"fullname": thing["name"]}
        if is_comment:
            thread |= {"link_id": thing["link_id"], "parent_id": thing["parent_id"]}
        return Mention(
            network=self.name,
            native_id=thing["name"],
            url=permalink,
            # raw_json=1: text comes as the author typed it (Markdown), with no HTML entities.
            text=(thing.get("body") if is_comment else thing.get("selftext")) or "",
            title="" if is_comment else (thing.get("title") or ""),
            created_at=dt.datetime.fromtimestamp(thing["created_utc"], tz=dt.UTC),
            kind="comment" if is_comment else "post",
            author_handle=author,
            author_name=author,
            author_url=f"{SITE_URL}/user/{quote(author, safe='')}" if USERNAME.fullmatch(author) else "",
            reach=thing.get("score"),
            community=thing["community"],  # checked as part of the permalink
            links=(url,) if not is_comment and url.startswith(("http://", "https://")) and url != permalink else (),
            thread=thread,
        )


@dataclass(slots=True)
class _Walk:
    """What walking one listing gave."""

    mentions: list[Mention]
    mark: Cursor
    pages: int
    complete: bool
    skipped: list[str]


def _stamp(child: Any) -> tuple[str, float] | None:
    """A thing's fullname and creation time when both can be read, even if the rest of it
    cannot: what lets a thing that is skipped still move the cursor past it."""
    data = child.get("data") if isinstance(child, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    created = data.get("created_utc") if isinstance(data, dict) else None
    if not isinstance(name, str) or not FULLNAME.fullmatch(name):
        return None
    if not isinstance(created, int | float) or isinstance(created, bool) or not 0 <= created < 1e11:
        return None
    return name, float(created)


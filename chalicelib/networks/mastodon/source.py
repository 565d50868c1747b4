"""Mastodon: hashtag timelines on every configured instance (the reliable public route),
and, when an access token is configured, full-text status search on the home instance.

- Stream (``fetch("*")``): ``GET /api/v1/timelines/tag/:hashtag?limit=40&min_id=<cursor>``
  per instance and hashtag, paging forward with the ``min_id`` of the ``Link`` rel="prev"
  header. Paging forward never leaves a gap: the cursor is the newest id read. On the first
  run ``min_id`` is the snowflake id of "now minus the lookback" (Mastodon ids are
  ``milliseconds << 16``), so only recent statuses come back.
  Cursor: ``{"tags": {"<instance>": {"<hashtag>": "<newest id>"}}}``.
- Search (``fetch(term)``): ``GET /api/v2/search?q=&type=statuses&limit=40&min_id=`` on the
  home instance (``instances[0]``, the one the token belongs to) with ``offset`` paging;
  status search needs a user token, so without ``access_token_parameter`` it is skipped:
  no request, no mentions, the cursor unchanged. ``server_search=True`` only has an
  effect when a token is set. Cursor: ``{"min_id": "<id>", "gap": {"min_id", "max_id"} | absent}``.
  One request per term: the search method documents no OR operator (mastodon/documentation
  ``content/en/methods/search.md``); Mastodon's query parser treats bare words as "should"
  clauses only in recent versions (``app/lib/search_query_transformer.rb`` @5dbda99e, "must"
  @00084581), so combining terms would mean AND on older instances and lose mentions.
  Hashtag timelines do document ``any[]`` (``content/en/methods/timelines.md`` @00478975, since
  2.7.0, "4 total tags" a query), but not used: when an instance does not know the path's
  hashtag the answer is empty (or 404) whatever ``any[]`` holds (``app/controllers/api/v1/
  timelines/tag_controller.rb`` @0486db9f: ``@tag.nil? ? []``), so a group would silently lose
  the other hashtags' statuses there. One request per hashtag and instance.

Ids are per-instance snowflakes: compared as integers and only within one instance.
Reblogs are skipped (the reblogged status is the mention, and it shows up on its own).
One instance failing (down, rate limited, bad payload) does not stop the others: its
cursor stays, the result is marked incomplete, and only when every instance fails is the
first error raised. A rejected token is always raised; a 401 from an instance we sent no
token to is that instance's alone: since Mastodon 4.5 (``timelines_access``) an instance
may require a signed-in user for its hashtag timelines, said in ``skipped`` once a cycle.
A hashtag an instance does not know (404) has no statuses there.

A status that cannot be read is skipped alone (its reason in ``FetchResult.skipped``) and
its id still moves the cursor. No cursor is ever set past the cycle's clock: a status
whose id claims a later time is returned with its claimed date, but the cursor stays at
"now" (the snowflake of the clock), so nothing posted after it is lost.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, quote, urlsplit

import requests
from pydantic import Field, field_validator, model_validator

from chalicelib.model import Mention
from chalicelib.networks.mastodon import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    CredentialsError,
    Cursor,
    FetchResult,
    RateLimited,
    SourceBase,
    SourceError,
    SourceOptions,
    read_each,
    require_secret,
    zoned_time,
)
from chalicelib.sources.http import decode_json
from chalicelib.text import html_to_text

STATUS_ID = re.compile(r"^[0-9]{1,20}$")
HASHTAG = re.compile(r"^[^\W][\w]{0,99}\Z")
ACCT = re.compile(r"^[A-Za-z0-9_]+(@[A-Za-z0-9.-]+)?$")
LOCAL_HOSTS = ("127.0.0.1", "localhost")
LINK_PREV = re.compile(r'<([^>]*)>\s*;\s*rel="prev"')


def _check_instance_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.query or parts.fragment or not parts.hostname:
        raise ValueError(f"{url!r} is not an instance base URL like https://mastodon.social")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
        raise ValueError(f"{url!r}: instances must be https URLs (http only for 127.0.0.1/localhost)")
    return url.rstrip("/")


class MastodonOptions(SourceOptions):
    base_url: str = "https://mastodon.social"  # unused on its own: the default of ``instances``
    instances: list[str] = Field(default_factory=list)  # base URLs; the first is the home instance
    hashtags: list[str] = Field(default_factory=list)  # without '#', for the local stream
    access_token_parameter: str | None = None  # user token (read:search) on the home instance
    first_run_lookback_hours: int = 24
    limit: int = 40

    reply_visibility: Literal["public", "unlisted", "private", "direct"] = "public"  # of replies posted
    @field_validator("instances")
    @classmethod
    def _instances_are_https(cls, value: list[str]) -> list[str]:
        return [_check_instance_url(url) for url in value]

    @field_validator("hashtags")
    @classmethod
    def _hashtag_names(cls, value: list[str]) -> list[str]:
        tags = [tag.removeprefix("#") for tag in value]
        for tag in tags:
            if not HASHTAG.match(tag):
                raise ValueError(f"{tag!r} is not a hashtag (letters, digits and _)")
        return tags

    @model_validator(mode="after")
    def _instances_default_to_base_url(self) -> MastodonOptions:
        if not self.instances:
            self.instances = [_check_instance_url(self.base_url)]
        return self


def snowflake_at(unix_seconds: float) -> int:
    """The smallest Mastodon status id that can have been made at ``unix_seconds``."""
    return int(unix_seconds * 1000) << 16


class TokenRequired(SourceError):
    """An instance answered 401 to a request that carried no token: its timelines are for
    signed-in users only (Mastodon 4.5 ``timelines_access``). That instance's alone."""


class Mastodon(SourceBase):
    options: MastodonOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True, local_stream=True)
    options_model: ClassVar[type[SourceOptions]] = MastodonOptions

    def _start(self) -> None:
        self._token: str | None = None
        self._blocked_until: dict[str, float] = {}  # instance -> X-RateLimit-Reset when Remaining hit 0

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New statuses: for ``"*"`` from the hashtag timelines of every instance, otherwise
        matching ``query`` in the home instance's search (only with a token)."""
        if query == "*":
            return self._fetch_tags(cursor or {}, budget)
        if not self.options.access_token_parameter:
            return FetchResult([], cursor if cursor is not None else {}, 0, True)
        return self._fetch_search(query, cursor, budget)

    # --- hashtag timelines -------------------------------------------------------------

    def _fetch_tags(self, cursor: Cursor, budget: Budget) -> FetchResult:
        old_marks: dict[str, dict[str, str]] = cursor.get("tags", {})
        marks = {instance: dict(tags) for instance, tags in old_marks.items()}
        mentions: dict[str, Mention] = {}
        pages = 0
        complete = True
        failures: list[SourceError] = []
        skipped: list[str] = []
        for instance in self.options.instances:
            try:
                for tag in self.options.hashtags:
                    since = marks.get(instance, {}).get(tag)
                    statuses, walked, done, newest = self._walk_tag(instance, tag, since, budget, skipped)
                    pages += walked
                    complete = complete and done
                    for status in statuses:
                        mentions.setdefault(status["uri"], status["mention"])
                    if newest is not None:
                        marks.setdefault(instance, {})[tag] = newest
            except TokenRequired as err:
                failures.append(err)  # this instance only; the others' statuses are kept
                skipped.append(err.message)
                complete = False
            except CredentialsError:
                raise  # the token is wrong for every cycle, not a passing fault of one instance
            except SourceError as err:
                failures.append(err)
                complete = False
        if failures and len(failures) == len(self.options.instances):
            raise failures[0]
        return FetchResult(list(mentions.values()), {"tags": marks}, pages, complete, skipped)

    def _walk_tag(
        self, instance: str, tag: str, since: str | None, budget: Budget, skipped: list[str]
    ) -> tuple[list[dict[str, Any]], int, bool, str | None]:
        """Page forward from ``since`` (exclusive) to the newest status of one hashtag; the
        newest id read comes back clamped to the cycle's clock."""
        first_run = since is None
        since = self._clamp(since)  # a cursor stored in the future by an older version: back to now
        min_id = since or str(snowflake_at(self._clock() - self.options.first_run_lookback_hours * 3600))
        newest: str | None = since
        statuses: list[dict[str, Any]] = []
        pages = 0
        while pages < self.options.max_pages and not budget.exhausted():
            body, resp = self._get(instance, f"/api/v1/timelines/tag/{quote(tag, safe='')}",
                                   {"limit": self.options.limit, "min_id": min_id}, budget,
                                   with_token=instance == self.options.instances[0], missing_is_empty=True)
            page, page_ids = self._parse_statuses(instance, body, "timeline", skipped)
            pages += 1
            # Reblogs and unreadable statuses are skipped but their ids still move the cursor forward.
            fresh_ids = [i for i in page_ids if i > int(min_id)]
            if fresh_ids and (newest is None or max(fresh_ids) > int(newest)):
                newest = str(max(fresh_ids))
            statuses.extend(s for s in page if int(s["id"]) > int(min_id))
            prev_min_id = self._prev_min_id(resp)
            if not fresh_ids or len(page_ids) < self.options.limit or prev_min_id is None:
                return self._recent(statuses, first_run), pages, True, self._clamp(newest)
            min_id = str(max(int(prev_min_id), int(newest or 0)))
        return self._recent(statuses, first_run), pages, False, self._clamp(newest)

    def _clamp(self, status_id: str | None) -> str | None:
        """``status_id``, or the id of "now" when it claims a later time: a cursor never
        passes the cycle's clock (a status from the future would hide everything before it)."""
        if status_id is None:
            return None
        return str(min(int(status_id), snowflake_at(self._clock())))

    def _recent(self, statuses: list[dict[str, Any]], first_run: bool) -> list[dict[str, Any]]:
        # On a first run also filter by time, in case the instance's ids are not time-based.
        if not first_run:
            return statuses
        since = self._clock() - self.options.first_run_lookback_hours * 3600
        return [s for s in statuses if s["mention"].created_at.timestamp() >= since]

    def _prev_min_id(self, resp: requests.Response) -> str | None:
        match = LINK_PREV.search(resp.headers.get("Link", ""))
        if not match:
            return None
        values = parse_qs(urlsplit(match.group(1)).query).get("min_id", [])
        # Only the id is taken from the link, and only if it is a plain number: we build the URL.
        return values[0] if values and STATUS_ID.match(values[0]) else None

    # --- search --------------------------------------------------------------------------

    def _fetch_search(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        instance = self.options.instances[0]
        if cursor is None or "min_id" not in cursor:
            cursor = {"min_id": str(snowflake_at(self._clock() - self.options.first_run_lookback_hours * 3600))}
        cursor = {**cursor, "min_id": self._clamp(cursor["min_id"])}
        gap = cursor.get("gap")
        floor = int(gap["min_id"] if gap else cursor["min_id"])
        ceiling = int(gap["max_id"]) if gap else None
        statuses: dict[str, dict[str, Any]] = {}
        skipped: list[str] = []
        pages = 0
        complete = False
        while pages < self.options.max_pages and not budget.exhausted():
            params: dict[str, Any] = {"q": query, "type": "statuses", "limit": self.options.limit,
                                      "min_id": str(floor)}
            if ceiling is not None:
                params["max_id"] = str(ceiling)
            if pages:
                params["offset"] = pages * self.options.limit
            body, _ = self._get(instance, "/api/v2/search", params, budget, with_token=True)
            if not isinstance(body, dict):
                raise BadPayload(self.name, "search: response is not an object")
            page, page_ids = self._parse_statuses(instance, body.get("statuses"), "search.statuses", skipped)
            pages += 1
            for status in page:
                if int(status["id"]) > floor and (ceiling is None or int(status["id"]) < ceiling):
                    statuses.setdefault(status["id"], status)
            if len(page_ids) < self.options.limit:
                complete = True
                break
        found = list(statuses.values())
        next_cursor: Cursor = {"min_id": cursor["min_id"]}
        if gap is None and found:
            next_cursor["min_id"] = self._clamp(str(max(int(s["id"]) for s in found)))
        if not complete:
            low = min((int(s["id"]) for s in found), default=ceiling)
            next_cursor["gap"] = {"min_id": str(floor), "max_id": str(low)} if low is not None else gap
            if next_cursor["gap"] is None:
                # Stopped before reading anything: read the same range again next time.
                next_cursor = dict(cursor)
        return FetchResult([s["mention"] for s in found], next_cursor, pages, complete, skipped)

    # --- HTTP ---------------------------------------------------------------------------

    def _get(self, instance: str, path: str, params: dict[str, Any], budget: Budget, *,
             with_token: bool, missing_is_empty: bool = False) -> tuple[Any, requests.Response]:
        """The JSON of one GET. A 401 is ``CredentialsError`` when our token was sent and
        ``TokenRequired`` (this instance only) when none was; with ``missing_is_empty`` a
        404 (a hashtag the instance has never seen) is an empty list."""
        now = self._clock()
        if now < self._blocked_until.get(instance, 0.0):
            wait = self._blocked_until[instance] - now
            raise RateLimited(self.name, f"{_host(instance)}: rate limit reached, resets in {wait:g} s", wait)
        headers: dict[str, str] = {}
        token = self._access_token() if with_token else None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        resp = self.http.request("GET", instance + path, params=params, headers=headers, budget=budget,
                                 accept=(401, 404) if missing_is_empty else (401,))
        self._note_rate_limit(instance, resp)
        if resp.status_code == 401 and not token:
            raise TokenRequired(self.name, f"{_host(instance)}: this instance requires a token for its timelines "
                                           "(HTTP 401 without one); its statuses are not read")
        if resp.status_code == 401:
            raise CredentialsError(self.name, f"{_host(instance)}: access token rejected (HTTP 401)")
        if resp.status_code == 404:
            return [], resp
        return decode_json(self.name, resp), resp

    def _access_token(self) -> str | None:
        if not self.options.access_token_parameter:
            return None
        if self._token is None:
            self._token = require_secret(self.name, self._secrets, self.options.access_token_parameter,
                                         "access token")
        return self._token

    def _note_rate_limit(self, instance: str, resp: requests.Response) -> None:
        remaining, reset = resp.headers.get("X-RateLimit-Remaining"), resp.headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            if float(remaining) >= 1:
                return
            reset_at = dt.datetime.fromisoformat(reset).timestamp()
        except ValueError:
            return  # a malformed header says nothing; the 429 path still protects us
        self._blocked_until[instance] = max(reset_at, self._clock())

    # --- payload ------------------------------------------------------------------------

    def _parse_statuses(self, instance: str, body: Any, where: str,
                        skipped: list[str]) -> tuple[list[dict[str, Any]], list[int]]:
        """The original (non-reblog) statuses of a list that could be read, each with its
        ``mention``, and the ids of every entry of the list that has one (reblogs and
        unreadable statuses included: they move the cursor). One reason per unreadable
        status is added to ``skipped``; a body that is not a list is ``BadPayload``."""
        if not isinstance(body, list):
            raise BadPayload(self.name, f"{where} is not a list of statuses")

        def read(entry: tuple[int, Any]) -> dict[str, Any]:
            index, item = entry
            status = self._check_status(item, f"{where}[{index}]")
            if status.get("reblog") is None:
                status["mention"] = self._mention(instance, status)
            return status

        checked, reasons = read_each(self.name, enumerate(body), read)
        skipped.extend(reasons)
        ids = [int(item["id"]) for item in body
               if isinstance(item, dict) and isinstance(item.get("id"), str) and STATUS_ID.match(item["id"])]
        return [s for s in checked if s.get("reblog") is None], ids

    def _check_status(self, status: Any, where: str) -> dict[str, Any]:
        if not isinstance(status, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        if not isinstance(status.get("id"), str) or not STATUS_ID.match(status["id"]):
            raise BadPayload(self.name, f"{where}.id is not a numeric id")
        if status.get("reblog") is not None:
            return {"id": status["id"], "reblog": True}  # skipped: only its id moves the cursor
        for field in ("uri", "url"):
            value = status.get(field)
            if field == "url" and value is None:
                continue
            if not isinstance(value, str) or not value.startswith("https://"):
                raise BadPayload(self.name, f"{where}.{field} is not an https URL")
        for field in ("content", "spoiler_text", "language", "in_reply_to_id"):
            if status.get(field) is not None and not isinstance(status[field], str):
                raise BadPayload(self.name, f"{where}.{field} is not a string")
        if not isinstance(status.get("content"), str):
            raise BadPayload(self.name, f"{where}.content is missing")
        created = zoned_time(status.get("created_at"))
        if created is None:
            raise BadPayload(self.name, f"{where}.created_at is not an ISO 8601 time")
        account = status.get("account")
        if not isinstance(account, dict) or not isinstance(account.get("acct"), str):
            raise BadPayload(self.name, f"{where}.account.acct is missing")
        for field in ("url", "display_name"):
            if account.get(field) is not None and not isinstance(account[field], str):
                raise BadPayload(self.name, f"{where}.account.{field} is not a string")
        followers = account.get("followers_count")
        if followers is not None and (not isinstance(followers, int) or isinstance(followers, bool)):
            raise BadPayload(self.name, f"{where}.account.followers_count is not a number")
        tags = status.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tags):
            raise BadPayload(self.name, f"{where}.tags is not a list of tags")
        return {**status, "created_at": created}

    def _mention(self, instance: str, status: dict[str, Any]) -> Mention:
        account = status["account"]
        host = _host(instance)
        acct = account["acct"]
        handle = acct if "@" in acct or not ACCT.match(acct) else f"{acct}@{host}"
        profile = account.get("url") or ""
        card = status.get("card")
        card_url = card.get("url") if isinstance(card, dict) else None
        followers = account.get("followers_count")
        thread = {"instance": instance, "id": status["id"], "uri": status["uri"], "url": status.get("url") or ""}
        if status.get("in_reply_to_id"):
            thread["in_reply_to_id"] = status["in_reply_to_id"]
        return Mention(
            network=self.name,
            native_id=status["uri"],  # the same status has a different id on every instance, one uri
            url=status.get("url") or status["uri"],
            text=html_to_text(status["content"]),
            title=html_to_text(status.get("spoiler_text") or ""),
            created_at=status["created_at"],
            kind="comment" if status.get("in_reply_to_id") else "post",
            author_handle=handle,
            author_name=html_to_text(account.get("display_name") or "") or acct,
            author_url=profile if profile.startswith("https://") else "",
            reach=followers,
            lang=status.get("language"),
            community=host,
            links=(card_url,) if isinstance(card_url, str) and card_url.startswith(("https://", "http://")) else (),
            tags=tuple(t["name"] for t in status.get("tags", [])),
            thread=thread,
        )


def _host(instance: str) -> str:
    """The instance's host name, e.g. "mastodon.social"."""
    parts = urlsplit(instance)
    if parts.hostname in LOCAL_HOSTS and parts.path.strip("/"):
        # The replay server serves instances as http://127.0.0.1:PORT/mastodon/<host>.
        return parts.path.rstrip("/").rsplit("/", 1)[-1]
    return parts.hostname or instance

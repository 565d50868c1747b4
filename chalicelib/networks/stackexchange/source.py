"""Stack Exchange questions through ``/2.3/search/advanced``, newest first, fetched
incrementally on ``creation_date`` for each configured site.

Cursor: ``{"sites": {site: {"fromdate": T, "ids": [question_ids at T], "gap": [low, high], "gap_ids": [...]}},
"quota_remaining": N, "quota_day": "YYYY-MM-DD", "not_before": unix}``.
Questions created at exactly T are asked for again (``fromdate`` is inclusive) and dropped
by id. When the page limit, the time budget, a ``backoff`` or the quota reserve stops a walk,
``gap`` remembers the range still to read (read first next time, with ``todate``) and
``gap_ids`` the questions already returned at its upper end.

Every question is read alone: one that cannot be read (a missing field, a link off the
network, a ``creation_date`` no calendar holds) is skipped with its reason and, when its id
and time can still be read, moves the cursor like any other. No cursor moves past the
cycle's clock: a question dated in the future is kept with its date but hides nothing.

The API's own pacing signals are shared by all search terms, so they are also kept in the
``SourceState`` (when one is given): ``backoff`` ("do not call this method again for N s")
and ``quota_remaining`` (daily, reset at midnight UTC).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from chalicelib.model import Mention
from chalicelib.networks.stackexchange import SPEC
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
    Unavailable,
    read_each,
    require_secret,
)
from chalicelib.sources.http import decode_json
from chalicelib.text import html_to_text

SEARCH_METHOD = "search/advanced"
LIST_LOOKBACK_SECONDS = 3600  # a first run of the list reads the last hour (Stack Overflow: ~200 questions)
LIST_METHOD = "questions"  # a site's questions, newest first, no search (https://api.stackexchange.com/docs/questions)
_SITE = re.compile(r"^[a-z0-9][a-z0-9.-]{0,62}\Z")
# Hosts of the Stack Exchange network: permalinks and profile links must be on one of them.
_SE_DOMAINS = ("stackoverflow.com", "stackexchange.com", "serverfault.com", "superuser.com", "askubuntu.com",
               "stackapps.com", "mathoverflow.net")
_SECONDS_IN_MESSAGE = re.compile(r"(\d+)\s+seconds?")
_CREDENTIAL_ERRORS = {401, 402, 403, 405, 406}  # access token / key errors of the API
_SERVER_ERRORS = {500, 503}  # internal_error, temporarily_unavailable
LATEST_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z: the last second a datetime can hold
Stamped = tuple[int, int, "Mention | None"]  # (question_id, creation_date, mention; None: skipped but dated)


class StackExchangeOptions(SourceOptions):
    base_url: str = "https://api.stackexchange.com/2.3"
    sites: list[str] = Field(default_factory=lambda: ["stackoverflow"])
    key_parameter: str | None = None  # SSM parameter holding the Stack Apps key (raises the daily quota)
    page_size: int = 100
    quota_reserve: int = 50  # stop calling when the daily quota left falls to this
    # From this many terms due together, read each site's list of new questions once and let the
    # rules filter it, instead of one search per term and site: the daily quota (300 requests
    # without a key, 10,000 with one: https://api.stackexchange.com/docs/throttle) then pays for
    # sites x pages, whatever the number of terms. ``search`` has no OR operator to combine terms
    # (https://api.stackexchange.com/docs/advanced-search: ``q`` is one free-form text).
    list_from_terms: int = Field(default=2, ge=2)
    first_run_lookback_hours: int = 24

    access_token_parameter: str | None = None  # SSM: an access token with write_access, for replies
    @field_validator("sites")
    @classmethod
    def _sites_are_api_names(cls, sites: list[str]) -> list[str]:
        for site in sites:
            if not _SITE.match(site):
                raise ValueError(f"{site!r} is not a Stack Exchange API site name (like 'stackoverflow')")
        return sites


class StackExchange(BatchedSearch, SourceBase):
    options: StackExchangeOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True)
    options_model: ClassVar[type[SourceOptions]] = StackExchangeOptions
    batching: ClassVar[SearchBatching] = SearchBatching(  # any number of terms: the list is not a search
        max_terms=10**6, max_chars=10**9, doc="https://api.stackexchange.com/docs/questions")

    def _start(self) -> None:
        self._pacing: dict[str, Any] = {}
        self._skipped: list[str] = []

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Questions matching ``query`` on every configured site, created since ``cursor``.

        Returns the new questions as mentions and the next cursor; raises ``RateLimited``
        before calling when a ``backoff`` or the daily quota reserve says not to call now.
        """
        return self._fetch_terms((query,), cursor, budget)

    def fetch_many(self, queries: Sequence[str], cursors: Mapping[str, Cursor | None],
                   budget: Budget) -> dict[str, FetchResult]:
        """One search per term and site while few terms are due; from ``list_from_terms`` on,
        each site's list of new questions once for all of them (filtered by the rules)."""
        if len(queries) < self.options.list_from_terms:
            return {query: self.fetch(query, cursors.get(query), budget) for query in queries}
        return super().fetch_many(queries, cursors, budget)

    def _render(self, terms: Sequence[str]) -> str:
        return ""  # the list of new questions takes no query

    def _cursor_floor(self, cursor: Cursor) -> float:
        sites = cursor.get("sites") if isinstance(cursor.get("sites"), dict) else {}
        floors = [int(c["gap"][0]) if c.get("gap") else int(c["fromdate"]) for c in sites.values()]
        return float(min(floors, default=int(self._clock()) - self.options.first_run_lookback_hours * 3600))

    def _cursor_at(self, floor: float) -> Cursor:
        return {"sites": {site: {"fromdate": int(floor), "ids": []} for site in self.options.sites}}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New questions on every configured site: those matching the one term, or all of them
        (the list of new questions) for several terms."""
        query = terms[0] if len(terms) == 1 else None
        now = int(self._clock())
        self._skipped = []
        if cursor is None:
            cursor = {"sites": {}}
        self._pacing = self._load_pacing(cursor)
        self._check_pacing(now)
        key = (
            require_secret(self.name, self._secrets, self.options.key_parameter, "Stack Apps key")
            if self.options.key_parameter else None
        )
        lookback_start = now - self.options.first_run_lookback_hours * 3600
        if query is None:  # a site's whole list: a busy site has thousands of questions a day
            lookback_start = max(lookback_start, now - LIST_LOOKBACK_SECONDS)
        old_sites: dict[str, Any] = cursor.get("sites") if isinstance(cursor.get("sites"), dict) else {}
        next_sites: dict[str, Any] = {}
        mentions: list[Mention] = []
        pages = 0
        complete = True
        for site in self.options.sites:
            site_cursor = old_sites.get(site) or {"fromdate": lookback_start, "ids": []}
            if not complete or self._must_pause(now):
                next_sites[site] = site_cursor  # not reached this cycle: read next time from where it was
                complete = False
                continue
            found, next_sites[site], site_pages, site_complete = self._fetch_site(
                site, query, site_cursor, key, pages, budget
            )
            mentions.extend(found)
            pages += site_pages
            complete = complete and site_complete
        next_cursor: Cursor = {"sites": next_sites, **self._pacing}
        self._save_pacing()
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete,
                           skipped=self._skipped)

    def _fetch_site(
        self, site: str, query: str | None, cursor: dict[str, Any], key: str | None, pages_before: int,
        budget: Budget,
    ) -> tuple[list[Mention], dict[str, Any], int, bool]:
        watermark = int(cursor["fromdate"])
        seen_at_watermark = {int(i) for i in cursor.get("ids", [])}
        gap = cursor.get("gap")
        low, high = (int(gap[0]), int(gap[1])) if gap else (watermark, None)
        # todate is inclusive too: questions at the gap's upper end were already returned.
        seen_at_high = {int(i) for i in cursor.get("gap_ids", [])}

        stamps, pages, complete = self._walk(site, query, low, high, key, pages_before, budget)
        now = int(self._clock())  # the cycle's clock: no cursor moves past it
        mentions = [
            mention for question_id, created, mention in stamps
            if mention is not None
            and not (created == watermark and question_id in seen_at_watermark)
            and not (created == high and question_id in seen_at_high)
        ]
        # What moves the cursor: every question whose id and time could be read, clamped to now.
        questions = [{"question_id": question_id, "creation_date": min(created, now)}
                     for question_id, created, _ in stamps]
        next_cursor: dict[str, Any] = {"fromdate": watermark, "ids": sorted(seen_at_watermark)}
        if gap is None and questions:
            newest = max(q["creation_date"] for q in questions)
            if newest > watermark:
                next_cursor = {"fromdate": newest, "ids": []}
            next_cursor["ids"] = sorted(
                {q["question_id"] for q in questions if q["creation_date"] == next_cursor["fromdate"]}
                | (seen_at_watermark if newest == watermark else set())
            )
        if not complete and questions:
            # Read newest first and stopped early: the older part is still to read.
            oldest = min(q["creation_date"] for q in questions)
            next_cursor["gap"] = [low, oldest]
            next_cursor["gap_ids"] = sorted(
                {q["question_id"] for q in questions if q["creation_date"] == oldest}
                | (seen_at_high if oldest == high else set())
            )
        elif not complete and gap:
            next_cursor["gap"] = gap
            next_cursor["gap_ids"] = sorted(seen_at_high)
        elif not complete:
            # Nothing read at all: keep the cursor as it was, so the same range is asked again.
            next_cursor = dict(cursor)
        return mentions, next_cursor, pages, complete

    def _walk(
        self, site: str, query: str | None, low: int, high: int | None, key: str | None, pages_before: int,
        budget: Budget,
    ) -> tuple[list[Stamped], int, bool]:
        questions: list[Stamped] = []
        page = 0
        while True:
            if pages_before + page >= self.options.max_pages or budget.exhausted() or self._must_pause(
                int(self._clock())
            ):
                return questions, page, False
            params: dict[str, Any] = {
                "site": site, **({"q": query} if query is not None else {}), "sort": "creation", "order": "desc",
                "fromdate": low, "pagesize": self.options.page_size, "page": page + 1, "filter": "withbody",
            }
            if high is not None:
                params["todate"] = high
            if key:
                params["key"] = key
            resp = self.http.request(
                "GET", f"{self.options.base_url}/{SEARCH_METHOD if query is not None else LIST_METHOD}", params=params,
                budget=budget, accept=(400,)
            )
            body = decode_json(self.name, resp)
            if resp.status_code == 400:
                raise self._api_error(body)
            page_questions, has_more, skipped = self.parse_page(body, site)
            questions.extend(page_questions)
            self._skipped.extend(skipped)
            page += 1
            if not has_more or not page_questions:
                return questions, page, True

    def parse_page(self, body: Any, site: str) -> tuple[list[Stamped], bool, list[str]]:
        """Read one response wrapper: (question_id, creation_date, mention) per question (the
        mention None for a question skipped whose id and time could still be read),
        ``has_more`` and one reason per skipped question; records ``backoff`` and
        ``quota_remaining`` for pacing. A wrapper of any other shape is ``BadPayload``."""
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadPayload(self.name, "response has no 'items' list")
        if "error_id" in body:
            raise self._api_error(body)
        has_more = body.get("has_more", False)
        if not isinstance(has_more, bool):
            raise BadPayload(self.name, "'has_more' is not a boolean")
        now = int(self._clock())
        backoff = body.get("backoff")
        if backoff is not None:
            if not _is_int(backoff) or backoff < 0:
                raise BadPayload(self.name, "'backoff' is not a number of seconds")
            self._pacing["not_before"] = max(int(self._pacing.get("not_before", 0)), now + backoff)
        quota = body.get("quota_remaining")
        if quota is not None:
            if not _is_int(quota):
                raise BadPayload(self.name, "'quota_remaining' is not a number")
            self._pacing["quota_remaining"] = quota
            self._pacing["quota_day"] = _utc_day(now)
        items = body["items"]
        read, skipped = read_each(self.name, enumerate(items), lambda pair: self._read_question(site, *pair))
        read_ids = {question_id for question_id, _, _ in read}
        # A question skipped whose id and time can be read still moves the cursor (no mention).
        dated = [(q["question_id"], q["creation_date"], None) for q in items
                 if isinstance(q, dict) and _is_int(q.get("question_id")) and _is_int(q.get("creation_date"))
                 and q["creation_date"] >= 0 and q["question_id"] not in read_ids]
        return [*read, *dated], has_more, skipped

    def _read_question(self, site: str, index: int, q: Any) -> Stamped:
        self._check_question(q, index)
        return q["question_id"], q["creation_date"], self._mention(site, q)

    def _check_question(self, q: Any, index: int) -> None:
        where = f"items[{index}]"
        if not isinstance(q, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        for name in ("question_id", "creation_date"):
            if not _is_int(q.get(name)) or q[name] < 0:
                raise BadPayload(self.name, f"{where}.{name} is not a non-negative integer")
        if q["creation_date"] > LATEST_DATE:
            raise BadPayload(self.name, f"{where}.creation_date {q['creation_date']} is not a date (after year 9999)")
        for name in ("title", "body"):
            if not isinstance(q.get(name, ""), str):
                raise BadPayload(self.name, f"{where}.{name} is not a string")
        if not _on_se_network(q.get("link"), rf"/(questions|q)/{q['question_id']}(/|$)"):
            raise BadPayload(self.name, f"{where}.link is not a Stack Exchange question URL")
        if q.get("score") is not None and not _is_int(q["score"]):
            raise BadPayload(self.name, f"{where}.score is not an integer")
        tags = q.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadPayload(self.name, f"{where}.tags is not a list of strings")
        owner = q.get("owner", {})
        if not isinstance(owner, dict):
            raise BadPayload(self.name, f"{where}.owner is not an object")
        if not isinstance(owner.get("display_name", ""), str):
            raise BadPayload(self.name, f"{where}.owner.display_name is not a string")
        for name in ("user_id", "reputation"):
            if owner.get(name) is not None and not _is_int(owner[name]):
                raise BadPayload(self.name, f"{where}.owner.{name} is not an integer")
        if owner.get("link") is not None and not _on_se_network(owner["link"], r"/users/\d+(/|$)"):
            raise BadPayload(self.name, f"{where}.owner.link is not a Stack Exchange profile URL")

    def _mention(self, site: str, q: dict[str, Any]) -> Mention:
        owner = q.get("owner") or {}
        # The API HTML-encodes display names ("J&#246;rg").
        display_name = html.unescape(owner.get("display_name") or "")
        user_id = owner.get("user_id")
        return Mention(
            network=self.name,
            native_id=f"{site}/{q['question_id']}",
            url=q["link"],
            text=html_to_text(q.get("body") or ""),
            title=html_to_text(q.get("title") or ""),
            created_at=dt.datetime.fromtimestamp(q["creation_date"], tz=dt.UTC),
            kind="post",
            author_handle=str(user_id) if user_id is not None else display_name,
            author_name=display_name,
            author_url=owner.get("link") or "",
            reach=owner.get("reputation"),
            community=site,
            tags=tuple(q.get("tags", [])),
            thread={"site": site, "question_id": str(q["question_id"])},
        )

    def _api_error(self, body: Any) -> SourceError:
        """The error for an API error wrapper (``error_id``, ``error_name``, ``error_message``)."""
        if not isinstance(body, dict) or not _is_int(body.get("error_id")):
            return BadPayload(self.name, "HTTP 400 without an 'error_id'")
        error_id: int = body["error_id"]
        error_name = body.get("error_name") if isinstance(body.get("error_name"), str) else "error"
        message = body.get("error_message") if isinstance(body.get("error_message"), str) else ""
        error_name = re.sub(r"[^a-z_]", "", error_name)[:40] or "error"  # said to the owner: keep it a plain word
        if error_id == 502:
            seconds = _SECONDS_IN_MESSAGE.search(message)
            retry_after = float(seconds.group(1)) if seconds else None
            if retry_after is not None:
                self._pacing["not_before"] = int(self._clock() + retry_after)
                self._save_pacing()
            wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
            return RateLimited(self.name, f"throttle violation (error 502{wait})", retry_after)
        if error_id in _CREDENTIAL_ERRORS or (error_id == 400 and message.strip().lower() == "key"):
            return CredentialsError(self.name, f"app key or token rejected (error {error_id} {error_name})")
        if error_id in _SERVER_ERRORS:
            return Unavailable(self.name, f"server error (error {error_id} {error_name})")
        return SourceError(self.name, f"request refused (error {error_id} {error_name})")

    def _load_pacing(self, cursor: Cursor) -> dict[str, Any]:
        pacing = {k: cursor[k] for k in ("quota_remaining", "quota_day", "not_before") if k in cursor}
        shared = self._state.get_state(self.name, "pacing") if self._state is not None else None
        if isinstance(shared, dict):
            # Another term's cycle may have seen a later backoff or quota: the freshest wins.
            if _is_int(shared.get("not_before")):
                pacing["not_before"] = max(int(pacing.get("not_before", 0)), shared["not_before"])
            if _is_int(shared.get("quota_remaining")) and isinstance(shared.get("quota_day"), str):
                if shared["quota_day"] >= str(pacing.get("quota_day", "")):
                    pacing["quota_remaining"] = shared["quota_remaining"]
                    pacing["quota_day"] = shared["quota_day"]
        return pacing

    def _save_pacing(self) -> None:
        if self._state is not None and self._pacing:
            self._state.put_state(self.name, "pacing", dict(self._pacing))

    def _must_pause(self, now: int) -> bool:
        return self._pause_reason(now) is not None

    def _pause_reason(self, now: int) -> tuple[str, int] | None:
        not_before = self._pacing.get("not_before")
        if _is_int(not_before) and not_before > now:
            return f"backoff asked by the API, {not_before - now} s left", not_before - now
        quota = self._pacing.get("quota_remaining")
        if _is_int(quota) and quota <= self.options.quota_reserve and self._pacing.get("quota_day") == _utc_day(now):
            until_midnight = 86400 - now % 86400
            return f"daily quota down to {quota} (reserve {self.options.quota_reserve})", until_midnight
        return None

    def _check_pacing(self, now: int) -> None:
        reason = self._pause_reason(now)
        if reason is not None:
            raise RateLimited(self.name, reason[0], retry_after=float(reason[1]))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _utc_day(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).date().isoformat()


def _on_se_network(url: Any, path_pattern: str) -> bool:
    """True when ``url`` is an http(s) URL on a Stack Exchange host whose path starts with ``path_pattern``."""
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        parts.scheme in ("http", "https")
        and any(host == d or host.endswith("." + d) for d in _SE_DOMAINS)
        and re.match(path_pattern, parts.path) is not None
    )

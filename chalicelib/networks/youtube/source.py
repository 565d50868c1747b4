"""YouTube through the Data API v3 ``search.list`` (videos matching a term, newest first,
``publishedAfter`` the watermark), on a daily budget of search calls that is never exceeded.

Cursor::

    {"published_at": T, "since": first-run start, "recent": {videoId: published, ...},
     "gap": [low, high, [videoIds at high]] | absent}

Search finds a video some time after it is published, so each search reaches back
``index_lag_minutes`` before T (never before ``since``) and drops the videos in ``recent``
(those seen inside that window). ``publishedAfter`` and ``publishedBefore`` are both
inclusive. When the page limit, the time budget or the day's search budget stops a walk,
``gap`` remembers the range still to read and the next search of the term reads it first
(with ``publishedBefore``).

Quota: ``search.list`` has its own bucket (100 calls a day at the time of writing) that
resets at midnight Pacific time. The calls made are counted in the connector's state
(``quota``: ``{"day": "YYYY-MM-DD" in Pacific time, "used": n, "terms": {term: {"used": n,
"seen": t}}}``) and the connector stops at ``daily_search_calls``: with nothing left it
raises ``RateLimited`` until midnight PT without calling the API, and a ``quotaExceeded``
answer marks the day as spent. So that the budget lasts the whole day, each term searches
only while it is within its share of the budget so far (``pace_through_the_day``);
otherwise ``fetch`` returns nothing and the cursor unchanged.

A search result that cannot be read is skipped alone (its reason in ``FetchResult.skipped``).
``published_at`` never passes the cycle's clock: a video dated in the future is returned
with that date but does not move the watermark (one stored in the future is pulled back).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import requests

from chalicelib.model import Mention
from chalicelib.networks.google_oauth import GoogleOAuthOptions
from chalicelib.networks.youtube import SPEC
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
    SkipLedger,
    SourceBase,
    SourceError,
    SourceOptions,
    payload_time,
    quoted,
    require_secret,
)
from chalicelib.sources.http import decode_json

WATCH_URL = "https://www.youtube.com/watch?v="
CHANNEL_URL = "https://www.youtube.com/channel/"
PACIFIC = ZoneInfo("America/Los_Angeles")
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_CHANNEL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RECENT_LIMIT = 500  # video ids kept in the cursor to drop what the lag window finds again
TERMS_LIMIT = 100  # terms whose share of the budget is tracked
_REASON = re.compile(r"^[A-Za-z_]{1,40}$")
_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_KEY_REASONS = frozenset({"keyInvalid", "keyExpired", "accessNotConfigured", "forbidden", "ipRefererBlocked",
                          "API_KEY_INVALID", "API_KEY_EXPIRED", "SERVICE_DISABLED", "API_KEY_SERVICE_BLOCKED"})


class YouTubeOptions(GoogleOAuthOptions):
    base_url: str = "https://www.googleapis.com"
    key_parameter: str | None = None  # SSM parameter holding the Data API key
    first_run_lookback_hours: int = 24
    max_results: int = 50
    daily_search_calls: int = 90  # search.list calls a Pacific day; the bucket is 100, kept some slack
    pace_through_the_day: bool = True  # each term gets its share of the budget spread over the day
    index_lag_minutes: int = 60  # search finds videos late: look back this far again, dropping what was seen
    region_code: str | None = None
    relevance_language: str | None = None
    # Replies (youtube.force-ssl): the oauth_* options of GoogleOAuthOptions name, in SSM, what makes
    # access tokens (chalicelib/networks/google_oauth.py).


class YouTube(BatchedSearch, SourceBase):
    options: YouTubeOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True)
    options_model: ClassVar[type[SourceOptions]] = YouTubeOptions
    # Several terms in one search.list call: ``q`` takes the OR operator ``|`` ("boating|sailing",
    # https://developers.google.com/youtube/v3/docs/search/list, parameter ``q``), and every call
    # costs one of the ~100 a day whatever it asks. No length limit is documented: 10 terms and
    # 256 characters a query is this connector's own conservative choice.
    batching: ClassVar[SearchBatching] = SearchBatching(
        max_terms=10, max_chars=256, doc="https://developers.google.com/youtube/v3/docs/search/list")

    def _start(self) -> None:
        self._local_quota: dict[str, Any] | None = None  # used when no durable state was given
        self._skips = SkipLedger(self.name, _video_id)  # results of this fetch that could not be read

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Videos matching ``query`` published since ``cursor``; raises only ``SourceError``
        (``RateLimited`` until midnight PT when the day's search budget is spent).

        When the term has had its share of the day's budget so far, nothing is fetched and
        the cursor comes back unchanged (the term is searched again at its next turn).
        """
        return self._fetch_terms((query,), cursor, budget)

    def _render(self, terms: Sequence[str]) -> str:
        return "|".join(quoted(term) for term in terms)

    def _cursor_floor(self, cursor: Cursor) -> float:
        gap = cursor.get("gap")
        if gap:
            return float(gap[0])
        watermark = int(cursor["published_at"])
        return float(max(int(cursor.get("since", watermark)), watermark - self.options.index_lag_minutes * 60))

    def _cursor_at(self, floor: float) -> Cursor:
        return {"published_at": int(floor), "since": int(floor), "recent": {}}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Videos matching any of ``terms`` (one search, its own share of the day's budget)."""
        query = terms[0] if len(terms) == 1 else self._render(terms)  # the search's name in the quota
        q = quoted(query) if len(terms) == 1 else query
        key = require_secret(self.name, self._secrets, self.options.key_parameter, "API key")
        if self._calls_left() <= 0:
            raise self._out_of_quota("the daily budget of search calls is used up")
        if cursor is None:
            start = int(self._clock()) - self.options.first_run_lookback_hours * 3600
            cursor = {"published_at": start, "since": start, "recent": {}}
        if not self._due(query):
            return FetchResult(mentions=[], cursor=cursor, pages=0, complete=True)
        now = int(self._clock())
        watermark = min(int(cursor["published_at"]), now)  # a watermark in the future hides every new video
        since = int(cursor.get("since", watermark))
        recent = {vid: int(t) for vid, t in cursor.get("recent", {}).items()}
        gap = cursor.get("gap")
        lag = self.options.index_lag_minutes * 60
        if gap:
            low, high, seen_at_high = int(gap[0]), int(gap[1]), set(gap[2])
        else:
            low, high, seen_at_high = max(since, watermark - lag), None, set()

        self._skips = SkipLedger(self.name, _video_id)
        videos, pages, complete = self._walk(key, query, q, low, high, budget)
        new = {
            vid: item for vid, item in videos.items()
            if vid not in recent and not (item["_published"] == high and vid in seen_at_high)
        }
        newest = max([watermark] + [item["_published"] for item in videos.values()]) if gap is None else watermark
        newest = min(newest, now)  # a video dated in the future is kept with its date, the cursor stays at now
        recent.update((vid, item["_published"]) for vid, item in new.items())
        # An unreadable result is counted once: its id is remembered like a read one's, from now.
        skipped = self._skips.reasons(lambda vid, _: vid not in recent)
        recent.update((vid, newest) for vid in self._skips.unreadable if vid not in recent)
        # Videos inside the lag window are searched again next time: remember them to drop them then.
        kept = sorted(((t, vid) for vid, t in recent.items() if t >= newest - lag), reverse=True)[:RECENT_LIMIT]
        next_cursor: Cursor = {"published_at": newest, "since": since, "recent": {vid: t for t, vid in kept}}
        if not complete and videos:
            # Read newest first and stopped early: the older part is still to read.
            oldest = min(item["_published"] for item in videos.values())
            at_oldest = {vid for vid, item in videos.items() if item["_published"] == oldest}
            if oldest == high:
                at_oldest |= seen_at_high
            next_cursor["gap"] = [low, oldest, sorted(at_oldest)]
        elif not complete and gap:
            next_cursor["gap"] = gap
        mentions = [item["_mention"] for item in new.values()]
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete, skipped=skipped)

    def _walk(self, key: str, query: str, q: str, low: int, high: int | None,
              budget: Budget) -> tuple[dict[str, dict[str, Any]], int, bool]:
        params: dict[str, Any] = {
            "part": "snippet",
            "q": q,
            "type": "video",
            "order": "date",
            "publishedAfter": _rfc3339(low),
            "maxResults": self.options.max_results,
        }
        if high is not None:
            params["publishedBefore"] = _rfc3339(high)
        if self.options.region_code:
            params["regionCode"] = self.options.region_code
        if self.options.relevance_language:
            params["relevanceLanguage"] = self.options.relevance_language
        videos: dict[str, dict[str, Any]] = {}
        pages = 0
        token: str | None = None
        while True:
            if pages >= self.options.max_pages or budget.exhausted() or self._calls_left() <= 0:
                return videos, pages, False
            page_params = {**params, **({"pageToken": token} if token else {}), "key": key}
            try:
                body = self._search(query, page_params, budget)
            except RateLimited:
                if not pages:
                    raise
                return videos, pages, False  # keep what was read; the next cycle starts with the gap
            items, token, listed = self._parse_page(body)
            pages += 1
            for item in items:
                videos.setdefault(item["id"]["videoId"], item)
            if not token or not listed:
                return videos, pages, True

    def _search(self, query: str, params: dict[str, Any], budget: Budget) -> Any:
        """One search.list call, counted against the day's budget, retries included."""
        before = self.http.requests_made
        retries = self.http.retries
        # A retry is another call against the quota: never let retries overrun the budget.
        self.http.retries = max(0, min(retries, self._calls_left() - 1))
        try:
            resp = self.http.request("GET", f"{self.options.base_url}/youtube/v3/search", params=params,
                                     budget=budget, accept=(400, 403))
        finally:
            self.http.retries = retries
            self._spend(self.http.requests_made - before, query)
        if resp.status_code in (400, 403):
            raise self._refusal(resp)
        return decode_json(self.name, resp)

    def _refusal(self, resp: requests.Response) -> SourceError:
        """The error a 400/403 answer stands for, from ``error.errors[].reason`` (and ``error.details``)."""
        status = resp.status_code
        reasons: set[str] = set()
        try:
            error = decode_json(self.name, resp).get("error", {})
            reasons |= {str(e.get("reason")) for e in error.get("errors", []) if isinstance(e, dict)}
            reasons |= {str(d.get("reason")) for d in error.get("details", []) if isinstance(d, dict)}
        except (BadPayload, AttributeError, TypeError):
            pass  # not Google's error shape: fall through to the status alone
        reasons = {r for r in reasons if _REASON.match(r)}  # these words reach the owner: Google's codes only
        if reasons & _QUOTA_REASONS:
            self._spend_all()
            return self._out_of_quota(f"YouTube says the daily quota is exceeded (HTTP {status})")
        if reasons & _RATE_REASONS:
            return RateLimited(self.name, f"YouTube asks to slow down (HTTP {status})", None)
        if reasons & _KEY_REASONS or status == 403:
            return CredentialsError(self.name, f"API key rejected (HTTP {status}: {', '.join(sorted(reasons)) or '?'})")
        return SourceError(self.name, f"request refused (HTTP {status}: {', '.join(sorted(reasons)) or '?'})")

    def _parse_page(self, body: Any) -> tuple[list[dict[str, Any]], str | None, int]:
        """The videos of a page that could be read (each with its ``_mention``), the next page
        token and how many results were listed; the others are noted in ``self._skips``."""
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise BadPayload(self.name, "response has no 'items' list")
        token = body.get("nextPageToken")
        if token is not None and (not isinstance(token, str) or not token.isascii() or not token.isprintable()):
            raise BadPayload(self.name, "'nextPageToken' is not a token")

        def read(entry: tuple[int, Any]) -> dict[str, Any] | None:
            index, item = entry
            if not self._check_item(item, f"items[{index}]"):
                return None
            item["_mention"] = self._mention(item)
            return dict(item)

        videos = self._skips.read(enumerate(body["items"]), read)
        return videos, token or None, len(body["items"])

    def _check_item(self, item: Any, where: str) -> bool:
        """Validate one search result; False for a result that is not a video (type=video should prevent it)."""
        if not isinstance(item, dict) or not isinstance(item.get("id"), dict):
            raise BadPayload(self.name, f"{where} has no 'id' object")
        if item["id"].get("kind") != "youtube#video":
            return False
        video_id = item["id"].get("videoId")
        if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id):
            raise BadPayload(self.name, f"{where}.id.videoId is not a video id")
        snippet = item.get("snippet")
        if not isinstance(snippet, dict):
            raise BadPayload(self.name, f"{where}.snippet is not an object")
        for name in ("title", "description", "channelTitle", "channelId"):
            if not isinstance(snippet.get(name, ""), str):
                raise BadPayload(self.name, f"{where}.snippet.{name} is not a string")
        channel = snippet.get("channelId", "")
        if channel and not _CHANNEL_ID.match(channel):
            raise BadPayload(self.name, f"{where}.snippet.channelId is not a channel id")
        item["_published"] = int(payload_time(self.name, snippet.get("publishedAt"),
                                              f"{where}.snippet.publishedAt is not an RFC 3339 time"))
        return True

    def _mention(self, item: dict[str, Any]) -> Mention:
        snippet = item["snippet"]
        video_id = item["id"]["videoId"]
        channel_id = snippet.get("channelId", "")
        channel = html.unescape(snippet.get("channelTitle", "")).strip()
        thread = {"video_id": video_id, **({"channel_id": channel_id} if channel_id else {})}
        return Mention(
            network=self.name,
            native_id=video_id,
            url=WATCH_URL + video_id,
            # search.list escapes HTML special characters in these fields (&#39; &amp; &quot;): plain text back
            text=html.unescape(snippet.get("description", "")).strip(),
            title=html.unescape(snippet.get("title", "")).strip(),
            created_at=dt.datetime.fromtimestamp(item["_published"], tz=dt.UTC),
            kind="post",
            author_handle=channel,
            author_name=channel,
            author_url=CHANNEL_URL + channel_id if channel_id else "",
            thread=thread,
        )

    def _quota(self) -> dict[str, Any]:
        """Today's (Pacific day) count of search calls, in all and per term, and when each term last asked."""
        today = dt.datetime.fromtimestamp(self._clock(), tz=PACIFIC).date().isoformat()
        stored = self._state.get_state(self.name, "quota") if self._state is not None else self._local_quota
        stored = stored or {}
        terms = {q: dict(t) for q, t in stored.get("terms", {}).items()}
        if stored.get("day") != today:
            return {"day": today, "used": 0, "terms": {q: {**t, "used": 0} for q, t in terms.items()}}
        return {"day": today, "used": int(stored.get("used", 0)), "terms": terms}

    def _save_quota(self, quota: dict[str, Any]) -> None:
        if self._state is not None:
            self._state.put_state(self.name, "quota", quota)
        else:
            self._local_quota = quota

    def _calls_left(self) -> int:
        return self.options.daily_search_calls - int(self._quota()["used"])

    def _due(self, query: str) -> bool:
        """Whether ``query`` may search now: its share of the day's budget (split between the
        terms asked for in the last day) is spread evenly over the Pacific day, so that the
        budget lasts until midnight instead of going in the first hour of polling."""
        quota = self._quota()
        now = self._clock()
        terms = {q: t for q, t in quota["terms"].items() if float(t.get("seen", 0)) >= now - 86400}
        entry = terms.setdefault(query, {"used": 0})
        entry["seen"] = now
        quota["terms"] = dict(sorted(terms.items(), key=lambda kv: -kv[1]["seen"])[:TERMS_LIMIT])
        self._save_quota(quota)
        if not self.options.pace_through_the_day:
            return True
        local = dt.datetime.fromtimestamp(now, tz=PACIFIC)
        midnight = dt.datetime.combine(local.date(), dt.time(0), tzinfo=PACIFIC)
        next_midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(0), tzinfo=PACIFIC)
        elapsed = (now - midnight.timestamp()) / (next_midnight.timestamp() - midnight.timestamp())
        share = self.options.daily_search_calls / len(quota["terms"])
        return int(entry["used"]) < int(share * elapsed) + 1

    def _spend(self, calls: int, query: str | None = None) -> None:
        quota = self._quota()
        quota["used"] = int(quota["used"]) + calls
        if query is not None and query in quota["terms"]:
            quota["terms"][query]["used"] = int(quota["terms"][query].get("used", 0)) + calls
        self._save_quota(quota)

    def _spend_all(self) -> None:
        quota = self._quota()
        quota["used"] = max(int(quota["used"]), self.options.daily_search_calls)
        self._save_quota(quota)

    def _out_of_quota(self, why: str) -> RateLimited:
        now = dt.datetime.fromtimestamp(self._clock(), tz=PACIFIC)
        midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0), tzinfo=PACIFIC)
        wait = midnight.timestamp() - self._clock()
        return RateLimited(self.name, f"{why}; it resets at midnight Pacific time", wait)


def _rfc3339(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _video_id(entry: Any) -> tuple[str | None, float | None]:
    """The video id of an ``(index, result)`` entry where it can be read (the time is not needed)."""
    item = entry[1]
    ids = item.get("id") if isinstance(item, dict) else None
    video_id = ids.get("videoId") if isinstance(ids, dict) else None
    return (video_id, 0.0) if isinstance(video_id, str) and _VIDEO_ID.match(video_id) else (None, None)

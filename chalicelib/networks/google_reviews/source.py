"""Google reviews: the reviews of the owner's Business Profile locations, through the Business
Profile API v4 ``accounts.locations.reviews.list``
(https://developers.google.com/my-business/reference/rest/v4/accounts.locations.reviews/list),
newest first by ``updateTime`` (``orderBy=updateTime desc``), ``pageSize`` at most 50, paged by
``nextPageToken``. Every review is a mention (the network is the owner's own: ``SPEC.owned``),
and so is every later version of one: a review whose ``updateTime`` moved (the author edited it
or changed the stars) is a new mention, ``native_id`` ``<reviewId>@<updateTime in ms>``, with
``thread["review"]`` the review's name, so that a reply and a muted thread address the review.

Cursor::

    {"locations": {"accounts/1/locations/2": {"updated_ms": T, "ids": [native ids at T],
                                              "gap": {...} | absent}, ...}}

One walk a location, newest first, until a review at or below T (its watermark, in ms) or the
last page. When ``max_pages`` or the time budget stops a walk, ``gap`` remembers the range still
to read and the page token that goes on into it, and the next cycle reads that first (a token
Google no longer takes: the gap is read again from the newest review). T never
passes the cycle's clock: a review dated in the future is returned with its date and moves
nothing. A review that cannot be read is skipped alone and counted once.

Credentials: an OAuth access token made from the owner's refresh token (scope
``business.manage``) by the shared Google OAuth code. A 401 (a token revoked early) gets one new
token and one more try; a second 401, or a refresh token Google refuses, is a
``CredentialsError`` that says how to reconnect. A 429 (``RESOURCE_EXHAUSTED``: the project's
300 requests a minute) is ``RateLimited`` with the wait Google gave, else a minute.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import requests
from pydantic import Field, field_validator

from chalicelib.model import Mention
from chalicelib.networks.google_oauth import GoogleOAuth, GoogleOAuthOptions
from chalicelib.networks.google_reviews import DEFAULT_URGENT_STARS, SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    CredentialsError,
    Cursor,
    FetchResult,
    PageWalk,
    RateLimited,
    SkipLedger,
    SourceBase,
    SourceError,
    SourceOptions,
    advance_watermark,
    next_gap,
    payload_time,
    walk_newest,
)
from chalicelib.sources.http import decode_json, parse_retry_after

LOCATION = re.compile(r"^accounts/[0-9]{1,30}/locations/[0-9]{1,30}\Z")
REVIEW_ID = re.compile(r"^[A-Za-z0-9_-]{1,300}\Z")
_PAGE_TOKEN = re.compile(r"^[\x21-\x7e]{1,2000}\Z")
_STATUS = re.compile(r"^[A-Z_]{1,40}\Z")
STARS = {"ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5}
ANONYMOUS = "A Google user"  # Google's own words for a reviewer who stays anonymous
REVIEWS_PAGE = "https://business.google.com/reviews"  # where the owner reads and answers the location's reviews
RECONNECT = "reconnect Google: run `make connect NETWORK=google_reviews`"
QUOTA_WAIT_SECONDS = 60.0  # the quota is per minute: without a Retry-After, a minute


class StalePageToken(SourceError):
    """Google refused a page token the cursor kept (tokens do not last for ever)."""


class GoogleReviewsOptions(GoogleOAuthOptions):
    base_url: str = "https://mybusiness.googleapis.com"
    # The owner's locations, as the API names them: "accounts/<digits>/locations/<digits>".
    locations: list[str] = Field(min_length=1)
    page_size: int = Field(default=50, ge=1, le=50)  # reviews.list's pageSize: at most 50
    first_run_lookback_hours: int = Field(default=24 * 7, ge=0)
    urgent_stars: int = Field(default=DEFAULT_URGENT_STARS, ge=0, le=5)  # reviews at or below: urgent

    @field_validator("locations")
    @classmethod
    def _locations_are_names(cls, value: list[str]) -> list[str]:
        for index, location in enumerate(value):
            if not isinstance(location, str) or not LOCATION.match(location):
                raise ValueError(f"locations[{index}] {location!r} is not a Business Profile location name "
                                 "(accounts/<digits>/locations/<digits>, as `make connect NETWORK=google_reviews` "
                                 "prints them)")
        if len(set(value)) != len(value):
            raise ValueError("locations names a location twice")
        return value


class GoogleReviews(SourceBase):
    options: GoogleReviewsOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=True)
    options_model: ClassVar[type[SourceOptions]] = GoogleReviewsOptions

    def _start(self) -> None:
        self.oauth = GoogleOAuth(self.name, self.options, self.http, self._secrets, self._clock, reconnect=RECONNECT)
        self._skips = SkipLedger(self.name, _id_and_time)

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Every review of every location new or updated since ``cursor`` (``query`` is ignored:
        the listing is the whole stream). Raises only ``SourceError``."""
        self.oauth.secrets()  # a missing credential stops before any request
        start = int(self._clock() - self.options.first_run_lookback_hours * 3600) * 1000
        stored = (cursor or {}).get("locations", {})
        next_locations: dict[str, Any] = {}
        mentions: list[Mention] = []
        skipped: list[str] = []
        pages, complete = 0, True
        for location in self.options.locations:
            state = stored.get(location) or {"updated_ms": start, "ids": []}
            result = self._fetch_location(location, state, budget)
            next_locations[location] = result.cursor
            mentions += result.mentions
            skipped += result.skipped
            pages += result.pages
            complete = complete and result.complete
        return FetchResult(mentions=mentions, cursor={"locations": next_locations}, pages=pages, complete=complete,
                           skipped=skipped)

    def _fetch_location(self, location: str, state: Cursor, budget: Budget) -> FetchResult:
        gap = state.get("gap")
        try:
            return self._walk_location(location, state, budget)
        except StalePageToken:
            if not gap:
                raise
            # Google no longer takes the page token the gap kept: read the gap again from the newest
            # review (what comes again was stored already and is dropped as such).
            return self._walk_location(location, {"updated_ms": int(gap["low"]), "ids": gap["low_ids"]}, budget)

    def _walk_location(self, location: str, state: Cursor, budget: Budget) -> FetchResult:
        now_ms = int(self._clock() * 1000)
        watermark = min(int(state["updated_ms"]), now_ms)
        seen = {str(i) for i in state.get("ids", [])}
        gap = state.get("gap")
        self._skips = SkipLedger(self.name, _id_and_time)
        tokens: dict[int, str | None] = {1: None}
        if gap:
            tokens[int(gap["page"])] = gap.get("token")

        def read_page(page: int) -> list[dict[str, Any]]:
            body = self._list(location, tokens.get(page), budget)
            items, token = self._parse_page(location, body)
            tokens[page + 1] = token
            return items

        def more(walk: PageWalk[str]) -> bool:
            # Stops at the page limit, the time budget, or the last page (the one without a next page token).
            last = walk.pages == 0 or tokens.get(max(tokens)) is not None
            return walk.pages < self.options.max_pages and not budget.exhausted() and last

        first = int(gap["page"]) if gap else 1
        low, low_ids = (float(gap["low"]), set(gap["low_ids"])) if gap else (watermark, seen)
        walk = _walk(read_page, more, first, low, low_ids, gap, tokens)
        times = {key: float(item["_ms"]) for key, item in walk.new.items()}
        next_state: Cursor = {"updated_ms": watermark, "ids": sorted(seen)}
        dated = {key: t for key, t in (self._skips.unreadable | times).items() if watermark <= t <= now_ms}
        if gap is None:
            advance_watermark(next_state, "updated_ms", watermark, seen, dated)
            next_state["updated_ms"] = int(next_state["updated_ms"])
        left = next_gap(gap, watermark, seen, walk.next_page, times) if not walk.complete else None
        if left:
            left["token"] = tokens.get(walk.next_page)
            next_state["gap"] = left
        skipped = self._skips.reasons_since(watermark, seen, gap)
        mentions = [item["_mention"] for item in walk.new.values()]
        return FetchResult(mentions=mentions, cursor=next_state, pages=walk.pages, complete=walk.complete,
                           skipped=skipped)

    def _list(self, location: str, token: str | None, budget: Budget) -> Any:
        """One page of ``location``'s reviews, newest first; a dead access token is renewed once."""
        params: dict[str, Any] = {"pageSize": self.options.page_size, "orderBy": "updateTime desc"}
        if token:
            params["pageToken"] = token
        url = f"{self.options.base_url}/v4/{location}/reviews"
        resp = self.oauth.send(budget, lambda headers: self.http.request(
            "GET", url, params=params, headers=headers, budget=budget, accept=(400, 401, 403, 404, 429)))
        if resp.status_code == 400 and token:
            raise StalePageToken(self.name, f"Google refused the page token of {location} (HTTP 400)")
        if resp.status_code >= 400:
            raise self._refusal(resp, location)
        return decode_json(self.name, resp)

    def _refusal(self, resp: requests.Response, location: str) -> SourceError:
        """A refusal in words, from Google's error ``status`` (google.rpc; never its message)."""
        code = resp.status_code
        status = _error_status(resp)
        said = f"HTTP {code}: {status}" if status else f"HTTP {code}"
        if code == 429:
            wait = parse_retry_after(resp.headers.get("Retry-After"))
            wait = QUOTA_WAIT_SECONDS if wait is None else wait
            return RateLimited(self.name, f"Google's quota of requests a minute is used up ({said}); "
                                          f"retry after {wait:g} s", wait)
        if code == 401:
            return CredentialsError(self.name, f"Google refused the access token made from the refresh token "
                                               f"({said}); {RECONNECT}")
        if code == 403:
            return CredentialsError(self.name, f"Google refused to list the reviews of {location} ({said}): the "
                                               "connected Google account must manage that location and the "
                                               f"project must have the Business Profile API; {RECONNECT}")
        if code == 404:
            return SourceError(self.name, f"{location} does not exist or is not the connected account's ({said})")
        return SourceError(self.name, f"Google refused the listing of {location} ({said})")

    def _parse_page(self, location: str, body: Any) -> tuple[list[dict[str, Any]], str | None]:
        """The readable reviews of a page (each with its ``_key``, ``_ms`` and ``_mention``) and
        the next page token; the others are noted in ``self._skips``."""
        if not isinstance(body, dict):
            raise BadPayload(self.name, "response is not a ListReviewsResponse object")
        reviews = body.get("reviews", [])  # a location without reviews: the field is left out
        if not isinstance(reviews, list):
            raise BadPayload(self.name, "'reviews' is not a list")
        token = body.get("nextPageToken")
        if token in (None, ""):
            token = None
        elif not isinstance(token, str) or not _PAGE_TOKEN.match(token):
            raise BadPayload(self.name, "'nextPageToken' is not a page token")
        return self._skips.read(enumerate(reviews), lambda entry: self._review(location, *entry)), token

    def _review(self, location: str, index: int, review: Any) -> dict[str, Any]:
        where = f"reviews[{index}]"
        if not isinstance(review, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        key, ms = _identity(review, where)
        review_id = review["reviewId"]
        name = review.get("name", f"{location}/reviews/{review_id}")
        if name != f"{location}/reviews/{review_id}":
            raise BadPayload(self.name, f"{where}.name is not {location}/reviews/<reviewId>")
        created = payload_time(self.name, review.get("createTime", review.get("updateTime")),
                               f"{where}.createTime is not an RFC 3339 time")
        rating = STARS.get(review.get("starRating")) if isinstance(review.get("starRating"), str) else None
        if rating is None and review.get("starRating") not in (None, "STAR_RATING_UNSPECIFIED"):
            raise BadPayload(self.name, f"{where}.starRating is not ONE to FIVE")
        comment = review.get("comment", "")
        if not isinstance(comment, str):
            raise BadPayload(self.name, f"{where}.comment is not a string")
        reviewer = review.get("reviewer", {})
        if not isinstance(reviewer, dict):
            raise BadPayload(self.name, f"{where}.reviewer is not an object")
        author = reviewer.get("displayName", "")
        if not isinstance(author, str):
            raise BadPayload(self.name, f"{where}.reviewer.displayName is not a string")
        if reviewer.get("isAnonymous") is True or not author.strip():
            author = ANONYMOUS
        mention = Mention(
            network=self.name,
            native_id=key,
            url=REVIEWS_PAGE,
            text=comment.strip(),
            created_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            kind="post",
            author_name=author.strip(),
            thread={"review": name, "location": location, "urgent_stars": str(self.options.urgent_stars)},
            rating=rating,
        )
        return {"_key": key, "_ms": ms, "_mention": mention}


def _walk(read_page: Callable[[int], list[dict[str, Any]]], more: Callable[[PageWalk[str]], bool], first: int,
          low: float, low_ids: set[str], gap: Any, tokens: dict[int, str | None]) -> PageWalk[str]:
    """``walk_newest`` over the pages of one location (``tokens``: page number -> its page token)."""
    high = float(gap["high"]) if gap else None
    high_ids = set(gap["high_ids"]) if gap else set()
    walk: PageWalk[str] = walk_newest(
        read_page, lambda item: (item["_key"], float(item["_ms"])), first_page=first, page_size=1,
        low=low, low_ids=low_ids, high=high, high_ids=high_ids, more=more)
    # A page without items ends the walk (walk_newest's short page); one without a next page token too.
    if walk.complete is False and tokens.get(walk.next_page) is None and walk.pages > 0:
        walk.complete = True
    return walk


def _error_status(resp: requests.Response) -> str:
    """google.rpc's ``error.status`` ("RESOURCE_EXHAUSTED", "UNAUTHENTICATED"), if it is one."""
    try:
        error = resp.json().get("error", {})
        status = error.get("status") if isinstance(error, dict) else None
    except (ValueError, AttributeError):
        return ""
    return status if isinstance(status, str) and _STATUS.match(status) else ""


def _identity(review: dict[str, Any], where: str) -> tuple[str, int]:
    """A review's native id (``<reviewId>@<updateTime in ms>``) and its ``updateTime`` in ms."""
    review_id = review.get("reviewId")
    if not isinstance(review_id, str) or not REVIEW_ID.match(review_id):
        raise BadPayload(SPEC.name, f"{where}.reviewId is not a review id")
    updated = payload_time(SPEC.name, review.get("updateTime"), f"{where}.updateTime is not an RFC 3339 time")
    ms = round(updated * 1000)
    return f"{review_id}@{ms}", ms


def _id_and_time(entry: Any) -> tuple[str | None, float | None]:
    """The native id and time (ms) of an ``(index, review)`` entry, where both can be read."""
    review = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else None
    try:
        key, ms = _identity(review, "") if isinstance(review, dict) else (None, None)
    except SourceError:
        return None, None
    return key, None if ms is None else float(ms)


__all__: Sequence[str] = ("GoogleReviews", "GoogleReviewsOptions")

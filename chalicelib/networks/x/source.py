"""X through API v2 recent search (``GET /2/tweets/search/recent``, app bearer token), within a monthly budget.

X sells reads (https://docs.x.com/x-api/getting-started/pricing): $0.005 per post and $0.010 per user returned
(the authors, ``expansions=author_id``), whatever the number of requests; an empty answer costs nothing. So the
cost follows the mentions, and the connector keeps a ledger of what it spent this calendar month (UTC) in its
durable state (``spend``: ``{"month": "2026-12", "usd": 1.23}``, written after every answer). A page is asked for
only if the most it can cost (``max_results`` posts and as many authors) still fits ``monthly_budget_usd``: the
budget is never exceeded (X's own deduplication of a post read twice in a UTC day makes the real bill lower).
When the next page would not fit, the search stops: with nothing read yet this cycle it is a ``RateLimited``
until the 1st of next month, said in words ("monthly budget of $5.00 reached: $4.91 spent ...").

Terms are combined with ``OR`` (https://docs.x.com/x-api/posts/search/integrate/build-a-query) into queries of
at most 512 characters (the recent-search query length, https://docs.x.com/x-api/fundamentals/rate-limits),
retweets left out (``-is:retweet``: a retweet repeats a post, at the same price).

Cursor per query: ``{"since_id": id}`` (or ``{"start_time": unix}`` before the first post), plus ``gap``:
``{"next_token", "newest_id"}`` while a walk cut short by the page limit, the time budget or the money budget
is being finished (read first next cycle; then ``since_id`` becomes ``newest_id``).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import Field

from chalicelib.model import Mention
from chalicelib.networks.x import POST_ID, SPEC
from chalicelib.sources.base import (
    SPEND_STATE,
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
    payload_time,
    quoted,
    read_each,
    require_secret,
)
from chalicelib.sources.http import decode_json, parse_retry_after
from chalicelib.text import one_line

POST_READ_USD = 0.005  # per post returned (https://docs.x.com/x-api/getting-started/pricing)
USER_READ_USD = 0.010  # per user returned
SEARCH_PATH = "/2/tweets/search/recent"
NO_RETWEETS = " -is:retweet"
MAX_QUERY_CHARS = 512
USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}\Z")
TWITTER_EPOCH_MS = 1288834974657  # post ids are snowflakes: (ms since this) << 22
POST_FIELDS = "created_at,author_id,conversation_id,lang,entities,referenced_tweets,note_tweet"
USER_FIELDS = "username,name,public_metrics"


class XOptions(SourceOptions):
    base_url: str = "https://api.x.com"
    bearer_token_parameter: str | None = None  # SSM SecureString: the app's bearer token
    # Dollars a calendar month (UTC) X may cost at most; there is no default: X bills every post read.
    monthly_budget_usd: float = Field(gt=0, le=10_000)
    max_results: int = Field(default=10, ge=10, le=100)  # posts a page (X: 10-100)
    first_run_lookback_hours: int = Field(default=1, ge=0, le=168)  # recent search covers 7 days
    author_details: bool = True  # author names and followers ($0.010 an author); False: ids only


def month_of(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m")


def next_month_start(unix: float) -> float:
    day = dt.datetime.fromtimestamp(unix, tz=dt.UTC)
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp()


def snowflake_time(post_id: str) -> float:
    """The Unix time a post id was made at (X's ids are snowflakes)."""
    return ((int(post_id) >> 22) + TWITTER_EPOCH_MS) / 1000


class X(BatchedSearch, SourceBase):
    options: XOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False)
    options_model: ClassVar[type[SourceOptions]] = XOptions
    # ``OR`` between terms (build-a-query); the query, -is:retweet included, at most 512 characters.
    batching: ClassVar[SearchBatching] = SearchBatching(
        max_terms=25, max_chars=MAX_QUERY_CHARS - len(NO_RETWEETS),
        doc="https://docs.x.com/x-api/posts/search/integrate/build-a-query; "
            "https://docs.x.com/x-api/fundamentals/rate-limits")

    def _start(self) -> None:
        self._spend: dict[str, Any] | None = None

    # --- what X costs ------------------------------------------------------------------

    def spent(self) -> float:
        """Dollars spent on X this calendar month (UTC), as the ledger says."""
        month = month_of(self._clock())
        if self._spend is None or self._spend.get("month") != month:
            stored = self._state.get_state(self.name, SPEND_STATE) if self._state is not None else None
            usd = stored.get("usd") if isinstance(stored, dict) and stored.get("month") == month else None
            self._spend = {"month": month, "usd": float(usd) if isinstance(usd, int | float) else 0.0}
        return float(self._spend["usd"])

    def _page_cost_at_most(self) -> float:
        per_post = POST_READ_USD + (USER_READ_USD if self.options.author_details else 0.0)
        return self.options.max_results * per_post

    def _can_afford_a_page(self) -> bool:
        return self.spent() + self._page_cost_at_most() <= self.options.monthly_budget_usd + 1e-9

    def _charge(self, posts: int, users: int) -> None:
        cost = posts * POST_READ_USD + users * USER_READ_USD
        if not cost:
            return
        self._spend = {"month": month_of(self._clock()), "usd": round(self.spent() + cost, 6)}
        if self._state is not None:
            self._state.put_state(self.name, SPEND_STATE, dict(self._spend))

    def _over_budget(self) -> RateLimited:
        now = self._clock()
        resume = next_month_start(now)
        return RateLimited(
            self.name,
            f"monthly budget of ${self.options.monthly_budget_usd:.2f} reached: ${self.spent():.2f} spent, and one "
            f"more page may cost ${self._page_cost_at_most():.2f}; X is read again on "
            f"{dt.datetime.fromtimestamp(resume, tz=dt.UTC):%-d %b} (raise networks.x.monthly_budget_usd to read "
            "it sooner)", retry_after=resume - now)

    # --- searching ---------------------------------------------------------------------

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New posts with ``query`` since ``cursor``, and the cursor to use next time."""
        return self._fetch_terms((query,), cursor, budget)

    def _render(self, terms: Sequence[str]) -> str:
        return " OR ".join(quoted(term) for term in terms)

    def _cursor_floor(self, cursor: Cursor) -> float:
        if "since_id" in cursor and POST_ID.match(str(cursor["since_id"])):
            return snowflake_time(str(cursor["since_id"]))
        return float(cursor.get("start_time", 0.0))

    def _cursor_at(self, floor: float) -> Cursor:
        return {"start_time": floor}

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New posts with any of ``terms`` (one query) since ``cursor``."""
        token = require_secret(self.name, self._secrets, self.options.bearer_token_parameter, "app bearer token")
        if cursor is None:
            cursor = {"start_time": float(int(self._clock()) - self.options.first_run_lookback_hours * 3600)}
        base = {k: cursor[k] for k in ("since_id", "start_time") if k in cursor}
        params: dict[str, Any] = {"query": self._render(terms) + NO_RETWEETS, "max_results": self.options.max_results,
                                  "tweet.fields": POST_FIELDS}
        if self.options.author_details:
            params |= {"expansions": "author_id", "user.fields": USER_FIELDS}
        if "since_id" in base:
            params["since_id"] = str(base["since_id"])
        else:
            start = dt.datetime.fromtimestamp(max(float(base.get("start_time", 0)), self._clock() - 7 * 86400 + 60),
                                              tz=dt.UTC)
            params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        gap = cursor.get("gap") if isinstance(cursor.get("gap"), dict) else None
        next_token, newest = (gap.get("next_token"), gap.get("newest_id")) if gap else (None, None)
        result = FetchResult([], cursor, 0, False)
        while result.pages < self.options.max_pages and not budget.exhausted():
            if not self._can_afford_a_page():
                if result.pages == 0:
                    raise self._over_budget()
                break
            body = self._get(token, {**params, **({"next_token": next_token} if next_token else {})}, budget)
            result.pages += 1
            posts, users, meta = self._page(body)
            self._charge(len(posts), len(users))
            read, skipped = read_each(self.name, list(enumerate(posts)),
                                      lambda pair, users=users: self._read_post(pair[0], pair[1], users))
            result.skipped.extend(skipped)
            known = {m.native_id for m in result.mentions}
            result.mentions.extend(m for m in read if m.native_id not in known)
            newest = _newest(newest, posts, self._clock())
            token_next = meta.get("next_token")
            next_token = token_next if isinstance(token_next, str) and 0 < len(token_next) <= 200 else None
            if next_token is None:
                result.complete = True
                break
        if result.complete:
            result.cursor = {"since_id": newest} if newest else base
        else:
            result.cursor = {**base, "gap": {"next_token": next_token, "newest_id": newest}} if next_token else base
        return result

    def _get(self, token: str, params: Mapping[str, Any], budget: Budget) -> Any:
        resp = self.http.request("GET", f"{self.options.base_url}{SEARCH_PATH}", budget=budget, params=dict(params),
                                 headers={"Authorization": f"Bearer {token}"}, accept=(400, 401, 403, 429))
        if resp.status_code < 400:
            return decode_json(self.name, resp)
        detail = _problem(resp.content)
        if resp.status_code == 401:
            raise CredentialsError(self.name, "bearer token rejected (HTTP 401): run `make secrets`")
        if resp.status_code == 403:
            raise CredentialsError(self.name, f"access refused (HTTP 403{': ' + detail if detail else ''})")
        if resp.status_code == 429:
            wait = _reset_in(resp.headers.get("x-rate-limit-reset"), self._clock())
            if wait is None:
                wait = parse_retry_after(resp.headers.get("Retry-After"))
            return_in = f", resets in {wait:g} s" if wait is not None else ""
            raise RateLimited(self.name, f"rate limited (HTTP 429{return_in})", retry_after=wait)
        raise SourceError(self.name, f"search refused (HTTP 400{': ' + detail if detail else ''})")

    def _page(self, body: Any) -> tuple[list[Any], dict[str, dict[str, Any]], dict[str, Any]]:
        """The posts of one answer (each still to be read alone), its users by id, and its meta."""
        if not isinstance(body, dict):
            raise BadPayload(self.name, "response is not an object")
        posts = body.get("data", [])
        if not isinstance(posts, list):
            raise BadPayload(self.name, "'data' is not a list")
        meta = body.get("meta", {})
        if not isinstance(meta, dict):
            raise BadPayload(self.name, "'meta' is not an object")
        includes = body.get("includes", {})
        users = includes.get("users", []) if isinstance(includes, dict) else []
        by_id = {u["id"]: u for u in users if isinstance(u, dict) and isinstance(u.get("id"), str)} \
            if isinstance(users, list) else {}
        return posts, by_id, meta

    def _read_post(self, index: int, post: Any, users: Mapping[str, dict[str, Any]]) -> Mention:
        where = f"data[{index}]"
        if not isinstance(post, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        post_id = post.get("id")
        if not isinstance(post_id, str) or not POST_ID.match(post_id):
            raise BadPayload(self.name, f"{where}.id is not a post id")
        text = post.get("text")
        note = post.get("note_tweet")
        if isinstance(note, dict) and isinstance(note.get("text"), str):
            text = note["text"]  # a long post: ``text`` holds its first 280 characters
        if not isinstance(text, str):
            raise BadPayload(self.name, f"{where}.text is not a string")
        created = payload_time(self.name, post.get("created_at"), f"{where}.created_at is not an ISO time")
        author = users.get(str(post.get("author_id", "")), {})
        username = author.get("username") if isinstance(author.get("username"), str) else ""
        username = username if USERNAME.match(username) else ""
        name = author.get("name") if isinstance(author.get("name"), str) else ""
        metrics = author.get("public_metrics")
        followers = metrics.get("followers_count") if isinstance(metrics, dict) else None
        conversation = post.get("conversation_id")
        replied = any(isinstance(r, dict) and r.get("type") == "replied_to" for r in post.get("referenced_tweets") or []
                      if isinstance(post.get("referenced_tweets"), list))
        entities = post.get("entities") if isinstance(post.get("entities"), dict) else {}
        return Mention(
            network=self.name,
            native_id=post_id,
            url=f"https://x.com/{username}/status/{post_id}" if username else f"https://x.com/i/web/status/{post_id}",
            text=html.unescape(text),  # X escapes &, < and > in post text
            created_at=dt.datetime.fromtimestamp(created, tz=dt.UTC),
            kind="comment" if replied else "post",
            author_handle=username,
            author_name=one_line(name, 100) or username,
            author_url=f"https://x.com/{username}" if username else "",
            reach=followers if isinstance(followers, int) and not isinstance(followers, bool) else None,
            lang=post["lang"] if isinstance(post.get("lang"), str) and len(post["lang"]) <= 10 else None,
            links=tuple(_links(entities.get("urls"))),
            tags=tuple(_hashtags(entities.get("hashtags"))),
            thread={"conversation_id": conversation} if isinstance(conversation, str) and POST_ID.match(conversation)
            else {},
        )


def _newest(newest: str | None, posts: list[Any], now: float) -> str | None:
    """The newest post id of a walk so far: ``newest`` or a readable id of ``posts`` (even of a post
    skipped for another field), never one dated after ``now`` (a clock gone wrong would make ``since_id``
    skip every post published until then)."""
    ids = [int(p["id"]) for p in posts if isinstance(p, dict) and isinstance(p.get("id"), str)
           and POST_ID.match(p["id"]) and snowflake_time(p["id"]) <= now]
    if newest is not None:
        ids.append(int(newest))
    return str(max(ids)) if ids else None


def _links(urls: Any) -> list[str]:
    return [u["expanded_url"] for u in urls if isinstance(u, dict) and isinstance(u.get("expanded_url"), str)
            and u["expanded_url"].startswith(("https://", "http://"))] if isinstance(urls, list) else []


def _hashtags(tags: Any) -> list[str]:
    return [t["tag"] for t in tags if isinstance(t, dict) and isinstance(t.get("tag"), str)
            and 0 < len(t["tag"]) <= 100] if isinstance(tags, list) else []


def _problem(body: bytes) -> str:
    """What an error answer says (a problem's ``detail``/``title``, or the v1 ``errors[].message``), short."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return ""
    if isinstance(data, dict):
        errors = data.get("errors")
        said = data.get("detail") or data.get("title")
        if not said and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            said = errors[0].get("message") or errors[0].get("detail")
        return one_line(said, 160) if isinstance(said, str) else ""
    return ""


def _reset_in(value: str | None, now: float) -> float | None:
    """Seconds until ``x-rate-limit-reset`` (a Unix time), or None when it is not one."""
    try:
        reset = float(value) if value is not None else None
    except ValueError:
        return None
    return max(0.0, reset - now) if reset is not None and 0 < reset < 1e11 else None

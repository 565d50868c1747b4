"""DEV (dev.to, Forem API v1): the newest articles from ``/api/articles/latest``, plus the
articles of the owner's tags from ``/api/articles?tag=``. Forem has no keyword search, so
everything new is returned and the pipeline filters locally. The list endpoints carry no
body: the text is the title and the description.

Cursor::

    {"published_at": T, "ids": [ids at T],
     "gap": {"page": N, "low": L, "low_ids": [...], "high": H, "high_ids": [...]} | absent,
     "extra": {id: published_at}, "ahead": {id: published_at} | absent}

``/latest`` is ordered by ``published_at``, newest first, and paged by page number: it is
the stream, read until an article at or below T shows up. When the page limit or the time
budget stops it, ``gap`` remembers where the unread older part starts (pages only shift
down as articles arrive, so going on from the next page number re-reads, never skips) and
the next cycle reads it first. The tag listings are ordered by hotness, not by date, so
they are only a net for what ``/latest`` had no room for: what they add is remembered in
``extra`` until the stream's watermark has passed it, so nothing is returned twice.

T never passes the cycle's clock: an article dated in the future is returned with its
claimed date, kept in ``ahead`` so it is not returned again, and moves nothing. An article
that cannot be read is skipped and counted; the rest of its page comes through.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import field_validator

from chalicelib.model import Mention
from chalicelib.networks.devto import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    PageWalk,
    SkipLedger,
    SourceBase,
    SourceOptions,
    advance_watermark,
    next_gap,
    payload_time,
    read_each,
    walk_newest,
)

SITE = "https://dev.to/"
ACCEPT = "application/vnd.forem.api-v1+json"
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,60}$")
_TAG = re.compile(r"^[a-z0-9]{1,40}\Z")
AHEAD_LIMIT = 50  # future-dated articles remembered in the cursor


class DevToOptions(SourceOptions):
    base_url: str = "https://dev.to"
    first_run_lookback_hours: int = 24
    per_page: int = 100
    tags: tuple[str, ...] = ()  # e.g. ["coffee"]: tag listings read as well as the newest articles
    tag_pages: int = 1  # pages read per tag and cycle

    @field_validator("tags")
    @classmethod
    def _tags_are_dev_tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        """DEV tags are lowercase letters and digits only ("coffee", "webdev")."""
        lowered = tuple(t.strip().lstrip("#").lower() for t in tags)
        bad = [t for t in lowered if not _TAG.match(t)]
        if bad:
            raise ValueError(f"not DEV tags (lowercase letters and digits only): {', '.join(bad)}")
        return lowered


class DevTo(SourceBase):
    options: DevToOptions
    spec = SPEC
    # DEV publishes hundreds of articles a day: a day without one means the feed broke.
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=False, local_stream=True,
                                                        expected_data_hours=24)
    options_model: ClassVar[type[SourceOptions]] = DevToOptions

    def _start(self) -> None:
        self._skips = SkipLedger(self.name, self._id_and_time)  # articles of this fetch that could not be read

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Every article published since ``cursor`` (``query`` is ignored: no search API).

        Returns mentions and the next cursor; raises only ``SourceError``.
        """
        self._skips = SkipLedger(self.name, self._id_and_time)
        now = int(self._clock())
        if cursor is None:
            cursor = {"published_at": now - self.options.first_run_lookback_hours * 3600, "ids": []}
        # A cursor is never ahead of the cycle's clock, whatever a future-dated article once left in it.
        watermark = min(int(cursor["published_at"]), now)
        seen_at_watermark = {int(i) for i in cursor.get("ids", [])}
        gap = cursor.get("gap")
        extra = {int(k): int(v) for k, v in cursor.get("extra", {}).items()}

        if gap:
            walk = self._walk(int(gap["page"]), int(gap["low"]), {int(i) for i in gap["low_ids"]}, int(gap["high"]),
                              {int(i) for i in gap["high_ids"]}, extra, budget)
        else:
            walk = self._walk(1, watermark, seen_at_watermark, None, set(), extra, budget)
        # Articles dated after the clock that were returned already: not new again until the watermark passes them.
        ahead = {int(k): int(v) for k, v in cursor.get("ahead", {}).items() if int(v) > watermark}
        for aid in ahead:
            walk.new.pop(aid, None)

        next_cursor: Cursor = {"published_at": watermark, "ids": sorted(seen_at_watermark)}
        times = {aid: self._time(article) for aid, article in walk.new.items()}
        # An article dated in the future is returned with its claimed date but moves nothing; one that
        # could not be read moves the cursor as any other (it is counted once, not every cycle).
        dated = {aid: t for aid, t in (self._skips.unreadable | times).items() if watermark <= t <= now}
        ahead |= {aid: t for aid, t in times.items() if t > now}
        if gap is None:
            advance_watermark(next_cursor, "published_at", watermark, seen_at_watermark, dated)
        left = (next_gap(gap, watermark, seen_at_watermark, walk.next_page, times, number=int, key=int)
                if not walk.complete else None)
        if left:
            next_cursor["gap"] = left

        found = dict(walk.new)
        pages = walk.pages
        complete = walk.complete
        for tag in self.options.tags:
            tag_articles, tag_pages, tag_complete = self._tag_walk(tag, next_cursor, extra, found, budget)
            pages += tag_pages
            complete = complete and tag_complete
            for aid, article in tag_articles.items():
                found[aid] = article
                extra[aid] = self._time(article)
        next_cursor["extra"] = {str(aid): t for aid, t in sorted(extra.items()) if self._still_needed(t, next_cursor)}
        if ahead:
            next_cursor["ahead"] = {str(aid): t for aid, t in sorted(ahead.items(), key=lambda kv: kv[1])[:AHEAD_LIMIT]}
        mentions, unreadable = read_each(self.name, found.values(), self._mention)
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete,
                           skipped=self._skips.reasons_since(watermark, seen_at_watermark, gap) + unreadable)

    @staticmethod
    def _still_needed(published: int, cursor: Cursor) -> bool:
        """Whether a walk of ``/latest`` could still meet an article published then."""
        gap = cursor.get("gap")
        in_gap = bool(gap and int(gap["low"]) <= published <= int(gap["high"]))
        return published >= int(cursor["published_at"]) or in_gap

    def _walk(self, first_page: int, low: int, low_ids: set[int], high: int | None, high_ids: set[int],
              extra: dict[int, int], budget: Budget) -> PageWalk[int]:
        """Read ``/latest`` pages from ``first_page`` until an article at or below ``low`` shows up."""
        def _page(page: int) -> list[dict[str, Any]]:
            return self._get_page("/api/articles/latest", {"per_page": self.options.per_page, "page": page}, budget)

        walk = walk_newest(_page, lambda a: (a["id"], self._time(a)), first_page=first_page,
                           page_size=self.options.per_page, low=low, low_ids=low_ids, high=high, high_ids=high_ids,
                           more=lambda w: w.pages < self.options.max_pages and not budget.exhausted())
        for aid in extra:
            walk.new.pop(aid, None)
        return walk

    def _tag_walk(self, tag: str, cursor: Cursor, extra: dict[int, int], found: dict[int, dict[str, Any]],
                  budget: Budget) -> tuple[dict[int, dict[str, Any]], int, bool]:
        """Articles of one tag that the stream has not returned and will not return; hotness order,
        so every page read is searched whole."""
        new: dict[int, dict[str, Any]] = {}
        low, low_ids = int(cursor["published_at"]), {int(i) for i in cursor["ids"]}
        gap = cursor.get("gap")
        for page in range(1, min(self.options.tag_pages, self.options.max_pages) + 1):
            if budget.exhausted():
                return new, page - 1, False
            params = {"tag": tag, "per_page": self.options.per_page, "page": page}
            articles = self._get_page("/api/articles", params, budget)
            for article in articles:
                aid, published = article["id"], self._time(article)
                if aid in found or aid in extra:
                    continue
                after_watermark = published > low or (published == low and aid not in low_ids)
                in_gap = bool(gap and int(gap["low"]) <= published <= int(gap["high"])
                              and aid not in gap["high_ids"] and aid not in gap["low_ids"])
                if after_watermark or in_gap:
                    new[aid] = article
            if len(articles) < self.options.per_page:
                return new, page, True
        return new, min(self.options.tag_pages, self.options.max_pages), True

    def _get_page(self, path: str, params: dict[str, Any], budget: Budget) -> list[dict[str, Any]]:
        body, _ = self.http.get_json(self.options.base_url + path, params=params, headers={"Accept": ACCEPT},
                                     budget=budget)
        return self._parse_page(body)

    def _parse_page(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, list):
            raise BadPayload(self.name, "article list is not a list")
        return self._skips.read(body, lambda a: self._check_article(a, _where(a)))

    def _id_and_time(self, article: Any) -> tuple[int | None, int | None]:
        """An article's id and date where both can be read (for an article that could not be)."""
        aid = article.get("id") if isinstance(article, dict) else None
        when = self._parse_time(article.get("published_at"), "") if isinstance(article, dict) else None
        return (aid if isinstance(aid, int) and not isinstance(aid, bool) and aid > 0 else None), when

    def _check_article(self, article: Any, where: str) -> dict[str, Any]:
        if not isinstance(article, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        aid = article.get("id")
        if not isinstance(aid, int) or isinstance(aid, bool) or aid <= 0:
            raise BadPayload(self.name, f"{where}.id is not a positive number")
        url = article.get("url")
        if not isinstance(url, str) or not url.startswith(SITE) or any(c.isspace() for c in url):
            raise BadPayload(self.name, f"{where}.url is not a dev.to link")
        if not isinstance(article.get("title"), str):
            raise BadPayload(self.name, f"{where}.title is not a string")
        for name in ("description", "canonical_url", "readable_publish_date"):
            if article.get(name) is not None and not isinstance(article[name], str):
                raise BadPayload(self.name, f"{where}.{name} is not a string")
        for name in ("public_reactions_count", "comments_count", "reading_time_minutes"):
            value = article.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadPayload(self.name, f"{where}.{name} is not a number")
        article["_published"] = self._parse_time(article.get("published_at"), where)
        article["_tags"] = self._tag_list(article, where)
        user = article.get("user")
        if not isinstance(user, dict):
            raise BadPayload(self.name, f"{where}.user is not an object")
        for name in ("username", "name"):
            if user.get(name) is not None and not isinstance(user[name], str):
                raise BadPayload(self.name, f"{where}.user.{name} is not a string")
        return article

    def _tag_list(self, article: dict[str, Any], where: str) -> list[str]:
        """``tag_list`` is a list in the list endpoints and a comma-separated string in others (``tags``
        the other way round): accept either form of either field."""
        for name in ("tag_list", "tags"):
            value = article.get(name)
            if isinstance(value, list):
                if not all(isinstance(t, str) for t in value):
                    raise BadPayload(self.name, f"{where}.{name} is not a list of strings")
                return [t.strip() for t in value if t.strip()]
            if isinstance(value, str):
                return [t.strip() for t in value.split(",") if t.strip()]
            if value is not None:
                raise BadPayload(self.name, f"{where}.{name} is neither a list nor a string")
        return []

    def _parse_time(self, value: Any, where: str) -> int:
        return int(payload_time(self.name, value, f"{where}.published_at is not an ISO time with a zone"))

    @staticmethod
    def _time(article: dict[str, Any]) -> int:
        return int(article["_published"])

    def _mention(self, article: dict[str, Any]) -> Mention:
        user = article["user"]
        username = user.get("username") or ""
        canonical = article.get("canonical_url") or ""
        return Mention(
            network=self.name,
            native_id=str(article["id"]),
            url=article["url"],
            text=(article.get("description") or "").strip(),
            title=article["title"].strip(),
            created_at=dt.datetime.fromtimestamp(self._time(article), tz=dt.UTC),
            kind="post",
            author_handle=username,
            author_name=(user.get("name") or username).strip(),
            author_url=SITE + quote(username, safe="") if _USERNAME.match(username) else "",
            reach=article.get("public_reactions_count"),
            links=(canonical,) if canonical.startswith("https://") and canonical != article["url"] else (),
            tags=tuple(t for t in article["_tags"] if _TAG.match(t)),
            thread={"article_id": str(article["id"]), **({"username": username} if username else {})},
        )


def _where(article: Any) -> str:
    """How a reason names an article: by its id when it has a readable one."""
    aid = article.get("id") if isinstance(article, dict) else None
    return f"article {aid}" if isinstance(aid, int) and not isinstance(aid, bool) and aid > 0 else "an article"

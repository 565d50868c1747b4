"""Lobsters through its public JSON pages: ``/newest.json`` (and ``/newest/page/N.json``)
for stories, ``/s/<short_id>.json`` for the comments of stories that are new or whose
``comment_count`` grew. Lobsters has no search API, so everything new is returned and
the pipeline filters locally.

Cursor::

    {"created_at": T, "ids": [short_ids at T], "since": first-run start,
     "gap": {"page": N, "low": L, "low_ids": [...], "high": H, "high_ids": [...]} | absent,
     "stories": {short_id: [comment_count read, newest comment time, [comment ids at it]]},
     "pending": [short_ids of threads to read] | absent,
     "ahead": {short_id: T} | absent}

Stories newer than T (or at T and not in ``ids``) are new. When the request cap or the
time budget stops the walk through the newest pages, ``gap`` remembers where the unread
older part starts; the next cycle reads it first (pages only shift down as stories
arrive, so going on from the next page number re-reads, never skips). ``stories`` keeps the
comment counts of the most recent stories (bounded) so only grown threads are fetched;
threads the request cap left unread are ``pending`` and read first next cycle.

T never passes the cycle's clock: a story dated in the future is returned with its claimed
date, kept in ``ahead`` so it is not returned again, and moves nothing. A story, comment or
thread that cannot be read is skipped and counted; the rest of its page comes through.

The site allows about 30 requests a minute per IP and throttles any User-Agent with
"axios" in it, so a cycle makes at most ``max_requests`` requests and never sleeps.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from chalicelib.model import Mention
from chalicelib.networks.lobsters import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    PageWalk,
    RateLimited,
    SkipLedger,
    SourceBase,
    SourceOptions,
    advance_watermark,
    next_gap,
    payload_time,
    read_each,
    walk_newest,
)
from chalicelib.sources.http import decode_json, parse_retry_after
from chalicelib.text import html_to_text

SITE = "https://lobste.rs"
STORY_URL = SITE + "/s/"
COMMENT_URL = SITE + "/c/"
USER_URL = SITE + "/~"
STORIES_PER_PAGE = 25  # StoriesPaginator::STORIES_PER_PAGE
PENDING_LIMIT = 50  # threads waiting for a request, kept in the cursor
_SHORT_ID = re.compile(r"^[a-z0-9]{1,12}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
_STORY_PERMALINK = re.compile(r"^https://lobste\.rs/s/([a-z0-9]{1,12})(/[A-Za-z0-9_-]*)?$")


class LobstersOptions(SourceOptions):
    base_url: str = SITE
    first_run_lookback_hours: int = 24
    max_requests: int = 6  # per cycle, pages and comment threads together: the site asks scrapers to go slow
    tracked_stories: int = 100  # comment counts kept in the cursor


class Lobsters(SourceBase):
    options: LobstersOptions
    spec = SPEC
    # Lobsters gets dozens of stories a day: two days without one means the feed broke.
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=False, local_stream=True,
                                                        expected_data_hours=48)
    options_model: ClassVar[type[SourceOptions]] = LobstersOptions

    def _start(self) -> None:
        self._requests = 0
        self._skipped: list[str] = []
        # Stories of this fetch that could not be read: (short id, time, reason), None where unreadable.
        self._story_skips = SkipLedger(self.name, self._id_and_time)  # stories of this fetch that could not be read
        self._counts: dict[str, int] = {}  # comment_count of every story listed this cycle

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Every story and comment new since ``cursor`` (``query`` is ignored: no search API).

        Returns mentions (stories and comments) and the next cursor; raises only ``SourceError``.
        """
        self._requests, self._skipped, self._counts = 0, [], {}
        self._story_skips = SkipLedger(self.name, self._id_and_time)
        now = self._clock()
        if cursor is None:
            start = now - self.options.first_run_lookback_hours * 3600
            cursor = {"created_at": start, "ids": [], "since": start, "stories": {}}
        # A cursor is never ahead of the cycle's clock, whatever a future-dated story once left in it.
        watermark = min(float(cursor["created_at"]), now)
        seen_at_watermark = set(cursor.get("ids", []))
        since = float(cursor.get("since", watermark))
        gap = cursor.get("gap")
        tracked: dict[str, list[Any]] = {k: list(v) for k, v in cursor.get("stories", {}).items()}
        mentions: list[Mention] = []
        # Threads a previous cycle had no requests left for go first, so a small cap cannot starve them.
        pending = [sid for sid in cursor.get("pending", []) if _SHORT_ID.match(sid)]
        pending = self._read_threads(pending, tracked, since, budget, mentions)

        # Stories dated after the clock that were returned already: not new again until the watermark passes them.
        ahead = {sid: float(t) for sid, t in cursor.get("ahead", {}).items() if float(t) > watermark}
        if gap:
            walk = self._walk(
                int(gap["page"]), float(gap["low"]), set(gap["low_ids"]), float(gap["high"]), set(gap["high_ids"]),
                budget,
            )
        else:
            walk = self._walk(1, watermark, seen_at_watermark, None, set(), budget)
        for sid in ahead:
            walk.new.pop(sid, None)

        next_cursor: Cursor = {"created_at": watermark, "ids": sorted(seen_at_watermark), "since": since}
        times = {sid: self._time(story, "story") for sid, story in walk.new.items()}
        # A story dated in the future is returned with its claimed date but moves nothing; one that
        # could not be read moves the cursor as any other (it is counted once, not every cycle).
        dated = {sid: t for sid, t in (self._story_skips.unreadable | times).items() if watermark <= t <= now}
        ahead |= {sid: t for sid, t in times.items() if t > now}
        if ahead:
            next_cursor["ahead"] = dict(sorted(ahead.items(), key=lambda kv: kv[1])[:PENDING_LIMIT])
        if gap is None:
            advance_watermark(next_cursor, "created_at", watermark, seen_at_watermark, dated)
        if not walk.complete:
            left = next_gap(gap, watermark, seen_at_watermark, walk.next_page, times)
            if left:
                next_cursor["gap"] = left

        mentions.extend(self._story_mention(story) for story in walk.new.values())
        for sid, t in times.items():
            tracked.setdefault(sid, [0, min(t, now), []])
        self._counts = {sid: story["comment_count"] for sid, story in walk.listed.items()}
        grown = [sid for sid, story in walk.listed.items()
                 if sid not in pending and story["comment_count"] > (tracked[sid][0] if sid in tracked else 0)]
        pending += self._read_threads(grown, tracked, since, budget, mentions)
        next_cursor["stories"] = self._bounded(tracked, walk)
        if pending:
            next_cursor["pending"] = pending[:PENDING_LIMIT]
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=self._requests,
                           complete=walk.complete and not pending,
                           skipped=self._story_skips.reasons_since(watermark, seen_at_watermark, gap) + self._skipped)

    def _walk(self, first_page: int, low: float, low_ids: set[str], high: float | None, high_ids: set[str],
              budget: Budget) -> PageWalk[str]:
        """Read newest pages from ``first_page`` until a story at or below ``low`` shows up."""
        def _page(page: int) -> list[dict[str, Any]]:
            return self._parse_page(self._get("/newest.json" if page == 1 else f"/newest/page/{page}.json", budget))

        def _more(walk: PageWalk[str]) -> bool:
            return (walk.pages < self.options.max_pages and self._requests < self.options.max_requests
                    and not budget.exhausted())

        return walk_newest(_page, lambda s: (s["short_id"], self._time(s, "story")), first_page=first_page,
                           page_size=STORIES_PER_PAGE, low=low, low_ids=low_ids, high=high, high_ids=high_ids,
                           more=_more)

    def _read_threads(self, sids: list[str], tracked: dict[str, list[Any]], since: float, budget: Budget,
                      mentions: list[Mention]) -> list[str]:
        """Fetch the threads of ``sids`` and add their new comments to ``mentions``; return the
        short ids left for lack of requests or time (their counts stay as they were)."""
        now = self._clock()
        for index, sid in enumerate(sids):
            if self._requests >= self.options.max_requests or budget.exhausted():
                return sids[index:]
            body = self._get(f"/s/{sid}.json", budget, may_be_gone=True)
            try:
                if body is None:  # deleted or removed since it was listed
                    raise BadPayload(self.name, f"story {sid}: its thread is gone (HTTP 404)")
                story, comments = self._parse_thread(body, sid)
            except BadPayload as err:
                # One unreadable thread is skipped and counted; its count moves on so it is not asked again.
                self._skipped.append(err.message)
                known = tracked.pop(sid, None) or [0, since, []]
                tracked[sid] = [self._counts.get(sid, known[0]), known[1], known[2]]
                continue
            # A thread never read before: every comment since the story (or since listening began) is new.
            known = tracked.get(sid) or [0, max(self._time(story, "story"), since), []]
            threshold, ids_at = min(float(known[1]), now), set(known[2])
            newest, newest_ids = threshold, set(ids_at)
            for comment in comments:
                cid, created = comment["short_id"], self._time(comment, "comment")
                if created < threshold or (created == threshold and cid in ids_at):
                    continue
                if newest < created <= now:  # a comment dated in the future is returned but moves nothing
                    newest, newest_ids = created, set()
                if created == newest:
                    newest_ids.add(cid)
                if not comment.get("is_deleted") and not comment.get("is_moderated"):
                    mentions.append(self._comment_mention(comment, story))
            tracked.pop(sid, None)
            tracked[sid] = [story["comment_count"], newest, sorted(newest_ids)]
        return []

    def _bounded(self, tracked: dict[str, list[Any]], walk: PageWalk[str]) -> dict[str, list[Any]]:
        """The tracked threads to keep: those listed this cycle first, then the most recently updated."""
        keep = self.options.tracked_stories
        listed = [sid for sid in tracked if sid in walk.listed]
        others = [sid for sid in tracked if sid not in walk.listed]
        chosen = (others + listed)[-keep:] if keep > 0 else []
        return {sid: tracked[sid] for sid in chosen}

    def _get(self, path: str, budget: Budget, *, may_be_gone: bool = False) -> Any:
        """The JSON at ``path``; None when ``may_be_gone`` and the site answers 404."""
        self._requests += 1
        resp = self.http.request("GET", self.options.base_url + path, budget=budget,
                                 accept=(429, 404) if may_be_gone else (429,), headers={"Accept": "application/json"})
        if resp.status_code == 429:
            raise self._rate_limited(resp)
        if resp.status_code == 404:
            return None
        return decode_json(self.name, resp)

    def _rate_limited(self, resp: requests.Response) -> RateLimited:
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if retry_after is None:
            reset = resp.headers.get("RateLimit-Reset", "")
            if reset.isdigit():  # rack-attack sends the epoch second the window ends
                retry_after = max(0.0, int(reset) - self._clock())
        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(self.name, f"rate limited (HTTP 429{wait})", retry_after)

    def _parse_page(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, list):
            raise BadPayload(self.name, "newest page is not a list of stories")
        return self._story_skips.read(body, lambda s: self._check_story(s, _where(s, "story")))

    def _id_and_time(self, story: Any) -> tuple[str | None, float | None]:
        """A story's short id and time where both can be read (for a story that could not be)."""
        sid = story.get("short_id") if isinstance(story, dict) else None
        when = self._time(story, "") if isinstance(story, dict) else None
        return (sid if isinstance(sid, str) and _SHORT_ID.match(sid) else None), when

    def _parse_thread(self, body: Any, sid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self._check_story(body, f"story {sid}")
        if body["short_id"] != sid:
            raise BadPayload(self.name, f"story {sid}: answered with another story")
        comments = body.get("comments", [])
        if not isinstance(comments, list):
            raise BadPayload(self.name, f"story {sid}: comments is not a list")
        good, skipped = read_each(self.name, comments,
                                  lambda comment: self._check_comment(comment, _where(comment, f"story {sid} comment")))
        self._skipped += skipped
        return body, good

    def _check_story(self, story: Any, where: str) -> dict[str, Any]:
        if not isinstance(story, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        if not isinstance(story.get("short_id"), str) or not _SHORT_ID.match(story["short_id"]):
            raise BadPayload(self.name, f"{where}.short_id is not a short id")
        self._time(story, where)
        if not isinstance(story.get("title"), str):
            raise BadPayload(self.name, f"{where}.title is not a string")
        for name in ("url", "description", "short_id_url"):
            if story.get(name) is not None and not isinstance(story[name], str):
                raise BadPayload(self.name, f"{where}.{name} is not a string")
        for name in ("comment_count", "score"):
            value = story.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or (name == "comment_count" and value < 0):
                raise BadPayload(self.name, f"{where}.{name} is not a number")
        tags = story.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise BadPayload(self.name, f"{where}.tags is not a list of strings")
        self._username(story.get("submitter_user"), f"{where}.submitter_user")
        story.setdefault("comment_count", 0)
        return story

    def _check_comment(self, comment: Any, where: str) -> dict[str, Any]:
        if not isinstance(comment, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        if not isinstance(comment.get("short_id"), str) or not _SHORT_ID.match(comment["short_id"]):
            raise BadPayload(self.name, f"{where}.short_id is not a short id")
        self._time(comment, where)
        if not isinstance(comment.get("comment"), str):
            raise BadPayload(self.name, f"{where}.comment is not a string")
        parent = comment.get("parent_comment")
        if parent is not None and (not isinstance(parent, str) or not _SHORT_ID.match(parent)):
            raise BadPayload(self.name, f"{where}.parent_comment is not a short id")
        score = comment.get("score", 0)
        if not isinstance(score, int) or isinstance(score, bool):
            raise BadPayload(self.name, f"{where}.score is not a number")
        self._username(comment.get("commenting_user"), f"{where}.commenting_user")
        return comment

    def _username(self, user: Any, where: str) -> str:
        """A username given as a string (current) or as an object with ``username`` (older versions)."""
        if isinstance(user, dict):
            user = user.get("username")
        if user is None:
            return ""
        if not isinstance(user, str):
            raise BadPayload(self.name, f"{where} is not a username")
        return user

    def _time(self, item: dict[str, Any], where: str) -> float:
        return payload_time(self.name, item.get("created_at"), f"{where}.created_at is not an ISO time with offset")

    def _author(self, user: Any, where: str) -> tuple[str, str]:
        name = self._username(user, where)
        return name, (USER_URL + quote(name, safe="") if _USERNAME.match(name) else "")

    def _story_mention(self, story: dict[str, Any]) -> Mention:
        sid = story["short_id"]
        author, author_url = self._author(story.get("submitter_user"), "story")
        target = story.get("url") or ""
        return Mention(
            network=self.name,
            native_id=f"s/{sid}",
            url=self._story_permalink(sid, story.get("short_id_url") or ""),
            text=html_to_text(story.get("description") or ""),
            title=story["title"].strip(),
            created_at=dt.datetime.fromtimestamp(self._time(story, "story"), tz=dt.UTC),
            kind="post",
            author_handle=author,
            author_name=author,
            author_url=author_url,
            reach=story.get("score"),
            links=(target,) if target.startswith(("http://", "https://")) else (),
            tags=tuple(story.get("tags", [])),
            thread={"story_id": sid},
        )

    @staticmethod
    def _story_permalink(sid: str, link: str) -> str:
        """The story's own ``short_id_url`` when it is a lobste.rs link to this story, else one built from the id."""
        match = _STORY_PERMALINK.match(link)
        return link if match and match.group(1) == sid else STORY_URL + sid

    def _comment_mention(self, comment: dict[str, Any], story: dict[str, Any]) -> Mention:
        cid = comment["short_id"]
        author, author_url = self._author(comment.get("commenting_user"), "comment")
        thread = {"story_id": story["short_id"]}
        if comment.get("parent_comment"):
            thread["parent_id"] = comment["parent_comment"]
        return Mention(
            network=self.name,
            native_id=f"c/{cid}",
            url=COMMENT_URL + cid,
            text=html_to_text(comment["comment"]),
            created_at=dt.datetime.fromtimestamp(self._time(comment, "comment"), tz=dt.UTC),
            kind="comment",
            author_handle=author,
            author_name=author,
            author_url=author_url,
            reach=comment.get("score"),
            tags=tuple(story.get("tags", [])),
            thread=thread,
        )


def _where(item: Any, kind: str) -> str:
    """How a reason names an item: by its short id when it has a readable one."""
    sid = item.get("short_id") if isinstance(item, dict) else None
    return f"{kind} {sid}" if isinstance(sid, str) and _SHORT_ID.match(sid) else f"a {kind}"

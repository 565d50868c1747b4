"""Instagram through the Graph API, for the owner's own professional account (``ig_user_id``).

One listing a cycle (the stream ``*``; every item is about the business, so the account is
matched as "your Instagram" whatever the rules say):

1. ``GET /{ig-user-id}/media`` newest first, each media with its comments by field expansion
   (``comments.limit(n){id,text,timestamp,username,like_count,from,replies{...}}``), the next
   pages of a media's comments from ``/{media-id}/comments``, for the ``recent_media`` newest
   media: a comment is new after the watermark (at it, an id not read yet). The account's own
   comments and replies (``username`` that of the media) are not mentions.
2. ``GET /{ig-user-id}/tags``: media the account is tagged in, newest first, with their own
   watermark.

@mentions in other people's captions and comments cannot be listed: Meta sends them by webhook
(``mentions``) and ``webhook.py`` reads each through ``mentioned_comment``/``mentioned_media``
here.

Cursor::

    {"at": T, "ids": [comment ids at T], "read": {id: t} (read above T: by a walk that stopped
     early, which leaves T where it was, or dated after the clock),
     "tags_at": T2, "tag_ids": [media ids at T2]}

A media or comment that cannot be read is skipped alone (its reason in ``FetchResult.skipped``)
while it is new. Usage headers at ``graph.BACKOFF_PERCENT`` stop the walk and the next fetch
waits (``RateLimited``) without calling.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import field_validator

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.instagram import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    RateLimited,
    SourceBase,
    SourceError,
    SourceOptions,
    payload_time,
    read_each,
    require_secret,
)

SITE = "https://www.instagram.com/"
PERMALINK = re.compile(r"^https://(www\.)?instagram\.com/(p|reel|tv)/[A-Za-z0-9_-]{1,64}/?$")
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
COMMENT_FIELDS = "id,text,timestamp,username,like_count,from,parent_id"
MEDIA_FIELDS = "id,caption,permalink,timestamp,username,media_type,comments_count"
TAG_FIELDS = "id,caption,permalink,timestamp,username,media_type"
MENTIONED_COMMENT_FIELDS = "id,text,timestamp,username,like_count"
MENTIONED_MEDIA_FIELDS = "id,caption,timestamp,username,media_type,permalink"
READ_LIMIT = 1000  # comments read above the watermark, remembered so that they come once


class InstagramOptions(SourceOptions):
    base_url: str = graph.GRAPH_URL
    ig_user_id: str  # the professional account's id (digits), from `make connect` or the Graph API Explorer
    token_parameter: str | None = None  # SSM SecureString: a Page (or user) access token of the account
    recent_media: int = 25  # the account's newest media whose new comments are read every cycle
    media_limit: int = 25  # media a page
    comments_limit: int = 50  # comments a media, a page
    read_tags: bool = True  # also read the media the account is tagged in
    first_run_lookback_hours: int = 24
    check_token_expiry: bool = True  # ask debug_token daily; the owner is told a week before it expires

    @field_validator("ig_user_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not re.fullmatch(r"[0-9]{1,25}", value):
            raise ValueError(f"{value!r} is not an Instagram professional account id (digits only, e.g. "
                             "17841405822304914)")
        return value


class Instagram(SourceBase):
    options: InstagramOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=True, local_stream=True)
    options_model: ClassVar[type[SourceOptions]] = InstagramOptions

    # --- requests ----------------------------------------------------------------------------

    def _url(self, *parts: str) -> str:
        """Our own URL of a Graph API edge (ids checked before they get here)."""
        return "/".join([self.options.base_url.rstrip("/"), graph.GRAPH_VERSION, *parts])

    def _token(self) -> str:
        return require_secret(self.name, self._secrets, self.options.token_parameter, SPEC.credentials[0].what)

    def _get(self, url: str, params: dict[str, Any], budget: Budget | None) -> Any:
        """One GET; usage at the back-off mark is remembered so that the next call waits."""
        body, wait = graph.graph_get(self.http, self.name, SPEC.label, url, params, self._token(), budget)
        if wait is not None:
            self._pause(wait)
        return body

    def _pause(self, wait: float) -> None:
        until = self._clock() + wait
        self._paused_until = until
        if self._state is not None:
            self._state.put_state(self.name, "usage", {"until": until})

    def _check_pause(self) -> None:
        """``RateLimited`` without a call while the usage headers asked to wait."""
        until = self._paused_until
        if until is None and self._state is not None:
            until = float((self._state.get_state(self.name, "usage") or {}).get("until", 0)) or None
        wait = (until or 0) - self._clock()
        self._paused_until = None
        if wait > 0:
            self._paused_until = until
            raise RateLimited(self.name, f"Meta's usage figures were near their limit; waiting {wait / 60:.0f} min "
                                         f"({graph.RATE_LIMIT_DOC})", wait)

    def _start(self) -> None:
        self._paused_until: float | None = None

    # --- the listing -------------------------------------------------------------------------

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New comments on the account's recent media and new media it is tagged in, since
        ``cursor``; raises only ``SourceError``."""
        self._token()  # a missing token stops before any request
        self._check_pause()
        now = self._clock()
        if cursor is None:
            start = int(now) - self.options.first_run_lookback_hours * 3600
            cursor = {"at": start, "ids": [], "read": {}, "tags_at": start, "tag_ids": []}
        try:
            watermark = float(cursor["at"])
            seen = {str(i) for i in cursor.get("ids", [])}
            read_before = {str(k): float(v) for k, v in dict(cursor.get("read", {})).items()}
            tags_at = float(cursor.get("tags_at", watermark))
            tag_ids = {str(i) for i in cursor.get("tag_ids", [])}
        except (KeyError, TypeError, ValueError):
            raise SourceError(self.name, "the stored cursor cannot be read; it starts again from now") from None

        def is_new(key: str, when: float) -> bool:
            return (when > watermark or (when == watermark and key not in seen)) and key not in read_before

        found: dict[str, Mention] = {}
        dated: dict[str, float] = {}  # every new comment read or not, by id: its time
        skipped: list[str] = []
        pages, complete = self._walk_media(is_new, found, dated, skipped, budget)
        tags: dict[str, Mention] = {}
        tag_dated: dict[str, float] = {}
        if self.options.read_tags and complete and self._paused_until is None:
            pages += 1
            self._read_tags(lambda k, t: t > tags_at or (t == tags_at and k not in tag_ids), tags, tag_dated,
                            skipped, budget)
        next_cursor: Cursor = {"at": watermark, "ids": sorted(seen), "read": {},
                               "tags_at": tags_at, "tag_ids": sorted(tag_ids)}
        if complete:  # every recent media was read: the watermark moves (never past the clock)
            _advance(next_cursor, "at", "ids", watermark, seen, {k: min(t, now) for k, t in dated.items()})
        _advance(next_cursor, "tags_at", "tag_ids", tags_at, tag_ids, {k: min(t, now) for k, t in tag_dated.items()})
        # Comments read above the watermark (a walk stopped early; dated after the clock) come once.
        read = {k: t for k, t in {**read_before, **dated}.items() if t > float(next_cursor["at"])}
        next_cursor["read"] = dict(sorted(read.items(), key=lambda kv: -kv[1])[:READ_LIMIT])
        mentions = list(found.values()) + list(tags.values())
        self._check_token(budget)
        return FetchResult(mentions=mentions, cursor=next_cursor, pages=pages, complete=complete, skipped=skipped)

    def _walk_media(self, is_new: Callable[[str, float], bool], found: dict[str, Mention],
                    dated: dict[str, float], skipped: list[str], budget: Budget) -> tuple[int, bool]:
        """Pages of the account's media (newest first) until ``recent_media`` are read."""
        fields = (f"{MEDIA_FIELDS},comments.limit({self.options.comments_limit}){{{COMMENT_FIELDS},"
                  f"replies{{{COMMENT_FIELDS}}}}}")
        params: dict[str, Any] = {"fields": fields, "limit": self.options.media_limit}
        after: str | None = None
        pages = media_read = 0
        while True:
            if pages >= self.options.max_pages or budget.exhausted() or self._paused_until is not None:
                return pages, False
            body = self._get(self._url(self.options.ig_user_id, "media"), {**params, **({"after": after} if after
                                                                                          else {})}, budget)
            pages += 1
            items, after = graph.page_of(self.name, body, "media")
            for index, media in enumerate(items):
                if media_read >= self.options.recent_media:
                    return pages, True
                media_read += 1
                self._media_comments(media, index, is_new, found, dated, skipped, budget)
            if after is None or media_read >= self.options.recent_media:
                return pages, True

    def _media_comments(self, media: Any, index: int, is_new: Callable[[str, float], bool],
                        found: dict[str, Mention], dated: dict[str, float], skipped: list[str],
                        budget: Budget) -> None:
        """The new comments (and replies) of one media of the listing into ``found``."""
        where = f"media[{index}]"
        try:
            info = self._media_info(media, where)
            comments = media.get("comments", {"data": []})
            listed, after = graph.page_of(self.name, comments, f"media {info['id']}.comments")
        except SourceError as err:
            self._unreadable_media(media, err, is_new, dated, skipped)
            return
        page = 0
        while True:
            self._read_comments(listed, info, is_new, found, dated, skipped)
            page += 1
            if after is None or page >= self.options.max_pages or budget.exhausted():
                return
            body = self._get(self._url(info["id"], "comments"),
                             {"fields": f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}",
                              "limit": self.options.comments_limit, "after": after}, budget)
            listed, after = graph.page_of(self.name, body, f"media {info['id']}.comments")

    def _unreadable_media(self, media: Any, err: SourceError, is_new: Callable[[str, float], bool],
                          dated: dict[str, float], skipped: list[str]) -> None:
        """A media that cannot be read is said once, while it has new comments (every cycle lists it
        again): their ids move the watermark as if they had been read. Without readable comments
        it is said every time it is listed."""
        comments = media.get("comments") if isinstance(media, dict) else None
        listed = comments.get("data") if isinstance(comments, dict) else None
        if not isinstance(listed, list):
            skipped.append(err.message)
            return
        new: dict[str, float] = {}
        for comment in listed:
            try:
                key, when = self._comment_id_time(comment, "?")
            except SourceError:
                continue
            if is_new(key, when):
                new[key] = when
        if new:
            dated.update(new)
            skipped.append(err.message)

    def _read_comments(self, listed: list[Any], info: dict[str, str], is_new: Callable[[str, float], bool],
                       found: dict[str, Mention], dated: dict[str, float], skipped: list[str]) -> None:
        flat: list[tuple[Any, str | None]] = []
        for comment in listed:
            flat.append((comment, None))
            replies = comment.get("replies") if isinstance(comment, dict) else None
            if isinstance(replies, dict) and isinstance(replies.get("data"), list):
                parent = comment.get("id") if isinstance(comment.get("id"), str) else None
                flat += [(reply, parent) for reply in replies["data"]]

        def read(entry: tuple[Any, str | None]) -> None:
            comment, parent = entry
            key, when = self._comment_id_time(comment, info["id"])
            if not is_new(key, when):
                return
            dated[key] = when
            if isinstance(comment, dict) and comment.get("username") == info["owner"]:
                return  # the account's own comment or reply
            found.setdefault(key, self.comment_mention(comment, info, parent))

        _, reasons = read_each(self.name, flat, read)
        skipped += reasons

    def _comment_id_time(self, comment: Any, media_id: str) -> tuple[str, float]:
        if not isinstance(comment, dict):
            raise BadPayload(self.name, f"media {media_id}: a comment is not an object")
        key = graph.graph_id(self.name, comment.get("id"), f"media {media_id}: a comment id")
        when = payload_time(self.name, comment.get("timestamp"), f"comment {key}.timestamp is not an ISO time")
        return key, when

    def _media_info(self, media: Any, where: str) -> dict[str, str]:
        """The checked id, permalink and owner username of a media of the account."""
        if not isinstance(media, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        media_id = graph.graph_id(self.name, media.get("id"), f"{where}.id")
        permalink = media.get("permalink")
        if not isinstance(permalink, str) or not PERMALINK.match(permalink):
            raise BadPayload(self.name, f"media {media_id}.permalink is not an instagram.com permalink")
        owner = media.get("username", "")
        if not isinstance(owner, str) or (owner and not USERNAME.match(owner)):
            raise BadPayload(self.name, f"media {media_id}.username is not an Instagram username")
        return {"id": media_id, "permalink": permalink, "owner": owner}

    def comment_mention(self, comment: dict[str, Any], info: dict[str, str], parent: str | None,
                        when: float | None = None) -> Mention:
        """A comment (or a reply, with its ``parent``) on the account's media ``info`` as a mention;
        ``when``: its time where the payload has none (a webhook's)."""
        key = graph.graph_id(self.name, comment.get("id"), f"media {info['id']}: a comment id")
        if when is None or "timestamp" in comment:
            when = payload_time(self.name, comment.get("timestamp"), f"comment {key}.timestamp is not an ISO time")
        text = comment.get("text", "")
        if not isinstance(text, str):
            raise BadPayload(self.name, f"comment {key}.text is not a string")
        username = comment.get("username")
        sender = comment.get("from")
        if username is None and isinstance(sender, dict):
            username = sender.get("username")
        username = self._username(username, f"comment {key}")
        parent_id = parent or comment.get("parent_id")
        if parent_id is not None:
            parent_id = graph.graph_id(self.name, parent_id, f"comment {key}.parent_id")
        likes = comment.get("like_count")
        return Mention(
            network=self.name,
            native_id=key,
            url=info["permalink"],
            text=text.strip(),
            created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC),
            kind="comment",
            author_handle=username,
            author_name=username,
            author_url=f"{SITE}{username}/" if username else "",
            reach=likes if isinstance(likes, int) and not isinstance(likes, bool) and likes >= 0 else None,
            # Instagram takes replies on top-level comments only: a reply's thread is its parent's
            thread={"kind": "comment", "media_id": info["id"], "comment_id": parent_id or key},
        )

    def _username(self, value: Any, where: str) -> str:
        if value is None or value == "":
            return ""
        if not isinstance(value, str) or not USERNAME.match(value):
            raise BadPayload(self.name, f"{where}.username is not an Instagram username")
        return value

    # --- tags --------------------------------------------------------------------------------

    def _read_tags(self, is_new: Callable[[str, float], bool], found: dict[str, Mention], dated: dict[str, float],
                   skipped: list[str], budget: Budget) -> None:
        body = self._get(self._url(self.options.ig_user_id, "tags"),
                         {"fields": TAG_FIELDS, "limit": self.options.media_limit}, budget)
        items, _ = graph.page_of(self.name, body, "tags")

        def read(media: Any) -> None:
            if not isinstance(media, dict):
                raise BadPayload(self.name, "tags: an item is not an object")
            key = graph.graph_id(self.name, media.get("id"), "tags: a media id")
            when = payload_time(self.name, media.get("timestamp"), f"tagged media {key}.timestamp is not an ISO time")
            if is_new(key, when):
                dated[key] = when
                found[key] = self.media_mention(media, "tag")

        _, reasons = read_each(self.name, items, read)
        skipped += reasons

    def media_mention(self, media: dict[str, Any], kind: str, when: float | None = None) -> Mention:
        """Someone else's media that tags (``kind`` "tag") or @mentions ("mention") the account;
        ``when``: its time where the answer has none (a webhook's)."""
        key = graph.graph_id(self.name, media.get("id"), f"{kind} media: an id")
        if when is None or "timestamp" in media:
            when = payload_time(self.name, media.get("timestamp"), f"media {key}.timestamp is not an ISO time")
        caption = media.get("caption", "")
        if not isinstance(caption, str):
            raise BadPayload(self.name, f"media {key}.caption is not a string")
        username = self._username(media.get("username"), f"media {key}")
        permalink = media.get("permalink")
        if permalink is not None and (not isinstance(permalink, str) or not PERMALINK.match(permalink)):
            raise BadPayload(self.name, f"media {key}.permalink is not an instagram.com permalink")
        # mentioned_media has no permalink: the author's profile is the link then
        url = permalink or (f"{SITE}{username}/" if username else SITE)
        return Mention(
            network=self.name,
            native_id=key,
            url=url,
            text=caption.strip(),
            created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC),
            kind="post",
            author_handle=username,
            author_name=username,
            author_url=f"{SITE}{username}/" if username else "",
            thread={"kind": kind, "media_id": key},
        )

    # --- the token's expiry ------------------------------------------------------------------

    def _check_token(self, budget: Budget) -> None:
        """Ask ``debug_token`` when the token expires, at most once a day (kept in the connector's
        state); an answer that cannot be had is tried again next cycle, never an error."""
        if self._state is None or not self.options.check_token_expiry:
            return
        now = self._clock()
        known = self._state.get_state(self.name, "token") or {}
        if now - float(known.get("checked", 0)) < graph.TOKEN_CHECK_SECONDS or self._paused_until is not None:
            return
        token = self._token()
        try:
            body = self._get(self._url("debug_token"), {"input_token": token}, budget)
            expires = graph.token_expiry(self.name, body)
        except SourceError:
            return
        self._state.put_state(self.name, "token", {**known, "checked": now, "expires": expires})

    def token_notice(self) -> str | None:
        """The words to tell the owner a week before the token can no longer be used, once for
        each expiry ("Instagram: reconnect by running `make connect NETWORK=instagram` before 12 Jan");
        None otherwise. Reads only what ``fetch`` stored."""
        if self._state is None:
            return None
        known = self._state.get_state(self.name, "token") or {}
        expires = known.get("expires")
        if not isinstance(expires, (int, float)) or expires - self._clock() > graph.TOKEN_WARNING_SECONDS:
            return None
        if known.get("told") == expires:
            return None
        self._state.put_state(self.name, "token", {**known, "told": expires})
        return graph.token_words(SPEC.label, self.name, float(expires))

    # --- reads for webhook events ------------------------------------------------------------

    def media(self, media_id: str, budget: Budget | None = None) -> dict[str, str]:
        """The checked id, permalink and owner username of one of the account's media."""
        media_id = graph.graph_id(self.name, media_id, "media id")
        self._check_pause()
        body = self._get(self._url(media_id), {"fields": "id,permalink,username,timestamp"}, budget)
        info = self._media_info(body, f"media {media_id}")
        if info["id"] != media_id:
            raise BadPayload(self.name, f"media {media_id}: the answer is about another media")
        return info

    def mentioned_comment(self, comment_id: str, media_id: str, budget: Budget | None = None,
                          when: float | None = None) -> Mention:
        """A comment that @mentions the account on someone else's media (a ``mentions`` event at
        ``when``, its time if the answer has none)."""
        comment_id = graph.graph_id(self.name, comment_id, "mentions event: comment_id")
        media_id = graph.graph_id(self.name, media_id, "mentions event: media_id")
        self._check_pause()
        body = self._get(self._url(self.options.ig_user_id),
                         {"fields": f"mentioned_comment.comment_id({comment_id}){{{MENTIONED_COMMENT_FIELDS}}}"},
                         budget)
        comment = body.get("mentioned_comment") if isinstance(body, dict) else None
        if not isinstance(comment, dict):
            raise BadPayload(self.name, f"mentioned_comment {comment_id}: the answer has no 'mentioned_comment'")
        if comment.get("id") != comment_id:
            raise BadPayload(self.name, f"mentioned_comment {comment_id}: the answer is about another comment")
        username = self._username(comment.get("username"), f"comment {comment_id}")
        info = {"id": media_id, "permalink": f"{SITE}{username}/" if username else SITE, "owner": ""}
        mention = self.comment_mention(comment, info, None, when=when)
        return _with_thread(mention, {"kind": "mention", "media_id": media_id, "comment_id": comment_id})

    def mentioned_media(self, media_id: str, budget: Budget | None = None, when: float | None = None) -> Mention:
        """Someone else's media whose caption @mentions the account (a ``mentions`` event at ``when``)."""
        media_id = graph.graph_id(self.name, media_id, "mentions event: media_id")
        self._check_pause()
        body = self._get(self._url(self.options.ig_user_id),
                         {"fields": f"mentioned_media.media_id({media_id}){{{MENTIONED_MEDIA_FIELDS}}}"}, budget)
        media = body.get("mentioned_media") if isinstance(body, dict) else None
        if not isinstance(media, dict) or media.get("id") != media_id:
            raise BadPayload(self.name, f"mentioned_media {media_id}: the answer has no such 'mentioned_media'")
        return self.media_mention(media, "mention", when)


def _with_thread(mention: Mention, thread: dict[str, str]) -> Mention:
    from dataclasses import replace

    return replace(mention, thread=thread)


def _advance(cursor: Cursor, field: str, ids_field: str, watermark: float, seen: set[str],
             dated: dict[str, float]) -> None:
    """Move ``cursor[field]`` up to the newest of ``dated`` (times already capped at the clock),
    keeping the ids read at it in ``cursor[ids_field]``."""
    if not dated:
        return
    newest = max(dated.values())
    if newest > watermark:
        cursor[field] = newest
        cursor[ids_field] = sorted(k for k, t in dated.items() if t == newest)
    elif newest == watermark:
        cursor[ids_field] = sorted(seen | {k for k, t in dated.items() if t == newest})

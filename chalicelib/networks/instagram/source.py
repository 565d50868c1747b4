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

Cursor: ``{"comments": <watermark>, "tags": <watermark>}`` (``graph.Watermark``: the newest time
read, the ids read at it, the ids read above it).

A media or comment that cannot be read is skipped alone (its reason in ``FetchResult.skipped``)
while it is new. Usage headers at ``graph.BACKOFF_PERCENT`` stop the walk and the next fetch
waits (``RateLimited``) without calling.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from pydantic import field_validator

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.graph import GraphOptions, GraphSource, Watermark
from chalicelib.networks.instagram import SPEC
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Cursor,
    FetchResult,
    SourceError,
    SourceOptions,
    payload_time,
    read_each,
)

SITE = "https://www.instagram.com/"
PERMALINK = re.compile(r"^https://(www\.)?instagram\.com/(p|reel|tv)/[A-Za-z0-9_-]{1,64}/?$")
USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
COMMENT_FIELDS = "id,text,timestamp,username,like_count,from,parent_id"
MEDIA_FIELDS = "id,caption,permalink,timestamp,username,media_type,comments_count"
TAG_FIELDS = "id,caption,permalink,timestamp,username,media_type"
MENTIONED_COMMENT_FIELDS = "id,text,timestamp,username,like_count"
MENTIONED_MEDIA_FIELDS = "id,caption,timestamp,username,media_type,permalink"


class InstagramOptions(GraphOptions):
    ig_user_id: str  # the professional account's id (digits), from `make connect` or the Graph API Explorer
    recent_media: int = 25  # the account's newest media whose new comments are read every cycle
    media_limit: int = 25  # media a page
    comments_limit: int = 50  # comments a media, a page
    read_tags: bool = True  # also read the media the account is tagged in

    @field_validator("ig_user_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        return graph.account_id(value, "an Instagram professional account id", "17841405822304914")


class Instagram(GraphSource):
    options: InstagramOptions
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = InstagramOptions

    # --- the listing -------------------------------------------------------------------------

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New comments on the account's recent media and new media it is tagged in, since
        ``cursor``; raises only ``SourceError``."""
        now, marks = self._begin(cursor, ("comments", "tags"))
        found: dict[str, Mention] = {}
        skipped: list[str] = []
        pages, complete = self._walk_media(marks["comments"], found, skipped, budget)
        tags: dict[str, Mention] = {}
        tags_read = False
        if self.options.read_tags and complete and self._paused_until is None:
            pages += 1
            self._read_tags(marks["tags"], tags, skipped, budget)
            tags_read = True
        next_cursor: Cursor = {"comments": marks["comments"].saved(now, complete),
                               "tags": marks["tags"].saved(now, tags_read)}
        self._check_token(budget)
        return FetchResult(mentions=list(found.values()) + list(tags.values()), cursor=next_cursor, pages=pages,
                           complete=complete, skipped=skipped)

    def _walk_media(self, mark: Watermark, found: dict[str, Mention], skipped: list[str],
                    budget: Budget) -> tuple[int, bool]:
        """Pages of the account's media (newest first) until ``recent_media`` are read."""
        fields = (f"{MEDIA_FIELDS},comments.limit({self.options.comments_limit}){{{COMMENT_FIELDS},"
                  f"replies{{{COMMENT_FIELDS}}}}}")
        params: dict[str, Any] = {"fields": fields, "limit": self.options.media_limit}
        after: dict[str, str] | None = None
        pages = media_read = 0
        while True:
            if pages >= self.options.max_pages or budget.exhausted() or self._paused_until is not None:
                return pages, False
            body = self._get(self._url(self.options.ig_user_id, "media"), {**params, **(after or {})}, budget)
            pages += 1
            items, after = graph.page_of(self.name, body, "media")
            for index, media in enumerate(items):
                if media_read >= self.options.recent_media:
                    return pages, True
                media_read += 1
                self._media_comments(media, index, mark, found, skipped, budget)
            if after is None or media_read >= self.options.recent_media:
                return pages, True

    def _media_comments(self, media: Any, index: int, mark: Watermark, found: dict[str, Mention],
                        skipped: list[str], budget: Budget) -> None:
        """The new comments (and replies) of one media of the listing into ``found``."""
        where = f"media[{index}]"
        try:
            info = self._media_info(media, where)
            comments = media.get("comments", {"data": []})
            listed, after = graph.page_of(self.name, comments, f"media {info['id']}.comments")
        except SourceError as err:
            self._unreadable_media(media, err, mark, skipped)
            return
        page = 0
        while True:
            self._read_comments(listed, info, mark, found, skipped)
            page += 1
            if after is None or page >= self.options.max_pages or budget.exhausted():
                return
            body = self._get(self._url(info["id"], "comments"),
                             {"fields": f"{COMMENT_FIELDS},replies{{{COMMENT_FIELDS}}}",
                              "limit": self.options.comments_limit, **after}, budget)
            listed, after = graph.page_of(self.name, body, f"media {info['id']}.comments")

    def _unreadable_media(self, media: Any, err: SourceError, mark: Watermark, skipped: list[str]) -> None:
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
            if mark.is_new(key, when):
                new[key] = when
        if new:
            for key, when in new.items():
                mark.saw(key, when)
            skipped.append(err.message)

    def _read_comments(self, listed: list[Any], info: dict[str, str], mark: Watermark, found: dict[str, Mention],
                       skipped: list[str]) -> None:
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
            if not mark.is_new(key, when):
                return
            mark.saw(key, when)
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
        key, when, text = self._basics(comment, f"media {info['id']}: a comment", "timestamp", "text", when)
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
            text=text,
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

    def _read_tags(self, mark: Watermark, found: dict[str, Mention], skipped: list[str], budget: Budget) -> None:
        body = self._get(self._url(self.options.ig_user_id, "tags"),
                         {"fields": TAG_FIELDS, "limit": self.options.media_limit}, budget)
        items, _ = graph.page_of(self.name, body, "tags")

        def read(media: Any) -> None:
            if not isinstance(media, dict):
                raise BadPayload(self.name, "tags: an item is not an object")
            key = graph.graph_id(self.name, media.get("id"), "tags: a media id")
            when = payload_time(self.name, media.get("timestamp"), f"tagged media {key}.timestamp is not an ISO time")
            if mark.is_new(key, when):
                mark.saw(key, when)
                found[key] = self.media_mention(media, "tag")

        _, reasons = read_each(self.name, items, read)
        skipped += reasons

    def media_mention(self, media: dict[str, Any], kind: str, when: float | None = None) -> Mention:
        """Someone else's media that tags (``kind`` "tag") or @mentions ("mention") the account;
        ``when``: its time where the answer has none (a webhook's)."""
        key, when, caption = self._basics(media, f"{kind} media", "timestamp", "caption", when)
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
            text=caption,
            created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC),
            kind="post",
            author_handle=username,
            author_name=username,
            author_url=f"{SITE}{username}/" if username else "",
            thread={"kind": kind, "media_id": key},
        )

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

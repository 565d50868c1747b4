"""The owner's Facebook Page through the Graph API (a Page access token).

One listing a cycle (the stream ``*``; every item is about the business: "your Facebook Page"):

1. ``GET /{page-id}/feed`` newest first, each post with its comments and their replies by field
   expansion (``comments.limit(n){...,comments.limit(n){...}}``), further comments from
   ``/{post-id}/comments``, for the ``recent_posts`` newest posts: a visitor post (``from`` not the
   Page) and a comment or reply not by the Page are mentions when new.
2. ``GET /{page-id}/tagged``: posts that mention the Page, newest first.
3. ``GET /{page-id}/ratings``: recommendations, newest first; ``recommendation_type`` positive or
   negative is rating 5 or 1 (a star ``rating``, where Facebook still gives one, wins), a negative
   one urgent (the spec's ``urgent_when``).

Cursor: ``{"feed": <watermark>, "tagged": <watermark>, "ratings": <watermark>}`` (``graph.Watermark``).
Ids are checked as Graph ids, links as facebook.com permalinks (else one built from the checked id).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, ClassVar

from pydantic import field_validator

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.facebook import SPEC
from chalicelib.networks.graph import GraphOptions, GraphSource, Watermark
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

SITE = "https://www.facebook.com/"
PERMALINK = re.compile(r"^https://(www\.|m\.)?facebook\.com/[A-Za-z0-9._/?=&%-]{1,300}$")
COMMENT_FIELDS = "id,message,created_time,permalink_url,from{id,name}"
POST_FIELDS = "id,message,created_time,permalink_url,from{id,name}"
RATING_FIELDS = "created_time,recommendation_type,review_text,rating,reviewer{id,name},open_graph_story{id}"
RECOMMENDATION_STARS = {"positive": 5, "negative": 1}


class FacebookOptions(GraphOptions):
    page_id: str  # the Page's id (digits)
    recent_posts: int = 25  # the Page's newest posts whose new comments are read every cycle
    posts_limit: int = 25  # posts a page
    comments_limit: int = 50  # comments a post, a page
    read_tagged: bool = True  # posts that mention the Page
    read_ratings: bool = True  # recommendations

    @field_validator("page_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        return graph.account_id(value, "a Facebook Page id", "1067280970047460")


class FacebookPage(GraphSource):
    options: FacebookOptions
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = FacebookOptions

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """New visitor posts, comments, posts that mention the Page and recommendations since
        ``cursor``; raises only ``SourceError``."""
        now, marks = self._begin(cursor, ("feed", "tagged", "ratings"))
        found: dict[str, Mention] = {}
        skipped: list[str] = []
        pages, complete = self._walk_feed(marks["feed"], found, skipped, budget)
        read = {"tagged": False, "ratings": False}
        for edge, wanted in (("tagged", self.options.read_tagged), ("ratings", self.options.read_ratings)):
            if wanted and complete and self._paused_until is None and not budget.exhausted():
                pages += 1
                self._read_edge(edge, marks[edge], found, skipped, budget)
                read[edge] = True
        next_cursor: Cursor = {"feed": marks["feed"].saved(now, complete),
                               **{edge: marks[edge].saved(now, read[edge]) for edge in ("tagged", "ratings")}}
        self._check_token(budget)
        return FetchResult(mentions=list(found.values()), cursor=next_cursor, pages=pages, complete=complete,
                           skipped=skipped)

    # --- the feed ----------------------------------------------------------------------------

    def _walk_feed(self, mark: Watermark, found: dict[str, Mention], skipped: list[str],
                   budget: Budget) -> tuple[int, bool]:
        limit = self.options.comments_limit
        replies = f"comments.limit({limit}){{{COMMENT_FIELDS}}}"
        fields = f"{POST_FIELDS},comments.limit({limit}){{{COMMENT_FIELDS},{replies}}}"
        after: dict[str, str] | None = None
        pages = posts_read = 0
        while True:
            if pages >= self.options.max_pages or budget.exhausted() or self._paused_until is not None:
                return pages, False
            params: dict[str, Any] = {"fields": fields, "limit": self.options.posts_limit, **(after or {})}
            body = self._get(self._url(self.options.page_id, "feed"), params, budget)
            pages += 1
            posts, after = graph.page_of(self.name, body, "feed")
            for index, post in enumerate(posts[:max(0, self.options.recent_posts - posts_read)]):
                posts_read += 1
                self._post_and_comments(post, index, mark, found, skipped, budget)
            if after is None or posts_read >= self.options.recent_posts:
                return pages, True

    def _post_and_comments(self, post: Any, index: int, mark: Watermark, found: dict[str, Mention],
                           skipped: list[str], budget: Budget) -> None:
        try:
            info = self._post_info(post, f"feed[{index}]")
        except SourceError as err:
            if self._any_new(post, mark):
                skipped.append(err.message)
            return
        if info["from_id"] != self.options.page_id:  # a visitor post
            self._note(post, mark, found, skipped, lambda: self.post_mention(post, "post"))
        try:
            listed = post.get("comments", {"data": []})
            comments, after = graph.page_of(self.name, listed, f"post {info['id']}.comments")
        except SourceError as err:
            skipped.append(err.message)
            return
        page = 0
        while True:
            for comment in comments:
                self._comment_tree(comment, info, mark, found, skipped)
            page += 1
            if after is None or page >= self.options.max_pages or budget.exhausted():
                return
            body = self._get(self._url(info["id"], "comments"),
                             {"fields": f"{COMMENT_FIELDS},comments.limit({self.options.comments_limit})"
                                        f"{{{COMMENT_FIELDS}}}", "limit": self.options.comments_limit,
                              **after}, budget)
            comments, after = graph.page_of(self.name, body, f"post {info['id']}.comments")

    def _comment_tree(self, comment: Any, info: dict[str, str], mark: Watermark, found: dict[str, Mention],
                      skipped: list[str]) -> None:
        """A comment and its replies (``comments`` of the comment), each a mention when new and not the Page's."""
        self._note(comment, mark, found, skipped, lambda: self.comment_mention(comment, info))
        replies = comment.get("comments") if isinstance(comment, dict) else None
        if isinstance(replies, dict) and isinstance(replies.get("data"), list):
            for reply in replies["data"]:
                self._note(reply, mark, found, skipped, lambda reply=reply: self.comment_mention(reply, info))

    def _note(self, item: Any, mark: Watermark, found: dict[str, Mention], skipped: list[str],
              build: Any) -> None:
        """``build()`` the mention of ``item`` when it is new and not the Page's own (a reason in
        ``skipped`` when it cannot be read)."""
        def read(_: Any) -> None:
            key, when = self._id_time(item, "created_time")
            if not mark.is_new(key, when):
                return
            mark.saw(key, when)
            sender = item.get("from") if isinstance(item, dict) else None
            if isinstance(sender, dict) and sender.get("id") == self.options.page_id:
                return  # the Page's own post, comment or reply
            found.setdefault(key, build())

        skipped += read_each(self.name, [item], read)[1]

    def _any_new(self, post: Any, mark: Watermark) -> bool:
        """Whether an unreadable post has anything new (then it is said once; its ids move the watermark)."""
        entries = [post]
        comments = post.get("comments") if isinstance(post, dict) else None
        if isinstance(comments, dict) and isinstance(comments.get("data"), list):
            entries += comments["data"]
        new = False
        for entry in entries:
            try:
                key, when = self._id_time(entry, "created_time")
            except SourceError:
                continue
            if mark.is_new(key, when):
                mark.saw(key, when)
                new = True
        return new or not isinstance(post, dict)

    def _id_time(self, item: Any, field: str) -> tuple[str, float]:
        if not isinstance(item, dict):
            raise BadPayload(self.name, "an item is not an object")
        key = graph.graph_id(self.name, item.get("id"), "an item's id")
        return key, payload_time(self.name, item.get(field), f"{key}.{field} is not an ISO time")

    def _post_info(self, post: Any, where: str) -> dict[str, str]:
        if not isinstance(post, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        post_id = graph.graph_id(self.name, post.get("id"), f"{where}.id")
        link = self._permalink(post, post_id)
        sender = post.get("from")
        from_id = sender.get("id") if isinstance(sender, dict) else None
        return {"id": post_id, "permalink": link, "from_id": from_id if isinstance(from_id, str) else ""}

    def _permalink(self, item: dict[str, Any], key: str) -> str:
        link = item.get("permalink_url")
        if link is None:
            return SITE + key
        if not isinstance(link, str) or not PERMALINK.match(link):
            raise BadPayload(self.name, f"{key}.permalink_url is not a facebook.com permalink")
        return link

    def _author(self, item: dict[str, Any], key: str) -> tuple[str, str]:
        """The name and profile link of ``from`` (empty when Facebook does not say: the Page cannot
        see every visitor)."""
        sender = item.get("from")
        if sender is None:
            return "", ""
        if not isinstance(sender, dict):
            raise BadPayload(self.name, f"{key}.from is not an object")
        name = sender.get("name", "")
        if not isinstance(name, str):
            raise BadPayload(self.name, f"{key}.from.name is not a string")
        sender_id = sender.get("id")
        link = SITE + sender_id if isinstance(sender_id, str) and graph.GRAPH_ID.match(sender_id) else ""
        return name.strip()[:100], link

    def _text(self, item: dict[str, Any], field: str, key: str) -> str:
        text = item.get(field, "")
        if not isinstance(text, str):
            raise BadPayload(self.name, f"{key}.{field} is not a string")
        return text.strip()

    def comment_mention(self, comment: dict[str, Any], info: dict[str, str], when: float | None = None) -> Mention:
        """A comment or reply on the Page's post ``info``; ``when`` where the payload has no time."""
        key, when, text = self._basics(comment, f"post {info['id']}: a comment", "created_time", "message", when)
        name, profile = self._author(comment, key)
        link = self._permalink(comment, key) if comment.get("permalink_url") is not None else info["permalink"]
        return Mention(
            network=self.name, native_id=key, url=link,
            text=text, created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC),
            kind="comment", author_handle=name, author_name=name, author_url=profile,
            thread={"kind": "comment", "post_id": info["id"], "object_id": key},
        )

    def post_mention(self, post: dict[str, Any], kind: str, when: float | None = None) -> Mention:
        """A visitor post (``kind`` "post") or a post that mentions the Page ("tag")."""
        key, when, text = self._basics(post, f"{kind}: a post", "created_time", "message", when)
        name, profile = self._author(post, key)
        return Mention(
            network=self.name, native_id=key, url=self._permalink(post, key), text=text,
            created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC), kind="post", author_handle=name,
            author_name=name, author_url=profile, thread={"kind": kind, "post_id": key, "object_id": key},
        )

    def rating_mention(self, rating: dict[str, Any], when: float | None = None) -> Mention:
        """A recommendation: its open graph story is what is answered."""
        story = rating.get("open_graph_story")
        key = graph.graph_id(self.name, story.get("id") if isinstance(story, dict) else None,
                             "a recommendation's open_graph_story.id")
        if when is None or "created_time" in rating:
            when = payload_time(self.name, rating.get("created_time"), f"{key}.created_time is not an ISO time")
        stars = rating.get("rating")
        if not (isinstance(stars, int) and not isinstance(stars, bool) and 1 <= stars <= 5):
            kind = rating.get("recommendation_type")
            stars = RECOMMENDATION_STARS.get(kind) if isinstance(kind, str) else None
        reviewer = rating.get("reviewer")
        name, profile = self._author({"from": reviewer}, key) if reviewer is not None else ("", "")
        words = {5: "recommends", 1: "does not recommend"}.get(stars or 0, "rated")
        return Mention(
            network=self.name, native_id=key, url=SITE + key, text=self._text(rating, "review_text", key),
            title=f"{name or 'Someone'} {words} your Page", created_at=dt.datetime.fromtimestamp(when, tz=dt.UTC),
            kind="post", author_handle=name, author_name=name, author_url=profile,
            thread={"kind": "rating", "post_id": key, "object_id": key}, rating=stars,
        )

    # --- tagged posts and recommendations ------------------------------------------------------

    def _read_edge(self, edge: str, mark: Watermark, found: dict[str, Mention], skipped: list[str],
                   budget: Budget) -> None:
        fields = POST_FIELDS if edge == "tagged" else RATING_FIELDS
        body = self._get(self._url(self.options.page_id, edge), {"fields": fields, "limit": self.options.posts_limit},
                         budget)
        items, _ = graph.page_of(self.name, body, edge)

        def read(item: Any) -> None:
            if edge == "tagged":
                key, when = self._id_time(item, "created_time")
                build = lambda: self.post_mention(item, "tag")  # noqa: E731
            else:
                story = item.get("open_graph_story") if isinstance(item, dict) else None
                key, when = self._id_time({**(story if isinstance(story, dict) else {}),
                                           "created_time": item.get("created_time")}, "created_time")
                build = lambda: self.rating_mention(item)  # noqa: E731
            if mark.is_new(key, when):
                mark.saw(key, when)
                found.setdefault(key, build())

        skipped += read_each(self.name, items, read)[1]

    # --- reads for webhook events ------------------------------------------------------------

    def read_post(self, object_id: str, kind: str, budget: Budget | None = None) -> Mention:
        """A post or comment that mentions the Page (a ``mention`` event names its id only)."""
        object_id = graph.graph_id(self.name, object_id, "mention event: the post or comment id")
        self._check_pause()
        body = self._get(self._url(object_id), {"fields": POST_FIELDS}, budget)
        if not isinstance(body, dict) or body.get("id") != object_id:
            raise BadPayload(self.name, f"{object_id}: the answer is about another object")
        return self.post_mention(body, kind)

"""Facebook Page webhook deliveries (already verified by their ``X-Hub-Signature-256``) as mentions.

A delivery is ``{"object": "page", "entry": [{"id": <page-id>, "time", "changes": [{"field",
"value"}]}]}``; the values' fields are those of Meta's Page webhooks reference
(https://developers.facebook.com/docs/graph-api/webhooks/reference/page):

- ``feed`` with ``verb`` "add": ``item`` "comment" (``post_id``, ``comment_id``, ``parent_id``,
  ``message``, ``from``, ``created_time``) is a comment; ``item`` "status", "post", "photo" or "video"
  by someone else than the Page is a visitor post. Edits, removals, reactions and the Page's own
  items give nothing.
- ``mention`` with ``verb`` "add": ``post_id`` (and ``comment_id`` for a comment) names the object
  that mentions the Page, read through the connector.
- ``ratings`` with ``verb`` "add": ``reviewer_id``, ``reviewer_name``, ``recommendation_type``,
  ``rating``, ``review_text``, ``open_graph_story_id``, ``created_time``: a recommendation.

Links are built from checked ids only. A delivery not in this shape raises ``BadPayload`` naming
where; a read that fails raises its ``SourceError``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.sources.base import BadPayload

if TYPE_CHECKING:
    from chalicelib.networks.facebook.source import FacebookPage

NETWORK = "facebook"
SITE = "https://www.facebook.com/"
POST_ITEMS = frozenset({"status", "post", "photo", "video", "share"})


def parse(payload: Mapping[str, Any], source: FacebookPage) -> list[Mention]:
    """The mentions one verified Page webhook delivery stands for (see the module doc)."""
    mentions: dict[str, Mention] = {}
    for where, field, value, when in graph.delivery_changes(NETWORK, payload, "page", source.options.page_id):
        if value.get("verb") != "add":
            continue
        found = None
        try:
            if field == "feed":
                found = _feed(value, when, source, where)
            elif field == "mention":
                found = _mention(value, source, where)
            elif field == "ratings":
                found = _rating(value, when, source, where)
        except BadPayload as err:
            raise BadPayload(NETWORK, err.message if err.message.startswith(where) else f"{where}: {err.message}") \
                from None
        if found is not None:
            mentions.setdefault(found.native_id, found)
    return list(mentions.values())


def _time(value: dict[str, Any], when: float) -> float:
    """``created_time`` (Unix seconds in these deliveries) where it is one, else the entry's time."""
    created = value.get("created_time")
    return float(created) if isinstance(created, int) and not isinstance(created, bool) and 0 < created < 7e9 \
        else when


def _feed(value: dict[str, Any], when: float, source: FacebookPage, where: str) -> Mention | None:
    item = value.get("item")
    sender = value.get("from")
    if isinstance(sender, dict) and sender.get("id") == source.options.page_id:
        return None  # the Page's own post, comment or reply
    post_id = graph.graph_id(NETWORK, value.get("post_id"), f"{where}.value.post_id")
    if item == "comment":
        comment_id = graph.graph_id(NETWORK, value.get("comment_id"), f"{where}.value.comment_id")
        info = {"id": post_id, "permalink": SITE + post_id, "from_id": ""}
        comment = {"id": comment_id, "message": value.get("message", ""), "from": sender}
        return source.comment_mention(comment, info, when=_time(value, when))
    if item in POST_ITEMS:
        post = {"id": post_id, "message": value.get("message", ""), "from": sender}
        return source.post_mention(post, "post", when=_time(value, when))
    return None


def _mention(value: dict[str, Any], source: FacebookPage, where: str) -> Mention:
    object_id = value.get("comment_id") if value.get("item") == "comment" else value.get("post_id")
    graph.graph_id(NETWORK, object_id, f"{where}.value.{'comment_id' if value.get('item') == 'comment' else 'post_id'}")
    return source.read_post(str(object_id), "tag")


def _rating(value: dict[str, Any], when: float, source: FacebookPage, where: str) -> Mention:
    story = graph.graph_id(NETWORK, value.get("open_graph_story_id"), f"{where}.value.open_graph_story_id")
    reviewer = {"id": value.get("reviewer_id"), "name": value.get("reviewer_name", "")}
    created = dt.datetime.fromtimestamp(_time(value, when), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    rating = {"open_graph_story": {"id": story}, "created_time": created, "reviewer": reviewer,
              "recommendation_type": value.get("recommendation_type"), "review_text": value.get("review_text", "")}
    if "rating" in value:
        rating["rating"] = value["rating"]
    return source.rating_mention(rating)

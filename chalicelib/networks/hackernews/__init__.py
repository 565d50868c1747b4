"""Hacker News (Algolia's HN Search API): read-only; replies by hand on the item page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.networks.manual import not_replyable
from chalicelib.networks.spec import Limit, NetworkSpec

if TYPE_CHECKING:
    from chalicelib.model import Mention

REPLY_URL = "https://news.ycombinator.com/reply?id="
ITEM_URL = "https://news.ycombinator.com/item?id="
_ID = re.compile(r"^[0-9]{1,12}$")


def manual_reply(mention: Mention) -> str:
    """The reply form of a comment, the item page of a story (the comment box is on it)."""
    if not _ID.match(mention.native_id):
        raise not_replyable(mention.network, "the item id is not a number")
    return (REPLY_URL if mention.kind == "comment" else ITEM_URL) + mention.native_id


SPEC = NetworkSpec(
    name="hackernews",
    label="Hacker News",
    source="chalicelib.networks.hackernews.source:HackerNews",
    emulator="chalicelib.networks.hackernews.emulator:HackerNewsAPI",
    reach_unit=("point", "points"),
    sites=("news.ycombinator.com",),
    thread_keys=("story_id",),
    limits=lambda options: (Limit(10000.0, 3600.0, "https://hn.algolia.com/api"),),
    query_separator=" OR ",  # several terms: one by-date listing (the connector's batching)
    manual_reply=manual_reply,
)

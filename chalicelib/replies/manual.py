"""Replying by hand on networks with no write API (Hacker News, Lobsters, DEV, RSS): the link
that opens the place to paste the owner's reply. Built only from checked ids, or from a
permalink the connector already checked, never from free text of the network."""

from __future__ import annotations

import re

from chalicelib.model import Mention
from chalicelib.replies import NotReplyable

HN_REPLY_URL = "https://news.ycombinator.com/reply?id="
HN_ITEM_URL = "https://news.ycombinator.com/item?id="
LOBSTERS_URL = "https://lobste.rs/"
MANUAL_NETWORKS = ("hackernews", "lobsters", "devto", "rss")
_HN_ID = re.compile(r"^[0-9]{1,12}$")
_LOBSTERS_ID = re.compile(r"^([sc])/([a-z0-9]{1,12})$")
_DEV_ARTICLE = re.compile(r"^https://dev\.to/[A-Za-z0-9_]{1,60}/[A-Za-z0-9_-]{1,200}$")
_WEB_LINK = re.compile(r"^https?://[^\s\"<>]+$")


def compose_link(mention: Mention) -> str:
    """The URL that opens ``mention``'s thread for replying by hand.

    Hacker News: the reply form of a comment, the item page of a story (the comment box is
    on it); Lobsters: the story or comment permalink; DEV: the article; RSS: the article
    link. Any other network: the mention's permalink when it is a plain http(s) URL.
    Raises ``NotReplyable`` when no safe link can be made.
    """
    if mention.network == "hackernews":
        if not _HN_ID.match(mention.native_id):
            raise NotReplyable(mention.network, "the item id is not a number")
        base = HN_REPLY_URL if mention.kind == "comment" else HN_ITEM_URL
        return base + mention.native_id
    if mention.network == "lobsters":
        match = _LOBSTERS_ID.match(mention.native_id)
        if not match:
            raise NotReplyable(mention.network, "the id is not a story or comment short id")
        return f"{LOBSTERS_URL}{match.group(1)}/{match.group(2)}"
    if mention.network == "devto":
        if not _DEV_ARTICLE.match(mention.url):
            raise NotReplyable(mention.network, "the article URL is not a dev.to article")
        return mention.url
    if _WEB_LINK.match(mention.url):
        return mention.url
    raise NotReplyable(mention.network, "the mention has no http(s) link to open")

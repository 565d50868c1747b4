"""Replying by hand on networks with no write API: the links shared by their specs. Built only
from checked ids, or from a permalink the connector already checked, never from free text of
the network."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.model import Mention

_WEB_LINK = re.compile(r"^https?://[^\s\"<>]+$")


def not_replyable(network: str, why: str) -> Exception:
    """``chalicelib.replies.NotReplyable`` (imported here only when a link is refused)."""
    from chalicelib.replies import NotReplyable

    return NotReplyable(network, why)


def web_link(mention: Mention) -> str:
    """The mention's permalink when it is a plain http(s) URL (an RSS article, any network
    without a link of its own)."""
    if _WEB_LINK.match(mention.url):
        return mention.url
    raise not_replyable(mention.network, "the mention has no http(s) link to open")

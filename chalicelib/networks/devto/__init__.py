"""DEV (Forem API v1): newest and tagged articles; replies by hand on the article."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.networks.manual import not_replyable
from chalicelib.networks.spec import NetworkSpec

if TYPE_CHECKING:
    from chalicelib.model import Mention

_ARTICLE = re.compile(r"^https://dev\.to/[A-Za-z0-9_]{1,60}/[A-Za-z0-9_-]{1,200}$")


def manual_reply(mention: Mention) -> str:
    """The article (its comment box is on it), when the URL is a dev.to article."""
    if not _ARTICLE.match(mention.url):
        raise not_replyable(mention.network, "the article URL is not a dev.to article")
    return mention.url


SPEC = NetworkSpec(
    name="devto",
    label="DEV",
    source="chalicelib.networks.devto.source:DevTo",
    emulator="chalicelib.networks.devto.emulator:DevToAPI",
    reach_unit=("reaction", "reactions"),
    sites=("dev.to",),
    thread_keys=("article_id",),
    manual_reply=manual_reply,  # DEV (Forem) publishes no request limit
)

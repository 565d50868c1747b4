"""RSS and Atom feeds (Google Alerts among them): read-only; replies by hand on the article."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.manual import web_link
from chalicelib.networks.spec import NetworkSpec


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    return len(options.get("feeds") or []) or 1


SPEC = NetworkSpec(
    name="rss",
    label="RSS / Google Alerts",
    source="chalicelib.networks.rss.source:Feeds",
    emulator="chalicelib.networks.rss.emulator:FeedsAPI",
    sites=(),  # a feed item is the article itself: its own link is the story
    requests_per_poll=requests_per_poll,  # feeds publish no request limit
    manual_reply=web_link,
)

"""Lobsters (its JSON pages): newest stories and comments; replies by hand on the permalink."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.networks.manual import not_replyable
from chalicelib.networks.spec import Limit, NetworkSpec

if TYPE_CHECKING:
    from chalicelib.model import Mention

SITE_URL = "https://lobste.rs/"
_ID = re.compile(r"^([sc])/([a-z0-9]{1,12})$")
# rack-attack throttles of lobsters/lobsters config/initializers/rack_attack.rb
RACK = "https://github.com/lobsters/lobsters/blob/main/config/initializers/rack_attack.rb"


def manual_reply(mention: Mention) -> str:
    """The story or comment permalink (the comment box is on it)."""
    match = _ID.match(mention.native_id)
    if not match:
        raise not_replyable(mention.network, "the id is not a story or comment short id")
    return f"{SITE_URL}{match.group(1)}/{match.group(2)}"


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    return int(options.get("max_requests", 1))


SPEC = NetworkSpec(
    name="lobsters",
    label="Lobsters",
    source="chalicelib.networks.lobsters.source:Lobsters",
    emulator="chalicelib.networks.lobsters.emulator:LobstersAPI",
    reach_unit=("point", "points"),
    sites=("lobste.rs",),
    thread_keys=("story_id",),
    limits=lambda options: (Limit(30.0, 60.0, RACK), Limit(100.0, 600.0, RACK), Limit(400.0, 3600.0, RACK)),
    requests_per_poll=requests_per_poll,
    manual_reply=manual_reply,
)

"""Mastodon: search per instance, hashtag and local timelines; replies are statuses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.spec import Credential, Limit, NetworkSpec


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    return len(options.get("instances") or []) * len(terms) + len(options.get("hashtags") or [])


SPEC = NetworkSpec(
    name="mastodon",
    label="Mastodon",
    source="chalicelib.networks.mastodon.source:Mastodon",
    emulator="chalicelib.networks.mastodon.emulator:MastodonAPI",
    replier="chalicelib.networks.mastodon.replier:MastodonReplier",
    reply_limit=500,
    limits=lambda options: (Limit(300.0, 300.0, "https://docs.joinmastodon.org/api/rate-limits/"),),
    requests_per_poll=requests_per_poll,
    credentials=(Credential("access_token_parameter", "access token"),),
)

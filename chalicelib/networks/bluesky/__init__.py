"""Bluesky (AT Protocol, app password session): post search; replies are posts."""

from __future__ import annotations

from chalicelib.networks.spec import Credential, Limit, NetworkSpec

SPEC = NetworkSpec(
    name="bluesky",
    label="Bluesky",
    source="chalicelib.networks.bluesky.source:Bluesky",
    emulator="chalicelib.networks.bluesky.emulator:BlueskyAPI",
    replier="chalicelib.networks.bluesky.replier:BlueskyReplier",
    reach_unit=("like", "likes"),
    sites=("bsky.app",),
    thread_keys=("root_uri",),
    reply_limit=300,
    reply_unit="graphemes",
    limits=lambda options: (Limit(3000.0, 300.0, "https://docs.bsky.app/docs/advanced-guides/rate-limits"),),
    credentials=(Credential("handle_parameter", "handle", required=True),
                 Credential("app_password_parameter", "app password", required=True)),
)

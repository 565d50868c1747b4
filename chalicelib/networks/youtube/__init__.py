"""YouTube (Data API v3): video search within a daily quota; replies are comments (OAuth)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.networks.spec import DAY, Credential, Limit, NetworkSpec, OAuthConnect


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    # search.list has its own bucket of 100 calls a day; the connector keeps slack
    return (Limit(float(options.get("daily_search_calls", 90)), DAY,
                  "https://developers.google.com/youtube/v3/determine_quota_cost"),)


SPEC = NetworkSpec(
    name="youtube",
    label="YouTube",
    source="chalicelib.networks.youtube.source:YouTube",
    emulator="chalicelib.networks.youtube.emulator:YouTubeAPI",
    replier="chalicelib.networks.youtube.replier:YouTubeReplier",
    sites=("youtube.com", "youtu.be"),
    thread_keys=("video_id",),
    reply_limit=10000,
    limits=limits,
    query_separator="|",
    credentials=(Credential("key_parameter", "API key", required=True),
                 Credential("oauth_refresh_token_parameter", "OAuth refresh token", for_replies=True),
                 Credential("oauth_client_id_parameter", "OAuth client id", for_replies=True),
                 Credential("oauth_client_secret_parameter", "OAuth client secret", for_replies=True)),
    connect=OAuthConnect("google", ("https://www.googleapis.com/auth/youtube.force-ssl",),
                         "oauth_refresh_token_parameter", "oauth_client_id_parameter", "oauth_client_secret_parameter",
                         docs="https://developers.google.com/youtube/v3/guides/auth/installed-apps"),
)

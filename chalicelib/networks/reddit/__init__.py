"""Reddit (the Data API, script app with OAuth): search and subreddit streams; replies are comments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.spec import Credential, Limit, NetworkSpec


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    return searches + (2 if options.get("subreddits") else 0)


SPEC = NetworkSpec(
    name="reddit",
    label="Reddit",
    source="chalicelib.networks.reddit.source:Reddit",
    emulator="chalicelib.networks.reddit.emulator:RedditAPI",
    replier="chalicelib.networks.reddit.replier:RedditReplier",
    reach_unit=("point", "points"),
    sites=("reddit.com", "redd.it", "redditmedia.com"),
    thread_keys=("link_id",),
    reply_limit=10000,
    limits=lambda options: (Limit(100.0, 60.0, "https://support.reddithelp.com/hc/en-us/articles/"
                                               "16160319875092-Reddit-Data-API-Wiki"),),
    query_separator=" OR ",
    requests_per_poll=requests_per_poll,
    credentials=(Credential("client_id_parameter", "app client id", required=True),
                 Credential("client_secret_parameter", "app client secret", required=True),
                 Credential("username_parameter", "account username", required=True),
                 Credential("password_parameter", "account password", required=True)),
)

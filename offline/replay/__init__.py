"""The replay server and one emulation per network (one registry line each)."""

from __future__ import annotations

from offline.replay.bluesky import BlueskyAPI
from offline.replay.devto import DevToAPI
from offline.replay.github import GitHubAPI
from offline.replay.hackernews import HackerNewsAPI
from offline.replay.lobsters import LobstersAPI
from offline.replay.mastodon import MastodonAPI
from offline.replay.reddit import RedditAPI
from offline.replay.rss import FeedsAPI
from offline.replay.server import NetworkAPI, ReplayServer
from offline.replay.stackexchange import StackExchangeAPI
from offline.replay.youtube import YouTubeAPI


def all_apis() -> dict[str, NetworkAPI]:
    return {
        "hackernews": HackerNewsAPI(),
        "rss": FeedsAPI(),
        "stackexchange": StackExchangeAPI(),
        "github": GitHubAPI(),
        "reddit": RedditAPI(),
        "mastodon": MastodonAPI(),
        "bluesky": BlueskyAPI(),
        "lobsters": LobstersAPI(),
        "devto": DevToAPI(),
        "youtube": YouTubeAPI(),
    }


def make_server() -> ReplayServer:
    apis = all_apis()
    server = ReplayServer(apis)
    apis["github"].public_base = server.base_url("github")  # type: ignore[attr-defined]  # Link headers
    return server

"""A replay server with every writable network's emulation, fresh for each test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chalicelib.networks.bluesky.emulator import BlueskyAPI
from chalicelib.networks.facebook.emulator import FacebookAPI
from chalicelib.networks.github.emulator import GitHubAPI
from chalicelib.networks.instagram.emulator import InstagramAPI
from chalicelib.networks.mastodon.emulator import MastodonAPI
from chalicelib.networks.reddit.emulator import RedditAPI
from chalicelib.networks.stackexchange.emulator import StackExchangeAPI
from chalicelib.networks.youtube.emulator import YouTubeAPI
from offline.replay.server import NetworkAPI, ReplayServer, Request
from tests.builders import secrets

__all__ = ["NOW", "posts", "secrets"]  # secrets: the one builder, re-exported for the replier tests

NOW = int(time.time())


def fresh_apis() -> dict[str, NetworkAPI]:
    return {
        "mastodon": MastodonAPI(access_tokens={"mastodon.social": "good-token"}),
        "bluesky": BlueskyAPI(),
        "reddit": RedditAPI(),
        "github": GitHubAPI(valid_tokens={"gh-token"}),
        "youtube": YouTubeAPI(),
        "stackexchange": StackExchangeAPI(valid_keys={"se-key"}),
        "instagram": InstagramAPI(),
        "facebook": FacebookAPI(),
    }


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer(fresh_apis()) as server:
        yield server


@pytest.fixture
def srv(module_srv: ReplayServer) -> ReplayServer:
    """The module's server with fresh emulations, no items, faults or recorded requests."""
    module_srv.reset()
    module_srv.apis.update(fresh_apis())
    return module_srv


def posts(srv: ReplayServer, network: str) -> list[Request]:
    """The POST requests the network received."""
    return [r for r in srv.received[network] if r.method == "POST"]

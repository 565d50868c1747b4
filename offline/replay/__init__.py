"""The replay server and one emulation per network (one registry line each)."""

from __future__ import annotations

from offline.replay.hackernews import HackerNewsAPI
from offline.replay.server import NetworkAPI, ReplayServer


def all_apis() -> dict[str, NetworkAPI]:
    return {
        "hackernews": HackerNewsAPI(),
    }


def make_server() -> ReplayServer:
    return ReplayServer(all_apis())

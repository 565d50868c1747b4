"""The replay server and one emulation per network, found through the network registry
(``chalicelib/networks/<name>/emulator.py``, named by the network's spec)."""

from __future__ import annotations

from chalicelib.networks import NETWORKS, emulator_class
from offline.replay.server import NetworkAPI, ReplayServer


def all_apis() -> dict[str, NetworkAPI]:
    """A fresh emulation of every registered network."""
    return {name: emulator_class(name)() for name in NETWORKS}


def make_server() -> ReplayServer:
    apis = all_apis()
    server = ReplayServer(apis)
    for name, api in apis.items():
        if hasattr(api, "public_base"):  # an API whose answers link to itself (GitHub's Link headers)
            api.public_base = server.base_url(name)
    return server

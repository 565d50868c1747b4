"""Fixtures shared by all tests. The local stack fixtures live in tests/integration/conftest.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chalicelib.sources.base import Budget
from offline.replay import make_server
from offline.replay.server import ReplayServer


@pytest.fixture(scope="session")
def replay_server() -> Iterator[ReplayServer]:
    with make_server() as server:
        yield server


@pytest.fixture
def replay(replay_server: ReplayServer) -> ReplayServer:
    """The replay server with no items, no faults and no recorded requests."""
    replay_server.reset()
    return replay_server


@pytest.fixture
def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 60)


class MemoryState:
    """A SourceState kept in a dict, for connector unit tests."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], dict] = {}

    def get_state(self, network: str, name: str) -> dict | None:
        return self.values.get((network, name))

    def put_state(self, network: str, name: str, value: dict) -> None:
        self.values[(network, name)] = value


@pytest.fixture
def memory_state() -> MemoryState:
    return MemoryState()

"""Fixtures shared by all tests: the replay server, and the local stack (DynamoDB Local + moto, started
once per session, only when a test asks for it)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.sources.base import Budget
from chalicelib.store import Store
from offline.replay import make_server
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests import aws_calls

aws_calls.install()  # records every AWS call the service's code makes (tests/infra/test_call_coverage.py)
CALL_COVERAGE = "tests/infra/test_call_coverage.py::test_every_recorded_call"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The call-coverage gate runs last, over the calls of every test before it."""
    last = [item for item in items if item.nodeid.startswith(CALL_COVERAGE)]
    items[:] = [item for item in items if item not in last] + last
    integration = Path(__file__).parent / "integration"
    collected = {str(item.path) for item in items}
    aws_calls.set_whole_suite(all(str(p) in collected for p in integration.glob("test_*.py")))


def pytest_sessionfinish(session: pytest.Session) -> None:
    if aws_calls.calls():
        aws_calls.write()  # .local/aws-calls.jsonl: the session's record, to read after a failure


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = aws_calls.summary_lines()
    if lines:
        terminalreporter.section("AWS calls against the deployed roles")
        for line in lines:
            terminalreporter.write_line(line)

SIGNING_KEY_PARAMETER = "/social-listening/test/signing-key"
SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"


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


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    with LocalStack(table_name="social-listening-test") as local:
        yield local


@pytest.fixture
def table(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A new empty table, the environment pointing at the stack, moto reset and prepared."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    stack.reset_moto()
    for key, value in {**stack.env(), "TABLE_NAME": name}.items():
        monkeypatch.setenv(key, value)
    stack.prepare_aws(sender="alerts@beanthere.example", signing_key_parameter=SIGNING_KEY_PARAMETER,
                      signing_key=SIGNING_KEY)
    yield name
    stack.client("dynamodb").delete_table(TableName=name)


@pytest.fixture
def store(stack: LocalStack, table: str) -> Store:
    return Store(stack.client("dynamodb"), table)

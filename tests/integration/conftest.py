"""The local stack for integration tests: one DynamoDB Local and one moto server for the
session, a fresh table and a reset moto for every test."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.config import ListenConfig, parse_config
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack

SIGNING_KEY_PARAMETER = "/social-listening/test/signing-key"
SIGNING_KEY = "test-signing-key-0123456789abcdef0123456789"


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


def make_config(replay: ReplayServer, tmp_path: Path, *, quiet: bool = False, extra: str = "", networks: str = "",
                cap: int | None = None, phone: str = "+351912345678", recipient: str = "") -> ListenConfig:
    """The example business's configuration pointed at the replay server."""
    quiet_hours = ""
    if quiet:  # two hours around now in Lisbon (midnight-spanning when needed): quiet, whenever the test runs
        local = dt.datetime.now(zoneinfo.ZoneInfo("Europe/Lisbon"))
        start = (local - dt.timedelta(hours=1)).strftime("%H:%M")
        end = (local + dt.timedelta(hours=1)).strftime("%H:%M")
        quiet_hours = f'    quiet_hours: {{start: "{start}", end: "{end}"}}\n'
    daily_cap = f"    daily_cap: {cap}\n" if cap else ""
    text = f"""\
business:
  name: Bean There Café
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
{daily_cap}  - name: complaints
    group: brand
    query: '"Bean There" AND (refund OR rude OR "food poisoning")'
    urgent: true
networks:
  hackernews:
    base_url: {replay.base_url("hackernews")}
    timeout_seconds: 2
{networks}recipients:
  - name: Maria
    email: maria@beanthere.example
    phone: "{phone}"
    timezone: Europe/Lisbon
{quiet_hours}{recipient}alerts:
  from_address: alerts@beanthere.example
  action_base_url: http://127.0.0.1:8000
secrets:
  signing_key_parameter: {SIGNING_KEY_PARAMETER}
{extra}"""
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, str(path))

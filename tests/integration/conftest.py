"""Integration-test helpers: the example configuration. The stack fixtures (one DynamoDB Local and one
moto server per session, a fresh table per test) are in tests/conftest.py, shared with the browser tests."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

from chalicelib.config import ListenConfig, parse_config
from offline.replay.server import ReplayServer
from tests.conftest import SIGNING_KEY, SIGNING_KEY_PARAMETER  # noqa: F401 (imported from here by the tests)


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

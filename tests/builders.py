"""One builder each for what many tests make: a mention, a clock, a config, a secret lookup.

Tests import these instead of writing their own copy; each takes keyword overrides so a test
says only what matters to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from chalicelib.config import ListenConfig, parse_config
from chalicelib.model import Mention

WHEN = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # a fixed instant for mentions that need one


class FakeClock:
    """``time.time`` for code under test: it moves only when the test says so. ``sleep``
    advances it instead of waiting and records each pause."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = float(now)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def mention(text: str = "Bean There", **fields: Any) -> Mention:
    """A Hacker News story mention at ``WHEN``; any field can be given."""
    values: dict[str, Any] = {"network": "hackernews", "native_id": "1",
                              "url": "https://news.ycombinator.com/item?id=1", "text": text, "created_at": WHEN}
    values.update(fields)
    return Mention(**values)


CONFIG: dict[str, Any] = {  # the smallest listen.yaml the tests start from
    "business": {"name": "Bean There Café"},
    "rules": [{"name": "brand", "group": "brand", "keywords": ["Bean There"]}],
    "networks": {"hackernews": {"base_url": "http://127.0.0.1:9/hackernews"}},
    "recipients": [{"name": "Maria", "email": "maria@beanthere.example", "phone": "+351 912 345 678",
                    "timezone": "Europe/Lisbon", "quiet_hours": {"start": "22:00", "end": "07:30"}}],
    "alerts": {"from_address": "alerts@beanthere.example"},
}


def config(**sections: Any) -> ListenConfig:
    """A ListenConfig validated by the real parser: ``CONFIG`` with the given top-level
    sections replaced (``networks={...}``, ``alerts={...}``...)."""
    return parse_config(yaml.safe_dump({**CONFIG, **sections}, allow_unicode=True, sort_keys=False))


def secrets(table: Mapping[str, str]) -> Callable[[str], str]:
    """An SSM lookup over ``table``: a name not there is a LookupError, as with the real one."""
    values = dict(table)

    def lookup(name: str) -> str:
        if name not in values:
            raise LookupError(name)
        return values[name]

    return lookup

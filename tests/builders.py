"""One builder each for what many tests make: a mention, a clock, a config, a secret lookup, a
store (the in-memory twin, recording what was written), a channel.

Tests import these instead of writing their own copy; each takes keyword overrides so a test
says only what matters to it.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import yaml

from chalicelib.config import ListenConfig, parse_config
from chalicelib.model import Mention, StoredMention, TaskState
from chalicelib.store.memory import MemoryStore

if TYPE_CHECKING:
    from chalicelib.alerts import AlertBundle

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


ACTION_WRITES = ("set_mention_state", "relabel_mention", "snooze", "assign_mention", "request_reply", "record_reply",
                 "mute_author", "mute_thread", "add_exclusion", "suppress",
                 "add_to_daily_caps")  # what the actions change
LOGGED = (*ACTION_WRITES, "audit", "use_nonce", "count_answers", "count_commands", "count_sms", "put_short_link")


def _logged(name: str) -> Callable[..., Any]:
    """``MemoryStore.<name>``, also appending (name, every argument with the defaults filled in)
    to ``calls`` when it wrote (a conditional write that found nothing returns False); a logged
    method the twin calls from another (``request_reply`` -> ``record_reply``) is not logged again."""
    method = getattr(MemoryStore, name)
    signature = inspect.signature(method)

    @functools.wraps(method)
    def call(self: RecordingStore, *args: Any, **kwargs: Any) -> Any:
        outermost, self._logging = not self._logging, True
        try:
            result = method(self, *args, **kwargs)
        finally:
            self._logging = not outermost
        if outermost and result is not False:
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            self.calls.append((name, *list(bound.arguments.values())[1:]))
        return result

    return call


class RecordingStore(MemoryStore):
    """The store's in-memory twin holding ``mentions`` (stored at the clock under job
    ``"seed"``, then given their state), which also logs the writes a test must see exactly:
    ``calls`` in order, ``writes`` those of them that change a mention, a list or a counter (what
    an action does), ``of(method)`` one method's arguments. Everything else (nonces, deliveries,
    short links, audits) is the twin's own, read back with the store's methods."""

    def __init__(self, *mentions: StoredMention, clock: Callable[[], float] | None = None) -> None:
        super().__init__(clock=clock or FakeClock())
        self.calls: list[tuple[Any, ...]] = []
        self._logging = False
        if mentions:
            self.store_new_mentions([m.item for m in mentions], "seed", 60.0)
            self.close_job("seed")
        for m in mentions:
            if m.state != "new":
                self.set_mention_state(m.key, m.state)
        self.calls.clear()

    @property
    def writes(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] in ACTION_WRITES]

    def of(self, method: str) -> list[tuple[Any, ...]]:
        return [c[1:] for c in self.calls if c[0] == method]


for _name in LOGGED:
    setattr(RecordingStore, _name, _logged(_name))


class Outbox:
    """A channel (email or SMS) that records what it sent; ``refusals`` are raised by the first
    sends, in order (a ``DeliveryFailed``, or any exception for a run that stops mid-send)."""

    def __init__(self, name: str, *refusals: Exception) -> None:
        self.name = name
        self.refusals = list(refusals)
        self.sent: list[AlertBundle] = []

    def send(self, bundle: AlertBundle) -> str:
        if self.refusals:
            raise self.refusals.pop(0)
        self.sent.append(bundle)
        return f"{self.name}-{len(self.sent)}"

    def keys(self) -> list[list[str]]:
        """The mention keys of each bundle sent, in order."""
        return [[item.mention.key for item in bundle.items] for bundle in self.sent]


# Bluesky's task states as main stored them before the shared cursor item (ba8e71f,
# chalicelib/store/poll_state.py planned_writes, for MAIN_TASK_STATES): group -> body, and the states.
MAIN_TASK_ITEMS = {
    "300#1#0": '[[{"seen":{},"time_us":1764890000000000}],{"latte art":{"c":0,"r":1764890000.0,"e":300}}]',
    "60#1#0": '[[{"seen":{"at://did:plc:a/app.bsky.feed.post/1":1764899999500000},"time_us":1764900000000000}],'
              '{"bean there":{"c":0,"r":1764900000.0,"u":1,"e":60},"coffee":{"c":0,"r":1764900000.0,"e":60},'
              '"espresso":{"c":0,"r":1764900000.0,"e":60}}]'}
MAIN_FIREHOSE = {"time_us": 1764900000000000, "seen": {"at://did:plc:a/app.bsky.feed.post/1": 1764899999500000}}
MAIN_TASK_STATES = {
    "coffee": TaskState(MAIN_FIREHOSE, 1764900000.0, every=60.0),
    "espresso": TaskState(MAIN_FIREHOSE, 1764900000.0, every=60.0),
    "bean there": TaskState(MAIN_FIREHOSE, 1764900000.0, True, every=60.0),
    "latte art": TaskState({"time_us": 1764890000000000, "seen": {}}, 1764890000.0, every=300.0)}

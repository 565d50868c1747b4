"""A small in-memory stand-in for the Store methods the actions and their two channels (web
pages, SMS commands) call, behind the Store's own method names; every write is kept in
``writes`` in order, so a test can compare what two channels did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Sequence
from typing import Any

from chalicelib.config import parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention

CONFIG = parse_config("""\
business:
  name: Bean There Café
rules:
  - {name: brand, group: brand, keywords: ["Bean There"], daily_cap: 5}
  - {name: espresso, group: product, keywords: ["espresso"]}
networks:
  hackernews: {}
  github: {}
recipients:
  - {name: Rui, phone: "+351912345678", timezone: Europe/Lisbon}
  - {name: Ana, phone: "+351965550100", email: ana@beanthere.example}
  - {name: Maria, email: maria@beanthere.example}
alerts:
  from_address: alerts@beanthere.example
  action_base_url: https://listen.beanthere.example
""")
NOW = dt.datetime(2026, 11, 27, 10, 15, tzinfo=dt.UTC).timestamp()
KEY = b"unit-test-signing-key-0123456789abcdef"


def recipient(name: str) -> Any:
    found = CONFIG.recipient(name)
    assert found is not None
    return found


def stored_mention(network: str = "hackernews", native_id: str = "4242", *, author: str = "grumpy_dev",
                   kind: str = "comment", thread: dict[str, str] | None = None, state: str = "new",
                   text: str = "Bean There was rude", rules: Sequence[str] = ("brand",)) -> StoredMention:
    mention = Mention(network, native_id, f"https://news.ycombinator.com/item?id={native_id}", text,
                      dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), kind=kind, author_handle=author,
                      thread=thread if thread is not None else {"story_id": "4000"})
    matches = tuple(RuleMatch(rule, "brand", True) for rule in rules)
    return StoredMention(MatchedMention(mention, matches), state, "2026-11-27T10:00")


class FakeStore:
    """The Store's methods the actions call, in dicts."""

    def __init__(self, *mentions: StoredMention) -> None:
        self.now = NOW
        self.mentions = {m.key: m for m in mentions}
        self.writes: list[tuple[Any, ...]] = []  # (method, args...) of every write but audits and nonces
        self.audits: list[tuple[str, str, str, str, str]] = []
        self.nonces: dict[str, tuple[str, str]] = {}  # nonce -> ("claimed", claim) | ("spent", bound_to)
        self.used: set[str] = set()
        self.links: dict[str, str] = {}
        self.suppressions: dict[str, str] = {}
        self.deliveries: dict[tuple[str, str, str], str] = {}
        self.counts: dict[tuple[str, str, str], int] = {}
        self._claims = itertools.count(1)
        self.model: tuple[str, int] | None = None  # the feedback model (JSON) and its version, not in writes

    def clock(self) -> float:
        return self.now

    # mentions
    def get_mention(self, key: str) -> StoredMention | None:
        return self.mentions.get(key)

    def set_mention_state(self, key: str, state: str) -> bool:
        return self._write_mention("set_mention_state", key, state)

    def relabel_mention(self, item: MatchedMention) -> bool:
        intents = sorted(item.triage.intents) if item.triage else []
        if not self._write_mention("relabel_mention", item.mention.key, intents, item.priority):
            return False
        self.mentions[item.mention.key] = dataclasses.replace(self.mentions[item.mention.key], item=item)
        return True

    def feedback_model(self) -> tuple[str, int] | None:
        return self.model

    def save_feedback_model(self, model: str, version: int) -> bool:
        if (self.model[1] if self.model else 0) != version:
            return False
        self.model = (model, version + 1)
        return True

    def snooze(self, key: str, until: int) -> bool:
        return self._write_mention("snooze", key, until)

    def assign_mention(self, key: str, to: str, by: str) -> bool:
        return self._write_mention("assign_mention", key, to, by)

    def _write_mention(self, method: str, key: str, *args: Any) -> bool:
        """A conditional write to a stored mention: False (nothing written) if it is not stored."""
        if key not in self.mentions:
            return False
        if method == "set_mention_state":
            self.mentions[key] = dataclasses.replace(self.mentions[key], state=args[0])
        self.writes.append((method, key, *args))
        return True

    def rule_mentions_since(self, rule: str, since: float, limit: int = 5000) -> list[StoredMention]:
        return [m for m in self.mentions.values() if any(match.rule == rule for match in m.item.matches)]

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        self.writes.append(("request_reply", key, text, recipient))

    def record_reply(self, key: str, text: str, recipient: str, *, status: str, detail: str = "") -> None:
        self.writes.append(("record_reply", key, text, recipient, status, detail))

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None:
        self.audits.append((key, action, recipient, result, nonce))

    # lists
    def mute_author(self, network: str, handle: str, by: str) -> None:
        self.writes.append(("mute_author", network, handle, by))

    def mute_thread(self, thread_root: str, by: str) -> None:
        self.writes.append(("mute_thread", thread_root, by))

    def add_exclusion(self, rule: str, term: str) -> None:
        self.writes.append(("add_exclusion", rule, term))

    def suppress(self, address: str, reason: str) -> None:
        self.suppressions[address.casefold()] = reason
        self.writes.append(("suppress", address, reason))

    def suppressed(self) -> dict[str, str]:
        return dict(self.suppressions)

    # counters
    def add_to_daily_caps(self, day: str, *, counts: dict[str, int] | None = None,
                          raised: dict[str, int] | None = None) -> None:
        self.writes.append(("add_to_daily_caps", day, counts, raised))

    def count_answers(self, sender: str, hour: str) -> int:
        return self._count("answers", sender, hour)

    def count_commands(self, sender: str, hour: str) -> int:
        return self._count("commands", sender, hour)

    def _count(self, kind: str, sender: str, hour: str) -> int:
        self.counts[(kind, sender, hour)] = self.counts.get((kind, sender, hour), 0) + 1
        return self.counts[(kind, sender, hour)]

    # deliveries, nonces, short links
    def claim_delivery(self, job_id: str, recipient: str, channel: str, mention_keys: Sequence[str],
                       lease_seconds: float = 0) -> bool:
        if (job_id, recipient, channel) in self.deliveries:
            return False
        self.deliveries[(job_id, recipient, channel)] = "sending"
        return True

    def finish_delivery(self, job_id: str, recipient: str, channel: str, status: str, **_: Any) -> None:
        self.deliveries[(job_id, recipient, channel)] = status

    def use_nonce(self, nonce: str, expires_at: int) -> bool:
        if nonce in self.used:
            return False
        self.used.add(nonce)
        return True

    def claim_nonce(self, nonce: str, expires_at: int, lease_seconds: float) -> str | None:
        if nonce in self.nonces:
            return None
        claim = f"claim-{next(self._claims)}"
        self.nonces[nonce] = ("claimed", claim)
        return claim

    def spend_nonce(self, nonce: str, claim: str, bound_to: str = "") -> bool:
        if self.nonces.get(nonce) != ("claimed", claim):
            return False
        self.nonces[nonce] = ("spent", bound_to)
        return True

    def release_nonce(self, nonce: str, claim: str) -> None:
        if self.nonces.get(nonce) == ("claimed", claim):
            del self.nonces[nonce]

    def spent_nonce(self, nonce: str) -> str | None:
        state = self.nonces.get(nonce)
        return state[1] if state is not None and state[0] == "spent" else None

    def get_short_link(self, code: str) -> str | None:
        return self.links.get(code)

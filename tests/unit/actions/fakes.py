"""What the action tests share: the configuration, stored mentions and the store's in-memory
twin holding them (``tests.builders.RecordingStore``: every write is kept in ``writes`` in
order, so a test can say nothing else was written and compare what two channels did)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from chalicelib.config import parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.store.table import iso
from tests.builders import RecordingStore

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
    return StoredMention(MatchedMention(mention, matches), state, iso(NOW), "seed")  # as the twin reads it back


def recording(*mentions: StoredMention) -> RecordingStore:
    """The store's in-memory twin holding ``mentions`` at ``NOW``, logging the actions' writes."""
    return RecordingStore(*mentions, clock=lambda: NOW)

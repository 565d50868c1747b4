"""How ``Store.store_new_mentions`` writes (issue #19): one conditional put per mention, no
transaction (a transaction bills two write units per item; each put is conditional on its own
item and the job already lists every key, so nothing needs the all-or-nothing).
The once-only guarantee under racing cycles is in test_store_twin.py."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.store import Store
from chalicelib.store.mentions import PUTS_UP_TO
from tests.integration.test_store_twin import START, mention

pytestmark = pytest.mark.integration


class Recording:
    """A DynamoDB client that records each operation's name."""

    def __init__(self, client: Any) -> None:
        self.client, self.operations = client, []  # type: ignore[var-annotated]

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if not callable(attr) or name.startswith("_") or name == "meta":
            return attr

        def call(**kwargs: Any) -> Any:
            self.operations.append(name)
            return attr(**kwargs)

        return call


@pytest.fixture
def recorded(stack: Any) -> Iterator[tuple[Store, Recording]]:
    name = f"puts-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    client = Recording(stack.client("dynamodb"))
    yield Store(client, name, clock=lambda: START), client
    stack.client("dynamodb").delete_table(TableName=name)


def test_new_mentions_are_plain_conditional_puts_one_unit_each(recorded: tuple[Store, Recording]) -> None:
    store, client = recorded
    store.units_by_caller = {}
    assert store.store_new_mentions([mention("0")], "job-0", 60) == [mention("0")]
    assert store.units_by_caller["store_new_mentions"] == 2  # the method's (not a helper's): item and inbox entry
    candidates = [mention(str(i)) for i in range(PUTS_UP_TO)]  # one already stored by job-0
    client.operations.clear()
    store.units_by_caller = {}
    stored = store.store_new_mentions(candidates, "job-1", 60)
    assert stored == candidates[1:]  # in the order given, without the one job-0 owns
    assert "transact_write_items" not in client.operations
    assert client.operations == ["put_item"] * (1 + 100)  # the job record, then one put per mention
    assert store.units_by_caller["store_new_mentions"] == 2 * 99  # per stored item under 1 KB: it, its inbox entry
    assert store.get_mention(candidates[0].mention.key).job == "job-0"  # type: ignore[union-attr]
    assert {s.job for s in store.get_mentions([m.mention.key for m in stored]).values()} == {"job-1"}


def test_more_new_mentions_than_puts_up_to_go_in_transactions_of_100(recorded: tuple[Store, Recording]) -> None:
    # a backlog or a first run: one round trip per 100 (two units an item), not one per mention
    store, client = recorded
    store.store_new_mentions([mention("7"), mention("150")], "job-0", 60)
    candidates = [mention(str(i)) for i in range(250)]  # two already stored by job-0
    client.operations.clear()
    stored = store.store_new_mentions(candidates, "job-1", 60)
    assert stored == [m for m in candidates if m.mention.native_id not in ("7", "150")]
    # the job record; 3 transactions of 100, 100, 50, the first two cancelled once by the item job-0 owns
    assert client.operations == ["put_item"] + ["transact_write_items"] * 5
    assert store.get_mention(mention("7").mention.key).job == "job-0"  # type: ignore[union-attr]
    assert {s.job for s in store.get_mentions([m.mention.key for m in stored]).values()} == {"job-1"}
    assert PUTS_UP_TO == 100


def test_a_refused_mention_in_a_transaction_is_left_out_alone(recorded: tuple[Store, Recording]) -> None:
    store, client = recorded
    candidates = [mention(str(i)) for i in range(120)]
    bad = candidates[5]
    candidates[5] = type(bad)(replace(bad.mention, tags=tuple(f"tag-{n}-" + "y" * 100 for n in range(5000))),
                              bad.matches)  # over DynamoDB's 400 KB an item (the fault matrix's huge item)
    skipped: list[Any] = []
    stored = store.store_new_mentions(candidates, "job-1", 60, skipped)
    assert stored == candidates[:5] + candidates[6:]
    assert [m for m, _ in skipped] == [candidates[5]] and "could not be stored" in skipped[0][1]
    # the job; the first 100 refused as a transaction, then one put each; the other 20 in one transaction
    assert Counter(client.operations) == {"put_item": 1 + 100, "transact_write_items": 2}

"""How ``Store.store_new_mentions`` writes (issue #19): one conditional put per mention, no
transaction (a transaction bills two write units per item; each put is conditional on its own
item and the job already lists every key, so nothing needs the all-or-nothing).
The once-only guarantee under racing cycles is in test_store_twin.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.store import Store
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
    candidates = [mention(str(i)) for i in range(150)]  # one already stored by job-0
    client.operations.clear()
    store.units_by_caller = {}
    stored = store.store_new_mentions(candidates, "job-1", 60)
    assert stored == candidates[1:]  # in the order given, without the one job-0 owns
    assert "transact_write_items" not in client.operations
    assert client.operations == ["put_item"] * (1 + 150)  # the job record, then one put per mention
    assert store.units_by_caller["store_new_mentions"] == 2 * 149  # per stored item under 1 KB: it, its inbox entry
    assert store.get_mention(candidates[0].mention.key).job == "job-0"  # type: ignore[union-attr]
    assert {s.job for s in store.get_mentions([m.mention.key for m in stored]).values()} == {"job-1"}

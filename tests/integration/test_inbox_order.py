"""The ``inbox`` index holds each day in the inbox's order (issue 18): a page reads about one page of
entries, and entries keyed the former way (``<stored_at>#<key>``) are still listed in their place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest

from chalicelib.store import Store
from chalicelib.store.inbox import rank
from chalicelib.store.table import iso
from chalicelib.table import INBOX_INDEX_NAME
from chalicelib.triage import Triage
from offline.stack import LocalStack
from tests.integration.test_store_twin import DAY, START, mention

DAYS = ["2030-03-19", "2030-03-18", DAY]
PER_DAY = 60


@pytest.fixture
def store(stack: LocalStack) -> Iterator[Store]:
    name = f"order-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    now = [START]
    store = Store(stack.client("dynamodb"), name, clock=lambda: now[0])
    for day in range(len(DAYS)):
        now[0] = START + day * 86400
        store.store_new_mentions([mention(f"{day}-{n}", triage=Triage(0.0, "neutral", frozenset(), n, (), n % 5 == 0))
                                  for n in range(PER_DAY)], f"job-{day}", 60)
    yield store
    stack.client("dynamodb").delete_table(TableName=name)


def items_read(store: Store) -> list[int]:
    """Swap the store's ``_call`` to count the index entries each Query returns."""
    counted: list[int] = []
    call = store._call

    def counting(operation: str, **kwargs: Any) -> Any:
        response = call(operation, **kwargs)
        if operation == "query" and kwargs.get("IndexName") == INBOX_INDEX_NAME:
            counted.append(len(response["Items"]))
        return response

    store._call = counting  # type: ignore[method-assign]
    return counted


def test_a_page_reads_about_one_page_of_entries_a_day_not_the_days_whole(store: Store) -> None:
    counted = items_read(store)
    rows = list(islice(store.inbox_ordered(DAYS, batch=11), 10))
    read = list(counted)
    everything = sorted(store.inbox_entries(DAYS), key=rank)
    assert len(everything) == len(DAYS) * PER_DAY
    assert rows == everything[:10]
    assert sum(read) == len(DAYS) * 11  # the first batch of each day; the former-form Query finds none
    assert len(read) == 2 * len(DAYS)


def test_taking_past_a_days_batch_reads_that_days_next_larger_batch_only(store: Store) -> None:
    counted = items_read(store)
    rows = list(islice(store.inbox_ordered(DAYS, (1, 1), batch=5), 30))
    read = sum(counted)
    assert rows == [e for e in sorted(store.inbox_entries(DAYS), key=rank) if rank(e)[0] == 1][:30]
    assert 30 <= read <= len(DAYS) * (5 + 20)  # a batch of 5 a day, then 4 × 5: of the 144 new, not opportunities


def test_an_entry_keyed_the_former_way_is_listed_in_its_place(store: Store) -> None:
    key = "hackernews#1-7"
    store.client.update_item(TableName=store.table, Key={"pk": {"S": f"M#{key}"}, "sk": {"S": "M"}},
                             UpdateExpression="SET isk = :former",
                             ExpressionAttributeValues={":former": {"S": f"{iso(START + 86400)}#{key}"}})
    ordered = list(store.inbox_ordered(DAYS, batch=7))
    assert ordered == sorted(store.inbox_entries(DAYS), key=rank)
    assert [e.key for e in ordered].count(key) == 1
    assert [e.key for e in store.inbox_ordered(DAYS, (1, 1))] == [
        e.key for e in ordered if rank(e)[0] == 1]
    store.set_mention_state(key, "handled")  # rewritten in the ordered form
    assert next(e for e in store.inbox_ordered(DAYS, (3, 3))).key == key

"""The store asks DynamoDB for consumed capacity only where someone counts it: ``make cost`` and the
benches (the default, and always while ``units_by_caller`` is a dict), not the Lambda's store, whose
requests then go out as built (a fake client, no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.store import Store


class FakeClient:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        consumed = {"ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}}
        return consumed if "ReturnConsumedCapacity" in kwargs else {}


KEY = {"pk": {"S": "p"}, "sk": {"S": "s"}}


def test_a_store_counts_units_by_default() -> None:
    client = FakeClient()
    store = Store(client, "t")
    store._call("get_item", TableName="t", Key=KEY)
    assert client.calls == [{"TableName": "t", "Key": KEY, "ReturnConsumedCapacity": "TOTAL"}]
    assert (store.requests, store.read_units, store.write_units) == (1, 0.5, 0.0)


def test_a_store_that_counts_no_units_sends_the_request_as_built() -> None:
    client = FakeClient()
    store = Store(client, "t", count_units=False)
    store._call("get_item", TableName="t", Key=KEY)
    assert client.calls == [{"TableName": "t", "Key": KEY}]
    assert (store.requests, store.read_units) == (1, 0.0)  # requests are still counted (the cycle's report)


def test_units_by_caller_asks_for_units_even_when_the_store_counts_none() -> None:
    client = FakeClient()
    store = Store(client, "t", count_units=False)
    store.units_by_caller = {}
    store._call("get_item", TableName="t", Key=KEY)
    assert client.calls[0]["ReturnConsumedCapacity"] == "TOTAL"
    assert store.read_units == 0.5 and sum(store.units_by_caller.values()) == 0.5


def test_the_lambdas_store_counts_no_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABLE_NAME", "listen-table")
    monkeypatch.setenv("LISTEN_CONFIG", "listen.example.yaml")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setattr(runtime, "read_secret", lambda name, prefix: "k" * 40)
    runtime.runtime.cache_clear()
    try:
        store = runtime.runtime().store
        assert isinstance(store, Store) and store.count_units is False and store.table == "listen-table"
    finally:
        runtime.runtime.cache_clear()

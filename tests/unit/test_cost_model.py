"""`make cost` prices DynamoDB as on-demand bills it (offline/cost.py): item sizes per the AWS
developer guide ("Item Sizes and Capacity Unit Consumption") and transactional writes at two
write units per item per KB ("Capacity Management for Transactions"), not what DynamoDB Local
reports for a transaction."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from offline.cost import WARM_CATCH_UP_CYCLES, BilledClient, attribute_size, catch_up, item_size, write_units


def test_item_sizes_follow_the_documented_rules() -> None:
    assert attribute_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert attribute_size({"N": "12345"}) == 4  # 1 byte per two significant digits, + 1
    assert attribute_size({"N": "1200.00"}) == 2  # zeroes trimmed: "12"
    assert attribute_size({"N": "0.0012"}) == 2
    assert attribute_size({"B": b"\x00\x01\x02"}) == 3
    assert attribute_size({"BOOL": True}) == attribute_size({"NULL": True}) == 1
    assert attribute_size({"L": []}) == attribute_size({"M": {}}) == 3
    assert attribute_size({"M": {"ab": {"S": "xyz"}}}) == 3 + 2 + 3
    assert attribute_size({"SS": ["a", "bc"]}) == 3
    assert item_size({"pk": {"S": "M#x"}, "data": {"S": "y" * 1000}}) == 2 + 3 + 4 + 1000
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type 'Q'"):
        attribute_size({"Q": "?"})


def test_write_units_round_up_per_kilobyte() -> None:
    assert [write_units(n) for n in (0, 1, 1024, 1025, 2048, 2049)] == [1, 1, 1, 2, 2, 3]


class Cycles:
    """``run_cycle`` of a pipeline that stores the given numbers of new mentions, one a cycle."""

    def __init__(self, stored: list[int]) -> None:
        self.stored = stored
        self.offset = 0.0  # the clock's, as DemoClock has it

    def __call__(self) -> Any:
        return type("Report", (), {"new_mentions": self.stored.pop(0) if self.stored else 7})()


def test_the_warm_up_runs_cycles_a_minute_apart_until_one_stores_nothing() -> None:
    # one cycle an hour leaves pages unread at 10,000 a day: the measured hour would store them (3.9x its own)
    cycles = Cycles([417, 120, 3, 0, 9])
    assert catch_up(cycles, cycles) == 4
    assert cycles.offset == 240
    assert cycles.stored == [9]  # no cycle after the one that stored nothing


def test_a_warm_up_that_never_catches_up_is_an_error_not_a_figure() -> None:
    cycles = Cycles([])
    with pytest.raises(RuntimeError, match=f"did not catch up in {WARM_CATCH_UP_CYCLES} cycles"):
        catch_up(cycles, cycles)
    assert cycles.offset == 60 * WARM_CATCH_UP_CYCLES


class FakeDynamoDB:
    """Items by (pk, sk); a transaction reports what DynamoDB Local reports: a few units in all."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def get_item(self, *, TableName: str, Key: dict[str, Any], ConsistentRead: bool) -> dict[str, Any]:
        item = self.items.get((Key["pk"]["S"], Key["sk"]["S"]))
        return {"Item": item} if item else {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        for part in TransactItems:
            if "Put" in part:
                item = part["Put"]["Item"]
                if (item["pk"]["S"], item["sk"]["S"]) in self.items:
                    raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "no"}},
                                      "TransactWriteItems")
        for part in TransactItems:
            if "Put" in part:
                item = part["Put"]["Item"]
                self.items[(item["pk"]["S"], item["sk"]["S"])] = item
            elif "Delete" in part:
                key = part["Delete"]["Key"]
                self.items.pop((key["pk"]["S"], key["sk"]["S"]))
        return {"ConsumedCapacity": [{"TableName": "t", "CapacityUnits": 4.0}]}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}, "PutItem")


def put(n: int, size: int) -> dict[str, Any]:
    return {"Put": {"TableName": "t", "Item": {"pk": {"S": f"M#{n:03d}"}, "sk": {"S": "M"},
                                               "data": {"S": "x" * size}}}}


def test_a_100_item_transaction_is_billed_two_units_per_item_per_kilobyte() -> None:
    fake = FakeDynamoDB()
    client = BilledClient(fake)
    small = client.transact_write_items(TransactItems=[put(n, 100) for n in range(100)],
                                        ReturnConsumedCapacity="TOTAL")
    assert small["ConsumedCapacity"] == [{"TableName": "t", "CapacityUnits": 200.0}]  # Local said 4
    large = client.transact_write_items(TransactItems=[put(n, 1500) for n in range(100, 110)],
                                        ReturnConsumedCapacity="TOTAL")
    assert large["ConsumedCapacity"][0]["CapacityUnits"] == 40.0  # 1.5 KB: 2 units, twice
    assert (client.transaction_items, client.transaction_units) == (110, 240.0)
    assert client.unreported_write_units == 0.0


def test_deleting_in_a_transaction_bills_the_size_before() -> None:
    fake = FakeDynamoDB()
    client = BilledClient(fake)
    client.transact_write_items(TransactItems=[put(1, 3000)])
    deleted = client.transact_write_items(
        TransactItems=[{"Delete": {"TableName": "t", "Key": {"pk": {"S": "M#001"}, "sk": {"S": "M"}}}}],
        ReturnConsumedCapacity="TOTAL")
    assert deleted["ConsumedCapacity"][0]["CapacityUnits"] == 6.0  # 3 KB before, twice


def test_failed_writes_are_billed_though_no_response_reports_them() -> None:
    fake = FakeDynamoDB()
    client = BilledClient(fake)
    client.transact_write_items(TransactItems=[put(1, 2000)])
    with pytest.raises(ClientError):
        client.transact_write_items(TransactItems=[put(1, 10), put(2, 10)])
    assert client.unreported_write_units == 2 * 2 + 2 * 1  # the existing 2 KB item and the absent one
    with pytest.raises(ClientError):
        client.put_item(TableName="t", Item=put(1, 10)["Put"]["Item"], ConditionExpression="attribute_not_exists(pk)")
    assert client.unreported_write_units == 6 + 2


def test_the_poll_memory_keeps_a_10k_item_cycle_within_half_its_budget() -> None:
    from bench.pipeline import lambda_memory_figures

    figures = dict(lambda_memory_figures(3.6, 160))  # CPU seconds and DynamoDB requests measured (make bench)
    assert figures["cycle_after_fetch_budget_s"] == 20.0  # 60 s timeout less the 40 s fetch budget
    assert figures["lambda_cycle_s_10k_items_at_256mb"] == round(3.6 * 1769 / 256 + 0.8, 1)  # 25.7: too slow
    assert figures["lambda_memory_mb_needed_10k_items"] == round(1769 * 3.6 / (10 - 0.8))  # 692
    assert figures["lambda_memory_mb_poll"] == 768 and figures["lambda_memory_ok"] == 1.0
    assert dict(lambda_memory_figures(7.2, 160))["lambda_memory_ok"] == 0.0  # twice the CPU would not fit

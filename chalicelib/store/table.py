"""The one table helper every aggregate of the store writes through: the request patterns, once.

- ``_call``: every DynamoDB request, counted (requests, read and write capacity unless ``count_units`` is
  off, and per public store method when ``units_by_caller`` is a dict: ``make cost`` reads it);
- ``_conditional``: a conditional put, update or delete; False when its condition failed;
- ``_batch_get``: keys in chunks of 100 (DynamoDB's limit), several chunks at once, unprocessed
  keys asked again;
- ``_batch_write``: puts in chunks of 25, unprocessed items sent again;
- ``_query``: a Query read page after page (up to ``limit`` items);
- ``_transact``: a transaction retried on conflicts, the indexes whose condition failed returned.

Item shapes (keys, attributes) belong to the aggregates (see ``chalicelib.store``); this module
knows only DynamoDB's wire format and limits.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import FrameType
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.table import INDEX_NAME

TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_WRITE_ITEMS = 25  # DynamoDB's limit per BatchWriteItem
READ_OPERATIONS = frozenset({"get_item", "batch_get_item", "query", "scan"})
PARALLEL_READS = 4  # read batches of a cycle sent at once (measured: writes gain nothing, DynamoDB Local loses)
# New mentions' conditional puts sent at once: one round trip each, so their number, not DynamoDB's work, sets how
# long storing a large cycle takes (bench.pipeline: ddb_put_workers, pipeline_speedup_vs_naive_rtt_5ms).
PARALLEL_PUTS = 16

Item = dict[str, Any]  # one item in DynamoDB's wire format ({"pk": {"S": ...}, ...})


def client_config() -> Any:
    """botocore settings for the DynamoDB client: adaptive retries for throttling, short
    timeouts, and no client-side parameter validation (every request is built here; it
    costs a quarter of the client's CPU on batches)."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=3, read_timeout=10,
                  parameter_validation=False, max_pool_connections=max(PARALLEL_READS * 2, PARALLEL_PUTS))


def iso(ts: float) -> str:
    """Unix seconds as the ISO 8601 UTC timestamp (milliseconds) items are stamped with."""
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).isoformat(timespec="milliseconds")


def pk_sk(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def string_of(item: Item, name: str) -> str | None:
    """A string attribute of an item, None if absent."""
    value = item.get(name)
    return str(value["S"]) if value else None


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def refused_item(err: ClientError) -> bool:
    """DynamoDB refused a request for what an item is (too large, a bad value), not for load
    or a condition: retrying it cannot help."""
    code = err.response["Error"]["Code"]
    reasons = err.response.get("CancellationReasons") or []
    return code == "ValidationException" or (
        code == "TransactionCanceledException" and any(r.get("Code") == "ValidationError" for r in reasons))


def _public_caller(frame: FrameType) -> str:
    """The name of the innermost function on the stack from ``frame`` out that is not ``_``-named."""
    while frame.f_back is not None and frame.f_code.co_name.startswith("_"):
        frame = frame.f_back
    return frame.f_code.co_name


class Table:
    """The table's client and name, the clock items are stamped with, and what requests cost.
    ``client`` is a boto3 DynamoDB client (tests may swap it, or ``_call``, on a live store)."""

    def __init__(self, client: Any, table_name: str, *, clock: Callable[[], float] = time.time,
                 count_units: bool = True) -> None:
        self.client = client
        self.table = table_name
        self.clock = clock
        # Ask DynamoDB what each request consumed (make cost, the benches): the Lambda counts no units, and
        # DynamoDB Local spends about a quarter of a 100-item transaction's time computing them (bench.pipeline).
        self.count_units = count_units
        self.requests = 0  # DynamoDB requests made, for the benchmarks and the demo summary
        self.read_units = 0.0  # capacity DynamoDB says it consumed (what on-demand billing charges)
        self.write_units = 0.0
        self.units_by_caller: dict[str, float] | None = None  # {}: also count capacity per Store method
        self._count_lock = threading.Lock()
        self._worker = threading.local()  # in an _in_parallel worker: .caller, the method that started it

    def _call(self, operation: str, **kwargs: Any) -> Any:
        with self._count_lock:
            self.requests += 1
        if not self.count_units and self.units_by_caller is None:
            return getattr(self.client, operation)(**kwargs)
        response = getattr(self.client, operation)(**kwargs, ReturnConsumedCapacity="TOTAL")
        consumed = response.get("ConsumedCapacity") or []
        units = sum(c.get("CapacityUnits", 0.0) for c in (consumed if isinstance(consumed, list) else [consumed]))
        with self._count_lock:
            if operation in READ_OPERATIONS:
                self.read_units += units
            else:
                self.write_units += units
            if self.units_by_caller is not None:  # only `make cost` asks: it walks the stack
                caller = self._caller()
                self.units_by_caller[caller] = self.units_by_caller.get(caller, 0.0) + units
        return response

    def _caller(self) -> str:
        """The Store method that made the request (for the cost breakdown): the innermost
        frame whose function is public (the helpers here and in the aggregates are ``_``-named);
        in a worker of ``_in_parallel``, the method that started the work."""
        started_by = getattr(self._worker, "caller", None)
        if started_by is not None:
            return str(started_by)
        return _public_caller(sys._getframe(2))

    def _conditional(self, operation: str, **kwargs: Any) -> bool:
        """A put, update or delete with a ``ConditionExpression``; False if the condition failed."""
        try:
            self._call(operation, TableName=self.table, **kwargs)
        except ClientError as err:
            if err.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _in_parallel(self, work: Callable[[Sequence[Any]], Any], parts: list[Sequence[Any]],
                     workers: int = PARALLEL_READS) -> list[Any]:
        """Run ``work`` on each part, up to ``workers`` at once; results in part order."""
        if len(parts) <= 1:
            return [work(part) for part in parts]
        caller = _public_caller(sys._getframe(1)) if self.units_by_caller is not None else None

        def _attributed(part: Sequence[Any]) -> Any:
            self._worker.caller = caller
            return work(part)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ddb") as pool:
            return list(pool.map(_attributed, parts))

    def _batch_get(self, keys: Sequence[Item], *, consistent: bool = True,
                   projection: str | None = None) -> list[Item]:
        """The items at these keys (those that exist, in no particular order): one BatchGetItem
        per 100 keys, up to ``PARALLEL_READS`` at once, unprocessed keys asked again."""
        options: dict[str, Any] = {"ConsistentRead": True} if consistent else {}
        if projection:
            options["ProjectionExpression"] = projection

        def _get(chunk: Sequence[Item]) -> list[Item]:
            found: list[Item] = []
            request: dict[str, Any] = {self.table: {"Keys": list(chunk), **options}}
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                found.extend(response["Responses"].get(self.table, []))
                request = response.get("UnprocessedKeys") or {}
            return found

        return [item for part in self._in_parallel(_get, list(chunks(keys, BATCH_GET_KEYS))) for item in part]

    def _batch_write(self, puts: Sequence[Item], *, deletes: Sequence[Item] = ()) -> None:
        """Put these items (idempotent overwrites), then delete the items at ``deletes`` (keys, once every
        put is written): one BatchWriteItem per 25, unprocessed ones sent again."""
        writes = chunks([{"PutRequest": {"Item": item}} for item in puts], BATCH_WRITE_ITEMS)
        for chunk in [*writes, *chunks([{"DeleteRequest": {"Key": key}} for key in deletes], BATCH_WRITE_ITEMS)]:
            request: dict[str, Any] = {self.table: list(chunk)}
            while request:
                request = self._call("batch_write_item", RequestItems=request).get("UnprocessedItems") or {}

    def _query(self, condition: str, values: Item, *, index: bool | str = False, limit: int | None = None,
               consistent: bool = True) -> list[Item]:
        """The items a key condition selects, in sort key order, page after page (at most
        ``limit``). ``index``: True for the sparse index, or an index's name (eventually consistent only)."""
        kwargs: dict[str, Any] = {"TableName": self.table, "KeyConditionExpression": condition,
                                  "ExpressionAttributeValues": values}
        if index:
            kwargs["IndexName"] = index if isinstance(index, str) else INDEX_NAME
        elif consistent:
            kwargs["ConsistentRead"] = True
        items: list[Item] = []
        while limit is None or len(items) < limit:
            page = {"Limit": limit - len(items)} if limit is not None else {}
            response = self._call("query", **kwargs, **page)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items

    def _transact(self, transact: list[Item], attempts: int = 5) -> set[int] | None:
        """Run a transaction. None if it committed; else the indexes whose condition failed
        (the caller drops them and runs the rest again). Conflicts are retried."""
        for attempt in range(attempts):
            try:
                self._call("transact_write_items", TransactItems=transact)
                return None
            except ClientError as err:
                if err.response["Error"]["Code"] != "TransactionCanceledException" or refused_item(err):
                    raise
                reasons = err.response.get("CancellationReasons") or []
                failed = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
                if failed:
                    return failed
                time.sleep(0.05 * 2**attempt)  # a conflict with a concurrent transaction
        raise RuntimeError("DynamoDB transaction kept conflicting; giving up for this cycle")

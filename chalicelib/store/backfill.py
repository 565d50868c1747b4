"""Mentions stored before the inbox index (no ``isk``) put into it, a bounded step at a time, by itself.

The hourly digest function runs ``InboxBackfill.backfill_inbox`` after the digests: it reads its progress
(``BACKFILL`` / ``inbox``: the Scan's ``ExclusiveStartKey`` as JSON, or ``done``), Scans on from there page by
page, and gives each mention item without ``isk`` its index attributes (``facets``, ``ipk``, ``isk``, as
``store_new_mentions`` writes them, for the state it is in) with a conditional update: only while it still has
no ``isk`` and its state and facets are those read, so a newer state or triage written meanwhile is never
overwritten (the item is read again and indexed as it now is). The progress is written after each page, so a
run stopped half way (its time ran out, a throttle) goes on from its last page; it stops at ``RUN_ITEMS``
items scanned or ``RUN_SECONDS`` seconds. Once a Scan reaches the end it records ``done``, and later runs cost
one GetItem and write nothing. Mentions expire after 90 days, so without this they would be listed in no
inbox until they expired.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.model import matched_from_dict
from chalicelib.store.inbox import facets_of, inbox_keys
from chalicelib.store.table import PARALLEL_PUTS, Item, Table, chunks, pk_sk
from chalicelib.table import INBOX_SORT_KEY

PROGRESS_KEY = ("BACKFILL", "inbox")
RUN_ITEMS = 20_000  # items a run scans at most (about 20 MB of a table at 1 KB an item: 2,500 read units)
RUN_SECONDS = 20.0  # and for at most this long (the digest function has 60 s, its digests come first)
PAGE_ITEMS = 1000  # items a Scan page reads at most (a page is also at most 1 MB)
ATTEMPTS = 5  # conditional writes tried for one item whose state or facets keep changing
_READ = "pk, #state, stored_at, #data, facets, isk"  # what indexing an item needs (and whether it has isk)
_NAMES = {"#state": "state", "#data": "data"}


@dataclass(frozen=True, slots=True)
class BackfillRun:
    """What one run did: items the Scan read, mentions it put into the index, and whether every item has
    been looked at (``done``: later runs do nothing)."""

    scanned: int
    indexed: int
    done: bool


def index_update(key: str, item: Item) -> dict[str, Any]:
    """The conditional UpdateItem putting mention ``key`` (its item as read: ``_READ``) into the inbox index."""
    facets = item["facets"]["S"] if "facets" in item else facets_of(matched_from_dict(json.loads(item["data"]["S"])))
    same_facets = "facets = :facets" if "facets" in item else "attribute_not_exists(facets)"
    keys = inbox_keys(item["stored_at"]["S"], key, facets, item["state"]["S"])
    return {
        "Key": pk_sk(item["pk"]["S"], "M"),
        "UpdateExpression": "SET facets = :facets, ipk = :ipk, isk = :isk",
        "ConditionExpression": f"attribute_exists(pk) AND attribute_not_exists({INBOX_SORT_KEY}) "
                               f"AND #state = :state AND {same_facets}",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {":facets": {"S": facets}, ":state": item["state"],
                                      ":ipk": keys["ipk"], ":isk": keys["isk"]},
    }


class InboxBackfill(Table):
    def backfill_inbox(self, max_items: int = RUN_ITEMS, max_seconds: float = RUN_SECONDS) -> BackfillRun:
        """One bounded step of putting the mentions stored before the inbox index into it (the module's
        docstring): at most ``max_items`` items scanned, no new page after ``max_seconds``."""
        progress = self._call("get_item", TableName=self.table, Key=pk_sk(*PROGRESS_KEY),
                              ConsistentRead=True).get("Item") or {}
        if "done" in progress:
            return BackfillRun(0, 0, True)
        start: Item | None = json.loads(progress["start"]["S"]) if "start" in progress else None
        scanned = indexed = 0
        began = time.monotonic()
        while scanned < max_items and time.monotonic() - began < max_seconds:
            page: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            response = self._call(
                "scan", TableName=self.table, Limit=min(PAGE_ITEMS, max_items - scanned), **page,
                FilterExpression=f"sk = :m AND begins_with(pk, :mentions) AND attribute_not_exists({INBOX_SORT_KEY})",
                ProjectionExpression=_READ, ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={":m": {"S": "M"}, ":mentions": {"S": "M#"}})
            scanned += response["ScannedCount"]
            found = response["Items"]
            parts = list(chunks(found, -(-len(found) // PARALLEL_PUTS))) if found else []
            indexed += sum(self._in_parallel(self._index_all, parts, PARALLEL_PUTS))
            start = response.get("LastEvaluatedKey")
            self._call("put_item", TableName=self.table, Item={
                **pk_sk(*PROGRESS_KEY), **({"start": {"S": json.dumps(start)}} if start else {"done": {"BOOL": True}})})
            if start is None:
                return BackfillRun(scanned, indexed, True)
        return BackfillRun(scanned, indexed, False)

    def _index_all(self, items: Sequence[Item]) -> int:
        return sum(self._index(item) for item in items)

    def _index(self, item: Item | None) -> bool:
        """Put one mention item into the index; False if it is gone or has its ``isk`` by now."""
        key = item["pk"]["S"].removeprefix("M#") if item else ""
        for _ in range(ATTEMPTS):
            if item is None or INBOX_SORT_KEY in item:
                return False
            if self._conditional("update_item", **index_update(key, item)):
                return True
            item = self._call("get_item", TableName=self.table, Key=pk_sk(item["pk"]["S"], "M"), ConsistentRead=True,
                              ProjectionExpression=_READ, ExpressionAttributeNames=_NAMES).get("Item")
        raise RuntimeError(f"mention {key}: its state or facets kept changing while being indexed")

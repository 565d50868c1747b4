"""Mentions stored before the inbox index are put into it by the digest function's bounded backfill
(issue 18, chalicelib/store/backfill.py), on the table (DynamoDB Local) and on its in-memory twin: listed in
the inbox's order afterwards, a run after the last writes nothing, a run stopped half way goes on where it
stopped, and a mention changed meanwhile keeps its newer state. The digest Lambda itself runs it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store import Store
from chalicelib.store.backfill import PROGRESS_KEY, BackfillRun
from chalicelib.store.inbox import entry_from, facets_of, rank
from chalicelib.store.memory import MemoryStore
from chalicelib.store.mentions import mention_pk
from chalicelib.store.table import pk_sk
from chalicelib.triage import Triage
from offline.stack import LocalStack
from tests.integration import test_store_twin as twin
from tests.integration.test_store_twin import DAY, START, Clock, mention, put_stored_whole

pytestmark = pytest.mark.integration
kind, clock, store = twin.kind, twin.clock, twin.store  # the twin's fixtures: each test on memory and on dynamodb

DAYS = ["2030-03-19", "2030-03-18", DAY]


def judged(n: int) -> Triage:
    return Triage(0.0, "neutral", frozenset({"question"} if n % 3 == 0 else ()), n * 7 % 100, (), n % 4 == 0)


def unindexed(store: Any, key: str) -> None:
    """Make a stored mention look as one stored before the inbox index (no facets, ipk or isk)."""
    if isinstance(store, MemoryStore):
        del store._mentions[key]["facets"]
    else:
        store.client.update_item(TableName=store.table, Key=pk_sk(mention_pk(key), "M"),
                                 UpdateExpression="REMOVE facets, ipk, isk")


def listed(store: Any) -> list[str]:
    return [e.key for e in store.inbox_ordered(DAYS)]


def expected_order(store: Any, keys: list[str]) -> list[str]:
    """The keys in the inbox's order, from the mentions as stored (state, triage, time stored)."""
    found = store.get_mentions(keys)
    return [e.key for e in sorted((entry_from(k, m.stored_at, m.state, None, facets_of(m.item))
                                   for k, m in found.items()), key=rank)]


def old_and_new(store: Any, clock: Clock) -> tuple[list[str], list[str]]:
    """36 mentions over three days, two in three of them then made to look stored before the index (some
    handled or held first), and two stored whole before issue 19. Out: (the old keys, the indexed keys)."""
    old, new = [], []
    for day in range(3):
        clock.now = START + day * 86400
        items = [mention(f"{day}-{n}", triage=judged(n)) for n in range(12)]
        store.store_new_mentions(items, f"job-{day}", 60)
        for n, item in enumerate(items):
            key = item.mention.key
            if n % 5 == 1:
                store.set_mention_state(key, "handled")
            if n % 5 == 2:
                store.hold_mention(key, DAYS[2 - day], "quiet")
            (new if n % 3 == 2 else old).append(key)
            if n % 3 != 2:
                unindexed(store, key)
    for n in range(2):
        put_stored_whole(store, mention(f"whole-{n}"), START + 3600 * n)
        old.append(f"hackernews#whole-{n}")
    clock.now = START + 3 * 86400
    return old, new


def items_in_table(store: Any) -> int:
    if isinstance(store, MemoryStore):
        return len(store._mentions)
    pages = store.client.get_paginator("scan").paginate(TableName=store.table, Select="COUNT")
    return sum(page["Count"] for page in pages)


def test_old_mentions_are_listed_in_the_inbox_order_after_runs_that_each_go_on_where_the_last_stopped(
        store: Any, clock: Clock) -> None:
    old, new = old_and_new(store, clock)
    assert sorted(listed(store)) == sorted(new)  # the old ones are in no inbox
    total = items_in_table(store)
    runs: list[BackfillRun] = []
    while not runs or not runs[-1].done:
        runs.append(store.backfill_inbox(max_items=9))
        assert len(runs) < 40
    assert len(runs) > 3 and not any(run.done for run in runs[:-1])
    assert sum(run.scanned for run in runs) == total  # each item looked at once: every run went on from the last
    assert sum(run.indexed for run in runs) == len(old)
    assert listed(store) == expected_order(store, old + new)  # in the inbox's order, with their states
    assert {e.key: e.state for e in store.inbox_ordered(DAYS) if e.key in old}["hackernews#0-1"] == "handled"
    if isinstance(store, Store):
        before = (store.requests, store.write_units)
        assert store.backfill_inbox() == BackfillRun(0, 0, True)
        assert (store.requests, store.write_units) == (before[0] + 1, before[1])  # one read of the progress
    assert store.backfill_inbox() == BackfillRun(0, 0, True)


def test_old_mentions_changed_between_runs_are_indexed_as_they_are_now(store: Any, clock: Clock) -> None:
    old, new = old_and_new(store, clock)
    first = store.backfill_inbox(max_items=3)
    assert not first.done
    waiting = [key for key in old if key not in {e.key for e in store.inbox_ordered(DAYS)}]
    handled, relabelled = waiting[-1], waiting[-2]  # still not in the index: changed by other functions now
    assert store.set_mention_state(handled, "handled")
    assert store.relabel_mention(mention(relabelled.removeprefix("hackernews#"), triage=judged(8)))
    while not store.backfill_inbox(max_items=7).done:
        pass
    entries = {e.key: e for e in store.inbox_ordered(DAYS)}
    assert entries[handled].state == "handled"
    assert (entries[relabelled].priority, entries[relabelled].opportunity) == (56, True)
    assert list(entries) == expected_order(store, old + new)


def test_a_run_stopped_in_the_middle_of_a_page_is_finished_by_the_next_without_writing_twice(
        stack: LocalStack) -> None:
    name = f"backfill-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    clock = Clock()
    store = Store(stack.client("dynamodb"), name, clock=clock)
    old, new = old_and_new(store, clock)
    updates: list[str] = []
    call = store._call

    def stopping(operation: str, **kwargs: Any) -> Any:
        if operation == "update_item" and kwargs.get("UpdateExpression", "").startswith("SET facets = :facets, ipk"):
            if len(updates) == 5:
                raise TimeoutError("the function's time ran out")
            updates.append(kwargs["Key"]["pk"]["S"])
        return call(operation, **kwargs)

    store._call = stopping  # type: ignore[method-assign]
    with pytest.raises(TimeoutError):
        store.backfill_inbox()
    store._call = call  # type: ignore[method-assign]
    assert 0 < len(listed(store)) - len(new) <= 5
    assert store.backfill_inbox().done
    assert listed(store) == expected_order(store, old + new)
    stack.client("dynamodb").delete_table(TableName=name)


@pytest.fixture
def table_store(stack: LocalStack) -> Iterator[Store]:
    name = f"backfill-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    yield Store(stack.client("dynamodb"), name, clock=Clock())
    stack.client("dynamodb").delete_table(TableName=name)


def test_a_mention_changed_between_the_scan_and_its_update_keeps_its_newer_state_and_triage(
        table_store: Store) -> None:
    store = table_store
    other = Store(store.client, store.table, clock=store.clock)  # another function's writes, meanwhile
    store.store_new_mentions([mention(n, triage=judged(4)) for n in ("a", "b", "c")], "job", 60)
    for n in ("a", "b", "c"):
        unindexed(store, f"hackernews#{n}")
    call = store._call
    meanwhile = {"hackernews#a": lambda: other.set_mention_state("hackernews#a", "handled"),
                 "hackernews#b": lambda: other.relabel_mention(mention("b", triage=judged(9)))}

    def racing(operation: str, **kwargs: Any) -> Any:
        key = kwargs.get("Key", {}).get("pk", {}).get("S", "").removeprefix("M#")
        if operation == "update_item" and "ipk" in kwargs.get("UpdateExpression", "") and key in meanwhile:
            meanwhile.pop(key)()
        return call(operation, **kwargs)

    store._call = racing  # type: ignore[method-assign]
    run = store.backfill_inbox()
    assert not meanwhile  # both changes were made between the Scan and the update
    assert (run.indexed, run.done) == (3, True)
    entries = {e.key: e for e in store.inbox_ordered(DAYS)}
    assert store.get_mention("hackernews#a").state == "handled"  # type: ignore[union-attr]
    assert (entries["hackernews#a"].state, rank(entries["hackernews#a"])[0]) == ("handled", 3)
    assert (entries["hackernews#b"].priority, entries["hackernews#b"].opportunity) == (63, False)  # relabelled
    assert (entries["hackernews#c"].priority, entries["hackernews#c"].opportunity) == (28, True)
    assert list(entries) == expected_order(store, ["hackernews#a", "hackernews#b", "hackernews#c"])


def test_the_hourly_digest_function_backfills_the_inbox_and_then_only_reads_that_it_is_done(
        stack: LocalStack, table: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replay: Any) -> None:
    from chalice.test import Client

    from app import app
    from chalicelib.runtime import runtime
    from tests.integration.conftest import make_config

    make_config(replay, tmp_path)
    deployed = Store(stack.client("dynamodb"), table)
    deployed.store_new_mentions([mention("lambda-1", triage=judged(4))], f"job-{uuid.uuid4().hex}", 60)
    unindexed(deployed, "hackernews#lambda-1")
    assert list(deployed.inbox_ordered(deployed_days())) == []
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()  # a warm container, built from this test's environment
    try:
        with Client(app, stage_name="dev") as client:
            event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                    resources=[])
            first = client.lambda_.invoke("digest", event).payload
            second = client.lambda_.invoke("digest", event).payload
    finally:
        runtime.cache_clear()
    assert first["inbox_backfill"] == {"scanned": items_in_table(deployed) - 1, "indexed": 1, "done": True}
    assert second["inbox_backfill"] == {"scanned": 0, "indexed": 0, "done": True}
    assert [e.key for e in deployed.inbox_ordered(deployed_days())] == ["hackernews#lambda-1"]
    got = deployed.client.get_item(TableName=table, Key=pk_sk(*PROGRESS_KEY))["Item"]
    assert got["done"] == {"BOOL": True}


def deployed_days() -> list[str]:
    import time

    from chalicelib.store.inbox import days_since

    return days_since(time.time() - 86400, time.time())

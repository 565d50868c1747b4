"""Task states whose cursor many terms share (Bluesky's firehose): written once, in order, whatever the terms."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from chalicelib.model import TaskState
from chalicelib.store.poll_state import Plan, merged_tasks, planned_writes, save_plan
from tests.builders import MAIN_TASK_ITEMS, MAIN_TASK_STATES

NOW = 1_764_900_000.0


def firehose(time_us: int) -> dict[str, object]:
    return {"time_us": time_us, "seen": {f"at://did:plc:a/app.bsky.feed.post/{time_us}": time_us - 500_000}}


def saved(states: dict[str, TaskState], moved: list[str] | None,
          stored: dict[str, str]) -> tuple[list[dict[str, str]], list[str], dict[str, str]]:
    """The puts in order, the deletes and the groups then, of a save no other cycle overlaps."""
    plan = planned_writes(states, moved, stored)
    return plan.batches, plan.deletes, plan.then


def test_a_cycle_that_moves_only_the_shared_cursor_writes_one_small_item_at_any_number_of_terms() -> None:
    for terms in (10, 100, 500):
        queries = [f"term {n}" for n in range(terms)]
        states = {q: TaskState(firehose(1), NOW, every=60.0) for q in queries}
        _, _, stored = saved(states, None, {})
        assert len([g for g in stored if not g.endswith("#shared")]) >= (1 if terms < 500 else 2)
        for minute in range(1, 4):
            states = {q: TaskState(firehose(1 + minute), NOW + 60 * minute, every=60.0) for q in queries}
            batches, deletes, stored = saved(states, queries, stored)
            assert [list(batch) for batch in batches] == [["60#shared"]] and deletes == []
            assert json.loads(batches[0]["60#shared"]) == {"c": firehose(1 + minute), "r": NOW + 60 * minute}
            assert len(batches[0]["60#shared"]) < 200
            assert merged_tasks(stored) == states  # every task's cursor and last run, from the one item


def test_a_cycle_that_moves_nothing_writes_nothing_and_a_last_run_alone_is_not_written() -> None:
    states = {f"term {n}": TaskState(firehose(1), NOW, every=60.0) for n in range(30)}
    states["own"] = TaskState({"after": 1}, NOW, every=60.0)
    _, _, stored = saved(states, None, {})
    later = {q: TaskState(s.cursor, NOW + 60, every=60.0) for q, s in states.items()}
    assert saved(later, list(later), stored)[:2] == ([], [])
    assert merged_tasks(stored) == states  # stale by a minute: a cold container polls early, never late


def test_a_task_that_did_not_run_keeps_its_cursor_when_the_shared_one_moves() -> None:
    states = {f"term {n}": TaskState(firehose(1), NOW, every=60.0) for n in range(20)}
    _, _, stored = saved(states, None, {})
    ran = {q: TaskState(firehose(2), NOW + 60, every=60.0) for q in states if q != "term 3"}
    new = {**states, **ran}
    batches, _, stored = saved(new, list(ran), stored)
    assert [list(batch) for batch in batches] == [[next(g for g in stored if not g.endswith("#shared"))],
                                                   ["60#shared"]]  # the group first: term 3's own cursor
    assert merged_tasks(stored) == new


def test_old_stored_layout_of_main_reads_the_same_and_moves_on() -> None:
    stored, states = dict(MAIN_TASK_ITEMS), MAIN_TASK_STATES
    assert merged_tasks(stored) == states
    ran = ["coffee", "espresso", "bean there"]
    moved = {**states, **{q: TaskState(firehose(7), NOW + 60, every=60.0) for q in ran}}
    batches, deletes, then = saved(moved, ran, stored)
    # The first save after the upgrade: the moved terms' own cursors, then the shared item, then the
    # terms naming it (a term names a shared cursor only once it is stored).
    assert deletes == [] and [list(batch) for batch in batches] == [["60#1#0"], ["60#shared"], ["60#1#0"]]
    assert merged_tasks(then) == moved and then["300#1#0"] == stored["300#1#0"]
    again = {**moved, **{q: TaskState(firehose(8), NOW + 120, every=60.0) for q in ("coffee", "espresso")}}
    batches, _, then = saved(again, ["coffee", "espresso"], then)
    assert [list(batch) for batch in batches] == [["60#1#0"], ["60#shared"]]  # "bean there" keeps its own
    assert merged_tasks(then) == again


def test_every_crash_between_batches_leaves_each_cursor_where_it_was_or_where_it_went() -> None:
    """Random cycles of a network with combined searches (several cursors shared by a few terms each,
    tasks that run or not, cursors that move or not): after any prefix of a save's batches, each task
    reads its cursor before or after the save (never another task's), and a last run no later than its
    real one; after all of them, exactly the new states."""
    rng = random.Random(19)
    queries = [f"term {n}" for n in range(60)]
    states = {q: TaskState({"g": n % 4, "at": 0}, 0.0, every=60.0) for n, q in enumerate(queries)}
    _, _, stored = saved(states, None, {})
    for cycle in range(1, 200):
        new = dict(states)
        moved = []
        for g in range(4):
            if rng.random() < 0.6:  # this combined search ran; some of its terms may be new or late
                at = rng.choice([states[q].cursor["at"] for q in queries if states[q].cursor["g"] == g] + [cycle])
                for q in queries:
                    if states[q].cursor["g"] == g and rng.random() < 0.9:
                        new[q] = TaskState({"g": g if rng.random() < 0.95 else rng.randrange(4), "at": at},
                                           float(cycle), rng.random() < 0.05, every=60.0)
                        moved.append(q)
        batches, deletes, then = saved(new, moved, stored)
        applied = dict(stored)
        for batch in batches:
            applied.update(batch)
            read = merged_tasks(applied)
            for q in queries:
                assert read[q].cursor in (states[q].cursor, new[q].cursor), (cycle, q)
                assert read[q].last_run <= new[q].last_run
        for after in (merged_tasks({g: b for g, b in applied.items() if g not in deletes}), merged_tasks(then)):
            assert {q: (t.cursor, t.unfinished, t.every) for q, t in after.items()} == {
                q: (t.cursor, t.unfinished, t.every) for q, t in new.items()}
            assert all(after[q].last_run <= new[q].last_run for q in queries)  # a last run alone is not written
        states, stored = after, then


def test_a_task_that_names_the_shared_cursor_never_reads_a_later_run_than_its_own() -> None:
    states = {"a": TaskState(firehose(1), NOW, every=60.0), "b": TaskState(firehose(1), NOW, every=60.0),
              "c": TaskState({"x": 1}, NOW - 600, every=60.0)}
    _, _, stored = saved(states, None, {})
    joined = {**states, "c": TaskState(firehose(1), NOW - 600, every=60.0)}  # its run kept from before
    batches, _, stored = saved(joined, ["c"], stored)
    assert json.loads(batches[-2]["60#shared"])["r"] == NOW - 600  # the shared run goes back first
    assert merged_tasks(stored) == joined


class Items:
    """A network's task state items, written as ``save_plan`` writes them; before its write number
    ``pause`` (0: the first), a whole save of another cycle (``then``) runs; ``check`` after each write."""

    def __init__(self, items: dict[str, str], pause: int, then: Plan, check: Callable[[dict[str, str]], None]) -> None:
        self.items, self.pause, self.then, self.check, self.writes = dict(items), pause, then, check, 0

    def _interleave(self) -> None:
        self.writes += 1
        if self.writes == self.pause + 1:
            save_plan(self.then, self._write, self._put_if)
            self.check(self.items)

    def write(self, puts: dict[str, str], deletes: list[str]) -> None:
        self._interleave()
        self._write(puts, deletes)
        self.check(self.items)

    def put_if(self, group: str, body: str, read: str | None) -> bool:
        self._interleave()
        done = self._put_if(group, body, read)
        self.check(self.items)
        return done

    def _write(self, puts: dict[str, str], deletes: list[str]) -> None:
        self.items.update(puts)
        for group in deletes:
            self.items.pop(group, None)

    def _put_if(self, group: str, body: str, read: str | None) -> bool:
        if self.items.get(group) != read:
            return False
        self.items[group] = body
        return True


def test_two_overlapping_cycles_never_move_a_task_past_what_one_of_them_fetched_for_it() -> None:
    """Two cycles read the same states; A runs every term (the firehose's cursor 2, a term that had its
    own cursor joining the others), B runs all but that term (cursor 3). Whichever cycle writes
    first, and the other's whole save falling before any write of it: each term reads its cursor as
    read or as a cycle that ran it left it, never one a cycle fetched without it."""
    queries = [f"term {n}" for n in range(40)]
    read = {q: TaskState(firehose(1), NOW, every=60.0) for q in queries}
    read["late"] = TaskState({"own": 1}, NOW, every=60.0)
    _, _, view = saved(read, None, {})
    a = {q: TaskState(firehose(2), NOW + 60, every=60.0) for q in read}
    b = {**read, **{q: TaskState(firehose(3), NOW + 60, every=60.0) for q in queries}}
    allowed = {q: [read[q].cursor, a[q].cursor, b[q].cursor] for q in read}

    def check(items: dict[str, str]) -> None:
        now = merged_tasks(items)
        assert all(now[q].cursor in allowed[q] for q in read), {q: now[q].cursor for q in read}

    plans = {"a": planned_writes(a, list(a), view), "b": planned_writes(b, queries, view)}
    for first, second in (("a", "b"), ("b", "a")):
        for pause in range(4):
            items = Items(view, pause, plans[second], check)
            save_plan(plans[first], items.write, items.put_if)
            check(items.items)
            assert items.writes == 3  # first, the shared item, then last or inline

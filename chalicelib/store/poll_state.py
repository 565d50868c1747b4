"""What the poll cycle keeps between runs: task cursors, network health, connector state.

Items: ``TASKS`` / ``<network>#<interval>#<layout>#<bucket>`` (the states of a network's tasks
that run at that interval, so run together, and whose stable hash falls in that bucket, as JSON:
a moved cursor rewrites its group only, and one Query reads every network's groups; see
``planned_writes``), ``HEALTH`` / ``<network>`` and ``STATE#<network>`` / ``<name>``. The former
one-item-per-network record ``NET#<network>`` / ``TASKS`` is read only until a network has its
``TASKS`` / ``<network>#kept`` mark, written after its states were written as groups (``get_task_states``).
``TASKS`` / ``<network>#<interval>#shared``: the cursor most of an interval's tasks hold (Bluesky's
firehose cursor, which every term gets and which moves every minute), kept once; its tasks name it
(``"s": 1``), so a cycle that moves only it writes that one small item, whatever the number of terms.
Groups written by the layout before it (each cursor inline) read as before.

Last runs: a group is not rewritten for a last run alone, so a stored last run can be older than the
task's real one (never later: the shared item's run is the earliest of the runs of the tasks naming
it, and a task naming it reads the later of its own and that one). The schedule takes the later of the
stored run and this container's ``last_runs``; a cold container that reads a stale run finds the task
due early, polls it one cycle sooner than needed (fetching again is harmless: what was stored is
dropped as such), and never late. The firehose's tasks read the shared item's run: up to date.
``CycleStateCache`` sits in front of the connector state for one cycle.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from chalicelib.model import Health, TaskState
from chalicelib.store.table import Item, Table, iso, pk_sk, string_of

GROUP_BYTES = 4000  # a group's stored states on average: one item for the few terms of an interval


KEPT = "kept"  # the group name of a network's mark: its task states are kept in groups (never read again)
SHARED = "shared"  # ``<every>#shared``: the cursor most of an interval's tasks hold, kept once
SHARED_MIN = 2  # a cursor is kept in the interval's shared item when at least this many tasks hold it


def _text(cursor: Any) -> str:
    return json.dumps(cursor, separators=(",", ":"), sort_keys=True)


def is_shared(group: str) -> bool:
    """Whether a group name is an interval's shared-cursor item (``<every>#shared``)."""
    return group.split("#")[1:2] == [SHARED]


def task_layout(states: dict[str, TaskState], stored: int | None = None, shared: str | None = None) -> int:
    """How many groups a network's states are kept in: a power of two, so that a group averages
    ``GROUP_BYTES`` (one group, one item, for a few terms). The ``stored`` layout is kept while a group
    averages between a quarter and twice that, so a cursor that grows a little moves nothing.
    ``shared``: the cursor kept apart (its tasks name it, see ``tasks_body``)."""
    size = len(tasks_body(states, shared))
    if stored and GROUP_BYTES / 4 < size / stored <= 2 * GROUP_BYTES:
        return stored
    groups = 1
    while size / groups > GROUP_BYTES:
        groups *= 2
    return groups


def task_group(query: str, every: float, groups: int) -> str:
    """The group a query's state is kept in: its interval (tasks run together are written together),
    the layout of that interval's states (``groups``) and a stable hash bucket (the same in every
    process): ``<every>#<groups>#<bucket>``."""
    return f"{int(every)}#{groups}#{zlib.crc32(query.encode()) % groups}"


def merged_tasks(groups: Mapping[str, str], former: str | None = None) -> dict[str, TaskState]:
    """The task states of a network's items (group -> stored body, shared cursors included; ``former``:
    the body of its former single item); a query kept in two layouts (a write that changed the
    layout stopped half-way) takes its latest run."""
    shared = {group.split("#")[0]: json.loads(body) for group, body in groups.items() if is_shared(group)}
    bodies = [body for group, body in groups.items() if not is_shared(group)]
    states: dict[str, TaskState] = {}
    for body in ([former] if former is not None else []) + bodies:
        for query, state in tasks_from(body, shared).items():
            if query not in states or state.last_run > states[query].last_run:
                states[query] = state
    return states


def _shapes(body: str) -> dict[str, tuple[Any, ...]]:
    """A stored body's tasks as compared for a write, last runs left out: (cursor or SHARED, u, e)."""
    stored = json.loads(body)
    cursors, tasks = stored if isinstance(stored, list) else (None, stored)
    return {query: (SHARED if "s" in value else _text(value.get("c") if cursors is None else cursors[value["c"]]),
                    bool(value.get("u")), int(value.get("e", 0))) for query, value in tasks.items()}


def _chosen(part: dict[str, TaskState], shares: set[str]) -> str | None:
    """The cursor an interval keeps shared: the one most of its tasks hold (at least ``SHARED_MIN``),
    on a tie the one its tasks kept shared already (so the item stays put)."""
    counts = Counter(_text(s.cursor) for s in part.values() if s.cursor is not None)
    held = Counter(_text(part[q].cursor) for q in shares if q in part)
    best = max(counts, key=lambda text: (counts[text], held[text], text), default=None)
    return best if best is not None and counts[best] >= SHARED_MIN else None


class Plan(NamedTuple):
    """What saving a network's task states writes, in this order (``save_plan``): ``first`` (group ->
    body), each ``shared`` item (group -> (body, the body read, None if none): a put only if it is
    still the body read), then ``last`` and the ``deletes``. If a shared item changed since it was
    read (a cycle overlapping this one moved it), ``inline`` instead of ``last``: the groups with
    every cursor inline (this cycle's tasks keep their own; the other's, a cursor behind at worst,
    so fetched again and dropped as stored). ``then``: the network's groups after it, with their bodies."""
    first: dict[str, str]
    shared: dict[str, tuple[str, str | None]]
    last: dict[str, str]
    inline: dict[str, str]
    deletes: list[str]
    then: dict[str, str]

    @property
    def batches(self) -> list[dict[str, str]]:
        """The puts in order when no shared item changed under this save (empty batches left out)."""
        shared = {group: body for group, (body, _) in self.shared.items()}
        return [batch for batch in (self.first, shared, self.last) if batch]


def _save_plan(plan: Plan, write: Callable[[dict[str, str], list[str]], None],
               put_if: Callable[[str, str, str | None], bool]) -> bool:
    """Carry out a ``Plan``: ``write(puts, deletes)`` one batch, ``put_if(group, body, read)`` one
    conditional put. False if a shared item had changed (then the stored layout is not ``plan.then``)."""
    write(plan.first, [])
    if all([put_if(group, body, read) for group, (body, read) in plan.shared.items()]):
        write(plan.last, plan.deletes)
        return True
    write(plan.inline, [])
    return False


save_plan = _save_plan  # its frames ``_``-named, so that DynamoDB's units count to the Store method calling it


def planned_writes(states: dict[str, TaskState], moved: Iterable[str] | None, stored: Mapping[str, str]) -> Plan:
    """What saving a network's ``states`` writes (``Plan``).

    The states are split by interval, each interval's in its own layout, the cursor most of its
    tasks hold kept once in the interval's shared item (``<every>#shared``: cursor and a last run
    no later than any of its tasks' runs), the tasks holding it naming it. ``stored``: the items
    read or written last. Of an interval whose layout is the one stored, only the groups of the
    ``moved`` queries (and of the tasks that named a shared cursor that moves) are candidates, and a
    candidate is written only if a task's cursor, unfinished mark or interval changed there (a last
    run alone is not written); the shared item is written when its cursor moved (or its run must go
    back). So a cycle that moved only the cursor all the terms share writes one small item, whatever
    the number of terms. Of another interval (``moved`` None, nothing read, or a new layout) every
    group is written, and its stored groups of another layout deleted (as are those of an interval
    no task has now).

    Order (so a crash between two writes never moves a cursor ahead of what was stored): first the
    groups, where a task names the shared cursor only if it did before; then the shared items, each
    only if unchanged since read; then the groups whose tasks now name the new shared cursor. A shared
    item no task names any more is kept (a few hundred bytes): an overlapping cycle may name it."""
    by_every: dict[str, dict[str, TaskState]] = {}
    for query, state in states.items():
        by_every.setdefault(str(int(state.every)), {})[query] = state
    wanted = set() if moved is None else set(moved)
    first: dict[str, str] = {}
    shared_items: dict[str, tuple[str, str | None]] = {}
    last: dict[str, str] = {}
    inline: dict[str, str] = {}
    rewritten: set[str] = set()
    for every, part in by_every.items():
        mine = {g: body for g, body in stored.items() if g.split("#")[0] == every}
        old_item = mine.pop(f"{every}#{SHARED}", None)
        old = json.loads(old_item) if old_item is not None else None
        was = {q: shape for body in mine.values() for q, shape in _shapes(body).items()}
        shares = {q for q, shape in was.items() if shape[0] == SHARED}
        new = _chosen(part, shares)
        run = round(min(s.last_run for s in part.values() if _text(s.cursor) == new), 1) if new else 0.0
        moving = new != (None if old is None else _text(old["c"])) or (old is not None and run < old["r"])
        layouts = {int(g.split("#")[1]) for g in mine}
        groups = task_layout(part, next(iter(layouts)) if len(layouts) == 1 else None, new)
        full = moved is None or layouts != {groups}
        if full:
            rewritten.add(every)
        members: dict[str, dict[str, TaskState]] = {}
        joining = False
        for query, state in part.items():
            members.setdefault(task_group(query, float(every), groups), {})[query] = state
        for group, held in sorted(members.items()):
            if not (full or any(q in wanted or (moving and q in shares) for q in held)):
                continue
            inline[group] = tasks_body(held)
            before = tasks_body(held, new, shares)
            after = tasks_body(held, new)
            if full or group not in mine or _shapes(before) != _shapes(mine[group]):
                first[group] = before
            if _shapes(after) != _shapes(first.get(group, mine.get(group, before))):
                last[group] = after
                joining = True
        if new is not None and (full or moving or joining):
            shared_items[f"{every}#{SHARED}"] = (json.dumps({"c": json.loads(new), "r": run}, separators=(",", ":")),
                                                 old_item)
    written = {**first, **{g: body for g, (body, _) in shared_items.items()}, **last}
    deletes = {g for g in stored if g not in written and (g.split("#")[0] not in by_every or (
        g.split("#")[0] in rewritten and not is_shared(g)))}
    then = {g: body for g, body in {**stored, **written}.items() if g not in deletes}
    return Plan(first, shared_items, last, inline, sorted(deletes), then)


def tasks_body(states: dict[str, TaskState], shared: str | None = None,
               sharing: Collection[str] | None = None) -> str:
    """Task states as stored (last runs to a tenth of a second): ``[cursors, tasks]``, each distinct
    cursor once (the terms of one combined search share theirs), each task naming its cursor by index,
    or ``"s": 1`` for the interval's ``shared`` cursor (JSON text; only the queries in ``sharing`` when
    given)."""
    cursors: list[str] = []
    index: dict[str, int] = {}
    tasks = {}
    for query, t in sorted(states.items()):
        cursor = _text(t.cursor)
        named = cursor == shared and (sharing is None or query in sharing)
        tasks[query] = {**({"s": 1} if named else {"c": index.setdefault(cursor, len(cursors))}),
                        "r": round(t.last_run, 1),
                        **({"u": 1} if t.unfinished else {}), **({"e": int(t.every)} if t.every else {})}
        if not named and index[cursor] == len(cursors):
            cursors.append(cursor)
    return json.dumps([[json.loads(c) for c in cursors], tasks], separators=(",", ":"))


def tasks_from(body: str, shared: Mapping[str, dict[str, Any]] | None = None) -> dict[str, TaskState]:
    """The task states of a stored body (also of the former one item per network: ``{query: {c, r, u}}``).
    ``shared``: each interval's shared item (``{"c": cursor, "r": run}``), for the tasks that name it:
    their last run is the later of theirs and the shared item's."""
    stored = json.loads(body)
    cursors, tasks = stored if isinstance(stored, list) else (None, stored)
    states = {}
    for query, value in tasks.items():
        every, run = float(value.get("e", 0)), float(value.get("r", 0.0))
        if "s" in value:
            item = (shared or {}).get(str(int(every)))
            if item is None:
                raise ValueError(f"task state of {query!r} names the shared cursor of interval {int(every)} s, "
                                 "which is not stored")
            cursor, run = item["c"], max(run, float(item["r"]))
        else:
            cursor = value.get("c") if cursors is None else cursors[value["c"]]
        states[query] = TaskState(cursor, run, bool(value.get("u")), every)
    return states


def skipped_words(count: int, reason: str) -> str:
    return f"{count} item{'s' if count != 1 else ''} skipped: {reason}"


_HEALTH_TEXT = ("last_success_at", "last_error", "last_error_at", "last_data_at", "watching_since", "silence_told",
                "silence_told_at", "last_skip", "last_skip_at")


def _health(item: Item) -> Health:
    def number(name: str) -> str:
        return str(item.get(name, {"N": "0"})["N"])

    return Health(network=item["sk"]["S"], consecutive_failures=int(number("consecutive_failures")),
                  retry_not_before=float(number("retry_not_before")), mentions_fetched=int(number("mentions_fetched")),
                  items_skipped=int(number("items_skipped")), **{name: string_of(item, name) for name in _HEALTH_TEXT})


class PollState(Table):
    _task_groups: dict[str, dict[str, str]]  # network -> its groups' bodies as last read or written here

    def get_task_states(self, networks: Iterable[str]) -> dict[str, dict[str, TaskState]]:
        """Per network, the state of each of its (query) tasks: cursor, last run, unfinished.

        One Query reads every network's group items. A network without the ``KEPT`` mark (a stage
        written before the groups, or a new network) is also read from its former single item (a state
        in both: the later run): its states are written as groups, and then the mark (a crash in
        between: the next cycle does it again).
        """
        names = list(dict.fromkeys(networks))
        bodies: dict[str, dict[str, str]] = {n: {} for n in names}
        kept: set[str] = set()
        for item in self._query("pk = :pk", {":pk": {"S": "TASKS"}}):
            network, _, group = item["sk"]["S"].partition("#")
            if network in bodies and group == KEPT:
                kept.add(network)
            elif network in bodies:
                bodies[network][group] = item["tasks"]["S"]
        states = {n: merged_tasks(bodies[n]) for n in names}
        self._task_groups = {**getattr(self, "_task_groups", {}), **{n: dict(bodies[n]) for n in names}}
        former = [n for n in names if n not in kept]
        if former:
            for item in self._batch_get([pk_sk(f"NET#{n}", "TASKS") for n in former]):
                network = item["pk"]["S"].removeprefix("NET#")
                states[network] = merged_tasks(bodies[network], item["tasks"]["S"])
            for network in former:
                self.save_task_states(network, states[network])
            self._batch_write([{**pk_sk("TASKS", f"{n}#{KEPT}"), "tasks": {"S": tasks_body({})}} for n in former])
        return states

    def save_task_states(self, network: str, states: dict[str, TaskState],
                         moved: Iterable[str] | None = None) -> None:
        """Write a network's task states: only the groups holding a query of ``moved`` (every
        group when None, or when the layout changes). The cycle calls it only when a cursor moved."""
        stored: dict[str, dict[str, str]] = getattr(self, "_task_groups", {})
        plan = planned_writes(states, moved, stored.get(network, {}))

        def _write(puts: dict[str, str], deletes: list[str]) -> None:
            self._batch_write([{**pk_sk("TASKS", f"{network}#{g}"), "tasks": {"S": body}} for g, body in puts.items()],
                              deletes=[pk_sk("TASKS", f"{network}#{g}") for g in deletes])

        def _put_if(group: str, body: str, read: str | None) -> bool:
            return self._conditional(
                "put_item", Item={**pk_sk("TASKS", f"{network}#{group}"), "tasks": {"S": body}},
                **({"ConditionExpression": "attribute_not_exists(pk)"} if read is None else {
                    "ConditionExpression": "tasks = :read", "ExpressionAttributeValues": {":read": {"S": read}}}))

        kept = save_plan(plan, _write, _put_if)
        self._task_groups = {**stored, network: plan.then if kept else {}}  # else: unknown until read again

    def all_health(self) -> dict[str, Health]:
        """Every network's health record, by network."""
        return {item["sk"]["S"]: _health(item) for item in self._query("pk = :pk", {":pk": {"S": "HEALTH"}})}

    def record_skipped(self, network: str, count: int, reason: str) -> None:
        """Count items of ``network`` that could not be read this cycle; keep the reason in
        words ("3 items skipped: ...") for the health record. One write per cycle that skipped."""
        self._call(
            "update_item", TableName=self.table, Key=pk_sk("HEALTH", network),
            UpdateExpression="SET last_skip = :skip, last_skip_at = :now ADD items_skipped :count",
            ExpressionAttributeValues={":skip": {"S": skipped_words(count, reason)},
                                       ":now": {"S": iso(self.clock())}, ":count": {"N": str(count)}},
        )

    def record_success(self, network: str, fetched: int, *, data: bool = False,
                       restart_watch: bool = False) -> str | None:
        """Reset the failure count; return the health state the owner was last told ("down"...).

        ``data``: this poll returned items (``last_data_at`` is set). The silence clock
        (``watching_since``) starts at the first success, and again when ``restart_watch``
        (the first success after an outage)."""
        watch = ":now" if restart_watch else "if_not_exists(watching_since, :now)"
        response = self._call(
            "update_item", TableName=self.table, Key=pk_sk("HEALTH", network),
            UpdateExpression="SET consecutive_failures = :zero, last_success_at = :now, retry_not_before = :zero"
            f", watching_since = {watch}{', last_data_at = :now' if data else ''} ADD mentions_fetched :fetched",
            ExpressionAttributeValues={":zero": {"N": "0"}, ":now": {"S": iso(self.clock())},
                                       ":fetched": {"N": str(fetched)}},
            ReturnValues="ALL_OLD",
        )
        return string_of(response.get("Attributes", {}), "told")

    def record_failure(self, network: str, error: str, retry_not_before: float = 0.0) -> int:
        """Count a failure; return the failures in a row now."""
        response = self._call(
            "update_item", TableName=self.table, Key=pk_sk("HEALTH", network),
            UpdateExpression="SET last_error = :error, last_error_at = :now, retry_not_before = :rnb "
            "ADD consecutive_failures :one",
            ExpressionAttributeValues={":error": {"S": error}, ":now": {"S": iso(self.clock())},
                                       ":rnb": {"N": repr(retry_not_before)}, ":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["consecutive_failures"]["N"])

    def tell_health(self, network: str, state: str) -> bool:
        """Record that the owner is told the network is ``state`` ("down" or "up"); False if
        they were told that already (so each change is told once, never a storm)."""
        return self._tell_once(network, "told", state)

    def tell_silence(self, network: str, state: str) -> bool:
        """Record that the owner is told the network is ``state`` ("silent" or "data again");
        False if they were told that already (a conditional write: one notice per change)."""
        return self._tell_once(network, "silence_told", state)

    def _tell_once(self, network: str, field: str, state: str) -> bool:
        """Set the health record's ``field`` (and ``<field>_at``) to ``state`` unless it is already."""
        return self._conditional(
            "update_item", Key=pk_sk("HEALTH", network), UpdateExpression=f"SET {field} = :state, {field}_at = :now",
            ConditionExpression=f"attribute_not_exists({field}) OR {field} <> :state",
            ExpressionAttributeValues={":state": {"S": state}, ":now": {"S": iso(self.clock())}},
        )

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        response = self._call("get_item", TableName=self.table, Key=pk_sk(f"STATE#{network}", name),
                              ConsistentRead=True)
        item = response.get("Item")
        return json.loads(item["value"]["S"]) if item else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        self._call("put_item", TableName=self.table,
                   Item={**pk_sk(f"STATE#{network}", name), "value": {"S": json.dumps(value)}})


class ConnectorState(Protocol):
    def get_state(self, network: str, name: str) -> dict[str, Any] | None: ...

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None: ...


class CycleStateCache:
    """Connector state (session tokens, quotas, pacing) read once and written once per cycle.

    Connectors read and write their state on every request; through this cache a cycle reads
    each entry at most once and writes only the entries whose value changed, at ``flush()``.
    """

    def __init__(self, store: ConnectorState) -> None:
        self.store = store
        self._values: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def new_cycle(self) -> None:
        """Forget what was read: another container may have changed it since."""
        with self._lock:
            self._values.clear()
            self._dirty.clear()

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        key = (network, name)
        with self._lock:
            if key in self._values:
                value = self._values[key]
                return json.loads(json.dumps(value)) if value is not None else None
        value = self.store.get_state(network, name)
        with self._lock:
            self._values.setdefault(key, value)
        return json.loads(json.dumps(value)) if value is not None else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        key = (network, name)
        with self._lock:
            if self._values.get(key) != value:
                self._values[key] = json.loads(json.dumps(value))
                self._dirty.add(key)

    def flush(self) -> None:
        """Write what changed this cycle (one request per changed entry)."""
        with self._lock:
            pending = [(key, self._values[key]) for key in sorted(self._dirty)]
            self._dirty.clear()
        for (network, name), value in pending:
            if value is not None:
                self.store.put_state(network, name, value)

"""What the poll cycle keeps between runs: task cursors, network health, connector state.

Items: ``TASKS`` / ``<network>#<interval>#<layout>#<bucket>`` (the states of a network's tasks
that run at that interval, so run together, and whose stable hash falls in that bucket, as JSON:
a moved cursor rewrites its group only, and one Query reads every network's groups; see
``planned_writes``), ``HEALTH`` / ``<network>`` and ``STATE#<network>`` / ``<name>``. The former
one-item-per-network record ``NET#<network>`` / ``TASKS`` is read only until a network has its
``TASKS`` / ``<network>#kept`` mark, written after its states were written as groups (``get_task_states``).
``CycleStateCache`` sits in front of the connector state for one cycle.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterable
from typing import Any, Protocol

from chalicelib.model import Health, TaskState
from chalicelib.store.table import Item, Table, iso, pk_sk, string_of

GROUP_BYTES = 4000  # a group's stored states on average: one item for the few terms of an interval


KEPT = "kept"  # the group name of a network's mark: its task states are kept in groups (never read again)


def task_layout(states: dict[str, TaskState], stored: int | None = None) -> int:
    """How many groups a network's states are kept in: a power of two, so that a group averages
    ``GROUP_BYTES`` (one group, one item, for a few terms). The ``stored`` layout is kept while a group
    averages between a quarter and twice that, so a cursor that grows a little moves nothing."""
    size = len(tasks_body(states))
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


def merged_tasks(bodies: Iterable[str]) -> dict[str, TaskState]:
    """The task states of a network's group items; a query kept in two layouts (a write that changed
    the layout stopped half-way) takes its latest run."""
    states: dict[str, TaskState] = {}
    for body in bodies:
        for query, state in tasks_from(body).items():
            if query not in states or state.last_run > states[query].last_run:
                states[query] = state
    return states


def planned_writes(states: dict[str, TaskState], moved: Iterable[str] | None,
                   stored: set[str]) -> tuple[dict[str, str], list[str], set[str]]:
    """What saving a network's ``states`` writes: (group -> stored body, groups to delete, its groups then).

    The states are split by interval, each interval's in its own layout. ``stored``: the groups read
    last. Of an interval whose layout is the one stored, only the groups of the ``moved`` queries are
    written; of another (``moved`` None, nothing read, or a new layout) every group, and its stored
    groups of another layout deleted (as are those of an interval no task has now)."""
    by_every: dict[str, dict[str, TaskState]] = {}
    for query, state in states.items():
        by_every.setdefault(str(int(state.every)), {})[query] = state
    wanted = None if moved is None else set(moved)
    parts: dict[str, dict[str, TaskState]] = {}
    rewritten: set[str] = set()
    for every, part in by_every.items():
        layouts = {int(g.split("#")[1]) for g in stored if g.split("#")[0] == every}
        groups = task_layout(part, next(iter(layouts)) if len(layouts) == 1 else None)
        full = wanted is None or layouts != {groups}
        if full:
            rewritten.add(every)
        chosen = {task_group(q, float(every), groups) for q in part if full or q in (wanted or ())}
        for query, state in part.items():
            group = task_group(query, float(every), groups)
            if group in chosen:
                parts.setdefault(group, {})[query] = state
    bodies = {group: tasks_body(part) for group, part in sorted(parts.items())}
    deletes = sorted(g for g in stored - set(bodies)
                     if g.split("#")[0] in rewritten or g.split("#")[0] not in by_every)
    return bodies, deletes, (stored - set(deletes)) | set(bodies)


def tasks_body(states: dict[str, TaskState]) -> str:
    """Task states as stored (last runs to a tenth of a second): ``[cursors, tasks]``, each distinct
    cursor once (the terms of one combined search share theirs), each task naming its cursor by index."""
    cursors: list[str] = []
    index: dict[str, int] = {}
    tasks = {}
    for query, t in sorted(states.items()):
        cursor = json.dumps(t.cursor, separators=(",", ":"), sort_keys=True)
        tasks[query] = {"c": index.setdefault(cursor, len(cursors)), "r": round(t.last_run, 1),
                        **({"u": 1} if t.unfinished else {}), **({"e": int(t.every)} if t.every else {})}
        if index[cursor] == len(cursors):
            cursors.append(cursor)
    return json.dumps([[json.loads(c) for c in cursors], tasks], separators=(",", ":"))


def tasks_from(body: str) -> dict[str, TaskState]:
    """The task states of a stored body (also of the former one item per network: ``{query: {c, r, u}}``)."""
    stored = json.loads(body)
    cursors, tasks = stored if isinstance(stored, list) else (None, stored)
    return {query: TaskState(value.get("c") if cursors is None else cursors[value["c"]], float(value.get("r", 0.0)),
                             bool(value.get("u")), float(value.get("e", 0))) for query, value in tasks.items()}


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
    _task_groups: dict[str, set[str]]  # network -> its groups as last read or written here (the layout)

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
        states = {n: merged_tasks(bodies[n].values()) for n in names}
        self._task_groups = {**getattr(self, "_task_groups", {}), **{n: set(bodies[n]) for n in names}}
        former = [n for n in names if n not in kept]
        if former:
            for item in self._batch_get([pk_sk(f"NET#{n}", "TASKS") for n in former]):
                network = item["pk"]["S"].removeprefix("NET#")
                states[network] = merged_tasks([item["tasks"]["S"], *bodies[network].values()])
            for network in former:
                self.save_task_states(network, states[network])
            self._batch_write([{**pk_sk("TASKS", f"{n}#{KEPT}"), "tasks": {"S": tasks_body({})}} for n in former])
        return states

    def save_task_states(self, network: str, states: dict[str, TaskState],
                         moved: Iterable[str] | None = None) -> None:
        """Write a network's task states: only the groups holding a query of ``moved`` (every
        group when None, or when the layout changes). The cycle calls it only when a cursor moved."""
        stored: dict[str, set[str]] = getattr(self, "_task_groups", {})
        puts, deletes, groups = planned_writes(states, moved, stored.get(network, set()))
        self._batch_write([{**pk_sk("TASKS", f"{network}#{g}"), "tasks": {"S": body}} for g, body in puts.items()],
                          deletes=[pk_sk("TASKS", f"{network}#{g}") for g in deletes])
        self._task_groups = {**stored, network: groups}

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

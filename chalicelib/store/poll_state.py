"""What the poll cycle keeps between runs: task cursors, network health, connector state.

Items: ``NET#<network>`` / ``TASKS`` (every query's cursor and last run, as JSON: one item per
network, so a cycle reads a few small items), ``HEALTH`` / ``<network>`` and ``STATE#<network>`` /
``<name>``. ``CycleStateCache`` sits in front of the connector state for one cycle.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from chalicelib.model import Health, TaskState
from chalicelib.store.table import Item, Table, iso, pk_sk, string_of


def tasks_body(states: dict[str, TaskState]) -> str:
    """A network's task states as stored (last runs to a tenth of a second)."""
    body = {q: {"c": t.cursor, "r": round(t.last_run, 1), **({"u": 1} if t.unfinished else {})}
            for q, t in sorted(states.items())}
    return json.dumps(body, separators=(",", ":"))


def tasks_from(body: str) -> dict[str, TaskState]:
    return {query: TaskState(value.get("c"), float(value.get("r", 0.0)), bool(value.get("u")))
            for query, value in json.loads(body).items()}


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
    def get_task_states(self, networks: Iterable[str]) -> dict[str, dict[str, TaskState]]:
        """Per network, the state of each of its (query) tasks: cursor, last run, unfinished.

        One item per network (one BatchGetItem for all), so a cycle reads a few small items
        instead of one per task.
        """
        names = list(dict.fromkeys(networks))
        states: dict[str, dict[str, TaskState]] = {n: {} for n in names}
        for item in self._batch_get([pk_sk(f"NET#{n}", "TASKS") for n in names]):
            states[item["pk"]["S"].removeprefix("NET#")] = tasks_from(item["tasks"]["S"])
        return states

    def save_task_states(self, network: str, states: dict[str, TaskState]) -> None:
        """Write a network's task states (the pipeline calls it only when a cursor moved)."""
        self._call("put_item", TableName=self.table,
                   Item={**pk_sk(f"NET#{network}", "TASKS"), "tasks": {"S": tasks_body(states)}})

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

"""Step 1, schedule: which (network, query) tasks are due this cycle.

Invariants:
- a network that searches server-side gets one task per search term; one that streams (or
  cannot search) gets one ``*`` task; each task's interval comes from ``interval_seconds``
  alone (the one place that chooses it);
- a task is due when its interval has passed (``SCHEDULE_SLACK`` early still counts) or its
  last fetch stopped early, and never while its network backs off (``retry_not_before``);
- when a task last ran is the later of its stored state and what this container remembers,
  so a cycle that wrote nothing keeps the schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.model import Health, TaskState

if TYPE_CHECKING:
    from chalicelib.config import ListenConfig
    from chalicelib.sources.base import Source
    from chalicelib.store import Store

LOCAL_STREAM = "*"
SCHEDULE_SLACK = 10.0  # seconds: a cycle a little early still counts (EventBridge fires about on the minute)


@dataclass(frozen=True, slots=True)
class Task:
    network: str
    query: str
    interval_seconds: float


def interval_seconds(config: ListenConfig, network: str, *, urgent: bool, allowed: Mapping[str, int]) -> float:
    """How often a task of ``network`` is polled: as often as the network's published limits
    allow for the configured terms (``allowed``: minutes per network, from
    ``sources.limits.poll_minutes``; listen.yaml's ``schedule.poll_minutes`` can only slow it),
    and for a term of an urgent rule (or a stream carrying one) ``schedule.urgent_poll_minutes``
    when that is sooner."""
    every = allowed.get(network, config.schedule.poll_minutes or 1)
    return (min(config.schedule.urgent_poll_minutes, every) if urgent else every) * 60.0


def planned_tasks(config: ListenConfig, sources: Mapping[str, Source], terms: Iterable[Any]) -> list[Task]:
    """Every task of every network, due or not (``terms``: the rules' search terms, each with
    ``term`` and ``urgent``)."""
    from chalicelib.sources.limits import poll_minutes  # each network's limits, for this many terms

    terms = list(terms)
    allowed = poll_minutes(config, [t.term for t in terms])
    any_urgent = any(t.urgent for t in terms)
    tasks: list[Task] = []
    for network, source in sources.items():
        capabilities = source.capabilities
        if capabilities.server_search:
            tasks.extend(Task(network, t.term, interval_seconds(config, network, urgent=t.urgent, allowed=allowed))
                         for t in terms)
        if capabilities.local_stream or not capabilities.server_search:
            tasks.append(Task(network, LOCAL_STREAM,
                              interval_seconds(config, network, urgent=any_urgent, allowed=allowed)))
    return tasks


def is_due(task: Task, state: TaskState, health: Health | None, now: float) -> bool:
    """Whether ``task`` runs at ``now`` (see the module's invariants)."""
    if health is not None and health.retry_not_before > now:
        return False
    return state.unfinished or now - state.last_run >= task.interval_seconds - SCHEDULE_SLACK


def due(tasks: Iterable[Task], states: Mapping[str, Mapping[str, TaskState]], health: Mapping[str, Health],
        now: float) -> list[Task]:
    """The tasks due at ``now``, in order."""
    return [t for t in tasks if is_due(t, states.get(t.network, {}).get(t.query, TaskState()), health.get(t.network),
                                       now)]


def task_states(store: Store, networks: Iterable[str],
                last_runs: Mapping[tuple[str, str], float]) -> dict[str, dict[str, TaskState]]:
    """Every network's stored task states (one read), each ``last_run`` raised to what this
    container remembers (``last_runs``: (network, query) -> when it last ran here)."""
    states = store.get_task_states(networks)
    for network, queries in states.items():
        for query, state in queries.items():
            state.last_run = max(state.last_run, last_runs.get((network, query), 0.0))
    return states


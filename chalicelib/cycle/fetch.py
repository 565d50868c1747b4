"""Step 2, fetch: every due task under one time budget, then the cursors advanced.

Invariants:
- networks are fetched in parallel (a thread each), each network's tasks in turn; a
  connector with ``fetch_many`` gets all its due search terms at once (fewer requests),
  each term's result and cursor coming back separately;
- a network that fails fails alone: its other tasks wait for the next cycle, its cursors
  stay, and its error is returned for its health (``chalicelib.cycle.health``); a connector
  bug is an error like any other, not a stopped cycle;
- a cursor moves only after what was fetched with it is stored (``advance`` runs after the
  store), and a network's task states are written only when a cursor moved or a fetch
  stopped early (or caught up): a cycle that finds nothing new writes nothing, and one that moves
  only a cursor all its terms share (Bluesky's firehose) writes one small item
  (``chalicelib.store.poll_state``);
- a task counts as run when its cycle started, so a long round never pushes the next run a
  minute later (a 5-minute task on the 60-second grid stays on every 5th cycle).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Mapping, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from chalicelib.cycle.context import Cycle
from chalicelib.cycle.schedule import LOCAL_STREAM, Task
from chalicelib.model import TaskState
from chalicelib.sources.base import Budget, Cursor, FetchResult, Source, SourceError

log = logging.getLogger(__name__)

FETCHERS = 16  # every network at once (ten registered): a slow one never waits for a thread


def fetch_all(sources: Mapping[str, Source], tasks: Sequence[Task], states: Mapping[str, Mapping[str, TaskState]],
              budget_seconds: float) -> tuple[dict[Task, FetchResult], dict[str, SourceError]]:
    """Fetch every task. Out: each task's result (the tasks of a failed network may be
    missing) and each failed network's error."""
    budget = Budget(deadline=time.monotonic() + budget_seconds)
    by_network: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        by_network[task.network].append(task)
    results: dict[Task, FetchResult] = {}
    errors: dict[str, SourceError] = {}

    def fetch_network(network: str) -> None:
        source = sources[network]

        def cursor_of(task: Task) -> Cursor | None:
            return states[network].get(task.query, TaskState()).cursor

        tasks = by_network[network]
        many = getattr(source, "fetch_many", None)  # several terms per request (sources.base.BatchedSearch)
        search = [t for t in tasks if t.query != LOCAL_STREAM] if many is not None else []
        try:
            if len(search) > 1:
                found = many([t.query for t in search], {t.query: cursor_of(t) for t in search}, budget)
                results.update((t, found[t.query]) for t in search if t.query in found)
                tasks = [t for t in tasks if t.query == LOCAL_STREAM]
            for task in tasks:
                results[task] = source.fetch(task.query, cursor_of(task), budget)
        except SourceError as err:
            errors[network] = err  # the network's other tasks wait for the next cycle
        except Exception as err:  # a connector bug must not stop the other networks
            log.exception("connector %s crashed", network)
            errors[network] = SourceError(network, f"internal error ({type(err).__name__})")

    if by_network:
        with ThreadPoolExecutor(max_workers=min(FETCHERS, len(by_network)), thread_name_prefix="fetch") as pool:
            list(pool.map(fetch_network, by_network))
    return results, errors


def count_fetched(cycle: Cycle, results: Mapping[Task, FetchResult]) -> None:
    """Count what each network returned and skipped; a network's unreadable items are recorded
    on its health with the first reason."""
    report = cycle.report
    first_skip: dict[str, str] = {}
    for task, result in results.items():
        report.fetched[task.network] += len(result.mentions)
        report.skipped[task.network] += len(result.skipped)
        if result.skipped:
            first_skip.setdefault(task.network, result.skipped[0])
    for network, reason in sorted(first_skip.items()):
        log.warning("%s: %d items skipped: %s", network, report.skipped[network], reason)
        cycle.store.record_skipped(network, report.skipped[network], reason)


def advance(cycle: Cycle, tasks: Sequence[Task], results: Mapping[Task, FetchResult],
            states: Mapping[str, dict[str, TaskState]], *, ran: float,
            last_runs: MutableMapping[tuple[str, str], float]) -> None:
    """Move the cursors of the tasks that succeeded (after their mentions were stored); each
    counts as run at ``ran``, also in ``last_runs`` (this container's memory)."""
    for network in sorted({t.network for t in tasks if t in results}):
        old = states[network]
        new = {q: replace(state) for q, state in old.items()}
        moved: list[str] = []
        for task in (t for t in tasks if t.network == network and t in results):
            result = results[task]
            before = old.get(task.query, TaskState())
            new[task.query] = TaskState(result.cursor, ran, not result.complete, task.interval_seconds)
            last_runs[(network, task.query)] = ran
            if (result.cursor != before.cursor or (not result.complete) != before.unfinished
                    or before.every != task.interval_seconds):
                moved.append(task.query)
        if moved:
            cycle.store.save_task_states(network, new, moved)

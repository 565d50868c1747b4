"""One poll cycle: due tasks -> fetch -> match -> store (deduplicated) -> advance cursors
-> alert (exactly once).

At least once everywhere, idempotent effects everywhere:
- a network that fails fails alone: its cursor stays, its health records the error;
- a cursor moves only after what was fetched with it is stored;
- each cycle's alert job is recorded before the mentions it owns are stored (a mention is
  stored, and so owned, by one cycle only); a job whose cycle died is resumed by a later
  cycle once its lease ends, so a crash between storing and alerting loses nothing;
- each delivery is recorded before it is sent, so a retried, overlapping or resumed cycle
  never sends the same alert twice; a transient SES/SNS failure is tried again by a later
  cycle (2, 10, 30 minutes on), claimed with a conditional write so it is resent once; a
  send whose outcome cannot be known is ``unconfirmed`` and listed in the next digest
  (chalicelib.alerts.delivery);
- each alert job is counted into the digest and spikes exactly once, by whichever cycle
  alerts it;
- a network that answers but returns nothing for longer than expected is told once, and
  once more when data comes again (a failing network is told as failing only).

Each step is a module of ``chalicelib.cycle`` stating its own invariants; ``run_cycle`` is
their order.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from chalicelib.alerts import Channel
from chalicelib.config import ListenConfig
from chalicelib.cycle import fetch, health, jobs, learning, retries, schedule, snoozes, spikes
from chalicelib.cycle.context import Cycle, CycleReport
from chalicelib.cycle.health import silence_change
from chalicelib.cycle.jobs import MAX_JOB_KEY_BYTES, MAX_MENTIONS_PER_JOB, job_chunks, job_time
from chalicelib.cycle.match import match_all
from chalicelib.cycle.schedule import LOCAL_STREAM, Task
from chalicelib.links import TokenSigner
from chalicelib.model import Health, MatchedMention, Mention, TaskState
from chalicelib.sources.base import FetchResult, Source
from chalicelib.store import CycleStateCache, Store
from chalicelib.triage.feedback import ModelCache

__all__ = ["LOCAL_STREAM", "MAX_JOB_KEY_BYTES", "MAX_MENTIONS_PER_JOB", "CycleReport", "Matcher", "Pipeline", "Task",
           "job_chunks", "job_time", "silence_change"]


class Matcher(Protocol):
    """What the pipeline needs from the compiled rules (chalicelib.rules.RuleSet)."""

    def match_many(self, mentions: Sequence[Mention]) -> list[MatchedMention]: ...

    def search_terms(self) -> list[Any]: ...


class Pipeline:
    """Runs poll cycles with everything passed in (no AWS, no env read here)."""

    def __init__(
        self,
        config: ListenConfig,
        store: Store,
        sources: Mapping[str, Source],
        matcher: Matcher,
        channels: Mapping[str, Channel],
        signer: TokenSigner,
        *,
        clock: Callable[[], float] = time.time,
        fetch_budget_seconds: float = 30.0,
        job_lease_seconds: float = 120.0,  # longer than the Lambda's timeout: a live cycle is never resumed
        recompile: Callable[[Mapping[str, Sequence[str]]], Matcher] | None = None,
        connector_state: CycleStateCache | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.sources = sources
        self.matcher = matcher
        self.channels = channels
        self.signer = signer
        self.clock = clock
        self.fetch_budget_seconds = fetch_budget_seconds
        self.job_lease_seconds = job_lease_seconds
        self.recompile = recompile  # the rules again, with exclusions the owner accepted since
        self._accepted_exclusions: dict[str, list[str]] = {}
        self.connector_state = connector_state  # read and written once a cycle (sessions, quotas)
        self._last_runs: dict[tuple[str, str], float] = {}  # when this container last ran each task
        self._cycle_started = 0.0  # when this cycle was due: the time its tasks count as run
        self._health: dict[str, Health] = {}  # every network's health record, read with the task states
        self._feedback: ModelCache | None = None  # this cycle's owner-feedback model

    # --- the cycle ------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        """One poll cycle: the steps of ``chalicelib.cycle`` in order (the module's invariants)."""
        started, requests_before = time.monotonic(), self.store.requests
        self._feedback = ModelCache(self.store)  # read once, when this cycle first needs it
        cycle = self._cycle(CycleReport())
        self._refresh_rules()
        tasks, states = self.due_tasks()
        cycle.report.tasks_run = len(tasks)
        results = self._fetch(cycle, tasks, states)
        mentions = [m for result in results.values() for m in result.mentions]
        new = learning.corrected(cycle, self._triaged(self.store.unseen(match_all(self.matcher, mentions))))
        opened = jobs.open_jobs(cycle, new)
        now = self.clock()
        fetch.advance(cycle, tasks, results, states, ran=self._cycle_started or now, last_runs=self._last_runs)
        for network in sorted({t.network for t in tasks if t in results} - set(cycle.report.errors)):
            health.answered(cycle, network, self._health.get(network), now)
        jobs.resume_stale(cycle)
        if cycle.report.counted:
            spikes.check_spikes(cycle)
        for job_id, new in opened:
            self.alert(job_id, new, cycle.report)
        snoozes.alert_ended_snoozes(cycle)
        retries.retry_due(cycle)
        cycle.report.ddb_requests = self.store.requests - requests_before
        cycle.report.seconds = time.monotonic() - started
        return cycle.report

    def _cycle(self, report: CycleReport) -> Cycle:
        """The parts the steps share, as they are now (a caller may have swapped a channel)."""
        return Cycle(self.config, self.store, self.sources, self.channels, self.signer, self.clock, report,
                     self.job_lease_seconds, self._feedback)

    def due_tasks(self) -> tuple[list[Task], dict[str, dict[str, TaskState]]]:
        """The (network, query) tasks whose interval has passed (or whose last fetch stopped
        early) and whose network is not backing off, with every network's task states
        (``chalicelib.cycle.schedule``). The cycle's tasks count as run now."""
        now = self._cycle_started = self.clock()
        planned = schedule.planned_tasks(self.config, self.sources, self.matcher.search_terms())
        self._health = self.store.all_health()
        states = schedule.task_states(self.store, self.sources, self._last_runs)
        return schedule.due(planned, states, self._health, now), states

    def _fetch(self, cycle: Cycle, tasks: Sequence[Task],
               states: Mapping[str, dict[str, TaskState]]) -> dict[Task, FetchResult]:
        """Fetch the due tasks with the connectors' state read and written once, then record
        the failures and the skipped items (``chalicelib.cycle.fetch``, ``.health``)."""
        if self.connector_state is not None:
            self.connector_state.new_cycle()
        results, errors = fetch.fetch_all(self.sources, tasks, states, self.fetch_budget_seconds)
        if self.connector_state is not None:
            self.connector_state.flush()
        health.record_failures(cycle, errors)
        fetch.count_fetched(cycle, results)
        return results

    def _refresh_rules(self) -> None:
        """Recompile the rules when the owner accepted an exclusion (from "not relevant")."""
        if self.recompile is None:
            return
        accepted = self.store.exclusions()
        if accepted != self._accepted_exclusions:
            self.matcher = self.recompile(accepted)
            self._accepted_exclusions = accepted

    def _triaged(self, items: Sequence[MatchedMention]) -> list[MatchedMention]:
        """Sentiment, intents and priority for each new mention (only new ones: it costs)."""
        from chalicelib.triage import triage

        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        vip = self.config.vip
        return [replace(m, triage=triage(m.mention, m.matches, vip=vip, now=now)) for m in items]

    def expected_data_hours(self, network: str) -> float | None:
        """Hours the network should return something within (``chalicelib.cycle.health``)."""
        return health.expected_data_hours(self._cycle(CycleReport()), network)

    def ingest(self, mentions: Sequence[Mention]) -> CycleReport:
        """Mentions pushed between cycles (a verified webhook delivery, ``chalicelib.webhooks``): the
        steps a cycle runs for new items, in its order (match, unseen, triage, learning, jobs, alert),
        so a repeat, an out-of-order delivery or an item a poll stored is stored and alerted once."""
        started, requests_before = time.monotonic(), self.store.requests
        self._refresh_rules()
        cycle = replace(self._cycle(CycleReport()), feedback=ModelCache(self.store))  # own: calls may overlap
        cycle.report.fetched.update(m.network for m in mentions)
        new = learning.corrected(cycle, self._triaged(self.store.unseen(match_all(self.matcher, mentions))))
        opened = jobs.open_jobs(cycle, new)
        if cycle.report.counted:
            spikes.check_spikes(cycle)
        for job_id, stored in opened:
            jobs.alert(cycle, job_id, stored)
        cycle.report.ddb_requests = self.store.requests - requests_before
        cycle.report.seconds = time.monotonic() - started
        return cycle.report

    def alert(self, job_id: str, stored: Sequence[MatchedMention], report: CycleReport) -> None:
        """Alert the mentions a cycle stored under job ``job_id``, then close the job."""
        jobs.alert(self._cycle(report), job_id, stored)

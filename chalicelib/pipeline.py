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
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chalicelib.actions import DEFAULT_TTL_SECONDS, TokenSigner, alert_actions
from chalicelib.alerts import AlertBundle, AlertItem, Channel, DeliveryFailed, Notice
from chalicelib.alerts.delivery import STOPPED_DETAIL, send_claimed
from chalicelib.alerts.router import PlannedDelivery, by_importance, is_urgent, plan_deliveries
from chalicelib.config import ListenConfig
from chalicelib.model import Delivery, Health, Job, MatchedMention, Mention, StoredMention, TaskState
from chalicelib.mutes import MuteList
from chalicelib.sources.base import Budget, CredentialsError, Cursor, FetchResult, RateLimited, Source, SourceError
from chalicelib.store import CycleStateCache, Store

log = logging.getLogger(__name__)

LOCAL_STREAM = "*"
MAX_MENTIONS_PER_JOB = 5000  # the job record lists its candidates' keys (items hold 400 KB at most) ...
MAX_JOB_KEY_BYTES = 200_000  # ... so a job also holds at most this many bytes of keys (long URIs: more jobs)
DEFAULT_RETRY_AFTER = 60.0  # a 429 that does not say how long
CREDENTIALS_RETRY_AFTER = 900.0  # a bad credential: try again in 15 minutes, not every minute
FETCHERS = 16  # every network at once (ten registered): a slow one never waits for a thread
SCHEDULE_SLACK = 10.0  # seconds: a cycle a little early still counts (EventBridge fires about on the minute)
HEALTH_REFRESH_SECONDS = 3600.0  # a healthy network's "last success" is written at most this often
SPIKE_BASELINE_DAYS = 3  # days with mentions among the last seven before spikes are told
UNSUBSCRIBE_TTL = 90 * 86400  # one-click unsubscribe links must keep working for a long time
NOT_TO_ALERT = frozenset({"handled", "not_relevant", "snoozed"})  # a retry skips mentions dealt with since


class Matcher(Protocol):
    """What the pipeline needs from the compiled rules (chalicelib.rules.RuleSet)."""

    def match_many(self, mentions: Sequence[Mention]) -> list[MatchedMention]: ...

    def search_terms(self) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Task:
    network: str
    query: str
    interval_seconds: float


@dataclass
class CycleReport:
    """What one cycle did, for logs, metrics and the demo summary."""

    tasks_run: int = 0
    fetched: Counter[str] = field(default_factory=Counter)  # per network
    skipped: Counter[str] = field(default_factory=Counter)  # per network: items that could not be read
    new_mentions: int = 0
    new_per_rule: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)  # network -> error in words
    deliveries: list[tuple[str, str, str, int]] = field(default_factory=list)  # recipient, channel, status, mentions
    muted: int = 0  # new mentions not alerted: a muted author, domain or thread
    attached: int = 0  # new mentions of a story alerted before (cross-posts, reposts): attached, not alerted
    held_by_cap: Counter[str] = field(default_factory=Counter)  # per rule: waiting for the digest
    # recipient, network, and what was told: "down", "up", "silent" or "data again"
    health_notices: list[tuple[str, str, str]] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=dict)  # channel -> seconds from creation to send
    spikes: list[tuple[str, int]] = field(default_factory=list)  # rule group, mentions this hour (told)
    snoozes_ended: int = 0  # snoozed mentions alerted again
    not_stored: Counter[str] = field(default_factory=Counter)  # per network: mentions DynamoDB refused (skipped)
    counted: int = 0  # mentions counted into the digest and spikes this cycle (new, and resumed jobs')
    retried: int = 0  # deliveries tried again after a transient failure (their outcome is in ``deliveries``)
    ddb_requests: int = 0
    seconds: float = 0.0


def silence_change(*, now: float, last_data_at: float | None, watching_since: float | None,
                   expected_hours: float | None, told: str | None, told_at: float | None,
                   failing: bool) -> str | None:
    """What to tell the owner about a network that answers but may return nothing.

    In: ``now``, when it last returned at least one item (``last_data_at``, None: never),
    when the silence clock started (``watching_since``: its first successful poll, or the
    first after an outage; a new installation does not count from the epoch), the period it
    is expected to return something within (``expected_hours``; None or 0: never told),
    what was told last (``told``: None, "silent" or "data again") and when (``told_at``),
    and whether it is failing (then it is told as failing only).
    Out: "silent" (nothing for longer than the period), "data again" (items came after
    "silent" was told), or None (nothing to tell). Each change is told once: the caller
    records it with a conditional write.
    """
    if failing:
        return None
    if told == "silent":
        came_since = last_data_at is not None and (told_at is None or last_data_at > told_at)
        return "data again" if came_since else None
    if not expected_hours:
        return None
    since = max((t for t in (last_data_at, watching_since) if t is not None), default=None)
    if since is None:
        return None
    return "silent" if now - since > expected_hours * 3600 else None


ALERT_CHANNELS = ("email", "sms")


def job_chunks(candidates: Sequence[MatchedMention]) -> list[list[MatchedMention]]:
    """The candidates split into alert jobs of at most ``MAX_MENTIONS_PER_JOB`` mentions and
    ``MAX_JOB_KEY_BYTES`` bytes of keys (the job record lists them: 5,000 long Mastodon URIs
    would pass DynamoDB's 400 KB item)."""
    chunks: list[list[MatchedMention]] = []
    size = 0
    for item in candidates:
        key_bytes = len(item.mention.key.encode("utf-8")) + 4  # as a JSON string in a list
        if not chunks or len(chunks[-1]) >= MAX_MENTIONS_PER_JOB or size + key_bytes > MAX_JOB_KEY_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += key_bytes
    return chunks


def job_time(job: Job) -> float:
    """Unix seconds the job was opened (its mentions were stored then)."""
    return dt.datetime.fromisoformat(job.created_at).timestamp()


def _epoch(iso: str | None) -> float | None:
    """Unix seconds of a stored ISO time (None stays None)."""
    return dt.datetime.fromisoformat(iso).timestamp() if iso else None


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
        self._health: dict[str, Health] = {}

    # --- the cycle ------------------------------------------------------------------

    def run_cycle(self) -> CycleReport:
        started = time.monotonic()
        requests_before = self.store.requests
        report = CycleReport()
        self._refresh_rules()
        tasks, states = self.due_tasks()
        report.tasks_run = len(tasks)
        if self.connector_state is not None:
            self.connector_state.new_cycle()
        results = self._fetch_all(tasks, states, report)
        if self.connector_state is not None:
            self.connector_state.flush()
        mentions = [m for result in results.values() for m in result.mentions]
        unseen = self.store.unseen(self.matcher.match_many(mentions))
        candidates = self._triaged(unseen)
        jobs = []
        refused: list[tuple[MatchedMention, str]] = []
        for chunk in job_chunks(candidates):
            job_id = uuid.uuid4().hex
            stored_at = self.clock()
            new = self.store.store_new_mentions(chunk, job_id, self.job_lease_seconds, refused)
            jobs.append((job_id, new))
            if new and self.store.count_job(job_id, stored_at, new):
                report.counted += len(new)
            report.new_mentions += len(new)
            report.new_per_rule.update(rule for m in new for rule in m.rule_names)
        self._record_refused(refused, report)
        self._advance(tasks, results, states, report)
        self._resume_stale_jobs(report)
        if report.counted:
            self._check_spikes(report)
        for job_id, new in jobs:
            self.alert(job_id, new, report)
        self._alert_ended_snoozes(report)
        self._retry_due_deliveries(report)
        report.ddb_requests = self.store.requests - requests_before
        report.seconds = time.monotonic() - started
        return report

    def _record_refused(self, refused: Sequence[tuple[MatchedMention, str]], report: CycleReport) -> None:
        """Mentions DynamoDB would not store (each alone): skipped, with the reason on the network's health."""
        first: dict[str, str] = {}
        for item, reason in refused:
            report.not_stored[item.mention.network] += 1
            first.setdefault(item.mention.network, reason)
        for network, reason in sorted(first.items()):
            log.error("%s: %d mentions could not be stored: %s", network, report.not_stored[network], reason)
            self.store.record_skipped(network, report.not_stored[network], reason)

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

    def due_tasks(self) -> tuple[list[Task], dict[str, dict[str, TaskState]]]:
        """The (network, query) tasks whose interval has passed (or whose last fetch stopped
        early) and whose network is not backing off, with every network's task states."""
        now = self._cycle_started = self.clock()
        schedule = self.config.schedule
        terms = self.matcher.search_terms()
        any_urgent = any(t.urgent for t in terms)
        tasks: list[Task] = []
        for network, source in self.sources.items():
            capabilities = source.capabilities
            if capabilities.server_search:
                for term in terms:
                    minutes = schedule.urgent_poll_minutes if term.urgent else schedule.poll_minutes
                    tasks.append(Task(network, term.term, minutes * 60.0))
            if capabilities.local_stream or not capabilities.server_search:
                minutes = schedule.urgent_poll_minutes if any_urgent else schedule.poll_minutes
                tasks.append(Task(network, LOCAL_STREAM, minutes * 60.0))
        self._health = self.store.all_health()
        states = self.store.get_task_states(self.sources)
        for network, queries in states.items():  # this container may know of later runs than were written
            for query, state in queries.items():
                state.last_run = max(state.last_run, self._last_runs.get((network, query), 0.0))
        due = []
        for t in tasks:
            state = states[t.network].get(t.query, TaskState())
            health = self._health.get(t.network)
            if health is not None and health.retry_not_before > now:
                continue
            if state.unfinished or now - state.last_run >= t.interval_seconds - SCHEDULE_SLACK:
                due.append(t)
        return due, states

    def _fetch_all(
        self, tasks: Sequence[Task], states: Mapping[str, dict[str, TaskState]], report: CycleReport
    ) -> dict[Task, FetchResult]:
        """Fetch every due task; networks in parallel, each network's tasks in turn (a connector
        with ``fetch_many`` gets all its due search terms at once, to combine them into fewer
        requests; each term's result and cursor come back separately)."""
        budget = Budget(deadline=time.monotonic() + self.fetch_budget_seconds)
        by_network: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            by_network[task.network].append(task)
        results: dict[Task, FetchResult] = {}
        errors: dict[str, SourceError] = {}

        def fetch_network(network: str) -> None:
            source = self.sources[network]

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
        now = self.clock()
        for network, err in errors.items():
            retry_after = 0.0
            if isinstance(err, RateLimited):
                retry_after = err.retry_after if err.retry_after is not None else DEFAULT_RETRY_AFTER
            elif isinstance(err, CredentialsError):
                retry_after = CREDENTIALS_RETRY_AFTER
            failures = self.store.record_failure(network, str(err), now + retry_after if retry_after else 0.0)
            report.errors[network] = str(err)
            log.warning("network failed: %s", err)
            if failures >= self.config.alerts.health_failures and self.store.tell_health(network, "down"):
                self._tell_owner(network, down=True, error=str(err), failures=failures, report=report, cause=err,
                                 retry_at=now + retry_after if retry_after else None)
        first_skip: dict[str, str] = {}
        for task, result in results.items():
            report.fetched[task.network] += len(result.mentions)
            report.skipped[task.network] += len(result.skipped)
            if result.skipped:
                first_skip.setdefault(task.network, result.skipped[0])
        for network, reason in sorted(first_skip.items()):
            log.warning("%s: %d items skipped: %s", network, report.skipped[network], reason)
            self.store.record_skipped(network, report.skipped[network], reason)
        return results

    def _advance(self, tasks: Sequence[Task], results: Mapping[Task, FetchResult],
                 states: Mapping[str, dict[str, TaskState]], report: CycleReport) -> None:
        """Move the cursors of tasks that succeeded (after their mentions were stored).

        A network's task states are written only when one of its cursors moved or a fetch
        stopped early (or caught up): a cycle that finds nothing new writes nothing. When
        each task last ran is also remembered by this container, so the schedule holds
        between writes; a new container at worst polls a task once early. A task counts as
        run when its cycle started, not when fetching and storing ended: intervals are
        measured from each cycle's start, so a long round never pushes the next run a
        minute later (a 5-minute task on the 60-second grid stays on every 5th cycle).
        """
        now = self.clock()
        ran = self._cycle_started or now
        for network in sorted({t.network for t in tasks if t in results}):
            old = states[network]
            new = {q: replace(state) for q, state in old.items()}
            changed = False
            for task in (t for t in tasks if t.network == network and t in results):
                result = results[task]
                before = old.get(task.query, TaskState())
                new[task.query] = TaskState(result.cursor, ran, not result.complete)
                self._last_runs[(network, task.query)] = ran
                changed |= result.cursor != before.cursor or (not result.complete) != before.unfinished
            if changed:
                self.store.save_task_states(network, new)
        for network in sorted({t.network for t in tasks if t in results} - set(report.errors)):
            self._answered(network, report.fetched[network], now, report)

    def expected_data_hours(self, network: str) -> float | None:
        """Hours the network should return something within: the owner's
        ``expect_data_within_hours``, else the connector's default; None when not checked."""
        options = self.config.networks.get(network)
        hours = options.expect_data_within_hours if options is not None else None
        if hours is None:
            hours = self.sources[network].capabilities.expected_data_hours
        return hours or None

    def _answered(self, network: str, fetched: int, now: float, report: CycleReport) -> None:
        """A network answered this cycle (``fetched`` items): record it — a healthy network's
        record at most hourly, when data last came at most hourly too — and tell the owner once
        when it works again after an outage, goes silent for longer than expected, or returns
        data again after a silence."""
        health = self._health.get(network) or Health(network)
        expected = self.expected_data_hours(network)
        outage = health.consecutive_failures >= self.config.alerts.health_failures
        refresh = min(HEALTH_REFRESH_SECONDS, expected * 900.0) if expected else HEALTH_REFRESH_SECONDS
        last_success, last_data = _epoch(health.last_success_at), _epoch(health.last_data_at)
        recent = health.consecutive_failures == 0 and last_success is not None and \
            now - last_success < HEALTH_REFRESH_SECONDS
        data_unrecorded = fetched > 0 and (last_data is None or now - last_data >= refresh or
                                           health.silence_told == "silent")
        if not recent or data_unrecorded or health.watching_since is None:  # else healthy and said so: no write
            told = self.store.record_success(network, fetched, data=fetched > 0, restart_watch=outage)
            if told == "down" and self.store.tell_health(network, "up"):
                self._tell_owner(network, down=False, error=None, failures=0, report=report)
        watching = now if outage or health.watching_since is None else _epoch(health.watching_since)
        change = silence_change(now=now, last_data_at=now if fetched else last_data, watching_since=watching,
                                expected_hours=expected, told=health.silence_told,
                                told_at=_epoch(health.silence_told_at), failing=outage)
        if change is None or not self.store.tell_silence(network, change):
            return
        quiet_since = max((t for t in (last_data, _epoch(health.watching_since)) if t is not None), default=now)
        self._tell_silence(network, change, silent_seconds=now - quiet_since, expected_hours=expected, report=report)

    def _check_spikes(self, report: CycleReport) -> None:
        """Tell the owner once (per cooldown) when a rule group's volume this hour is far
        above the same hour over the last seven days."""
        from chalicelib.alerts.notices import compose_spike_notice
        from chalicelib.spikes import detect

        alerts = self.config.alerts
        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        days = [(now - dt.timedelta(days=back)).date().isoformat() for back in range(8)]
        records = self.store.digest_days(days, keys=False)
        if sum(1 for day in days[1:] if records[day].counts) < SPIKE_BASELINE_DAYS:
            return  # a new installation has no usual volume yet: its first day is not a spike
        hour = now.strftime("%H")
        for group, count in sorted(records[days[0]].hourly.get(hour, {}).items()):
            history = [records[day].hourly.get(hour, {}).get(group, 0) for day in days[1:]]
            spike = detect(group, count, history, sensitivity=alerts.spike_sensitivity,
                           min_count=alerts.spike_min_count)
            if spike is None or not self.store.tell_spike(group, alerts.spike_cooldown_hours * 3600):
                continue
            report.spikes.append((group, count))
            self._notify_all(report, lambda name, address, spike=spike: compose_spike_notice(
                business=self.config.business.name, from_address=alerts.from_address, to_name=name,
                to_address=address, group=spike.group, count=spike.count, usual=spike.usual))

    def _tell_owner(self, network: str, *, down: bool, error: str | None, failures: int,
                    report: CycleReport, cause: SourceError | None = None, retry_at: float | None = None) -> None:
        """Email every recipient about a network's health change (told once per change); when
        it is tried again, in each recipient's time zone."""
        from chalicelib.alerts.notices import compose_health_notice

        def zone(name: str) -> str:
            recipient = self.config.recipient(name)
            return recipient.timezone if recipient else "UTC"

        sent = self._notify_all(report, lambda name, address: compose_health_notice(
            business=self.config.business.name, from_address=self.config.alerts.from_address, to_name=name,
            to_address=address, network=network, down=down, error=error, failures=failures, cause=cause,
            retry_at=retry_at, timezone=zone(name), now=self.clock()))
        report.health_notices.extend((name, network, "down" if down else "up") for name in sent)

    def _tell_silence(self, network: str, change: str, *, silent_seconds: float, expected_hours: float | None,
                      report: CycleReport) -> None:
        """Email every recipient that a network has returned nothing for too long, or returns
        data again (told once per change)."""
        from chalicelib.alerts.notices import compose_silence_notice

        sent = self._notify_all(report, lambda name, address: compose_silence_notice(
            business=self.config.business.name, from_address=self.config.alerts.from_address, to_name=name,
            to_address=address, network=network, silent_seconds=silent_seconds, expected_hours=expected_hours,
            data_again=change == "data again"))
        report.health_notices.extend((name, network, change) for name in sent)

    def _notify_all(self, report: CycleReport, compose: Callable[[str, str], Any]) -> list[str]:
        """Send a notice to every recipient with an email address; the names it reached."""
        channel = self.channels.get("email")
        if channel is None or not hasattr(channel, "send_message"):
            return []
        reached = []
        for recipient in self.config.recipients:
            if not recipient.email:
                continue
            try:
                channel.send_message(compose(recipient.name, recipient.email), recipient.email)
            except DeliveryFailed as err:
                log.error("notice to %s failed: %s", recipient.name, err)
                continue
            reached.append(recipient.name)
        return reached

    # --- alerting -------------------------------------------------------------------

    def alert(self, job_id: str, stored: Sequence[MatchedMention], report: CycleReport) -> None:
        """Alert the mentions this cycle stored (job ``job_id``), then close the job (also when
        a concurrent cycle stored every candidate first: it has nothing to alert)."""
        if not stored:
            self.store.close_job(job_id)
            return
        stored_at = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC).isoformat()
        self._deliver(job_id, [StoredMention(m, "new", stored_at, job_id) for m in stored], report)
        self.store.close_job(job_id)

    def _alert_ended_snoozes(self, report: CycleReport) -> None:
        """Alert again each mention whose snooze ended. The job id comes from the snooze
        record, so a retried cycle finds the deliveries recorded and sends nothing twice."""
        for record, key in self.store.snoozes_ended():
            stored = self.store.get_mention(key)
            if stored is not None and stored.state == "snoozed":
                self._deliver(f"snooze-{record}", [stored], report)
                report.snoozes_ended += 1
            self.store.end_snooze(record, key)

    def _resume_stale_jobs(self, report: CycleReport) -> None:
        for job in self.store.stale_jobs():
            if not self.store.take_over_job(job, self.job_lease_seconds):
                continue
            log.warning("resuming alert job %s left open by a stopped cycle", job.job_id)
            members = [m for m in self.store.get_mentions(job.candidate_keys).values() if m.job == job.job_id]
            if members and self.store.count_job(job.job_id, job_time(job), [m.item for m in members]):
                report.counted += len(members)  # its cycle died before counting them
            for delivery in self.store.deliveries(job.job_id):
                if delivery.status == "sending":  # sent or not, we cannot know: never risk a duplicate
                    self.store.finish_delivery(job.job_id, delivery.recipient, delivery.channel, "unconfirmed",
                                               detail=STOPPED_DETAIL)
                    report.deliveries.append((delivery.recipient, delivery.channel, "unconfirmed",
                                              len(delivery.mention_keys)))
            self._deliver(job.job_id, members, report)
            self.store.close_job(job.job_id)

    def _deliver(self, job_id: str, mentions: Sequence[StoredMention], report: CycleReport) -> None:
        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        leads, also = self._screen(mentions, report, now)
        suppressed = self.store.suppressed() if leads else {}
        for plan in plan_deliveries(self.config, leads, now, suppressed):
            keys = [m.key for m in plan.mentions]
            prepared = self._prepare(plan, now)  # writes that can fail come before the claim
            if not self.store.claim_delivery(job_id, plan.recipient.name, plan.channel, keys):
                continue  # recorded before: sent, failed or skipped by an earlier run
            self._send(job_id, plan, also, report, prepared)

    def _prepare(self, plan: PlannedDelivery, now: dt.datetime) -> tuple[PlannedDelivery, bool, str]:
        """What a send needs written first: the plan (held by the hourly SMS cap when it is
        over), whether this is the last SMS the hour allows, and the SMS's short link. Made
        before the claim, so a failing write leaves nothing claimed and unsent (a claim that
        then fails only counts one SMS too many, or leaves an unused short link)."""
        if plan.held or plan.channel != "sms":
            return plan, False, ""
        name = plan.recipient.name
        sent_this_hour = self.store.count_sms(name, now.strftime("%Y-%m-%dT%H"))
        if sent_this_hour > plan.recipient.sms_per_hour:
            return replace(plan, held="hourly SMS cap"), False, ""
        code = secrets.token_urlsafe(6)
        first = plan.mentions[0]
        token = self.signer.sign(first.key, "handled", name)
        self.store.put_short_link(code, token, int(self.clock()) + DEFAULT_TTL_SECONDS)
        return plan, sent_this_hour == plan.recipient.sms_per_hour, f"{self.config.alerts.action_base_url}/s/{code}"

    def _send(self, job_id: str, plan: PlannedDelivery, also: Mapping[str, tuple[StoredMention, ...]],
              report: CycleReport, prepared: tuple[PlannedDelivery, bool, str], retry: Delivery | None = None) -> None:
        """Send one claimed delivery and record how it went (``chalicelib.alerts.delivery``):
        sent, skipped (held), retry, failed or unconfirmed. ``retry``: the claimed retry this
        send is (its ``attempts`` counts this try), None for a first send."""
        plan, last_sms, short_link = prepared
        count, name, channel = len(plan.mentions), plan.recipient.name, plan.channel
        if plan.held:
            if retry is None:
                self.store.finish_delivery(job_id, name, channel, "skipped", detail=plan.held)
            else:
                self.store.finish_retry(retry, retry.attempts, "skipped", detail=plan.held)
            report.deliveries.append((name, channel, "skipped", count))
            return
        held_by_cap = report.held_by_cap if retry is None else {}  # a retry does not tell this cycle's caps
        bundle = replace(self._bundle(plan, also, held_by_cap), last_sms_this_hour=last_sms, short_link=short_link)
        status, _ = send_claimed(self.store, job_id, name, channel, lambda: self.channels[channel].send(bundle),
                                 clock=self.clock, retry=retry)
        report.deliveries.append((name, channel, status, count))
        if status == "sent":
            sent_at = self.clock()
            report.latency.setdefault(channel, []).extend(
                sent_at - item.mention.item.mention.created_at.timestamp() for item in bundle.items)

    def _retry_due_deliveries(self, report: CycleReport) -> None:
        """Send again, once each, the deliveries whose transient failure's retry is due.

        One Query of the sparse ``RETRY`` index finds them; each is claimed with a conditional
        write (still "retry" with the tries seen), so of two overlapping cycles one resends.
        The bundle is rebuilt from the stored mention keys, without the mentions handled,
        marked not relevant, snoozed or muted since, and planned again (suppressed addresses,
        quiet hours). A retry whose cycle stopped mid-send is marked "unconfirmed", not resent.
        """
        due = self.store.due_retries()
        if not due:
            return
        now = dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        mutes = self._mute_list()
        suppressed = self.store.suppressed()
        for delivery in due:
            count = len(delivery.mention_keys)
            if delivery.channel not in ALERT_CHANNELS:
                continue  # a digest: the digest run sends it again (chalicelib.digest)
            if delivery.status == "sending":  # its cycle stopped after the claim: sent or not, we cannot know
                if self.store.finish_retry(delivery, delivery.attempts, "unconfirmed", detail=STOPPED_DETAIL):
                    report.deliveries.append((delivery.recipient, delivery.channel, "unconfirmed", count))
                continue
            if delivery.status != "retry":
                continue  # the index lagged
            stored = self.store.get_mentions(delivery.mention_keys)
            keep = [stored[k] for k in delivery.mention_keys if k in stored and stored[k].state not in NOT_TO_ALERT
                    and mutes.reason(stored[k].item.mention) is None]
            plan = next((p for p in plan_deliveries(self.config, keep, now, suppressed)
                         if (p.recipient.name, p.channel) == (delivery.recipient, delivery.channel)), None)
            prepared = self._prepare(plan, now) if plan is not None else None  # before the claim, as a first send
            if not self.store.claim_retry(delivery, self.job_lease_seconds):
                continue  # another cycle took it
            claimed = replace(delivery, status="sending", attempts=delivery.attempts + 1)
            report.retried += 1
            if plan is None or prepared is None:
                self.store.finish_retry(claimed, claimed.attempts, "skipped",
                                        detail="nothing left to send: handled, muted or unsubscribed since")
                report.deliveries.append((delivery.recipient, delivery.channel, "skipped", count))
                continue
            self._send(delivery.job_id, plan, {}, report, prepared, retry=claimed)

    def _mute_list(self) -> MuteList:
        """listen.yaml's mutes and those added from alerts and SMS (authors and threads: one read)."""
        mute = self.config.mute
        authors, threads = self.store.muted()
        return MuteList.of([*mute.authors, *authors], mute.domains, [*mute.threads, *threads])

    def _screen(
        self, mentions: Sequence[StoredMention], report: CycleReport, now: dt.datetime
    ) -> tuple[list[StoredMention], dict[str, tuple[StoredMention, ...]]]:
        """Noise control before alerting: drop muted mentions, collapse one story told several
        times (cross-posts, reposts, the same link on several networks) into its lead, and
        hold what is over a rule's daily cap for the digest. Returns the leads to alert and,
        per lead, the mentions attached to it."""
        from chalicelib.noise import collapse, fingerprints

        mutes = self._mute_list() if mentions else MuteList.of()
        kept = [m for m in mentions if mutes.reason(m.item.mention) is None]
        report.muted += len(mentions) - len(kept)
        by_key = {m.key: m for m in kept}
        today, yesterday = now.date().isoformat(), (now - dt.timedelta(days=1)).date().isoformat()
        known = {fp: lead for fp, lead in self.store.known_stories([yesterday, today]).items() if lead not in by_key}
        leads: list[StoredMention] = []
        also: dict[str, tuple[StoredMention, ...]] = {}
        remember: dict[str, str] = {}
        for story in collapse([m.item for m in kept], known=known):
            if story.earlier:
                report.attached += len(story.mentions)
                continue
            lead = by_key[story.lead.mention.key]
            leads.append(lead)
            also[lead.key] = tuple(by_key[o.mention.key] for o in story.others)
            report.attached += len(story.others)
            for member in story.mentions:
                remember.update({fp: story.story_key for fp in fingerprints(member) if fp not in remember})
        if remember:
            self.store.remember_stories(today, remember)
        return self._within_caps(leads, report, today), also

    def _within_caps(self, leads: list[StoredMention], report: CycleReport, day: str) -> list[StoredMention]:
        """Leads within their rules' daily caps (a lead matching any uncapped rule passes)."""
        caps = {r.name: r.daily_cap for r in self.config.rules if r.daily_cap}
        if not caps or not leads:
            return leads
        counts, raised = self.store.daily_caps(day)
        sent: Counter[str] = Counter()
        passed = []
        for lead in by_importance(leads, self.config.alerts.urgent_priority):
            rules = lead.item.rule_names
            full = [r for r in rules if r in caps and counts.get(r, 0) + sent[r] >= caps[r] + raised.get(r, 0)]
            if full and len(full) == len(rules):
                report.held_by_cap.update(full)
                continue
            passed.append(lead)
            sent.update(r for r in rules if r in caps)
        self.store.add_to_daily_caps(day, counts=dict(sent))
        return passed

    def _bundle(self, plan: PlannedDelivery, also: Mapping[str, tuple[StoredMention, ...]],
                held_by_cap: Mapping[str, int]) -> AlertBundle:
        limit = self.config.alerts.max_mentions_per_email if plan.channel == "email" else 1
        base = self.config.alerts.action_base_url
        threshold = self.config.alerts.urgent_priority
        recipient = plan.recipient.name
        items = tuple(
            AlertItem(m, {action: f"{base}/a/{self.signer.sign(m.key, action, recipient)}"
                          for action in alert_actions(self.config, recipient)},
                      urgent=is_urgent(m, threshold),
                      also=tuple((o.item.mention.network, o.item.mention.url) for o in also.get(m.key, ())))
            for m in plan.mentions[:limit]
        )
        caps = {r.name: r.daily_cap for r in self.config.rules if r.daily_cap}
        notices = tuple(
            Notice(f"Rule \u201c{rule}\u201d reached its daily cap of {caps[rule]}: {count} more "
                   f"{'mention waits' if count == 1 else 'mentions wait'} for the daily digest.",
                   "Raise the cap for today", f"{base}/a/{self.signer.sign(f'rule:{rule}', 'raise_cap', recipient)}")
            for rule, count in sorted(held_by_cap.items()) if plan.channel == "email" and rule in caps
        )
        unsubscribe = ""
        if plan.channel == "email":
            token = self.signer.sign(f"recipient:{recipient}", "unsubscribe", recipient, ttl_seconds=UNSUBSCRIBE_TTL)
            unsubscribe = f"{base}/u/{token}"
        return AlertBundle(plan.recipient, items, len(plan.mentions), "", notices, unsubscribe,
                           urgent_total=sum(1 for m in plan.mentions if is_urgent(m, threshold)))

"""Steps: jobs. The cycle's alert jobs opened with its new mentions, alerted and closed; open
jobs of cycles that died resumed.

Invariants:
- each alert job is recorded before the mentions it owns are stored (a mention is stored, and
  so owned, by one cycle only); a job lists at most ``MAX_MENTIONS_PER_JOB`` keys and
  ``MAX_JOB_KEY_BYTES`` bytes of them;
- a mention DynamoDB refuses is stored alone, skipped with its reason on its network's
  health; the others are stored;
- each job is counted into the digest and spikes exactly once, by whichever cycle alerts it;
- a job whose lease ended (its cycle died) is taken over by one later cycle (a conditional
  write), its deliveries found still ``sending`` become ``unconfirmed`` (never resent), the
  rest are sent, and the job is closed; so a crash between storing and alerting loses nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from chalicelib.alerts.delivery import unconfirm_stopped
from chalicelib.cycle.context import Cycle
from chalicelib.cycle.send import deliver
from chalicelib.model import Job, MatchedMention, StoredMention

log = logging.getLogger(__name__)

MAX_MENTIONS_PER_JOB = 5000  # the job record lists its candidates' keys (items hold 400 KB at most) ...
MAX_JOB_KEY_BYTES = 200_000  # ... so a job also holds at most this many bytes of keys (long URIs: more jobs)


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


def open_jobs(cycle: Cycle, candidates: Sequence[MatchedMention]) -> list[tuple[str, list[MatchedMention]]]:
    """Store the new candidates, a job per chunk, each job counted once. Out: (job id, the
    mentions this cycle stored under it) per job."""
    report, store = cycle.report, cycle.store
    jobs = []
    refused: list[tuple[MatchedMention, str]] = []
    for chunk in job_chunks(candidates):
        job_id = uuid.uuid4().hex
        stored_at = cycle.clock()
        new = store.store_new_mentions(chunk, job_id, cycle.job_lease_seconds, refused)
        jobs.append((job_id, new))
        if new and store.count_job(job_id, stored_at, new):
            report.counted += len(new)
        report.new_mentions += len(new)
        report.new_per_rule.update(rule for m in new for rule in m.rule_names)
    record_refused(cycle, refused)
    return jobs


def record_refused(cycle: Cycle, refused: Sequence[tuple[MatchedMention, str]]) -> None:
    """Mentions DynamoDB would not store (each alone): skipped, with the reason on the network's health."""
    report = cycle.report
    first: dict[str, str] = {}
    for item, reason in refused:
        report.not_stored[item.mention.network] += 1
        first.setdefault(item.mention.network, reason)
    for network, reason in sorted(first.items()):
        log.error("%s: %d mentions could not be stored: %s", network, report.not_stored[network], reason)
        cycle.store.record_skipped(network, report.not_stored[network], reason)


def alert(cycle: Cycle, job_id: str, stored: Sequence[MatchedMention]) -> None:
    """Alert the mentions this cycle stored (job ``job_id``), then close the job (also when a
    concurrent cycle stored every candidate first: it has nothing to alert)."""
    if stored:
        stored_at = cycle.now().isoformat()
        deliver(cycle, job_id, [StoredMention(m, "new", stored_at, job_id) for m in stored])
    cycle.store.close_job(job_id)


def resume_stale(cycle: Cycle) -> None:
    """Take over, count, alert and close each open job whose cycle died (the module's invariants)."""
    store, report = cycle.store, cycle.report
    for job in store.stale_jobs():
        if not store.take_over_job(job, cycle.job_lease_seconds):
            continue
        log.warning("resuming alert job %s left open by a stopped cycle", job.job_id)
        members = [m for m in store.get_mentions(job.candidate_keys).values() if m.job == job.job_id]
        if members and store.count_job(job.job_id, job_time(job), [m.item for m in members]):
            report.counted += len(members)  # its cycle died before counting them
        for delivery in store.deliveries(job.job_id):
            if delivery.status == "sending" and unconfirm_stopped(store, delivery):
                report.deliveries.append((delivery.recipient, delivery.channel, "unconfirmed",
                                          len(delivery.mention_keys)))
        deliver(cycle, job.job_id, members)
        store.close_job(job.job_id)

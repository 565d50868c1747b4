"""``MemoryStore``: the store's in-memory twin, for fast tests of the pipeline, the actions and the
exactly-once logic without DynamoDB Local.

Same public methods and signatures as ``Store`` (``StoreProtocol``), same results, same
conditional semantics: a mention, job, delivery claim, short code or nonce is written only if
absent; leases, claims and cooldowns are compared with the clock as the table's conditions do;
counters add; lists are read back in the table's sort-key order. Stored mentions and task
states make the same JSON round trip as on the table. What it leaves out: expiry (TTL) deletes
nothing (as DynamoDB's lazy TTL, a test cannot tell), there is no capacity to count, and one
lock serializes every call (DynamoDB's conditions are atomic per item; here per store). The
behaviour suite (tests/integration/test_store_twin.py) runs every public method on both and
asserts identical outcomes; the pure helpers (keys, counters, encodings) are the aggregates'
own functions, so the two cannot drift there.
"""

from __future__ import annotations

import functools
import json
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from chalicelib.model import (
    Delivery,
    DigestDay,
    Health,
    Job,
    MatchedMention,
    StoredMention,
    TaskState,
    matched_from_dict,
    matched_to_dict,
)
from chalicelib.store.backfill import RUN_ITEMS, RUN_SECONDS, BackfillRun
from chalicelib.store.counters import (
    caps_counters,
    caps_from,
    digest_counters,
    digest_day_from,
    digest_key_items,
    digest_slot,
    hour_groups,
    story_records,
    utc_day,
    with_keys,
)
from chalicelib.store.deliveries import (
    CLAIM_LEASE_SECONDS,
    OPEN_JOBS_READ,
    UNDELIVERED_STATUSES,
    retry_index_key,
    undelivered_index_key,
)
from chalicelib.store.inbox import PARTS, InboxEntry, days_since, entry_from, facets_of, rank, rule_keys_since
from chalicelib.store.lists import split_mutes
from chalicelib.store.mentions import capped, due_bound, reply_record, snooze_record
from chalicelib.store.poll_state import KEPT, merged_tasks, planned_writes, save_plan, skipped_words, tasks_body
from chalicelib.store.sessions import SessionRecord
from chalicelib.store.table import iso

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit: a larger mention is refused as on the table

T = TypeVar("T")


class ItemExists(Exception):
    """A write that must not overwrite found its item (the table raises ConditionalCheckFailedException)."""


def _serialized(cls: type[T]) -> type[T]:
    """Every public method runs under the store's lock (re-entrant: methods call each other)."""
    for name, method in list(vars(cls).items()):
        if callable(method) and not name.startswith("_"):
            def locked(self: Any, *args: Any, __method: Callable[..., Any] = method, **kwargs: Any) -> Any:
                with self._lock:
                    return __method(self, *args, **kwargs)
            setattr(cls, name, functools.wraps(method)(locked))
    return cls


@_serialized
class MemoryStore:
    """The store in dictionaries. ``clock`` stamps items (Unix seconds), as ``Store``'s does."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.requests = 0  # DynamoDB requests made: none (``Store`` counts its own; the pipeline reports them)
        self._lock = threading.RLock()
        self._mentions: dict[str, dict[str, Any]] = {}  # key -> data (JSON), state, stored_at, job, assigned_to
        self._audits: dict[str, dict[str, dict[str, str]]] = {}  # key -> sort key -> entry
        self._snoozed: dict[str, str] = {}  # record -> mention key
        self._replies: dict[str, dict[str, str]] = {}  # <at>#<key> -> text, recipient, status, detail
        self._jobs: dict[str, dict[str, Any]] = {}
        self._deliveries: dict[tuple[str, str, str], dict[str, Any]] = {}
        self._nonces: dict[str, dict[str, Any]] = {}
        self._short: dict[str, tuple[str, int]] = {}
        self._tasks: dict[str, str] = {}  # network -> tasks as stored (JSON) in the former one item per network
        self._task_items: dict[tuple[str, str], str] = {}  # (network, group) -> its tasks as stored (JSON)
        self._task_groups: dict[str, dict[str, str]] = {}  # network -> its groups' bodies as last read or written
        self._health: dict[str, dict[str, Any]] = {}
        self._state: dict[tuple[str, str], str] = {}
        self._hours: dict[tuple[str, str], int] = {}
        self._spikes: dict[str, float] = {}
        self._caps: dict[str, dict[str, int]] = {}
        self._stories: dict[str, dict[str, str]] = {}  # day -> record key -> fingerprints (JSON)
        self._digest: dict[str, dict[str, int]] = {}  # "<UTC day>#D#<HHMM>" -> counters (as the table's slots)
        self._digest_keys: dict[str, dict[str, float]] = {}  # day -> O#<key> / Q#<key> -> stored at
        self._suppressed: dict[str, str] = {}
        self._mutes: dict[str, str] = {}  # sort key -> by
        self._exclusions: dict[str, set[str]] = {}
        self._model: tuple[str, int] | None = None  # the feedback model (JSON) and its version
        self._held: dict[str, dict[str, str]] = {}  # day -> mention key -> reason
        self._links: dict[str, tuple[str, str, int]] = {}  # token hash -> address, next path, expires at
        self._sessions: dict[str, SessionRecord] = {}  # id hash -> session
        self._sign_in_counts: dict[tuple[str, str], int] = {}  # (who, window) -> requests
        self._backfill: tuple[str, bool] = ("", False)  # the inbox backfill: the last key scanned, done

    # --- mentions -------------------------------------------------------------------

    def unseen(self, items: Sequence[MatchedMention]) -> list[MatchedMention]:
        unique = list({m.mention.key: m for m in items}.values())
        return [m for m in unique if m.mention.key not in self._mentions]

    def store_new_mentions(self, candidates: Sequence[MatchedMention], job_id: str, lease_seconds: float,
                           skipped: list[tuple[MatchedMention, str]] | None = None) -> list[MatchedMention]:
        if not candidates:
            return []
        self.open_job(job_id, [m.mention.key for m in candidates], lease_seconds)
        stored_at = iso(self.clock())
        stored = []
        for m in map(capped, candidates):
            data = json.dumps(matched_to_dict(m), separators=(",", ":"))
            if len(data.encode()) > MAX_ITEM_BYTES:
                if skipped is not None:
                    skipped.append((m, f"{m.mention.key} could not be stored (Item size has exceeded the "
                                       "maximum allowed size)"))
                continue
            if m.mention.key not in self._mentions:
                self._mentions[m.mention.key] = {"data": data, "state": "new", "stored_at": stored_at, "job": job_id,
                                                 "facets": facets_of(m)}
                stored.append(m)
        return stored

    def get_mention(self, key: str) -> StoredMention | None:
        record = self._mentions.get(key)
        return self._stored(record) if record else None

    def get_mentions(self, keys: Sequence[str]) -> dict[str, StoredMention]:
        return {k: self._stored(self._mentions[k]) for k in dict.fromkeys(keys) if k in self._mentions}

    @staticmethod
    def _stored(record: dict[str, Any]) -> StoredMention:
        return StoredMention(matched_from_dict(json.loads(record["data"])), record["state"], record["stored_at"],
                             record["job"])

    def set_mention_state(self, key: str, state: str) -> bool:
        if key not in self._mentions:
            return False
        self._mentions[key]["state"] = state
        return True

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None:
        at = iso(self.clock())
        self._audits.setdefault(key, {})[f"{at}#{nonce}"] = {"at": at, "action": action, "recipient": recipient,
                                                              "result": result}

    def audit_log(self, key: str) -> list[dict[str, str]]:
        entries = self._audits.get(key, {})
        return [dict(entries[sk]) for sk in sorted(entries)]

    def snooze(self, key: str, until: int) -> bool:
        if key not in self._mentions:
            return False
        self._mentions[key].update(state="snoozed", snoozed_until=until)
        self._snoozed[snooze_record(until, key)] = key
        return True

    def snoozes_ended(self) -> list[tuple[str, str]]:
        bound = due_bound(self.clock())
        return [(record, self._snoozed[record]) for record in sorted(self._snoozed) if record <= bound]

    def end_snooze(self, record: str, key: str) -> None:
        self._snoozed.pop(record, None)
        self.set_mention_state(key, "new")

    def assign_mention(self, key: str, to: str, by: str) -> bool:
        if key not in self._mentions:
            return False
        self._mentions[key].update(assigned_to=to, assigned_by=by, assigned_at=iso(self.clock()))
        return True

    def assigned_to(self, key: str) -> str | None:
        assigned = self._mentions.get(key, {}).get("assigned_to")
        return str(assigned) if assigned is not None else None

    def record_reply(self, key: str, text: str, recipient: str, *, status: str, detail: str = "") -> None:
        self._replies[f"{iso(self.clock())}#{key}"] = {"text": text, "recipient": recipient, "status": status,
                                                       "detail": detail}

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        self.record_reply(key, text, recipient, status="requested")

    def replies(self) -> list[dict[str, str]]:
        return [reply_record(*sk.split("#", 1), r["text"], r["recipient"], r["status"], r["detail"])
                for sk, r in sorted(self._replies.items())]

    def rule_mentions_since(self, rule: str, since: float, limit: int = 5000) -> list[StoredMention]:
        keys = rule_keys_since(self.inbox_entries(days_since(since, self.clock())), rule, iso(since), limit)
        return [self._stored(self._mentions[k]) for k in keys]

    def inbox_entries(self, days: Sequence[str]) -> list[InboxEntry]:
        order = {day: n for n, day in enumerate(days)}
        found = sorted(((k, r) for k, r in self._mentions.items()  # stored before the index: not in it
                        if r["stored_at"][:10] in order and "facets" in r),
                       key=lambda kr: f"{kr[1]['stored_at']}#{kr[0]}", reverse=True)
        found.sort(key=lambda kr: order[kr[1]["stored_at"][:10]])
        return [entry_from(k, r["stored_at"], r["state"], r.get("assigned_to"), r["facets"])
                for k, r in found]

    def inbox_ordered(self, days: Sequence[str], parts: tuple[int, int] = (0, PARTS - 1),
                      after: tuple[Any, ...] | None = None, batch: int = 51) -> Iterator[InboxEntry]:
        chosen = [e for e in self.inbox_entries(days)
                  if parts[0] <= rank(e)[0] <= parts[1] and (after is None or rank(e) > after)]
        return iter(sorted(chosen, key=rank))

    # --- alert jobs and deliveries --------------------------------------------------

    def open_job(self, job_id: str, candidate_keys: Sequence[str], lease_seconds: float) -> Job:
        if job_id in self._jobs:
            raise ItemExists(f"alert job {job_id} exists")
        now = self.clock()
        job = Job(job_id, iso(now), now + lease_seconds, list(candidate_keys), "open")
        self._jobs[job_id] = {"created_at": job.created_at, "lease_until": job.lease_until,
                              "candidates": list(job.candidate_keys), "status": "open", "open": True}
        return job

    def stale_jobs(self) -> list[Job]:
        now = self.clock()
        open_jobs = sorted((f"{r['created_at']}#{job_id}", job_id) for job_id, r in self._jobs.items()
                           if r.get("open"))
        records = [(job_id, self._jobs[job_id]) for _, job_id in open_jobs[:OPEN_JOBS_READ]]
        return [Job(job_id, r["created_at"], r["lease_until"], list(r["candidates"]), r["status"])
                for job_id, r in records if r["lease_until"] <= now]

    def take_over_job(self, job: Job, lease_seconds: float) -> bool:
        record = self._jobs.get(job.job_id)
        if record is None or record.get("lease_until") != job.lease_until or record.get("status") != "open":
            return False
        record["lease_until"] = self.clock() + lease_seconds
        return True

    def close_job(self, job_id: str) -> None:
        self._jobs.setdefault(job_id, {}).update(status="done", open=False)  # an update creates, as on the table

    def claim_delivery(self, job_id: str, recipient: str, channel: str, mention_keys: Sequence[str],
                       lease_seconds: float = CLAIM_LEASE_SECONDS) -> bool:
        if (job_id, recipient, channel) in self._deliveries:
            return False
        now = self.clock()
        self._deliveries[(job_id, recipient, channel)] = {
            "status": "sending", "mentions": list(mention_keys), "attempts": 1, "index": "RETRY",
            "index_key": retry_index_key(now + lease_seconds, job_id, recipient, channel)}
        return True

    def finish_delivery(self, job_id: str, recipient: str, channel: str, status: str, *,
                        message_id: str | None = None, detail: str | None = None) -> None:
        record = self._deliveries.setdefault((job_id, recipient, channel), {"mentions": [], "attempts": 1})
        self._finish(record, (job_id, recipient, channel), status, message_id, detail)

    def _finish(self, record: dict[str, Any], where: tuple[str, str, str], status: str, message_id: str | None,
                detail: str | None) -> None:
        now = iso(self.clock())
        record.update(status=status, finished_at=now)
        if message_id:
            record["message_id"] = message_id
        if detail:
            record["detail"] = detail
        if status in UNDELIVERED_STATUSES:
            record.update(index="UNDELIVERED", index_key=undelivered_index_key(now, *where))
        else:
            record.update(index=None, index_key=None)

    def _indexed(self, partition: str, low: str, high: str, limit: int) -> list[Delivery]:
        hits = sorted((r["index_key"], where) for where, r in self._deliveries.items()
                      if r.get("index") == partition and low <= r["index_key"] <= high)
        return [self._delivery(where, self._deliveries[where]) for _, where in hits[:limit]]

    @staticmethod
    def _delivery(where: tuple[str, str, str], r: dict[str, Any]) -> Delivery:
        return Delivery(*where, status=r["status"], mention_keys=list(r["mentions"]), message_id=r.get("message_id"),
                        detail=r.get("detail"), sent_at=r.get("finished_at"), attempts=r["attempts"],
                        retry_at=r.get("retry_at"))

    def undelivered(self, since: float, limit: int = 100) -> list[Delivery]:
        return self._indexed("UNDELIVERED", iso(since), "\U0010ffff", limit)

    def deliveries(self, job_id: str) -> list[Delivery]:
        mine = sorted(f"{recipient}#{channel}" for j, recipient, channel in self._deliveries if j == job_id)
        return [self._delivery(where, self._deliveries[where])
                for where in ((job_id, *sk.split("#", 1)) for sk in mine)]  # type: ignore[misc]

    def retry_delivery_later(self, job_id: str, recipient: str, channel: str, *, attempts: int, retry_at: float,
                             detail: str) -> bool:
        record = self._deliveries.get((job_id, recipient, channel))
        if record is None or record.get("status") != "sending":
            return False
        record.update(status="retry", attempts=attempts, retry_at=retry_at, detail=detail,
                      finished_at=iso(self.clock()), index="RETRY",
                      index_key=retry_index_key(retry_at, job_id, recipient, channel))
        return True

    def due_retries(self, limit: int = 100) -> list[Delivery]:
        return self._indexed("RETRY", "", due_bound(self.clock()), limit)

    def claim_retry(self, delivery: Delivery, lease_seconds: float) -> bool:
        d = delivery
        record = self._deliveries.get((d.job_id, d.recipient, d.channel))
        if record is None or record.get("status") != "retry" or record.get("attempts") != d.attempts:
            return False
        now = self.clock()
        record.update(status="sending", attempts=d.attempts + 1, claimed_at=iso(now),
                      index_key=retry_index_key(now + lease_seconds, d.job_id, d.recipient, d.channel))
        return True

    def finish_retry(self, delivery: Delivery, attempts: int, status: str, *, message_id: str | None = None,
                     detail: str | None = None) -> bool:
        where = (delivery.job_id, delivery.recipient, delivery.channel)
        record = self._deliveries.get(where)
        if record is None or record.get("status") != "sending" or record.get("attempts") != attempts:
            return False
        self._finish(record, where, status, message_id, detail)
        record.pop("retry_at", None)
        return True

    def use_nonce(self, nonce: str, expires_at: int) -> bool:
        if nonce in self._nonces:
            return False
        self._nonces[nonce] = {}
        return True

    def claim_nonce(self, nonce: str, expires_at: int, lease_seconds: float) -> str | None:
        now = self.clock()
        held = self._nonces.get(nonce)
        if held is not None and not ("held_until" in held and held["held_until"] < now):
            return None
        claim = secrets.token_hex(8)
        self._nonces[nonce] = {"claim": claim, "held_until": now + lease_seconds}
        return claim

    def spend_nonce(self, nonce: str, claim: str, bound_to: str = "") -> bool:
        record = self._nonces.get(nonce)
        if record is None or record.get("claim") != claim:
            return False
        self._nonces[nonce] = {"bound_to": bound_to}
        return True

    def release_nonce(self, nonce: str, claim: str) -> None:
        if self._nonces.get(nonce, {}).get("claim") == claim:
            del self._nonces[nonce]

    def spent_nonce(self, nonce: str) -> str | None:
        record = self._nonces.get(nonce)
        if record is None or "claim" in record:
            return None
        return str(record.get("bound_to", ""))

    def put_short_link(self, code: str, token: str, expires_at: int) -> None:
        if code in self._short:
            raise ItemExists(f"short code {code} is in use")
        self._short[code] = (token, expires_at)

    def get_short_link(self, code: str) -> str | None:
        token, expires_at = self._short.get(code, ("", 0))
        return token if token and expires_at > self.clock() else None

    # --- cursors, health, connector state ------------------------------------------

    def get_task_states(self, networks: Iterable[str]) -> dict[str, dict[str, TaskState]]:
        names = list(dict.fromkeys(networks))
        bodies: dict[str, dict[str, str]] = {n: {} for n in names}
        for (network, group), body in sorted(self._task_items.items()):
            if network in bodies and group != KEPT:
                bodies[network][group] = body
        states = {n: merged_tasks(bodies[n]) for n in names}
        self._task_groups.update({n: dict(bodies[n]) for n in names})
        for network in (n for n in names if (n, KEPT) not in self._task_items):
            if network in self._tasks:
                states[network] = merged_tasks(bodies[network], self._tasks[network])
            self.save_task_states(network, states[network])
            self._task_items[(network, KEPT)] = tasks_body({})
        return states

    def save_task_states(self, network: str, states: dict[str, TaskState],
                         moved: Iterable[str] | None = None) -> None:
        plan = planned_writes(states, moved, self._task_groups.get(network, {}))

        def write(puts: dict[str, str], deletes: list[str]) -> None:
            self._task_items.update({(network, group): body for group, body in puts.items()})
            for group in deletes:
                self._task_items.pop((network, group), None)

        def put_if(group: str, body: str, read: str | None) -> bool:
            if self._task_items.get((network, group)) != read:
                return False
            self._task_items[(network, group)] = body
            return True

        self._task_groups[network] = plan.then if save_plan(plan, write, put_if) else {}

    def all_health(self) -> dict[str, Health]:
        fields = set(Health.__dataclass_fields__)
        return {network: Health(network=network, **{k: v for k, v in record.items() if k in fields})
                for network, record in sorted(self._health.items())}

    def record_skipped(self, network: str, count: int, reason: str) -> None:
        record = self._health.setdefault(network, {})
        record.update(last_skip=skipped_words(count, reason), last_skip_at=iso(self.clock()),
                      items_skipped=record.get("items_skipped", 0) + count)

    def record_success(self, network: str, fetched: int, *, data: bool = False,
                       restart_watch: bool = False) -> str | None:
        record = self._health.setdefault(network, {})
        told = record.get("told")
        now = iso(self.clock())
        record.update(consecutive_failures=0, last_success_at=now, retry_not_before=0.0,
                      mentions_fetched=record.get("mentions_fetched", 0) + fetched)
        if restart_watch or "watching_since" not in record:
            record["watching_since"] = now
        if data:
            record["last_data_at"] = now
        return told

    def record_failure(self, network: str, error: str, retry_not_before: float = 0.0) -> int:
        record = self._health.setdefault(network, {})
        record.update(last_error=error, last_error_at=iso(self.clock()), retry_not_before=retry_not_before,
                      consecutive_failures=record.get("consecutive_failures", 0) + 1)
        return int(record["consecutive_failures"])

    def tell_health(self, network: str, state: str) -> bool:
        return self._tell_once(network, "told", state)

    def tell_silence(self, network: str, state: str) -> bool:
        return self._tell_once(network, "silence_told", state)

    def _tell_once(self, network: str, field: str, state: str) -> bool:
        record = self._health.setdefault(network, {})
        if record.get(field) == state:
            return False
        record.update({field: state, f"{field}_at": iso(self.clock())})
        return True

    def get_state(self, network: str, name: str) -> dict[str, Any] | None:
        value = self._state.get((network, name))
        return json.loads(value) if value is not None else None

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None:
        self._state[(network, name)] = json.dumps(value)

    # --- counters -------------------------------------------------------------------

    def _count_in_hour(self, partition: str, hour: str) -> int:
        self._hours[(partition, hour)] = self._hours.get((partition, hour), 0) + 1
        return self._hours[(partition, hour)]

    def count_sms(self, recipient: str, hour: str) -> int:
        return self._count_in_hour(f"SMSCOUNT#{recipient}", hour)

    def count_answers(self, sender: str, hour: str) -> int:
        return self._count_in_hour(f"SMSANSWER#{sender}", hour)

    def count_commands(self, sender: str, hour: str) -> int:
        return self._count_in_hour(f"SMSCOMMAND#{sender}", hour)

    def tell_spike(self, group: str, cooldown_seconds: float) -> bool:
        now = self.clock()
        if group in self._spikes and not self._spikes[group] < now - cooldown_seconds:
            return False
        self._spikes[group] = now
        return True

    def daily_caps(self, day: str) -> tuple[dict[str, int], dict[str, int]]:
        return caps_from(self._caps.get(day, {}))

    def add_to_daily_caps(self, day: str, *, counts: dict[str, int] | None = None,
                          raised: dict[str, int] | None = None) -> None:
        _add(self._caps, day, caps_counters(counts, raised))

    def known_stories(self, days: Sequence[str]) -> dict[str, str]:
        known: dict[str, str] = {}
        for day in days:
            for _, body in sorted(self._stories.get(day, {}).items()):
                known.update(json.loads(body))
        return known

    def remember_stories(self, day: str, fingerprints: dict[str, str], attempts: int = 5) -> bool:
        self._stories.setdefault(day, {}).update(story_records(fingerprints, self.clock()))
        return True

    def add_to_digest(self, day: str, items: Sequence[MatchedMention], *, at: float | None = None) -> None:
        if not items:
            return
        at = self.clock() if at is None else at
        self._put_digest_keys(day, items, at)
        _add(self._digest, f"{day}#D#{digest_slot(at)}", digest_counters(items))

    def count_job(self, job_id: str, at: float, items: Sequence[MatchedMention]) -> bool:
        day = utc_day(at)
        if items:
            self._put_digest_keys(day, items, at)
        job = self._jobs.get(job_id)
        if job is None or job.get("counted"):
            return False
        job["counted"] = True
        if items:
            _add(self._digest, f"{day}#D#{digest_slot(at)}", digest_counters(items))
        return True

    def _put_digest_keys(self, day: str, items: Sequence[MatchedMention], at: float) -> None:
        self._digest_keys.setdefault(day, {}).update((sk, at) for sk in digest_key_items(items))

    def hour_counts(self, days: Sequence[str], hour: str) -> dict[str, dict[str, int] | None]:
        result: dict[str, dict[str, int] | None] = {}
        for day in days:
            records = {name.removeprefix(f"{day}#"): counters for name, counters in self._digest.items()
                       if name.startswith(f"{day}#")}
            result[day] = hour_groups(hour, records) if records else None
        return result

    def digest_days(self, days: Sequence[str], *, keys: bool | Collection[str] = True) -> dict[str, DigestDay]:
        result = {day: digest_day_from(day, {name.removeprefix(f"{day}#"): counters
                                             for name, counters in self._digest.items()
                                             if name.startswith(f"{day}#")}) for day in days}
        for day, record in result.items():
            if record.counts and (keys is True or (not isinstance(keys, bool) and day in keys)):
                with_keys(record, self._digest_keys.get(day, {}))
        return result

    # --- lists ----------------------------------------------------------------------

    def suppress(self, address: str, reason: str) -> None:
        self._suppressed[address.casefold()] = reason

    def suppressed(self) -> dict[str, str]:
        return dict(sorted(self._suppressed.items()))

    def mute_author(self, network: str, handle: str, by: str) -> None:
        self._mutes[f"author#{network}:{handle.casefold()}"] = by

    def mute_thread(self, thread_root: str, by: str) -> None:
        self._mutes[f"thread#{thread_root}"] = by

    def muted(self) -> tuple[list[str], list[str]]:
        return split_mutes(sorted(self._mutes))

    def muted_authors(self) -> list[str]:
        return self.muted()[0]

    def muted_threads(self) -> list[str]:
        return self.muted()[1]

    def add_exclusion(self, rule: str, term: str) -> None:
        self._exclusions.setdefault(rule, set()).add(term)

    def exclusions(self) -> dict[str, list[str]]:
        return {rule: sorted(terms) for rule, terms in sorted(self._exclusions.items())}

    # --- learning -------------------------------------------------------------------

    def feedback_model(self) -> tuple[str, int] | None:
        return self._model

    def save_feedback_model(self, model: str, version: int) -> bool:
        with self._lock:
            if (self._model[1] if self._model else 0) != version:
                return False
            self._model = (model, version + 1)
            return True

    def backfill_inbox(self, max_items: int = RUN_ITEMS, max_seconds: float = RUN_SECONDS) -> BackfillRun:
        """The table's backfill over the mentions in key order (a record without facets: stored before the
        index), ``max_items`` mentions a run."""
        with self._lock:
            after, done = self._backfill
            if done:
                return BackfillRun(0, 0, True)
            ordered = sorted(self._mentions)
            page = [key for key in ordered if key > after][:max_items]
            indexed = 0
            for key in page:
                record = self._mentions[key]
                if "facets" not in record:
                    record["facets"] = facets_of(matched_from_dict(json.loads(record["data"])))
                    indexed += 1
            done = not page or page[-1] == ordered[-1]
            self._backfill = (page[-1] if page else after, done)
            return BackfillRun(len(page), indexed, done)

    def relabel_mention(self, item: MatchedMention) -> bool:
        with self._lock:
            record = self._mentions.get(item.mention.key)
            if record is None:
                return False
            record.update(data=json.dumps(matched_to_dict(item), separators=(",", ":")), facets=facets_of(item))
            return True

    def hold_mention(self, key: str, day: str, reason: str) -> bool:
        with self._lock:
            self._held.setdefault(day, {})[key] = reason
            record = self._mentions.get(key)
            if record is None or record["state"] not in ("new", "held"):
                return False
            record["state"] = "held"
            return True

    def held_back(self, days: Sequence[str]) -> dict[str, str]:
        return {key: reason for day in days for key, reason in sorted(self._held.get(day, {}).items())}


    # --- sessions (the inbox's sign-in) ----------------------------------------------------

    def put_sign_in_link(self, token_hash: str, address: str, next_path: str, expires_at: int) -> None:
        self._links[token_hash] = (address, next_path, expires_at)

    def sign_in_link(self, token_hash: str) -> tuple[str, str] | None:
        address, next_path, expires_at = self._links.get(token_hash, ("", "", 0))
        return (address, next_path) if address and expires_at > int(self.clock()) else None

    def take_sign_in_link(self, token_hash: str) -> tuple[str, str] | None:
        found = self.sign_in_link(token_hash)
        if found is not None:
            del self._links[token_hash]
        return found

    def count_sign_in_request(self, who: str, window: str) -> int:
        self._sign_in_counts[(who, window)] = self._sign_in_counts.get((who, window), 0) + 1
        return self._sign_in_counts[(who, window)]

    def put_session(self, id_hash: str, address: str, expires_at: int, idle_until: int) -> None:
        self._sessions[id_hash] = SessionRecord(address, expires_at, idle_until, int(self.clock()))

    def get_session(self, id_hash: str) -> SessionRecord | None:
        record = self._sessions.get(id_hash)
        now = self.clock()
        return record if record is not None and record.expires_at > now and record.idle_until > now else None

    def touch_session(self, id_hash: str, idle_until: int) -> bool:
        record = self._sessions.get(id_hash)
        if record is None:
            return False
        self._sessions[id_hash] = SessionRecord(record.address, record.expires_at, idle_until, int(self.clock()))
        return True

    def delete_session(self, id_hash: str, address: str) -> None:
        self._sessions.pop(id_hash, None)

    def delete_sessions(self, address: str) -> int:
        mine = [h for h, record in self._sessions.items() if record.address == address]
        for h in mine:
            del self._sessions[h]
        return len(mine)


def _add(records: dict[str, dict[str, int]], day: str, counters: dict[str, int]) -> None:
    record = records.setdefault(day, {})
    for name, n in counters.items():
        record[name] = record.get(name, 0) + n



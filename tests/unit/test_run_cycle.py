"""``Pipeline.run_cycle`` on the store's in-memory twin (``MemoryStore``), a fake network and fake
channels: the exactly-once rules of chalicelib/pipeline.py's docstring, in milliseconds. The same
cycle on DynamoDB Local, the replay server and moto: tests/integration/test_pipeline.py and
tests/faults/ (the twin is kept honest by tests/integration/test_store_twin.py)."""

from __future__ import annotations

import threading
from typing import Any, ClassVar

import pytest

from chalicelib.alerts import DeliveryFailed
from chalicelib.alerts.delivery import RETRY_BACKOFF_SECONDS, STOPPED_DETAIL
from chalicelib.links import TokenSigner
from chalicelib.model import Mention
from chalicelib.pipeline import Pipeline
from chalicelib.rules import compile_rules
from chalicelib.sources.base import Budget, Capabilities, Cursor, FetchResult, SourceOptions
from chalicelib.store.counters import utc_day
from chalicelib.store.memory import MemoryStore
from tests import builders
from tests.builders import Outbox

CONFIG = builders.config(rules=[{"name": "brand", "group": "brand", "keywords": ["Bean There"]}])
LEASE = 120.0  # the pipeline's job lease (seconds)


class Feed:
    """A searching network under Hacker News's name that returns every item it holds on every
    fetch, whatever the cursor (as a retried cycle whose cursors did not move): only the store
    can keep a mention from being stored and alerted twice. ``barrier``: wait for the other
    cycle's fetch, so two cycles fetch the same items before either stores them."""

    name: ClassVar[str] = "hackernews"
    display_name: ClassVar[str] = "Hacker News"
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False)
    options_model: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, items: list[Mention], barrier: threading.Barrier | None = None) -> None:
        self.items = items
        self.barrier = barrier
        self.fetches = 0

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        self.fetches += 1
        if self.barrier is not None:
            self.barrier.wait(timeout=10)
        return FetchResult(list(self.items), {"fetched": self.fetches}, pages=1)


def items(*ids: str) -> list[Mention]:
    return [builders.mention(f"Bean There story {i}", native_id=i, url=f"https://news.ycombinator.com/item?id={i}")
            for i in ids]


def pipeline(store: MemoryStore, clock: builders.FakeClock, feed: Feed, email: Outbox) -> Pipeline:
    rules = compile_rules(CONFIG.rule_specs(), exclude=CONFIG.exclude)
    return Pipeline(CONFIG, store, {"hackernews": feed}, rules, {"email": email, "sms": Outbox("sms")},  # type: ignore[arg-type]
                    TokenSigner(b"k" * 32), clock=clock, job_lease_seconds=LEASE)


def counted(store: MemoryStore, clock: builders.FakeClock) -> dict[str, int]:
    """Today's digest counts per rule (each alert job is counted once)."""
    day = utc_day(clock.now)
    return store.digest_days([day])[day].counts.get("rule", {})


@pytest.fixture
def clock() -> builders.FakeClock:
    return builders.FakeClock()  # 2027-01-15 08:00 UTC: Maria's quiet hours (Lisbon, 22:00-07:30) are over


@pytest.fixture
def store(clock: builders.FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


def test_a_cycle_stores_each_mention_once_and_alerts_it_once(store: MemoryStore, clock: builders.FakeClock) -> None:
    email = Outbox("email")
    feed = Feed([*items("1", "2"), *items("1")])  # the same item twice in one fetch
    report = pipeline(store, clock, feed, email).run_cycle()
    assert (report.tasks_run, report.new_mentions, dict(report.new_per_rule), report.errors) == (
        1, 2, {"brand": 2}, {})
    assert report.deliveries == [("Maria", "email", "sent", 2)]
    assert email.keys() == [["hackernews#1", "hackernews#2"]]
    (job,) = {store.get_mention(k).job for k in ("hackernews#1", "hackernews#2")}  # type: ignore[union-attr]
    assert [(d.recipient, d.channel, d.status, d.message_id) for d in store.deliveries(job)] == [
        ("Maria", "email", "sent", "email-1")]
    assert store.stale_jobs() == []  # the job is closed
    assert counted(store, clock) == {"brand": 2}


def test_a_second_cycle_stores_and_alerts_nothing_it_has_seen(store: MemoryStore, clock: builders.FakeClock) -> None:
    email = Outbox("email")
    feed = Feed(items("1", "2"))
    cycles = pipeline(store, clock, feed, email)
    cycles.run_cycle()
    clock.advance(600)  # the task is due again; the feed returns the same two items
    again = cycles.run_cycle()
    assert (feed.fetches, again.new_mentions, again.deliveries) == (2, 0, [])
    feed.items += items("3")
    clock.advance(600)
    third = cycles.run_cycle()
    assert (third.new_mentions, third.deliveries) == (1, [("Maria", "email", "sent", 1)])
    assert email.keys() == [["hackernews#1", "hackernews#2"], ["hackernews#3"]]
    assert counted(store, clock) == {"brand": 3}  # each counted once


def test_two_overlapping_cycles_each_mention_is_owned_and_alerted_by_one(
        store: MemoryStore, clock: builders.FakeClock) -> None:
    barrier = threading.Barrier(2)  # both fetch the same ten items before either stores them
    same = items(*(str(i) for i in range(10)))
    outboxes = [Outbox("email"), Outbox("email")]
    cycles = [pipeline(store, clock, Feed(same, barrier), outbox) for outbox in outboxes]
    reports: list[Any] = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            reports[i] = cycles[i].run_cycle()
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sum(r.new_mentions for r in reports) == 10
    sent = sorted(key for outbox in outboxes for bundle in outbox.keys() for key in bundle)
    assert sent == sorted(m.key for m in same)  # each once, by the cycle that stored it
    owners = {m.key: store.get_mention(m.key).job for m in same}  # type: ignore[union-attr]
    for outbox in outboxes:
        for bundle in outbox.keys():
            assert len({owners[key] for key in bundle}) == 1  # a bundle is one job's
    assert counted(store, clock) == {"brand": 10}


def test_a_refused_send_is_retried_at_its_retry_index_once_and_never_duplicated(
        store: MemoryStore, clock: builders.FakeClock) -> None:
    throttled = DeliveryFailed("SES refused the email (Throttling)", permanent=False)
    email = Outbox("email", throttled, throttled)
    feed = Feed(items("1"))
    cycles = pipeline(store, clock, feed, email)
    first = cycles.run_cycle()
    assert (first.deliveries, email.sent) == ([("Maria", "email", "retry", 1)], [])
    (retry,) = store.deliveries(store.get_mention("hackernews#1").job)  # type: ignore[union-attr]
    assert (retry.status, retry.attempts, retry.retry_at) == ("retry", 1, clock.now + RETRY_BACKOFF_SECONDS[0])
    assert store.due_retries() == []  # not before its time

    clock.advance(RETRY_BACKOFF_SECONDS[0])
    second = cycles.run_cycle()  # refused again: the second try, 10 minutes on
    assert (second.retried, second.new_mentions, email.sent) == (1, 0, [])
    (retry,) = store.deliveries(retry.job_id)
    assert (retry.status, retry.attempts, retry.retry_at) == ("retry", 2, clock.now + RETRY_BACKOFF_SECONDS[1])

    clock.advance(RETRY_BACKOFF_SECONDS[1])
    third = cycles.run_cycle()
    assert (third.retried, third.deliveries) == (1, [("Maria", "email", "sent", 1)])
    assert email.keys() == [["hackernews#1"]]
    (done,) = store.deliveries(retry.job_id)
    assert (done.status, done.attempts, done.message_id) == ("sent", 3, "email-1")

    clock.advance(RETRY_BACKOFF_SECONDS[2])
    last = cycles.run_cycle()
    assert (last.retried, last.deliveries, len(email.sent)) == (0, [], 1)


def test_of_two_cycles_finding_the_same_due_retry_one_resends_it(
        store: MemoryStore, clock: builders.FakeClock) -> None:
    email = Outbox("email", DeliveryFailed("SES refused the email (Throttling)", permanent=False))
    pipeline(store, clock, Feed(items("1")), email).run_cycle()
    clock.advance(RETRY_BACKOFF_SECONDS[0])
    other = Outbox("email")
    reports = [pipeline(store, clock, Feed([]), outbox).run_cycle() for outbox in (email, other)]
    assert [r.retried for r in reports] == [1, 0]
    assert (email.keys(), other.sent) == ([["hackernews#1"]], [])


class Stopped(Exception):
    """The Lambda stopped (a timeout): nothing after this point of the cycle ran."""


def test_a_job_left_open_by_a_stopped_cycle_is_resumed_once_after_its_lease(
        store: MemoryStore, clock: builders.FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    email = Outbox("email")
    dying = pipeline(store, clock, Feed(items("1", "2")), email)

    def stop(*args: Any) -> None:
        raise Stopped

    monkeypatch.setattr(dying, "alert", stop)  # stopped after storing the mentions, before alerting them
    with pytest.raises(Stopped):
        dying.run_cycle()
    job = store.get_mention("hackernews#1").job  # type: ignore[union-attr]
    assert (store.deliveries(job), email.sent) == ([], [])

    later = pipeline(store, clock, Feed(items("1", "2")), email)
    clock.advance(LEASE - 1)
    early = later.run_cycle()  # the lease has not ended: the stopped cycle may still be alive
    assert (early.new_mentions, early.deliveries, email.sent) == (0, [], [])
    clock.advance(1)
    resumed = later.run_cycle()
    assert (resumed.new_mentions, resumed.deliveries) == (0, [("Maria", "email", "sent", 2)])
    assert email.keys() == [["hackernews#1", "hackernews#2"]]
    assert store.stale_jobs() == []
    assert counted(store, clock) == {"brand": 2}  # counted by the stopped cycle, once
    clock.advance(LEASE)
    assert later.run_cycle().deliveries == [] and len(email.sent) == 1


def test_a_cycle_stopped_mid_send_leaves_the_delivery_unconfirmed_and_it_is_never_sent_again(
        store: MemoryStore, clock: builders.FakeClock) -> None:
    email = Outbox("email", Stopped())  # the Lambda stops while the email is being sent
    with pytest.raises(Stopped):
        pipeline(store, clock, Feed(items("1")), email).run_cycle()
    job = store.get_mention("hackernews#1").job  # type: ignore[union-attr]
    assert [d.status for d in store.deliveries(job)] == ["sending"]

    clock.advance(LEASE)
    resumed = pipeline(store, clock, Feed(items("1")), email).run_cycle()
    assert resumed.deliveries == [("Maria", "email", "unconfirmed", 1)]
    (delivery,) = store.deliveries(job)
    assert (delivery.status, delivery.detail) == ("unconfirmed", STOPPED_DETAIL)
    assert email.sent == []  # it may have arrived: never sent twice
    assert [d.job_id for d in store.undelivered(0)] == [job]  # listed in the next digest

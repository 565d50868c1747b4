"""The poll cycle's steps one at a time: schedule (which tasks are due), screen (daily caps),
bundle (the hourly SMS cap and short links) and the one delivery path's notices and due retries
(chalicelib.alerts.delivery), on the store's in-memory twin (tests.builders.RecordingStore). The
whole cycle on the twin: tests/unit/test_run_cycle.py; on the stack: tests/integration/test_pipeline.py
and tests/faults/."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

from chalicelib.alerts import DeliveryFailed
from chalicelib.alerts.delivery import STOPPED_DETAIL, deliver_once, due_retries, notify
from chalicelib.alerts.router import PlannedDelivery
from chalicelib.config import parse_config
from chalicelib.cycle.bundle import bundle, prepare
from chalicelib.cycle.context import Cycle, CycleReport
from chalicelib.cycle.schedule import LOCAL_STREAM, Task, due, planned_tasks
from chalicelib.cycle.screen import apply_caps, daily_caps
from chalicelib.links import TokenSigner
from chalicelib.model import Delivery, Health, MatchedMention, Mention, RuleMatch, StoredMention, TaskState
from chalicelib.sources.base import Capabilities
from chalicelib.triage import Triage
from tests.builders import RecordingStore

CONFIG = parse_config("""\
business: {name: Bean There Café}
rules:
  - {name: brand, group: brand, keywords: [Bean There], daily_cap: 2}
  - {name: complaints, group: brand, keywords: [refund], urgent: true}
  - {name: rivals, group: competitor, keywords: [Roast Co], daily_cap: 1}
networks: {hackernews: {}}
schedule: {poll_minutes: 5, urgent_poll_minutes: 1}
recipients:
  - {name: Maria, email: maria@beanthere.example, phone: "+351912345678", sms_per_hour: 2}
  - {name: Rui, phone: "+351912345679"}
alerts: {from_address: alerts@beanthere.example, action_base_url: "https://listen.example"}
""")
NOON = dt.datetime(2026, 7, 1, 11, 0, tzinfo=dt.UTC)
MARIA = CONFIG.recipients[0]


@dataclass(frozen=True)
class Term:
    term: str
    urgent: bool


class Searches:
    name: ClassVar[str] = "hackernews"
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=False)


class Streams:
    name: ClassVar[str] = "mastodon"
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=False, local_stream=True)


TERMS = [Term("Bean There", False), Term("refund", True)]


def test_a_searching_network_gets_a_task_per_term_and_a_stream_one_task_at_the_urgent_interval() -> None:
    tasks = planned_tasks(CONFIG, {"hackernews": Searches(), "mastodon": Streams()}, TERMS)
    assert tasks == [Task("hackernews", "Bean There", 300.0), Task("hackernews", "refund", 60.0),
                     Task("mastodon", LOCAL_STREAM, 60.0)]
    calm = planned_tasks(CONFIG, {"mastodon": Streams()}, [Term("Bean There", False)])
    assert calm == [Task("mastodon", LOCAL_STREAM, 300.0)]


def test_a_task_is_due_after_its_interval_less_the_slack_or_unfinished_and_never_while_backing_off() -> None:
    now = 10_000.0
    tasks = [Task("hackernews", "Bean There", 300.0), Task("hackernews", "refund", 60.0),
             Task("mastodon", LOCAL_STREAM, 60.0)]
    states = {"hackernews": {"Bean There": TaskState(None, now - 291.0), "refund": TaskState(None, now - 49.0)},
              "mastodon": {LOCAL_STREAM: TaskState(None, now - 5.0, unfinished=True)}}
    assert due(tasks, states, {}, now) == [tasks[0], tasks[2]]  # 291 s >= 300 - 10; 49 s < 60 - 10
    states["hackernews"]["Bean There"] = TaskState(None, now - 289.0)
    assert due(tasks, states, {}, now) == [tasks[2]]
    backing_off = {"mastodon": Health("mastodon", retry_not_before=now + 1)}
    assert due(tasks, states, backing_off, now) == []
    assert due(tasks, {}, {}, now) == tasks  # never run: every task is due


def stored(native_id: str, rules: tuple[str, ...], priority: int = 10, urgent: bool = False) -> StoredMention:
    mention = Mention("hackernews", native_id, f"https://news.ycombinator.com/item?id={native_id}", "Bean There",
                      NOON - dt.timedelta(minutes=int(native_id)))
    matches = tuple(RuleMatch(rule, "brand", urgent) for rule in rules)
    return StoredMention(MatchedMention(mention, matches, Triage(0.0, "neutral", frozenset(), priority, (), False)),
                         "new", NOON.isoformat(), "job")


def test_leads_over_their_rules_daily_caps_wait_unless_an_uncapped_rule_matched() -> None:
    caps = daily_caps(CONFIG)
    assert caps == {"brand": 2, "rivals": 1}
    leads = [stored("1", ("brand",), 30), stored("2", ("brand",), 20), stored("3", ("brand", "complaints"), 10),
             stored("4", ("rivals",), 50), stored("5", ("brand", "rivals"), 40)]
    passed, held, sent = apply_caps(CONFIG, leads, caps, counts={"brand": 1}, raised={})
    # Most important first: 4 (rivals 0 -> 1), 5 (brand 1 -> 2; rivals full but brand not), 1 held,
    # 2 held, 3 passes on the uncapped "complaints".
    assert [m.item.mention.native_id for m in passed] == ["4", "5", "3"]
    assert held == Counter({"brand": 2})
    assert sent == Counter({"brand": 2, "rivals": 2})
    raised_today = apply_caps(CONFIG, leads[:2], caps, counts={"brand": 2}, raised={"brand": 1})
    assert [m.item.mention.native_id for m in raised_today[0]] == ["1"]
    assert raised_today[1] == Counter({"brand": 1})


def cycle_with(store: Any, report: CycleReport | None = None) -> Cycle:
    return Cycle(CONFIG, store, {}, {}, TokenSigner(b"k" * 32), lambda: NOON.timestamp(), report or CycleReport())


def twin() -> RecordingStore:
    return RecordingStore(clock=lambda: NOON.timestamp())


def test_an_sms_within_the_hourly_cap_gets_a_short_link_and_the_last_one_says_so() -> None:
    plan = PlannedDelivery(MARIA, "sms", (stored("1", ("complaints",), urgent=True),))
    store = twin()
    first = prepare(cycle_with(store), plan, NOON)
    assert (first.plan.held, first.last_sms) == (None, False)
    assert first.short_link.startswith("https://listen.example/s/")
    assert store.calls[0] == ("count_sms", "Maria", "2026-07-01T11")
    token = store.get_short_link(first.short_link.rsplit("/", 1)[1])
    assert token is not None and TokenSigner(b"k" * 32).verify(token).mention_key == "hackernews#1"
    last = prepare(cycle_with(store), plan, NOON)
    assert (last.plan.held, last.last_sms) == (None, True)
    over = prepare(cycle_with(store), plan, NOON)
    assert (over.plan.held, over.short_link) == ("hourly SMS cap", "")
    assert [c[0] for c in store.calls] == ["count_sms", "put_short_link"] * 2 + ["count_sms"]
    alert = bundle(cycle_with(store), last, {}, {})
    assert (alert.short_link, alert.last_sms_this_hour, alert.unsubscribe) == (last.short_link, True, "")


def test_an_email_needs_no_write_before_its_claim_and_tells_the_caps_that_held_mentions() -> None:
    plan = PlannedDelivery(MARIA, "email", (stored("1", ("brand",)),))
    store = twin()
    prepared = prepare(cycle_with(store), plan, NOON)
    assert (prepared.plan, prepared.short_link, store.calls) == (plan, "", [])
    alert = bundle(cycle_with(store), prepared, {}, {"brand": 1, "rivals": 3})
    assert [n.text for n in alert.notices] == [
        "Rule \u201cbrand\u201d reached its daily cap of 2: 1 more mention waits for the daily digest.",
        "Rule \u201crivals\u201d reached its daily cap of 1: 3 more mentions wait for the daily digest."]
    assert alert.unsubscribe.startswith("https://listen.example/u/")
    assert set(alert.items[0].links) >= {"handled", "snooze"}


class LaggingIndex:
    """Due deliveries as DynamoDB's ``RETRY`` index may return them: an index is eventually
    consistent, so a query can list a delivery another cycle finished meanwhile (``raced``: its
    conditional write fails) or one already sent (``lagging``). The twin's index is always current,
    so these cases need this fake."""

    def __init__(self, due: list[Delivery]) -> None:
        self.due = due

    def due_retries(self) -> list[Delivery]:
        return self.due

    def finish_retry(self, delivery: Delivery, attempts: int, status: str, *, message_id: str | None = None,
                     detail: str | None = None) -> bool:
        if delivery.status != "sending" or delivery.job_id == "finished-elsewhere":
            return False
        delivery.status, delivery.detail = status, detail
        return True


class Mailer:
    def __init__(self, *refusals: DeliveryFailed) -> None:
        self.refusals = list(refusals)
        self.sent: list[str] = []

    def send_message(self, message: Any, to: str) -> str:
        if self.refusals:
            raise self.refusals.pop(0)
        self.sent.append(to)
        return f"ses-{len(self.sent)}"


def test_a_notice_is_a_recorded_delivery_a_failure_is_not_lost_and_it_is_never_sent_twice() -> None:
    store = twin()
    recipients = [*CONFIG.recipients, CONFIG.recipients[0].model_copy(update={"name": "Ana",
                                                                              "email": "ana@beanthere.example"})]
    throttled = DeliveryFailed("SES refused the email (Throttling)", permanent=False)
    mailer = Mailer(throttled)
    reached = notify(store, mailer, recipients, "notice-health-hackernews-down-1", lambda name, address: name,
                     clock=lambda: 1000.0)
    assert reached == [("Maria", "failed"), ("Ana", "sent")]  # Rui has no email address
    assert {d.recipient: (d.status, d.detail) for d in store.deliveries("notice-health-hackernews-down-1")} == {
        "Maria": ("failed", str(throttled)),  # not retried: listed in the next digest
        "Ana": ("sent", None)}
    assert notify(store, mailer, recipients, "notice-health-hackernews-down-1", lambda n, a: n,
                  clock=lambda: 1000.0) == []
    assert mailer.sent == ["ana@beanthere.example"]
    assert notify(store, None, recipients, "notice-x", lambda n, a: n, clock=lambda: 1000.0) == []


def test_a_delivery_claimed_before_is_not_sent_again() -> None:
    store, mailer = twin(), Mailer()
    first = deliver_once(store, "digest-2026-07-01", "Maria", "digest", ["k1"], lambda: mailer.send_message(1, "m"),
                         clock=lambda: 1000.0)
    again = deliver_once(store, "digest-2026-07-01", "Maria", "digest", ["k1"], lambda: mailer.send_message(1, "m"),
                         clock=lambda: 1000.0)
    assert (first, again, mailer.sent) == (("sent", "ses-1"), None, ["m"])


def test_due_deliveries_stopped_mid_send_become_unconfirmed_and_retries_are_returned_per_channel() -> None:
    stopped = Delivery("job-1", "Maria", "email", "sending", ["k1"])
    raced = Delivery("finished-elsewhere", "Maria", "email", "sending", ["k2"])
    retry = Delivery("job-2", "Maria", "sms", "retry", ["k3"], attempts=2)
    digest = Delivery("digest-2026-07-01", "Maria", "digest", "sending")
    lagging = Delivery("job-3", "Maria", "email", "sent")
    store = LaggingIndex([stopped, raced, retry, digest, lagging])
    assert due_retries(store, ("email", "sms")) == ([stopped], [retry])
    assert (stopped.status, stopped.detail) == ("unconfirmed", STOPPED_DETAIL)
    assert digest.status == "sending"  # the digest run's own
    assert due_retries(store, ("digest",)) == ([digest], [])

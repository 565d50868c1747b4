"""The poll cycle end to end on the local stack: replay server -> DynamoDB Local -> moto SES/SNS."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from pathlib import Path

import pytest

from chalicelib.config import ListenConfig
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.pipeline import Pipeline
from chalicelib.runtime import build
from chalicelib.store import Store
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import SIGNING_KEY, make_config

pytestmark = pytest.mark.integration


class Clock:
    """Real time plus an offset the test moves forward (the schedule is in minutes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def pipeline_for(config: ListenConfig, store: Store, clock: Clock) -> Pipeline:
    store.clock = clock
    return build(config, store, signing_key=SIGNING_KEY.encode(), clock=clock).pipeline


def keys_in(message: object) -> list[str]:
    """Mention keys an email links to (its action tokens name them)."""
    import base64
    import json

    text = message.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    keys = []
    for token in re.findall(r"Mark as handled: \S+/a/([A-Za-z0-9_-]+)\.", text):
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["m"]
        if not key.startswith("rule:"):  # a notice's link (raise a rule's cap), not a mention
            keys.append(key)
    return keys


@pytest.fixture
def seeded(replay: ReplayServer) -> list[dict]:
    now = int(time.time())
    items = [
        story_hit(101, now - 600, "Bean There opened a second café", author="ana", points=12),
        comment_hit(102, now - 300, "I asked Bean There for a refund and they were rude", story_id=101,
                    story_title="Bean There opened a second café", author="rui"),
        story_hit(103, now - 200, "Unrelated: a new JavaScript framework"),
    ]
    replay.add_items("hackernews", items)
    return items


def test_one_cycle_stores_matching_mentions_and_alerts_once(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    report = pipeline_for(make_config(replay, tmp_path), store, Clock()).run_cycle()
    assert report.new_mentions == 2
    assert report.new_per_rule == {"brand": 2, "complaints": 1}
    assert report.errors == {}
    assert sorted(report.deliveries) == [("Maria", "email", "sent", 2), ("Maria", "sms", "sent", 1)]
    emails = stack.sent_emails()
    assert len(emails) == 1
    assert emails[0]["Subject"] == "URGENT (1): 2 new mentions of Bean There Café"
    assert emails[0]["To"] == "Maria <maria@beanthere.example>"
    assert sorted(keys_in(emails[0])) == ["hackernews#101", "hackernews#102"]
    (phone, sms), = stack.sent_sms()
    assert phone == "+351912345678"
    assert re.fullmatch(r'URGENT Hacker News: "I asked Bean There for a refund and they were rude" '
                        r"http://127\.0\.0\.1:8000/s/[A-Za-z0-9_-]{8}", sms)
    assert store.get_mention("hackernews#103") is None  # matched no rule: dropped
    complaint = store.get_mention("hackernews#102")
    assert complaint is not None and complaint.item.triage is not None
    assert "complaint" in complaint.item.triage.intents and complaint.item.triage.sentiment_label == "negative"


def test_second_cycle_stores_and_alerts_nothing_already_seen(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    pipeline.run_cycle()
    clock.offset += 600  # every task is due again
    replay.add_items("hackernews", [story_hit(104, int(time.time()) - 5, "Bean There is my favourite")])
    report = pipeline.run_cycle()
    assert report.tasks_run > 0
    assert report.new_mentions == 1
    emails = stack.sent_emails()
    assert [keys_in(e) for e in emails] == [keys_in(emails[0]), ["hackernews#104"]]


def test_a_retried_cycle_with_unmoved_cursors_stores_and_sends_nothing_twice(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    config = make_config(replay, tmp_path)
    pipeline_for(config, store, Clock()).run_cycle()
    # The retry sees the same items again (as if the first run died before moving its cursors).
    fresh_store = Store(stack.client("dynamodb"), store.table)
    for item in stack.client("dynamodb").scan(TableName=store.table)["Items"]:
        if item["pk"]["S"] == "TASKS":  # every network's task states
            stack.client("dynamodb").delete_item(TableName=store.table, Key={"pk": item["pk"], "sk": item["sk"]})
    report = pipeline_for(config, fresh_store, Clock()).run_cycle()
    assert report.tasks_run > 0 and report.fetched["hackernews"] >= 2
    assert report.new_mentions == 0 and report.deliveries == []
    assert len(stack.sent_emails()) == 1 and len(stack.sent_sms()) == 1


def test_concurrent_cycles_alert_each_mention_exactly_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    now = int(time.time())
    replay.add_items("hackernews", [story_hit(200 + i, now - 100 - i, f"Bean There story {i}") for i in range(15)])
    config = make_config(replay, tmp_path)
    pipelines = [pipeline_for(config, Store(stack.client("dynamodb"), store.table), Clock()) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(p: Pipeline) -> None:
        barrier.wait()
        try:
            p.run_cycle()
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(p,)) for p in pipelines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    alerted = [key for email in stack.sent_emails() for key in keys_in(email)]
    assert len(stack.sent_emails()) in (1, 2)
    assert sorted(alerted) == sorted(f"hackernews#{200 + i}" for i in range(15))  # each exactly once


def test_a_crash_between_storing_and_alerting_loses_no_alert(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config(replay, tmp_path)
    clock = Clock()
    crashing = pipeline_for(config, store, clock)
    monkeypatch.setattr(crashing, "alert", lambda *a: (_ for _ in ()).throw(RuntimeError("Lambda timed out")))
    with pytest.raises(RuntimeError):
        crashing.run_cycle()
    assert stack.sent_emails() == []
    later = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock)
    clock.offset += 60
    assert later.run_cycle().deliveries == []  # the job's lease still holds: its cycle may be alive
    clock.offset += 61
    report = later.run_cycle()
    assert report.new_mentions == 0  # stored by the crashed run
    assert sorted(report.deliveries) == [("Maria", "email", "sent", 2), ("Maria", "sms", "sent", 1)]
    assert sorted(keys_in(stack.sent_emails()[0])) == ["hackernews#101", "hackernews#102"]
    clock.offset += 400
    assert later.run_cycle().deliveries == []  # the resumed job is closed: never sent again
    assert len(stack.sent_emails()) == 1


def test_a_crash_while_sending_never_sends_twice(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config(replay, tmp_path)
    clock = Clock()
    crashing = pipeline_for(config, store, clock)
    email_channel = crashing.channels["email"]
    real_send = email_channel.send

    def send_then_die(bundle: object) -> str:
        real_send(bundle)  # the email left, but the cycle dies before recording it
        raise SystemExit("killed")

    monkeypatch.setattr(email_channel, "send", send_then_die)
    with pytest.raises(SystemExit):
        crashing.run_cycle()
    assert len(stack.sent_emails()) == 1
    clock.offset += 121
    report = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock).run_cycle()
    # the SMS was never started; the email's unknown outcome is counted (and listed in the next digest)
    assert sorted(report.deliveries) == [("Maria", "email", "unconfirmed", 2), ("Maria", "sms", "sent", 1)]
    assert len(stack.sent_emails()) == 1  # the email whose outcome is unknown is not resent
    assert len(stack.sent_sms()) == 1
    (job,) = [i for i in stack.client("dynamodb").scan(TableName=store.table)["Items"] if i["sk"]["S"] == "JOB"]
    statuses = {d.channel: d.status for d in store.deliveries(job["pk"]["S"][4:])}
    assert statuses == {"email": "unconfirmed", "sms": "sent"}


def test_rate_limited_network_keeps_its_cursor_and_backs_off(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    replay.inject("hackernews", Fault(429, {"Retry-After": "120"}))
    report = pipeline.run_cycle()
    assert report.errors == {"hackernews": "hackernews: rate limited (HTTP 429, retry after 120 s)"}
    assert report.new_mentions == 0
    health = store.all_health()["hackernews"]
    assert health.consecutive_failures == 1
    assert health.last_error == "hackernews: rate limited (HTTP 429, retry after 120 s)"
    assert health.retry_not_before == pytest.approx(clock() + 120, abs=5)
    assert store.get_task_states(["hackernews"]) == {"hackernews": {}}  # no cursor moved
    requests_before = len(replay.received["hackernews"])
    assert pipeline.run_cycle().tasks_run == 0  # backing off: not even asked
    assert len(replay.received["hackernews"]) == requests_before
    clock.offset += 121
    report = pipeline.run_cycle()
    assert report.new_mentions == 2 and report.errors == {}
    assert store.all_health()["hackernews"].consecutive_failures == 0


def test_intervals_count_from_each_cycles_start_not_from_when_its_fetching_ended(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    """A 5-minute task on a 60-second grid runs every 5th cycle however long a round takes
    (a round that ended 20 s after it started used to push the next run to the 6th)."""
    clock = Clock()
    config = make_config(replay, tmp_path, extra="schedule: {poll_minutes: 5, urgent_poll_minutes: 5}\n")
    pipeline = pipeline_for(config, store, clock)
    connector = pipeline.sources["hackernews"]
    real_fetch = connector.fetch

    def slow_fetch(query, cursor, budget):  # type: ignore[no-untyped-def]
        clock.offset += 20  # a slow network: the round ends 20 s after the cycle started
        return real_fetch(query, cursor, budget)

    connector.fetch = slow_fetch  # type: ignore[method-assign]
    grid = clock.offset
    ran = []
    for minute in range(11):
        clock.offset = grid + 60 * minute  # EventBridge: one cycle a minute, on the minute
        ran.append(pipeline.run_cycle().tasks_run)
    assert [minute for minute, tasks in enumerate(ran) if tasks] == [0, 5, 10]


def test_items_a_network_could_not_read_are_counted_on_its_health_and_the_rest_stored(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    pipeline = pipeline_for(make_config(replay, tmp_path), store, Clock())
    connector = pipeline.sources["hackernews"]
    real_fetch = connector.fetch

    def fetch_with_two_bad_items(query, cursor, budget):  # type: ignore[no-untyped-def]
        result = real_fetch(query, cursor, budget)
        result.skipped.extend(["KeyError: 'objectID'", "OverflowError: timestamp out of range"])
        return result

    connector.fetch = fetch_with_two_bad_items  # type: ignore[method-assign]
    report = pipeline.run_cycle()
    tasks = report.tasks_run
    assert report.new_mentions == 2 and report.errors == {}
    assert report.skipped["hackernews"] == 2 * tasks
    health = store.all_health()["hackernews"]
    assert health.items_skipped == 2 * tasks
    assert health.last_skip == f"{2 * tasks} items skipped: KeyError: 'objectID'"
    assert health.consecutive_failures == 0


def test_server_errors_count_consecutive_failures_and_leave_the_cursor(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    replay.inject("hackernews", *[Fault(502)] * 6)
    assert pipeline.run_cycle().errors == {"hackernews": "hackernews: server error (HTTP 502)"}
    assert pipeline.run_cycle().errors == {"hackernews": "hackernews: server error (HTTP 502)"}
    health = store.all_health()["hackernews"]
    assert (health.consecutive_failures, health.last_success_at) == (2, None)
    assert store.get_task_states(["hackernews"]) == {"hackernews": {}}  # no cursor moved


def test_sms_is_held_in_quiet_hours_and_recorded(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    report = pipeline_for(make_config(replay, tmp_path, quiet=True), store, Clock()).run_cycle()
    assert sorted(report.deliveries) == [("Maria", "email", "sent", 2), ("Maria", "sms", "skipped", 1)]
    assert stack.sent_sms() == []


def test_a_failing_network_is_told_once_and_its_recovery_once(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    replay.inject("hackernews", *[Fault(502)] * 12)  # four cycles, three attempts each
    told = []
    for _ in range(4):
        told.append(pipeline.run_cycle().health_notices)
        clock.offset += 60
    assert told == [[], [], [("Maria", "hackernews", "down")], []]
    (notice,) = stack.sent_emails()
    assert notice["Subject"] == "Bean There Café listening: Hacker News is failing (3 times in a row)"
    assert notice.get_content().startswith(
        "Hacker News did not answer, or answered with a server error; we try again every minute.\n\n")
    assert "What it said:\n\n    server error (HTTP 502)\n" in notice.get_content()
    report = pipeline.run_cycle()
    assert report.health_notices == [("Maria", "hackernews", "up")] and report.new_mentions == 2
    clock.offset += 600
    assert pipeline.run_cycle().health_notices == []
    subjects = [m["Subject"] for m in stack.sent_emails()]
    assert subjects.count("Bean There Café listening: Hacker News works again") == 1
    assert len(subjects) == 3  # down, up, and the alert for the two mentions


def test_alert_email_has_one_click_unsubscribe_and_a_suppressed_address_gets_none(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    pipeline.run_cycle()
    (email,) = stack.sent_emails()
    assert re.fullmatch(r"<http://127\.0\.0\.1:8000/u/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+>", email["List-Unsubscribe"])
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    store.suppress("Maria@BeanThere.example", "unsubscribed")
    replay.add_items("hackernews", [story_hit(105, int(time.time()) - 5, "Bean There refund please, so rude")])
    clock.offset += 600
    report = pipeline.run_cycle()
    assert report.deliveries == [("Maria", "sms", "sent", 1)]  # SMS still goes; no email
    assert len(stack.sent_emails()) == 1


def test_an_opted_out_phone_gets_no_sms_and_the_failure_is_recorded(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    config = make_config(replay, tmp_path, phone="+351912345699")  # moto: numbers ending in 99 opted out
    report = pipeline_for(config, store, Clock()).run_cycle()
    assert sorted(report.deliveries) == [("Maria", "email", "sent", 2), ("Maria", "sms", "failed", 1)]
    assert stack.sent_sms() == []
    (job,) = [i for i in stack.client("dynamodb").scan(TableName=store.table)["Items"] if i["sk"]["S"] == "JOB"]
    sms = next(d for d in store.deliveries(job["pk"]["S"][4:]) if d.channel == "sms")
    assert (sms.status, sms.detail) == ("failed", "the phone number opted out of SMS (replied STOP)")


def test_the_most_urgent_mention_wakes_people_up_in_quiet_hours(
    stack: LocalStack, store: Store, replay: ReplayServer, seeded: list[dict], tmp_path: Path
) -> None:
    config = make_config(replay, tmp_path, quiet=True, extra="vip: [hackernews:rui]\n")
    pipeline = pipeline_for(config, store, Clock())
    report = pipeline.run_cycle()
    complaint = store.get_mention("hackernews#102")
    assert complaint is not None and complaint.item.priority >= config.alerts.quiet_hours_priority
    assert sorted(report.deliveries) == [("Maria", "email", "sent", 2), ("Maria", "sms", "sent", 1)]


def test_the_hourly_sms_cap_says_so_in_its_last_sms_then_holds_the_rest(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    config = make_config(replay, tmp_path, recipient="    sms_per_hour: 2\n")
    clock = Clock()
    clock.offset = 3600 - time.time() % 3600 + 600  # ten minutes past the next hour: three cycles fit in it
    pipeline = pipeline_for(config, store, clock)
    statuses = []
    for i in range(3):
        replay.add_items("hackernews", [story_hit(900 + i, int(time.time()) - 5, f"Bean There refund {i} now")])
        statuses.append([d[2] for d in pipeline.run_cycle().deliveries if d[1] == "sms"])
        clock.offset += 60
    assert statuses == [["sent"], ["sent"], ["skipped"]]
    first, last = (text for _, text in stack.sent_sms())
    assert first.startswith('URGENT Hacker News: "Bean There refund 0 now"')
    assert last.startswith('URGENT Hacker News [last SMS this hour; more by email]: "Bean There refund 1 now"')


def test_a_spike_in_a_rule_group_is_told_once_per_cooldown(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    now = int(time.time())
    clock = Clock()
    clock.offset = 3600 - time.time() % 3600 + 600  # all cycles in one hour
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    replay.add_items("hackernews", [story_hit(1000 + i, now - 50 + i, f"Bean There story number {i} today")
                                    for i in range(12)])
    assert pipeline.run_cycle().spikes == []  # a new installation: no usual volume to compare with yet
    history = list(store.get_mentions(["hackernews#1000", "hackernews#1001"]).values())
    for days_ago in (1, 2, 3):  # the same hour on three earlier days: two mentions each
        clock.offset -= days_ago * 86400
        store.add_to_digest((dt.datetime.fromtimestamp(clock(), tz=dt.UTC)).date().isoformat(),
                            [m.item for m in history])
        clock.offset += days_ago * 86400
    replay.add_items("hackernews", [story_hit(1100 + i, now - 30 + i, f"Bean There is on TV part {i}")
                                    for i in range(9)])
    clock.offset += 300
    assert pipeline.run_cycle().spikes == [("brand", 21)]  # 21 this hour against 2, 2, 2, 0, 0, 0, 0
    notices = [m for m in stack.sent_emails() if "spike" in m["Subject"]]
    assert [m["Subject"] for m in notices] == [
        "Bean There Café listening: spike in mentions of your brand (21 this hour)"]
    replay.add_items("hackernews", [story_hit(1200 + i, now - 20 + i, f"Bean There TV again {i}") for i in range(9)])
    clock.offset += 300
    assert pipeline.run_cycle().spikes == []  # within the cooldown

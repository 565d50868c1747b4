"""On the local stack (replay server -> DynamoDB Local -> moto): a network silent for longer
than expected is told once and its data again once, never alongside its failure; a delivery
that failed transiently is sent again once when due, given up after four tries, and never
twice by two cycles racing for it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from chalicelib.alerts import AlertBundle, DeliveryFailed
from chalicelib.model import Delivery
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.pipeline import CycleReport, Pipeline
from chalicelib.store import Store
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, keys_in, pipeline_for

pytestmark = pytest.mark.integration

MINUTE = 60.0


def subjects(stack: LocalStack) -> list[str]:
    return [str(m["Subject"]) for m in stack.sent_emails()]


def email_delivery(stack: LocalStack, store: Store) -> Delivery:
    """The email delivery of the one alert job in the table."""
    (job,) = [i for i in stack.client("dynamodb").scan(TableName=store.table)["Items"] if i["sk"]["S"] == "JOB"]
    return next(d for d in store.deliveries(job["pk"]["S"][4:]) if d.channel == "email")


def raw_delivery(stack: LocalStack, store: Store, delivery: Delivery) -> dict[str, Any]:
    return stack.client("dynamodb").get_item(
        TableName=store.table, Key={"pk": {"S": f"JOB#{delivery.job_id}"}, "sk": {"S": "D#Maria#email"}})["Item"]


class FlakyEmail:
    """The real email channel behind a failure the test chooses, for the first ``failures``
    alert sends (notices go through untouched)."""

    name = "email"

    def __init__(self, real: Any, failures: int, *, permanent: bool = False) -> None:
        self.real = real
        self.failures = failures
        self.permanent = permanent
        self.tries = 0

    def send(self, bundle: AlertBundle) -> str:
        self.tries += 1
        if self.failures > 0:
            self.failures -= 1
            if self.permanent:
                raise DeliveryFailed("SES refused the email (MessageRejected)", permanent=True)
            raise DeliveryFailed("SES refused the email (TooManyRequestsException)", permanent=False)
        return str(self.real.send(bundle))

    def send_message(self, message: Any, to: str) -> str:
        return str(self.real.send_message(message, to))


def with_flaky_email(pipeline: Pipeline, failures: int, *, permanent: bool = False) -> FlakyEmail:
    flaky = FlakyEmail(pipeline.channels["email"], failures, permanent=permanent)
    pipeline.channels = {**pipeline.channels, "email": flaky}
    return flaky


def seed(replay: ReplayServer, clock: Clock) -> None:
    now = int(clock())
    replay.add_items("hackernews", [
        story_hit(101, now - 600, "Bean There opened a second café", author="ana", points=12),
        comment_hit(102, now - 300, "I asked Bean There for a refund and they were rude", story_id=101,
                    story_title="Bean There opened a second café", author="rui"),
    ])


def email_statuses(report: CycleReport) -> list[str]:
    return [status for _, channel, status, _ in report.deliveries if channel == "email"]


# --- silence -------------------------------------------------------------------------

def test_a_network_silent_longer_than_expected_is_told_once_and_its_data_again_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path, networks="    expect_data_within_hours: 1\n"), store, clock)
    told = []
    for minutes in (0, 30, 31, 9, 50):  # 0, 30, 61, 70, 120 minutes after the first successful poll
        clock.offset += minutes * MINUTE
        told.append(pipeline.run_cycle().health_notices)
    assert told == [[], [], [("Maria", "hackernews", "silent")], [], []]
    assert subjects(stack) == ["Bean There Café listening: nothing from Hacker News for 1 hour"]
    body = stack.sent_emails()[0].get_content()
    assert "Hacker News answers every poll without an error, but has returned nothing for 1 hour; " \
           "usually something comes within 1 hour." in body
    health = store.all_health()["hackernews"]
    assert (health.silence_told, health.last_data_at) == ("silent", None)

    clock.offset += 5 * MINUTE
    replay.add_items("hackernews", [story_hit(301, int(clock()) - 30, "Bean There is back on my way to work")])
    report = pipeline.run_cycle()
    assert report.health_notices == [("Maria", "hackernews", "data again")]
    assert report.new_mentions == 1
    for _ in range(3):
        clock.offset += 10 * MINUTE
        assert pipeline.run_cycle().health_notices == []
    assert subjects(stack) == [
        "Bean There Café listening: nothing from Hacker News for 1 hour",
        "Bean There Café listening: Hacker News returns data again",  # told as the cycle's fetch is recorded
        "New mention on Hacker News: Bean There is back on my way to work",
    ]
    assert store.all_health()["hackernews"].silence_told == "data again"


class RefusedNotices:
    """The real email channel, with every notice (``send_message``) refused by SES."""

    name = "email"

    def __init__(self, real: Any) -> None:
        self.real = real

    def send(self, bundle: AlertBundle) -> str:
        return str(self.real.send(bundle))

    def send_message(self, message: Any, to: str) -> str:
        raise DeliveryFailed("SES refused the email (TooManyRequestsException)", permanent=False)


def test_a_notice_ses_refuses_is_recorded_failed_for_the_digest_and_not_told_again(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path, networks="    expect_data_within_hours: 1\n"), store, clock)
    pipeline.channels = {**pipeline.channels, "email": RefusedNotices(pipeline.channels["email"])}
    started = clock()
    pipeline.run_cycle()
    clock.offset += 61 * MINUTE
    report = pipeline.run_cycle()
    assert report.health_notices == []  # told (the silence is recorded), but it did not arrive
    assert report.deliveries == [("Maria", "email", "failed", 0)]  # counted in DeliveriesNotConfirmed
    assert store.all_health()["hackernews"].silence_told == "silent"
    (lost,) = store.undelivered(started)  # what the next daily digest lists
    assert lost.job_id.startswith("notice-silence-hackernews-")
    assert (lost.recipient, lost.channel, lost.status, lost.mention_keys) == ("Maria", "email", "failed", [])
    assert lost.detail == "SES refused the email (TooManyRequestsException)"
    for _ in range(3):  # a notice is not retried: the next digest says it failed
        clock.offset += 5 * MINUTE
        assert pipeline.run_cycle().health_notices == []
    assert store.undelivered(started) == [lost]
    assert stack.sent_emails() == []


def test_a_network_both_failing_and_silent_is_told_as_failing_only(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path, networks="    expect_data_within_hours: 1\n"), store, clock)
    pipeline.run_cycle()  # the first successful poll starts the silence clock
    replay.inject("hackernews", *[Fault(502)] * 12)  # four cycles, three attempts each
    clock.offset += 55 * MINUTE
    told = []
    for _ in range(4):  # 55 to 70 minutes: silent for longer than an hour, and failing
        clock.offset += 5 * MINUTE
        told.append(pipeline.run_cycle().health_notices)
    assert told == [[], [], [("Maria", "hackernews", "down")], []]
    clock.offset += 5 * MINUTE
    assert pipeline.run_cycle().health_notices == [("Maria", "hackernews", "up")]  # nothing came, but just back
    clock.offset += 5 * MINUTE
    assert pipeline.run_cycle().health_notices == []  # the silence clock restarted when it came back
    clock.offset += 56 * MINUTE
    assert pipeline.run_cycle().health_notices == [("Maria", "hackernews", "silent")]  # an hour after coming back
    assert subjects(stack) == [
        "Bean There Café listening: Hacker News is failing (3 times in a row)",
        "Bean There Café listening: Hacker News works again",
        "Bean There Café listening: nothing from Hacker News for 1 hour",
    ]


def test_a_busy_network_writes_its_last_data_time_at_most_every_quarter_period(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    pipeline = pipeline_for(make_config(replay, tmp_path, networks="    expect_data_within_hours: 2\n"), store, clock)
    written = []
    for i in range(8):  # data every 5 minutes for 40 minutes
        replay.add_items("hackernews", [story_hit(400 + i, int(clock()) - 10, f"Bean There cortado number {i}")])
        pipeline.run_cycle()
        written.append(store.all_health()["hackernews"].last_data_at)
        clock.offset += 5 * MINUTE
    assert written[0] is not None
    assert len(set(written)) == 2  # at 0 and 30 minutes (a quarter of two hours), not every cycle
    assert written[:6] == [written[0]] * 6 and written[6:] == [written[6]] * 2


# --- transient delivery failures ------------------------------------------------------

def test_a_transient_email_failure_is_sent_once_on_the_first_cycle_after_its_retry_time(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    flaky = with_flaky_email(pipeline, failures=1)
    report = pipeline.run_cycle()
    assert sorted(report.deliveries) == [("Maria", "email", "retry", 2), ("Maria", "sms", "sent", 1)]
    assert stack.sent_emails() == []
    waiting = email_delivery(stack, store)
    assert (waiting.status, waiting.attempts, waiting.detail) == (
        "retry", 1, "SES refused the email (TooManyRequestsException)")
    assert waiting.retry_at == pytest.approx(clock() + 120, abs=5)

    clock.offset += 100  # before retry_at
    report = pipeline.run_cycle()
    assert (report.retried, report.deliveries) == (0, [])
    clock.offset += 25
    report = pipeline.run_cycle()
    assert (report.retried, report.deliveries) == (1, [("Maria", "email", "sent", 2)])
    (email,) = stack.sent_emails()
    assert sorted(keys_in(email)) == ["hackernews#101", "hackernews#102"]
    for _ in range(3):
        clock.offset += 30 * MINUTE
        assert pipeline.run_cycle().deliveries == []
    assert len(stack.sent_emails()) == 1 and flaky.tries == 2
    sent = email_delivery(stack, store)
    assert (sent.status, sent.attempts, sent.retry_at) == ("sent", 2, None)
    assert sent.message_id
    assert "gsi1pk" not in raw_delivery(stack, store, sent)  # out of the retry index


def test_a_delivery_failing_every_time_is_given_up_after_four_tries(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    flaky = with_flaky_email(pipeline, failures=100)
    outcomes = [email_statuses(pipeline.run_cycle())]
    for seconds in (125, 590, 15, 1790, 15, 3600):  # 2 minutes, not yet 10, 10, not yet 30, 30, an hour later
        clock.offset += seconds
        outcomes.append(email_statuses(pipeline.run_cycle()))
    assert outcomes == [["retry"], ["retry"], [], ["retry"], [], ["failed"], []]
    assert flaky.tries == 4 and stack.sent_emails() == []
    failed = email_delivery(stack, store)
    assert (failed.status, failed.attempts, failed.detail) == (
        "failed", 4, "SES refused the email (TooManyRequestsException); gave up after 4 tries")
    assert raw_delivery(stack, store, failed)["gsi1pk"] == {"S": "UNDELIVERED"}  # out of the retry index, listed


def test_a_permanent_failure_is_never_retried(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    flaky = with_flaky_email(pipeline, failures=1, permanent=True)
    assert email_statuses(pipeline.run_cycle()) == ["failed"]
    for _ in range(3):
        clock.offset += 20 * MINUTE
        report = pipeline.run_cycle()
        assert (report.retried, report.deliveries) == (0, [])
    assert flaky.tries == 1 and stack.sent_emails() == []
    failed = email_delivery(stack, store)
    assert (failed.status, failed.attempts, failed.detail) == ("failed", 1, "SES refused the email (MessageRejected)")


def test_a_retry_leaves_out_mentions_handled_since_and_skips_when_none_is_left(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    with_flaky_email(pipeline, failures=2)
    pipeline.run_cycle()
    store.set_mention_state("hackernews#101", "handled")
    clock.offset += 125
    assert email_statuses(pipeline.run_cycle()) == ["retry"]  # failed again: one more try in 10 minutes
    store.set_mention_state("hackernews#102", "not_relevant")
    clock.offset += 605
    report = pipeline.run_cycle()
    assert (report.retried, report.deliveries) == (1, [("Maria", "email", "skipped", 2)])
    assert stack.sent_emails() == []
    skipped = email_delivery(stack, store)
    assert (skipped.status, skipped.detail) == ("skipped", "nothing left to send: handled, muted or unsubscribed since")


def test_a_retry_sends_only_what_is_still_unhandled(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    pipeline = pipeline_for(make_config(replay, tmp_path), store, clock)
    with_flaky_email(pipeline, failures=1)
    pipeline.run_cycle()
    store.set_mention_state("hackernews#101", "handled")
    clock.offset += 125
    assert pipeline.run_cycle().deliveries == [("Maria", "email", "sent", 1)]
    (email,) = stack.sent_emails()
    assert keys_in(email) == ["hackernews#102"]
    assert email["Subject"] == "URGENT: New mention on Hacker News: I asked Bean There for a refund and they were rude"


def test_two_cycles_racing_for_one_due_retry_send_it_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    config = make_config(replay, tmp_path)
    first = pipeline_for(config, store, clock)
    with_flaky_email(first, failures=1)
    first.run_cycle()
    clock.offset += 125
    pipelines = [pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock) for _ in range(2)]
    both_saw_it = threading.Barrier(2, timeout=30)
    claims: list[bool] = []
    for racer in pipelines:  # both must see the retry due and try to claim it at the same moment
        real_claim = racer.store.claim_retry

        def claim(delivery: Delivery, lease: float, real_claim: Any = real_claim) -> bool:
            both_saw_it.wait()
            won = bool(real_claim(delivery, lease))
            claims.append(won)
            return won

        racer.store.claim_retry = claim  # type: ignore[method-assign]
    reports: list[CycleReport] = []
    errors: list[BaseException] = []

    def run(p: Pipeline) -> None:
        try:
            reports.append(p.run_cycle())
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(p,)) for p in pipelines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(claims) == [False, True]
    assert sorted(r.retried for r in reports) == [0, 1]
    assert [d for r in reports for d in r.deliveries] == [("Maria", "email", "sent", 2)]
    (email,) = stack.sent_emails()
    assert sorted(keys_in(email)) == ["hackernews#101", "hackernews#102"]


def test_a_retry_whose_cycle_stopped_mid_send_is_marked_unconfirmed_not_resent(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    seed(replay, clock)
    config = make_config(replay, tmp_path)
    pipeline = pipeline_for(config, store, clock)
    flaky = with_flaky_email(pipeline, failures=1)
    pipeline.run_cycle()

    def send_then_die(bundle: AlertBundle) -> str:
        flaky.real.send(bundle)  # the email left, but the cycle dies before recording it
        raise SystemExit("killed")

    flaky.send = send_then_die  # type: ignore[method-assign]
    clock.offset += 125
    with pytest.raises(SystemExit):
        pipeline.run_cycle()
    later = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock)
    clock.offset += 60
    assert later.run_cycle().deliveries == []  # the claim's lease still holds: that cycle may be alive
    clock.offset += 65
    assert later.run_cycle().deliveries == [("Maria", "email", "unconfirmed", 2)]
    clock.offset += 30 * MINUTE
    assert later.run_cycle().deliveries == []
    assert len(stack.sent_emails()) == 1
    unconfirmed = email_delivery(stack, store)
    assert (unconfirmed.status, unconfirmed.attempts) == ("unconfirmed", 2)

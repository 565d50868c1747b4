"""The fault matrix (issue 13) on one local stack with fast clocks: a crash at each step boundary of the
cycle, of the retry path and of the digest; overlapping and repeated cycles; DynamoDB throttling and
cancelled transactions; SES/SNS errors and a timeout after acceptance; networks failing; skewed clocks;
a 5,000-mention burst; a 450 KB item; 50 steady cycles. Each cell counts, against the replay server's
ground truth, mentions expected, stored, alerted once, alerted more than once, lost, and whether the
owner can see each loss (the next digest's "may not have arrived", or the network's health). The table
and the totals (``fault_cells``, ``fault_lost_silently``, ``fault_duplicates``) print after the run."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from chalicelib.alerts import DeliveryFailed
from chalicelib.config import ListenConfig
from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.pipeline import Pipeline
from chalicelib.sources.base import Capabilities, FetchResult
from chalicelib.store import Store
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack
from tests.faults.harness import (
    Cell,
    Crash,
    FaultyDynamoDB,
    ProviderFault,
    crash_once,
    measure,
    record,
    scan,
)
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for

pytestmark = pytest.mark.integration

LEASE = 121.0  # past the job lease (120 s): a later cycle resumes what a dead one left
CLAIM = 901.0  # past a claimed send's lease (900 s): a send whose run died is found


WORDS = ("morning", "espresso", "queue", "barista", "pastry", "window", "terrace", "music", "laptop", "rain",
         "friend", "croissant", "oat", "milk", "price", "service", "table", "sunlight", "bicycle", "market",
         "river", "station", "library", "garden", "tram", "bakery", "cinnamon", "receipt", "wifi", "mug")


def words(n: int) -> str:
    """Different words for each item, so noise control never takes two for one story told twice."""
    import random

    return " ".join(random.Random(n).sample(WORDS, 9))


def hn_url(object_id: int) -> str:
    return f"https://news.ycombinator.com/item?id={object_id}"


def seed(replay: ReplayServer, clock: Clock, first: int = 100, count: int = 3, *, urgent: int = 1,
         age: int = 300) -> dict[str, str]:
    """``count`` matching Hacker News items (the first ``urgent`` complaints), one not matching; the
    ground truth: key -> URL."""
    now = int(clock())
    hits = []
    for n in range(first, first + count):
        if n - first < urgent:
            hits.append(comment_hit(n, now - age, f"I asked Bean There for a refund, so rude: {words(n)}",
                                    story_id=first, story_title="Bean There opened a second café", author=f"a{n}"))
        else:
            hits.append(story_hit(n, now - age, f"Bean There {words(n)}", author=f"a{n}"))
    hits.append(story_hit(first + count + 50, now - age, "Unrelated: a new JavaScript framework"))
    replay.add_items("hackernews", hits)
    return {f"hackernews#{n}": hn_url(n) for n in range(first, first + count)}


def cycles(pipeline: Pipeline, clock: Clock, steps: list[float]) -> None:
    """Run a cycle after each step (seconds on the clock); a Crash ends that cycle only."""
    for seconds in steps:
        clock.offset += seconds
        try:
            pipeline.run_cycle()
        except Crash:
            pass


def finish(name: str, stack: LocalStack, config: ListenConfig, store: Store, clock: Clock,
           expected: dict[str, str], **kwargs: Any) -> Cell:
    return record(measure(name, stack, config, store.table, clock, expected, **kwargs))


def digest_total(store: Store, clock: Clock, cell_seconds: float = 3 * 86400) -> int:
    """Mentions counted into the digest over every UTC day the cell's clock may have spanned
    (each cell has its own table; a cell run near midnight UTC counts into two days)."""
    now = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).date()
    days = [(now - dt.timedelta(days=back)).isoformat() for back in range(int(cell_seconds // 86400) + 1)]
    records = store.digest_days(days, keys=False)
    return sum(records[day].counts.get("total", {}).get("all", 0) for day in days)


def check(cell: Cell) -> None:
    assert cell.ok, (cell.name, cell)


# --- a crash at every step boundary of the cycle ----------------------------------------------------

CYCLE_BOUNDARIES = [
    ("store_new_mentions", True, "stored, not counted"),
    ("count", False, "counted? no: before counting"),
    ("count", True, "counted, cursors not moved"),
    ("save_task_states", False, "before the cursors move"),
    ("save_task_states", True, "cursors moved, nothing alerted"),
    ("claim_delivery", False, "before the claim"),
    ("claim_delivery", True, "claimed, not sent"),
    ("send", True, "sent, not recorded"),
    ("finish_delivery", True, "recorded, job open"),
    ("close_job", False, "before the job closes"),
]


@pytest.mark.parametrize(("method", "after", "what"), CYCLE_BOUNDARIES, ids=[b[2] for b in CYCLE_BOUNDARIES])
def test_a_crash_at_each_boundary_of_the_cycle_loses_nothing_silently_and_counts_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, method: str, after: bool, what: str
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline = pipeline_for(config, store, clock)
    if method == "send":
        crash_once(pipeline.channels["email"], "send", after=True)
    elif method == "count":
        crash_once(store, "count_job" if hasattr(store, "count_job") else "add_to_digest", after=after)
    else:
        crash_once(store, method, after=after)
    cycles(pipeline, clock, [0, LEASE, CLAIM, CLAIM])
    cell = finish(f"crash: {what}", stack, config, store, clock, expected)
    counted = digest_total(store, clock)
    if counted != cell.stored:
        cell.problems.append(f"digest counted {counted} of {cell.stored} stored")
    check(cell)


# --- the retry path and the digest ---------------------------------------------------------------

class TransientEmail:
    """The email channel refusing the first alert send transiently (SES throttling)."""

    name = "email"

    def __init__(self, real: Any, refuse: str = "send") -> None:
        self.real, self.refuse, self.failed = real, refuse, False

    def _once(self, method: str) -> None:
        if method == self.refuse and not self.failed:
            self.failed = True
            raise DeliveryFailed("SES refused the email (TooManyRequestsException)", permanent=False)

    def send(self, bundle: Any) -> str:
        self._once("send")
        return str(self.real.send(bundle))

    def send_message(self, message: Any, to: str) -> str:
        self._once("send_message")
        return str(self.real.send_message(message, to))


@pytest.mark.parametrize(("method", "after"), [("claim_retry", True), ("finish_retry", False)],
                         ids=["retry claimed, not sent", "retry sent, not recorded"])
def test_a_crash_in_the_retry_path_is_never_silent(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, method: str, after: bool
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline = pipeline_for(config, store, clock)
    pipeline.channels = {**pipeline.channels, "email": TransientEmail(pipeline.channels["email"])}
    pipeline.run_cycle()  # the email waits for its retry
    crash_once(store, method, after=after)
    cycles(pipeline, clock, [125, CLAIM, CLAIM])
    check(finish(f"crash in retry: {method}{' (after)' if after else ''}", stack, config, store, clock, expected))


def digest_at(config: ListenConfig, clock: Clock) -> dt.datetime:
    import zoneinfo

    from chalicelib.digest import digest_time

    recipient = config.recipients[0]
    local = dt.datetime.fromtimestamp(clock(), tz=zoneinfo.ZoneInfo(recipient.timezone)).date()
    return digest_time(local + dt.timedelta(days=1), config.alerts.digest_hour, recipient.timezone)


@pytest.mark.parametrize("fault", ["transient SES failure", "crash after the claim"])
def test_the_digest_is_sent_once_or_said_unconfirmed(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, fault: str
) -> None:
    from chalicelib.runtime import build
    from tests.integration.conftest import SIGNING_KEY

    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline_for(config, store, clock).run_cycle()
    at = digest_at(config, clock)
    clock.offset = at.timestamp() + 60 - time.time()
    runtime = build(config, store, signing_key=SIGNING_KEY.encode(), clock=clock)
    if fault == "transient SES failure":  # what is left after any SDK retry: SES still refuses, once
        runtime.digest.mailer = TransientEmail(runtime.digest.mailer, refuse="send_message")
    else:
        crash_once(store, "claim_delivery", after=True)
    outcomes = []
    for _ in range(3):  # the digest hour, then two hourly runs
        try:
            outcomes.append(runtime.digest.run(dt.datetime.fromtimestamp(clock(), tz=dt.UTC)))
        except Crash:
            outcomes.append([("crash", "")])
        clock.offset += 3600
    digests = [m for m in stack.sent_emails() if str(m["Subject"]).startswith("Daily digest")]
    cell = record(Cell(f"digest: {fault}", expected=1, stored=1))
    items = scan(stack, store.table)
    (record_,) = [i for i in items if i["sk"]["S"] == "D#Maria#digest"]
    status = record_["status"]["S"]
    if len(digests) == 1 and status == "sent":
        cell.once = 1
    elif len(digests) > 1:
        cell.more = 1
    else:
        cell.lost = 1
        undelivered = store.undelivered(0) if hasattr(store, "undelivered") else []
        cell.lost_visible = int(any(d.channel == "digest" for d in undelivered))
    cell.note = f"{status}; runs: {outcomes}"[:60]
    assert len(expected) == 3
    check(cell)


# --- overlapping and repeated cycles -------------------------------------------------------------

@pytest.mark.parametrize("at_once", [2, 4])
def test_cycles_at_once_store_and_alert_each_mention_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, at_once: int
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock, count=6)
    pipelines = [pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock) for _ in range(at_once)]
    threads = [threading.Thread(target=p.run_cycle) for p in pipelines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cycles(pipelines[0], clock, [LEASE, CLAIM])
    cell = finish(f"{at_once} cycles at once", stack, config, store, clock, expected, sms_expected=1)
    if digest_total(store, clock) != cell.stored:
        cell.problems.append("digest miscounted")
    check(cell)


def test_the_same_event_twice_alerts_once(stack: LocalStack, store: Store, replay: ReplayServer,
                                          tmp_path: Path) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline = pipeline_for(config, store, clock)
    pipeline.run_cycle()
    for item in scan(stack, store.table):  # the same event again: its cursors as if never moved
        if item["pk"]["S"] == "TASKS":  # every network's task states
            stack.client("dynamodb").delete_item(TableName=store.table, Key={"pk": item["pk"], "sk": item["sk"]})
    pipeline_for(config, Store(stack.client("dynamodb"), store.table), Clock()).run_cycle()
    check(finish("the same event twice", stack, config, store, clock, expected, sms_expected=1))


# --- DynamoDB throttling and cancelled transactions --------------------------------------------

@pytest.mark.parametrize(("rate", "code"), [
    (0.03, "ProvisionedThroughputExceededException"), (0.10, "ProvisionedThroughputExceededException"),
    (1.0, "ProvisionedThroughputExceededException"), (0.10, "TransactionCanceledException"),
], ids=["throttled 3%", "throttled 10%", "throttled 100%", "transactions cancelled 10%"])
def test_dynamodb_failures_lose_nothing_silently_and_count_exactly(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, rate: float, code: str
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    pipeline = pipeline_for(config, store, clock)
    faulty = FaultyDynamoDB(store.client, rate, code=code, transact_only=code == "TransactionCanceledException")
    store.client = faulty
    expected: dict[str, str] = {}
    for n in range(6):  # a new batch every 5 minutes under the fault
        expected |= seed(replay, clock, first=1000 + 10 * n, count=4, urgent=0)
        cycles_safe(pipeline, clock, 300)
    faulty.rate = 0.0  # the fault passes: what was left is finished
    for seconds in (LEASE, CLAIM, CLAIM):
        cycles_safe(pipeline, clock, seconds)
    cell = finish(f"DynamoDB {code[:24]} {rate:.0%}", stack, config, store, clock, expected,
                  note=f"{faulty.injected} injected")
    counted = digest_total(store, clock)
    if counted != cell.stored:
        cell.problems.append(f"digest counted {counted} of {cell.stored} stored")
        cell.note += f"; counted {counted}/{cell.stored}"
    check(cell)


def cycles_safe(pipeline: Pipeline, clock: Clock, seconds: float) -> None:
    """A cycle that may die of what DynamoDB answered (the Lambda fails; the next one comes)."""
    from botocore.exceptions import ClientError

    clock.offset += seconds
    try:
        pipeline.run_cycle()
    except (ClientError, RuntimeError):
        pass


# --- SES and SNS --------------------------------------------------------------------------------

@pytest.mark.parametrize(("event", "status", "accepted"), [
    ("sesv2.SendEmail", 500, False), ("sesv2.SendEmail", 429, False), ("sesv2.SendEmail", 0, True),
    ("sns.Publish", 500, False), ("sns.Publish", 0, True),
], ids=["SES 5xx", "SES throttled", "SES timeout after acceptance", "SNS 5xx", "SNS timeout after acceptance"])
def test_provider_errors_send_once_or_say_unconfirmed(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, event: str, status: int, accepted: bool
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline = pipeline_for(config, store, clock)
    channel = pipeline.channels["email" if event.startswith("ses") else "sms"]
    ProviderFault(channel.client, event, times=1, status=status, accepted_then_timeout=accepted)
    cycles(pipeline, clock, [0, 125, 605, CLAIM])
    cell = finish(f"{event.split('.')[0].upper()} {'timeout after acceptance' if accepted else status}", stack,
                  config, store, clock, expected, sms_expected=1)
    check(cell)


# --- networks ---------------------------------------------------------------------------------

NETWORK_FAULTS = {"429": Fault(429, headers={"Retry-After": "60"}), "5xx": Fault(502),
                  "timeout": Fault(200, delay_seconds=2.5, passthrough=True),
                  "malformed": Fault(200, body=b"{not json")}


@pytest.mark.parametrize("kind", list(NETWORK_FAULTS))
def test_a_failing_network_loses_nothing_once_it_answers(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, kind: str
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    pipeline = pipeline_for(config, store, clock)
    replay.inject("hackernews", *[NETWORK_FAULTS[kind]] * (3 if kind == "timeout" else 6))
    cycles(pipeline, clock, [0, 300, 300, 300, 300, 300, 300])
    check(finish(f"network {kind}", stack, config, store, clock, expected, sms_expected=1))


def test_ssm_unavailable_at_cold_start_loses_nothing(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from chalicelib import runtime

    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    failed = ""
    for endpoint in ("http://127.0.0.1:9", stack.moto_url):  # nothing listens on port 9: SSM is unavailable
        monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", endpoint)
        parameters.clear_caches()
        runtime.runtime.cache_clear()
        try:
            runtime.runtime().pipeline.run_cycle()  # a cold start: the signing key is read from SSM
        except Exception as err:  # the Lambda fails; the next invocation is a new cold start
            failed = failed or type(err).__name__
    runtime.runtime.cache_clear()
    parameters.clear_caches()
    check(finish("SSM unavailable at cold start", stack, config, store, clock, expected, sms_expected=1,
                 note=f"cold start 1: {failed or 'no error'}"))


@pytest.mark.parametrize("skew", [-6 * 3600, 6 * 3600], ids=["past-dated", "future-dated"])
def test_skewed_items_are_alerted_once(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
                                       skew: int) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock, age=-skew)
    pipeline = pipeline_for(config, store, clock)
    cycles(pipeline, clock, [0, 300, 300])
    check(finish(f"clock skew {'past' if skew < 0 else 'future'}", stack, config, store, clock, expected))


# --- size and volume ------------------------------------------------------------------------------

def test_a_450_kb_item_is_stored_capped_and_blocks_nothing(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    now = int(clock())
    replay.add_items("hackernews", [story_hit(900, now - 60, "Bean There: a very long story",
                                              story_text="Bean There " + "x" * 450_000)])
    expected["hackernews#900"] = hn_url(900)
    pipeline = pipeline_for(config, store, clock)
    cycles(pipeline, clock, [0, 300])
    later = seed(replay, clock, first=300, count=2, urgent=0)  # and the network goes on
    cycles(pipeline, clock, [300])
    cell = finish("a 450 KB item", stack, config, store, clock, {**expected, **later}, sms_expected=1)
    stored = store.get_mention("hackernews#900")
    if stored is None or len(stored.item.mention.text) > 20_000:
        cell.problems.append("the long item is not stored capped")
    check(cell)


def test_an_item_dynamodb_refuses_is_skipped_with_its_reason_and_blocks_nothing(
    stack: LocalStack, store: Store, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    good = [MatchedMention(Mention("rss", f"ok-{n}", f"https://blog.example/{n}", "Bean There", now),
                           (RuleMatch("brand", "brand", False),)) for n in range(3)]
    huge = MatchedMention(Mention("rss", "huge", "https://blog.example/huge", "Bean There", now,
                                  tags=tuple(f"tag-{n}-" + "y" * 100 for n in range(5000))),
                          (RuleMatch("brand", "brand", False),))
    skipped: list[Any] = []
    try:
        new = store.store_new_mentions([good[0], huge, *good[1:]], "job-huge", 120, skipped)  # type: ignore[call-arg]
    except Exception as err:  # the old store: one item stops the batch
        new, skipped = [], [(huge, f"{type(err).__name__}")]
    cell = record(Cell("an item DynamoDB refuses", expected=3, stored=len(new), once=len(new), lost=3 - len(new)))
    cell.note = skipped[0][1][:60] if skipped else ""
    if [m.mention.key for m, _ in skipped] != ["rss#huge"]:
        cell.problems.append(f"skipped: {[m.mention.key for m, _ in skipped]}")
    check(cell)


class BurstSource:
    """A network that returns ``count`` new mentions at once, with long keys (Mastodon status URIs)."""

    name = "mastodon"
    display_name = "Mastodon"
    capabilities = Capabilities(server_search=False, replies=False, local_stream=True)

    def __init__(self, count: int, clock: Clock) -> None:
        self.count, self.clock, self.served = count, clock, False

    def uri(self, n: int) -> str:
        return f"https://social.example/users/someone-with-a-rather-long-name/statuses/1134{n:014d}"

    def fetch(self, query: str, cursor: Any, budget: Any) -> FetchResult:
        if self.served:
            return FetchResult([], cursor)
        self.served = True
        created = dt.datetime.fromtimestamp(self.clock() - 60, tz=dt.UTC)
        return FetchResult([Mention("mastodon", self.uri(n), self.uri(n), f"Bean There {words(n)}", created,
                                    author_handle=f"user{n}")
                            for n in range(self.count)], {"since": "x"})


def test_a_5000_mention_burst_with_long_keys_is_stored_and_alerted_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    pipeline = pipeline_for(config, store, clock)
    burst = BurstSource(5000, clock)
    pipeline.sources = {"mastodon": burst}  # type: ignore[dict-item]
    cycles(pipeline, clock, [0, LEASE, CLAIM])
    expected = {f"mastodon#{burst.uri(n)}": burst.uri(n) for n in range(5000)}
    cell = finish("a 5,000-mention burst (long keys)", stack, config, store, clock, expected)
    if digest_total(store, clock) != cell.stored:
        cell.problems.append("digest miscounted")
    check(cell)


def test_the_digest_record_stays_bounded_on_a_busy_day(stack: LocalStack, store: Store) -> None:
    from chalicelib.triage import Triage

    now = dt.datetime.now(dt.UTC)
    day = now.date().isoformat()
    triage = Triage(0.0, "neutral", frozenset({"question"}), 60, ("asks a question",), opportunity=True)
    done, error = 0, ""
    for batch in range(6):
        items = [MatchedMention(Mention("mastodon", f"https://social.example/users/a-long-name/statuses/{batch}{n:012d}",
                                        "https://social.example/x", "Bean There?", now),
                                (RuleMatch("brand", "brand", False),), triage) for n in range(1000)]
        try:
            store.add_to_digest(day, items)
        except Exception as err:  # the item passed 400 KB: every later cycle would die here
            error = type(err).__name__
            break
        done += len(items)
    record_ = store.digest_days([day])[day]
    cell = record(Cell("digest record, 6,000 opportunities a day", expected=6000, stored=done,
                       once=len(record_.opportunities), lost=6000 - len(record_.opportunities), note=error))
    if record_.counts.get("total", {}).get("all") != done:
        cell.problems.append("counters")
    check(cell)


def test_fifty_steady_cycles_alert_each_mention_once(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    pipeline = pipeline_for(config, store, clock)
    expected: dict[str, str] = {}
    for n in range(50):
        expected |= seed(replay, clock, first=2000 + 10 * n, count=1, urgent=0, age=30)
        cycles(pipeline, clock, [300])
    check(finish("50 steady cycles", stack, config, store, clock, expected))


# --- what the owner reads --------------------------------------------------------------------

def test_the_subject_counts_every_urgent_mention_not_only_those_shown(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock, first=500, count=50, urgent=50)
    pipeline_for(config, store, clock).run_cycle()
    subjects = [str(m["Subject"]) for m in stack.sent_emails()]
    cell = finish("subject of 50 urgent mentions", stack, config, store, clock, expected, sms_expected=1)
    cell.note = subjects[0][:60] if subjects else ""
    if not subjects or not subjects[0].startswith("URGENT (50): 50 new mentions"):
        cell.problems.append(f"subject: {subjects[:1]}")
    check(cell)


def test_a_job_whose_candidates_were_all_taken_closes(
    stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    clock = Clock()
    config = make_config(replay, tmp_path)
    expected = seed(replay, clock)
    first = pipeline_for(config, store, clock)
    second = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock)
    second.store.unseen = lambda items: list({m.mention.key: m for m in items}.values())  # type: ignore[method-assign]
    first.run_cycle()
    for item in scan(stack, store.table):  # the second cycle fetches the same items (as if it overlapped)
        if item["pk"]["S"] == "TASKS":  # every network's task states
            stack.client("dynamodb").delete_item(TableName=store.table, Key={"pk": item["pk"], "sk": item["sk"]})
    second.run_cycle()  # saw them unseen, but the first cycle had stored them all
    open_jobs = [i for i in scan(stack, store.table) if i.get("gsi1pk", {}).get("S") == "OPENJOB"]
    cell = finish("a job whose candidates were taken", stack, config, store, clock, expected, sms_expected=1)
    cell.note = f"{len(open_jobs)} jobs left open"
    if open_jobs:
        cell.problems.append(cell.note)
    check(cell)

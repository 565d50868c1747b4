"""One behaviour suite for the store and its in-memory twin: every public method of ``Store`` (on
DynamoDB Local) and of ``MemoryStore`` gives the same results and the same conditional
semantics (absent puts, leases, claims, nonces, counters). Each test runs on both and asserts
one exact expected outcome, so a twin that drifts from the table fails here.

The ``memory`` half needs no DynamoDB Local: ``-k memory`` runs it alone.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.model import (
    Delivery,
    DigestDay,
    Health,
    Job,
    MatchedMention,
    Mention,
    RuleMatch,
    StoredMention,
    TaskState,
)
from chalicelib.store import MAX_STORED_TEXT, Store, StoreProtocol, capped
from chalicelib.store.inbox import rank
from chalicelib.store.memory import MemoryStore
from chalicelib.store.mentions import snooze_record
from chalicelib.store.poll_state import KEPT, task_group, task_layout, tasks_body, tasks_from
from chalicelib.store.table import iso
from chalicelib.triage import Triage
from tests.builders import MAIN_FIREHOSE, MAIN_TASK_ITEMS, MAIN_TASK_STATES

pytestmark = pytest.mark.integration

START = 1_899_993_600.25  # 2030-03-17T16:00:00.250Z: later than now, so DynamoDB Local's TTL deletes nothing
DAY = "2030-03-17"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "dynamodb"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(kind: str, clock: Clock, request: pytest.FixtureRequest) -> Iterator[Any]:
    if kind == "memory":
        yield MemoryStore(clock=clock)
        return
    stack = request.getfixturevalue("stack")
    name = f"twin-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    yield Store(stack.client("dynamodb"), name, clock=clock)
    stack.client("dynamodb").delete_table(TableName=name)


def mention(native_id: str, *, rule: str = "brand-name", group: str = "brand", text: str = "Beanthere rocks",
            triage: Triage | None = None, network: str = "hackernews", **fields: Any) -> MatchedMention:
    m = Mention(network=network, native_id=native_id, url=f"https://news.example/{native_id}", text=text,
                created_at=dt.datetime(2025, 11, 24, 15, 0, tzinfo=dt.UTC), author_handle="ana", **fields)
    return MatchedMention(m, (RuleMatch(rule, group, False, ((0, 9),)),), triage)  # type: ignore[arg-type]


def triaged(*, opportunity: bool = False, question: bool = False, label: str = "neutral") -> Triage:
    intents = frozenset({"question"}) if question else frozenset()
    return Triage(sentiment=0.0, sentiment_label=label, intents=intents, priority=40, reasons=(),  # type: ignore[arg-type]
                  opportunity=opportunity)


# --- the twin has what the store has ---------------------------------------------

def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(getattr(cls, name)) for name in dir(cls)
            if not name.startswith("_") and callable(getattr(cls, name))}


def test_store_twin_and_protocol_have_the_same_public_methods_and_signatures() -> None:
    protocol = public_methods(StoreProtocol)
    assert len(protocol) == 83  # 70 + 9 (sign-in) + hour_counts + inbox_entries, inbox_ordered, backfill_inbox
    assert public_methods(Store) == protocol
    assert public_methods(MemoryStore) == protocol


# --- mentions ------------------------------------------------------------------------

def test_a_mention_is_stored_once_by_the_first_job_and_read_back_as_stored(store: Any, clock: Clock) -> None:
    a, b = mention("1"), mention("2", text="x" * (MAX_STORED_TEXT + 5))
    assert store.unseen([a, b, a]) == [a, b]
    assert store.store_new_mentions([a, b], "job-1", 60) == [a, capped(b)]
    clock.now += 10
    assert store.unseen([a, b, mention("3")]) == [mention("3")]
    assert store.store_new_mentions([a, mention("3")], "job-2", 60) == [mention("3")]  # a is job-1's
    first = StoredMention(a, "new", iso(START), "job-1")
    assert store.get_mention(a.mention.key) == first
    assert store.get_mention("hackernews:404") is None
    assert store.get_mentions([a.mention.key, "hackernews:404", b.mention.key, a.mention.key]) == {
        a.mention.key: first, b.mention.key: StoredMention(capped(b), "new", iso(START), "job-1")}
    assert store.store_new_mentions([], "job-3", 60) == []
    assert [j.job_id for j in store.stale_jobs()] == []  # job-3 was never opened: nothing to store


def test_a_mention_too_large_for_an_item_is_skipped_alone_with_its_reason(store: Any) -> None:
    big = mention("big", links=("https://links.example/" + "a" * 420_000,))
    skipped: list[tuple[MatchedMention, str]] = []
    assert store.store_new_mentions([mention("1"), big], "job-1", 60, skipped) == [mention("1")]
    assert [(m.mention.key, reason.startswith("hackernews#big could not be stored (")) for m, reason in skipped] == [
        ("hackernews#big", True)]
    assert store.get_mention("hackernews#big") is None


def test_state_audit_assignment_and_snoozes_need_the_mention(store: Any, clock: Clock) -> None:
    key = mention("1").mention.key
    assert store.set_mention_state(key, "handled") is False
    assert store.assign_mention(key, "rui@beanthere.example", "ana@beanthere.example") is False
    assert store.snooze(key, int(START) + 3600) is False
    assert store.assigned_to(key) is None
    assert store.snoozes_ended() == []
    store.store_new_mentions([mention("1")], "job-1", 60)
    assert store.set_mention_state(key, "handled") is True
    assert store.get_mention(key).state == "handled"
    assert store.assign_mention(key, "rui@beanthere.example", "ana@beanthere.example") is True
    assert store.assigned_to(key) == "rui@beanthere.example"
    assert store.get_mention(key).state == "handled"  # assigning keeps the state

    store.audit(key, "handled", "ana@beanthere.example", "ok", "n1")
    clock.now += 1.5
    store.audit(key, "assign", "ana@beanthere.example", "to rui", "n2")
    assert store.audit_log(key) == [
        {"at": iso(START), "action": "handled", "recipient": "ana@beanthere.example", "result": "ok"},
        {"at": iso(START + 1.5), "action": "assign", "recipient": "ana@beanthere.example", "result": "to rui"}]
    assert store.audit_log("hackernews:404") == []

    until = int(clock.now) + 3600
    assert store.snooze(key, until) is True
    assert store.get_mention(key).state == "snoozed"
    assert store.snoozes_ended() == []
    clock.now = until
    assert store.snoozes_ended() == [(f"{until:012d}#{key}", key)]
    store.end_snooze(f"{until:012d}#{key}", key)
    assert store.snoozes_ended() == []
    assert store.get_mention(key).state == "new"


def test_replies_are_listed_oldest_first(store: Any, clock: Clock) -> None:
    store.request_reply("hackernews:2", "Thanks!", "ana@beanthere.example")
    clock.now += 2
    store.record_reply("hackernews:1", "Glad to help", "+351912345678", status="posted",
                       detail="https://news.example/r1")
    clock.now += 2
    store.record_reply("hackernews:1", "Again", "+351912345678", status="failed")
    assert store.replies() == [
        {"at": iso(START), "mention": "hackernews:2", "text": "Thanks!", "recipient": "ana@beanthere.example",
         "status": "requested", "detail": ""},
        {"at": iso(START + 2), "mention": "hackernews:1", "text": "Glad to help", "recipient": "+351912345678",
         "status": "posted", "detail": "https://news.example/r1"},
        {"at": iso(START + 4), "mention": "hackernews:1", "text": "Again", "recipient": "+351912345678",
         "status": "failed", "detail": ""}]


def test_rule_mentions_since_finds_the_rules_mentions_stored_since(store: Any, clock: Clock) -> None:
    store.store_new_mentions([mention("old")], "job-1", 60)
    clock.now += 100
    store.store_new_mentions([mention("1"), mention("2", rule="brand-name-2"), mention("3")], "job-2", 60)
    found = store.rule_mentions_since("brand-name", START + 50)
    assert sorted(m.key for m in found) == ["hackernews#1", "hackernews#3"]
    assert len(store.rule_mentions_since("brand-name", START, limit=2)) == 2
    assert store.rule_mentions_since("nothing", START) == []


def test_inbox_entries_list_each_days_mentions_newest_first_with_what_a_row_shows(store: Any, clock: Clock) -> None:
    judged = Triage(-0.6, "negative", frozenset({"question", "complaint"}), 72, ("asks",), True)
    store.store_new_mentions([mention("a", title="Beanthere   app?", author_name="Ana Lima", triage=judged)],
                             "job-1", 60)
    clock.now += 60
    store.store_new_mentions([mention("b", rule="rival", group="competitor", text="ROAST " * 100)], "job-2", 60)
    clock.now += 86400
    store.store_new_mentions([mention("c")], "job-3", 60)
    store.set_mention_state("hackernews#b", "handled")
    store.assign_mention("hackernews#a", "Bea", "Ana")
    store.relabel_mention(mention("c", triage=triaged(opportunity=True, label="positive")))
    entries = store.inbox_entries(["2030-03-18", DAY, "2030-03-16"])
    assert [(e.key, e.stored_at, e.state, e.assigned_to) for e in entries] == [
        ("hackernews#c", iso(START + 86460), "new", None), ("hackernews#b", iso(START + 60), "handled", None),
        ("hackernews#a", iso(START), "new", "Bea")]
    c, b, a = entries
    assert (a.network, a.rules, a.groups, a.sentiment, a.intents, a.priority, a.opportunity, a.text, a.author) == (
        "hackernews", ("brand-name",), ("brand",), "negative", ("complaint", "question"), 72, True,
        "Beanthere app? Beanthere rocks", "Ana Lima")
    assert (b.rules, b.groups, b.sentiment, b.priority, b.opportunity, b.text, b.author) == (
        ("rival",), ("competitor",), "", 0, False, "ROAST " * 26 + "ROAS", "ana")  # the first 160 characters
    assert (c.sentiment, c.priority, c.opportunity) == ("positive", 40, True)  # the relabelled triage
    assert store.inbox_entries([DAY]) == [b, a]
    assert store.inbox_entries(["2030-03-16"]) == []


def test_inbox_ordered_lists_the_days_in_the_inbox_order_and_follows_each_change_of_state_or_triage(
        store: Any, clock: Clock) -> None:
    def judged(priority: int, opportunity: bool) -> Triage:
        return Triage(0.0, "neutral", frozenset(), priority, (), opportunity)

    store.store_new_mentions([mention("a", triage=judged(10, True)), mention("b", triage=judged(90, False)),
                              mention("c", triage=judged(50, False))], "job-1", 60)
    clock.now += 86400
    store.store_new_mentions([mention("d", triage=judged(10, True)), mention("e", triage=judged(50, False)),
                              mention("f", triage=judged(70, False)), mention("g", triage=judged(70, False))],
                             "job-2", 60)
    days = ["2030-03-18", DAY]

    def order(parts: tuple[int, int] = (0, 3), after: Any = None) -> list[str]:
        return [e.key[len("hackernews#"):] for e in store.inbox_ordered(days, parts, after, 2)]

    # opportunities, then new, by priority, then newest first
    assert order() == ["d", "a", "b", "f", "g", "e", "c"]
    store.set_mention_state("hackernews#b", "handled")
    store.snooze("hackernews#d", int(START) + 7 * 86400)
    assert store.hold_mention("hackernews#f", "2030-03-18", "quiet hours") is True
    assert store.relabel_mention(mention("c", triage=judged(95, True))) is True
    assert store.hold_mention("hackernews#b", "2030-03-18", "quiet hours") is False  # handled: not held
    assert order() == ["c", "a", "g", "e", "f", "d", "b"]
    assert order((0, 0)) == ["c", "a"]
    assert order((0, 1)) == ["c", "a", "g", "e"]
    assert order((2, 2)) == ["f", "d"]
    assert order((3, 3)) == ["b"]
    entries = list(store.inbox_ordered(days))
    assert [(e.state, e.priority, e.opportunity) for e in entries[:1]] == [("new", 95, True)]
    assert order(after=rank(entries[2])) == ["e", "f", "d", "b"]  # a cursor: after the third row
    assert order((0, 1), after=rank(entries[2])) == ["e"]
    assert order((0, 0), after=rank(entries[5])) == []  # a cursor past the parts asked
    store.end_snooze(snooze_record(int(START) + 7 * 86400, "hackernews#d"), "hackernews#d")
    assert order((0, 0)) == ["c", "d", "a"]  # new again: an opportunity of the newer day, first at priority 10
    assert store.set_mention_state("hackernews#zz", "handled") is False
    assert store.snooze("hackernews#zz", int(START)) is False
def put_stored_whole(store: Any, item: MatchedMention, at: float) -> None:
    """Write ``item`` as the store kept it before issue 19: every field of the mention in ``data``."""
    whole = {"network": item.mention.network, "native_id": item.mention.native_id, "url": item.mention.url,
             "text": item.mention.text, "created_at": item.mention.created_at.isoformat(), "title": "",
             "kind": "post", "author_handle": "ana", "author_name": "", "author_url": "", "reach": None,
             "lang": None, "community": "", "links": [], "tags": [], "thread": {},
             "matches": [{"rule": r.rule, "group": r.group, "urgent": r.urgent, "spans": [list(s) for s in r.spans]}
                         for r in item.matches], "triage": None}
    data = json.dumps(whole, separators=(",", ":"))
    if isinstance(store, MemoryStore):
        store._mentions[item.mention.key] = {"data": data, "state": "new", "stored_at": iso(at), "job": "old-job"}
        return
    store.client.put_item(TableName=store.table, Item={
        "pk": {"S": f"M#{item.mention.key}"}, "sk": {"S": "M"}, "data": {"S": data}, "state": {"S": "new"},
        "stored_at": {"S": iso(at)}, "job": {"S": "old-job"}})


def test_a_mention_stored_whole_before_reads_as_one_stored_compact(store: Any, clock: Clock) -> None:
    old, new = mention("old"), mention("new")
    put_stored_whole(store, old, START)
    store.store_new_mentions([new], "job-1", 60)
    assert store.get_mention(old.mention.key) == StoredMention(old, "new", iso(START), "old-job")
    assert {k: m.item for k, m in store.get_mentions([old.mention.key, new.mention.key]).items()} == {
        old.mention.key: old, new.mention.key: new}
    # stored before the inbox index: not in it, so not screened (ARCHITECTURE.md, "The inbox")
    assert [m.key for m in store.rule_mentions_since("brand-name", START)] == ["hackernews#new"]
    assert [e.key for e in store.inbox_ordered([DAY])] == ["hackernews#new"]
    assert store.unseen([old, new]) == []


# --- alert jobs and deliveries -------------------------------------------------------

def test_a_stale_job_is_taken_over_once_and_a_closed_one_is_not_stale(store: Any, clock: Clock) -> None:
    job = store.open_job("job-1", ["hackernews:1"], 60)
    assert job == Job("job-1", iso(START), START + 60, ["hackernews:1"], "open")
    with pytest.raises(Exception):  # the table's ClientError, the twin's ItemExists
        store.open_job("job-1", [], 60)
    clock.now += 1
    store.open_job("job-2", ["hackernews:2"], 600)
    assert store.stale_jobs() == []
    clock.now = START + 61
    assert store.stale_jobs() == [job]
    assert store.take_over_job(job, 120) is True
    assert store.take_over_job(job, 120) is False  # its lease moved: another cycle's job now
    assert store.stale_jobs() == []
    clock.now = START + 61 + 121
    (taken,) = store.stale_jobs()
    assert taken.lease_until == START + 61 + 120
    store.close_job("job-1")
    assert store.stale_jobs() == []
    clock.now = START + 601
    assert [j.job_id for j in store.stale_jobs()] == ["job-2"]


def test_a_delivery_is_claimed_once_and_its_end_recorded(store: Any, clock: Clock) -> None:
    assert store.claim_delivery("job-1", "ana@beanthere.example", "email", ["hackernews:1"]) is True
    assert store.claim_delivery("job-1", "ana@beanthere.example", "email", ["hackernews:9"]) is False
    assert store.claim_delivery("job-1", "+351912345678", "sms", ["hackernews:1", "hackernews:2"]) is True
    clock.now += 3
    store.finish_delivery("job-1", "ana@beanthere.example", "email", "sent", message_id="m-1")
    store.finish_delivery("job-1", "+351912345678", "sms", "failed", detail="opted out")
    assert store.deliveries("job-1") == [
        Delivery("job-1", "+351912345678", "sms", "failed", ["hackernews:1", "hackernews:2"], None, "opted out",
                 iso(START + 3)),
        Delivery("job-1", "ana@beanthere.example", "email", "sent", ["hackernews:1"], "m-1", None, iso(START + 3))]
    assert store.deliveries("job-404") == []
    assert store.undelivered(START) == [store.deliveries("job-1")[0]]
    assert store.undelivered(START + 4) == []
    clock.now = START + 900 + 3
    assert store.due_retries() == []  # finished deliveries left the retry index


def test_a_transient_failure_is_retried_once_when_due(store: Any, clock: Clock) -> None:
    store.claim_delivery("job-1", "ana@beanthere.example", "email", ["hackernews:1"], lease_seconds=30)
    assert store.due_retries() == []
    clock.now += 31  # the sending run stopped: its claim is due, still "sending"
    (stopped,) = store.due_retries()
    assert (stopped.status, stopped.attempts, stopped.retry_at) == ("sending", 1, None)
    assert store.retry_delivery_later("job-1", "ana@beanthere.example", "email", attempts=1, retry_at=START + 300,
                                      detail="throttled") is True
    assert store.retry_delivery_later("job-1", "ana@beanthere.example", "email", attempts=1, retry_at=START + 300,
                                      detail="throttled") is False  # no longer "sending"
    assert store.retry_delivery_later("job-9", "x", "email", attempts=1, retry_at=START, detail="") is False
    assert store.due_retries() == []
    clock.now = START + 300
    (due,) = store.due_retries()
    assert due == Delivery("job-1", "ana@beanthere.example", "email", "retry", ["hackernews:1"], None, "throttled",
                           iso(START + 31), 1, START + 300)
    assert store.claim_retry(due, 60) is True
    assert store.claim_retry(due, 60) is False  # another cycle took it
    assert store.finish_retry(due, 1, "sent") is False  # not with the attempts it has now
    assert store.finish_retry(due, 2, "unconfirmed", detail="timed out") is True
    assert store.finish_retry(due, 2, "sent") is False
    (lost,) = store.deliveries("job-1")
    assert (lost.status, lost.attempts, lost.retry_at, lost.detail, lost.sent_at) == (
        "unconfirmed", 2, None, "timed out", iso(START + 300))
    assert store.undelivered(START) == [lost]
    clock.now += 3600
    assert store.due_retries() == []


# --- nonces and short links ------------------------------------------------------------

def test_nonces_are_spent_once_and_a_claim_lapses_after_its_lease(store: Any, clock: Clock) -> None:
    expires = int(START) + 86400
    assert store.use_nonce("n1", expires) is True
    assert store.use_nonce("n1", expires) is False
    assert store.spent_nonce("n1") == ""
    assert store.spent_nonce("n2") is None
    claim = store.claim_nonce("n2", expires, 30)
    assert isinstance(claim, str) and len(claim) == 16
    assert store.claim_nonce("n2", expires, 30) is None  # held
    assert store.spent_nonce("n2") is None  # held, not spent
    assert store.spend_nonce("n2", "not-the-claim") is False
    store.release_nonce("n2", "not-the-claim")  # nothing: not this claim
    assert store.claim_nonce("n2", expires, 30) is None
    store.release_nonce("n2", claim)
    again = store.claim_nonce("n2", expires, 30)
    assert again is not None and again != claim
    clock.now += 31
    lapsed = store.claim_nonce("n2", expires, 30)  # the holder crashed: its claim lapsed
    assert lapsed is not None
    assert store.spend_nonce("n2", again) is False
    assert store.spend_nonce("n2", lapsed, bound_to="hackernews:1#reply") is True
    assert store.spent_nonce("n2") == "hackernews:1#reply"
    clock.now += 3600
    assert store.claim_nonce("n2", expires, 30) is None  # spent for good
    assert store.claim_nonce("n1", expires, 30) is None


def test_a_short_link_is_its_token_until_it_expires(store: Any, clock: Clock) -> None:
    store.put_short_link("abc123", "token-1", int(START) + 60)
    with pytest.raises(Exception):  # a code in use is refused
        store.put_short_link("abc123", "token-2", int(START) + 60)
    assert store.get_short_link("abc123") == "token-1"
    assert store.get_short_link("zzz") is None
    clock.now = int(START) + 60
    assert store.get_short_link("abc123") is None



# --- the inbox's sign-in: links, sessions, rate-limit counters ----------------------------------

def test_a_sign_in_link_is_taken_once_and_only_before_it_expires(store: Any, clock: Clock) -> None:
    expires = int(START) + 900
    store.put_sign_in_link("h1", "maria@beanthere.example", "/in/?state=new", expires)
    store.put_sign_in_link("h2", "maria@beanthere.example", "", expires)
    assert store.sign_in_link("h1") == ("maria@beanthere.example", "/in/?state=new")
    assert store.sign_in_link("h1") == ("maria@beanthere.example", "/in/?state=new")  # reading changes nothing
    assert store.sign_in_link("nope") is None
    assert store.take_sign_in_link("h1") == ("maria@beanthere.example", "/in/?state=new")
    assert store.take_sign_in_link("h1") is None
    assert store.sign_in_link("h1") is None
    assert store.take_sign_in_link("nope") is None
    clock.now = expires
    assert store.sign_in_link("h2") is None
    assert store.take_sign_in_link("h2") is None


def test_two_confirmations_of_one_link_at_once_take_it_once(store: Any) -> None:
    store.put_sign_in_link("h1", "maria@beanthere.example", "", int(START) + 900)
    taken: list[object] = []
    threads = [threading.Thread(target=lambda: taken.append(store.take_sign_in_link("h1"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken, key=lambda t: t is not None) == [None] * 7 + [("maria@beanthere.example", "")]


def test_sign_in_requests_are_counted_per_who_and_window(store: Any) -> None:
    assert [store.count_sign_in_request("address:maria@beanthere.example", "527776") for _ in range(3)] == [1, 2, 3]
    assert store.count_sign_in_request("ip:192.0.2.1", "527776") == 1
    assert store.count_sign_in_request("address:maria@beanthere.example", "527777") == 1


def test_a_session_lives_until_either_expiry_or_its_revocation(store: Any, clock: Clock) -> None:
    now = int(START)
    store.put_session("s1", "maria@beanthere.example", now + 30 * 86400, now + 7 * 86400)
    record = store.get_session("s1")
    assert record is not None
    assert (record.address, record.expires_at, record.idle_until, record.seen_at) == (
        "maria@beanthere.example", now + 30 * 86400, now + 7 * 86400, now)
    assert store.get_session("s2") is None
    clock.now = now + 7 * 86400 - 1
    assert store.touch_session("s1", now + 14 * 86400) is True
    clock.now = now + 7 * 86400
    touched = store.get_session("s1")
    assert touched is not None and (touched.idle_until, touched.seen_at) == (now + 14 * 86400, now + 7 * 86400 - 1)
    clock.now = now + 14 * 86400
    assert store.get_session("s1") is None  # idle
    store.put_session("s3", "maria@beanthere.example", now + 15 * 86400, now + 21 * 86400)
    assert store.get_session("s3") is not None
    clock.now = now + 15 * 86400
    assert store.get_session("s3") is None  # absolute
    assert store.touch_session("gone", now + 20 * 86400) is False


def test_sign_out_everywhere_revokes_every_session_of_the_address_only(store: Any) -> None:
    far = int(START) + 86400
    for id_hash, address in (("a1", "maria@beanthere.example"), ("a2", "maria@beanthere.example"),
                             ("b1", "joao@beanthere.example")):
        store.put_session(id_hash, address, far, far)
    store.delete_session("a1", "maria@beanthere.example")
    assert store.get_session("a1") is None and store.get_session("a2") is not None
    store.delete_session("a1", "maria@beanthere.example")  # gone already: nothing
    assert store.touch_session("a1", far) is False
    assert store.delete_sessions("maria@beanthere.example") == 1
    assert store.get_session("a2") is None and store.get_session("b1") is not None
    assert store.delete_sessions("maria@beanthere.example") == 0

# --- poll state ----------------------------------------------------------------------------

def test_task_states_round_trip_per_network(store: Any) -> None:
    states = {"q2": TaskState({"after": "t3_x", "n": [1, 2]}, 1_764_000_000.26, True), "q1": TaskState(None, 5.0)}
    store.save_task_states("reddit", states)
    assert store.get_task_states(["reddit", "bluesky", "reddit"]) == {
        "reddit": {"q1": TaskState(None, 5.0), "q2": TaskState({"after": "t3_x", "n": [1, 2]}, 1_764_000_000.3, True)},
        "bluesky": {}}


def test_task_states_write_only_the_groups_of_moved_queries(store: Any) -> None:
    queries = [f"term {n}" for n in range(400)]
    first = {q: TaskState({"after": 1}, 10.0) for q in queries}
    layout = task_layout(first)
    assert layout == 4 and len({task_group(q, 0, layout) for q in queries}) == 4  # the terms fall in 4 groups
    store.save_task_states("hackernews", first)
    assert store.get_task_states(["hackernews"]) == {"hackernews": first}
    moved = {q: TaskState({"after": 2 if q == "term 7" else 1}, 70.0) for q in queries}
    store.save_task_states("hackernews", moved, ["term 7"])
    same_group = {q for q in queries if task_group(q, 0, layout) == task_group("term 7", 0, layout)}
    assert 1 < len(same_group) < len(queries)
    assert store.get_task_states(["hackernews"]) == {"hackernews": {
        q: (moved[q] if q in same_group else first[q]) for q in queries}}
    assert stored_task_groups(store, "hackernews") == {f"0#4#{n}" for n in range(4)} | {"0#shared"}  # {"after": 1}


def test_task_states_of_tasks_run_together_are_written_together(store: Any) -> None:
    urgent = {f"urgent {n}": TaskState({"after": 1}, 10.0, every=60.0) for n in range(3)}
    normal = {f"term {n}": TaskState({"after": 1}, 10.0, every=300.0) for n in range(3)}
    store.save_task_states("reddit", {**urgent, **normal})
    store.get_task_states(["reddit"])
    assert stored_task_groups(store, "reddit") == {"60#1#0", "300#1#0", "60#shared", "300#shared"}
    ran = {**normal, **{q: TaskState({"after": 2}, 70.0, every=60.0) for q in urgent}}
    store.save_task_states("reddit", {**ran, "term 0": TaskState({"after": 9}, 70.0, every=300.0)}, list(urgent))
    assert store.get_task_states(["reddit"]) == {"reddit": ran}  # the 5-minute terms' item was not written


def test_task_states_move_to_a_new_layout_whole_when_they_grow(store: Any) -> None:
    few = {f"term {n}": TaskState({"after": 1}, 10.0) for n in range(40)}
    assert task_layout(few) == 1
    store.save_task_states("reddit", few)
    store.get_task_states(["reddit"])
    many = {**few, **{f"term {n}": TaskState({"after": n}, 70.0) for n in range(40, 4000)}}
    assert task_layout(many, 1) == 64
    store.save_task_states("reddit", many, ["term 399"])  # a new layout: every group written, the old ones deleted
    assert store.get_task_states(["reddit"]) == {"reddit": many}
    assert stored_task_groups(store, "reddit") == {task_group(q, 0, 64) for q in many} | {"0#shared"}


def stored_task_groups(store: Any, network: str) -> set[str]:
    """The group items a network's task states are kept in (besides its ``KEPT`` mark)."""
    return set(stored_task_items(store, network)) - {KEPT}


def stored_task_items(store: Any, network: str) -> dict[str, str]:
    """A network's ``TASKS`` items as stored: group -> body."""
    if isinstance(store, MemoryStore):
        return {group: body for (net, group), body in store._task_items.items() if net == network}
    items = store.client.query(TableName=store.table, KeyConditionExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": "TASKS"}})["Items"]
    return {i["sk"]["S"].partition("#")[2]: i["tasks"]["S"] for i in items if i["sk"]["S"].startswith(f"{network}#")}


def test_task_states_a_cursor_every_term_shares_moves_in_one_small_item(store: Any) -> None:
    def firehose(minute: int) -> dict[str, Any]:
        return {"time_us": 1_764_900_000_000_000 + minute * 60_000_000, "seen": {f"at://p/{minute}": minute}}

    queries = [f"term {n}" for n in range(500)]
    states = {q: TaskState(firehose(0), 60.0, every=60.0) for q in queries}
    store.save_task_states("bluesky", states)
    assert store.get_task_states(["bluesky"]) == {"bluesky": states}
    before = stored_task_items(store, "bluesky")
    assert len(before) > 2  # the terms' groups, the shared item
    for minute in (1, 2):
        states = {q: TaskState(firehose(minute), 60.0 * (minute + 1), every=60.0) for q in queries}
        store.save_task_states("bluesky", states, queries)
        after = stored_task_items(store, "bluesky")
        assert {g for g in after if after[g] != before.get(g)} == {"60#shared"} and set(after) == set(before)
        assert len(after["60#shared"]) < 200
        assert store.get_task_states(["bluesky"]) == {"bluesky": states}


def put_task_items(store: Any, network: str, items: dict[str, str]) -> None:
    """Write ``TASKS`` items as another writer would (group -> body)."""
    if isinstance(store, MemoryStore):
        store._task_items.update({(network, group): body for group, body in items.items()})
    else:
        for group, body in items.items():
            store.client.put_item(TableName=store.table, Item={"pk": {"S": "TASKS"}, "sk": {"S": f"{network}#{group}"},
                                                               "tasks": {"S": body}})


def test_task_states_a_shared_cursor_an_overlapping_cycle_moved_leaves_this_cycle_s_cursors_inline(
        store: Any) -> None:
    queries = [f"term {n}" for n in range(20)]
    states = {q: TaskState({"t": 1}, 60.0, every=60.0) for q in queries}
    store.save_task_states("bluesky", states)
    assert store.get_task_states(["bluesky"]) == {"bluesky": states}
    put_task_items(store, "bluesky", {"60#shared": '{"c":{"t":3},"r":120.0}'})  # the other cycle's, after our read
    new = {**states, **{q: TaskState({"t": 2}, 120.0, every=60.0) for q in queries[:10]}}
    store.save_task_states("bluesky", new, queries[:10])
    assert stored_task_items(store, "bluesky")["60#shared"] == '{"c":{"t":3},"r":120.0}'  # its put was refused
    got = store.get_task_states(["bluesky"])["bluesky"]
    assert {q: got[q].cursor for q in queries} == {q: new[q].cursor for q in queries}  # the rest one behind: safe


def test_task_states_written_by_main_read_the_same_after_the_upgrade(store: Any) -> None:
    items = {KEPT: "[[],{}]", **MAIN_TASK_ITEMS}
    put_task_items(store, "bluesky", items)
    states, fire = MAIN_TASK_STATES, MAIN_FIREHOSE
    assert store.get_task_states(["bluesky"]) == {"bluesky": states}
    moved = {**states, "coffee": TaskState({**fire, "time_us": 1764900060000000}, 1764900060.0, every=60.0),
             "espresso": TaskState({**fire, "time_us": 1764900060000000}, 1764900060.0, every=60.0)}
    store.save_task_states("bluesky", moved, ["coffee", "espresso"])
    assert store.get_task_states(["bluesky"]) == {"bluesky": moved}
    assert stored_task_items(store, "bluesky")["300#1#0"] == items["300#1#0"]  # not written


def former_task_item(store: Any, network: str, states: dict[str, TaskState]) -> None:
    """Write a network's task states the way a stage did before the groups (one item per network, its
    former body: ``{query: {"c": cursor, "r": last run, "u": 1 if unfinished}}``)."""
    body = json.dumps({q: {"c": t.cursor, "r": t.last_run, **({"u": 1} if t.unfinished else {})}
                       for q, t in states.items()})
    if isinstance(store, MemoryStore):
        store._tasks[network] = body
    else:
        store.client.put_item(TableName=store.table, Item={"pk": {"S": f"NET#{network}"}, "sk": {"S": "TASKS"},
                                                           "tasks": {"S": body}})


def test_task_states_migrated_half_way_take_each_task_s_latest_run(store: Any) -> None:
    former_task_item(store, "reddit", {"a": TaskState({"after": 1}, 10.0), "b": TaskState({"after": 1}, 10.0)})
    store.save_task_states("reddit", {"a": TaskState({"after": 2}, 70.0)})  # groups written, the mark not yet
    assert store.get_task_states(["reddit"]) == {"reddit": {"a": TaskState({"after": 2}, 70.0),
                                                            "b": TaskState({"after": 1}, 10.0)}}
    former_task_item(store, "reddit", {})
    assert store.get_task_states(["reddit"])["reddit"]["b"] == TaskState({"after": 1}, 10.0)


def test_task_states_keep_a_cursor_shared_by_terms_once() -> None:
    shared = {"created_at_i": 1_764_000_000, "ids": list(range(1000, 1100))}
    states = {f"term {n}": TaskState(dict(shared), 60.0, every=300.0) for n in range(20)}
    states["other"] = TaskState({"created_at_i": 5}, 60.0, True)
    body = tasks_body(states)
    assert body.count('"ids"') == 1 and tasks_from(body) == states


def test_task_states_of_the_former_single_item_are_kept_as_groups(store: Any) -> None:
    queries = [f"term {n}" for n in range(40)]
    former = {q: TaskState({"after": n}, 10.0) for n, q in enumerate(queries)}
    former_task_item(store, "reddit", former)
    assert store.get_task_states(["reddit", "bluesky"]) == {"reddit": former, "bluesky": {}}
    moved = {**former, "term 3": TaskState({"after": 99}, 70.0)}
    store.save_task_states("reddit", moved, ["term 3"])  # one group written: the others came from the migration
    former_task_item(store, "reddit", {"term 3": TaskState({"after": 0}, 1.0)})  # no longer read: reddit is KEPT
    former_task_item(store, "bluesky", {"x": TaskState({"after": 1}, 5.0)})  # bluesky was marked as grouped
    assert store.get_task_states(["reddit", "bluesky"]) == {"reddit": moved, "bluesky": {}}


def test_health_counts_failures_and_tells_each_change_once(store: Any, clock: Clock) -> None:
    store.record_skipped("reddit", 2, "no id")  # before any poll was recorded: a record all the same
    assert store.all_health() == {"reddit": Health("reddit", items_skipped=2, last_skip="2 items skipped: no id",
                                                   last_skip_at=iso(START))}
    assert store.record_failure("hackernews", "HTTP 503", retry_not_before=START + 60) == 1
    clock.now += 1
    assert store.record_failure("hackernews", "timeout") == 2
    assert store.tell_health("hackernews", "down") is True
    assert store.tell_health("hackernews", "down") is False
    clock.now += 1
    assert store.record_success("hackernews", 3, data=True) == "down"
    assert store.tell_health("hackernews", "up") is True
    assert store.tell_silence("hackernews", "silent") is True
    assert store.tell_silence("hackernews", "silent") is False
    clock.now += 1
    assert store.record_success("hackernews", 2, restart_watch=True) == "up"
    store.record_skipped("hackernews", 1, "bad date")
    assert store.all_health() == {
        "hackernews": Health("hackernews", 0, iso(START + 3), "timeout", iso(START + 1), 0.0, 5, iso(START + 2),
                             iso(START + 3), "silent", iso(START + 2), 1, "1 item skipped: bad date", iso(START + 3)),
        "reddit": Health("reddit", items_skipped=2, last_skip="2 items skipped: no id", last_skip_at=iso(START))}
    assert store.record_success("bluesky", 0) is None


def test_connector_state_round_trips(store: Any) -> None:
    assert store.get_state("bluesky", "session") is None
    store.put_state("bluesky", "session", {"jwt": "a", "exp": 1.5, "n": None})
    store.put_state("bluesky", "session", {"jwt": "b"})
    assert store.get_state("bluesky", "session") == {"jwt": "b"}
    assert store.get_state("reddit", "session") is None


# --- counters ----------------------------------------------------------------------------

def test_hour_counters_count_per_kind_and_who(store: Any) -> None:
    hour = "2030-03-17T16"
    assert [store.count_sms("+351912345678", hour) for _ in range(3)] == [1, 2, 3]
    assert store.count_sms("+351912345678", "2030-03-17T17") == 1
    assert store.count_answers("+351912345678", hour) == 1
    assert store.count_commands("+351912345678", hour) == 1
    assert store.count_commands("+351900000000", hour) == 1
    assert store.count_commands("+351912345678", hour) == 2


def test_a_spike_is_told_once_per_cooldown(store: Any, clock: Clock) -> None:
    assert store.tell_spike("brand", 3600) is True
    assert store.tell_spike("brand", 3600) is False
    assert store.tell_spike("product", 3600) is True
    clock.now += 3600
    assert store.tell_spike("brand", 3600) is False  # the cooldown is not yet over
    clock.now += 1
    assert store.tell_spike("brand", 3600) is True


def test_daily_caps_add_up_per_rule(store: Any) -> None:
    assert store.daily_caps(DAY) == ({}, {})
    store.add_to_daily_caps(DAY, counts={"brand-name": 2, "rival": 0})
    store.add_to_daily_caps(DAY, counts={"brand-name": 1}, raised={"brand-name": 10})
    store.add_to_daily_caps(DAY)
    assert store.daily_caps(DAY) == ({"brand-name": 3}, {"brand-name": 10})
    assert store.daily_caps("2030-03-18") == ({}, {})


def test_stories_are_remembered_per_day_and_a_later_lead_wins(store: Any, clock: Clock) -> None:
    assert store.known_stories([DAY]) == {}
    assert store.remember_stories(DAY, {"fp1": "hackernews:1"}) is True
    clock.now += 60
    assert store.remember_stories(DAY, {"fp2": "hackernews:2", "fp1": "hackernews:9"}) is True
    assert store.remember_stories("2030-03-16", {"fp0": "reddit:0", "fp1": "reddit:1"}) is True
    assert store.remember_stories(DAY, {}) is True
    assert store.known_stories([DAY]) == {"fp1": "hackernews:9", "fp2": "hackernews:2"}
    assert store.known_stories(["2030-03-16", DAY, "2030-03-15"]) == {
        "fp0": "reddit:0", "fp1": "hackernews:9", "fp2": "hackernews:2"}  # the later day's lead wins
    clock.now += 60
    many = {f"url:https://news.example/{i:04d}/" + "x" * 980: f"hackernews:{i}" for i in range(400)}
    hostile = {"url:https://news.example/" + "y" * 1100: "hackernews:long", "url:\ud800": "hackernews:surrogate",
               "": "hackernews:empty"}
    assert store.remember_stories(DAY, {**many, **hostile}) is True  # 400 KB of fingerprints: no day is full
    assert store.known_stories([DAY]) == {"fp1": "hackernews:9", "fp2": "hackernews:2", **many}


def test_the_digest_counts_each_job_once_and_keeps_its_keys_in_order(store: Any, clock: Clock) -> None:
    question = mention("q", triage=triaged(question=True, label="negative"))
    chance = mention("o", rule="rival", group="competitor", triage=triaged(opportunity=True))
    store.store_new_mentions([question, chance], "job-1", 60)
    assert store.count_job("job-1", START, [chance]) is True
    assert store.count_job("job-1", START, [chance]) is False
    assert store.count_job("job-404", START, [question]) is False  # no such job: counted nowhere
    store.add_to_digest(DAY, [question], at=START + 3600)
    store.add_to_digest(DAY, [])
    record = store.digest_days([DAY, "2030-03-18"])
    assert record == {
        DAY: DigestDay(DAY, {"total": {"all": 2}, "network": {"hackernews": 2}, "group": {"competitor": 1, "brand": 1},
                             "rule": {"rival": 1, "brand-name": 1}, "sentiment": {"neutral": 1, "negative": 1},
                             "intent": {"question": 1}},
                       ["hackernews#o"], ["hackernews#q"], {"16": {"competitor": 1}, "17": {"brand": 1}},
                       {"1600": {"total": {"all": 1}, "network": {"hackernews": 1}, "group": {"competitor": 1},
                                 "rule": {"rival": 1}, "sentiment": {"neutral": 1}},
                        "1700": {"total": {"all": 1}, "network": {"hackernews": 1}, "group": {"brand": 1},
                                 "rule": {"brand-name": 1}, "sentiment": {"negative": 1}, "intent": {"question": 1}}},
                       {"hackernews#o": START, "hackernews#q": START + 3600}),
        "2030-03-18": DigestDay("2030-03-18")}
    assert store.digest_days([DAY], keys=False)[DAY].opportunities == []
    assert store.digest_days([DAY], keys=["2030-03-18"])[DAY].questions == []
    assert store.digest_days([DAY], keys=[DAY])[DAY].questions == ["hackernews#q"]


def test_spikes_read_one_utc_hour_of_each_day_and_whether_the_day_counted_any(store: Any) -> None:
    brand, rival = mention("a"), mention("b", rule="rival", group="competitor")
    store.add_to_digest(DAY, [brand], at=START)  # 16:00
    store.add_to_digest(DAY, [brand, rival], at=START + 2700)  # 16:45
    store.add_to_digest(DAY, [rival], at=START + 3600)  # 17:00
    assert store.hour_counts([DAY, "2030-03-18"], "16") == {DAY: {"brand": 2, "competitor": 1}, "2030-03-18": None}
    assert store.hour_counts([DAY], "09") == {DAY: {}}  # counted that day, not in that hour


# --- lists -------------------------------------------------------------------------------

def test_lists_of_mutes_suppressions_and_exclusions(store: Any) -> None:
    assert (store.muted(), store.suppressed(), store.exclusions()) == (([], []), {}, {})
    store.mute_author("reddit", "SpamBot", by="ana@beanthere.example")
    store.mute_author("hackernews", "troll", by="Maria")
    store.mute_thread("reddit:t3_abc", by="sms")
    assert store.muted() == (["hackernews:troll", "reddit:spambot"], ["reddit:t3_abc"])
    assert store.muted_authors() == ["hackernews:troll", "reddit:spambot"]
    assert store.muted_threads() == ["reddit:t3_abc"]
    store.suppress("Ana@BeanThere.example", "unsubscribed")
    store.suppress("rui@beanthere.example", "bounced")
    store.suppress("ana@beanthere.example", "complained")
    assert store.suppressed() == {"ana@beanthere.example": "complained", "rui@beanthere.example": "bounced"}
    store.add_exclusion("brand-name", "recipe")
    store.add_exclusion("brand-name", "coffee table")
    store.add_exclusion("brand-name", "recipe")
    store.add_exclusion("rival", "job")
    assert store.exclusions() == {"brand-name": ["coffee table", "recipe"], "rival": ["job"]}


# --- learning ----------------------------------------------------------------------------

def test_the_feedback_model_is_written_only_over_the_version_read(store: Any) -> None:
    assert store.feedback_model() is None
    assert not store.save_feedback_model('{"v":1}', 1)  # nothing stored: only version 0 may write
    assert store.save_feedback_model('{"v":1}', 0)
    assert not store.save_feedback_model('{"v":"other"}', 0)  # a second first write lost its race
    assert store.feedback_model() == ('{"v":1}', 1)
    assert store.save_feedback_model('{"v":2}', 1)
    assert not store.save_feedback_model('{"v":"stale"}', 1)
    assert store.feedback_model() == ('{"v":2}', 2)


def test_two_clicks_at_once_both_reach_the_stored_model(store: Any) -> None:
    from chalicelib.triage.feedback import load_model, record_click

    clicks = [mention(str(n), text=f"Beanthere {n} rocks") for n in range(6)]
    threads = [threading.Thread(target=record_click, args=(store, m, "relevant")) for m in clicks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert load_model(store).clicks == {"relevant": 6, "not_relevant": 0}
    assert store.feedback_model()[1] == 6


def test_a_relabelled_mention_keeps_the_owners_intents(store: Any) -> None:
    judged = Triage(0.6, "positive", frozenset({"praise"}), 30, ("praises",), False)
    a = mention("a", triage=judged)
    store.store_new_mentions([a], "job-1", 60)
    owners = replace(a, triage=replace(judged, intents=frozenset({"complaint"}), priority=45,
                                       reasons=("complains",), opportunity=True))
    assert store.relabel_mention(owners)
    assert not store.relabel_mention(mention("gone"))
    assert store.get_mention(a.mention.key) == StoredMention(owners, "new", iso(START), "job-1")
    assert store.get_mention("hackernews#gone") is None


def test_a_held_mention_is_listed_for_its_day_with_its_reason(store: Any) -> None:
    a, b, c = mention("a"), mention("b"), mention("c")
    store.store_new_mentions([a, b, c], "job-1", 60)
    store.set_mention_state(c.mention.key, "handled")
    assert store.hold_mention(b.mention.key, DAY, "held back (\"the\" before the name)")
    assert store.hold_mention(a.mention.key, DAY, "held back")
    assert store.hold_mention(a.mention.key, DAY, "held back")  # a resumed job holds it again: one record
    assert not store.hold_mention(c.mention.key, DAY, "held back")  # the owner handled it already
    assert not store.hold_mention("hackernews#gone", "2030-03-18", "held back")
    assert store.held_back([DAY, "2030-03-18", "2030-03-19"]) == {
        "hackernews#a": "held back", "hackernews#b": "held back (\"the\" before the name)",
        "hackernews#c": "held back", "hackernews#gone": "held back"}
    states = {k: m.state for k, m in store.get_mentions([a.mention.key, b.mention.key, c.mention.key]).items()}
    assert states == {"hackernews#a": "held", "hackernews#b": "held", "hackernews#c": "handled"}


def test_the_pure_parts_of_a_mention_survive_the_round_trip(store: Any) -> None:
    odd = replace(mention("ü"), matches=(RuleMatch("brand-name", "brand", True, ()),
                                         RuleMatch("rival", "competitor", False, ((1, 2), (3, 4)))))
    store.store_new_mentions([odd], "job-1", 60)
    assert store.get_mention(odd.mention.key).item == odd


def test_capacity_is_counted_per_public_store_method_also_from_parallel_reads(stack: Any) -> None:
    name = f"twin-{uuid.uuid4().hex[:12]}"
    stack.create_table(name)
    store = Store(stack.client("dynamodb"), name, clock=Clock())
    store.store_new_mentions([mention("1")], "job-1", 60)
    store.units_by_caller = {}
    keys = [mention("1").mention.key] + [f"hackernews#{i}" for i in range(150)]  # two batches, read at once
    assert list(store.get_mentions(keys)) == [mention("1").mention.key]
    store.unseen([mention(str(i)) for i in range(150)])
    store.get_mention(mention("1").mention.key)
    store.known_stories([DAY])
    assert store.remember_stories(DAY, {"fp1": "hackernews#1"}) is True
    assert set(store.units_by_caller) == {"get_mentions", "unseen", "get_mention", "known_stories", "remember_stories"}
    assert store.requests == 2 + 7  # the job and the mention; then two batch gets twice, a get, a query, a write
    stack.client("dynamodb").delete_table(TableName=name)


def test_cycles_racing_for_the_same_mentions_store_each_once(store: Any) -> None:
    candidates = [mention(str(i)) for i in range(150)]  # two transactions' worth
    results: dict[str, list[MatchedMention]] = {}

    def cycle(job_id: str) -> None:
        results[job_id] = store.store_new_mentions(store.unseen(candidates), job_id, 60)

    threads = [threading.Thread(target=cycle, args=(f"job-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = [m.mention.key for part in results.values() for m in part]
    assert sorted(stored) == sorted(m.mention.key for m in candidates)  # each once, by one of the jobs
    owners = {key: s.job for key, s in store.get_mentions(stored).items()}
    assert all(owners[m.mention.key] == job for job, part in results.items() for m in part)

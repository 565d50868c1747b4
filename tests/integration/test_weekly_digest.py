"""The weekly digest end to end on the local stack: a fortnight of mentions stored in DynamoDB
Local, the Monday digest hour sends one weekly email through SES (moto) even when two runs
overlap, and its web view link opens the same week through the HTTP endpoint."""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.config import ListenConfig
from chalicelib.digest import build_weekly_digest
from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.runtime import Runtime, build, runtime
from chalicelib.store import Store
from chalicelib.triage import Triage
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import SIGNING_KEY, make_config

pytestmark = pytest.mark.integration
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")
MONDAY_EIGHT = dt.datetime(2026, 11, 23, 8, 5, tzinfo=LISBON)  # the week is 16-22 Nov, the week before 9-15 Nov


def mention(native_id: str, text: str, day: str, *, network: str = "hackernews", sentiment: str = "neutral",
            opportunity: bool = False, priority: int = 40) -> MatchedMention:
    created = dt.datetime.fromisoformat(f"{day}T10:00:00+00:00")
    return MatchedMention(
        Mention(network, native_id, f"https://news.ycombinator.com/item?id={native_id}", text, created,
                author_name="ana"),
        (RuleMatch("brand", "brand", False, ((0, 10),)),),
        Triage(0.0, sentiment, frozenset({"question"} if opportunity else set()), priority,  # type: ignore[arg-type]
               ("asks a question",) if opportunity else (), opportunity=opportunity),
    )


def store_day(store: Store, day: str, items: list[MatchedMention]) -> None:
    """What a cycle on ``day`` does: store the new mentions and count them into the day's digest record."""
    new = store.store_new_mentions(items, uuid.uuid4().hex, 60)
    assert len(new) == len(items)
    store.add_to_digest(day, new)


@pytest.fixture
def fortnight(store: Store, replay: ReplayServer, tmp_path: Path) -> ListenConfig:
    """Maria (Lisbon) takes the weekly digest on Mondays. The week before: 4 brand mentions; the week:
    6, of which three are opportunities (one handled, one marked not relevant); one on the Monday it is sent."""
    store_day(store, "2026-11-10", [mention("101", "Bean There is cosy", "2026-11-10", sentiment="positive"),
                                    mention("102", "Bean There queue", "2026-11-10", sentiment="negative"),
                                    mention("103", "Bean There again", "2026-11-10")])
    store_day(store, "2026-11-13", [mention("104", "Bean There on Friday", "2026-11-13")])
    store_day(store, "2026-11-17", [
        mention("201", "Does Bean There do oat milk?", "2026-11-17", opportunity=True, priority=80),
        mention("202", "Bean There flat white", "2026-11-17", network="reddit", sentiment="positive")])
    store_day(store, "2026-11-21", [
        mention("203", "Is Bean There open on Sunday?", "2026-11-21", opportunity=True, priority=70),
        mention("204", "Bean There <script>alert(1)</script> prices?", "2026-11-21", opportunity=True, priority=90),
        mention("205", "Bean There cake", "2026-11-21", sentiment="positive"),
        mention("206", "Bean There was slow", "2026-11-21", sentiment="negative")])
    store_day(store, "2026-11-23", [mention("301", "Bean There on Monday", "2026-11-23")])
    assert store.set_mention_state("hackernews#203", "handled")
    assert store.set_mention_state("hackernews#204", "not_relevant")
    return make_config(replay, tmp_path, recipient="    weekly_digest: monday\n")


def wired(config: ListenConfig, store: Store) -> Runtime:
    return build(config, store, signing_key=SIGNING_KEY.encode(), clock=store.clock)


def weekly_emails(stack: LocalStack) -> list[Any]:
    return [message for message in stack.sent_emails() if str(message["Subject"]).startswith("Weekly digest")]


def test_the_fortnight_is_read_one_query_a_day_and_compared_week_against_week(
    store: Store, fortnight: ListenConfig
) -> None:
    calls: list[tuple[str, int]] = []
    original = store._call

    def counted(operation: str, **kwargs: Any) -> Any:
        keys = kwargs.get("RequestItems", {}).get(store.table, {}).get("Keys", [])
        calls.append((operation, len(keys)))
        return original(operation, **kwargs)

    store._call = counted  # type: ignore[method-assign]
    digest = build_weekly_digest(fortnight, store, week_start=dt.date(2026, 11, 16), timezone="Europe/Lisbon")
    # the 14 UTC days that hold Maria's local fortnight (Lisbon is UTC+0 in November): one Query each for a day's
    # quarter-hour counters with its opportunity keys, one each (and the next day) for the mentions held back;
    # then the week's opportunities
    assert calls == [("query", 0)] * 14 + [("query", 0)] * 15 + [("batch_get_item", 3)]
    assert (digest.total, digest.before_total) == (6, 4)
    assert [(c.label, c.count, c.before, c.text) for c in digest.changes] == [
        ("brand", 6, 4, "+50%"), ("product", 0, 0, "same"), ("competitor", 0, 0, "same"), ("industry", 0, 0, "same")]
    assert [(bar.label, bar.count, bar.width) for bar in digest.sentiment] == [
        ("positive", 2, 33), ("neutral", 3, 50), ("negative", 1, 17)]
    assert [m.key for m in digest.opportunities] == ["hackernews#201", "hackernews#203"]
    assert (digest.open_opportunities, digest.all_opportunities) == (1, 2)


def test_the_monday_digest_hour_sends_the_weekly_email_once_even_when_two_runs_overlap(
    stack: LocalStack, store: Store, fortnight: ListenConfig
) -> None:
    start = threading.Barrier(2)
    outcomes: list[list[tuple[str, str]]] = []

    def run() -> None:
        sender = wired(fortnight, Store(stack.client("dynamodb"), store.table)).digest
        start.wait()
        outcomes.append(sender.run(MONDAY_EIGHT))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcome for run_outcomes in outcomes for _, outcome in run_outcomes if "weekly" in outcome) == [
        "weekly already sent", "weekly sent"]
    assert wired(fortnight, store).digest.run(MONDAY_EIGHT + dt.timedelta(minutes=50)) == [
        ("Maria", "already sent"), ("Maria", "weekly already sent")]
    (message,) = weekly_emails(stack)
    (delivery,) = store.deliveries("digest-week-2026-W48")
    assert (delivery.recipient, delivery.channel, delivery.status, delivery.mention_keys) == (
        "Maria", "digest", "sent", ["hackernews#201", "hackernews#203"])
    assert delivery.message_id
    assert message["To"] == "Maria <maria@beanthere.example>"
    assert message["Subject"] == ("Weekly digest for 16 Nov to 22 Nov: 6 new mentions of Bean There Café, "
                                  "+50% on the week before, 1 to answer")
    text = message.get_body(("plain",)).get_content()
    assert "6 new mentions from Mon 16 Nov to Sun 22 Nov (Lisbon time)\n+50% on the week before (4)\n" in text
    assert "Brand           6 ████████████████████ +50% (the week before: 4)\n" in text
    assert "Sentiment: positive 33% (2) · neutral 50% (3) · negative 17% (1)\n" in text
    networks = text.split("TOP NETWORKS\n")[1].split("\n\n")[0].splitlines()  # each bar, then its inbox link
    assert [line for line in networks if not line.startswith(" ")] == [
        "Hacker News         5 ████████████████████", "Reddit              1 ████"]
    assert "- [OPEN] Priority 80 · asks a question\n" in text and "- [handled] Priority 70" in text
    html = message.get_body(("html",)).get_content()
    assert "<script" not in html and "prices?" not in html  # the mention marked not relevant is left out
    assert "You get this digest every Monday because" in html


def test_the_weekly_web_view_link_opens_the_same_week_through_the_endpoint(
    stack: LocalStack, store: Store, fortnight: ListenConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wired(fortnight, store).digest.run(MONDAY_EIGHT)
    (message,) = weekly_emails(stack)
    found = re.search(r"^Web view: \S+/d/(\S+)$", message.get_body(("plain",)).get_content(), re.M)
    assert found is not None
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()  # a warm container, built from this test's environment
    try:
        with Client(app, stage_name="dev") as client:
            page = client.http.get(f"/d/{found.group(1)}")
    finally:
        runtime.cache_clear()
    assert page.status_code == 200
    body = page.body.decode()
    email_html = message.get_body(("html",)).get_content()
    assert body.split("<h1", 1)[1].split("You get this")[0] == email_html.split("<h1", 1)[1].split("You get this")[0]
    assert ">16 November to 22 November 2026</h1>" in body and "View this digest in your browser" not in body

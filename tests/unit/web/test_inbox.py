"""The inbox's pages (chalicelib.web.inbox) on the in-memory store and a fake clock: the order,
paging by cursor, every filter and its refusals, the mention page's actions, reply and activity,
bulk actions, and the rules, health and deliveries pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from typing import Any

import pytest

from chalicelib.links import TokenSigner
from chalicelib.model import Health, MatchedMention, RuleMatch
from chalicelib.triage import Triage
from chalicelib.web.inbox import MAX_BULK, InboxPages, Viewed, decode_key, encode_key
from tests.builders import CONFIG, FakeClock, RecordingStore, config, mention

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
TODAY = "2027-01-15"
ME = Viewed("Maria", "csrf-token")
RULES = [{"name": "brand", "group": "brand", "keywords": ["Bean There"]},
         {"name": "rival", "group": "competitor", "keywords": ["Roastery"]}]
RECIPIENTS = [CONFIG["recipients"][0], {"name": "Joao", "email": "joao@beanthere.example"}]
NETWORKS = {"hackernews": {"base_url": "http://127.0.0.1:9/hackernews"},
            "reddit": {"base_url": "http://127.0.0.1:9/reddit"}}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def store(clock: FakeClock) -> RecordingStore:
    return RecordingStore(clock=clock)


@pytest.fixture
def pages(store: RecordingStore, clock: FakeClock) -> InboxPages:
    listen = config(rules=RULES, recipients=RECIPIENTS, networks=NETWORKS)
    return InboxPages(listen, store, TokenSigner(b"k" * 32, clock=clock), clock)


def item(native_id: str, *, priority: int = 40, opportunity: bool = False, network: str = "hackernews",
         rule: str = "brand", group: str = "brand", sentiment: str = "neutral", intents: frozenset[str] = frozenset(),
         text: str = "Bean There", **fields: Any) -> MatchedMention:
    m = mention(text, native_id=native_id, network=network, author_handle=f"user{native_id}", **fields)
    triage = Triage(0.0, sentiment, intents, priority, (), opportunity)  # type: ignore[arg-type]
    return MatchedMention(m, (RuleMatch(rule, group, False),), triage)  # type: ignore[arg-type]


def store_at(store: RecordingStore, clock: FakeClock, at: float, *items: MatchedMention) -> None:
    now = clock.now
    clock.now = at
    store.store_new_mentions(list(items), f"job-{items[0].mention.native_id}", 60)
    clock.now = now


def keys(body: str) -> list[str]:
    """The mention keys a list page shows, in its order (from the checkboxes)."""
    return [decode_key(v) or "?" for v in re.findall(r'name="m" value="([^"]+)"', body)]


def list_page(pages: InboxPages, **params: str) -> Any:
    return pages.list_page(ME, params)


# --- order and paging -------------------------------------------------------------------

def test_unanswered_opportunities_come_first_then_new_then_snoozed_then_the_rest(store, clock, pages) -> None:
    store_at(store, clock, NOW - 3600, item("old-opp", opportunity=True, priority=30), item("low", priority=10),
             item("handled", priority=99), item("snoozed", priority=90), item("high", priority=80))
    store_at(store, clock, NOW - 60, item("new-opp", opportunity=True, priority=30), item("high2", priority=80))
    store.set_mention_state("hackernews#handled", "handled")
    store.snooze("hackernews#snoozed", int(NOW) + 3600)
    page = list_page(pages)
    assert page.status == 200
    assert keys(page.body) == ["hackernews#new-opp", "hackernews#old-opp", "hackernews#high2", "hackernews#high",
                               "hackernews#low", "hackernews#snoozed", "hackernews#handled"]


def test_pages_follow_each_other_by_cursor_without_a_gap_or_a_repeat(store, clock, pages) -> None:
    for n in range(120):
        store_at(store, clock, NOW - 7200 + n * 10, item(f"{n:03d}", priority=n % 7 * 10))
    seen: list[str] = []
    page = list_page(pages)
    while True:
        shown = keys(page.body)
        assert len(shown) == (50 if len(seen) < 100 else 20)
        seen += shown
        more = re.search(r'href="/in/\?([^"]+)">Next page', page.body)
        if not more:
            break
        params = dict(p.split("=", 1) for p in html.unescape(more.group(1)).split("&"))
        if len(seen) == 50:  # a row of the next page is handled meanwhile: it moves to the end, the rest stay
            store.set_mention_state(keys(list_page(pages, cursor=params["cursor"]).body)[0], "handled")
        page = list_page(pages, **params)
    assert len(seen) == 120
    assert len(set(seen)) == 120


# --- filters ------------------------------------------------------------------------------

def test_each_filter_keeps_exactly_its_mentions(store, clock, pages) -> None:
    store_at(store, clock, NOW - 86400 * 3, item("a", opportunity=True, sentiment="negative",
                                                 intents=frozenset({"complaint"})))
    store_at(store, clock, NOW - 86400 * 10, item("old"))
    store_at(store, clock, NOW - 60, item("b", network="reddit", rule="rival", group="competitor",
                                          text="Roastery is better", intents=frozenset({"question"})),
             item("c", sentiment="positive", title="Latte art at Bean There"))
    store.assign_mention("hackernews#c", "Maria", "Joao")
    store.set_mention_state("reddit#b", "handled")
    assert sorted(keys(list_page(pages).body)) == ["hackernews#a", "hackernews#c", "reddit#b"]  # the last 7 days
    assert keys(list_page(pages, state="open").body) == ["hackernews#a"]
    assert keys(list_page(pages, state="handled").body) == ["reddit#b"]
    assert keys(list_page(pages, network="reddit").body) == ["reddit#b"]
    assert keys(list_page(pages, group="competitor").body) == ["reddit#b"]
    assert keys(list_page(pages, rule="rival").body) == ["reddit#b"]
    assert keys(list_page(pages, sentiment="positive").body) == ["hackernews#c"]
    assert keys(list_page(pages, intent="complaint").body) == ["hackernews#a"]
    assert keys(list_page(pages, assigned="me").body) == ["hackernews#c"]
    assert keys(list_page(pages, q="latte ART").body) == ["hackernews#c"]  # title and text, any case
    assert keys(list_page(pages, q="bean there").body) == ["hackernews#a", "hackernews#c", "hackernews#old"]  # 30 d
    assert keys(list_page(pages, **{"from": "2027-01-05", "to": "2027-01-05"}).body) == ["hackernews#old"]
    assert keys(list_page(pages, state="new", network="hackernews", sentiment="negative").body) == ["hackernews#a"]
    assert keys(list_page(pages, state="", network="").body) == keys(list_page(pages).body)  # blank: no filter


@pytest.mark.parametrize(("params", "named"), [
    ({"colour": "red"}, "colour: the inbox has no such filter"),
    ({"state": "done"}, "state: &#39;done&#39; is not one of open, new, snoozed, held, handled, not_relevant"),
    ({"network": "myspace"}, "network: &#39;myspace&#39; is not one of hackernews, reddit"),
    ({"group": "fans"}, "group: &#39;fans&#39; is not one of brand, product, competitor, industry"),
    ({"rule": "nope"}, "rule: &#39;nope&#39; is not one of brand, rival"),
    ({"sentiment": "angry"}, "sentiment: &#39;angry&#39; is not one of positive, neutral, negative"),
    ({"intent": "spam"}, "intent: &#39;spam&#39; is not one of"),
    ({"assigned": "joao"}, "assigned: &#39;joao&#39; is not one of me"),
    ({"from": "15/01/2027"}, "from: &#39;15/01/2027&#39; is not a date like 2026-12-05"),
    ({"to": "2027-02-30"}, "to: &#39;2027-02-30&#39; is not a date like 2026-12-05"),
    ({"to": "2027-01-16"}, "to: 2027-01-16 is after today (2027-01-15, UTC)"),
    ({"from": "2027-01-10", "to": "2027-01-09"}, "from: 2027-01-10 is after to (2027-01-09)"),
    ({"from": "2026-12-01", "to": "2027-01-15"}, "from: at most 31 days at once (2026-12-01 to 2027-01-15 is 46)"),
    ({"from": "2026-10-01", "to": "2026-10-02"}, "from: mentions are kept 90 days; 2026-10-01 is older"),
    ({"q": "x" * 101}, "q: at most 100 characters"),
    ({"job": "../etc"}, "job: not an alert&#39;s id"),
    ({"cursor": "not-a-cursor"}, "cursor: not a cursor this inbox made"),
    ({"cursor": "WzEsMl0"}, "cursor: not a cursor this inbox made"),  # [1,2]: JSON, not a place in the order
])
def test_a_bad_filter_is_a_400_page_naming_it(pages, params, named) -> None:
    page = list_page(pages, **params)
    assert page.status == 400
    assert "That filter does not work" in page.body
    assert named in page.body


def test_an_alerts_link_lists_exactly_the_mentions_it_carried(store, clock, pages) -> None:
    store_at(store, clock, NOW - 60, *[item(str(n)) for n in range(30)])
    store.claim_delivery("job-0", "Maria", "email", [f"hackernews#{n}" for n in range(25)])
    store.claim_delivery("job-0", "Maria", "sms", ["hackernews#25", "hackernews#3"])
    store.claim_delivery("job-0", "Joao", "email", ["hackernews#29"])  # another recipient's: not listed
    assert sorted(keys(list_page(pages, job="job-0").body)) == sorted(f"hackernews#{n}" for n in range(26))
    assert keys(list_page(pages, job="job-none").body) == []


# --- the mention page -----------------------------------------------------------------------

def test_the_mention_page_has_every_action_the_reply_and_the_activity(store, clock, pages) -> None:
    store_at(store, clock, NOW - 60, item("1", network="reddit", text="<script>alert(1)</script> Bean There?",
                                          author_name="Ana"))
    store.audit("reddit#1", "snooze", "Joao", "snoozed until 1800003600", "n1")
    page = pages.mention_page(ME, encode_key("reddit#1"))
    assert page.status == 200
    assert "<script>alert(1)" not in page.body and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.body
    tokens = re.findall(r'href="/a/([^"]+)"', page.body)
    actions = [(t.action, t.recipient, t.mention_key, t.expires_at - int(NOW))
               for t in map(pages.signer.verify, tokens)]
    assert actions == [(a, "Maria", "reddit#1", 3600) for a in
                       ("handled", "snooze", "mute_author", "mute_thread", "assign", "not_relevant", "wrong_label")]
    reply = re.search(r'<form method="post" action="/a/([^"]+)">', page.body)
    assert reply and pages.signer.verify(reply.group(1)).action == "reply"
    assert ">Hi Ana, thanks for mentioning Bean There Café!</textarea>" in html.unescape(page.body)
    assert 'name="csrf" value="csrf-token"' in page.body
    assert re.search(r"<td>snooze</td><td>Joao</td><td>snoozed until 1800003600</td>", page.body)


def test_a_network_without_replies_offers_the_draft_to_copy(store, clock, pages) -> None:
    store_at(store, clock, NOW - 60, item("1"))
    body = pages.mention_page(ME, encode_key("hackernews#1")).body
    (draft,) = re.findall(r'<a href="/a/([^"]+)">open the draft to copy</a>', body)
    assert pages.signer.verify(draft).action == "reply"
    assert "<textarea" not in body


@pytest.mark.parametrize("segment", ["nope", encode_key("hackernews#404"), "aGFja2VybmV3cyMx=", "%2e%2e"])
def test_no_mention_page_for_a_key_not_stored_or_not_ours(store, clock, pages, segment) -> None:
    store_at(store, clock, NOW - 60, item("1"))
    assert pages.mention_page(ME, segment).status == 404


# --- bulk actions ---------------------------------------------------------------------------

def test_bulk_handled_snooze_and_mute_act_on_the_checked_mentions_as_the_viewer(store, clock, pages) -> None:
    store_at(store, clock, NOW - 60, item("1"), item("2"), item("3"))
    done = pages.bulk(ME, {"action": ["handled"], "m": [encode_key("hackernews#1"), encode_key("hackernews#2")]})
    assert done.status == 200
    assert {k: m.state for k, m in store.get_mentions(["hackernews#1", "hackernews#2", "hackernews#3"]).items()} == {
        "hackernews#1": "handled", "hackernews#2": "handled", "hackernews#3": "new"}
    assert [(a["action"], a["recipient"], a["result"]) for a in store.audit_log("hackernews#1")] == [
        ("handled", "Maria", "marked handled")]
    pages.bulk(ME, {"action": ["snooze"], "m": [encode_key("hackernews#3")]})
    assert store.get_mention("hackernews#3").state == "snoozed"
    assert store.snoozes_ended() == []
    pages.bulk(ME, {"action": ["mute_author"], "m": [encode_key("hackernews#3")]})
    assert store.muted_authors() == ["hackernews:user3"]


@pytest.mark.parametrize(("fields", "said"), [
    ({"action": ["delete"], "m": [encode_key("hackernews#1")]}, "Choose an action."),
    ({"action": ["handled"]}, "Check at least one mention."),
    ({"action": ["handled"], "m": [encode_key("hackernews#1"), "not-a-key"]}, "not one of this inbox"),
    ({"action": ["handled"], "m": [encode_key(f"hackernews#{n}") for n in range(MAX_BULK + 1)]},
     f"At most {MAX_BULK} mentions at once."),
])
def test_a_bad_bulk_form_changes_nothing_and_says_why(store, clock, pages, fields, said) -> None:
    store_at(store, clock, NOW - 60, item("1"))
    page = pages.bulk(ME, fields)
    assert page.status == 400
    assert said in html.unescape(page.body)
    assert store.get_mention("hackernews#1").state == "new"
    assert store.audit_log("hackernews#1") == []


# --- rules, health, deliveries --------------------------------------------------------------

def test_the_rules_page_counts_each_rules_mentions_this_week_and_its_not_relevant_rate(store, clock, pages) -> None:
    store_at(store, clock, NOW - 8 * 86400, item("old"))
    store_at(store, clock, NOW - 60, item("1"), item("2"), item("3"), item("4", rule="rival", group="competitor"))
    store.set_mention_state("hackernews#2", "not_relevant")
    body = pages.rules_page(ME).body
    assert re.search(r">brand</a>.*?<td>3</td><td>33% \(1 of 3\)</td>", body)
    assert re.search(r">rival</a>.*?<td>1</td><td>0% \(0 of 1\)</td>", body)


def test_the_health_page_says_each_networks_state_in_words(store, pages) -> None:
    store.record_success("hackernews", 3, data=True)
    store.record_failure("reddit", "Reddit asked us to slow down", retry_not_before=NOW + 900)
    body = html.unescape(pages.health_page(ME).body)
    assert "<strong>Hacker News</strong>: working: last checked Fri 15 Jan 08:00 UTC; last new item Fri 15 Jan " \
           "08:00 UTC" in body
    assert "<strong>Reddit</strong>: not working: the last 1 tries failed: Reddit asked us to slow down; we try " \
           "again at 08:15 UTC" in body


def test_the_deliveries_page_lists_the_failed_alerts_with_what_they_held(store, clock, pages) -> None:
    store_at(store, clock, NOW - 60, item("1", text="Bean There closed?"), item("2"))
    store.claim_delivery("job-1", "Maria", "email", ["hackernews#1"])
    store.finish_delivery("job-1", "Maria", "email", "failed", detail="SES refused the address")
    body = html.unescape(pages.deliveries_page(ME).body)
    assert "The email alert to Maria (15 Jan 08:00 UTC) failed: SES refused the address" in body
    assert f'href="/in/m/{encode_key("hackernews#1")}">Bean There closed?</a>' in body
    assert "hackernews#2" not in body and encode_key("hackernews#2") not in body


def test_keys_survive_the_path_and_nothing_else_decodes() -> None:
    for key in ("hackernews#1", "reddit#t3_abc", "mastodon#https://x.example/@a/1", "rss#ü/é?x=1"):
        assert decode_key(encode_key(key)) == key
        assert re.fullmatch(r"[A-Za-z0-9_-]+", encode_key(key))
    assert decode_key("aGFja2VybmV3cw") is None  # "hackernews": not a key
    assert dataclasses.is_dataclass(Health)  # the health page reads the store's record
    assert dt.date.fromisoformat(TODAY) == dt.datetime.fromtimestamp(NOW, dt.UTC).date()

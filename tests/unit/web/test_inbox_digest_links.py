"""Every digest section links into the inbox filtered to exactly its mentions (issue 18): the
opportunities, those still to answer, the industry questions, the held-back ones, each rule group, each
top network and all the headline's mentions; the digest's days are the recipient's local days, the
inbox reads their UTC range. ``check_sections`` runs on DynamoDB Local too
(tests/integration/test_inbox_digest_sections.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.config import parse_config
from chalicelib.digest import (
    build_digest,
    build_weekly_digest,
    compose_digest,
    render_html,
    undelivered_since,
    with_links,
)
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention
from chalicelib.store.memory import MemoryStore
from chalicelib.web.inbox import InboxPages, Viewed
from tests.builders import FakeClock
from tests.unit import test_digest_local_days as local_days
from tests.unit.test_digest import CONFIG
from tests.unit.test_digest_local_days import at, counted
from tests.unit.web.test_inbox import keys

NOW = "2026-12-04T13:00:00+00:00"  # 08:00 in New York: the headline is Thu 3 and Fri 4 Dec there
BASE = "https://api.example/api"
clock, store = local_days.clock, local_days.store  # the fixtures: a FakeClock and a MemoryStore on it


def test_the_digests_opportunities_link_lists_exactly_them_over_the_recipients_local_days(
        store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-03T04:30:00+00:00", opportunity=True)  # Wed 2 Dec 23:30 EST: not the headline's
    first = counted(store, clock, "2026-12-03T05:10:00+00:00", opportunity=True)  # Thu 00:10 EST
    late = counted(store, clock, "2026-12-04T04:30:00+00:00", opportunity=True)  # Thu 23:30 EST, Fri in UTC
    handled = counted(store, clock, "2026-12-04T12:00:00+00:00", opportunity=True)
    counted(store, clock, "2026-12-04T05:10:00+00:00")  # not an opportunity
    counted(store, clock, "2026-12-04T06:00:00+00:00", opportunity=True, held=True)  # held back: its own section
    dismissed = counted(store, clock, "2026-12-04T07:00:00+00:00", opportunity=True)
    counted(store, clock, "2026-12-04T05:00:01+00:00", opportunity=True, held=True, held_on="2026-12-04")
    store.set_mention_state(handled.mention.key, "handled")
    store.set_mention_state(dismissed.mention.key, "not_relevant")
    digest = build_digest(CONFIG, store, now=at(NOW), timezone="America/New_York")
    clock.now = at(NOW).timestamp()
    digest = with_links(digest, TokenSigner(b"k" * 32, clock=clock), "Maria", BASE)
    expected = {first.mention.key, late.mention.key, handled.mention.key}
    assert {m.key for m in digest.opportunities} == expected and digest.all_opportunities == 3

    link = urlsplit(digest.inbox_link)
    assert f"{link.scheme}://{link.netloc}{link.path}" == f"{BASE}/in/"
    params = dict(parse_qsl(link.query))
    assert params == {"from": "2026-12-03", "to": "2026-12-04", "tz": "America/New_York", "section": "opportunities"}
    clock.now = at("2026-12-04T14:00:00+00:00").timestamp()  # opened an hour later
    pages = InboxPages(CONFIG, store, TokenSigner(b"k" * 32, clock=clock), clock)
    page = pages.list_page(Viewed("Maria", "csrf"), params)
    assert page.status == 200
    assert keys(page.body) == [late.mention.key, first.mention.key, handled.mention.key]  # open first, then handled
    assert "2026-12-03 to 2026-12-04 (America/New_York)" in page.body

    message = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                             from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    assert f"All 3 in the inbox: {digest.inbox_link}" in message.get_body(("plain",)).get_content()
    assert digest.inbox_link.replace("&", "&amp;") in render_html(digest, business="Bean There Café")


def test_a_digest_without_opportunities_has_no_opportunities_link_line(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-04T05:10:00+00:00")
    clock.now = at(NOW).timestamp()
    digest = with_links(build_digest(CONFIG, store, now=at(NOW), timezone="Europe/Lisbon"),
                        TokenSigner(b"k" * 32, clock=clock), "Maria", BASE)
    page = render_html(digest, business="Bean There Café")
    assert "All 1 in the inbox" in page and "section=opportunities" not in page and "to answer</a>" not in page
    bare = render_html(dataclasses.replace(digest, inbox_link="", inbox_links=()), business="B")
    assert "in the inbox" not in bare and "/in/?" not in bare


# --- every section links into the inbox filtered to exactly its mentions ---------------------

SECTIONED = parse_config("""\
business:
  name: Bean There Café
rules:
  - {name: brand, group: brand, keywords: ["Bean There"]}
  - {name: product, group: product, keywords: ["cold brew"]}
  - {name: competitor, group: competitor, keywords: ["Fábrica Coffee"]}
  - {name: industry, group: industry, keywords: ["coffee"]}
networks:
  hackernews: {}
  reddit: {}
recipients:
  - {name: Maria, email: maria@beanthere.example, timezone: America/New_York}
  - {name: Joao Silva, phone: "+351912345678"}
alerts:
  from_address: alerts@beanthere.example
  action_base_url: https://api.example/api
  digest_hour: 8
""")
_QUERY_VALUE = re.compile(r"[a-z_]+|\d{4}-\d{2}-\d{2}|America/New_York|job-alert|Maria|Joao Silva")


def sectioned(store: Any, clock: FakeClock, *, weekly: bool = False) -> dict[str, set[str]]:
    """Mentions of every kind around a New York recipient's headline days (Thu 3 and Fri 4 Dec; ``weekly``:
    the week of Sat 28 Nov to Fri 4 Dec), and
    what each digest section holds of them, by construction: ``all`` (every one of those days but the
    held ones), ``to_answer``, ``opportunities``, ``questions``, ``held``, ``group:<g>``, ``network:<n>``,
    and ``<recipient> <channel>`` for each delivery of an alert that failed (more mentions than it lists)."""
    made: list[tuple[MatchedMention, str, bool]] = []  # (mention, its state at the end, in the headline's days)

    def make(at: str, state: str = "new", inside: bool = True, **kind: Any) -> MatchedMention:
        item = counted(store, clock, at, held=state == "held", **kind)
        if state in ("handled", "not_relevant"):
            assert store.set_mention_state(item.mention.key, state)
        elif state == "snoozed":
            assert store.snooze(item.mention.key, int(clock.now) + 86400 * 3)
        made.append((item, state, inside))
        return item

    make("2026-12-03T04:30:00+00:00", inside=weekly, opportunity=True)  # Wed 2 Dec 23:30 EST: the week's only
    make("2026-12-05T05:30:00+00:00", inside=False, opportunity=True)  # Sat 5 Dec 00:30 EST: after them
    for n in range(8):  # more opportunities than the digest shows, across the UTC midnight
        make(f"2026-12-0{3 + n % 2}T0{5 if n % 2 == 0 else 4}:{10 + n:02d}:00+00:00", opportunity=True)
    for n in range(5):  # industry questions: more than a topic shows
        make(f"2026-12-04T{8 + n:02d}:00:00+00:00", group="industry", opportunity=True)
    make("2026-12-04T06:00:00+00:00", group="industry")  # industry, no question
    make("2026-12-04T06:10:00+00:00", state="handled", opportunity=True)
    make("2026-12-04T06:20:00+00:00", state="snoozed", opportunity=True)
    make("2026-12-04T06:30:00+00:00", state="not_relevant", opportunity=True)
    make("2026-12-04T06:40:00+00:00", state="not_relevant", group="industry", opportunity=True)
    make("2026-12-04T06:50:00+00:00", state="held", opportunity=True)
    make("2026-12-04T07:00:00+00:00", state="held", group="competitor")
    make("2026-12-04T07:05:00+00:00", group="competitor", label="negative")
    for n in range(3):
        make(f"2026-12-04T07:1{n}:00+00:00", network="reddit", group="product")
    make("2026-12-04T07:30:00+00:00", network="mastodon")  # counted, but no longer configured: no network link
    for n in range(52):  # more than a page of the inbox
        make(f"2026-12-03T{12 + n // 10}:{n % 10 * 5:02d}:00+00:00", label="positive")

    def keys_where(test: Any) -> set[str]:
        return {item.mention.key for item, state, inside in made if inside and test(item, state)}

    def opportunity(item: MatchedMention) -> bool:
        return bool(item.triage and item.triage.opportunity)

    expected = {
        "all": keys_where(lambda item, state: state != "held"),
        "to_answer": keys_where(lambda item, state: opportunity(item) and state in ("new", "snoozed")),
        "opportunities": keys_where(lambda item, state: opportunity(item) and state not in ("held", "not_relevant")),
        "questions": keys_where(lambda item, state: opportunity(item) and state not in ("held", "not_relevant")
                                and item.matches[0].group == "industry"),
        "held": keys_where(lambda item, state: state == "held"),
    }
    for group in ("brand", "product", "competitor", "industry"):
        expected[f"group:{group}"] = keys_where(lambda item, state, g=group: state != "held"
                                                and item.matches[0].group == g)
    for label in ("positive", "neutral", "negative"):
        expected[f"sentiment:{label}"] = keys_where(lambda item, state, s=label: state != "held"
                                                    and item.triage is not None and item.triage.sentiment_label == s)
    expected["rule:competitor"] = expected["group:competitor"]  # the share of voice's competitor (one rule a group)
    for network in ("hackernews", "reddit"):
        expected[f"network:{network}"] = keys_where(lambda item, state, n=network: state != "held"
                                                    and item.mention.network == n)
    clock.now = at("2026-12-04T09:00:00+00:00").timestamp()
    positive = sorted(keys_where(lambda item, state: item.triage is not None and item.triage.sentiment_label
                                 == "positive"))
    carried = {("Maria", "email"): positive, ("Maria", "sms"): positive[:3], ("Joao Silva", "sms"): positive[3:6]}
    for (recipient, channel), held in carried.items():
        assert store.claim_delivery("job-alert", recipient, channel, held)
        store.finish_delivery("job-alert", recipient, channel, "sent" if channel == "sms" and recipient == "Maria"
                              else "failed", detail="refused")
        if (recipient, channel) != ("Maria", "sms"):
            expected[f"{recipient} {channel}"] = set(held)
    return expected


def followed(pages: InboxPages, link: str) -> list[str]:
    """Every key the inbox lists at ``link``, page after page (by its "Next page" links)."""
    split = urlsplit(link)
    assert f"{split.scheme}://{split.netloc}{split.path}" == f"{BASE}/in/"
    params = dict(parse_qsl(split.query, strict_parsing=True))
    assert set(params) <= {"from", "to", "tz", "section", "state", "group", "network", "sentiment", "rule",
                           "job", "for", "channel"}
    assert all(_QUERY_VALUE.fullmatch(value) for value in params.values()), params
    listed: list[str] = []
    while True:
        page = pages.list_page(Viewed("Maria", "csrf"), params)
        assert page.status == 200, page.body
        listed += keys(page.body)
        more = re.search(r'href="/in/\?([^"]+)">Next page', page.body)
        if not more:
            return listed
        params = dict(parse_qsl(html.unescape(more.group(1)), strict_parsing=True))


def check_sections(store: Any, clock: FakeClock, *, weekly: bool = False) -> None:
    """Each section's link of the daily digest (``weekly``: the weekly one), followed against the inbox over
    ``store``, lists exactly its mentions."""
    expected = sectioned(store, clock, weekly=weekly)
    now = at("2026-12-05T13:00:00+00:00" if weekly else "2026-12-04T13:00:00+00:00")  # 08:00 in New York
    clock.now = now.timestamp()
    digest = (build_weekly_digest(SECTIONED, store, week_start=dt.date(2026, 11, 28), timezone="America/New_York")
              if weekly else build_digest(SECTIONED, store, now=now, timezone="America/New_York"))
    digest = dataclasses.replace(digest, undelivered=undelivered_since(store, now.timestamp() - 86400 * 2))
    digest = with_links(digest, TokenSigner(b"k" * 32, clock=clock), "Maria", BASE)
    days = [dt.date(2026, 11, 28) + dt.timedelta(days=n) for n in range(7)]
    assert list(digest.days) == (days if weekly else days[-2:])
    counts = {"all": digest.total, "to_answer": digest.open_opportunities,
              "opportunities": digest.all_opportunities, "questions": digest.all_questions,
              "held": digest.held_total,
              **{f"group:{bar.label}": bar.count for bar in digest.groups},
              **{f"sentiment:{bar.label}": bar.count for bar in digest.sentiment},
              **{f"rule:{bar.label}": bar.count for bar in digest.share_of_voice[1:]},
              **{f"network:{key}": bar.count for key, bar in zip(digest.network_keys, digest.networks, strict=True)
                 if key}}
    named = {f"undelivered:{n}": f"{u.recipient} {u.channel}" for n, u in enumerate(digest.undelivered)}
    counts.update({named[n]: u.carried for n, u in zip(named, digest.undelivered, strict=True)})
    assert [(len(u.mentions), u.carried) for u in digest.undelivered if u.channel == "email"] == [
        (50, len(expected["Maria email"]))]  # the digest shows fewer than the alert held
    links = {named.get(name, name): link for name, link in digest.inbox_links}
    assert set(links) == set(expected) == set(counts)  # the unconfigured network has its bar, not a link
    assert [bar.label for bar in digest.networks] == ["Hacker News", "Reddit", "Mastodon"]
    assert len(expected["all"]) > 50 and len(expected["opportunities"]) > len(digest.opportunities)
    assert len(expected["questions"]) > 3 and expected["held"] and expected["sentiment:negative"]
    assert expected["group:product"] and not expected["sentiment:negative"] & expected["group:product"]
    clock.now = now.timestamp() + 3600  # opened an hour later
    pages = InboxPages(SECTIONED, store, TokenSigner(b"k" * 32, clock=clock), clock)
    for section, link in links.items():
        listed = followed(pages, link)
        assert len(listed) == len(set(listed)), section
        assert set(listed) == expected[section], section
        assert len(listed) == counts[section], section
    assert digest.inbox_link == links["opportunities"]

    text = compose_digest(digest, SECTIONED.recipients[0], business="Bean There Café",
                          from_address="alerts@beanthere.example", reply_to=None,
                          web_view_link="").get_body(("plain",)).get_content()
    page = render_html(digest, business="Bean There Café")
    for section, link in links.items():
        if counts[section]:
            assert link in text and link.replace("&", "&amp;") in page, section
    assert f"All {len(expected['all'])} in the inbox: {links['all']}" in text
    assert f"The {len(expected['to_answer'])} to answer: {links['to_answer']}" in text
    assert f"All {len(expected['questions'])} questions in the inbox: {links['questions']}" in text
    assert f"All {len(expected['held'])} held back in the inbox: {links['held']}" in text
    assert f"The {len(expected['Maria email'])} it held in the inbox: {links['Maria email']}" in text


@pytest.mark.parametrize("weekly", [False, True], ids=["daily", "weekly"])
def test_every_digest_section_links_to_exactly_its_mentions_in_the_inbox(store: MemoryStore, clock: FakeClock,
                                                                          weekly: bool) -> None:
    check_sections(store, clock, weekly=weekly)


@pytest.mark.parametrize(("tz", "said"), [
    ("Mars/Olympus", "tz: 'Mars/Olympus' is not a time zone like Europe/Lisbon"),
    ("../../etc/passwd", "tz: '../../etc/passwd' is not a time zone like Europe/Lisbon"),
])
def test_a_bad_time_zone_is_a_400_naming_it(store: MemoryStore, clock: FakeClock, tz: str, said: str) -> None:
    clock.now = at(NOW).timestamp()
    pages = InboxPages(CONFIG, store, TokenSigner(b"k" * 32, clock=clock), clock)
    page = pages.list_page(Viewed("Maria", "csrf"), {"tz": tz})
    assert page.status == 400 and said.replace("'", "&#39;") in page.body


@pytest.mark.parametrize(("params", "said"), [
    ({"for": "Maria"}, "for: only with job (what one alert carried)"),
    ({"channel": "sms"}, "channel: only with job (what one alert carried)"),
    ({"job": "job-alert", "channel": "fax"}, "channel: 'fax' is not one of email, sms, digest"),
    ({"job": "job-alert", "for": "<b>Maria</b>"},
     "for: not a recipient's name (1-64 letters, digits, spaces, '.', '_' or '-')"),
])
def test_an_alerts_recipient_or_channel_filter_that_does_not_work_is_a_400_naming_it(
        store: MemoryStore, clock: FakeClock, params: dict[str, str], said: str) -> None:
    clock.now = at(NOW).timestamp()
    pages = InboxPages(SECTIONED, store, TokenSigner(b"k" * 32, clock=clock), clock)
    page = pages.list_page(Viewed("Maria", "csrf"), params)
    assert page.status == 400 and said.replace("'", "&#39;") in page.body and "<b>Maria" not in page.body

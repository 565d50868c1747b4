"""The digest's opportunities link into the inbox filtered to exactly those mentions (issue 18): the
digest's days are the recipient's local days, the inbox reads their UTC range."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlsplit

import pytest

from chalicelib.digest import build_digest, compose_digest, render_html, with_links
from chalicelib.links import TokenSigner
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


def test_a_digest_without_opportunities_has_no_inbox_link_line(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-04T05:10:00+00:00")
    clock.now = at(NOW).timestamp()
    digest = with_links(build_digest(CONFIG, store, now=at(NOW), timezone="Europe/Lisbon"),
                        TokenSigner(b"k" * 32, clock=clock), "Maria", BASE)
    assert "in the inbox" not in render_html(digest, business="Bean There Café")
    assert "in the inbox" not in render_html(dataclasses.replace(digest, inbox_link=""), business="B")


@pytest.mark.parametrize(("tz", "said"), [
    ("Mars/Olympus", "tz: 'Mars/Olympus' is not a time zone like Europe/Lisbon"),
    ("../../etc/passwd", "tz: '../../etc/passwd' is not a time zone like Europe/Lisbon"),
])
def test_a_bad_time_zone_is_a_400_naming_it(store: MemoryStore, clock: FakeClock, tz: str, said: str) -> None:
    clock.now = at(NOW).timestamp()
    pages = InboxPages(CONFIG, store, TokenSigner(b"k" * 32, clock=clock), clock)
    page = pages.list_page(Viewed("Maria", "csrf"), {"tz": tz})
    assert page.status == 400 and said.replace("'", "&#39;") in page.body

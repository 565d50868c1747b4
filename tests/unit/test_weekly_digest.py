"""The optional weekly digest: the last 7 days against the 7 before, sent on each recipient's
weekday at their digest hour once per ISO week, and its web view."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import re
from collections.abc import Sequence

import pytest

from chalicelib.config import ConfigError, ListenConfig, parse_config
from chalicelib.digest import (
    Bar,
    Change,
    Digest,
    DigestSender,
    build_weekly_digest,
    change_text,
    compared,
    compose_digest,
    digest_page,
    due_date,
    iso_week,
    render_html,
)
from chalicelib.links import ActionToken, TokenSigner
from chalicelib.model import DigestDay
from tests.unit.test_digest import FakeMailer, FakeStore, day, stored

CONFIG_TEXT = """\
business:
  name: Bean There Café
rules:
  - {{name: brand, group: brand, keywords: ["Bean There"]}}
  - {{name: cold brew, group: product, keywords: ["cold brew"]}}
  - {{name: Fabrica, group: competitor, keywords: ["Fábrica Coffee"]}}
  - {{name: Copenhagen, group: competitor, keywords: ["Copenhagen Coffee Lab"]}}
  - {{name: coffee, group: industry, keywords: ["coffee"]}}
networks:
  hackernews: {{}}
recipients:
{recipients}
alerts:
  from_address: alerts@beanthere.example
  action_base_url: https://listen.example/api
  digest_hour: {hour}
"""
RECIPIENTS = """\
  - {name: Maria, email: maria@beanthere.example, timezone: Europe/Lisbon, weekly_digest: monday}
  - {name: Ken, email: ken@beanthere.example, timezone: Asia/Tokyo, weekly_digest: friday, daily_digest: false}
  - {name: Ana, email: ana@beanthere.example, timezone: America/New_York}
  - {name: Rui, phone: "+351912345678", timezone: Europe/Lisbon, weekly_digest: monday}"""


def config(recipients: str = RECIPIENTS, hour: int = 8) -> ListenConfig:
    return parse_config(CONFIG_TEXT.format(recipients=recipients, hour=hour))


CONFIG = config()
WEEK_START = dt.date(2026, 11, 16)  # a Monday: the week is 16-22 Nov, the week before 9-15 Nov
SENT_AT = dt.datetime(2026, 11, 23, 8, 5, tzinfo=dt.UTC)  # Monday 23 Nov, 08:05 in Lisbon (WET, UTC+0)
SIGNING_KEY = b"unit-test-signing-key-0123456789abcdef"


class CountingStore(FakeStore):
    """The fake store, remembering each digest_days request."""

    def __init__(self, days: Sequence[DigestDay] = (), mentions: Sequence = ()) -> None:
        super().__init__(days, mentions)
        self.day_requests: list[list[str]] = []

    def digest_days(self, days: Sequence[str], *, keys: object = True) -> dict[str, DigestDay]:
        self.day_requests.append(list(days))
        return super().digest_days(days)


def fortnight() -> CountingStore:
    """The week before: brand 8, products 4, competitors 5 (all Fabrica), industry 0, 17 in all.
    The week: brand 10, products 3, competitors 5 (Fabrica 3, Copenhagen 2), industry 6, 24 in all.
    Around it, a day before the fortnight and the sending day itself, which count in neither week."""
    return CountingStore([
        day("2026-11-08", total={"all": 99}, group={"brand": 99}, rule={"brand": 99}),
        day("2026-11-10", total={"all": 10}, group={"brand": 5, "product": 4, "competitor": 1},
            rule={"brand": 5, "Fabrica": 1}),
        day("2026-11-14", total={"all": 7}, group={"brand": 3, "competitor": 4}, rule={"brand": 3, "Fabrica": 4}),
        day("2026-11-16", total={"all": 6}, group={"brand": 4, "product": 2}, rule={"brand": 4},
            network={"hackernews": 6}, sentiment={"positive": 3, "neutral": 3}),
        day("2026-11-19", total={"all": 9}, group={"brand": 3, "competitor": 5, "industry": 1},
            rule={"brand": 3, "Fabrica": 3, "Copenhagen": 2}, network={"hackernews": 5, "reddit": 4},
            sentiment={"positive": 2, "neutral": 5, "negative": 2}),
        day("2026-11-22", total={"all": 9}, group={"brand": 3, "product": 1, "industry": 5}, rule={"brand": 3},
            network={"reddit": 9}, sentiment={"positive": 5, "neutral": 2, "negative": 2}),
        day("2026-11-23", total={"all": 50}, group={"brand": 50}, rule={"brand": 50}),
    ])


def weekly(store: FakeStore | None = None) -> Digest:
    return build_weekly_digest(CONFIG, store or fortnight(), week_start=WEEK_START, timezone="Europe/Lisbon")


# ---------------------------------------------------------------- the numbers


@pytest.mark.parametrize(("count", "before", "text"), [
    (10, 8, "+25%"), (3, 4, "-25%"), (5, 5, "same"), (0, 0, "same"), (6, 0, "new"), (0, 7, "-100%"),
    (24, 17, "+41%"), (9, 8, "+13%"), (7, 8, "-13%"), (300, 100, "+200%"), (1001, 1000, "+0%"),
])
def test_a_change_is_a_whole_percent_or_same_or_new_never_infinite(count: int, before: int, text: str) -> None:
    assert change_text(count, before) == text
    assert Change("brand", count, before).text == text


def test_the_headline_compares_the_total_with_the_week_before_in_words() -> None:
    assert compared(24, 17) == "+41% on the week before (17)"
    assert compared(5, 0) == "none the week before"
    assert compared(4, 4) == "as many as the week before"


def test_a_fortnight_compares_each_rule_group_with_the_week_before() -> None:
    store = fortnight()
    digest = weekly(store)
    assert store.day_requests == [[(WEEK_START + dt.timedelta(days=n)).isoformat() for n in range(-7, 7)]]
    assert (digest.period, digest.local_date) == ("weekly", dt.date(2026, 11, 23))
    assert digest.days == tuple(WEEK_START + dt.timedelta(days=n) for n in range(7))
    assert (digest.total, digest.before_total) == (24, 17)
    assert digest.groups == (Bar("brand", 10, 100), Bar("product", 3, 30), Bar("competitor", 5, 50),
                             Bar("industry", 6, 60))
    assert digest.changes == (Change("brand", 10, 8), Change("product", 3, 4), Change("competitor", 5, 5),
                              Change("industry", 6, 0))
    assert [change.text for change in digest.changes] == ["+25%", "-25%", "same", "new"]


def test_share_of_voice_this_week_and_the_week_before_name_the_same_voices() -> None:
    digest = weekly()
    assert digest.share_of_voice == (Bar("Bean There Café", 10, 67), Bar("Fabrica", 3, 20),
                                     Bar("Copenhagen", 2, 13))
    assert digest.share_before == (Bar("Bean There Café", 8, 62), Bar("Fabrica", 5, 38), Bar("Copenhagen", 0, 0))


def test_sentiment_networks_and_the_day_by_day_trend_cover_the_week_only() -> None:
    digest = weekly()
    assert digest.sentiment == (Bar("positive", 10, 42), Bar("neutral", 10, 42), Bar("negative", 4, 16))
    assert digest.networks == (Bar("Reddit", 13, 100), Bar("Hacker News", 11, 84))
    assert [(d.day.isoformat(), d.total) for d in digest.trend] == [
        ("2026-11-16", 6), ("2026-11-17", 0), ("2026-11-18", 0), ("2026-11-19", 9), ("2026-11-20", 0),
        ("2026-11-21", 0), ("2026-11-22", 9)]


def test_the_weeks_top_opportunities_and_how_many_are_unhandled_leave_the_week_before_out() -> None:
    mentions = [stored(f"o{i}", f"Bean There opportunity {i}", priority=50 + i,
                       state="handled" if i in (3, 11) else "new") for i in range(12)]
    earlier = stored("earlier", "Bean There, the week before", priority=99)
    store = FakeStore([DigestDay("2026-11-12", {}, [earlier.key]),
                       DigestDay("2026-11-17", {}, [m.key for m in mentions[:6]]),
                       DigestDay("2026-11-21", {}, [m.key for m in mentions[6:]])], [*mentions, earlier])
    digest = weekly(store)
    assert [m.key for m in digest.opportunities] == [f"hackernews#o{i}" for i in range(11, 1, -1)]
    assert (digest.open_opportunities, digest.all_opportunities) == (10, 12)


def test_the_weeks_industry_questions_are_grouped_as_in_the_daily_digest() -> None:
    questions = [
        stored("q1", "Which burr grinder should I buy for espresso coffee at home?", group="industry",
               rule="coffee", priority=70, intents=["question"], term="coffee"),
        stored("q2", "Is a burr grinder worth it for pour over coffee?", group="industry", rule="coffee",
               priority=60, intents=["question"], term="coffee"),
        stored("q3", "How long does roasted coffee keep its aroma?", group="industry", rule="coffee",
               priority=90, intents=["question"], term="coffee"),
    ]
    store = FakeStore([DigestDay("2026-11-16", {}, [], [questions[0].key]),
                       DigestDay("2026-11-20", {}, [], [q.key for q in questions[1:]])], questions)
    assert [(t.words, [q.key for q in t.questions]) for t in weekly(store).topics] == [
        (("burr", "grinder"), ["hackernews#q1", "hackernews#q2"]), ((), ["hackernews#q3"])]


# ---------------------------------------------------------------- the message


def weekly_message() -> tuple[Digest, str, str, str]:
    mentions = [stored("w1", "Bean There: anyone tried the cold brew?", priority=80),
                stored("w2", "Bean There was great", priority=40, state="handled")]
    store = fortnight()
    store.mentions = {m.key: m for m in mentions}
    store.days["2026-11-19"].opportunities = [m.key for m in mentions]
    digest = weekly(store)
    message = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                             from_address="alerts@beanthere.example", reply_to=None,
                             web_view_link="https://listen.example/api/d/WEEK", unsubscribe="https://listen.example/api/u/U")
    return (digest, str(message["Subject"]), message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


def test_the_weekly_email_says_the_week_and_its_change_in_the_subject() -> None:
    _, subject, text, _ = weekly_message()
    assert subject == ("Weekly digest for 16 Nov to 22 Nov: 24 new mentions of Bean There Café, "
                       "+41% on the week before, 1 to answer")
    assert text.splitlines()[:6] == [
        subject, "Web view: https://listen.example/api/d/WEEK", "",
        "Bean There Café · weekly digest · 16 November to 22 November 2026", "",
        "24 new mentions from Mon 16 Nov to Sun 22 Nov (Lisbon time)"]


def test_a_long_subject_with_an_accent_reads_the_same_once_serialized() -> None:
    digest = weekly_message()[0]
    message = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                             from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    received = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert received["Subject"] == ("Weekly digest for 16 Nov to 22 Nov: 24 new mentions of Bean There Café, "
                                   "+41% on the week before, 1 to answer")


def test_the_weekly_text_gives_each_group_its_change_and_last_weeks_count() -> None:
    _, _, text, _ = weekly_message()
    assert "+41% on the week before (17)\n1 of 2 opportunities still to answer\n" in text
    assert ("BY RULE GROUP\n"
            "Brand          10 ████████████████████ +25% (the week before: 8)\n"
            "Products        3 ██████ -25% (the week before: 4)\n"
            "Competitors     5 ██████████ same (the week before: 5)\n"
            "Industry        6 ████████████ new (the week before: 0)\n") in text
    assert ("SHARE OF VOICE\nBean There Café: 67% (10), was 62%\nFabrica: 20% (3), was 38%\n"
            "Copenhagen: 13% (2), was 0%\n") in text
    assert "You get" not in text and "inf" not in text


def test_the_weekly_html_shows_the_changes_next_to_the_bars_and_is_sent_every_monday() -> None:
    _, _, _, html = weekly_message()
    changes = re.findall(r'<td width="14%" align="right" class="muted"[^>]*>([^<]*)</td>', html)
    assert changes == ["+25%", "-25%", "same", "new"]
    assert "The week before: Brand 8 · Products 4 · Competitors 5 · Industry 0</p>" in html
    assert re.findall(r'<td width="18%" align="right" class="muted"[^>]*>([^<]*)</td>', html) == [
        "was 62%", "was 38%", "was 0%"]
    assert "Bean There Café · weekly digest</p>" in html
    assert "You get this digest every Monday because" in html
    assert "inf%" not in html and "<script" not in html


def test_the_daily_digest_shows_no_comparison() -> None:
    daily = dataclasses.replace(weekly_message()[0], period="daily", changes=(), share_before=(), before_total=0)
    daily_html = render_html(daily, business="Bean There Café")
    assert "on the week before" not in daily_html and "was 62%" not in daily_html
    assert "You get this digest every day because" in daily_html


# ---------------------------------------------------------------- when it is sent


def signer(at: dt.datetime) -> TokenSigner:
    return TokenSigner(SIGNING_KEY, clock=at.timestamp)


def hourly_runs(cfg: ListenConfig, start: dt.datetime, hours: int, store: FakeStore | None = None,
                mailer: FakeMailer | None = None) -> list[tuple[str, str, str]]:
    """(UTC time, recipient, outcome) of every outcome of hourly runs at :05 from ``start``."""
    store, mailer = store or FakeStore(), mailer or FakeMailer()
    outcomes = []
    for hour in range(hours):
        at = start + dt.timedelta(hours=hour, minutes=5)
        sender = DigestSender(cfg, store, mailer, signer(at), clock=at.timestamp)
        outcomes += [(f"{at:%a %d %b %H:%M}", name, outcome) for name, outcome in sender.run(at)]
    return outcomes


def test_each_weekly_digest_goes_out_on_the_recipients_weekday_at_their_local_digest_hour() -> None:
    runs = hourly_runs(CONFIG, dt.datetime(2026, 11, 16, 0, tzinfo=dt.UTC), 14 * 24)
    assert [run for run in runs if "weekly" in run[2]] == [
        ("Mon 16 Nov 08:05", "Maria", "weekly sent"),  # 08:05 in Lisbon
        ("Thu 19 Nov 23:05", "Ken", "weekly sent"),  # Friday 08:05 in Tokyo
        ("Mon 23 Nov 08:05", "Maria", "weekly sent"),
        ("Thu 26 Nov 23:05", "Ken", "weekly sent"),
    ]
    daily = [(name, outcome) for _, name, outcome in runs if "weekly" not in outcome]
    assert sorted(set(daily)) == [("Ana", "sent"), ("Maria", "sent")]  # Ken takes only the weekly one
    assert len(daily) == 28  # Rui has no email address


def test_the_weekly_digest_is_off_unless_a_weekday_is_given() -> None:
    plain = config("  - {name: Maria, email: maria@beanthere.example, timezone: Europe/Lisbon}")
    assert (plain.recipients[0].weekly_digest, plain.recipients[0].daily_digest) == (None, True)
    runs = hourly_runs(plain, dt.datetime(2026, 11, 16, 0, tzinfo=dt.UTC), 7 * 24)
    assert {outcome for _, _, outcome in runs} == {"sent"} and len(runs) == 7


def test_daily_digest_false_skips_the_daily_one_only() -> None:
    ken = config("  - {name: Ken, email: ken@beanthere.example, timezone: Asia/Tokyo, weekly_digest: friday, "
                 "daily_digest: false}")
    store, mailer = FakeStore(), FakeMailer()
    assert hourly_runs(ken, dt.datetime(2026, 11, 16, 0, tzinfo=dt.UTC), 7 * 24, store, mailer) == [
        ("Thu 19 Nov 23:05", "Ken", "weekly sent")]
    assert [str(message["Subject"]) for message, _ in mailer.sent] == [
        "Weekly digest for 13 Nov to 19 Nov: 0 new mentions of Bean There Café"]
    assert list(store.deliveries) == [("digest-week-2026-W47", "Ken", "digest")]


def test_the_weekly_hour_follows_new_york_across_the_end_of_daylight_saving() -> None:
    ana = config("  - {name: Ana, email: ana@beanthere.example, timezone: America/New_York, weekly_digest: monday, "
                 "daily_digest: false}")  # EDT (UTC-4) until Sunday 1 Nov 2026, then EST (UTC-5)
    runs = hourly_runs(ana, dt.datetime(2026, 10, 25, 0, tzinfo=dt.UTC), 15 * 24)
    assert runs == [("Mon 26 Oct 12:05", "Ana", "weekly sent"), ("Mon 02 Nov 13:05", "Ana", "weekly sent")]


def test_a_weekly_hour_that_the_clocks_skip_is_sent_when_they_jump_and_a_repeated_hour_once() -> None:
    maria = config("  - {name: Maria, email: maria@beanthere.example, timezone: Europe/Lisbon, weekly_digest: sunday, "
                   "daily_digest: false}", hour=1)
    # Sunday 29 Mar 2026 Lisbon goes from 00:59 WET to 02:00 WEST: 01:xx never happens that day
    spring = hourly_runs(maria, dt.datetime(2026, 3, 28, 0, tzinfo=dt.UTC), 9 * 24)
    assert spring == [("Sun 29 Mar 01:05", "Maria", "weekly sent"),  # 02:05 WEST, the first hour after the jump
                      ("Sun 05 Apr 00:05", "Maria", "weekly sent")]  # 01:05 WEST
    # Sunday 25 Oct 2026 Lisbon goes from 01:59 WEST back to 01:00 WET: 01:xx happens twice
    autumn = hourly_runs(maria, dt.datetime(2026, 10, 24, 0, tzinfo=dt.UTC), 2 * 24)
    assert autumn == [("Sun 25 Oct 00:05", "Maria", "weekly sent")]


def test_due_date_is_the_local_date_whose_digest_hour_just_passed() -> None:
    assert due_date(dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC), 8, "Europe/Lisbon") == dt.date(2026, 11, 23)
    assert due_date(dt.datetime(2026, 11, 23, 8, 59, tzinfo=dt.UTC), 8, "Europe/Lisbon") == dt.date(2026, 11, 23)
    assert due_date(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC), 8, "Europe/Lisbon") is None
    assert due_date(dt.datetime(2026, 11, 23, 7, 59, tzinfo=dt.UTC), 8, "Europe/Lisbon") is None
    assert due_date(dt.datetime(2026, 11, 22, 23, 30, tzinfo=dt.UTC), 8, "Asia/Tokyo") == dt.date(2026, 11, 23)
    assert due_date(dt.datetime(2026, 11, 23, 2, 45, tzinfo=dt.UTC), 8, "Asia/Kolkata") == dt.date(2026, 11, 23)


def test_the_weekly_digest_is_sent_once_per_iso_week_however_often_the_hour_runs() -> None:
    store, mailer = FakeStore(), FakeMailer()
    first = DigestSender(CONFIG, store, mailer, signer(SENT_AT), clock=SENT_AT.timestamp).run(SENT_AT)
    again = DigestSender(CONFIG, store, mailer, signer(SENT_AT), clock=SENT_AT.timestamp).run(
        SENT_AT + dt.timedelta(minutes=40))
    assert first == [("Maria", "sent"), ("Maria", "weekly sent")]
    assert again == [("Maria", "already sent"), ("Maria", "weekly already sent")]
    assert [str(m["Subject"]).split(" for ")[0] for m, _ in mailer.sent] == ["Daily digest", "Weekly digest"]
    assert {key: record["status"] for key, record in store.deliveries.items()} == {
        ("digest-2026-11-23", "Maria", "digest"): "sent", ("digest-week-2026-W48", "Maria", "digest"): "sent"}
    assert iso_week(dt.date(2026, 11, 23)) == "2026-W48" and iso_week(dt.date(2027, 1, 1)) == "2026-W53"


def test_a_suppressed_address_gets_no_weekly_digest_either() -> None:
    store, mailer = FakeStore(), FakeMailer()
    store.suppressed_addresses = {"maria@beanthere.example": "complained"}
    assert DigestSender(CONFIG, store, mailer, signer(SENT_AT)).run(SENT_AT) == [
        ("Maria", "suppressed"), ("Maria", "weekly suppressed")]
    assert mailer.sent == [] and store.deliveries == {}


def test_a_weekday_that_is_not_a_weekday_is_refused_with_the_line() -> None:
    with pytest.raises(ConfigError) as refused:
        config("  - {name: Maria, email: maria@beanthere.example, weekly_digest: mon}")
    assert refused.value.problems == [
        "listen.yaml:12: recipients[0].weekly_digest (recipient \"Maria\"): expected 'monday', 'tuesday', "
        "'wednesday', 'thursday', 'friday', 'saturday' or 'sunday', got 'mon'"]


# ---------------------------------------------------------------- the web view


def test_the_weekly_web_view_link_names_the_first_day_of_the_week() -> None:
    store, mailer = fortnight(), FakeMailer()
    DigestSender(CONFIG, store, mailer, signer(SENT_AT)).run(SENT_AT)
    weekly_email = mailer.sent[1][0]
    found = re.search(r"Web view: https://listen\.example/api/d/(\S+)", weekly_email.get_body(("plain",)).get_content())
    assert found is not None
    parsed = signer(SENT_AT).verify(found.group(1))
    assert (parsed.mention_key, parsed.action, parsed.recipient) == ("digest:week:2026-11-16", "digest", "Maria")
    page = digest_page(CONFIG, store, parsed)
    assert page is not None and page.status == 200
    email_html = weekly_email.get_body(("html",)).get_content()
    shown = page.body.split("<h1", 1)[1].split("You get this")[0]
    assert shown == email_html.split("<h1", 1)[1].split("You get this")[0]
    assert ">16 November to 22 November 2026</h1>" in page.body
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_daily_web_view_links_still_open_the_daily_digest() -> None:
    token = ActionToken("digest:2026-11-23", "digest", "Maria", int(SENT_AT.timestamp()) + 60, "nonce")
    page = digest_page(CONFIG, fortnight(), token)
    assert page is not None and ">Monday 23 November 2026</h1>" in page.body
    assert "Bean There Café · daily digest</p>" in page.body


@pytest.mark.parametrize(("key", "action", "recipient"), [
    ("digest:week:2026-W47", "digest", "Maria"),
    ("digest:week:2026-11-31", "digest", "Maria"),
    ("digest:week:", "digest", "Maria"),
    ("digest:weeks:2026-11-16", "digest", "Maria"),
    ("digest:week:2026-11-16:x", "digest", "Maria"),
    ("digest:week:2026-11-16", "handled", "Maria"),
    ("digest:week:2026-11-16", "digest", "Mallory"),
    ("week:2026-11-16", "digest", "Maria"),
])
def test_a_token_that_names_no_week_gets_no_page(key: str, action: str, recipient: str) -> None:
    token = ActionToken(key, action, recipient, int(SENT_AT.timestamp()) + 60, "nonce")
    assert digest_page(CONFIG, fortnight(), token) is None


def test_the_weekly_groups_say_why_they_add_up_to_more_than_the_weeks_mentions() -> None:
    store = fortnight()
    store.days["2026-11-22"].counts["total"] = {"all": 8}  # one of its mentions is both brand and industry
    plain = compose_digest(weekly(store), CONFIG.recipients[0], business="Bean There Café",
                           from_address="alerts@beanthere.example", reply_to=None,
                           web_view_link="").get_body(("plain",)).get_content()
    assert ("The groups add up to 24, more than the 23 mentions: a mention that matches rules of several groups "
            "is counted in each of them (and in the bars of each day).") in plain.splitlines()
    _, _, text, html = weekly_message()  # the fortnight's groups add up to its 24 mentions: nothing to explain
    assert "The groups add up" not in text and "groups-note" not in html

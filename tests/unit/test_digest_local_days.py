"""The digest's days are the recipient's own (issue 18): counted per UTC quarter hour by the store's
in-memory twin, summed into a New York (UTC-5), Lisbon (UTC+0/+1, both DST change days), Kolkata
(UTC+5:30) or Auckland (UTC+13) day around midnight; and its numbers add up: the held-back mentions
are listed apart and in no other count, the headline equals the sum of its days, networks and
sentiments."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

import pytest

from chalicelib.digest import build_digest, build_weekly_digest, compose_digest, local_days, utc_days_of
from chalicelib.model import DigestDay, MatchedMention, Mention, RuleMatch, Triage
from chalicelib.store.counters import digest_day_from, hour_groups
from chalicelib.store.memory import MemoryStore
from tests.builders import FakeClock
from tests.unit.test_digest import CONFIG

_ids = itertools.count(1)


def counted(store: MemoryStore, clock: FakeClock, at: str, *, network: str = "hackernews", group: str = "brand",
            label: str = "neutral", opportunity: bool = False, held: bool = False,
            held_on: str = "") -> MatchedMention:
    """A mention stored and counted at ``at`` (ISO, UTC) as the cycle does (``count_job``); ``held``:
    then held back by the feedback model, as ``screen`` does on the same UTC day."""
    moment = dt.datetime.fromisoformat(at)
    clock.now = moment.timestamp()
    native = str(next(_ids))
    item = MatchedMention(Mention(network, native, f"https://example.com/{native}", f"Bean There {native}", moment,
                                  author_name="ana"),
                          (RuleMatch(group, group, False, ()),),
                          Triage(0.0, label, frozenset({"question"} if opportunity else ()), 50,  # type: ignore[arg-type]
                                 ("asks a question",) if opportunity else (), opportunity))
    job = f"job-{native}"
    assert store.store_new_mentions([item], job, 60) == [item]
    assert store.count_job(job, clock.now, [item])
    if held:
        day = held_on or moment.date().isoformat()
        assert store.hold_mention(item.mention.key, day, "held back (like ones you dismissed)")
    return item


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def headline(timezone: str, now: str, store: MemoryStore) -> list[tuple[str, int]]:
    digest = build_digest(CONFIG, store, now=at(now), timezone=timezone)
    return [(day.day.isoformat(), day.total) for day in digest.trend]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> MemoryStore:
    return MemoryStore(clock=clock)


def test_a_new_york_recipient_sees_new_york_days_and_a_utc_one_utc_days(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-04T04:30:00+00:00")  # Thu 3 Dec 23:30 EST
    counted(store, clock, "2026-12-04T05:10:00+00:00")  # Fri 4 Dec 00:10 EST
    now = "2026-12-04T13:00:00+00:00"  # 08:00 in New York
    assert headline("America/New_York", now, store)[-2:] == [("2026-12-03", 1), ("2026-12-04", 1)]
    assert headline("UTC", now, store)[-2:] == [("2026-12-03", 0), ("2026-12-04", 2)]
    digest = build_digest(CONFIG, store, now=at(now), timezone="America/New_York")
    message = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                             from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    text = message.get_body(("plain",)).get_content()
    assert "2 new mentions: 1 on Thu 3 Dec, 1 on Fri 4 Dec so far (New York time)" in text.splitlines()
    assert "Days and times are in your time zone: New York time (America/New_York)." in text


@pytest.mark.parametrize(("counts_at", "now", "expected"), [
    # 29 Mar 2026: clocks go forward at 01:00 UTC, a 23-hour day from 00:00 UTC to 23:00 UTC
    (["2026-03-28T23:45:00+00:00", "2026-03-29T00:30:00+00:00", "2026-03-29T22:59:00+00:00",
      "2026-03-29T23:00:00+00:00"], "2026-03-30T08:00:00+00:00",
     [("2026-03-28", 1), ("2026-03-29", 2), ("2026-03-30", 1)]),
    # 25 Oct 2026: clocks go back at 01:00 UTC, a 25-hour day from 24 Oct 23:00 UTC to 26 Oct 00:00 UTC
    (["2026-10-24T22:59:00+00:00", "2026-10-24T23:00:00+00:00", "2026-10-25T23:59:00+00:00",
      "2026-10-26T00:00:00+00:00"], "2026-10-26T09:00:00+00:00",
     [("2026-10-24", 1), ("2026-10-25", 2), ("2026-10-26", 1)]),
])
def test_a_lisbon_day_of_a_dst_change_is_its_23_or_25_hours(store: MemoryStore, clock: FakeClock,
                                                             counts_at: Sequence[str], now: str,
                                                             expected: list[tuple[str, int]]) -> None:
    for moment in counts_at:
        counted(store, clock, moment)
    assert headline("Europe/Lisbon", now, store)[-3:] == expected


def test_an_auckland_day_utc_plus_13_splits_one_utc_day_at_its_midnight(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-03T10:59:59+00:00")  # Thu 3 Dec 23:59:59 NZDT
    counted(store, clock, "2026-12-03T11:00:00+00:00")  # Fri 4 Dec 00:00 NZDT
    counted(store, clock, "2026-12-03T18:00:00+00:00")  # Fri 4 Dec 07:00 NZDT
    now = "2026-12-03T19:00:00+00:00"  # Fri 4 Dec 08:00 NZDT
    assert headline("Pacific/Auckland", now, store)[-2:] == [("2026-12-03", 1), ("2026-12-04", 2)]
    assert headline("UTC", now, store)[-1] == ("2026-12-03", 3)


def test_a_half_hour_zone_is_split_at_its_own_midnight(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-03T18:29:00+00:00")  # Thu 3 Dec 23:59 IST (UTC+5:30)
    counted(store, clock, "2026-12-03T18:30:00+00:00")  # Fri 4 Dec 00:00 IST
    assert headline("Asia/Kolkata", "2026-12-04T03:00:00+00:00", store)[-2:] == [("2026-12-03", 1),
                                                                                  ("2026-12-04", 1)]


def test_the_utc_days_read_are_those_that_hold_the_local_days() -> None:
    days = utc_days_of(dt.date(2026, 12, 3), dt.date(2026, 12, 4), "Pacific/Auckland")
    assert days == [dt.date(2026, 12, 2), dt.date(2026, 12, 3), dt.date(2026, 12, 4)]
    assert utc_days_of(dt.date(2026, 12, 4), dt.date(2026, 12, 4), "UTC") == [dt.date(2026, 12, 4)]
    assert utc_days_of(dt.date(2026, 12, 4), dt.date(2026, 12, 4), "America/New_York") == [
        dt.date(2026, 12, 4), dt.date(2026, 12, 5)]


def test_a_record_kept_per_utc_day_before_the_slots_counts_as_at_its_noon() -> None:
    legacy = DigestDay("2026-12-03", {"total": {"all": 3}}, ["hackernews#1"])  # no slots, no key times
    [tokyo] = local_days([legacy], [dt.date(2026, 12, 3)], "Asia/Tokyo")  # noon UTC is 21:00 JST
    assert (tokyo.counts, tokyo.opportunities) == ({"total": {"all": 3}}, ["hackernews#1"])
    assert local_days([legacy], [dt.date(2026, 12, 3)], "Pacific/Auckland")[0].counts == {}  # 01:00 on the 4th


def test_the_opportunities_are_those_counted_on_the_local_days(store: MemoryStore, clock: FakeClock) -> None:
    early = counted(store, clock, "2026-12-04T04:30:00+00:00", opportunity=True)  # Thu 3 Dec 23:30 EST
    late = counted(store, clock, "2026-12-05T04:30:00+00:00", opportunity=True)  # Fri 4 Dec 23:30 EST
    digest = build_digest(CONFIG, store, now=at("2026-12-05T13:00:00+00:00"), timezone="America/New_York")
    assert [m.key for m in digest.opportunities] == [late.mention.key]  # Fri 4 and Sat 5 Dec in New York
    utc = build_digest(CONFIG, store, now=at("2026-12-05T13:00:00+00:00"), timezone="UTC")
    assert sorted(m.key for m in utc.opportunities) == sorted([early.mention.key, late.mention.key])


def test_the_numbers_add_up_with_the_held_back_mentions_apart(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-03T09:00:00+00:00", label="positive")
    counted(store, clock, "2026-12-03T23:30:00+00:00", network="reddit", label="negative", opportunity=True)
    counted(store, clock, "2026-12-04T01:00:00+00:00", group="competitor", label="neutral", opportunity=True)
    counted(store, clock, "2026-12-04T02:00:00+00:00", label="neutral", held=True)
    counted(store, clock, "2026-12-03T22:00:00+00:00", network="reddit", label="negative", opportunity=True,
            held=True)
    counted(store, clock, "2026-11-30T12:00:00+00:00", label="positive", held=True)  # a trend day, not headline
    counted(store, clock, "2026-11-30T13:00:00+00:00", label="positive")
    digest = build_digest(CONFIG, store, now=at("2026-12-04T08:15:00+00:00"), timezone="Europe/Lisbon")
    assert (digest.total, digest.held_total, [h.mention.item.mention.network for h in digest.held]) == (
        3, 2, ["hackernews", "reddit"])  # same priority: the newest first
    assert sum(day.total for day in digest.trend[-2:]) == digest.total
    assert sum(bar.count for bar in digest.networks) == digest.total
    assert sum(bar.count for bar in digest.sentiment) == digest.total
    assert sum(bar.count for bar in digest.groups) == digest.total  # one group each
    assert (digest.all_opportunities, digest.open_opportunities) == (2, 2)  # the held one is not to answer
    assert [(d.day.isoformat(), d.total) for d in digest.trend] == [
        ("2026-11-28", 0), ("2026-11-29", 0), ("2026-11-30", 1), ("2026-12-01", 0), ("2026-12-02", 0),
        ("2026-12-03", 2), ("2026-12-04", 1)]
    text = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                          from_address="alerts@beanthere.example", reply_to=None,
                          web_view_link="").get_body(("plain",)).get_content()
    lines = text.splitlines()
    assert "3 new mentions: 2 on Thu 3 Dec, 1 on Fri 4 Dec so far (Lisbon time)" in lines
    assert "2 more mentions were held back as likely not relevant: listed below, and in none of these numbers" in lines
    assert "Sentiment: positive 34% (1) · neutral 33% (1) · negative 33% (1)" in lines


def test_the_weekly_digest_counts_local_weeks_and_leaves_held_ones_out(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-11-23T04:30:00+00:00")  # Sun 22 Nov 23:30 EST: the week before
    counted(store, clock, "2026-11-23T05:30:00+00:00")  # Mon 23 Nov 00:30 EST
    counted(store, clock, "2026-11-30T04:30:00+00:00")  # Sun 29 Nov 23:30 EST
    counted(store, clock, "2026-11-30T05:30:00+00:00", held=True)  # Mon 30 Nov: the week after
    counted(store, clock, "2026-11-25T05:30:00+00:00", held=True)
    digest = build_weekly_digest(CONFIG, store, week_start=dt.date(2026, 11, 23), timezone="America/New_York")
    assert (digest.total, digest.before_total, digest.held_total) == (2, 1, 1)
    assert sum(day.total for day in digest.trend) == digest.total


def test_a_day_read_with_its_record_from_before_the_slots_keeps_both() -> None:
    record = digest_day_from("2026-12-03", {"D": {"n#total#all": 2, "n#group#brand": 2, "h#09#brand": 2},
                                            "D#0315": {"n#total#all": 1, "n#group#brand": 1}})
    assert record == DigestDay("2026-12-03", {"total": {"all": 3}, "group": {"brand": 3}}, [], [],
                               {"09": {"brand": 2}, "03": {"brand": 1}},
                               {"0315": {"total": {"all": 1}, "group": {"brand": 1}}})
    [before, on] = local_days([record], [dt.date(2026, 12, 2), dt.date(2026, 12, 3)], "America/New_York")
    assert (before.counts, on.counts) == ({"total": {"all": 1}, "group": {"brand": 1}},  # 22:15 EST on the 2nd
                                          {"total": {"all": 2}, "group": {"brand": 2}})  # the rest: 07:00 EST


def test_an_hours_groups_come_from_its_slots_or_from_the_record_kept_before_them() -> None:
    records = {"D": {"h#09#brand": 2, "h#10#brand": 5}, "D#0945": {"n#group#brand": 1, "n#group#industry": 3},
               "D#1000": {"n#group#brand": 7}}
    assert hour_groups("09", records) == {"brand": 3, "industry": 3}
    assert hour_groups("10", records) == {"brand": 12}
    assert hour_groups("11", records) == {}


def test_a_mention_held_by_a_cycle_after_midnight_utc_is_still_apart(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-03T23:59:00+00:00", held=True, held_on="2026-12-04")  # a resumed job held it
    counted(store, clock, "2026-12-03T20:00:00+00:00")
    digest = build_digest(CONFIG, store, now=at("2026-12-03T23:59:30+00:00"), timezone="UTC")
    assert (digest.total, digest.held_total, digest.trend[-1].total) == (1, 1, 1)


def test_a_network_whose_only_mention_is_held_back_gets_no_bar(store: MemoryStore, clock: FakeClock) -> None:
    counted(store, clock, "2026-12-04T01:00:00+00:00", network="reddit", held=True)
    counted(store, clock, "2026-12-04T02:00:00+00:00")
    digest = build_digest(CONFIG, store, now=at("2026-12-04T08:15:00+00:00"), timezone="Europe/Lisbon")
    assert [(bar.label, bar.count) for bar in digest.networks] == [("Hacker News", 1)]
    legacy = DigestDay("2026-12-03", {"network": {"hackernews": 2, "reddit": 1}},
                       slots={"0300": {"network": {"reddit": 1}}})  # 22:00 EST on the 2nd, 16:00 NZDT on the 3rd
    [day] = local_days([legacy], [dt.date(2026, 12, 3)], "America/New_York")  # noon UTC is 07:00 EST
    assert day.counts == {"network": {"hackernews": 2}}  # no Reddit bar of 0
    [other] = local_days([legacy], [dt.date(2026, 12, 3)], "Pacific/Auckland")  # noon UTC is the 4th there
    assert other.counts == {"network": {"reddit": 1}}

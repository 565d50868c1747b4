"""Who gets what: email for what is important enough, SMS for what is urgent, quiet hours."""

from __future__ import annotations

import datetime as dt

from chalicelib.alerts.router import plan_deliveries
from chalicelib.config import parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.triage import Triage

CONFIG = """\
business: {{name: Bean There Café}}
rules:
  - {{name: brand, group: brand, keywords: [Bean There]}}
  - {{name: complaints, group: brand, keywords: [refund], urgent: true}}
networks: {{hackernews: {{}}}}
recipients:
  - name: Maria
    email: maria@beanthere.example
    phone: "+351912345678"
    timezone: Europe/Lisbon
    quiet_hours: {{start: "22:00", end: "07:00"}}
alerts: {{from_address: alerts@beanthere.example, email_priority: {email_priority}}}
"""
NOON = dt.datetime(2026, 7, 1, 11, 0, tzinfo=dt.UTC)  # 12:00 in Lisbon (summer time)
NIGHT = dt.datetime(2026, 7, 1, 23, 0, tzinfo=dt.UTC)  # 00:00 in Lisbon


def stored(native_id: str, priority: int, urgent: bool = False) -> StoredMention:
    triage = Triage(0.0, "neutral", frozenset(), priority, (), False)
    mention = Mention("hackernews", native_id, "https://news.ycombinator.com/item?id=1", "Bean There", NOON)
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", urgent),), triage), "new", "now")


def plans(mentions: list[StoredMention], now: dt.datetime, email_priority: int = 0) -> list[tuple[str, list[str], str]]:
    config = parse_config(CONFIG.format(email_priority=email_priority))
    return [(p.channel, [m.item.mention.native_id for m in p.mentions], p.held or "")
            for p in plan_deliveries(config, mentions, now)]


def test_everything_is_emailed_by_default_urgent_and_higher_priority_first() -> None:
    assert plans([stored("1", 20), stored("2", 50), stored("3", 10, urgent=True)], NOON) == [
        ("email", ["3", "2", "1"], ""), ("sms", ["3"], "")]


def test_below_the_email_priority_mentions_wait_for_the_digest_unless_urgent() -> None:
    assert plans([stored("1", 20), stored("2", 50), stored("3", 10, urgent=True)], NOON, email_priority=40) == [
        ("email", ["3", "2"], ""), ("sms", ["3"], "")]
    assert plans([stored("1", 20)], NOON, email_priority=40) == []


def test_a_high_priority_makes_a_mention_urgent() -> None:
    assert plans([stored("1", 85)], NOON) == [("email", ["1"], ""), ("sms", ["1"], "")]


def test_quiet_hours_in_the_recipients_time_zone_hold_sms_but_not_the_most_urgent() -> None:
    assert plans([stored("1", 85)], NIGHT) == [("email", ["1"], ""), ("sms", ["1"], "quiet hours")]
    assert plans([stored("1", 96)], NIGHT) == [("email", ["1"], ""), ("sms", ["1"], "")]


def test_quiet_hours_follow_daylight_saving_time() -> None:
    winter_2230_utc = dt.datetime(2026, 1, 15, 22, 30, tzinfo=dt.UTC)  # 22:30 in Lisbon (UTC+0): quiet
    summer_2130_utc = dt.datetime(2026, 7, 15, 21, 30, tzinfo=dt.UTC)  # 22:30 in Lisbon (UTC+1): quiet
    summer_2030_utc = dt.datetime(2026, 7, 15, 20, 30, tzinfo=dt.UTC)  # 21:30 in Lisbon: not quiet
    assert plans([stored("1", 85)], winter_2230_utc)[1][2] == "quiet hours"
    assert plans([stored("1", 85)], summer_2130_utc)[1][2] == "quiet hours"
    assert plans([stored("1", 85)], summer_2030_utc)[1][2] == ""

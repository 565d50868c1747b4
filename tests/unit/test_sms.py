"""SMS text: one message, GSM-7 when possible, the link always whole."""

from __future__ import annotations

import datetime as dt

from chalicelib.alerts import AlertBundle, AlertItem
from chalicelib.alerts.sms import compose, fits_one_sms, gsm7_length
from chalicelib.config import Recipient
from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.store import StoredMention

LINK = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/api/s/Ab3dE5gH"


def bundle(text: str, total: int = 1) -> AlertBundle:
    mention = Mention("hackernews", "1", "https://news.ycombinator.com/item?id=1", text,
                      dt.datetime(2026, 11, 27, tzinfo=dt.UTC), kind="comment")
    stored = StoredMention(MatchedMention(mention, (RuleMatch("complaints", "brand", True),)), "new", "now")
    return AlertBundle(Recipient(name="Maria", phone="+351912345678"), (AlertItem(stored),), total, LINK)


def test_gsm7_length_counts_extended_characters_twice() -> None:
    assert gsm7_length("Café {ok}") == 11
    assert gsm7_length("emoji 😀") is None


def test_short_text_is_sent_whole() -> None:
    assert compose(bundle("Bean There was rude to me"), LINK) == (
        f'URGENT Hacker News: "Bean There was rude to me" {LINK}')


def test_long_gsm7_text_is_cut_to_160_characters_with_the_link_whole() -> None:
    text = compose(bundle("Bean There Café served me cold coffee and " * 10), LINK)
    assert text == f'URGENT Hacker News: "Bean There Café served me cold coffee and Bean There Café served..." {LINK}'
    assert gsm7_length(text) == 159  # one more character would cut inside a word's trailing space


def test_text_needing_ucs2_is_cut_to_70_characters() -> None:
    text = compose(bundle("Bean There 😡 " * 20), "https://x.example/s/Ab3dE5gH")
    assert gsm7_length(text) is None
    assert len(text.encode("utf-16-le")) // 2 <= 70 and fits_one_sms(text)
    assert text.endswith('..." https://x.example/s/Ab3dE5gH')


def test_more_mentions_are_counted() -> None:
    assert compose(bundle("rude staff", total=3), LINK) == f'URGENT Hacker News (+2 more): "rude staff" {LINK}'


def test_control_and_direction_characters_are_removed() -> None:
    assert compose(bundle("evil\u202etxt\u2067exe\nline"), LINK) == f'URGENT Hacker News: "evil txt exe line" {LINK}'


def test_the_last_sms_an_hourly_cap_allows_says_so() -> None:
    from dataclasses import replace

    capped = replace(bundle("rude staff", total=2), last_sms_this_hour=True)
    assert compose(capped, LINK) == (
        f'URGENT Hacker News (+1 more) [last SMS this hour; more by email]: "rude staff" {LINK}')


def test_the_only_link_in_the_sms_is_the_services_short_link() -> None:
    text = compose(bundle("Bean There refunds at https://evil.example/x?y=1, www.evil.example, "
                          "bean-there-refunds.example/claim, javascript:alert(1), help@evil.example"), LINK)
    assert text == (f'URGENT Hacker News: "Bean There refunds at [link] [link] [link] [link] [link]" {LINK}')


def test_words_with_dots_that_are_no_domain_stay() -> None:
    assert compose(bundle("Bean There v2.0 is rude... really. 3.5 stars"), LINK) == (
        f'URGENT Hacker News: "Bean There v2.0 is rude... really. 3.5 stars" {LINK}')

"""A review's stars, shown to the owner: "★☆☆☆☆" in the alert email and the digest line, "1/5 stars"
in the SMS (GSM-7: "★" would make it UCS-2 and halve the room); nothing for a mention without one."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.alerts import AlertBundle, AlertItem
from chalicelib.alerts import email as alert_email
from chalicelib.alerts.sms import compose as compose_sms
from chalicelib.alerts.sms import gsm7_length
from chalicelib.config import Recipient
from chalicelib.digest import _mention_view
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.text import stars

WHEN = dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.UTC)
LINK = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/api/s/Ab3dE5gH"


@pytest.mark.parametrize(("rating", "shown", "plain"), [(1, "★☆☆☆☆", "1/5 stars"), (3, "★★★☆☆", "3/5 stars"),
                                                        (5, "★★★★★", "5/5 stars"), (None, "", ""), (0, "", ""),
                                                        (6, "", ""), (True, "", "")])
def test_stars(rating: int | None, shown: str, plain: str) -> None:
    assert (stars(rating), stars(rating, plain=True)) == (shown, plain)


def stored(rating: int | None, network: str = "google_reviews") -> StoredMention:
    mention = Mention(network, "AbFvOq1@1", "https://business.google.com/reviews", "Cold coffee, rude staff.", WHEN,
                      author_name="Marta Nunes", rating=rating)
    return StoredMention(MatchedMention(mention, (RuleMatch("your Google reviews", "brand", True),)), "new", "now")


def test_the_alert_email_shows_the_stars_beside_the_network() -> None:
    bundle = AlertBundle(Recipient(name="Maria", email="maria@beanthere.example", timezone="Europe/Lisbon"),
                         (AlertItem(stored(1), {}, urgent=True),), 1)
    msg = alert_email.compose(bundle, business="Bean There Café", from_address="alerts@beanthere.example",
                              reply_to="maria@beanthere.example")
    text, html = (part.get_content() for part in msg.iter_parts())
    assert "[URGENT] Google reviews ★☆☆☆☆ · post by Marta Nunes" in text
    assert "Google reviews ★☆☆☆☆" in html


def test_the_sms_says_the_stars_in_gsm7() -> None:
    bundle = AlertBundle(Recipient(name="Maria", phone="+351912345678"), (AlertItem(stored(1)),), 1, LINK)
    text = compose_sms(bundle, LINK)
    assert text == f'URGENT Google reviews 1/5 stars: "Cold coffee, rude staff." {LINK}'
    assert gsm7_length(text) is not None


def test_the_digest_line_shows_the_stars_and_a_mention_without_a_rating_none() -> None:
    assert _mention_view(stored(2), "Europe/Lisbon")["network"] == "Google reviews ★★☆☆☆"
    assert _mention_view(stored(None, "hackernews"), "Europe/Lisbon")["network"] == "Hacker News"

"""The instant email: multipart, escaped, highlighted, with its action links."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.alerts import AlertBundle, AlertItem
from chalicelib.alerts.email import compose, more_line
from chalicelib.config import Recipient
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.text import safe_url
from chalicelib.triage import Triage

WHEN = dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.UTC)
MARIA = Recipient(name="Maria", email="maria@beanthere.example", timezone="Europe/Lisbon")


def item(text: str, *, title: str = "", author: str = "ana", urgent: bool = False, spans=((0, 10),),
         url: str = "https://news.ycombinator.com/item?id=1", triage: Triage | None = None) -> AlertItem:
    mention = Mention("hackernews", "1", url, text, WHEN, title=title, author_name=author, author_handle=author,
                      reach=12)
    matched = MatchedMention(mention, (RuleMatch("brand", "brand", urgent, tuple(spans)),), triage)
    return AlertItem(StoredMention(matched, "new", "now"), {"handled": "https://x.example/a/TOKEN"}, urgent=urgent)


def message(*items: AlertItem, total: int | None = None):
    bundle = AlertBundle(MARIA, tuple(items), total if total is not None else len(items))
    return compose(bundle, business="Bean There Café", from_address="alerts@beanthere.example",
                   reply_to="maria@beanthere.example")


def test_message_is_multipart_alternative_with_text_and_html() -> None:
    msg = message(item("Bean There has the best cold brew"))
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["From"] == "Bean There Café alerts <alerts@beanthere.example>"
    assert msg["To"] == "Maria <maria@beanthere.example>"
    assert msg["Reply-To"] == "maria@beanthere.example"
    assert msg["Subject"] == "New mention on Hacker News: Bean There has the best cold brew"


def test_matched_words_are_highlighted_and_everything_from_the_network_is_escaped() -> None:
    hostile = 'Bean There <script>alert(1)</script> "quoted" & <b>bold</b>'
    html = message(item(hostile, author='<img src=x onerror="alert(2)">')).get_body(("html",)).get_content()
    assert '<mark style="background:#fde68a;color:#18181b;">Bean There</mark>' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html
    assert "<script" not in html and "onerror=\"" not in html


def test_only_http_links_reach_an_href() -> None:
    html = message(item("Bean There", url="javascript:alert(1)")).get_body(("html",)).get_content()
    assert "javascript:" not in html
    assert safe_url("https://news.ycombinator.com/item?id=1") == "https://news.ycombinator.com/item?id=1"
    assert safe_url('https://x.example/"onmouseover=alert(1)') == ""


def test_an_unsafe_permalink_leaves_out_the_open_link_but_keeps_the_actions() -> None:
    html = message(item("Bean There", url="javascript:alert(1)")).get_body(("html",)).get_content()
    assert "Open on Hacker News" not in html and 'href=""' not in html
    assert '<a href="https://x.example/a/TOKEN" style="color:#2563eb;white-space:nowrap;">Mark as handled</a>' in html


def test_direction_overrides_in_the_text_are_removed_and_the_highlight_stays_on_the_words() -> None:
    hostile = item("Bean There \u202egnp.exe\u2066 fine\u2069", spans=((0, 10),))
    html = message(hostile).get_body(("html",)).get_content()
    assert "\u202e" not in html and "\u2066" not in html and "\u2069" not in html
    assert '<mark style="background:#fde68a;color:#18181b;">Bean There</mark> gnp.exe fine' in html


def test_a_long_subject_with_accents_arrives_exactly_as_written() -> None:
    import email
    import email.policy

    for padding in range(0, 80, 7):  # wherever the fold would fall
        title = "x" * padding + " Bean There Café mentions é and enough words to pass the usual fold"
        sent = message(item(title, title=title))
        received = email.message_from_bytes(sent.as_bytes(), policy=email.policy.default)
        assert received["Subject"] == sent["Subject"], padding


def test_text_part_lists_the_action_links() -> None:
    text = message(item("Bean There rocks")).get_body(("plain",)).get_content()
    assert "Mark as handled: https://x.example/a/TOKEN" in text
    assert "Open: https://news.ycombinator.com/item?id=1" in text
    assert "Hacker News · post by ana · 12 points · 27 Nov 14:30 WET" in text


def test_triage_reasons_and_badges_are_shown() -> None:
    triage = Triage(sentiment=-0.6, sentiment_label="negative", intents=frozenset({"complaint"}), priority=85,
                    reasons=("complains", "very negative"), opportunity=True)
    msg = message(item("Bean There was rude", urgent=True, triage=triage))
    text = msg.get_body(("plain",)).get_content()
    assert "[URGENT] [ANSWER] Hacker News" in text
    assert "Priority 85 · complains · very negative" in text  # "negative" said once
    assert msg["Subject"] == "URGENT: New mention on Hacker News: Bean There was rude"


def test_a_bundle_says_how_many_more_there_are() -> None:
    msg = message(item("Bean There one"), item("Bean There two"), total=7)
    assert msg["Subject"] == "7 new mentions of Bean There Café"
    more = ("…and 5 more mentions in this period, not listed in this email. Your next daily digest counts them all, "
            "and lists the opportunities to answer among them, most important first.")
    assert more in msg.get_body(("plain",)).get_content().splitlines()
    assert f">{more}</td>" in msg.get_body(("html",)).get_content()


@pytest.mark.parametrize(("recipient", "hidden", "said"), [
    (MARIA, 1, "…and 1 more mention in this period, not listed in this email. Your next daily digest counts it, "
               "and lists it if it is an opportunity to answer."),
    (MARIA.model_copy(update={"daily_digest": False, "weekly_digest": "monday"}), 3,
     "…and 3 more mentions in this period, not listed in this email. Your weekly digest on Monday counts them all, "
     "and lists the opportunities to answer among them, most important first."),
    (MARIA.model_copy(update={"daily_digest": False}), 2,
     "…and 2 more mentions in this period, not listed in this email. You get no digest (daily_digest is off in "
     "listen.yaml), so no email lists them."),
])
def test_the_more_line_says_exactly_how_many_are_left_out_and_where_they_are(recipient: Recipient, hidden: int,
                                                                              said: str) -> None:
    assert more_line(AlertBundle(recipient, (item("Bean There one"),), 1 + hidden)) == said
    assert more_line(AlertBundle(recipient, (item("Bean There one"),), 1)) == ""


def test_header_injection_and_direction_marks_are_neutralized_in_the_subject() -> None:
    msg = message(item("Bean There\r\nBcc: victim@example.com \u202egnp.exe"))
    assert msg["Subject"] == "New mention on Hacker News: Bean There Bcc: victim@example.com gnp.exe"
    assert msg["Bcc"] is None


def encoded_words(decoded: str) -> dict[str, str]:
    """``decoded`` as an RFC 2047 encoded word in each encoding (B: base64, Q: quoted-printable)."""
    import base64

    q = "".join(c if c.isalnum() else f"={ord(c):02X}" for c in decoded.replace(" ", "_")).replace("=5F", "_")
    return {"B": f"=?UTF-8?B?{base64.b64encode(decoded.encode()).decode()}?=", "Q": f"=?UTF-8?Q?{q}?="}


INJECTED = "\r\nBcc: victim@example.com\r\nReply-To: thief@example.com"
SENT_HEADERS = ["subject", "from", "to", "reply-to", "message-id", "date", "mime-version", "content-type"]


@pytest.mark.parametrize("encoding", ["B", "Q"])
def test_an_encoded_word_in_a_title_adds_no_header_to_the_bytes_sent(encoding: str) -> None:
    import email
    import email.policy

    from chalicelib.alerts.email import message_bytes

    word = encoded_words(INJECTED)[encoding]
    sent = message(item(f"Bean There {word} rocks", title=f"Bean There {word}"))
    received = email.message_from_bytes(message_bytes(sent), policy=email.policy.default)
    assert [name.lower() for name in received.keys()] == SENT_HEADERS
    assert received["Subject"] == sent["Subject"]
    assert received["Subject"].startswith(f"New mention on Hacker News: Bean There = ?UTF-8?{encoding}?")
    assert received["Reply-To"] == "maria@beanthere.example"


@pytest.mark.parametrize("encoding", ["B", "Q"])
def test_an_encoded_word_in_the_business_name_adds_no_header(encoding: str) -> None:
    import email
    import email.policy

    from chalicelib.alerts.email import message_bytes

    word = encoded_words(INJECTED)[encoding]
    bundle = AlertBundle(MARIA, (item("Bean There one"), item("Bean There two")), 2)
    sent = compose(bundle, business=f"Bean {word}", from_address="alerts@beanthere.example", reply_to=None)
    received = email.message_from_bytes(message_bytes(sent), policy=email.policy.default)
    assert [name.lower() for name in received.keys()] == [h for h in SENT_HEADERS if h != "reply-to"]
    assert received["From"].addresses[0].addr_spec == "alerts@beanthere.example"
    assert received["From"].addresses[0].display_name.startswith("Bean = ?UTF-8?")


def test_a_header_that_would_change_when_written_is_refused_not_sent() -> None:
    from email.message import EmailMessage

    from chalicelib.alerts import DeliveryFailed
    from chalicelib.alerts.email import message_bytes

    raw = EmailMessage()
    raw["Subject"] = "hi " + encoded_words(INJECTED)["B"]  # set without header_text: decoded by this Python
    raw.set_content("x")
    try:
        data = raw.as_bytes()
    except Exception:  # the error class differs across versions
        pytest.skip("this Python has the CVE-2024-6923 fix: it refuses to write such a header itself")
    if b"\nBcc:" not in data:
        pytest.skip("this Python writes the header as set: nothing to refuse")
    with pytest.raises(DeliveryFailed, match="headers changed when written") as refused:
        message_bytes(raw)
    assert refused.value.permanent


def test_header_text_neutralizes_every_encoded_word_opening() -> None:
    from chalicelib.alerts.email import header_text

    assert header_text("a=?b =?=?c\r\nd\u202ee") == "a= ?b = ?= ?c d e"


@pytest.mark.parametrize("business", ['Bean "There" Café, Lda.', "Café (Lisbon) <b>", "Ação; Café: 2.0 @home"])
def test_a_business_name_with_quotes_brackets_or_commas_and_accents_is_sent_whole(business: str) -> None:
    import email
    import email.policy

    from chalicelib.alerts.email import message_bytes

    bundle = AlertBundle(MARIA, (item("Bean There one"), item("Bean There two")), 2)
    sent = compose(bundle, business=business, from_address="alerts@beanthere.example", reply_to=None)
    received = email.message_from_bytes(message_bytes(sent), policy=email.policy.default)
    (sender,) = received["From"].addresses
    assert sender.addr_spec == "alerts@beanthere.example"
    assert sender.display_name == " ".join(
        "".join(" " if c in '()<>[]:;@\\,."' else c for c in f"{business} alerts").split())


def test_the_text_part_carries_no_control_character_from_the_network() -> None:
    text = message(item("Bean There \x1b[31mred\x1b[0m \x07bell \x85next \u202egnp", title="Bean \x9bThere")) \
        .get_body(("plain",)).get_content()
    assert "Bean There [31mred[0m bell next gnp" in text
    assert "Bean There" in text and not any(c in text for c in "\x1b\x07\x85\x9b\u202e")

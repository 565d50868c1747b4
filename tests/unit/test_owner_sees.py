"""What the owner sees is true and in words: greetings by name, reach in the network's unit
(said one way everywhere), a failed reply with what to do, plain notices."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.alerts import AlertBundle, AlertItem
from chalicelib.alerts.email import compose
from chalicelib.config import ListenConfig, Recipient, parse_config
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.networks import reach_label
from chalicelib.triage import Triage
from chalicelib.triage.priority import priority
from chalicelib.triage.sentiment import Sentiment
from chalicelib.web.composer import draft
from tests import builders

WHEN = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
MARIA = Recipient(name="Maria", email="maria@beanthere.example", timezone="Europe/Lisbon")


def mention(network: str = "stackexchange", *, handle: str = "4411", name: str = "Jörg Ana",
            reach: int | None = 2310, text: str = "Where can I buy Bean There beans?") -> Mention:
    return Mention(network, "coffee/1", "https://coffee.stackexchange.com/questions/1", text, WHEN,
                   title="Beans", author_handle=handle, author_name=name, reach=reach,
                   thread={"site": "coffee", "question_id": "1"})


def stored(m: Mention, intents: frozenset[str] = frozenset({"question"}), *, sentiment: str = "neutral",
           reasons: tuple[str, ...] = ()) -> StoredMention:
    triage = Triage(0.0, sentiment, intents, 50, reasons, False)  # type: ignore[arg-type]
    return StoredMention(MatchedMention(m, (RuleMatch("brand", "brand", False, ((0, 5),)),), triage), "new", "x")


@pytest.fixture(scope="module")
def config() -> ListenConfig:
    return builders.config()


# 1. The reply draft greets by name, never by id.

def test_the_draft_greets_a_stack_exchange_author_by_name_not_by_user_id(config: ListenConfig) -> None:
    assert draft(stored(mention()), config) == "Hi Jörg Ana, happy to help with that: "


@pytest.mark.parametrize(("intents", "expected"), [
    (frozenset({"question"}), "Hi, happy to help with that: "),
    (frozenset({"praise"}), "Thank you so much! It means a lot to the whole Bean There Café team."),
    (frozenset(), "Hi, thanks for mentioning Bean There Café!"),
])
def test_without_a_display_name_the_draft_greets_without_a_name(config: ListenConfig, intents: frozenset[str],
                                                                 expected: str) -> None:
    assert draft(stored(mention(name=""), intents), config) == expected
    assert draft(stored(mention(name="did:plc:rui7coffee3k"), intents), config) == expected  # an id is no name
    assert draft(stored(mention(name="[deleted]"), intents), config) == expected


# 4. Reach labels per network from one place.

@pytest.mark.parametrize(("network", "reach", "label"), [
    ("stackexchange", 2310, "2.3k reputation"),
    ("stackexchange", 1, "1 reputation"),
    ("mastodon", 1, "1 follower"),
    ("mastodon", 2, "2 followers"),
    ("hackernews", 1, "1 point"),
    ("reddit", 12_000, "12k points"),
    ("bluesky", 3, "3 likes"),
    ("devto", 1, "1 reaction"),
])
def test_reach_labels(network: str, reach: int, label: str) -> None:
    assert reach_label(network, reach) == label


def test_the_email_and_the_priority_reason_say_the_reach_the_same_way() -> None:
    m = mention()
    reasons = priority(m, [], intents=frozenset(), sentiment=Sentiment(0.0, "neutral"), vip=(), now=WHEN).reasons
    assert "2.3k reputation" in reasons
    bundle = AlertBundle(MARIA, (AlertItem(stored(m)),), 1)
    message = compose(bundle, business="Bean There Café", from_address="alerts@beanthere.example", reply_to=None)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "by Jörg Ana · 2.3k reputation · " in text
    assert " · 2.3k reputation · " in html
    assert "followers" not in text + html and "2310" not in text + html


# 2. A failed reply says what to do, in the owner's words.

def replier(**options: object):
    from chalicelib.networks.stackexchange.replier import StackExchangeReplier, StackExchangeReplyOptions
    from chalicelib.sources.http import HttpClient

    class State:
        def __init__(self) -> None:
            self.kept: dict[tuple[str, str], object] = {}

        def get_state(self, network: str, name: str) -> object:
            return self.kept.get((network, name))

        def put_state(self, network: str, name: str, value: object) -> None:
            self.kept[(network, name)] = value

    def secrets(name: str) -> str:
        raise LookupError(name)

    return StackExchangeReplier(StackExchangeReplyOptions(**options), http=HttpClient("stackexchange"),  # type: ignore[arg-type]
                                secrets=secrets, state=State())


@pytest.mark.parametrize(("options", "said"), [
    ({}, "Stack Exchange replies need the Stack Apps key: name the SSM parameter that holds it under "
         "networks.stackexchange in listen.yaml, then run `make secrets`, then send the reply again."),
    ({"key_parameter": "/social-listening/se-key"},
     "Stack Exchange replies need the Stack Apps key: run `make secrets`, then send the reply again."),
])
def test_a_reply_without_its_key_says_what_to_do_in_words(options: dict[str, object], said: str) -> None:
    from chalicelib.actions.reply import owner_words
    from chalicelib.replies import ReplyCredentialsError

    with pytest.raises(ReplyCredentialsError) as err:
        replier(**options).post(mention(), "Thanks, we ship beans to Lisbon too!", idempotency_key="key-12345678")
    assert owner_words(err.value) == said
    assert "SSM parameter" not in said.replace("the SSM parameter that holds it", "")


@pytest.mark.parametrize(("error", "said"), [
    ("ReplyRateLimited", "Stack Exchange asked us to slow down; nothing was posted. Send the reply again in 30 "
                         "seconds."),
    ("ReplyRefused", "Stack Exchange refused the reply: the thread is locked."),
    ("ReplyUnavailable", "Stack Exchange is failing right now (the thread is locked). Send the reply again in a "
                         "few minutes."),
    ("ReplyCredentialsError", "Stack Exchange did not accept our credentials for replying (the thread is locked). "
                              "Put a new one in its SSM parameter, then send the reply again."),
])
def test_each_failed_reply_names_the_network_as_people_know_it(error: str, said: str) -> None:
    import chalicelib.replies as replies
    from chalicelib.actions.reply import owner_words

    cls = getattr(replies, error)
    err = cls("stackexchange", "the thread is locked", 30.0) if error == "ReplyRateLimited" else cls(
        "stackexchange", "the thread is locked")
    assert owner_words(err) == said


# 5. GitHub Markdown read as text.

@pytest.mark.parametrize(("markdown", "text"), [
    ("**Bean There** is *great*: see [the shop](https://beanthere.example) and `cold brew`.",
     "Bean There is great: see the shop and cold brew."),
    ("# Refund?\n\nI was charged\ntwice.", "Refund?\n\nI was charged twice."),
    ("- one\n- two\n\n1. first\n2. second", "- one\n- two\n\n1. first\n2. second"),
    ("```sh\ncurl beanthere.example\n  --fail\n```", "curl beanthere.example\n  --fail"),
    ("| drink | price |\n|---|---|\n| flat white | 3 |", "drink | price\nflat white | 3"),
    ("~~old~~ new ![Bean There logo](logo.png) <b>bold</b> <script>alert(1)</script>&amp; &mdash;",
     "old new Bean There logo bold & —"),
    ("<details><p>hidden</p></details>\n\n> quoted", "hidden\n\nquoted"),
    ("   ", ""),
])
def test_github_markdown_is_read_as_the_page_shows_it(markdown: str, text: str) -> None:
    from chalicelib.text import markdown_to_text

    assert markdown_to_text(markdown) == text


# 5. No repeated triage words; every email has a Date; notices in plain words.

def test_the_triage_line_says_negative_once() -> None:
    bundle = AlertBundle(MARIA, (AlertItem(stored(mention(), sentiment="negative",
                                                  reasons=("complains", "very negative"))),), 1)
    text = compose(bundle, business="Bean There Café", from_address="alerts@beanthere.example",
                   reply_to=None).get_body(("plain",)).get_content()
    assert "Priority 50 · complains · very negative\n" in text
    bundle = AlertBundle(MARIA, (AlertItem(stored(mention(), sentiment="negative", reasons=("complains",))),), 1)
    text = compose(bundle, business="Bean There Café", from_address="alerts@beanthere.example",
                   reply_to=None).get_body(("plain",)).get_content()
    assert "Priority 50 · negative · complains\n" in text


def test_every_email_the_outbox_saves_has_a_date(tmp_path) -> None:
    import email
    import email.policy
    import email.utils

    from chalicelib.alerts.email import message_bytes
    from chalicelib.alerts.notices import compose_health_notice, compose_spike_notice
    from offline.demo import write_outbox

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)  # before the emails are composed (Date: whole seconds)
    alert = compose(AlertBundle(MARIA, (AlertItem(stored(mention())),), 1), business="Bean There Café",
                    from_address="alerts@beanthere.example", reply_to=None)
    notice = compose_health_notice(business="Bean There Café", from_address="alerts@beanthere.example",
                                   to_name="Maria", to_address="maria@beanthere.example", network="github",
                                   down=True, error="github: server error (HTTP 503)", failures=3)
    spike = compose_spike_notice(business="Bean There Café", from_address="alerts@beanthere.example",
                                 to_name="Maria", to_address="maria@beanthere.example", group="brand", count=40,
                                 usual=3)

    class Stack:  # what write_outbox reads: the raw emails SES accepted, parsed back
        def sent_emails(self) -> list[object]:
            return [email.message_from_bytes(message_bytes(m), policy=email.policy.default)
                    for m in (alert, notice, spike)]

        def sent_sms(self) -> list[tuple[str, str]]:
            return []

    paths, _ = write_outbox(Stack(), tmp_path / "outbox")  # type: ignore[arg-type]
    assert len(paths) == 3
    for path in paths:
        saved = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert saved["Date"] is not None, path.name
        assert before <= email.utils.parsedate_to_datetime(str(saved["Date"])) <= dt.datetime.now(dt.UTC)


BERLIN_10_14 = dt.datetime(2026, 12, 4, 9, 14, tzinfo=dt.UTC).timestamp()  # 10:14 in Berlin (CET)


@pytest.mark.parametrize(("cause", "retry_in", "said"), [
    ("RateLimited", 60, "Stack Exchange asked us to slow down; we try again at 10:15 (CET)."),
    ("RateLimited", 86_400, "Stack Exchange asked us to slow down; we try again at Sat 05 Dec 10:14 (CET)."),
    ("CredentialsError", 900, "Stack Exchange did not accept our credentials, or one is missing: run `make secrets` "
                              "to add a missing one, or put a new token in its SSM parameter; we try again at "
                              "10:29 (CET)."),
    ("Unavailable", 0, "Stack Exchange did not answer, or answered with a server error; we try again every minute."),
    ("BadPayload", 0, "Stack Exchange answered with something we could not read (it may have changed its API); we "
                      "try again every minute."),
])
def test_a_failing_network_is_told_in_plain_words_with_when_we_try_again(cause: str, retry_in: float,
                                                                          said: str) -> None:
    import chalicelib.sources.base as base
    from chalicelib.alerts.notices import compose_health_notice

    err = getattr(base, cause)("stackexchange", "throttle violation (error 502)")
    notice = compose_health_notice(business="Bean There Café", from_address="alerts@beanthere.example",
                                   to_name="Maria", to_address="maria@beanthere.example", network="stackexchange",
                                   down=True, error=str(err), failures=3, cause=err,
                                   retry_at=BERLIN_10_14 + retry_in if retry_in else None,
                                   timezone="Europe/Berlin", now=BERLIN_10_14)
    body = notice.get_content()
    assert body.startswith(said + "\n\n")
    assert "What it said:\n\n    throttle violation (error 502)\n" in body
    assert "stackexchange:" not in body


# 3. "Not relevant" offers only exclusions that would have removed no other mention alerted this week.

def hn(native_id: str, text: str) -> Mention:
    return Mention("hackernews", native_id, f"https://news.ycombinator.com/item?id={native_id}", text, WHEN)


def test_an_exclusion_that_would_drop_other_mentions_of_the_week_is_not_offered() -> None:
    from chalicelib.noise import Suggestion, screened_exclusions, suggest_exclusions

    marked = hn("1", "Bean There opens a concert venue in Copenhagen, properly")
    assert suggest_exclusions(marked, '"Bean There"') == ["concert", "copenhagen", "properly"]  # unscreened
    week = [
        (marked, "not_relevant"),  # the mention itself: not counted
        (hn("2", "Bean There or the Copenhagen roasters: which is better?"), "new"),
        (hn("3", "Bean There makes coffee properly"), "handled"),
        (hn("4", "Bean There concert tickets for sale"), "not_relevant"),
        (hn("5", "Another Bean There concert next week"), "not_relevant"),
        (hn("6", "Bean There venue is lovely"), "snoozed"),
    ]
    assert screened_exclusions(marked, '"Bean There"', week) == [Suggestion("concert", 2)]
    assert screened_exclusions(marked, '"Bean There"', []) == [
        Suggestion("concert", 0), Suggestion("copenhagen", 0), Suggestion("properly", 0)]


def test_the_not_relevant_buttons_say_how_many_past_mentions_each_would_have_removed() -> None:
    from chalicelib.web.views import removed as _removed

    assert _removed(0) == "would have removed no other mention this week"
    assert _removed(1) == "would have removed 1 other mention this week, it marked not relevant"
    assert _removed(3) == "would have removed 3 other mentions this week, each marked not relevant"


def test_an_owners_draft_that_starts_with_the_name_reads_well_without_one() -> None:
    from tests.unit.test_reply_drafts import with_drafts

    owned = parse_config(with_drafts('    default: "{author}, thanks for mentioning {business}!"\n'
                                     '    praise: "Obrigada {author}! {{{{author}}}} stays"\n'))
    assert draft(stored(mention(name=""), frozenset()), owned) == "thanks for mentioning Bean There Café!"
    assert draft(stored(mention(name=""), frozenset({"praise"})), owned) == "Obrigada! {{author}} stays"
    assert draft(stored(mention(), frozenset()), owned) == "Jörg Ana, thanks for mentioning Bean There Café!"

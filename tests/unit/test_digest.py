"""The daily digest: its numbers, its bars, its question topics, its escaping, and when it is sent."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from email.message import EmailMessage

import pytest

from chalicelib.alerts import DeliveryFailed
from chalicelib.config import parse_config
from chalicelib.digest import (
    Bar,
    Digest,
    DigestSender,
    bars,
    build_digest,
    compose_digest,
    digest_page,
    group_questions,
    percentages,
    render_html,
    topic_words,
    zone_name,
)
from chalicelib.links import ActionToken, TokenSigner
from chalicelib.model import DigestDay, MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.triage import Triage

CONFIG = parse_config("""\
business:
  name: Bean There Café
rules:
  - {name: brand, group: brand, keywords: ["Bean There"]}
  - {name: cold brew, group: product, keywords: ["cold brew"]}
  - {name: Fabrica, group: competitor, keywords: ["Fábrica Coffee"]}
  - {name: Copenhagen, group: competitor, keywords: ["Copenhagen Coffee Lab"]}
  - {name: coffee, group: industry, keywords: ["coffee"]}
networks:
  hackernews: {}
recipients:
  - {name: Maria, email: maria@beanthere.example, timezone: Europe/Lisbon}
  - {name: Ken, email: ken@beanthere.example, timezone: Asia/Tokyo}
  - {name: Rui, phone: "+351912345678", timezone: Europe/Lisbon}
alerts:
  from_address: alerts@beanthere.example
  action_base_url: https://listen.example/api
  digest_hour: 8
""")
NOW = dt.datetime(2026, 11, 27, 8, 15, tzinfo=dt.UTC)  # 08:15 in Lisbon, 17:15 in Tokyo
SIGNING_KEY = b"unit-test-signing-key-0123456789abcdef"


def stored(native_id: str, text: str, *, group: str = "brand", rule: str = "brand", priority: int = 50,
           intents: Sequence[str] = (), state: str = "new", title: str = "", url: str = "",
           author: str = "ana", minutes_ago: int = 60, term: str = "") -> StoredMention:
    searchable = f"{title}\n\n{text}" if title else text
    start = searchable.find(term) if term else -1
    spans = ((start, start + len(term)),) if start >= 0 else ()
    mention = Mention("hackernews", native_id, url or f"https://news.ycombinator.com/item?id={native_id}", text,
                      NOW - dt.timedelta(minutes=minutes_ago), title=title, author_name=author)
    triage = Triage(0.0, "neutral", frozenset(intents), priority, ("asks a question",) if intents else (),
                    opportunity=True)
    return StoredMention(MatchedMention(mention, (RuleMatch(rule, group, False, spans),), triage),  # type: ignore[arg-type]
                         state, mention.created_at.isoformat())


class FakeStore:
    """The store's digest reads and delivery records, in memory."""

    def __init__(self, days: Sequence[DigestDay] = (), mentions: Sequence[StoredMention] = ()) -> None:
        self.days = {d.day: d for d in days}
        self.mentions = {m.key: m for m in mentions}
        self.deliveries: dict[tuple[str, str, str], dict[str, object]] = {}
        self.suppressed_addresses: dict[str, str] = {}
        self.held: dict[str, dict[str, str]] = {}  # day -> mention key -> why the feedback model held it back

    def held_back(self, days: Sequence[str]) -> dict[str, str]:
        return {key: reason for day in days for key, reason in self.held.get(day, {}).items()}

    def digest_days(self, days: Sequence[str], *, keys: object = True) -> dict[str, DigestDay]:
        return {day: self.days.get(day, DigestDay(day)) for day in days}

    def get_mentions(self, keys: Sequence[str]) -> dict[str, StoredMention]:
        return {key: self.mentions[key] for key in keys if key in self.mentions}

    def claim_delivery(self, job_id: str, recipient: str, channel: str, mention_keys: Sequence[str]) -> bool:
        if (job_id, recipient, channel) in self.deliveries:
            return False
        self.deliveries[(job_id, recipient, channel)] = {"status": "sending", "keys": list(mention_keys)}
        return True

    def finish_delivery(self, job_id: str, recipient: str, channel: str, status: str, *,
                        message_id: str | None = None, detail: str | None = None) -> None:
        self.deliveries[(job_id, recipient, channel)].update(status=status, message_id=message_id, detail=detail)

    def retry_delivery_later(self, job_id: str, recipient: str, channel: str, *, attempts: int, retry_at: float,
                             detail: str) -> bool:
        self.deliveries[(job_id, recipient, channel)].update(status="retry", attempts=attempts, retry_at=retry_at,
                                                             detail=detail)
        return True

    def due_retries(self) -> list:
        return []  # retries are the store's (tests/integration/test_faults.py)

    def undelivered(self, since: float) -> list:
        return []

    def suppressed(self) -> dict[str, str]:
        return self.suppressed_addresses


class FakeMailer:
    def __init__(self, failure: DeliveryFailed | None = None) -> None:
        self.sent: list[tuple[EmailMessage, str]] = []
        self.failure = failure

    def send_message(self, message: EmailMessage, to: str) -> str:
        if self.failure:
            raise self.failure
        self.sent.append((message, to))
        return f"msg-{len(self.sent)}"


def day(name: str, **counts: dict[str, int]) -> DigestDay:
    return DigestDay(name, {dimension: dict(values) for dimension, values in counts.items()})


# ---------------------------------------------------------------- numbers and bars


def test_percentages_add_up_to_exactly_100_by_largest_remainder() -> None:
    assert percentages([1, 1, 1]) == [34, 33, 33]
    assert percentages([2, 1]) == [67, 33]
    assert percentages([1, 2, 3, 4]) == [10, 20, 30, 40]
    assert percentages([1, 5, 1]) == [14, 72, 14]
    assert percentages([0, 0]) == [0, 0]


def test_the_largest_count_fills_the_chart_and_a_small_one_still_shows() -> None:
    assert [b.width for b in bars([("a", 8), ("b", 3), ("c", 0), ("d", 1)])] == [100, 37, 0, 12]
    assert [b.width for b in bars([("a", 1000), ("b", 1)])] == [100, 1]
    assert bars([]) == ()


def test_share_of_voice_sets_the_brand_group_against_each_competitor_rule_over_two_days() -> None:
    store = FakeStore([
        day("2026-11-26", total={"all": 3}, group={"brand": 2, "competitor": 1}, rule={"brand": 2, "Fabrica": 1}),
        day("2026-11-27", total={"all": 7}, group={"brand": 4, "competitor": 3},
            rule={"brand": 4, "Fabrica": 2, "Copenhagen": 1}),
        day("2026-11-25", group={"competitor": 50}, rule={"Copenhagen": 50}),  # before the headline's two days
    ])
    digest = build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon")
    assert digest.share_of_voice == (Bar("Bean There Café", 6, 60), Bar("Fabrica", 3, 30), Bar("Copenhagen", 1, 10))


def test_headline_counts_yesterday_and_today_and_the_trend_the_last_seven_days_stacked_by_group() -> None:
    store = FakeStore([
        day("2026-11-20", total={"all": 99}, group={"brand": 99}),  # eight days ago: outside the trend
        day("2026-11-21", total={"all": 2}, group={"brand": 1, "industry": 1}),
        day("2026-11-26", total={"all": 4}, group={"brand": 3, "product": 1}, network={"hackernews": 4},
            sentiment={"positive": 1, "neutral": 2, "negative": 1}),
        day("2026-11-27", total={"all": 6}, group={"brand": 2, "competitor": 1, "industry": 4},
            network={"hackernews": 5, "reddit": 1}, sentiment={"positive": 4, "neutral": 2}),
    ])
    digest = build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon")
    assert digest.days == (dt.date(2026, 11, 26), dt.date(2026, 11, 27))
    assert digest.total == 10
    assert digest.groups == (Bar("brand", 5, 100), Bar("product", 1, 20), Bar("competitor", 1, 20),
                             Bar("industry", 4, 80))
    assert digest.sentiment == (Bar("positive", 5, 50), Bar("neutral", 4, 40), Bar("negative", 1, 10))
    assert digest.networks == (Bar("Hacker News", 9, 100), Bar("Reddit", 1, 11))
    assert [(d.day.isoformat(), d.total) for d in digest.trend] == [
        ("2026-11-21", 2), ("2026-11-22", 0), ("2026-11-23", 0), ("2026-11-24", 0), ("2026-11-25", 0),
        ("2026-11-26", 4), ("2026-11-27", 6)]
    # the busiest day (7 group counts) fills the chart; each bar ends with its empty rest
    assert [(s.label, s.width) for s in digest.trend[-1].segments] == [
        ("brand", 29), ("product", 0), ("competitor", 14), ("industry", 57), ("", 0)]
    assert [(s.label, s.width) for s in digest.trend[0].segments] == [
        ("brand", 14), ("product", 0), ("competitor", 0), ("industry", 14), ("", 72)]
    assert [s.width for s in digest.trend[1].segments] == [0, 0, 0, 0, 100]


def test_top_opportunities_are_the_ten_highest_priority_with_how_many_are_still_open() -> None:
    mentions = [stored(f"o{i}", f"Bean There opportunity {i}", priority=40 + i,
                       state="handled" if i % 4 == 0 else "new") for i in range(12)]
    mentions.append(stored("ignored", "Bean There, not relevant", priority=99, state="not_relevant"))
    store = FakeStore([DigestDay("2026-11-26", {"total": {"all": 5}}, [m.key for m in mentions[:5]]),
                       DigestDay("2026-11-27", {"total": {"all": 8}}, [m.key for m in mentions[5:]])], mentions)
    digest = build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon")
    assert [m.key for m in digest.opportunities] == [f"hackernews#o{i}" for i in range(11, 1, -1)]
    assert (digest.open_opportunities, digest.all_opportunities) == (9, 12)  # o0, o4, o8 handled


def test_industry_questions_are_grouped_by_the_content_words_they_share() -> None:
    questions = [
        stored("q1", "Which burr grinder should I buy for espresso coffee at home?", group="industry",
               rule="coffee", priority=70, intents=["question"], term="coffee"),
        stored("q2", "Is a burr grinder worth it for pour over coffee?", group="industry", rule="coffee",
               priority=60, intents=["question"], term="coffee"),
        stored("q3", "Does oat milk foam well in a flat white coffee?", group="industry", rule="coffee",
               priority=65, intents=["question"], term="coffee"),
        stored("q4", "Any tips to foam oat milk for coffee?", group="industry", rule="coffee", priority=20,
               intents=["question"], term="coffee"),
        stored("q5", "Espresso grinder or burr grinder, which coffee?", group="industry", rule="coffee",
               priority=10, intents=["question"], term="coffee"),
        stored("q6", "How long does roasted coffee keep its aroma?", group="industry", rule="coffee",
               priority=90, intents=["question"], term="coffee"),
        stored("b1", "Is Bean There open on Sundays, grinder burr question?", intents=["question"], priority=99),
    ]
    assert topic_words(questions[0]) == frozenset({"burr", "grinder", "espresso", "home"})
    store = FakeStore([DigestDay("2026-11-27", {"total": {"all": 7}}, [], [q.key for q in questions])], questions)
    topics = build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon").topics
    assert [(t.words, [q.key for q in t.questions]) for t in topics] == [
        (("burr", "grinder", "espresso"), ["hackernews#q1", "hackernews#q2", "hackernews#q5"]),
        (("foam", "milk"), ["hackernews#q3", "hackernews#q4"]),
        ((), ["hackernews#q6"]),
    ]  # the brand's own question (b1) is not the industry's


def test_a_question_sharing_one_word_only_starts_its_own_topic() -> None:
    a = stored("a", "Best grinder for espresso?", group="industry", rule="coffee")
    b = stored("b", "Best kettle for espresso?", group="industry", rule="coffee")
    assert [t.words for t in group_questions([a, b])] == [(), ()]


# ---------------------------------------------------------------- the message


def hostile_digest() -> tuple[Digest, FakeStore]:
    evil = stored("x1", '<script>alert(1)</script> & "friends"', title="<img src=x onerror=alert(2)>",
                  url="javascript:alert(3)", author="<b>mallory</b>", priority=80)
    question = stored("x2", "Which <i>grinder</i> burr for espresso coffee?", group="industry", rule="coffee",
                      intents=["question"], term="coffee", url="https://news.ycombinator.com/item?id=2")
    store = FakeStore([DigestDay("2026-11-27", {"total": {"all": 2}, "group": {"brand": 1, "industry": 1}},
                                 [evil.key], [question.key])], [evil, question])
    return build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon"), store


def message() -> EmailMessage:
    digest, _ = hostile_digest()
    return compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                          from_address="alerts@beanthere.example", reply_to=None, web_view_link="https://listen.example/api/d/TOKEN",
                          unsubscribe="https://listen.example/api/u/UNSUB")


def test_digest_email_is_multipart_with_the_web_view_link_at_the_top() -> None:
    msg = message()
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == "Daily digest for 27 Nov: 2 new mentions of Bean There Café, 1 to answer"
    assert msg["From"] == "Bean There Café alerts <alerts@beanthere.example>"
    assert msg["To"] == "Maria <maria@beanthere.example>"
    assert msg["List-Unsubscribe"] == "<https://listen.example/api/u/UNSUB>"
    text = msg.get_body(("plain",)).get_content()
    assert text.splitlines()[:2] == [msg["Subject"], "Web view: https://listen.example/api/d/TOKEN"]
    html = msg.get_body(("html",)).get_content()
    assert re.findall(r'href="([^"]+)"', html)[0] == "https://listen.example/api/d/TOKEN"


def test_everything_from_a_network_is_escaped_and_only_http_links_reach_an_href() -> None:
    html = message().get_body(("html",)).get_content()
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "&lt;b&gt;mallory&lt;/b&gt;" in html
    assert "Which &lt;i&gt;grinder&lt;/i&gt; burr for espresso coffee?" in html
    assert "<script" not in html and "<img" not in html and "javascript:" not in html
    assert set(re.findall(r'href="([^"]+)"', html)) == {
        "https://listen.example/api/d/TOKEN", "https://news.ycombinator.com/item?id=2",
        "https://listen.example/api/u/UNSUB"}


def test_bars_are_table_cells_with_exact_widths_and_no_image_or_script() -> None:
    html = message().get_body(("html",)).get_content()
    # rule groups: brand 1 and industry 1 of a largest 1; share of voice: the brand 100%, no competitor
    assert html.count('<td width="100%" class="fill" style="background:#2563eb;') == 2
    assert html.count('<td width="100%" class="fill" style="background:#0d9488;') == 1
    assert html.count('<td width="100%" class="track"') == 2 + 2 + 6  # product, competitor; 2 competitors; 6 days
    assert '<td width="50%" class="fill" style="background:#2563eb;' in html  # today, stacked: half brand
    assert '<td width="50%" class="fill" style="background:#0d9488;' in html  # and half industry
    assert "<img" not in html and "<script" not in html and "url(" not in html


def test_web_view_renders_the_same_html_without_the_link_to_itself() -> None:
    digest, _ = hostile_digest()
    page = render_html(digest, business="Bean There Café")
    email_html = message().get_body(("html",)).get_content()
    assert "View this digest in your browser" not in page and "View this digest in your browser" in email_html
    assert page.split("<h1", 1)[1].split("You get this")[0] == email_html.split("<h1", 1)[1].split("You get this")[0]


# ---------------------------------------------------------------- sending


def sender(store: FakeStore, mailer: FakeMailer) -> DigestSender:
    return DigestSender(CONFIG, store, mailer, TokenSigner(SIGNING_KEY, clock=NOW.timestamp), clock=NOW.timestamp)


def test_each_recipient_gets_the_digest_at_their_local_digest_hour_once_per_local_date() -> None:
    store, mailer = FakeStore(), FakeMailer()
    assert sender(store, mailer).run(NOW) == [("Maria", "sent")]  # 08:15 in Lisbon, 17:15 in Tokyo
    assert sender(store, mailer).run(NOW + dt.timedelta(minutes=30)) == [("Maria", "already sent")]
    assert sender(store, mailer).run(NOW + dt.timedelta(hours=1)) == []
    tokyo_eight = dt.datetime(2026, 11, 27, 23, 5, tzinfo=dt.UTC)  # 08:05 on 28 Nov in Tokyo
    assert sender(store, mailer).run(tokyo_eight) == [("Ken", "sent")]
    assert [to for _, to in mailer.sent] == ["maria@beanthere.example", "ken@beanthere.example"]
    assert {key: value["status"] for key, value in store.deliveries.items()} == {
        ("digest-2026-11-27", "Maria", "digest"): "sent", ("digest-2026-11-28", "Ken", "digest"): "sent"}
    assert "Daily digest for 28 Nov" in str(mailer.sent[1][0]["Subject"])


def test_a_refused_digest_is_recorded_as_failed_with_the_reason_and_not_retried() -> None:
    store = FakeStore()
    failing = FakeMailer(DeliveryFailed("SES refused the email (MessageRejected)", permanent=True))
    assert sender(store, failing).run(NOW) == [("Maria", "failed")]
    record = store.deliveries[("digest-2026-11-27", "Maria", "digest")]
    assert (record["status"], record["detail"]) == ("failed", "SES refused the email (MessageRejected)")
    assert sender(store, FakeMailer()).run(NOW) == [("Maria", "already sent")]


def test_a_suppressed_address_gets_no_digest() -> None:
    store, mailer = FakeStore(), FakeMailer()
    store.suppressed_addresses = {"maria@beanthere.example": "unsubscribed"}
    assert sender(store, mailer).run(NOW) == [("Maria", "suppressed")]
    assert mailer.sent == [] and store.deliveries == {}


def test_the_web_view_link_names_the_recipients_local_date() -> None:
    store, mailer = FakeStore(), FakeMailer()
    sender(store, mailer).run(NOW)
    text = mailer.sent[0][0].get_body(("plain",)).get_content()
    token = re.search(r"Web view: https://listen\.example/api/d/(\S+)", text).group(1)  # type: ignore[union-attr]
    parsed = TokenSigner(SIGNING_KEY, clock=NOW.timestamp).verify(token)
    assert (parsed.mention_key, parsed.action, parsed.recipient) == ("digest:2026-11-27", "digest", "Maria")


@pytest.mark.parametrize(("key", "action", "recipient"), [
    ("digest:2026-11-27", "handled", "Maria"),
    ("digest:2026-11-27", "digest", "Mallory"),
    ("digest:27-11-2026", "digest", "Maria"),
    ("digest:2026-13-45", "digest", "Maria"),
    ("hackernews#1", "digest", "Maria"),
    ("2026-11-27", "digest", "Maria"),
])
def test_a_token_that_names_no_digest_gets_no_page(key: str, action: str, recipient: str) -> None:
    token = ActionToken(key, action, recipient, int(NOW.timestamp()) + 60, "nonce")
    assert digest_page(CONFIG, FakeStore(), token) is None


def test_a_digest_token_gets_the_digest_page_with_the_pages_headers() -> None:
    token = ActionToken("digest:2026-11-27", "digest", "Maria", int(NOW.timestamp()) + 60, "nonce")
    page = digest_page(CONFIG, FakeStore([day("2026-11-27", total={"all": 3})]), token)
    assert page is not None and page.status == 200
    assert "<h1 style=\"margin:4px 0 0 0;font-size:20px;line-height:1.3;\">Friday 27 November 2026</h1>" in page.body
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")


# ---------------------------------------------------------------- what the owner sees is true (#18)

FRIDAY = dt.datetime(2026, 12, 4, 8, 15, tzinfo=dt.UTC)  # 08:15 in Lisbon (WET, UTC+0), 17:15 in Tokyo


def plain_and_html(digest: Digest, recipient: int = 0) -> tuple[str, str]:
    msg = compose_digest(digest, CONFIG.recipients[recipient], business="Bean There Café",
                         from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_the_headline_names_each_of_its_days_with_the_count_the_chart_shows() -> None:
    store = FakeStore([day("2026-12-04", total={"all": 12}, group={"brand": 12})])  # nothing on Thursday
    digest = build_digest(CONFIG, store, now=FRIDAY, timezone="Europe/Lisbon")
    text, html = plain_and_html(digest)
    headline = "12 new mentions: 0 on Thu 3 Dec, 12 on Fri 4 Dec so far (Lisbon time)"
    assert headline in text.splitlines()
    assert "new mentions: 0 on Thu 3 Dec, 12 on Fri 4 Dec so far (Lisbon time)" in html
    chart = text.split("THE LAST 7 DAYS\n", 1)[1].splitlines()
    assert [line.split()[:4] for line in chart[5:7]] == [["Thu", "3", "Dec", "0"], ["Fri", "4", "Dec", "12"]]


def test_a_mention_in_several_rule_groups_is_explained_where_the_groups_add_up_to_more() -> None:
    store = FakeStore([day("2026-12-04", total={"all": 4}, group={"brand": 3, "competitor": 2})])
    text, html = plain_and_html(build_digest(CONFIG, store, now=FRIDAY, timezone="Europe/Lisbon"))
    note = ("The groups add up to 5, more than the 4 mentions: a mention that matches rules of several groups "
            "is counted in each of them (and in the bars of each day).")
    assert note in text.splitlines()
    assert f'<p class="muted groups-note" style="margin:4px 0 0 0;font-size:12px;color:#52525b;">{note}</p>' in html
    exact = FakeStore([day("2026-12-04", total={"all": 5}, group={"brand": 3, "competitor": 2})])
    text, html = plain_and_html(build_digest(CONFIG, exact, now=FRIDAY, timezone="Europe/Lisbon"))
    assert "The groups add up" not in text and "groups-note" not in html


@pytest.mark.parametrize(("timezone", "said"), [
    ("Europe/Lisbon", "Lisbon time"), ("America/New_York", "New York time"), ("UTC", "UTC"), ("Etc/GMT", "GMT"),
    ("America/Argentina/Buenos_Aires", "Buenos Aires time"), ("Pacific/Auckland", "Auckland time"),
])
def test_the_recipients_zone_is_named_in_words(timezone: str, said: str) -> None:
    assert zone_name(timezone) == said


def test_days_and_times_are_in_the_recipients_time_zone_with_the_zone_shown() -> None:
    mention = stored("t1", "Bean There, open late?", minutes_ago=60 - 7 * 24 * 60)  # Fri 4 Dec 07:15 UTC
    store = FakeStore([DigestDay("2026-12-04", {"total": {"all": 1}, "group": {"brand": 1}}, [mention.key])],
                      [mention])
    lisbon, lisbon_html = plain_and_html(build_digest(CONFIG, store, now=FRIDAY, timezone="Europe/Lisbon"))
    assert "  Hacker News · ana · 04 Dec 07:15 WET" in lisbon.splitlines()
    assert "ana · 04 Dec 07:15 WET</p>" in lisbon_html
    assert "Days and times are in your time zone: Lisbon time (Europe/Lisbon)." in lisbon
    tokyo, _ = plain_and_html(build_digest(CONFIG, store, now=FRIDAY, timezone="Asia/Tokyo"), recipient=1)
    assert "  Hacker News · ana · 04 Dec 16:15 JST" in tokyo.splitlines()
    # 07:15 UTC is 16:15 in Tokyo: the record kept per UTC day (no slots) is read as at its noon, 21:00 JST
    assert "1 new mention: 0 on Thu 3 Dec, 1 on Fri 4 Dec so far (Tokyo time)" in tokyo.splitlines()
    assert "Days and times are in your time zone: Tokyo time (Asia/Tokyo)." in tokyo


def test_a_snoozed_opportunity_is_shown_snoozed_and_still_counted_as_to_answer() -> None:
    snoozed = stored("s1", "Bean There, do you roast on site?", priority=90, state="snoozed")
    handled = stored("h1", "Bean There, thanks!", priority=60, state="handled")
    fresh = stored("n1", "Bean There, any vegan cake?", priority=30)
    store = FakeStore([DigestDay("2026-11-27", {"total": {"all": 3}, "group": {"brand": 3}},
                                 [m.key for m in (snoozed, handled, fresh)])], [snoozed, handled, fresh])
    digest = build_digest(CONFIG, store, now=NOW, timezone="Europe/Lisbon")
    assert (digest.open_opportunities, digest.all_opportunities) == (2, 3)
    msg = compose_digest(digest, CONFIG.recipients[0], business="Bean There Café",
                         from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    assert msg["Subject"] == "Daily digest for 27 Nov: 3 new mentions of Bean There Café, 2 to answer"
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    assert [line for line in text.splitlines() if line.startswith("- [")] == [
        "- [snoozed] Priority 90", "- [handled] Priority 60", "- [OPEN] Priority 30"]
    badges = re.findall(r">(OPEN|SNOOZED|HANDLED)</span> Priority (\d+)", html)
    assert badges == [("SNOOZED", "90"), ("HANDLED", "60"), ("OPEN", "30")]

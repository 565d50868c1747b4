"""The daily digest: what yesterday and today brought, the week's trend, the opportunities still
open, and the questions the owner's industry asks most; and the optional weekly digest: the last
7 days against the 7 before, in the same templates (``period`` says which).

Built from the ``DIGEST#<UTC day>`` quarter-hour counters every cycle adds to (one Query a UTC day),
summed into the recipient's own local days (``local_days``: a Lisbon, New York or Auckland day is
whole quarter hours of UTC, DST days included), and the stored opportunities and questions (one
batch read). Mentions the owner-feedback model still holds back are listed on their own and taken
out of every count (``held_back``), so the headline, the charts and the sections add up. The daily one is sent to
each recipient once per local date at their ``alerts.digest_hour``, the weekly one at that hour
on their ``weekly_digest`` weekday, once per ISO week; the same HTML is a page behind a signed
``digest`` link (``digest:<local date>`` or ``digest:week:<first day>``).
Everything from a network is escaped by the templates' autoescape; the charts are HTML tables
with widths (no image, no script), so they show in mail clients and under the pages' CSP.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from chalicelib.alerts import UNSUBSCRIBE_TTL, DeliveryFailed, network_name
from chalicelib.alerts.delivery import claim_retry, deliver_once, due_retries, send_claimed
from chalicelib.alerts.email import set_headers, template, unfolded, when_in
from chalicelib.config import ListenConfig, Recipient
from chalicelib.links import ActionToken, TokenSigner
from chalicelib.model import DigestDay, StoredMention
from chalicelib.noise import STOPWORDS, words
from chalicelib.store import CLAIM_LEASE_SECONDS
from chalicelib.store.counters import digest_counters
from chalicelib.text import one_line, safe_url, stars
from chalicelib.web.pages import Page

log = logging.getLogger(__name__)

GROUPS = ("brand", "product", "competitor", "industry")
SENTIMENTS = ("positive", "neutral", "negative")
TREND_DAYS = 7
WEEK_DAYS = 7
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday() order
TOP_OPPORTUNITIES = 10
TOP_NETWORKS = 5
TOP_TOPICS = 5
QUESTIONS_PER_TOPIC = 3
MAX_READ = 1000  # opportunities and questions read each (the latest): bounds a busy day's reads to 20 batches
UNLISTED_STATES = ("not_relevant", "held")  # not opportunities or questions (held ones: their own section)
TOP_HELD = 20  # mentions held back by the owner-feedback model, listed highest priority first
HELD_HEADING = "Held back as likely not relevant \u2014 tell me if that's wrong"
TOPIC_WORDS = 40  # what a question is about is in its first sentence or two, not in the story around it
MIN_TOPIC_WORD = 4  # letters: shorter words ("cup", "bar") join unrelated questions
SHARED_TOPIC_WORDS = 2  # one shared word is chance; two make a topic
CHANNEL = "digest"
UNDELIVERED_HOURS = 26  # the next daily digest lists what failed since the last one (and a DST day's extra hour)
UNDELIVERED_MENTIONS = 50  # mentions read and listed, of all the deliveries listed
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TO_ANSWER = ("new", "snoozed")  # an opportunity in these states is still to answer (a snoozed one comes back)
BADGES = {"new": "open", "snoozed": "snoozed"}  # what the digest calls each state; any other is "handled"
COLORS = {  # mid tones: readable on the light and the dark background
    "brand": "#2563eb", "product": "#7c3aed", "competitor": "#ea580c", "industry": "#0d9488",
    "positive": "#16a34a", "neutral": "#a1a1aa", "negative": "#dc2626",
}


class DigestStore(Protocol):
    """What the digest reads from the store (``chalicelib.store.Store`` or a test's fake)."""

    def digest_days(self, days: Sequence[str], *, keys: bool | Collection[str] = True) -> dict[str, DigestDay]: ...

    def get_mentions(self, keys: Sequence[str]) -> dict[str, StoredMention]: ...

    def held_back(self, days: Sequence[str]) -> dict[str, str]: ...

    def get_state(self, network: str, name: str) -> dict[str, Any] | None: ...


class DigestMailer(Protocol):
    """What sends a composed message (``EmailChannel``)."""

    def send_message(self, message: EmailMessage, to: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of a chart: ``width`` is its length in percent of the chart's width."""

    label: str
    count: int
    width: int


@dataclass(frozen=True, slots=True)
class DayVolume:
    """One local day of the trend: its bar is stacked by rule group (``segments``, then the empty rest)."""

    day: dt.date
    total: int
    segments: tuple[Bar, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """A count of the week against the week before (``text``: "+25%", "-40%", "same" or "new")."""

    label: str
    count: int
    before: int

    @property
    def text(self) -> str:
        return change_text(self.count, self.before)


@dataclass(frozen=True, slots=True)
class QuestionTopic:
    """Industry questions that share content words: an idea for helpful content to publish."""

    words: tuple[str, ...]  # the words its questions share, most common first (empty for a lone question)
    questions: tuple[StoredMention, ...]  # most important first


@dataclass(frozen=True, slots=True)
class Held:
    """A mention the owner-feedback model held back (chalicelib.cycle.learning), its reason (words of
    the mention: untrusted, escaped by the templates) and the recipient's "That's wrong" link."""

    mention: StoredMention
    reason: str
    link: str = ""


@dataclass(frozen=True, slots=True)
class Digest:
    """Everything a digest shows, for one recipient's local date (the weekly one: the date it is sent)."""

    local_date: dt.date
    timezone: str
    days: tuple[dt.date, ...]  # the recipient's local days of the headline: yesterday and today (weekly: the week's 7)
    total: int  # the mentions of those days, less those still held back (``held_total``)
    groups: tuple[Bar, ...]  # mentions per rule group, in GROUPS order
    trend: tuple[DayVolume, ...]  # the last TREND_DAYS local days, oldest first
    share_of_voice: tuple[Bar, ...]  # the brand group, then each competitor rule; width is the share in %
    sentiment: tuple[Bar, ...]  # in SENTIMENTS order; widths add up to 100
    networks: tuple[Bar, ...]  # the busiest first
    opportunities: tuple[StoredMention, ...]  # highest priority first
    open_opportunities: int  # of all the opportunities (not only those shown), those nobody handled yet
    all_opportunities: int
    topics: tuple[QuestionTopic, ...]  # the most asked first
    period: Literal["daily", "weekly"] = "daily"  # weekly: the fields below compare the week with the one before
    before_total: int = 0
    changes: tuple[Change, ...] = ()  # per rule group, in GROUPS order
    share_before: tuple[Bar, ...] = ()  # the share of voice of the week before, the same voices in the same order
    undelivered: tuple[Undelivered, ...] = ()  # deliveries that failed or may not have arrived since the last digest
    held: tuple[Held, ...] = ()  # the headline days' mentions the owner-feedback model still holds back (TOP_HELD)
    held_total: int = 0  # how many it holds back of the headline days (in no other count)
    spend: tuple[str, ...] = ()  # what each network sold per request cost this month, in words (``spend_lines``)
    inbox_link: str = ""  # the inbox listing exactly the opportunities of the headline days (``with_links``)
    all_questions: int = 0  # the industry questions of the headline days (not only the topics shown)
    network_keys: tuple[str, ...] = ()  # the network of each of ``networks`` ("" for one no longer configured)
    inbox_links: tuple[tuple[str, str], ...] = ()  # (section, the inbox listing exactly its mentions): SECTION_FILTERS


@dataclass(frozen=True, slots=True)
class Undelivered:
    """A delivery (alert, digest, assignment email) that failed or may not have arrived."""

    recipient: str
    channel: str  # email | sms | digest
    status: str  # failed | unconfirmed
    detail: str
    at: str  # ISO time it was recorded
    mentions: tuple[StoredMention, ...]  # what it carried (at most UNDELIVERED_MENTIONS are read)
    job_id: str = ""  # the alert (or digest) it delivered
    carried: int = 0  # how many mentions it carried (``mentions`` may show fewer)


# ---------------------------------------------------------------- numbers and bars


def percentages(counts: Sequence[int]) -> list[int]:
    """Whole percentages of ``counts`` adding up to exactly 100 (largest remainder, ties to the
    earlier count); all 0 when nothing was counted."""
    total = sum(counts)
    if total <= 0:
        return [0] * len(counts)
    shares = [count * 100 // total for count in counts]
    by_remainder = sorted(range(len(counts)), key=lambda i: (-(counts[i] * 100 % total), i))
    for i in by_remainder[: 100 - sum(shares)]:
        shares[i] += 1
    return shares


def change_text(count: int, before: int) -> str:
    """How ``count`` compares with ``before`` in words an owner reads at a glance: "+25%" or "-40%"
    (whole percent, halves away from zero), "same", or "new" when there was none before (never "inf%")."""
    if count == before:
        return "same"
    if before == 0:
        return "new"
    difference = abs(count - before)
    percent = (difference * 200 + before) // (2 * before)  # halves away from zero, in integers (no float error)
    return f"{'+' if count > before else '-'}{percent}%"


def bars(counts: Sequence[tuple[str, int]]) -> tuple[Bar, ...]:
    """Bars of (label, count), the largest count filling the chart; any count above 0 shows at least 1%."""
    largest = max((count for _, count in counts), default=0)
    return tuple(Bar(label, count, max(1, count * 100 // largest) if count else 0) for label, count in counts)


def _summed(records: Sequence[DigestDay]) -> dict[str, Counter[str]]:
    totals: dict[str, Counter[str]] = {}
    for record in records:
        for dimension, values in record.counts.items():
            totals.setdefault(dimension, Counter()).update(values)
    return totals


LEGACY_SLOT = "1200"  # a record counted per UTC day before the quarter-hour slots is read as at its UTC noon


def _moment(day: dt.date, slot: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(int(slot[:2]), int(slot[2:])), tzinfo=dt.UTC)


def utc_days_of(first: dt.date, last: dt.date, timezone: str) -> list[dt.date]:
    """The UTC days that hold the local days ``first`` to ``last`` of ``timezone``, oldest first."""
    zone = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone).astimezone(dt.UTC).date()
    end = (dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone).astimezone(dt.UTC)
           - dt.timedelta(microseconds=1)).date()
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def local_days(records: Sequence[DigestDay], days: Sequence[dt.date], timezone: str) -> list[DigestDay]:
    """The records of UTC days summed into the local ``days`` of ``timezone``: each quarter-hour
    slot into the local day it starts in (a record kept per UTC day, as at its noon), each
    opportunity and question key into the local day it was counted in (``key_times``)."""
    zone = zoneinfo.ZoneInfo(timezone)
    result = {day: DigestDay(day.isoformat()) for day in days}

    def local(moment: dt.datetime) -> DigestDay | None:
        return result.get(moment.astimezone(zone).date())

    for record in records:
        utc = dt.date.fromisoformat(record.day)
        parts = list(record.slots.items())
        rest = _summed([DigestDay(record.day, record.counts)])
        for _, counts in parts:
            for dimension, values in counts.items():
                rest[dimension].subtract(values)
        if any(n for values in rest.values() for n in values.values()):  # counted before the slots
            parts.append((LEGACY_SLOT, {dimension: {value: n for value, n in values.items() if n > 0}
                                        for dimension, values in rest.items()}))
        for slot, counts in parts:
            into = local(_moment(utc, slot))
            if into is not None:
                for dimension, values in counts.items():
                    for value, n in values.items():
                        into.counts.setdefault(dimension, {})[value] = into.counts.get(dimension, {}).get(value, 0) + n
        noon = _moment(utc, LEGACY_SLOT).timestamp()
        for keys, field in ((record.opportunities, "opportunities"), (record.questions, "questions")):
            for key in keys:  # at its time of day in its record's day, as its counters' slot
                counted = dt.datetime.fromtimestamp(record.key_times.get(key, noon), tz=dt.UTC)
                into = local(dt.datetime.combine(utc, counted.time(), tzinfo=dt.UTC))
                if into is not None:
                    getattr(into, field).append(key)
    return [result[day] for day in days]


def _trend(records: Sequence[DigestDay]) -> tuple[DayVolume, ...]:
    per_day = [[record.counts.get("group", {}).get(group, 0) for group in GROUPS] for record in records]
    scale = max((sum(groups) for groups in per_day), default=0)  # the busiest day fills the chart
    trend = []
    for record, groups in zip(records, per_day, strict=True):
        widths = percentages([*groups, scale - sum(groups)])
        segments = tuple(Bar(group, count, width) for group, count, width in zip(GROUPS, groups, widths[:-1],
                                                                                   strict=True))
        trend.append(DayVolume(dt.date.fromisoformat(record.day), record.counts.get("total", {}).get("all", 0),
                               (*segments, Bar("", 0, widths[-1]))))
    return tuple(trend)


def _share_of_voice(config: ListenConfig, counts: Mapping[str, Counter[str]]) -> tuple[Bar, ...]:
    competitors = [rule.name for rule in config.rules if rule.group == "competitor"]
    if not competitors:
        return ()
    voices = [(config.business.name, counts.get("group", Counter())["brand"])]
    voices += [(name, counts.get("rule", Counter())[name]) for name in competitors]
    shares = percentages([count for _, count in voices])
    return tuple(Bar(label, count, share) for (label, count), share in zip(voices, shares, strict=True))


# ---------------------------------------------------------------- questions by topic


def topic_words(stored: StoredMention) -> frozenset[str]:
    """The content words of a question's first ``TOPIC_WORDS`` words: folded, ``MIN_TOPIC_WORD``
    letters or more, no stopword, no word a rule matched (every question of the rule has those)."""
    mention = stored.item.mention
    text = mention.searchable_text
    matched = {word for match in stored.item.matches for start, end in match.spans for word in words(text[start:end])}
    return frozenset(word for word in words(text)[:TOPIC_WORDS]
                     if len(word) >= MIN_TOPIC_WORD and word.isalpha() and word not in STOPWORDS
                     and word not in matched)


def group_questions(questions: Sequence[StoredMention]) -> list[QuestionTopic]:
    """Questions (most important first) grouped by shared content words (``topic_words``, from
    ``chalicelib.noise.words``): each joins the first topic whose first question shares at least
    ``SHARED_TOPIC_WORDS`` of its words, else starts one. Topics with the most questions first."""
    topics: list[tuple[frozenset[str], list[StoredMention], list[frozenset[str]]]] = []
    for question in questions:
        found = topic_words(question)
        topic = next((t for t in topics if len(t[0] & found) >= SHARED_TOPIC_WORDS), None)
        if topic is None:
            topics.append((found, [question], [found]))
        else:
            topic[1].append(question)
            topic[2].append(found)
    result = []
    for _, members, member_words in topics:
        counted = Counter(word for found in member_words for word in sorted(found))
        shared = tuple(word for word, n in counted.most_common() if n >= 2)[:3] if len(members) > 1 else ()
        result.append(QuestionTopic(shared, tuple(members)))
    return sorted(result, key=lambda topic: -len(topic.questions))


# ---------------------------------------------------------------- building


def _by_priority(mentions: Sequence[StoredMention]) -> list[StoredMention]:
    """Highest priority first, then newest first, then by key (a stable order)."""
    return sorted(mentions, key=lambda m: (-m.item.priority, -m.item.mention.created_at.timestamp(), m.key))


def _records(store: DigestStore, days: Sequence[dt.date], headline: int,
             timezone: str) -> tuple[list[DigestDay], tuple[Held, ...], int]:
    """The recipient's local ``days`` in their order (one Query per UTC day that holds them, with
    the opportunity and question keys of the last ``headline`` days), less the mentions still held
    back (``held_back``); and the held mentions of the last ``headline`` days (the first
    ``TOP_HELD``) with how many there are."""
    utc = utc_days_of(days[0], days[-1], timezone)
    keyed = utc_days_of(days[-headline], days[-1], timezone)
    found = store.digest_days([day.isoformat() for day in utc], keys=[day.isoformat() for day in keyed])
    records = local_days([found.get(day.isoformat()) or DigestDay(day.isoformat()) for day in utc], days, timezone)
    held = _held_in(store, utc, days, timezone)
    by_day = {dt.date.fromisoformat(record.day): record for record in records}
    for stored, _, day in held:
        counts = by_day[day].counts
        for name, n in digest_counters([stored.item]).items():
            _, dimension, value = name.split("#", 2)
            values = counts.setdefault(dimension, {})
            if values.get(value, 0) > n:
                values[value] -= n
            else:  # none left (never below 0, should its record have lost a count): not a bar of 0
                values.pop(value, None)
    recent = set(days[-headline:])
    shown = _by_priority([stored for stored, _, day in held if day in recent])
    reasons = {stored.key: reason for stored, reason, _ in held}
    return records, tuple(Held(m, reasons[m.key]) for m in shown[:TOP_HELD]), len(shown)


def _held_in(store: DigestStore, utc: Sequence[dt.date], days: Sequence[dt.date],
             timezone: str) -> list[tuple[StoredMention, str, dt.date]]:
    """(mention, the model's reason, the local day it was stored on) of the mentions held back on
    the UTC days ``utc`` (and the next) that are still held and were stored on one of the local
    ``days`` (of the latest ``MAX_READ``: one batch read)."""
    later = utc[-1] + dt.timedelta(days=1)  # held by a cycle after midnight UTC (a resumed job)
    reasons = store.held_back([day.isoformat() for day in (*utc, later)])
    keys = list(reasons)[-MAX_READ:]
    stored = store.get_mentions(keys) if keys else {}
    zone, wanted = zoneinfo.ZoneInfo(timezone), set(days)
    found = []
    for key in keys:
        mention = stored.get(key)
        if mention is None or mention.state != "held":
            continue
        try:
            day = dt.datetime.fromisoformat(mention.stored_at).astimezone(zone).date()
        except ValueError:
            continue
        if day in wanted:
            found.append((mention, reasons[key], day))
    return found


def _headline(config: ListenConfig, store: DigestStore, headline: Sequence[DigestDay]) -> dict[str, Any]:
    """The numbers, opportunities and question topics of the headline's days, as ``Digest`` fields."""
    counts = _summed(headline)
    opportunity_keys = list(dict.fromkeys(key for record in headline for key in record.opportunities))[-MAX_READ:]
    question_keys = list(dict.fromkeys(key for record in headline for key in record.questions))[-MAX_READ:]
    stored = store.get_mentions([*opportunity_keys, *question_keys]) if opportunity_keys or question_keys else {}
    opportunities = _by_priority([stored[k] for k in opportunity_keys if k in stored
                                  and stored[k].state not in UNLISTED_STATES])
    questions = _by_priority([stored[k] for k in question_keys if k in stored and stored[k].state not in UNLISTED_STATES
                              and any(match.group == "industry" for match in stored[k].item.matches)])
    networks = counts.get("network", Counter()).most_common()
    sentiment = [counts.get("sentiment", Counter())[label] for label in SENTIMENTS]
    return dict(
        total=counts.get("total", Counter())["all"],
        groups=bars([(group, counts.get("group", Counter())[group]) for group in GROUPS]),
        share_of_voice=_share_of_voice(config, counts),
        sentiment=tuple(Bar(label, count, width)
                        for label, count, width in zip(SENTIMENTS, sentiment, percentages(sentiment), strict=True)),
        networks=bars([(network_name(network), count) for network, count in networks[:TOP_NETWORKS]]),
        network_keys=tuple(network if network in config.networks else "" for network, _ in networks[:TOP_NETWORKS]),
        opportunities=tuple(opportunities[:TOP_OPPORTUNITIES]),
        open_opportunities=sum(1 for m in opportunities if m.state in TO_ANSWER),
        all_opportunities=len(opportunities),
        topics=tuple(group_questions(questions)[:TOP_TOPICS]),
        all_questions=len(questions),
    )


def build_digest(config: ListenConfig, store: DigestStore, *, now: dt.datetime, timezone: str) -> Digest:
    """The daily digest at ``now`` (timezone-aware) for a recipient in ``timezone``.

    In: the configuration, the store (the digest records of the UTC days that hold the recipient's
    week, the held-back mentions, then the opportunities and questions). Out: the headline over the
    recipient's local yesterday and today, the trend over their last ``TREND_DAYS`` local days, the
    held-back mentions of the headline days listed apart and counted nowhere else. Mentions marked
    "not relevant" are left out of the opportunities and questions; of each, the latest
    ``MAX_READ`` are read.
    """
    today = now.astimezone(zoneinfo.ZoneInfo(timezone)).date()
    week = [today - dt.timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    ordered, held, held_total = _records(store, week, 2, timezone)
    return Digest(local_date=today, timezone=timezone, days=tuple(week[-2:]), trend=_trend(ordered),
                  held=held, held_total=held_total, **_headline(config, store, ordered[-2:]))


def build_weekly_digest(config: ListenConfig, store: DigestStore, *, week_start: dt.date, timezone: str) -> Digest:
    """The weekly digest of the ``WEEK_DAYS`` days from ``week_start`` for a recipient in ``timezone``.

    In: the configuration, the store (the digest records of the 15 UTC days that hold the local
    fortnight, one Query each, the held-back mentions, then the week's opportunities and questions).
    Out: the week's numbers as in the daily digest (the trend is the week's days), with each rule
    group's count, the total and the share of voice of the week before to compare, held-back mentions
    in neither week's numbers. The days are the recipient's local days; it is sent the day after.
    """
    fortnight = [week_start + dt.timedelta(days=n) for n in range(-WEEK_DAYS, WEEK_DAYS)]
    ordered, held, held_total = _records(store, fortnight, WEEK_DAYS, timezone)
    before, week = _summed(ordered[:WEEK_DAYS]), ordered[WEEK_DAYS:]
    headline = _headline(config, store, week)
    return Digest(
        local_date=week_start + dt.timedelta(days=WEEK_DAYS), timezone=timezone, days=tuple(fortnight[WEEK_DAYS:]),
        trend=_trend(week), **headline, period="weekly", held=held, held_total=held_total,
        before_total=before.get("total", Counter())["all"],
        changes=tuple(Change(bar.label, bar.count, before.get("group", Counter())[bar.label])
                      for bar in headline["groups"]),
        share_before=_share_of_voice(config, before),
    )


# ---------------------------------------------------------------- the message


def _day_label(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _mention_view(stored: StoredMention, timezone: str) -> dict[str, Any]:
    m = stored.item.mention
    triage = stored.item.triage
    return {
        "network": " ".join(filter(None, (network_name(m.network), stars(m.rating)))),  # "Google reviews ★☆☆☆☆"
        "author": one_line(m.author_name or m.author_handle or "someone", 60),
        "what": one_line(m.title or m.text, 160),
        "url": safe_url(m.url),
        "when": when_in(m.created_at, timezone),
        "priority": stored.item.priority,
        "reasons": ", ".join(triage.reasons) if triage else "",
        "state": BADGES.get(stored.state, "handled"),
    }


def _short_date(day: dt.date) -> str:
    return f"{day.day} {day:%b}"


def compared(count: int, before: int) -> str:
    """The week's ``count`` against the week before's, for a headline: "+25% on the week before (8)"."""
    if before == 0:
        return "none the week before"
    if count == before:
        return "as many as the week before"
    return f"{change_text(count, before)} on the week before ({before})"


def subject_for(digest: Digest, business: str) -> str:
    """"Daily digest for 27 Nov: 12 new mentions of Bean There Café, 3 to answer", or "Weekly digest for
    16 Nov to 22 Nov: 40 new mentions of Bean There Café, +25% on the week before, 3 to answer"."""
    mentions = "1 new mention" if digest.total == 1 else f"{digest.total} new mentions"
    if digest.period == "weekly":
        subject = (f"Weekly digest for {_short_date(digest.days[0])} to {_short_date(digest.days[-1])}: "
                   f"{mentions} of {one_line(business, 60)}")
        if digest.before_total:
            subject += ", " + compared(digest.total, digest.before_total).removesuffix(f" ({digest.before_total})")
    else:
        subject = f"Daily digest for {_short_date(digest.local_date)}: {mentions} of {one_line(business, 60)}"
    return f"{subject}, {digest.open_opportunities} to answer" if digest.open_opportunities else subject


def digest_context(digest: Digest, *, business: str, web_view_link: str, unsubscribe: str = "") -> dict[str, Any]:
    """What the digest templates show (the same for the email and the web view); ``period`` is
    "daily" or "weekly", and only the weekly one fills ``compared``, ``changes`` and ``share_before``."""
    first, last = digest.days[0], digest.days[-1]
    weekly = digest.period == "weekly"
    zone = zone_name(digest.timezone)
    links = {name: "" for name in SECTION_FILTERS} | {name: safe_url(link) for name, link in digest.inbox_links}
    return {
        "period": digest.period,
        "every": f"{digest.local_date:%A}" if weekly else "day",
        "unsubscribe": safe_url(unsubscribe),
        "subject": subject_for(digest, business),
        "business": one_line(business, 60),
        "date": (f"{first.day} {first:%B} to {last.day} {last:%B %Y}" if weekly
                 else f"{digest.local_date:%A} {digest.local_date.day} {digest.local_date:%B %Y}"),
        "span": (f" from {_day_label(first)} to {_day_label(last)} ({zone})" if weekly
                 else ": " + ", ".join(f"{day.total} on {_day_label(day.day)}" for day in digest.trend[-2:])
                 + f" so far ({zone})"),
        "zone": zone,
        "timezone": digest.timezone,
        "groups_note": _groups_note(digest),
        "compared": compared(digest.total, digest.before_total) if weekly else "",
        "changes": {change.label: change for change in digest.changes},
        "share_before": [bar.width for bar in digest.share_before],
        "web_view_link": safe_url(web_view_link),
        "inbox_link": safe_url(digest.inbox_link),
        "links": links,
        "network_links": [links.get(f"network:{key}", "") for key in digest.network_keys],
        "voice_links": [links.get("group:brand" if n == 0 else f"rule:{bar.label}", "")
                        for n, bar in enumerate(digest.share_of_voice)],
        "digest": digest,
        "colors": COLORS,
        "sentiment_bar": [(bar.width, COLORS[bar.label]) for bar in digest.sentiment],
        "trend": [(_day_label(day.day), [(bar.width, COLORS.get(bar.label, "")) for bar in day.segments], day.total)
                  for day in digest.trend],
        "opportunities": [_mention_view(m, digest.timezone) for m in digest.opportunities],
        "undelivered_heading": (f"{len(digest.undelivered)} {'alert' if len(digest.undelivered) == 1 else 'alerts'} "
                                "may not have arrived"),
        "undelivered": [(undelivered_line(u, digest.timezone), [_mention_view(m, digest.timezone) for m in u.mentions],
                         u.carried, links.get(f"undelivered:{n}", "")) for n, u in enumerate(digest.undelivered)],
        "spend": list(digest.spend),
        "held_heading": HELD_HEADING,
        "held_line": held_line(digest.held_total),
        "held_more": digest.held_total - len(digest.held),
        "held": [(_mention_view(h.mention, digest.timezone), one_line(h.reason, 300), safe_url(h.link))
                 for h in digest.held],
        "topics": [(topic.words, [_mention_view(m, digest.timezone) for m in topic.questions[:QUESTIONS_PER_TOPIC]],
                    len(topic.questions)) for topic in digest.topics],
    }


def spend_lines(config: ListenConfig, store: DigestStore, now: dt.datetime) -> tuple[str, ...]:
    """What each enabled network with a monthly budget (X: sold per post read) spent this calendar
    month (UTC), as its connector's ledger says: "X cost $0.42 in December of your $5.00 monthly budget"."""
    from chalicelib.networks import spec
    from chalicelib.sources.base import SPEND_STATE

    month = now.astimezone(dt.UTC)
    lines = []
    for network, options in config.enabled_networks().items():
        budget = getattr(options, "monthly_budget_usd", None)
        if budget is None:
            continue
        ledger = store.get_state(network, SPEND_STATE) or {}
        usd = ledger.get("usd") if ledger.get("month") == f"{month:%Y-%m}" else 0.0
        spent = float(usd) if isinstance(usd, int | float) else 0.0
        lines.append(f"{spec(network).label} cost ${spent:.2f} in {month:%B} (UTC) of your ${budget:.2f} "
                     "monthly budget, which it never exceeds")
    return tuple(lines)


def zone_name(timezone: str) -> str:
    """The recipient's time zone in words, for "days and times are ...": "Lisbon time",
    "New York time", "UTC" or "GMT" (the digest's days are the recipient's own local days)."""
    name = timezone.rsplit("/", 1)[-1].replace("_", " ")
    return name if "/" not in timezone or timezone.startswith("Etc/") else f"{name} time"


def held_line(held: int) -> str:
    """What the headline says of the mentions held back, which no other number counts."""
    if not held:
        return ""
    return (f"{'1 more mention was' if held == 1 else f'{held} more mentions were'} held back as likely "
            "not relevant: listed below, and in none of these numbers")


def _groups_note(digest: Digest) -> str:
    """Why the rule groups add up to more than the mentions, when they do."""
    grouped = sum(bar.count for bar in digest.groups)
    if grouped <= digest.total:
        return ""
    return (f"The groups add up to {grouped}, more than the {digest.total} mentions: a mention that matches "
            "rules of several groups is counted in each of them (and in the bars of each day).")


def with_links(digest: Digest, signer: TokenSigner | None, recipient: str, base_url: str) -> Digest:
    """The digest with the inbox links of its sections (``section_links``) and, with ``signer``, a
    "That's wrong" link (``unhold``) signed for ``recipient`` on each held mention."""
    held = digest.held if signer is None else tuple(
        replace(h, link=f"{base_url}/a/{signer.sign(h.mention.key, 'unhold', recipient)}") for h in digest.held)
    return replace(digest, held=held, inbox_link=inbox_link(digest, base_url),
                   inbox_links=section_links(digest, base_url))


OPPORTUNITIES = {"section": "opportunities"}
SECTION_FILTERS: dict[str, dict[str, str]] = {  # the inbox's filters (chalicelib.web.inbox) of each section
    "all": {"section": "counted"},  # the headline's mentions: all but those held back
    "to_answer": {"section": "to_answer"},  # "N of M opportunities still to answer": new or snoozed
    "opportunities": OPPORTUNITIES,
    "questions": {"section": "questions"},  # "What your industry asks", every topic's questions
    "held": {"state": "held"},  # "Held back as likely not relevant"
    **{f"group:{group}": {"section": "counted", "group": group} for group in GROUPS},  # "By rule group"
    **{f"sentiment:{label}": {"section": "counted", "sentiment": label} for label in SENTIMENTS},  # "Sentiment"
}


def inbox_link(digest: Digest, base_url: str, filters: Mapping[str, str] = OPPORTUNITIES) -> str:
    """The inbox (behind sign-in) filtered by ``filters`` (the opportunities by default) over the
    headline's local days: their UTC range read by the inbox, so it lists exactly the section's
    mentions, the unshown ones too. Built from our own values only (dates, the recipient's configured
    zone, the filters' names), never from a network's text."""
    query = urlencode({"from": digest.days[0].isoformat(), "to": digest.days[-1].isoformat(),
                       "tz": digest.timezone, **filters})
    return f"{base_url}/in/?{query}"


def section_links(digest: Digest, base_url: str) -> tuple[tuple[str, str], ...]:
    """(section, its inbox link) of every section that lists or counts mentions (``SECTION_FILTERS``,
    ``network:<network>`` for each top network still configured, ``rule:<rule>`` for each competitor of the
    share of voice (the brand's is ``group:brand``), and ``undelivered:<n>`` for the n-th delivery that
    failed or may not have arrived: what that alert carried to its recipient by its channel)."""
    links = [(name, inbox_link(digest, base_url, filters)) for name, filters in SECTION_FILTERS.items()]
    links += [(f"rule:{bar.label}", inbox_link(digest, base_url, {"section": "counted", "rule": bar.label}))
              for bar in digest.share_of_voice[1:]]  # the competitor rules' names (listen.yaml's)
    links += [(f"network:{key}", inbox_link(digest, base_url, {"section": "counted", "network": key}))
              for key in digest.network_keys if key]
    links += [(f"undelivered:{n}", f"{base_url}/in/?" + urlencode({"job": u.job_id, "for": u.recipient,
                                                                    "channel": u.channel}))
              for n, u in enumerate(digest.undelivered) if u.job_id and u.carried]
    return tuple(links)


def undelivered_line(u: Undelivered, timezone: str) -> str:
    """"The email alert to Maria (03 Dec 14:02 WET) may not have arrived: SES did not answer ..."."""
    what = {"digest": "digest", "sms": "SMS alert"}.get(u.channel, "email alert")
    when = when_in(dt.datetime.fromisoformat(u.at), timezone) if u.at else "at an unknown time"
    state = "failed" if u.status == "failed" else "may not have arrived"
    return f"The {what} to {one_line(u.recipient, 60)} ({when}) {state}: {one_line(u.detail, 200)}"


def undelivered_since(store: Any, since: float) -> tuple[Undelivered, ...]:
    """The deliveries that failed or may not have arrived since ``since`` (Unix seconds), with
    their mentions (the first ``UNDELIVERED_MENTIONS`` of them all: one batch read)."""
    found = store.undelivered(since)
    keys = list(dict.fromkeys(k for d in found for k in d.mention_keys))[:UNDELIVERED_MENTIONS]
    stored = store.get_mentions(keys) if keys else {}
    return tuple(Undelivered(d.recipient, d.channel, d.status, d.detail or "", d.sent_at or "",
                             tuple(stored[k] for k in d.mention_keys if k in stored), d.job_id, len(d.mention_keys))
                 for d in found)


def render_html(digest: Digest, *, business: str, web_view_link: str = "") -> str:
    """The digest as an HTML document (the email's HTML part, and the web view's page)."""
    return template("digest.html.j2").render(digest_context(digest, business=business, web_view_link=web_view_link))


def compose_digest(digest: Digest, recipient: Recipient, *, business: str, from_address: str, reply_to: str | None,
                   web_view_link: str, unsubscribe: str = "") -> EmailMessage:
    """The digest email for ``recipient``: text/plain and text/html alternatives, the web view link at the
    top, and a one-click ``unsubscribe`` URL (RFC 8058) when given."""
    if not recipient.email:
        raise DeliveryFailed(f"recipient {recipient.name} has no email address", permanent=True)
    context = digest_context(digest, business=business, web_view_link=web_view_link, unsubscribe=unsubscribe)
    message = set_headers(EmailMessage(), subject=context["subject"], business=business, from_address=from_address,
                          to=(recipient.name, recipient.email), reply_to=reply_to, unsubscribe=context["unsubscribe"])
    message.set_content(template("digest.txt.j2").render(context))
    message.add_alternative(template("digest.html.j2").render(context), subtype="html")
    # Headers unfolded (RFC 5322 allows 998): CPython folds "Bean There Café" into "Bean There  Café".
    return unfolded(message)


# ---------------------------------------------------------------- sending and the web view


def digest_time(local_date: dt.date, hour: int, timezone: str) -> dt.datetime:
    """When the digest of ``local_date`` is due: ``hour`` o'clock that day in ``timezone``, in UTC (an hour
    that a DST change skips is the moment the clocks jump; an hour that comes twice, its first time)."""
    return dt.datetime.combine(local_date, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(timezone)).astimezone(dt.UTC)


def due_date(now: dt.datetime, hour: int, timezone: str) -> dt.date | None:
    """The local date in ``timezone`` whose digest time (``digest_time``) fell in the hour up to ``now``,
    i.e. the date whose digest an hourly run at ``now`` sends; None when no digest is due."""
    zone = zoneinfo.ZoneInfo(timezone)
    hour_ago = now - dt.timedelta(hours=1)
    for local_date in sorted({hour_ago.astimezone(zone).date(), now.astimezone(zone).date()}):
        if hour_ago < digest_time(local_date, hour, timezone) <= now:
            return local_date
    return None


def iso_week(local_date: dt.date) -> str:
    """The ISO week of a date, "2026-W48": the weekly digest is sent once in each."""
    year, week, _ = local_date.isocalendar()
    return f"{year}-W{week:02d}"


class DigestSender:
    """Sends each recipient with an email address their digests at their local ``alerts.digest_hour``:
    the daily one (unless ``daily_digest`` is false) exactly once per local date, the weekly one on their
    ``weekly_digest`` weekday exactly once per ISO week (each a delivery record claimed first)."""

    def __init__(self, config: ListenConfig, store: Any, mailer: DigestMailer, signer: TokenSigner, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = store  # chalicelib.store.Store: digest reads plus the delivery records
        self.mailer = mailer
        self.signer = signer
        self.clock = clock

    def run(self, now: dt.datetime | None = None) -> list[tuple[str, str]]:
        """One scheduled run at ``now`` (default: the clock). Out: (recipient, "sent" | "failed" |
        "already sent" | "suppressed") for each daily digest due, and (recipient, "weekly sent" | "weekly
        failed" | ...) for each weekly one, for recipients with an email address whose digest hour it is;
        the others are not mentioned."""
        now = now or dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)
        due: list[tuple[Recipient, str, dt.date]] = []
        for recipient in self.config.recipients:
            local_date = due_date(now, self.config.alerts.digest_hour, recipient.timezone)
            if not recipient.email or local_date is None:
                continue
            if recipient.daily_digest:
                due.append((recipient, "daily", local_date))
            if recipient.weekly_digest == WEEKDAYS[local_date.weekday()]:
                due.append((recipient, "weekly", local_date))
        suppressed = self.store.suppressed() if due else {}
        outcomes = self._retry_due(now, suppressed)
        for recipient, period, local_date in due:
            assert recipient.email is not None
            if recipient.email.casefold() in suppressed:  # unsubscribed, bounced or complained
                outcome = "suppressed"
            else:
                outcome = self._deliver(recipient, *self._built(recipient, period, local_date, now))
            outcomes.append((recipient.name, outcome if period == "daily" else f"weekly {outcome}"))
        return outcomes

    def _built(self, recipient: Recipient, period: str, local_date: dt.date,
               now: dt.datetime) -> tuple[Digest, str, str]:
        """The digest due at ``local_date`` (with what failed to arrive in the last day), its
        web view key and its delivery's job id."""
        if period == "daily":
            digest = build_digest(self.config, self.store, now=now, timezone=recipient.timezone)
            since = now.timestamp() - UNDELIVERED_HOURS * 3600
            digest = replace(digest, undelivered=undelivered_since(self.store, since),
                             spend=spend_lines(self.config, self.store, now))
            digest = with_links(digest, self.signer, recipient.name, self.config.alerts.action_base_url)
            return digest, f"digest:{local_date.isoformat()}", f"digest-{local_date.isoformat()}"
        week_start = local_date - dt.timedelta(days=WEEK_DAYS)
        digest = build_weekly_digest(self.config, self.store, week_start=week_start, timezone=recipient.timezone)
        digest = replace(digest, spend=spend_lines(self.config, self.store, now))
        digest = with_links(digest, self.signer, recipient.name, self.config.alerts.action_base_url)
        return digest, f"digest:week:{week_start.isoformat()}", f"digest-week-{iso_week(local_date)}"

    def _message(self, recipient: Recipient, digest: Digest, view_key: str) -> EmailMessage:
        alerts = self.config.alerts
        view = self.signer.sign(view_key, "digest", recipient.name)
        unsubscribe = self.signer.sign(f"recipient:{recipient.name}", "unsubscribe", recipient.name,
                                       ttl_seconds=UNSUBSCRIBE_TTL)
        return compose_digest(digest, recipient, business=self.config.business.name,
                              from_address=alerts.from_address, reply_to=alerts.reply_to,
                              web_view_link=f"{alerts.action_base_url}/d/{view}",
                              unsubscribe=f"{alerts.action_base_url}/u/{unsubscribe}")

    def _deliver(self, recipient: Recipient, digest: Digest, view_key: str, job: str) -> str:
        """Compose, claim ``job`` for the recipient (once ever), send, and record how it went
        (the alerts' delivery path: a transient failure is sent again by a later run)."""
        assert recipient.email is not None
        message, email = self._message(recipient, digest, view_key), recipient.email
        outcome = deliver_once(self.store, job, recipient.name, CHANNEL, [m.key for m in digest.opportunities],
                               lambda: self.mailer.send_message(message, email), clock=self.clock)
        if outcome is None:
            return "already sent"
        status, detail = outcome
        if status != "sent":
            log.warning("%s digest for %s not sent (%s): %s", digest.period, recipient.name, status, detail)
        return status

    def _retry_due(self, now: dt.datetime, suppressed: Mapping[str, str]) -> list[tuple[str, str]]:
        """Send again, once each, the digests whose transient failure's retry is due (rebuilt as
        at their digest hour); a digest whose run stopped after claiming it is unconfirmed."""
        stopped, due = due_retries(self.store, (CHANNEL,))  # alerts: the poll cycle sends them again
        outcomes = [(delivery.recipient, "unconfirmed") for delivery in stopped]
        for delivery in due:
            recipient = self.config.recipient(delivery.recipient)
            named = self._named(delivery.job_id, recipient)
            if recipient is None or not recipient.email or named is None:
                continue
            if recipient.email.casefold() in suppressed:
                continue
            period, local_date = named
            at = digest_time(local_date, self.config.alerts.digest_hour, recipient.timezone)
            digest, view_key, _ = self._built(recipient, period, local_date, at)
            message = self._message(recipient, digest, view_key)
            claimed = claim_retry(self.store, delivery, CLAIM_LEASE_SECONDS)
            if claimed is None:
                continue
            status, _ = send_claimed(self.store, delivery.job_id, recipient.name, CHANNEL,
                                     lambda message=message, to=recipient.email: self.mailer.send_message(message, to),
                                     clock=self.clock, retry=claimed)
            outcomes.append((recipient.name, status if period == "daily" else f"weekly {status}"))
        return outcomes

    def _named(self, job_id: str, recipient: Recipient | None) -> tuple[str, dt.date] | None:
        """("daily" | "weekly", the local date it was due) of a digest delivery's job id."""
        try:
            if job_id.startswith("digest-week-") and recipient is not None and recipient.weekly_digest:
                year, week = job_id.removeprefix("digest-week-").split("-W")
                weekday = WEEKDAYS.index(recipient.weekly_digest) + 1
                return "weekly", dt.date.fromisocalendar(int(year), int(week), weekday)
            if job_id.startswith("digest-"):
                return "daily", dt.date.fromisoformat(job_id.removeprefix("digest-"))
        except ValueError:
            return None
        return None


def digest_page(config: ListenConfig, store: DigestStore, token: ActionToken,
                signer: TokenSigner | None = None) -> Page | None:
    """The page of the digest a verified token names for a configured recipient: ``digest:<local date>``
    (the daily one, rebuilt as at that date's digest hour) or ``digest:week:<first day>`` (the weekly one
    of the 7 days from that date); None when the token names no such digest. Its sections link into the
    inbox; with ``signer``, each held-back mention has its "That's wrong" link signed for the token's recipient."""
    recipient = config.recipient(token.recipient)
    prefix, _, named = token.mention_key.partition(":")
    weekly = named.startswith("week:")
    date_text = named.removeprefix("week:")
    if token.action != "digest" or prefix != "digest" or recipient is None or not _ISO_DATE.fullmatch(date_text):
        return None
    try:
        named_date = dt.date.fromisoformat(date_text)
    except ValueError:
        return None
    if weekly:
        digest = build_weekly_digest(config, store, week_start=named_date, timezone=recipient.timezone)
    else:
        at = digest_time(named_date, config.alerts.digest_hour, recipient.timezone)
        digest = build_digest(config, store, now=at, timezone=recipient.timezone)
    digest = with_links(digest, signer, recipient.name, config.alerts.action_base_url)
    return Page(200, render_html(digest, business=config.business.name))

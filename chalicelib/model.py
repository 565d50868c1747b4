"""The plain data that flows through one poll cycle: mentions, rule matches, alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

RuleGroup = Literal["brand", "product", "competitor", "industry"]
MentionKind = Literal["post", "comment"]
# The vocabulary of triage (chalicelib.triage decides them; alerts, digests and the store read them).
SentimentLabel = Literal["positive", "neutral", "negative"]
Intent = Literal["question", "recommendation_request", "complaint", "praise", "purchase_intent", "churn"]


@dataclass(frozen=True, slots=True)
class Mention:
    """One public item (post, comment, article...) fetched from a network, normalized.

    Every text field came from the network and is untrusted: escape it on output and
    never build a URL, query or command from it.
    """

    network: str  # registry name of the network, e.g. "hackernews"
    native_id: str  # the network's own id; (network, native_id) is unique
    url: str  # permalink to the item on the network
    text: str  # plain text, HTML already stripped
    created_at: dt.datetime  # timezone-aware, UTC
    title: str = ""
    kind: MentionKind = "post"
    author_handle: str = ""
    author_name: str = ""  # the name people know them by there (reply drafts greet it); never a numeric id or DID
    author_url: str = ""
    reach: int | None = None  # followers, karma, points... as the network gives it
    lang: str | None = None
    community: str = ""  # subreddit, Stack Exchange site, Mastodon instance...
    links: tuple[str, ...] = ()  # URLs linked from the item (for site: filters)
    tags: tuple[str, ...] = ()  # hashtags or network tags, without '#'
    thread: dict[str, str] = field(default_factory=dict)  # root/parent ids for replying
    rating: int | None = None  # stars the author gave (1-5): reviews and recommendations only

    @property
    def key(self) -> str:
        """The identity used for deduplication across cycles."""
        return f"{self.network}#{self.native_id}"

    @property
    def searchable_text(self) -> str:
        """The text rules are matched against and match spans refer to: title, blank line, text."""
        return f"{self.title}\n\n{self.text}" if self.title else self.text


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that matched a mention, with the character spans of the matched terms.

    Spans are (start, end) offsets into ``Mention.searchable_text``.
    """

    rule: str
    group: RuleGroup
    urgent: bool
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Triage:
    """What triage (``chalicelib.triage.triage``) decided about one mention."""

    sentiment: float  # VADER compound after the domain adjustments, in [-1, 1]
    sentiment_label: SentimentLabel
    intents: frozenset[Intent]
    priority: int  # 0-100
    reasons: tuple[str, ...]  # why the priority is what it is, in words, e.g. "names a competitor"
    opportunity: bool  # a question, recommendation request, complaint, or someone leaving a competitor


@dataclass(frozen=True, slots=True)
class MatchedMention:
    """A mention that matched at least one rule."""

    mention: Mention
    matches: tuple[RuleMatch, ...]
    triage: Triage | None = None  # set for new mentions before they are stored

    @property
    def urgent(self) -> bool:
        """Matched an urgent rule (the router also treats high priority as urgent)."""
        return any(m.urgent for m in self.matches)

    @property
    def priority(self) -> int:
        return self.triage.priority if self.triage else 0

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(m.rule for m in self.matches)


# The Mention fields left out of the stored dict when they hold their default (an empty title, no links...):
# most mentions leave most of them empty, and a stored mention is billed per KB. Read back with these defaults,
# so dicts stored whole (before issue 19) read the same.
_MENTION_DEFAULTS: dict[str, Any] = {
    "text": "", "title": "", "kind": "post", "author_handle": "", "author_name": "", "author_url": "",
    "reach": None, "lang": None, "community": "", "links": [], "tags": [], "thread": {}, "rating": None,
}


def _without_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in defaults or v != defaults[k]}


def matched_to_dict(item: MatchedMention) -> dict[str, Any]:
    """A JSON-ready dict of a matched mention (the store keeps it as one attribute), fields that hold
    their default left out (``matched_from_dict`` puts them back). A match's ``"rule"`` key stays first
    (``Mentions.rule_mentions_since`` filters on it)."""
    m = item.mention
    mention = {
        "network": m.network, "native_id": m.native_id, "url": m.url, "text": m.text,
        "created_at": m.created_at.isoformat(), "title": m.title, "kind": m.kind,
        "author_handle": m.author_handle, "author_name": m.author_name, "author_url": m.author_url,
        "reach": m.reach, "lang": m.lang, "community": m.community, "links": list(m.links),
        "tags": list(m.tags), "thread": dict(m.thread), "rating": m.rating,
    }
    return {
        **_without_defaults(mention, _MENTION_DEFAULTS),
        "matches": [
            _without_defaults({"rule": r.rule, "group": r.group, "urgent": r.urgent,
                               "spans": [list(s) for s in r.spans]}, {"urgent": False, "spans": []})
            for r in item.matches
        ],
        **({} if item.triage is None else {"triage": _without_defaults({
            "sentiment": item.triage.sentiment, "sentiment_label": item.triage.sentiment_label,
            "intents": sorted(item.triage.intents), "priority": item.triage.priority,
            "reasons": list(item.triage.reasons), "opportunity": item.triage.opportunity,
        }, {"intents": [], "reasons": [], "opportunity": False})}),
    }


def matched_from_dict(data: dict[str, Any]) -> MatchedMention:
    """The inverse of ``matched_to_dict``; reads dicts stored with every field too (before issue 19)."""
    data = {**_MENTION_DEFAULTS, **data}
    mention = Mention(
        network=data["network"], native_id=data["native_id"], url=data["url"], text=data["text"],
        created_at=dt.datetime.fromisoformat(data["created_at"]), title=data["title"], kind=data["kind"],
        author_handle=data["author_handle"], author_name=data["author_name"], author_url=data["author_url"],
        reach=data["reach"], lang=data["lang"], community=data["community"], links=tuple(data["links"]),
        tags=tuple(data["tags"]), thread=dict(data["thread"]), rating=data.get("rating"),
    )
    matches = tuple(
        RuleMatch(rule=r["rule"], group=r["group"], urgent=r.get("urgent", False),
                  spans=tuple((s[0], s[1]) for s in r.get("spans", ())))
        for r in data["matches"]
    )
    triage = None
    if data.get("triage"):
        t = data["triage"]
        triage = Triage(sentiment=t["sentiment"], sentiment_label=t["sentiment_label"],
                        intents=frozenset(t.get("intents", ())), priority=t["priority"],
                        reasons=tuple(t.get("reasons", ())), opportunity=t.get("opportunity", False))
    return MatchedMention(mention, matches, triage)


# --- what the store keeps (chalicelib.store reads and writes these) ---

@dataclass(frozen=True, slots=True)
class StoredMention:
    item: MatchedMention
    state: str  # new | handled
    stored_at: str
    job: str | None = None

    @property
    def key(self) -> str:
        return self.item.mention.key


@dataclass(slots=True)
class DigestDay:
    """One UTC day of new mentions, counted for the digest (``counts``: the day's sum of ``slots``)."""

    day: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # dimension -> value -> mentions
    opportunities: list[str] = field(default_factory=list)  # mention keys, in the order they were stored
    questions: list[str] = field(default_factory=list)
    hourly: dict[str, dict[str, int]] = field(default_factory=dict)  # UTC hour "HH" -> rule group -> mentions
    # UTC quarter-hour "HHMM" it starts at -> dimension -> value -> mentions: summed into any recipient's local
    # days (every zone's offset is a whole number of quarter hours); empty for a record kept before (per UTC day)
    slots: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    key_times: dict[str, float] = field(default_factory=dict)  # opportunity/question key -> when it was counted


@dataclass(slots=True)
class TaskState:
    """Where one (network, query) task is: its cursor, when it last ran, and whether its
    last fetch stopped early (then it runs again at the next cycle), and its interval (the
    tasks that run together are kept together: ``chalicelib.store.poll_state``)."""

    cursor: dict[str, Any] | None = None
    last_run: float = 0.0  # Unix seconds
    unfinished: bool = False
    every: float = 0.0  # seconds between runs (0: not known, a state stored before it was kept)


@dataclass(slots=True)
class Health:
    network: str
    consecutive_failures: int = 0
    last_success_at: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    retry_not_before: float = 0.0
    mentions_fetched: int = 0
    last_data_at: str | None = None  # last poll that returned at least one item (written at most hourly)
    watching_since: str | None = None  # the silence clock's start: first successful poll, or the one after an outage
    silence_told: str | None = None  # "silent" | "data again": what the owner was last told about silence
    silence_told_at: str | None = None
    items_skipped: int = 0  # items a network sent that could not be read, in all (each skipped alone)
    last_skip: str | None = None  # "N items skipped: reason", the latest cycle that skipped any
    last_skip_at: str | None = None


@dataclass(slots=True)
class Job:
    job_id: str
    created_at: str
    lease_until: float
    candidate_keys: list[str]
    status: str


@dataclass(slots=True)
class Delivery:
    job_id: str
    recipient: str
    channel: str
    status: str  # sending | sent | failed | skipped | unconfirmed | retry (a transient failure, tried again later)
    mention_keys: list[str] = field(default_factory=list)
    message_id: str | None = None
    detail: str | None = None
    sent_at: str | None = None
    attempts: int = 1  # sends tried so far (transient failures are retried later)
    retry_at: float | None = None  # Unix seconds of the next try while status is "retry"

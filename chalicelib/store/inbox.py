"""The inbox's reads: mentions by the UTC day they were stored, from the small ``inbox`` index.

Each mention item carries ``ipk`` = ``DAY#<yyyy-mm-dd>`` and ``isk`` = ``B<part>#<1000 - priority>#<stored_at,
digits turned around>#<key>`` (``ordered_key``), so the index holds one entry per mention, a day a partition,
in the inbox's order (``rank``): a page Queries about one page of each day and merges the days
(``Inbox.inbox_ordered``). A change of state or triage rewrites ``isk`` (``Mentions._with_sort_key``); entries
keyed the former way (``<stored_at>#<key>``, sorting before ``B``) are still read, whole, and ordered here.
The index projects only ``state``, ``assigned_to`` and ``facets`` (what the list shows,
filters and searches on: network, rules, groups, sentiment, intents, priority, opportunity, the
author and the first ``TEXT_CHARS`` characters of title and text, as compact JSON): about 250
bytes on the mention item, so an index write costs one write unit (moving an entry: a delete and a
put). An assignment rewrites the entry in place; other updates of the mention do not touch it; the
mention's ``data`` is never projected.

Filtering and paging are the web layer's (``chalicelib.web.inbox``) pure functions over ``InboxEntry``:
the same on the table and on its in-memory twin.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.model import MatchedMention
from chalicelib.store.table import Item, Table, iso, string_of
from chalicelib.table import INBOX_INDEX_NAME, INBOX_PARTITION_KEY, INBOX_SORT_KEY

PARTS = 4  # the inbox's order: 0 unanswered opportunities, 1 new, 2 snoozed and held, 3 the rest
NEW_FORM = "B"  # an ordered sort key starts so; one from before (``<stored_at>#<key>``) starts with a digit
MAX_BATCH = 1000  # index entries one Query of a page asks for at most (~250 KB: a Query returns at most 1 MB)
TEXT_CHARS = 160  # characters of title and text an inbox row shows and the text search covers
AUTHOR_CHARS = 40


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """One mention as the inbox lists it (every text field untrusted: escape on output)."""

    key: str
    stored_at: str
    state: str
    assigned_to: str | None
    network: str
    rules: tuple[str, ...]
    groups: tuple[str, ...]
    sentiment: str
    intents: tuple[str, ...]
    priority: int
    opportunity: bool
    text: str  # the first TEXT_CHARS characters of title and text, spaces folded
    author: str


def day_partition(day: str) -> str:
    return f"DAY#{day}"


def part_of(state: str, opportunity: bool) -> int:
    """The part of the inbox a mention is listed in (``PARTS``)."""
    return (0 if opportunity else 1) if state == "new" else 2 if state in ("snoozed", "held") else 3


def rank(e: InboxEntry) -> tuple[int, int, str, str]:
    """The inbox's order: unanswered opportunities, new, snoozed and held, the rest; then by
    priority, then newest first (the time's digits turned around), then by key."""
    newest_first = e.stored_at.translate(str.maketrans("0123456789", "9876543210"))
    return part_of(e.state, e.opportunity), -e.priority, newest_first, e.key


def ordered_key(place: tuple[Any, ...]) -> str:
    """The index sort key of a place in the inbox's order (``rank``): ``B<part>#<1000 - priority>#<stored_at,
    digits turned around>#<key>``, so the index holds a day's entries in the inbox's order."""
    part, minus_priority, newest_first, key = place
    return f"{NEW_FORM}{part}#{1000 + minus_priority:04d}#{newest_first}#{key}"


def sort_key_of(state: str, facets: str, stored_at: str, key: str) -> str:
    """The index sort key of a mention in this state with these facets (rewritten with either)."""
    return ordered_key(rank(entry_from(key, stored_at, state, None, facets)))


def inbox_keys(stored_at: str, key: str, facets: str, state: str = "new") -> dict[str, dict[str, str]]:
    """The index keys of a mention stored at ``stored_at`` (ISO 8601 UTC)."""
    return {INBOX_PARTITION_KEY: {"S": day_partition(stored_at[:10])},
            INBOX_SORT_KEY: {"S": sort_key_of(state, facets, stored_at, key)}}


def facets_of(item: MatchedMention) -> str:
    """The compact JSON of what an inbox row shows, filters and searches on."""
    m, t = item.mention, item.triage
    shown = " ".join(f"{m.title} {m.text}".split())[:TEXT_CHARS]
    return json.dumps({
        "n": m.network, "r": sorted({r.rule for r in item.matches}), "g": sorted({r.group for r in item.matches}),
        "s": t.sentiment_label if t else "", "i": sorted(t.intents) if t else [], "p": item.priority,
        "o": bool(t and t.opportunity), "t": shown, "a": (m.author_name or m.author_handle)[:AUTHOR_CHARS],
    }, separators=(",", ":"), ensure_ascii=False)


def entry_from(key: str, stored_at: str, state: str, assigned_to: str | None, facets: str) -> InboxEntry:
    f: dict[str, Any] = json.loads(facets)
    return InboxEntry(key=key, stored_at=stored_at, state=state, assigned_to=assigned_to, network=f["n"],
                      rules=tuple(f["r"]), groups=tuple(f["g"]), sentiment=f["s"], intents=tuple(f["i"]),
                      priority=int(f["p"]), opportunity=bool(f["o"]), text=f["t"], author=f["a"])


def days_between(first: str, last: str) -> list[str]:
    """The UTC days from ``first`` to ``last`` (yyyy-mm-dd), both included, newest first."""
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(end - dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def rule_keys_since(entries: Sequence[InboxEntry], rule: str, since_at: str, limit: int) -> list[str]:
    """The keys of the entries of ``rule`` stored at ``since_at`` or later, at most ``limit``."""
    return [e.key for e in entries if rule in e.rules and e.stored_at >= since_at][:limit]


def days_since(since: float, now: float) -> list[str]:
    """The UTC days from ``since`` to ``now`` (Unix seconds), newest first."""
    return days_between(iso(since)[:10], iso(now)[:10])


class Inbox(Table):
    def inbox_entries(self, days: Sequence[str]) -> list[InboxEntry]:
        """Every mention stored on these UTC days (yyyy-mm-dd), as the index holds it (eventually
        consistent: a change shows within a second), newest first: one Query a day, several at once."""

        def _day(part: Sequence[str]) -> list[InboxEntry]:
            items = self._query(f"{INBOX_PARTITION_KEY} = :day", {":day": {"S": day_partition(part[0])}},
                                index=INBOX_INDEX_NAME)
            return [_entry(item) for item in reversed(items)]

        return [e for part in self._in_parallel(_day, [[day] for day in days]) for e in part]

    def inbox_ordered(self, days: Sequence[str], parts: tuple[int, int] = (0, PARTS - 1),
                      after: tuple[Any, ...] | None = None, batch: int = 51) -> Iterator[InboxEntry]:
        """The entries of these UTC days in the inbox's order (``rank``), only those of ``parts``
        (first, last) and after ``after``, read as they are taken: each day's ordered range is Queried
        ``batch`` entries first (every day's at once), four times more each time after (at most
        ``MAX_BATCH``), and the days' streams are
        merged. Entries still keyed the former way (``<stored_at>#<key>``) are read whole and ordered here."""
        first, last = parts
        low = f"{NEW_FORM}{first}#"
        if after is not None and tuple(after[:1]) >= (first,):
            low = max(low, ordered_key(after))
        high = f"{NEW_FORM}{last}$"

        def _keep(e: InboxEntry) -> bool:
            place = rank(e)
            return first <= place[0] <= last and (after is None or place > after)

        def _batch(day: str, start: Item | None, limit: int = batch) -> tuple[list[InboxEntry], Item | None]:
            if low > high:  # the cursor is past these parts
                return [], None
            page: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            response = self._call(
                "query", TableName=self.table, IndexName=INBOX_INDEX_NAME, Limit=limit, **page,
                KeyConditionExpression=f"{INBOX_PARTITION_KEY} = :day AND {INBOX_SORT_KEY} BETWEEN :low AND :high",
                ExpressionAttributeValues={":day": {"S": day_partition(day)}, ":low": {"S": low}, ":high": {"S": high}})
            return [_entry(item) for item in response["Items"]], response.get("LastEvaluatedKey")

        def _first(part: Sequence[str]) -> tuple[list[InboxEntry], list[InboxEntry], Item | None]:
            former = self._query(f"{INBOX_PARTITION_KEY} = :day AND {INBOX_SORT_KEY} < :new",
                                 {":day": {"S": day_partition(part[0])}, ":new": {"S": NEW_FORM}},
                                 index=INBOX_INDEX_NAME)
            return (sorted(filter(_keep, map(_entry, former)), key=rank), *_batch(part[0], None))

        def _stream(day: str, entries: list[InboxEntry], start: Item | None) -> Iterator[InboxEntry]:
            yield from entries
            limit = batch
            while start is not None:  # a filter keeping few rows: read on, four times more each time
                limit = min(limit * 4, MAX_BATCH)
                entries, start = _batch(day, start, limit)
                yield from entries

        streams = [heapq.merge(former, _stream(day, entries, start), key=rank)
                   for day, (former, entries, start) in zip(days, self._in_parallel(_first, [[d] for d in days]),
                                                             strict=True)]
        return (e for e in heapq.merge(*streams, key=rank) if _keep(e))


def _entry(item: Item) -> InboxEntry:
    sort_key = item[INBOX_SORT_KEY]["S"]
    if sort_key.startswith(NEW_FORM):  # B<part>#<priority>#<stored_at turned around>#<key>
        _, _, newest_first, key = sort_key.split("#", 3)
        stored_at = newest_first.translate(str.maketrans("0123456789", "9876543210"))
    else:  # the former form
        stored_at, key = sort_key.split("#", 1)
    return entry_from(key, stored_at, item["state"]["S"], string_of(item, "assigned_to"), item["facets"]["S"])

"""The one small interface every network connector implements, and its error types.

A connector turns the owner's search terms into the network's cheapest API calls and
fetches only what is new since its cursor. It never raises anything but ``SourceError``
(and its subclasses): the pipeline records the error as the network's health and
leaves that network's cursor where it was.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.model import Mention

Cursor = dict[str, Any]  # JSON-serializable, opaque to everything but its connector
SecretLookup = Callable[[str], str]  # SSM parameter name -> decrypted value
T = TypeVar("T")
K = TypeVar("K", int, str)  # an item id in a listing


class SourceError(Exception):
    """A network could not be read this cycle. ``str(err)`` is said to the owner as is."""

    def __init__(self, network: str, message: str) -> None:
        super().__init__(f"{network}: {message}")
        self.network = network
        self.message = message


class RateLimited(SourceError):
    """The network asked us to slow down (429, quota, backoff field)."""

    def __init__(self, network: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(network, message)
        self.retry_after = retry_after  # seconds until the network accepts us again, if it said


class Unavailable(SourceError):
    """A 5xx, a timeout or a connection error that survived the retries."""


class BadPayload(SourceError):
    """The network answered with something that is not the documented shape."""


class CredentialsError(SourceError):
    """A credential is missing, wrong or expired; the network is skipped until it is fixed."""


class SourceOptions(BaseModel):
    """Options every network accepts in listen.yaml; connectors subclass it for their own."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    base_url: str  # every network's base URL is configurable (the offline replay server)
    timeout_seconds: float = 10.0
    max_pages: int = 5  # per query per cycle, so one busy network cannot eat the Lambda's time
    # Tell the owner when the network answers but returns nothing for longer than this (hours):
    # an API that changed shape silently, a frozen feed, a token that lost a scope. None: the
    # connector's default (``Capabilities.expected_data_hours``); 0: never.
    expect_data_within_hours: float | None = Field(default=None, ge=0)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a network can do, said once per connector."""

    server_search: bool  # True: fetch(term) is called per search term and the network searches
    replies: bool  # an API exists to post a reply
    local_stream: bool = False  # True: fetch("*") is also called once a cycle; filtered locally
    # Hours without a single item after which the network is probably broken, not quiet. Busy
    # streams (a Mastodon local timeline, DEV's or Lobsters' newest list) say ~24-72; search-only
    # networks, where a small brand may be quiet for weeks, say None: no silence alert unless the
    # owner sets ``expect_data_within_hours``.
    expected_data_hours: float | None = None


@dataclass(slots=True)
class FetchResult:
    """What one fetch gave: new mentions (newest first or any order) and the next cursor."""

    mentions: list[Mention]
    cursor: Cursor
    pages: int = 0
    complete: bool = True  # False when the page limit or time budget stopped the walk
    # Items that could not be read (one reason each, in words): a bad item is skipped and
    # counted, never a bad page; the cursor moves past it.
    skipped: list[str] = field(default_factory=list)


SKIP_REASON_CHARS = 200  # a skip reason is said to the owner; keep it short
TIME_FLOOR = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TIME_CEILING = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)  # later times are not real: they would break cursor arithmetic


def zoned_time(value: Any) -> dt.datetime | None:
    """An ISO 8601 time with a zone offset (``value`` from a payload), in UTC; None if it is
    not a string, not ISO 8601, has no offset, or is not a UTC time (past year 9999)."""
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
        return when.astimezone(dt.UTC) if when.tzinfo else None
    except (ValueError, OverflowError):  # OverflowError: in UTC it falls outside years 1-9999
        return None


def payload_time(network: str, value: Any, what: str) -> float:
    """``zoned_time(value)`` as Unix seconds between 1970 and 2200, else ``BadPayload`` saying
    ``what`` is not that (e.g. "items[3].created_at is not an ISO time with offset")."""
    when = zoned_time(value)
    if when is None or not TIME_FLOOR <= when <= TIME_CEILING:
        raise BadPayload(network, what)
    return when.timestamp()



def read_each(network: str, items: Iterable[Any], read: Callable[[Any], T | None]) -> tuple[list[T], list[str]]:
    """``read`` applied to each item alone: the results it gave (None: not wanted, e.g.
    filtered out) and one reason per item it could not read. Whatever one item holds
    (a missing field, a wrong type, a timestamp out of range, markup the parser refuses),
    the other items of the page come through."""
    good: list[T] = []
    skipped: list[str] = []
    for item in items:
        try:
            value = read(item)
        except Exception as err:  # hostile input: any failure is this item's alone
            reason = err.message if isinstance(err, SourceError) else f"{type(err).__name__}: {err}"
            skipped.append(reason[:SKIP_REASON_CHARS])
            continue
        if value is not None:
            good.append(value)
    return good, skipped


class SkipLedger:
    """The items of one fetch that could not be read, each with its id and time where those
    can be read (``identify``; None where not). The cursor moves past an unreadable item as
    past any other, so it is counted only while it is new (``reasons``), and a connector may
    remember its id (``unreadable``) beside the ids it read."""

    def __init__(self, network: str, identify: Callable[[Any], tuple[Any, float | None]]) -> None:
        self.network = network
        self.identify = identify
        self.unreadable: dict[Any, float] = {}  # id -> time, of the unreadable items whose both are readable
        self._skips: list[tuple[Any, float | None, str]] = []

    def read(self, items: Iterable[Any], read: Callable[[Any], T | None]) -> list[T]:
        """``read_each`` over ``items``, noting each item it could not read."""
        good: list[T] = []
        for item in items:
            value, skipped = read_each(self.network, [item], read)
            good += value
            if skipped:
                self.note(item, skipped[0])
        return good

    def note(self, item: Any, reason: str) -> None:
        try:
            key, when = self.identify(item)
        except SourceError:
            key, when = None, None
        if key is not None and when is not None:
            self.unreadable[key] = when
            self._skips.append((key, when, reason))
        else:
            self._skips.append((None, None, reason))

    def reasons(self, is_new: Callable[[Any, float], bool] = lambda key, when: True) -> list[str]:
        """The reasons of the unreadable items that are new (all by default); one without a
        readable id or time always is."""
        return [reason for key, when, reason in self._skips if key is None or when is None or is_new(key, when)]

    def reasons_since(self, watermark: float, seen: Collection[Any], gap: Mapping[str, Any] | None) -> list[str]:
        """``reasons`` for a walk from ``watermark`` (``seen``: the ids read at it) or through a
        ``gap`` (its ``low`` and ``high`` times): one behind the cursor was counted before."""
        def new(key: Any, when: float) -> bool:
            in_gap = bool(gap and float(gap["low"]) <= when <= float(gap["high"]))
            return when > watermark or (when == watermark and key not in seen) or in_gap
        return self.reasons(new)


@dataclass(slots=True)
class Budget:
    """A deadline shared by all networks of a cycle, so a slow one cannot eat the Lambda."""

    deadline: float  # time.monotonic() value
    clock: Callable[[], float] = field(default=time.monotonic)

    def remaining(self) -> float:
        return self.deadline - self.clock()

    def exhausted(self) -> bool:
        return self.remaining() <= 0


class Source(Protocol):
    """A network connector: ``chalicelib/networks/<name>/source.py``, named by the network's spec.

    Constructed as ``Cls(options, http=HttpClient, secrets=SecretLookup, state=SourceState)``.
    """

    name: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    options_model: ClassVar[type[SourceOptions]]

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Fetch what is new for ``query`` since ``cursor`` (None on the first run).

        On the first run a connector returns only recent items (it does not backfill
        history) and a cursor. Raises only ``SourceError``.
        """
        ...


class SourceBase:
    """What every connector keeps: its options, HTTP client, secret lookup, durable state and
    clock. Subclasses set ``spec`` and ``options_model`` and may add ``_start()`` for their own fields."""

    options_model: ClassVar[type[SourceOptions]]
    name: ClassVar[str]
    display_name: ClassVar[str]
    # The network's folder spec (a NetworkSpec): ``name`` and ``display_name`` (its label) are read
    # from it when a subclass sets it.
    spec: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.name, cls.display_name = spec.name, spec.label

    def __init__(
        self,
        options: SourceOptions,
        *,
        http: Any,
        secrets: SecretLookup | None = None,
        state: SourceState | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(options, self.options_model):
            raise TypeError(f"{type(self).__name__} takes {self.options_model.__name__}, not {type(options).__name__}")
        self.options = options
        self.http = http
        self._secrets = secrets
        self._state = state
        self._clock = clock
        self._start()

    def _start(self) -> None:
        """Set up the connector's own fields (nothing by default)."""


# The connector-state entry where a network sold per request keeps what it spent this calendar month (UTC):
# ``{"month": "2026-12", "usd": 1.23}`` (written by the connector, read by the digest).
SPEND_STATE = "spend"


class SourceState(Protocol):
    """Small durable state a connector may keep between cycles (e.g. a cached session token)."""

    def get_state(self, network: str, name: str) -> dict[str, Any] | None: ...

    def put_state(self, network: str, name: str, value: dict[str, Any]) -> None: ...


class MissingSecret(CredentialsError):
    """A credential is not there: no SSM parameter named in listen.yaml (``configured``
    False), or the named one does not exist or is empty. ``what`` says which, in words."""

    def __init__(self, network: str, message: str, *, what: str, configured: bool) -> None:
        super().__init__(network, message)
        self.what = what
        self.configured = configured


def require_secret(network: str, secrets: SecretLookup | None, parameter: str | None, what: str) -> str:
    """The decrypted value of an SSM parameter a connector needs, or ``CredentialsError``
    naming the parameter (never its value); ``MissingSecret`` when it is not there."""
    if not parameter:
        raise MissingSecret(network, f"no SSM parameter is configured for the {what}", what=what, configured=False)
    if secrets is None:
        raise CredentialsError(network, f"cannot read the {what}: no secret store")
    try:
        value = secrets(parameter)
    except LookupError:
        raise MissingSecret(network, f"SSM parameter {parameter} for the {what} does not exist", what=what,
                            configured=True) from None
    if not value:
        raise MissingSecret(network, f"SSM parameter {parameter} for the {what} is empty", what=what,
                            configured=True)
    return value


# --- several terms in one search ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchBatching:
    """How many terms a network's search takes in one query, within its documented limits."""

    max_terms: int  # terms per query (operators the network allows, less those the connector uses)
    max_chars: int  # characters of the terms' part of the query
    doc: str  # where the network documents the operator and the limits


def pack_terms(terms: Sequence[str], render: Callable[[Sequence[str]], str],
               batching: SearchBatching) -> list[tuple[str, ...]]:
    """``terms`` in order, in groups that each render to one query within ``batching``'s
    limits (a term too long to share a query goes alone)."""
    groups: list[tuple[str, ...]] = []
    group: list[str] = []
    for term in terms:
        if group and (len(group) >= batching.max_terms or len(render([*group, term])) > batching.max_chars):
            groups.append(tuple(group))
            group = []
        group.append(term)
    if group:
        groups.append(tuple(group))
    return groups


def attribute(result: FetchResult, terms: Sequence[str]) -> dict[str, FetchResult]:
    """One combined search's result as one result per term: every term gets the group's
    cursor, and each mention goes to the first term its text names (else the first term),
    so a mention is handed over once. Matching stays local: the rules re-check every mention."""
    per_term = {term: FetchResult([], result.cursor, 0, result.complete) for term in terms}
    first = per_term[terms[0]]
    first.pages, first.skipped = result.pages, result.skipped
    lowered = [(term, term.lower()) for term in terms]
    for mention in result.mentions:
        text = f"{mention.title} {mention.text}".lower()
        owner = next((term for term, low in lowered if low in text), terms[0])
        per_term[owner].mentions.append(mention)
    return per_term


def oldest_cursor(cursors: Sequence[Cursor | None], floor: Callable[[Cursor], float],
                  restart: Callable[[float], Cursor]) -> Cursor | None:
    """The one cursor a group of terms searches from: theirs when they all hold the same; a
    first run (None) when any term is new; else a fresh cursor at the oldest floor among them
    (``floor``: the time below which a cursor has read everything, gaps included;
    ``restart``: a cursor at that time), so nothing any term still needs is skipped. What is
    fetched again is dropped as already stored."""
    if any(c is None for c in cursors):
        return None
    if all(c == cursors[0] for c in cursors):
        return cursors[0]
    return restart(min(floor(c) for c in cursors if c is not None))


class BatchedSearch:
    """Mixin: ``fetch_many`` searches several terms per request by the network's own OR
    operator. The connector sets ``batching`` and implements ``_render(terms)`` (the terms'
    part of the query), ``_fetch_terms(terms, cursor, budget)`` (``fetch`` for a group) and
    ``_cursor_floor``/``_cursor_at`` (see ``oldest_cursor``)."""

    batching: ClassVar[SearchBatching]

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        raise NotImplementedError

    def _render(self, terms: Sequence[str]) -> str:
        raise NotImplementedError

    def _fetch_terms(self, terms: Sequence[str], cursor: Cursor | None, budget: Budget) -> FetchResult:
        raise NotImplementedError

    def _cursor_floor(self, cursor: Cursor) -> float:
        raise NotImplementedError

    def _cursor_at(self, floor: float) -> Cursor:
        raise NotImplementedError

    def fetch_many(self, queries: Sequence[str], cursors: Mapping[str, Cursor | None],
                   budget: Budget) -> dict[str, FetchResult]:
        """What is new for each of ``queries``, each since its cursor: one request per group
        of terms instead of one per term. Raises only ``SourceError`` (then nothing is kept)."""
        results: dict[str, FetchResult] = {}
        for group in pack_terms(queries, self._render, self.batching):
            if len(group) == 1:
                results[group[0]] = self.fetch(group[0], cursors.get(group[0]), budget)
                continue
            cursor = oldest_cursor([cursors.get(term) for term in group], self._cursor_floor, self._cursor_at)
            results.update(attribute(self._fetch_terms(group, cursor, budget), group))
        return results


def quoted(term: str) -> str:
    """A term as one phrase of a search query: in double quotes when it has a space (a quote
    inside it would end the phrase, so it is dropped)."""
    term = term.replace('"', " ").strip()
    return f'"{term}"' if " " in term else term


def search_requests(terms: Sequence[str], batching: SearchBatching | None, separator: str) -> int:
    """How many queries ``terms`` take when combined with ``separator`` (" OR ", "|") within
    ``batching`` (one a term without it)."""
    if batching is None:
        return len(terms)
    return len(pack_terms(terms, lambda group: separator.join(quoted(t) for t in group), batching)) if terms else 0


class PageWalk(Generic[K]):
    """What one pass over a newest-first listing gave (``walk_newest``): the new items by id,
    every item on the pages read (``listed``), how many pages, and, for a walk that stopped
    before reaching what was read before, ``complete`` False and the page to go on from."""

    def __init__(self) -> None:
        self.new: dict[K, dict[str, Any]] = {}
        self.listed: dict[K, dict[str, Any]] = {}
        self.pages = 0
        self.complete = True
        self.next_page = 1


def walk_newest(read_page: Callable[[int], list[dict[str, Any]]],
                id_and_time: Callable[[dict[str, Any]], tuple[K, float]],
                *, first_page: int, page_size: int, low: float, low_ids: Collection[K], high: float | None,
                high_ids: Collection[K], more: Callable[[PageWalk[K]], bool]) -> PageWalk[K]:
    """Read a newest-first listing from ``first_page`` (``read_page(n)``: its checked items)
    until an item at or below ``low`` or a short page shows up, or ``more(walk)`` says stop.
    New: after the watermark ``low`` (at it, an id not in ``low_ids``) and, with a ``high``
    (a gap's upper end), before it (at it, an id not in ``high_ids``); the first copy of each
    (pages shift while items arrive)."""
    walk: PageWalk[K] = PageWalk()
    page = first_page
    while True:
        if not more(walk):
            walk.complete, walk.next_page = False, page
            return walk
        items = read_page(page)
        walk.pages += 1
        reached_old = len(items) < page_size  # a short page is the last one
        for item in items:
            key, at = id_and_time(item)
            walk.listed[key] = item
            if at < low:
                reached_old = True
            is_new = at > low or (at == low and key not in low_ids)
            below_high = high is None or at < high or (at == high and key not in high_ids)
            if is_new and below_high:
                walk.new.setdefault(key, item)
        page += 1
        if reached_old:
            return walk


def next_gap(gap: dict[str, Any] | None, watermark: float, seen: Collection[K], next_page: int,
             times: Mapping[K, float], *, number: Callable[[Any], float] = float,
             key: Callable[[Any], K] = lambda i: i) -> dict[str, Any] | None:
    """The range a walk that stopped early (at ``next_page``) leaves to read, as the cursor
    keeps it: ``times`` are the new items' times it read, ``gap`` the range it was reading
    (None: it started at the watermark). ``number``/``key`` read the cursor's times and ids
    back (JSON)."""
    if not times:
        # Nothing in range was read: an old gap moves on by the pages read; without one, redo the walk.
        return {**gap, "page": next_page} if gap else None
    low, low_ids = (number(gap["low"]), list(gap["low_ids"])) if gap else (watermark, sorted(seen))
    oldest = min(times.values())
    high_ids = {k for k, t in times.items() if t == oldest}
    if gap and number(gap["high"]) == oldest:
        high_ids |= {key(i) for i in gap["high_ids"]}
    return {"page": next_page, "low": low, "low_ids": low_ids, "high": oldest, "high_ids": sorted(high_ids)}


def advance_watermark(cursor: Cursor, field: str, watermark: float, seen: Collection[K],
                      dated: Mapping[K, float]) -> None:
    """Move a newest-first walk's watermark (``cursor[field]``, with the ids read at it in
    ``cursor["ids"]``) up to the newest of ``dated`` (the ids read, by time, none past the
    clock); at the same time as ``watermark``, the ids add to ``seen``."""
    if not dated:
        return
    newest = max(dated.values())
    if newest > watermark:
        cursor[field] = newest
        cursor["ids"] = sorted(k for k, t in dated.items() if t == newest)
    else:
        cursor["ids"] = sorted(set(seen) | {k for k, t in dated.items() if t == newest})

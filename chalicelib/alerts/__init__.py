"""What an alert says, independent of the channel that carries it.

The router decides who gets which mentions on which channel; each channel module
(email, sms) turns an ``AlertBundle`` into its own message and sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.config import Recipient
from chalicelib.model import StoredMention
from chalicelib.sources import source_class

if TYPE_CHECKING:
    from chalicelib.triage import Triage


class DeliveryFailed(Exception):
    """A channel could not deliver. ``permanent`` failures are not retried; ``ambiguous`` ones
    (no answer after the request went out: it may have been sent) are never sent again."""

    def __init__(self, message: str, *, permanent: bool, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.ambiguous = ambiguous


def unanswered(err: Exception) -> bool:
    """The request went out but no answer came (a read timeout, a closed connection): the
    provider may have accepted it."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    return isinstance(err, ReadTimeoutError | ConnectionClosedError)


@dataclass(frozen=True, slots=True)
class AlertItem:
    mention: StoredMention
    links: dict[str, str] = field(default_factory=dict)  # action -> signed URL
    urgent: bool = False  # an urgent rule matched or the priority reached the urgent threshold
    also: tuple[tuple[str, str], ...] = ()  # (network, permalink) of the same story told elsewhere


@dataclass(frozen=True, slots=True)
class Notice:
    """A line for the owner about the alerting itself, with an action link."""

    text: str
    link_label: str
    link: str


@dataclass(frozen=True, slots=True)
class AlertBundle:
    """Mentions for one recipient on one channel, most important first."""

    recipient: Recipient
    items: tuple[AlertItem, ...]
    total: int  # all mentions in this alert; items may show fewer
    short_link: str = ""  # a short action link for the first item (SMS)
    notices: tuple[Notice, ...] = ()
    unsubscribe: str = ""  # one-click unsubscribe URL (RFC 8058) for the List-Unsubscribe header
    last_sms_this_hour: bool = False  # the recipient's hourly SMS cap is reached with this one
    urgent_total: int | None = None  # urgent mentions of all ``total`` (None: count the items shown)

    @property
    def hidden(self) -> int:
        return self.total - len(self.items)


class Channel(Protocol):
    name: str

    def send(self, bundle: AlertBundle) -> str:
        """Deliver the bundle; return the provider's message id; raise DeliveryFailed."""
        ...


def network_name(network: str) -> str:
    """The network's name as people know it (from its connector)."""
    try:
        return source_class(network).display_name
    except KeyError:
        return network


def triage_words(triage: Triage) -> tuple[str, ...]:
    """The sentiment and the priority's reasons, each said once: "very negative" stands for
    "negative" too (no "negative · … · very negative")."""
    label = triage.sentiment_label
    said = any(reason == label or reason.endswith(f" {label}") for reason in triage.reasons)
    return (*(() if said else (label,)), *triage.reasons)


DIRECTION_CONTROLS = "\u202a-\u202e\u2066-\u2069"  # overrides and isolates, as a character-class range
_DIRECTION_CONTROLS = re.compile(f"[{DIRECTION_CONTROLS}]")


_UNSHOWABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{DIRECTION_CONTROLS}]")


def without_direction_controls(text: str) -> str:
    """Text with the Unicode direction overrides and isolates removed: a U+202E in a post would
    otherwise show the rest of the paragraph reversed (and can disguise a link's text)."""
    return _DIRECTION_CONTROLS.sub("", text)


def shown_text(text: str) -> str:
    """Text fit to show on several lines: without direction controls and without control
    characters but line breaks and tabs (a terminal mail reader would obey an ESC sequence)."""
    return _UNSHOWABLE.sub("", text)


def excerpt(text: str, spans: list[tuple[int, int]], limit: int = 400) -> list[tuple[str, bool]]:
    """Text cut to about ``limit`` characters around the first match, as (segment,
    highlighted) pairs for templates to escape and mark up."""
    spans = sorted((s, e) for s, e in spans if 0 <= s < e <= len(text))
    start = 0
    if len(text) > limit and spans and spans[0][0] > limit // 3:
        start = spans[0][0] - limit // 3
    end = min(len(text), start + limit)
    segments: list[tuple[str, bool]] = []
    position = start
    for s, e in spans:
        s, e = max(s, position), min(e, end)
        if s >= e:
            continue
        if s > position:
            segments.append((text[position:s], False))
        segments.append((text[s:e], True))
        position = e
    if position < end:
        segments.append((text[position:end], False))
    segments = [(clean, marked) for segment, marked in segments if (clean := shown_text(segment))]
    if start > 0:
        segments.insert(0, ("…", False))
    if end < len(text):
        segments.append(("…", False))
    return segments

"""What an alert says, independent of the channel that carries it.

The router decides who gets which mentions on which channel; each channel module
(email, sms) turns an ``AlertBundle`` into its own message and sends it.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from chalicelib.config import Recipient
from chalicelib.model import StoredMention
from chalicelib.networks import label

if TYPE_CHECKING:
    from chalicelib.triage import Triage


UNSUBSCRIBE_TTL = 90 * 86400  # one-click unsubscribe links (alerts, digests) must keep working for a long time


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


def send_failure(err: Exception, service: str, what: str, permanent_codes: Collection[str]) -> DeliveryFailed:
    """The ``DeliveryFailed`` for an SES or SNS send that raised ``err`` (a botocore error): a
    refusal names its code and is permanent when the code is in ``permanent_codes``; no answer
    after the request went out is ambiguous (it may have been sent); no connection is transient."""
    from botocore.exceptions import ClientError

    if isinstance(err, ClientError):
        code = err.response["Error"]["Code"]
        return DeliveryFailed(f"{service} refused the {what} ({code})", permanent=code in permanent_codes)
    if unanswered(err):
        return DeliveryFailed(f"{service} did not answer ({type(err).__name__})", permanent=False, ambiguous=True)
    return DeliveryFailed(f"{service} could not be reached ({type(err).__name__})", permanent=False)


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
    inbox_link: str = ""  # the inbox listing every mention of this alert (its job's, for this recipient)

    @property
    def hidden(self) -> int:
        return self.total - len(self.items)


class Channel(Protocol):
    name: str

    def send(self, bundle: AlertBundle) -> str:
        """Deliver the bundle; return the provider's message id; raise DeliveryFailed."""
        ...


def network_name(network: str) -> str:
    """The network's name as people know it (from its spec)."""
    return label(network)


def triage_words(triage: Triage) -> tuple[str, ...]:
    """The sentiment and the priority's reasons, each said once: "very negative" stands for
    "negative" too (no "negative · … · very negative")."""
    label = triage.sentiment_label
    said = any(reason == label or reason.endswith(f" {label}") for reason in triage.reasons)
    return (*(() if said else (label,)), *triage.reasons)

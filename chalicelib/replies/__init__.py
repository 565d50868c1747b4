"""Posting the owner's reply to a mention on its network: the result, the errors, and what the
repliers share (each is ``chalicelib/networks/<name>/replier.py``, named by the network's spec,
which also holds its reply limit and unit).

A replier is constructed as ``Cls(options, http=HttpClient, secrets=SecretLookup,
state=SourceState)`` and has one method, ``post(mention, text, *, idempotency_key) -> Reply``.

At most once: every post is recorded in the ``SourceState`` under ``reply#<idempotency_key>``,
first as "sending" (before the request leaves), then as "posted" with the reply's URL. A call
with a key already posted returns the recorded reply without a request (a retried page is
safe). POSTs are never retried by the HTTP client: a request that got no answer (timeout,
dropped connection, a gateway 502/504) may have been posted, so it raises ``ReplyUncertain``
and leaves the record at "sending"; a later call with the same key then refuses too (the
owner looks at the thread first) unless the network itself deduplicates on the key
(Mastodon's ``Idempotency-Key``, kept one hour).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import requests

from chalicelib.model import Mention
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    CredentialsError,
    MissingSecret,
    RateLimited,
    SecretLookup,
    SourceBase,
    SourceError,
    SourceOptions,
    SourceState,
    Unavailable,
)
from chalicelib.sources.http import DEFAULT_USER_AGENT, HttpClient

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
UNCERTAIN_STATUSES = frozenset({502, 504})  # a gateway gave up: the network behind it may have posted


class ReplyError(SourceError):
    """A reply was not posted. ``str(err)`` is said to the owner as is."""


class ReplyTooLong(ReplyError, ValueError):
    """The text is over (or under) the network's limit; refused before any request."""

    def __init__(self, network: str, message: str, limit: int) -> None:
        super().__init__(network, message)
        self.limit = limit


class ReplyRefused(ReplyError):
    """The network answered and refused the reply (locked thread, deleted post, validation)."""


class NotReplyable(ReplyError):
    """The mention lacks what replying needs (its thread ids), or its network has no write API."""


class ReplyCredentialsError(ReplyError, CredentialsError):
    """A write credential is missing, wrong, expired or lacks the scope to post."""


class ReplyMissingSecret(ReplyCredentialsError):
    """A write credential is not there (not named in listen.yaml, or not in SSM)."""

    def __init__(self, network: str, message: str, *, what: str, configured: bool) -> None:
        super().__init__(network, message)
        self.what = what
        self.configured = configured


class ReplyRateLimited(ReplyError, RateLimited):
    """The network asked us to slow down; nothing was posted."""


class ReplyUnavailable(ReplyError, Unavailable):
    """The network failed (5xx) and said so; nothing was posted."""


class ReplyBadPayload(ReplyError, BadPayload):
    """The network answered with something that is not the documented shape."""


class ReplyUncertain(ReplyError, Unavailable):
    """The POST got no answer: the reply may or may not be on the network."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A posted reply: its permalink and the network's id for it."""

    url: str
    native_id: str
    already_posted: bool = False  # True when it came from the record of an earlier call


class Replier(Protocol):
    """Posts replies on one network: ``chalicelib/networks/<name>/replier.py``, named by its spec."""

    network: ClassVar[str]
    options_model: ClassVar[type[SourceOptions]]

    def post(self, mention: Mention, text: str, *, idempotency_key: str) -> Reply:
        """Post ``text`` as a reply to ``mention``; the same key never posts twice."""
        ...


def grapheme_count(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky and Mastodon count.

    Follows the main rules of UAX #29: CR LF, combining and spacing marks, variation
    selectors, emoji modifiers, tag sequences, ZWJ emoji sequences and regional-indicator
    pairs (flags) each stay in one cluster. Hangul jamo sequences and prepended marks are
    counted per code point (rare in replies; they only make the count larger, never smaller).
    """
    count = 0
    previous = ""
    flags_open = False  # the previous code point is a regional indicator that starts a flag
    for char in text:
        joins = bool(previous) and (
            (previous == "\r" and char == "\n")
            or _extends(char)
            or (previous == "\u200d" and _pictographic(char))
            or (flags_open and _regional_indicator(char))
        )
        # Regional indicators pair up into flags: the one after a pair starts a new flag.
        flags_open = _regional_indicator(char) and not joins
        if not joins:
            count += 1
        previous = char
    return count


def _extends(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or code == 0x200D  # zero width joiner
        or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _pictographic(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) == "So" or 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF


def _regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


class BaseReplier:
    """What every replier shares: the length check, the at-most-once record, error mapping
    and a client that never retries a POST. Subclasses set ``network``, implement
    ``_length`` and ``_send`` (which posts through ``self.post_http``) and may set
    ``resend_is_safe`` when the network deduplicates on the idempotency key; ``reply_limit`` and
    ``reply_unit`` come from the network's spec."""

    network: ClassVar[str] = ""
    options_model: ClassVar[type[SourceOptions]] = SourceOptions
    resend_is_safe: ClassVar[float] = 0.0  # seconds during which the network deduplicates a resend
    reply_limit: ClassVar[int] = 0  # the most a reply may hold, in ``reply_unit``: each replier takes
    reply_unit: ClassVar[str] = "characters"  # both from its folder's spec (this framework reads no registry)
    # The network's folder spec (a NetworkSpec): ``network``, ``reply_limit`` and ``reply_unit`` are read
    # from it when a subclass sets it.
    spec: ClassVar[Any] = None
    # The network's connector class when the replier posts with the connector's session or token
    # (``self._connector``, built with the same options, client, secrets, state and clock).
    connector_class: ClassVar[type[SourceBase] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        spec = cls.__dict__.get("spec")
        if spec is not None:
            cls.network, cls.reply_limit, cls.reply_unit = spec.name, spec.reply_limit or 0, spec.reply_unit

    def __init__(
        self,
        options: SourceOptions,
        *,
        http: HttpClient,
        secrets: SecretLookup | None = None,
        state: SourceState,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(options, self.options_model):
            options = self.options_model.model_validate(options.model_dump())
        self.options = options
        self.http = http
        # A POST that timed out may have been posted: it is never retried (nor after a 5xx).
        self.post_http = HttpClient(
            http.network, timeout=http.timeout, retries=0, session=http.session,
            user_agent=str(http.session.headers.get("User-Agent") or DEFAULT_USER_AGENT),
        )
        self._secrets = secrets
        self._state = state
        self._clock = clock
        self._accepted = False  # a POST of the current call got a 2xx/3xx answer
        if self.connector_class is not None:
            self._connector = self.connector_class(self.options, http=http, secrets=secrets, state=state, clock=clock)

    def post(self, mention: Mention, text: str, *, idempotency_key: str) -> Reply:
        """Post ``text`` as a reply to ``mention`` and return the reply's URL and id.

        Raises ``ReplyTooLong`` before any request when the text is over the limit, and only
        ``ReplyError`` subclasses otherwise (``ReplyCredentialsError``, ``ReplyRateLimited``,
        ``ReplyUnavailable``, ``ReplyUncertain``, ``ReplyRefused``, ``NotReplyable``). The
        POST itself is sent once, never retried: a timeout raises ``ReplyUncertain``.
        """
        if not IDEMPOTENCY_KEY.match(idempotency_key):
            raise ValueError("idempotency_key must be 8-128 letters, digits, '-' or '_'")
        if mention.network != self.network:
            raise NotReplyable(self.network, f"this mention is from {mention.network}, not {self.network}")
        self.check_length(text)
        name = f"reply#{idempotency_key}"
        record = self._state.get_state(self.network, name) or {}
        if record.get("status") == "posted" and isinstance(record.get("url"), str):
            return Reply(record["url"], str(record.get("native_id", "")), already_posted=True)
        now = self._clock()
        if record.get("status") == "sending":
            first = float(record.get("at", 0))
            if now - first >= self.resend_is_safe:
                raise ReplyUncertain(self.network, "an earlier attempt got no answer and may have posted: look at "
                                                   "the thread before sending it again as a new reply")
            now = first  # the network's deduplication window runs from the first attempt
        self._state.put_state(self.network, name, {"status": "sending", "at": now})
        self._accepted = False
        try:
            with reply_errors(self.network):
                reply = self._send(mention, text, idempotency_key)
        except ReplyUncertain:
            raise
        except ReplyError as err:
            if self._accepted and isinstance(err, BadPayload):
                # The network said yes but its answer made no sense: the reply is most likely up.
                raise ReplyUncertain(self.network, f"the network accepted the reply but its answer was not "
                                                   f"understood ({err.message}); look at the thread") from None
            self._state.put_state(self.network, name, {"status": "failed", "at": now})
            raise
        except Exception:
            self._state.put_state(self.network, name, {"status": "failed", "at": now})
            raise
        self._state.put_state(self.network, name, {"status": "posted", "at": now, "url": reply.url,
                                                   "native_id": reply.native_id})
        return reply

    def check_length(self, text: str) -> None:
        """``ReplyTooLong`` naming the limit when ``text`` does not fit the network."""
        limit, unit = self.reply_limit, self.reply_unit
        length = self._length(text)
        if not text.strip():
            raise ReplyTooLong(self.network, "the reply is empty", limit)
        if length > limit:
            raise ReplyTooLong(self.network, f"the reply is {length} {unit}; the limit is {limit}", limit)

    def _length(self, text: str) -> int:
        return len(text)

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        raise NotImplementedError

    def _budget(self) -> Budget:
        """A deadline for the requests of one post (the connectors' session code wants one)."""
        return Budget(deadline=time.monotonic() + 3 * self.http.timeout + 5)

    def _post(self, url: str, *, accept: tuple[int, ...] = (), method: str = "POST",
              **kwargs: Any) -> requests.Response:
        """One POST (or the network's write ``method``: a PUT), never retried; no answer (or a
        gateway's 502/504) is ``ReplyUncertain``, another 5xx ``ReplyUnavailable`` (the network said it failed)."""
        server_errors = tuple(range(500, 600))
        try:
            resp = self.post_http.request(method, url, accept=(*accept, *server_errors), **kwargs)
        except Unavailable as err:
            raise ReplyUncertain(self.network, f"{err.message}: the reply may have been posted; look at the "
                                               "thread before sending it again") from None
        if resp.status_code in UNCERTAIN_STATUSES:
            raise ReplyUncertain(self.network, f"gateway error (HTTP {resp.status_code}): the reply may have been "
                                               "posted; look at the thread before sending it again")
        if resp.status_code >= 500 and resp.status_code not in accept:
            raise ReplyUnavailable(self.network, f"server error (HTTP {resp.status_code}); nothing was posted")
        if resp.status_code < 400:
            self._accepted = True
        return resp

    def _thread(self, mention: Mention, *names: str) -> list[str]:
        """The named values of ``mention.thread``, or ``NotReplyable`` naming the first missing."""
        values = []
        for name in names:
            value = mention.thread.get(name)
            if not isinstance(value, str) or not value:
                raise NotReplyable(self.network, f"the mention has no '{name}' to reply to")
            values.append(value)
        return values


@contextmanager
def reply_errors(network: str) -> Iterator[None]:
    """Turn the ``SourceError`` of shared connector code into the matching ``ReplyError``."""
    try:
        yield
    except ReplyError:
        raise
    except RateLimited as err:
        raise ReplyRateLimited(network, err.message, err.retry_after) from None
    except MissingSecret as err:
        raise ReplyMissingSecret(network, err.message, what=err.what, configured=err.configured) from None
    except CredentialsError as err:
        raise ReplyCredentialsError(network, err.message) from None
    except Unavailable as err:
        raise ReplyUnavailable(network, err.message) from None
    except BadPayload as err:
        raise ReplyBadPayload(network, err.message) from None
    except SourceError as err:
        raise ReplyError(network, err.message) from None

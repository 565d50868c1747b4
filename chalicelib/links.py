"""The links of alerts: signed action tokens, the action catalogue and short-link codes.

A token is ``<payload>.<signature>``, both base64url without padding. The payload is
compact JSON: key id ``k``, mention key ``m``, action ``a``, recipient ``r``, issued-at ``i``
and expiry ``e`` (Unix seconds) and a random nonce ``n``. The signature is HMAC-SHA256 over the payload
with the signing key from SSM, compared in constant time. A token is bound to one
mention, one action and one recipient, and each route takes only its own actions
(``ROUTE_ACTIONS``). What a link does when opened is ``chalicelib.web``'s; what an action
does is its module in ``chalicelib.actions``.

This module imports nothing of the service but the configuration, so the alert email, the
digest, the poll cycle and the web layer all read it without importing each other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.config import ListenConfig, Recipient

# The catalogue: every action a link can name, with its button label.
ACTIONS = {
    "handled": "Mark as handled",
    "not_relevant": "Not relevant",
    "raise_cap": "Raise the cap for today",
    "exclude": "Add this exclusion",
    "unsubscribe": "Unsubscribe",
    "digest": "Open the digest",
    "reply": "Reply",
    "mute_author": "Mute this author",
    "snooze": "Snooze",
    "mute_thread": "Mute thread",
    "assign": "Assign",
    "wrong_label": "Wrong label",
    "unhold": "That's wrong",  # the digest's held-back mentions: relevant after all
}
RULE_ACTIONS = frozenset({"raise_cap", "exclude"})
NO_MENTION_ACTIONS = RULE_ACTIONS | {"unsubscribe", "digest"}
# The token kinds each route takes: /a/ the alert's actions, /u/ unsubscribe, /d/ a digest's web view.
ROUTE_ACTIONS = {
    "a": frozenset(ACTIONS) - {"unsubscribe", "digest"},
    "u": frozenset({"unsubscribe"}),
    "d": frozenset({"digest"}),
}
# The links under each mention of an alert, in this order (assign only where someone else can take it).
ALERT_ACTIONS = ("reply", "handled", "snooze", "mute_author", "mute_thread", "assign", "not_relevant", "wrong_label")
DEFAULT_TTL_SECONDS = 7 * 86400
SHORT_CODE_LENGTH = 8  # secrets.token_urlsafe(6): the characters after /s/ that an SMS quotes


def assignees(config: ListenConfig, holder: str) -> list[Recipient]:
    """The recipients ``holder`` may give a mention to: everyone else with an email address."""
    return [r for r in config.recipients if r.name != holder and r.email]


def alert_actions(config: ListenConfig, recipient: str) -> tuple[str, ...]:
    """The actions an alert to ``recipient`` links to under each mention."""
    can_assign = bool(assignees(config, recipient))
    return tuple(a for a in ALERT_ACTIONS if a != "assign" or can_assign)


def new_short_code() -> str:
    """A fresh short-link code, ``SHORT_CODE_LENGTH`` URL-safe characters."""
    return secrets.token_urlsafe(6)


def is_short_code(code: str) -> bool:
    """Whether ``code`` has the form of a short-link code (4 to 16 URL-safe ASCII characters;
    the ones made now have ``SHORT_CODE_LENGTH``): anything else is never looked up."""
    return code.isascii() and 4 <= len(code) <= 16 and all(c.isalnum() or c in "-_" for c in code)


class InvalidToken(Exception):
    """The token is forged, altered, expired or malformed. The reason is for logs only,
    never for the person holding the link."""


@dataclass(frozen=True, slots=True)
class ActionToken:
    mention_key: str
    action: str
    recipient: str
    expires_at: int
    nonce: str
    issued_at: int = 0  # Unix seconds; 0 in tokens made before issued-at was signed


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(key: bytes) -> str:
    """A short public name of a signing key, so keys can rotate."""
    return hashlib.sha256(key).hexdigest()[:8]


class TokenSigner:
    """Makes action tokens with the current key and checks them with it or, while keys rotate,
    with a previous one (the token's key id says which)."""

    def __init__(self, key: bytes, *, previous: Sequence[bytes] = (), clock: Callable[[], float] = time.time) -> None:
        for candidate in (key, *previous):
            if len(candidate) < 32:
                raise ValueError("the signing key must be at least 32 bytes")
        self._key = key
        self._kid = key_id(key)
        self._keys = {key_id(k): k for k in (*previous, key)}  # key id -> key; the current one wins
        self._clock = clock

    def sign(self, mention_key: str, action: str, recipient: str, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        now = int(self._clock())
        payload = {
            "k": self._kid, "m": mention_key, "a": action, "r": recipient,
            "i": now, "e": now + ttl_seconds, "n": secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        return f"{body}.{self._signature(body)}"

    def _signature(self, body: str, key: bytes | None = None) -> str:
        return _b64(hmac.new(key or self._key, body.encode("ascii"), hashlib.sha256).digest())

    def verify(self, token: str) -> ActionToken:
        """The token's contents if it is genuine and not expired; else ``InvalidToken``."""
        body, dot, signature = token.partition(".")
        if not dot or not body.isascii() or not signature.isascii() or len(token) > 2048:
            raise InvalidToken("malformed")
        signed_with = next((kid for kid, key in self._keys.items()
                            if hmac.compare_digest(self._signature(body, key), signature)), None)
        if signed_with is None:
            raise InvalidToken("bad signature")
        try:
            payload = json.loads(_unb64(body))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise InvalidToken("undecodable payload") from None
        if not isinstance(payload, dict) or payload.get("k") != signed_with:
            raise InvalidToken("unknown key")
        try:
            result = ActionToken(
                mention_key=str(payload["m"]), action=str(payload["a"]), recipient=str(payload["r"]),
                expires_at=int(payload["e"]), nonce=str(payload["n"]), issued_at=int(payload.get("i", 0)),
            )
        except (KeyError, TypeError, ValueError):
            raise InvalidToken("incomplete payload") from None
        if result.expires_at <= self._clock():
            raise InvalidToken("expired")
        if result.issued_at > self._clock() + 300 or result.issued_at >= result.expires_at:
            raise InvalidToken("issued in the future")
        if result.action not in ACTIONS:
            raise InvalidToken("unknown action")
        return result

"""Meta's webhook checks, pure functions (no I/O).

- Subscription (``GET``): Meta calls the callback URL with ``hub.mode=subscribe``,
  ``hub.verify_token`` (the string the owner typed in the App Dashboard) and ``hub.challenge``;
  the endpoint answers the challenge only when the token is the expected one.
- Delivery (``POST``): ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body
  keyed with the app secret. Checked on the bytes as received, before the body is parsed.

Source: Meta for Developers, "Getting Started" with Webhooks, sections "Verification Requests" and
"Validating Payloads", https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

SIGNATURE_HEADER = "x-hub-signature-256"
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Meta's challenge is a number; anything but a short token of URL-safe characters is refused
# rather than echoed (the answer is text/plain, but nothing hostile is reflected at all).
_CHALLENGE = re.compile(r"[0-9A-Za-z._~-]{1,128}")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` (any case); None when absent, or present more than once under
    different cases (which one a proxy would pass on is not known: neither is trusted)."""
    wanted = name.lower()
    values = [value for key, value in headers.items() if key.lower() == wanted]
    return values[0] if len(values) == 1 else None


def expected_signature(body: bytes, app_secret: str) -> str:
    """``sha256=<hex>`` of ``body`` keyed with ``app_secret``: what Meta sends for this body."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, signature: str | None, app_secret: str) -> bool:
    """Whether ``signature`` (the header's value) signs ``body`` with ``app_secret``: exactly one
    ``sha256=`` and 64 hex digits, compared in constant time."""
    if not signature or not app_secret:
        return False
    found = _SIGNATURE.fullmatch(signature.strip())
    if found is None:
        return False
    given = found.group(1).lower().encode("ascii")
    wanted = expected_signature(body, app_secret).removeprefix("sha256=").encode("ascii")
    return hmac.compare_digest(given, wanted)


def subscription_challenge(params: Mapping[str, str] | None, verify_token: str) -> str | None:
    """The challenge to answer when ``params`` are Meta's subscription request with ``verify_token``
    (compared in constant time); None for anything else."""
    params = params or {}
    mode, token, challenge = (params.get(k) for k in ("hub.mode", "hub.verify_token", "hub.challenge"))
    if mode != "subscribe" or not isinstance(token, str) or not isinstance(challenge, str) or not verify_token:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8")):
        return None
    return challenge if _CHALLENGE.fullmatch(challenge) else None

"""Action tokens: bound to mention, action and recipient; forgery, tampering and expiry refused."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.links import InvalidToken, TokenSigner
from tests.builders import FakeClock

KEY = b"k" * 32


def test_a_signed_token_verifies_to_what_was_signed() -> None:
    signer = TokenSigner(KEY, clock=FakeClock(1_000_000))
    token = signer.verify(signer.sign("hackernews#42", "handled", "Maria", ttl_seconds=60))
    assert (token.mention_key, token.action, token.recipient, token.expires_at) == (
        "hackernews#42", "handled", "Maria", 1_000_060)
    assert len(token.nonce) == 16


def test_two_tokens_for_the_same_action_have_different_nonces() -> None:
    signer = TokenSigner(KEY)
    first, second = (signer.verify(signer.sign("hackernews#42", "handled", "Maria")) for _ in range(2))
    assert first.nonce != second.nonce


def test_token_signed_with_another_key_is_refused() -> None:
    forged = TokenSigner(b"f" * 32).sign("hackernews#42", "handled", "Maria")
    with pytest.raises(InvalidToken, match="bad signature"):
        TokenSigner(KEY).verify(forged)


def test_altered_payload_is_refused() -> None:
    signer = TokenSigner(KEY)
    body, _, signature = signer.sign("hackernews#42", "handled", "Maria").partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["r"] = "Mallory"
    altered = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="bad signature"):
        signer.verify(f"{altered}.{signature}")


def test_altered_signature_is_refused() -> None:
    signer = TokenSigner(KEY)
    token = signer.sign("hackernews#42", "handled", "Maria")
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken, match="bad signature"):
        signer.verify(flipped)


def test_expired_token_is_refused() -> None:
    clock = FakeClock(1_000_000)
    signer = TokenSigner(KEY, clock=clock)
    token = signer.sign("hackernews#42", "handled", "Maria", ttl_seconds=60)
    clock.now = 1_000_060
    with pytest.raises(InvalidToken, match="expired"):
        signer.verify(token)


@pytest.mark.parametrize("garbage", ["", "no-dot", ".", "abc.def", "é.é", "a" * 3000])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(InvalidToken):
        TokenSigner(KEY).verify(garbage)


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenSigner(b"short")


def test_unknown_action_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="unknown action 'delete'"):
        TokenSigner(KEY).sign("hackernews#42", "delete", "Maria")


def test_while_keys_rotate_links_signed_with_the_previous_key_still_work() -> None:
    old, new = b"o" * 32, b"n" * 32
    sent_before = TokenSigner(old).sign("hackernews#42", "handled", "Maria")
    rotating = TokenSigner(new, previous=[old])
    assert rotating.verify(sent_before).mention_key == "hackernews#42"
    assert rotating.verify(rotating.sign("hackernews#43", "handled", "Maria")).mention_key == "hackernews#43"
    with pytest.raises(InvalidToken, match="bad signature"):  # the rotation is over: the old key is gone
        TokenSigner(new).verify(sent_before)


def test_a_token_cannot_claim_another_keys_id() -> None:
    old, new = b"o" * 32, b"n" * 32
    body, _, _ = TokenSigner(new).sign("hackernews#42", "handled", "Maria").partition(".")
    forged = f"{body}.{TokenSigner(old)._signature(body)}"  # new key's id, old key's signature
    with pytest.raises(InvalidToken, match="unknown key"):
        TokenSigner(new, previous=[old]).verify(forged)


def test_a_token_says_when_it_was_issued_and_one_issued_in_the_future_is_refused() -> None:
    signer = TokenSigner(KEY, clock=FakeClock(1_000_000))
    assert signer.verify(signer.sign("hackernews#42", "handled", "Maria")).issued_at == 1_000_000
    later = TokenSigner(KEY, clock=FakeClock(1_000_000 + 301)).sign("hackernews#42", "handled", "Maria")
    with pytest.raises(InvalidToken, match="issued in the future"):
        signer.verify(later)

"""The webhook routes in the attack suite (bench/webhooks.py ``attacks``, run by bench/attacks.py):
forged signatures, oversized bodies, header, path and verification games are all refused with
nothing stored or sent; and the checks do see an attack that works."""

from __future__ import annotations

import pytest

from bench.attacks import Tally
from bench.webhooks import attacks
from chalicelib.store import Store

pytestmark = pytest.mark.browser


def test_no_webhook_attack_gets_through(store: Store) -> None:
    tally = Tally()
    attacks(tally.check, store)
    assert tally.through == []
    assert tally.cases > 100  # 80 forged signatures, bodies, 9 paths, 9 verification games


def test_the_webhook_checks_catch_a_forgery_that_works(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chalicelib.webhooks.service.signature_valid", lambda body, header, secret: True)
    tally = Tally()
    attacks(tally.check, store)
    assert any("forged signature" in failure for failure in tally.through)

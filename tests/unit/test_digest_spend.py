"""The digest says what a network sold per read (X) cost this month, from the connector's own ledger."""

from __future__ import annotations

import dataclasses
import datetime as dt

from chalicelib.digest import Digest, build_digest, compose_digest, spend_lines
from chalicelib.sources.base import SPEND_STATE
from chalicelib.store.memory import MemoryStore
from tests.builders import CONFIG, config

NOW = dt.datetime(2026, 12, 5, 8, 15, tzinfo=dt.UTC)
WITH_X = config(networks={**CONFIG["networks"], "x": {"bearer_token_parameter": "/social-listening/x/bearer",
                                                      "monthly_budget_usd": 5}})


def test_this_months_spend_is_said_with_the_budget() -> None:
    store = MemoryStore(clock=lambda: NOW.timestamp())
    store.put_state("x", SPEND_STATE, {"month": "2026-12", "usd": 0.415})
    assert spend_lines(WITH_X, store, NOW) == (
        "X cost $0.41 in December (UTC) of your $5.00 monthly budget, which it never exceeds",)


def test_last_months_ledger_is_nothing_spent_yet_and_networks_without_a_budget_say_nothing() -> None:
    store = MemoryStore(clock=lambda: NOW.timestamp())
    store.put_state("x", SPEND_STATE, {"month": "2026-11", "usd": 4.99})
    assert spend_lines(WITH_X, store, NOW) == (
        "X cost $0.00 in December (UTC) of your $5.00 monthly budget, which it never exceeds",)
    assert spend_lines(config(), store, NOW) == ()


def test_the_digest_email_carries_the_line() -> None:
    store = MemoryStore(clock=lambda: NOW.timestamp())
    digest: Digest = build_digest(WITH_X, store, now=NOW, timezone="Europe/Lisbon")
    digest = dataclasses.replace(digest, spend=("X cost $0.41 in December (UTC) of your $5.00 monthly budget",))
    message = compose_digest(digest, WITH_X.recipients[0], business="Bean There Café",
                             from_address="alerts@beanthere.example", reply_to=None, web_view_link="")
    for part in ("plain", "html"):
        assert "X cost $0.41 in December (UTC) of your $5.00 monthly budget" in message.get_body((part,)).get_content()

"""Stack Exchange (API 2.3): questions per site; replies are comments (write_access token)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.spec import DAY, Credential, Limit, NetworkSpec


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    daily = 10000.0 if options.get("key_parameter") else 300.0
    return (Limit(daily - float(options.get("quota_reserve", 50)), DAY, "https://api.stackexchange.com/docs/throttle"),)


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    n = len(terms)
    return len(options.get("sites") or []) * (n if n < int(options.get("list_from_terms", 2)) else 1)


SPEC = NetworkSpec(
    name="stackexchange",
    label="Stack Exchange",
    source="chalicelib.networks.stackexchange.source:StackExchange",
    emulator="chalicelib.networks.stackexchange.emulator:StackExchangeAPI",
    replier="chalicelib.networks.stackexchange.replier:StackExchangeReplier",
    reach_unit=("reputation", "reputation"),
    thread_keys=("site", "question_id"),
    reply_limit=600,  # a comment
    limits=limits,
    requests_per_poll=requests_per_poll,
    credentials=(Credential("key_parameter", "Stack Apps key"),
                 Credential("access_token_parameter", "access token (write_access)", for_replies=True)),
)

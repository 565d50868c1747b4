"""GitHub: issue, pull request (and discussion) search; replies are comments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.spec import Credential, Limit, NetworkSpec


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    per_minute = 30.0 if options.get("token_parameter") else 10.0
    return (Limit(per_minute, 60.0, "https://docs.github.com/en/rest/search/search#rate-limit"),)


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    return searches * (2 if options.get("token_parameter") and options.get("discussions") else 1)


SPEC = NetworkSpec(
    name="github",
    label="GitHub",
    source="chalicelib.networks.github.source:GitHub",
    emulator="chalicelib.networks.github.emulator:GitHubAPI",
    replier="chalicelib.networks.github.replier:GitHubReplier",
    sites=("github.com",),
    thread_keys=("repo", "number"),
    reply_limit=65536,
    limits=limits,
    query_separator=" OR ",
    requests_per_poll=requests_per_poll,
    credentials=(Credential("token_parameter", "GitHub token"),),
)

"""Bluesky (AT Protocol, app password session): post search, or the Jetstream firehose when
terms are many; replies are posts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.spec import Credential, Limit, NetworkSpec

# From this many search terms a poll reads the Jetstream firehose (one connection) instead of one
# searchPosts request a term. Measured (``python -m bench.requests``, docs/cost.md): one firehose read
# takes less Lambda time than searches from 2 terms up (bluesky_firehose_break_even_terms), but it moves
# ~0.3-1 GB a day out of Bluesky's public Jetstream where a few searches move kilobytes; so search
# is kept while terms are few, up to the listen.yaml example's 9 (4.5 s of requests a poll, within
# the 3,000 requests per 5 minutes), and the firehose reads from 10 terms up.
FIREHOSE_FROM_TERMS = 10


def firehose_chosen(options: Mapping[str, Any], terms: int) -> bool:
    """Whether a poll of ``terms`` search terms reads the firehose: listen.yaml's ``mode``
    ("search" or "firehose") when it forces one, else from ``firehose_from_terms`` terms up."""
    mode = options.get("mode", "auto")
    if mode != "auto":
        return bool(mode == "firehose")
    return terms >= int(options.get("firehose_from_terms") or FIREHOSE_FROM_TERMS)


def poll_mode(options: Mapping[str, Any], terms: Sequence[str]) -> str:
    """How a poll reads Bluesky for these terms, in words (``make check``)."""
    from_terms = int(options.get("firehose_from_terms") or FIREHOSE_FROM_TERMS)
    forced = options.get("mode", "auto") != "auto"
    why = "as listen.yaml's mode asks" if forced else f"from {from_terms} terms up; one search a term below"
    if firehose_chosen(options, len(terms)):
        return f"reads the Jetstream firehose, one connection a poll ({why})"
    why = "as listen.yaml's mode asks" if forced else f"the firehose from {from_terms} terms up"
    return f"one searchPosts request a term ({why})"


SPEC = NetworkSpec(
    name="bluesky",
    label="Bluesky",
    source="chalicelib.networks.bluesky.source:Bluesky",
    emulator="chalicelib.networks.bluesky.emulator:BlueskyAPI",
    replier="chalicelib.networks.bluesky.replier:BlueskyReplier",
    reach_unit=("like", "likes"),
    sites=("bsky.app",),
    thread_keys=("root_uri",),
    reply_limit=300,
    reply_unit="graphemes",
    limits=lambda options: (Limit(3000.0, 300.0, "https://docs.bsky.app/docs/advanced-guides/rate-limits"),),
    # The firehose: one WebSocket connection a poll (and a getProfiles call per 25 authors of the
    # posts that matched, none on a poll that matched nothing).
    requests_per_poll=lambda options, terms, searches: 1 if firehose_chosen(options, len(terms)) else searches,
    poll_mode=poll_mode,
    credentials=(Credential("handle_parameter", "handle", required=True),
                 Credential("app_password_parameter", "app password", required=True)),
)

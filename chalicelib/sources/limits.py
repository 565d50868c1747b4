"""How often each network's published limits let this configuration poll it.

``allowed_intervals(config)`` says per enabled network the shortest whole-minute interval at
which every search term (and the local stream) can be polled without going over the
network's own limits, from the requests one poll makes for this configuration (terms
combined as the connectors combine them: ``sources.base.BatchedSearch``). ``describe`` puts
it in words for ``make check``: "YouTube: every 16 minutes for your 9 terms".

Each limit cites where the network publishes it (see also ../shared/reference/source-apis.md).
Networks that publish no limit are said as such and allowed every minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.config import ListenConfig
from chalicelib.sources import source_class
from chalicelib.sources.base import SearchBatching, SourceOptions, pack_terms, quoted

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``requests`` requests per ``seconds``, as ``doc`` publishes it."""

    requests: float
    seconds: float
    doc: str


@dataclass(frozen=True, slots=True)
class Allowance:
    """What a network's limits allow for this configuration."""

    network: str
    display_name: str
    terms: int
    requests_per_poll: int
    minutes: int  # the shortest whole-minute interval the limits allow (at least 1)
    limits: tuple[Limit, ...]  # empty: the network publishes none


def _groups(terms: Sequence[str], batching: SearchBatching, render: str) -> int:
    """How many requests ``terms`` take when combined with ``render`` (" OR ", "|")."""
    return len(pack_terms(terms, lambda group: render.join(quoted(t) for t in group), batching)) if terms else 0


def requests_per_poll(network: str, options: SourceOptions, terms: Sequence[str]) -> int:
    """Requests one poll of every term (and the local stream) makes, first pages only."""
    n = len(terms)
    cls = source_class(network)
    batching: SearchBatching | None = getattr(cls, "batching", None)
    extra = dict(options)
    if network == "reddit":
        return _groups(terms, batching, " OR ") + (2 if extra.get("subreddits") else 0)  # type: ignore[arg-type]
    if network == "youtube":
        return _groups(terms, batching, "|")  # type: ignore[arg-type]
    if network == "github":
        searches = _groups(terms, batching, " OR ")  # type: ignore[arg-type]
        return searches * (2 if extra.get("token_parameter") and extra.get("discussions") else 1)
    if network == "stackexchange":
        sites = len(extra.get("sites") or [])
        return sites * (n if n < int(extra.get("list_from_terms", 2)) else 1)
    if network == "hackernews":
        return 1 if batching is not None and n >= 2 else n
    if network == "mastodon":
        return len(extra.get("instances") or []) * n + len(extra.get("hashtags") or [])
    if network == "lobsters":
        return int(extra.get("max_requests", 1))
    if network == "rss":
        return len(extra.get("feeds") or []) or 1
    return n if cls.capabilities.server_search else 1  # one request a term, or one listing


def published_limits(network: str, options: SourceOptions) -> tuple[Limit, ...]:
    """The network's published request limits that bound polling (none: not published)."""
    extra = dict(options)
    if network == "youtube":  # search.list has its own bucket of 100 calls a day; the connector keeps slack
        return (Limit(float(extra.get("daily_search_calls", 90)), DAY,
                      "https://developers.google.com/youtube/v3/determine_quota_cost"),)
    if network == "github":
        per_minute = 30.0 if extra.get("token_parameter") else 10.0
        return (Limit(per_minute, 60.0, "https://docs.github.com/en/rest/search/search#rate-limit"),)
    if network == "stackexchange":
        daily = 10000.0 if extra.get("key_parameter") else 300.0
        return (Limit(daily - float(extra.get("quota_reserve", 50)), DAY, "https://api.stackexchange.com/docs/throttle"),)
    if network == "reddit":
        return (Limit(100.0, 60.0, "https://support.reddithelp.com/hc/en-us/articles/16160319875092-Reddit-Data-API-Wiki"),)
    if network == "hackernews":
        return (Limit(10000.0, 3600.0, "https://hn.algolia.com/api"),)
    if network == "mastodon":
        return (Limit(300.0, 300.0, "https://docs.joinmastodon.org/api/rate-limits/"),)
    if network == "bluesky":
        return (Limit(3000.0, 300.0, "https://docs.bsky.app/docs/advanced-guides/rate-limits"),)
    if network == "lobsters":  # rack-attack throttles of lobsters/lobsters config/initializers/rack_attack.rb
        rack = "https://github.com/lobsters/lobsters/blob/main/config/initializers/rack_attack.rb"
        return (Limit(30.0, 60.0, rack), Limit(100.0, 600.0, rack), Limit(400.0, 3600.0, rack))
    return ()  # DEV (Forem) and feeds publish no request limit


def allowed_minutes(requests: int, limits: Sequence[Limit]) -> int:
    """The shortest whole-minute interval at which ``requests`` a poll stay within every limit."""
    seconds = max((requests * limit.seconds / limit.requests for limit in limits), default=0.0)
    return max(1, math.ceil(seconds / 60.0 - 1e-9))


def allowed_intervals(config: ListenConfig, terms: Sequence[str] | None = None) -> list[Allowance]:
    """Per enabled network (in listen.yaml's order): the interval its limits allow for
    ``terms`` (default: the search terms the rules give)."""
    if terms is None:
        from chalicelib.rules import compile_rules

        terms = [t.term for t in compile_rules(config.rule_specs(), exclude=config.exclude).search_terms()]
    allowances = []
    for network, options in config.enabled_networks().items():
        cls = source_class(network)
        searched = list(terms) if cls.capabilities.server_search else []
        requests = requests_per_poll(network, options, searched)
        limits = published_limits(network, options)
        allowances.append(Allowance(network, cls.display_name, len(terms), requests,
                                    allowed_minutes(requests, limits), limits))
    return allowances


def poll_minutes(config: ListenConfig, terms: Sequence[str]) -> dict[str, int]:
    """Minutes between polls of each enabled network for ``terms``: what the scheduler uses. As often
    as the network's published limits allow (every minute where they do); listen.yaml's
    ``schedule.poll_minutes``, when given, overrides it to poll less often, never more often than the
    limits allow."""
    asked = config.schedule.poll_minutes or 1
    return {allowance.network: max(allowance.minutes, asked) for allowance in allowed_intervals(config, terms)}


def describe(allowance: Allowance, poll_minutes: int | None = None) -> str:
    """One line for ``make check``; ``poll_minutes``: what listen.yaml asks, said when the
    limits allow less often."""
    every = "every minute" if allowance.minutes == 1 else f"every {allowance.minutes} minutes"
    count = f"{allowance.terms} term" + ("" if allowance.terms == 1 else "s")
    line = f"{allowance.display_name}: {every} for your {count} ({allowance.requests_per_poll} " \
           f"request{'' if allowance.requests_per_poll == 1 else 's'} a poll"
    line += ")" if allowance.limits else "; no published limit)"
    if poll_minutes is not None and poll_minutes < allowance.minutes:
        line += f"; listen.yaml asks every {poll_minutes} min: the network's limits will slow it down"
    elif poll_minutes is not None and poll_minutes > allowance.minutes:
        line += f"; polled every {poll_minutes} minutes, as listen.yaml asks"
    return line


def statements(config: ListenConfig) -> list[str]:
    """What `make check` says about polling: one line per enabled network."""
    return [describe(allowance, config.schedule.poll_minutes) for allowance in allowed_intervals(config)]

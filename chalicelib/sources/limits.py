"""How often each network's published limits let this configuration poll it.

``allowed_intervals(config)`` says per enabled network the shortest whole-minute interval at
which every search term (and the local stream) can be polled without going over the
network's own limits, from the requests one poll makes for this configuration (terms
combined as the connectors combine them: ``sources.base.BatchedSearch``). ``describe`` puts
it in words for ``make check``: "YouTube: every 16 minutes for your 9 terms".

Each network's spec (``chalicelib/networks/<name>/__init__.py``) says its published limits, each
citing where the network publishes it (see also ../shared/reference/source-apis.md), and how many
requests a poll makes.
Networks that publish no limit are said as such and allowed every minute.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from chalicelib.config import ListenConfig
from chalicelib.networks import source_class, spec
from chalicelib.networks.spec import Limit
from chalicelib.sources.base import SourceOptions, search_requests

__all__ = ["Allowance", "Limit", "allowed_intervals", "allowed_minutes", "describe", "published_limits",
           "requests_per_poll", "statements"]


@dataclass(frozen=True, slots=True)
class Allowance:
    """What a network's limits allow for this configuration."""

    network: str
    display_name: str
    terms: int
    requests_per_poll: int
    minutes: int  # the shortest whole-minute interval the limits allow (at least 1)
    limits: tuple[Limit, ...]  # empty: the network publishes none
    mode: str = ""  # how a poll reads the network for these terms, where that depends on them


def requests_per_poll(network: str, options: SourceOptions, terms: Sequence[str]) -> int:
    """Requests one poll of every term (and the local stream) makes, first pages only."""
    cls = source_class(network)
    network_spec = spec(network)
    batching = getattr(cls, "batching", None) if network_spec.query_separator else None
    searches = search_requests(terms, batching, network_spec.query_separator or " OR ")
    if network_spec.requests_per_poll is None:  # the searches, or one listing
        return searches if cls.capabilities.server_search else 1
    return network_spec.requests_per_poll(dict(options), terms, searches)


def published_limits(network: str, options: SourceOptions) -> tuple[Limit, ...]:
    """The network's published request limits that bound polling (none: not published)."""
    return spec(network).limits(dict(options))


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
        poll_mode = spec(network).poll_mode
        allowances.append(Allowance(network, cls.display_name, len(terms), requests,
                                    allowed_minutes(requests, limits), limits,
                                    poll_mode(dict(options), searched) if poll_mode else ""))
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
    if allowance.mode:
        line += f"; {allowance.mode}"
    if poll_minutes is not None and poll_minutes < allowance.minutes:
        line += f"; listen.yaml asks every {poll_minutes} min: the network's limits will slow it down"
    elif poll_minutes is not None and poll_minutes > allowance.minutes:
        line += f"; polled every {poll_minutes} minutes, as listen.yaml asks"
    return line


def statements(config: ListenConfig) -> list[str]:
    """What `make check` says about polling: one line per enabled network."""
    return [describe(allowance, config.schedule.poll_minutes) for allowance in allowed_intervals(config)]

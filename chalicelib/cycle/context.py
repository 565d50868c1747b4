"""What every step of a poll cycle is given and what it reports.

A step is a function of a ``Cycle``: the configuration, the store, the connectors, the
alert channels, the signer and the clock, all passed in (nothing here reads the
environment), plus the ``CycleReport`` the steps fill in. A ``Cycle`` is made for each run
from the ``Pipeline``'s current parts, so a caller that swaps a part (a recording channel in
the benchmarks) is seen by every step.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.alerts import Channel
    from chalicelib.config import ListenConfig
    from chalicelib.links import TokenSigner
    from chalicelib.sources.base import Source
    from chalicelib.store import Store
    from chalicelib.triage.feedback import ModelCache


@dataclass
class CycleReport:
    """What one cycle did, for logs, metrics and the demo summary."""

    tasks_run: int = 0
    fetched: Counter[str] = field(default_factory=Counter)  # per network
    skipped: Counter[str] = field(default_factory=Counter)  # per network: items that could not be read
    new_mentions: int = 0
    new_per_rule: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)  # network -> error in words
    deliveries: list[tuple[str, str, str, int]] = field(default_factory=list)  # recipient, channel, status, mentions
    muted: int = 0  # new mentions not alerted: a muted author, domain or thread
    attached: int = 0  # new mentions of a story alerted before (cross-posts, reposts): attached, not alerted
    held_by_cap: Counter[str] = field(default_factory=Counter)  # per rule: waiting for the digest
    held_back: int = 0  # new mentions the owner-feedback model held back for the digest (chalicelib.cycle.learning)
    # recipient, network, and what was told: "down", "up", "silent" or "data again"
    health_notices: list[tuple[str, str, str]] = field(default_factory=list)
    latency: dict[str, list[float]] = field(default_factory=dict)  # channel -> seconds from creation to send
    spikes: list[tuple[str, int]] = field(default_factory=list)  # rule group, mentions this hour (told)
    snoozes_ended: int = 0  # snoozed mentions alerted again
    not_stored: Counter[str] = field(default_factory=Counter)  # per network: mentions DynamoDB refused (skipped)
    counted: int = 0  # mentions counted into the digest and spikes this cycle (new, and resumed jobs')
    retried: int = 0  # deliveries tried again after a transient failure (their outcome is in ``deliveries``)
    ddb_requests: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Cycle:
    """The parts one cycle's steps share (see the module docstring)."""

    config: ListenConfig
    store: Store
    sources: Mapping[str, Source]
    channels: Mapping[str, Channel]
    signer: TokenSigner
    clock: Callable[[], float]
    report: CycleReport
    job_lease_seconds: float = 120.0  # longer than the Lambda's timeout: a live cycle's job is never resumed
    feedback: ModelCache | None = None  # the owner-feedback model, read once per cycle (None: read when needed)

    def now(self) -> dt.datetime:
        """The clock as an aware UTC time."""
        return dt.datetime.fromtimestamp(self.clock(), tz=dt.UTC)

"""Spike detection: a rule group's volume this hour against the same hour on the days before."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Spike:
    group: str
    count: int  # mentions stored this hour so far
    usual: float  # the baseline: mean of the same hour over the days before


def detect(group: str, count: int, history: Sequence[int], *, sensitivity: float = 4.0,
           min_count: int = 5) -> Spike | None:
    """A spike when this hour's ``count`` is above mean + ``sensitivity`` x deviation of
    ``history`` (the same hour on earlier days; missing days count as 0) and at least
    ``min_count`` above the mean. The deviation is the history's, floored at sqrt(mean) —
    counts of independent posts vary like that, and seven days underestimate it — and at 1."""
    mean = statistics.fmean(history) if history else 0.0
    spread = statistics.pstdev(history) if len(history) > 1 else 0.0
    deviation = max(1.0, spread, mean**0.5)
    threshold = max(mean + sensitivity * deviation, mean + min_count)
    return Spike(group, count, mean) if count > threshold else None

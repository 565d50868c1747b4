"""`make bench`: every benchmark, one `name: value` line per figure, each beside the naive way."""

from __future__ import annotations

import importlib
import math
import sys

SUITES = ("bench.pipeline", "bench.matcher", "bench.triage_eval", "bench.learning", "bench.attacks",
          "bench.networks", "bench.not_relevant", "bench.requests", "bench.latency", "bench.inbox",
          "bench.webhooks")


def readable(value: float) -> str:
    """Whole numbers for rates, four significant digits for ratios and scores."""
    if not math.isfinite(value):
        return str(value)  # inf: some never happened within the run (said beside it)
    if isinstance(value, int) or abs(value) >= 100:
        return str(round(value))
    return f"{value:.4g}"


def main() -> int:
    for suite in SUITES:
        print(f"# {suite}", flush=True)
        for name, value in importlib.import_module(suite).run():
            print(f"{name}: {readable(value)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Prints, for every network's contract corpus, how many payloads it holds and how many of
its contract tests failed: ``contract_<network>_payloads: N`` / ``contract_<network>_failures: N``."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.contracts import corpus

_failures: Counter[str] = Counter()


def _network_of(nodeid: str) -> str | None:
    name = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    if name.startswith("test_every_"):  # a test over every corpus: the network is its parameter
        param = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
        return param if param in corpus.networks() else None
    if name.startswith("test_") and name.endswith(".py"):
        return name[len("test_"):-len(".py")]
    return None


def pytest_runtest_logreport(report: Any) -> None:
    network = _network_of(report.nodeid)
    if network is not None and report.failed:
        _failures[network] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    ran = {_network_of(r.nodeid) for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])}
    for network in corpus.networks():
        if network not in ran:
            continue
        terminalreporter.write_line(f"contract_{network}_payloads: {len(corpus.payloads(network))}")
        terminalreporter.write_line(f"contract_{network}_failures: {_failures[network]}")
    for name, value in corpus.FIGURES.items():
        terminalreporter.write_line(f"{name}: {value}")

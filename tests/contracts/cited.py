"""One check every network's contract test runs: each payload is cited in the folder's
README and has hand-written expectations in ``expected.json``."""

from __future__ import annotations

from tests.contracts import corpus


def uncited_or_unexpected(network: str, at_least: int = 10) -> list[str]:
    """What is wrong with ``network``'s corpus folder, in words (empty when nothing is)."""
    readme = (corpus.folder(network) / "README.md").read_text(encoding="utf-8")
    names = [path.name for path in corpus.payloads(network)]
    expected = corpus.expected(network)
    problems = [f"{name}: not cited in README.md" for name in names if name not in readme]
    problems += [f"{name}: no entry in expected.json" for name in names if name not in expected]
    problems += [f"expected.json names {name}, which is not in the folder" for name in expected if name not in names]
    if len(names) < at_least:
        problems.append(f"{len(names)} payloads; at least {at_least} are needed")
    return problems

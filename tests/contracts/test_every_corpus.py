"""What every network's contract corpus holds, checked once for all of them: each payload is
cited in the folder's README.md and has hand-written expectations in expected.json (and there
are at least ten). The per-network files read the payloads with each network's own parser."""

from __future__ import annotations

import pytest

from chalicelib.networks import NETWORKS
from tests.contracts import corpus
from tests.contracts.cited import uncited_or_unexpected


def test_every_registered_network_has_a_corpus() -> None:
    assert corpus.networks() == sorted(NETWORKS)


@pytest.mark.parametrize("network", corpus.networks())
def test_every_payload_is_cited_and_has_expectations(network: str) -> None:
    assert uncited_or_unexpected(network) == []

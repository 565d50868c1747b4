"""One offline synthesis of every stage for the whole session (about 15 s): the tests read its templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.synth import synth

OWNER_EMAIL = "owner@example.com"


@dataclass(frozen=True)
class Synthesized:
    """The cloud assembly directory and each stage's template (parsed)."""

    outdir: Path
    templates: dict[str, dict[str, Any]]

    def resources(self, stage: str, resource_type: str) -> dict[str, dict[str, Any]]:
        """The stage's resources of one type, by logical id."""
        return {name: resource for name, resource in self.templates[stage]["Resources"].items()
                if resource["Type"] == resource_type}

    def only(self, stage: str, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The logical id and the definition of the one resource of this type."""
        found = self.resources(stage, resource_type)
        assert len(found) == 1, f"{stage}: {len(found)} resources of type {resource_type}"
        return next(iter(found.items()))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    outdir = synth(tmp_path_factory.mktemp("cdk") / "cdk.out", {"stages": "dev,prod", "owner_email": OWNER_EMAIL})
    templates = {stage: json.loads((outdir / f"{stage}.template.json").read_text()) for stage in ("dev", "prod")}
    return Synthesized(outdir, templates)

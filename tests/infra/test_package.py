"""The Lambda package: every network's connector and replier ship, its emulator and contract corpus
(offline only) do not."""

from __future__ import annotations

import zipfile
from pathlib import Path

from chalicelib.networks import NETWORKS, spec
from infra.stack import strip_not_deployed
from tests.infra.conftest import Synthesized

REPO_ROOT = Path(__file__).resolve().parents[2]


def deployed_names(synthesized: Synthesized, stage: str) -> set[str]:
    functions = synthesized.resources(stage, "AWS::Serverless::Function").values()
    (key,) = {function["Properties"]["CodeUri"]["Key"] for function in functions}  # one package for all
    with zipfile.ZipFile(synthesized.outdir / f"asset.{key}") as package:
        return set(package.namelist())


def test_the_package_holds_every_source_and_replier_and_no_emulator_or_corpus(synthesized: Synthesized) -> None:
    for stage in ("dev", "prod"):
        names = deployed_names(synthesized, stage)
        for network in NETWORKS:
            folder = f"chalicelib/networks/{network}/"
            assert f"{folder}__init__.py" in names and f"{folder}source.py" in names, (stage, network)
            assert (f"{folder}replier.py" in names) == (spec(network).replier is not None), (stage, network)
            assert f"{folder}emulator.py" not in names, (stage, network)
            assert not [n for n in names if n.startswith(f"{folder}contract/")], (stage, network)
            assert not [n for n in names if n.startswith(f"{folder}__pycache__/emulator.")], (stage, network)
        assert {"app.py", "chalicelib/networks/__init__.py", "chalicelib/networks/spec.py"} <= names


def test_stripping_drops_exactly_the_offline_parts(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    kept = ["app.py", "chalicelib/networks/reddit/source.py", "chalicelib/networks/reddit/__pycache__/source.pyc",
            "chalicelib/sources/emulator.py", "chalicelib/networks/reddit/replier.py"]
    offline = ["chalicelib/networks/reddit/emulator.py", "chalicelib/networks/reddit/contract/README.md",
               "chalicelib/networks/reddit/contract/expected.json",
               "chalicelib/networks/reddit/__pycache__/emulator.cpython-313.pyc"]
    with zipfile.ZipFile(package, "w") as zipped:
        for name in kept + offline:
            zipped.writestr(name, name.encode())
    assert sorted(strip_not_deployed(package)) == sorted(offline)
    with zipfile.ZipFile(package) as zipped:
        assert zipped.namelist() == kept
        assert zipped.read("app.py") == b"app.py"

"""One offline synthesis of every stage for the whole session (about 15 s): the tests read its templates."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
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


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto in server mode on a free loopback port, for the whole session (SSM, STS, CloudFormation, SES v2,
    DynamoDB as the deploy commands use them)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """An empty moto account (reset) that every boto3 client of the test reaches through the environment,
    with fake credentials and no profile, config file or instance metadata to fall back on. Returns its URL."""
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310 (loopback)
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 (loopback)
    for name in list(os.environ):
        if name.startswith("AWS_") or name.startswith("CDK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never look for credentials off the machine
    monkeypatch.delenv("LISTEN_CONFIG", raising=False)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # an earlier test's session caches its credentials
    return moto_url

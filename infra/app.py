"""The CDK app: one ``ServiceStack`` per Chalice stage (``dev`` and ``prod``; ``-c stages=dev`` for one).

Run by ``cdk`` (see infra/cdk.json) or by ``python -m infra.synth`` (offline). Context values:
``owner_email`` (default of the OwnerEmail parameter), ``stages`` (comma-separated),
``api_rate_limit`` / ``api_burst_limit``, ``sms_origination_number`` (the two-way number SMS are sent from),
``account`` / ``region`` (else CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Run as a script by cdk (cwd infra/): the stack imports chalicelib from the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aws_cdk as cdk
import cdk_nag

from infra.stack import ServiceStack, StageSettings

PRODUCTION_STAGES = {"prod"}
DEFAULT_OUTDIR = Path(__file__).resolve().parent / "cdk.out"


@contextlib.contextmanager
def chalice_workdir() -> Iterator[None]:
    """Run in a temporary directory: the Chalice construct writes ``chalice.out/`` into the cwd, and the
    repository must not keep it (CDK has copied the zips into cdk.out by the time the block ends)."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="chalice-out-") as workdir:
        os.chdir(workdir)
        try:
            yield
        finally:
            os.chdir(before)


def stage_settings(app: cdk.App) -> list[StageSettings]:
    """The stages to synthesize, from the app's context."""
    stages = str(app.node.try_get_context("stages") or "dev,prod").split(",")
    owner_email = app.node.try_get_context("owner_email")
    rate = app.node.try_get_context("api_rate_limit")
    burst = app.node.try_get_context("api_burst_limit")
    limits: dict[str, float | int] = {}
    if rate is not None:
        limits["api_rate_limit"] = float(rate)
    if burst is not None:
        limits["api_burst_limit"] = int(burst)
    number = app.node.try_get_context("sms_origination_number")
    return [StageSettings(stage=stage.strip(), production=stage.strip() in PRODUCTION_STAGES,
                          owner_email=owner_email, sms_origination_number=number, **limits)  # type: ignore[arg-type]
            for stage in stages if stage.strip()]


def environment(app: cdk.App) -> cdk.Environment | None:
    """Account and region if known (context, then the CDK CLI's variables); None leaves the stacks agnostic."""
    account = app.node.try_get_context("account") or os.environ.get("CDK_DEFAULT_ACCOUNT")
    region = (app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION")
              or os.environ.get("AWS_DEFAULT_REGION"))
    if not account and not region:
        return None
    return cdk.Environment(account=account, region=region)


def build_app(outdir: Path | None = None, context: dict[str, object] | None = None) -> tuple[cdk.App,
                                                                                             list[ServiceStack]]:
    """The app and its stacks, constructed (assets staged into ``outdir``) but not yet synthesized."""
    app = cdk.App(outdir=str(outdir) if outdir else None, context=context)
    env = environment(app)
    with chalice_workdir():
        stacks = [ServiceStack(app, settings, env=env) for settings in stage_settings(app)]
    # cdk-nag's rule packs annotate every finding on the assembly; tests/infra fails on any that is not
    # suppressed with its reason (infra/stack.py NAG_SUPPRESSIONS).
    cdk.Validations.of(app).add_plugins(cdk_nag.AwsSolutionsChecks(app), cdk_nag.ServerlessChecks(app))
    return app, stacks


def main() -> None:
    """Synthesize every stage into infra/cdk.out (or the directory the cdk CLI chose)."""
    outdir = None if os.environ.get("CDK_OUTDIR") else DEFAULT_OUTDIR
    app, _ = build_app(outdir)
    app.synth()


if __name__ == "__main__":
    main()

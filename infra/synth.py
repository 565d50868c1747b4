"""``make synth``: synthesize the CDK app offline, with no AWS account, into infra/cdk.out.

``chalice package`` runs ``pip download`` for requirements.txt. The first run fills a wheelhouse outside
the repository (``~/.cache/social-listening/wheelhouse``, or ``$SOCIAL_LISTENING_WHEELHOUSE``) with the
Lambda's wheels (manylinux x86_64, the CPython synthesis runs on: 3.13) from the package index; every
run after that, and the synthesis itself, uses only the wheelhouse (``PIP_NO_INDEX=1``). The wheelhouse
is refilled when requirements.txt or the Python changes.

Usage: ``python -m infra.synth [--stages dev,prod] [--outdir DIR] [--owner-email EMAIL]``.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = REPO_ROOT / "requirements.txt"
DEFAULT_WHEELHOUSE = Path.home() / ".cache" / "social-listening" / "wheelhouse"
OFFLINE_REGION = "eu-west-1"
OFFLINE_ACCOUNT = "111111111111"  # fake: synthesis needs an account number, never a real one
LAMBDA_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"  # chalice packages for the Python it runs on
LAMBDA_ABI = f"cp{sys.version_info.major}{sys.version_info.minor}"
LAMBDA_PLATFORM = ["--platform", "manylinux2014_x86_64", "--implementation", "cp", "--python-version", LAMBDA_PYTHON,
                   "--abi", LAMBDA_ABI, "--only-binary=:all:"]


def wheelhouse_path() -> Path:
    """Where the wheels are kept: ``$SOCIAL_LISTENING_WHEELHOUSE`` or ~/.cache/social-listening/wheelhouse."""
    return Path(os.environ.get("SOCIAL_LISTENING_WHEELHOUSE", DEFAULT_WHEELHOUSE))


def requirements_digest() -> str:
    """SHA-256 of requirements.txt and the Lambda's Python ABI: the wheelhouse is filled for exactly these."""
    return hashlib.sha256(REQUIREMENTS.read_bytes() + LAMBDA_ABI.encode()).hexdigest()


def ensure_wheelhouse(wheelhouse: Path | None = None) -> Path:
    """Fill the wheelhouse from the package index unless it already holds this requirements.txt's wheels.

    Downloads twice: for the machine running chalice (its own ``pip download`` resolves for the host) and
    for the Lambda (manylinux x86_64 cp313, what chalice puts in the layer). Returns the wheelhouse path.
    """
    wheelhouse = wheelhouse or wheelhouse_path()
    stamp = wheelhouse / ".requirements.sha256"
    if stamp.exists() and stamp.read_text().strip() == requirements_digest():
        return wheelhouse
    wheelhouse.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
           "-r", str(REQUIREMENTS), "-d", str(wheelhouse)]
    for extra in ([], LAMBDA_PLATFORM):
        subprocess.run([*pip, *extra], check=True)  # noqa: S603 (fixed arguments)
    stamp.write_text(requirements_digest() + "\n")
    return wheelhouse


@contextmanager
def offline_environment(wheelhouse: Path) -> Iterator[None]:
    """Environment for an offline synthesis: pip only reads the wheelhouse, a region and a fake account
    are set unless the caller set real ones. Restores the environment afterwards."""
    settings = {
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse),
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", OFFLINE_REGION),
        "CDK_DEFAULT_REGION": os.environ.get("CDK_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION",
                                                                                   OFFLINE_REGION)),
        "CDK_DEFAULT_ACCOUNT": os.environ.get("CDK_DEFAULT_ACCOUNT", OFFLINE_ACCOUNT),
    }
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_BYTES_REPR = re.compile(r"""b(['"]).*\1""", re.DOTALL)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class PlainNodeNotices(io.TextIOBase):
    """stderr while the CDK's Node process (the jsii kernel) runs: jsii's Python runtime prints each line
    Node writes outside its protocol as a bytes repr, so the CDK's Node end-of-life banner arrived as
    ``b'!!  Node 20 is end-of-life and not supported anymore ...  !!\\n'`` lines in a box of '!'. Such a
    line is written as its text, without the box or colour codes; everything else passes unchanged."""

    def __init__(self, target: TextIO) -> None:
        self.target = target
        self._after_repr = False  # print() writes the repr, then "\n" on its own
        self._named = False  # the first line says who speaks ("this software" in the banner is the CDK)

    def write(self, text: str) -> int:
        if self._after_repr and text == "\n":
            self._after_repr = False
            return len(text)
        self._after_repr = bool(_BYTES_REPR.fullmatch(text))
        if not self._after_repr:
            return self.target.write(text)
        line = _ANSI.sub("", ast.literal_eval(text).decode("utf-8", "replace")).strip().strip("!").strip()
        if line:
            self.target.write(("" if self._named else "AWS CDK: ") + line + "\n")
            self._named = True
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    @property
    def buffer(self) -> Any:  # jsii writes the kernel's own console messages to sys.stderr.buffer
        return self.target.buffer


@contextmanager
def plain_node_notices() -> Iterator[None]:
    """``sys.stderr`` is a PlainNodeNotices while the block runs (jsii's thread looks it up per line)."""
    before = sys.stderr
    sys.stderr = PlainNodeNotices(before)
    try:
        yield
    finally:
        sys.stderr = before


def synth(outdir: Path, context: dict[str, object] | None = None) -> Path:
    """Synthesize every stage into a fresh ``outdir`` offline (after the wheelhouse is filled). Returns outdir."""
    wheelhouse = ensure_wheelhouse()
    shutil.rmtree(outdir, ignore_errors=True)
    before = dict(os.environ)
    try:
        with offline_environment(wheelhouse), plain_node_notices():
            from infra.app import build_app  # starts the CDK's Node process, which may print a banner

            app, _ = build_app(outdir, context)
            app.synth()
    finally:  # chalice package sets the stages' environment variables in this process: never keep them
        os.environ.clear()
        os.environ.update(before)
    return outdir


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", default="dev,prod", help="comma-separated Chalice stages (default dev,prod)")
    parser.add_argument("--outdir", type=Path, default=REPO_ROOT / "infra" / "cdk.out")
    parser.add_argument("--owner-email", help="default of the OwnerEmail parameter (who gets the alarms)")
    args = parser.parse_args(argv)
    context: dict[str, object] = {"stages": args.stages}
    if args.owner_email:
        context["owner_email"] = args.owner_email
    outdir = synth(args.outdir, context)
    for template in sorted(outdir.glob("*.template.json")):
        print(template.relative_to(REPO_ROOT) if template.is_relative_to(REPO_ROOT) else template)


if __name__ == "__main__":
    main()

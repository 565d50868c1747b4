"""What `make deploy` and `make synth` print, in words (issue 18): a missing or unknown STAGE is
answered with the stages there are, before argparse's "expected one argument"; the CDK's Node
end-of-life banner prints as text, not as the bytes reprs jsii's Python runtime wrote."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from jsii._kernel.providers.process import stderr_sink

from infra import deploy
from infra.names import deployable_stages, stage_problem
from infra.synth import PlainNodeNotices, plain_node_notices

WHICH = ("Which stage? Run {command} STAGE=<stage>, where the stage is dev or prod (the stages in "
         ".chalice/config.json).\n")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], WHICH.format(command="make deploy")),
        (["--stage"], WHICH.format(command="make deploy")),  # make deploy STAGE=
        (["--stage", "--yes"], WHICH.format(command="make deploy")),  # make deploy STAGE= YES=1
        (["--stage=", "--destroy"], WHICH.format(command="make destroy")),
        (["--stage", "staging"], "There is no stage 'staging': run make deploy STAGE=<stage>, where the stage is "
                                 "dev or prod (the stages in .chalice/config.json; a new stage needs its own section "
                                 "there first).\n"),
        (["--stage", "local", "--destroy"], "There is no stage 'local': run make destroy STAGE=<stage>, where the "
                                            "stage is dev or prod (the stages in .chalice/config.json; a new stage "
                                            "needs its own section there first).\n"),
    ],
    ids=["no --stage", "STAGE empty", "STAGE empty then a flag", "destroy", "unknown", "the local stage"],
)
def test_a_missing_or_unknown_stage_is_said_with_the_stages_there_are(
        argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.main(argv) == 2
    out, err = capsys.readouterr()
    assert (out, err) == (expected, "")


def test_the_stages_are_read_from_the_chalice_config_without_the_local_one(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"stages": {"dev": {}, "qa": {}, "local": {}, "prod": {}}}), encoding="utf-8")
    stages = deployable_stages(config)
    assert stages == ["dev", "qa", "prod"]
    assert stage_problem(["--stage", "qa"], "make deploy", stages) is None
    assert stage_problem([], "make deploy", stages) == (
        "Which stage? Run make deploy STAGE=<stage>, where the stage is dev, qa or prod (the stages in "
        ".chalice/config.json).")


def test_the_repository_stages_are_dev_and_prod() -> None:
    assert deployable_stages() == ["dev", "prod"]


# The banner as jsii 1.142.0's kernel (bin__jsii-runtime.js, veryVisibleMessage of @jsii/check-node) wrote
# it on Node v20.20.2 outside the jsii protocol (observed with `python -c "import aws_cdk; aws_cdk.App()"`).
BANNER = b"".join(line + b"\n" for line in [
    b"!" * 91,
    b"!!" + b" " * 87 + b"!!",
    b"!!  Node 20 is end-of-life and not supported anymore by this software since 2026-10-30.  !!",
    b"!!  Please upgrade to a supported node version as soon as possible.                      !!",
    b"!!" + b" " * 87 + b"!!",
    b"!!  This software is currently running on node v20.20.2.                                 !!",
    b"!!  As of the current release of this software, supported node releases are:             !!",
    b"!!  - ^24.0.0 (Planned end-of-life: 2028-04-30)                                          !!",
    b"!!  - ^22.0.0 (Planned end-of-life: 2027-04-30)                                          !!",
    b"!!" + b" " * 87 + b"!!",
    b"!" * 91,
])


def terminal() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)


def shown(stream: io.TextIOWrapper) -> str:
    return stream.buffer.getvalue().decode()  # type: ignore[attr-defined]


def test_the_node_end_of_life_banner_prints_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    before = terminal()
    monkeypatch.setattr("sys.stderr", before)
    stderr_sink(io.BytesIO(BANNER))  # jsii's own reader of the kernel's stderr, as it runs during a synth
    assert shown(before).startswith("b'!!!!")  # what the owner saw: reprs of bytes

    after = terminal()
    monkeypatch.setattr("sys.stderr", after)
    with plain_node_notices():
        # the banner, then a console message of the jsii protocol (base64 of "Warning: x\n"), then ours
        stderr_sink(io.BytesIO(BANNER + b'{"stderr": "V2FybmluZzogeAo="}\n'))
        print("a line of our own", file=sys.stderr)
    assert shown(after) == (
        "AWS CDK: Node 20 is end-of-life and not supported anymore by this software since 2026-10-30.\n"
        "Please upgrade to a supported node version as soon as possible.\n"
        "This software is currently running on node v20.20.2.\n"
        "As of the current release of this software, supported node releases are:\n"
        "- ^24.0.0 (Planned end-of-life: 2028-04-30)\n"
        "- ^22.0.0 (Planned end-of-life: 2027-04-30)\n"
        "Warning: x\n"
        "a line of our own\n"
    )
    assert sys.stderr is after  # put back


def test_colour_codes_are_dropped_too() -> None:
    stream = terminal()
    print(b"\x1b[41m\x1b[37m!!  Node 20 is end-of-life.  !!\x1b[39m\x1b[49m\n", file=PlainNodeNotices(stream))
    assert shown(stream) == "AWS CDK: Node 20 is end-of-life.\n"


def test_make_cost_without_the_local_stack_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from offline import cost
    from offline.stack import StackError

    def no_stack() -> dict[str, float]:
        raise StackError("npm is needed once to fetch DynamoDB Local (package amplify-dynamodb-simulator)")

    monkeypatch.setattr(cost, "measure_one_hour", no_stack)
    assert cost.main() == 1
    assert capsys.readouterr() == (
        "make cost needs the local stack (DynamoDB Local and moto): npm is needed once to fetch DynamoDB Local "
        "(package amplify-dynamodb-simulator). Run make install first.\n", "")

"""Names the stack and the setup commands share, in a module that imports nothing heavy (no CDK)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

APP_NAME = "social-listening"
SECRETS_PREFIX = f"/{APP_NAME}/"  # the SSM Parameter Store path the Chalice policy lets the functions read
CHALICE_CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
LOCAL_STAGE = "local"  # the stage `chalice local` (make demo) runs in: never deployed


def deployable_stages(chalice_config: Path = CHALICE_CONFIG) -> list[str]:
    """The stages ``make deploy`` can deploy: those of .chalice/config.json but the local one."""
    stages = json.loads(chalice_config.read_text(encoding="utf-8")).get("stages", {})
    return [stage for stage in stages if stage != LOCAL_STAGE]


def stage_problem(argv: Sequence[str], command: str, stages: Sequence[str]) -> str | None:
    """What is wrong with the ``--stage`` of ``argv`` in words (``command`` is what the owner typed,
    e.g. ``make deploy``), or None when it names one of ``stages``. Said before argparse would."""
    stage = None
    for i, arg in enumerate(argv):
        if arg == "--stage":
            following = argv[i + 1] if i + 1 < len(argv) else ""
            stage = "" if following.startswith("-") else following
        elif arg.startswith("--stage="):
            stage = arg.partition("=")[2]
    if stage in stages:
        return None
    def listed(word: str) -> str:
        return ", ".join(stages[:-1]) + f" {word} " + stages[-1] if len(stages) > 1 else "".join(stages)

    if not stage:
        return (f"Which stage? Run {command} STAGE=<stage>, where the stage is {listed('or')} "
                f"(the stages in .chalice/config.json).")
    shown = stage if len(stage) <= 40 else stage[:40] + "…"
    return (f"There is no stage {shown!r}: run {command} STAGE=<stage>, where the stage is {listed('or')} "
            "(the stages in .chalice/config.json; a new stage needs its own section there first).")

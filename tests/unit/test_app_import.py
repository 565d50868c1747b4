"""Importing app.py stays cheap (issue 16, "Keep"): it is wiring, and every part it wires is imported
lazily by the handler that needs it, settings included. `make bench` prints the cost
(bench.pipeline: cold_import_ratio_vs_boto3); this pins the cause."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "botocore", "pydantic", "yaml", "jinja2", "requests", "aws_lambda_powertools", "chalicelib")


def test_importing_the_app_imports_none_of_the_service_but_the_logger_pins() -> None:
    code = f"import sys, app; print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    ran = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,  # noqa: S603 (fixed)
                         timeout=60, check=False)
    assert (ran.returncode, ran.stdout.strip(), ran.stderr) == (0, "['chalicelib', 'chalicelib.log_levels']", "")

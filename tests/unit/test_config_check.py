"""`make check` (offline.check) and `make deploy`'s preflight validate listen.yaml the one way the
Lambdas do, without AWS."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from infra.deploy import check_listen_config
from offline.check import main

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "listen.example.yaml"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """The example with a keyword holding a lone '&' (valid) and a query that does not parse."""
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('"Copenhagen Coffee Lab"]', '"Copenhagen Coffee Lab", "Spoke & Chain"]')
    text = text.replace("(refund OR rude", "(refund AND OR rude")
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BROKEN_PROBLEM = (
    ':19:42: rules[1].query: rule "brand-complaints": query ""Bean There" AND (refund AND OR rude OR "food '
    'poisoning" OR "charged twice")" at column 30: expected a word, "phrase", field:value, NOT or \'(\' but found OR'
)


def test_a_valid_file_gets_a_summary_and_how_often_each_network_may_be_polled(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        f"{EXAMPLE} is valid: 5 rules (9 search terms), 7 of 12 networks enabled (hackernews, stackexchange, github, "
        "rss, lobsters, devto, mastodon), 1 recipient\n"
        "  Hacker News: every minute for your 9 terms (1 request a poll)\n"
        "  Stack Exchange: every minute for your 9 terms (2 requests a poll)\n"
        "  GitHub: every minute for your 9 terms (2 requests a poll)\n"
        "  RSS / Google Alerts: every minute for your 9 terms (1 request a poll; no published limit)\n"
        "  Lobsters: every minute for your 9 terms (6 requests a poll)\n"
        "  DEV: every minute for your 9 terms (1 request a poll; no published limit)\n"
        "  Mastodon: every minute for your 9 terms (21 requests a poll)\n"
    )


def test_an_invalid_file_gets_its_positioned_problems_and_status_1(
    broken: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(broken)]) == 1
    assert capsys.readouterr().out == f"{broken} is not valid:\n  {broken}{BROKEN_PROBLEM}\n"
    assert broken.read_text().splitlines()[18][41:43] == "OR"


def test_listen_config_names_the_file(broken: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LISTEN_CONFIG", str(broken))
    assert main([]) == 1
    assert capsys.readouterr().out.startswith(f"{broken} is not valid:\n")


def test_the_deploy_preflight_refuses_what_would_crash_the_lambdas(broken: Path) -> None:
    check, config = check_listen_config(broken)
    assert config is None
    assert (check.ok, check.message) == (False, f"{broken} is not valid:\n    {broken}{BROKEN_PROBLEM}")


def test_the_check_needs_no_aws(broken: Path) -> None:
    """Run as `make check` runs it, with no credentials: boto3 is never even imported."""
    code = "import sys, offline.check as c; rc = c.main(sys.argv[1:]); print('boto' in str(list(sys.modules))); " \
           "sys.exit(rc)"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], cwd=ROOT, env=env,  # noqa: S603 (fixed)
                         capture_output=True, text=True, timeout=60, check=False)
    assert (ran.returncode, ran.stdout.splitlines()[-1], ran.stderr) == (0, "False", "")

"""No secret in the logs at any level (issue 14, finding 7): with the root logger at DEBUG, an
entry point reads a SecureString from SSM and requests a URL with a key in its query string."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.conftest import SIGNING_KEY, SIGNING_KEY_PARAMETER

pytestmark = pytest.mark.integration
API_KEY = "AIzaSyTESTKEYthatmustnotbelogged0123456"


def run(entry: str, replay: ReplayServer, stack: LocalStack, table: str) -> subprocess.CompletedProcess[str]:
    script = f"""
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
{entry}
from chalicelib.runtime import read_secret
print(read_secret({SIGNING_KEY_PARAMETER!r}) == {SIGNING_KEY!r})
import requests
requests.get({replay.base_url("youtube") + "/youtube/v3/search?part=snippet&key=" + API_KEY!r}, timeout=5)
logging.getLogger().debug("done")
"""
    env = {**os.environ, **stack.env(), "TABLE_NAME": table}
    command = [sys.executable, "-c", script]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)  # noqa: S603


def test_the_app_entry_point_logs_no_secret_at_debug(replay: ReplayServer, stack: LocalStack, table: str) -> None:
    done = run("import app  # the Lambdas' entry point", replay, stack, table)
    assert done.stdout.strip() == "True"
    assert "DEBUG:root:done" in done.stderr  # DEBUG lines were written
    assert SIGNING_KEY not in done.stderr and SIGNING_KEY not in done.stdout
    assert API_KEY not in done.stderr


def test_without_the_pinning_the_libraries_would_log_both(replay: ReplayServer, stack: LocalStack,
                                                          table: str) -> None:
    """The check above can fail: the same script, no entry point, leaks both."""
    done = run("", replay, stack, table)
    assert SIGNING_KEY in done.stderr and API_KEY in done.stderr

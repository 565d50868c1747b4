"""`make demo LISTEN_CONFIG=listen.yaml` (issue 18): the demo with the owner's own rules, recipients and
enabled networks against the replay streams; an invalid file is reported as `make check` reports it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from offline.demo import SIGNING_KEY_PARAMETER, demo_config
from offline.replay.server import ReplayServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

OWN = """\
business:
  name: Lisbon Bikes
rules:
  - name: cold-brew-talk
    group: industry
    keywords: ["cold brew"]
  - name: repairs
    group: brand
    keywords: ["bicycle repair"]
networks:
  hackernews: {}
  github: {}
  reddit:
    enabled: false
recipients:
  - name: Rui
    email: rui@lisbonbikes.example
alerts:
  from_address: alerts@lisbonbikes.example
"""


def run_demo(path: Path, local: Path) -> subprocess.CompletedProcess[str]:
    """``make demo SERVE=0 LISTEN_CONFIG=<path>``, writing under ``local``."""
    env = {**os.environ, "SOCIAL_LISTENING_LOCAL_DIR": str(local), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "offline.demo", "--no-serve", "--config", str(path)],  # noqa: S603
                          cwd=ROOT, env=env, text=True, capture_output=True, timeout=300, check=False)


def test_the_owners_rules_and_networks_are_pointed_at_the_replay_server(replay: ReplayServer, tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text(OWN, encoding="utf-8")  # no secrets section: the demo adds its own signing key
    _, config = demo_config(replay, "http://127.0.0.1:9", path)
    assert [rule.name for rule in config.rules] == ["cold-brew-talk", "repairs"]
    assert [r.name for r in config.recipients] == ["Rui"]
    assert list(config.networks) == ["hackernews", "github"]  # the ones it enables, in the replay's order
    assert config.networks["hackernews"].base_url == replay.base_url("hackernews")
    assert config.secrets.signing_key_parameter == SIGNING_KEY_PARAMETER
    assert config.alerts.action_base_url == "http://127.0.0.1:9"


def test_the_example_still_runs_on_every_network(replay: ReplayServer) -> None:
    _, config = demo_config(replay, "http://127.0.0.1:9")
    assert len(config.networks) == 12 and config.rules[0].name == "brand"


def test_make_demo_with_the_owners_file_runs_their_rules(tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text(OWN, encoding="utf-8")
    done = run_demo(path, tmp_path / "local")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert out.startswith(f"Your rules from {path}, against the replay streams (which talk about Bean There Café, "
                          "a coffee shop in Lisbon: rules for another business may find little here).\n")
    found = dict(re.findall(r"^  (cold-brew-talk|repairs) +(\d+)  \(", out, re.MULTILINE))
    assert int(found["cold-brew-talk"]) > 0 and found["repairs"] == "0", out
    networks = re.findall(r"^  (\w+) +\d+ items fetched", out, re.MULTILINE)
    assert networks == ["hackernews", "github"], out
    emails = sorted((tmp_path / "local" / "outbox").glob("*.eml"))
    assert emails and all(b"To: Rui <rui@lisbonbikes.example>" in e.read_bytes() for e in emails)


def test_an_invalid_file_is_named_line_by_line_and_nothing_starts(tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text(OWN.replace("    group: brand\n", "    group: brand\n   keywords: []\n"), encoding="utf-8")
    done = run_demo(path, tmp_path / "local")
    assert (done.returncode, done.stderr) == (2, "")
    assert done.stdout == (
        f"{path} is not valid:\n  {path}:9:4: this line is inside the list that starts at line 4 but is neither a "
        "new item ('- ') nor lined up with the settings of the item above it: indent it like those settings, or "
        "start a new item with '- '\n")

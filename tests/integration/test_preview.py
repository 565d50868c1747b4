"""`make preview` (issue 18): one read-only pass of the owner's listen.yaml against the networks, here
the replay server (no test reaches the internet): what would have been alerted in the last 24 hours
per rule and network, the networks that could not be read said in words, nothing sent, nothing
written outside the local table."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from chalicelib.config import parse_config
from chalicelib.networks.github import emulator as github
from chalicelib.networks.hackernews import emulator as hackernews
from chalicelib.store import Store
from offline.preview import main, one_line, run_preview
from offline.replay.server import Fault, ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config

pytestmark = pytest.mark.integration
THROTTLE = Fault(400, {"Content-Type": "application/json"},
                 b'{"error_id":502,"error_name":"throttle_violation","error_message":"too many requests from this '
                 b'IP, more requests available in 600 seconds"}')  # Stack Exchange's throttle (the demo's)
BUSINESS = {"name": "Bean There Café", "competitors": ["Fábrica Coffee", "Copenhagen Coffee Lab"]}


def owner_config(replay: ReplayServer, tmp_path: Path) -> str:
    """The integration tests' example configuration, with a rule nothing matches and more networks: one
    throttled, one down, one that needs credentials, one disabled."""
    networks = f"""\
  stackexchange:
    base_url: {replay.base_url("stackexchange")}
    sites: [coffee]
  github:
    base_url: {replay.base_url("github")}
  reddit:
    base_url: {replay.base_url("reddit")}
    auth_base_url: {replay.base_url("reddit")}
    subreddits: [lisbon]
    user_agent: "python:beanthere-listening:0.1 (by /u/beanthere)"
    client_id_parameter: /social-listening/reddit/client_id
    client_secret_parameter: /social-listening/reddit/client_secret
    username_parameter: /social-listening/reddit/username
    password_parameter: /social-listening/reddit/password
  lobsters:
    enabled: false
"""
    make_config(replay, tmp_path, networks=networks)
    text = (tmp_path / "listen.yaml").read_text(encoding="utf-8")
    rule = '  - name: espresso-machines\n    group: industry\n    keywords: ["La Marzocco"]\n'
    return text.replace("networks:\n", rule + "networks:\n", 1)


def test_a_preview_prints_what_would_have_been_alerted_per_rule_and_network_and_sends_nothing(
        replay: ReplayServer, stack: LocalStack, table: str, tmp_path: Path) -> None:
    now = int(time.time())
    replay.add_items("hackernews", hackernews.demo_items(now, BUSINESS) + hackernews.demo_late_complaint(now))
    replay.add_items("hackernews", [hackernews.story_hit(41239999, now - 2 * 86400, "Bean There Café opens",
                                                         author="old_news")])  # two days old
    replay.inject("stackexchange", THROTTLE)
    replay.inject("github", *[Fault(503)] * 3)  # the first request and its two retries
    config = parse_config(owner_config(replay, tmp_path), "listen.yaml")
    lines: list[str] = []
    tables_before = stack.client("dynamodb").list_tables()["TableNames"]

    assert run_preview(config, Store(stack.client("dynamodb"), table), say=lines.append) == 0

    output = "\n".join(lines)
    assert lines[0] == ("Preview of listen.yaml: the last 24 hours on 4 network(s), read-only (nothing is sent, "
                        "nothing is written to AWS)...")
    start = lines.index("Found by your rules in the last 24 hours, by rule and network (a mention counts under every "
                        "rule it matched):")
    networks = lines.index("Networks:")
    by_rule = [line for line in lines[start + 1: networks] if not line.startswith("    -")
               and not line.startswith("      ")]
    assert by_rule == [
        "  brand (brand): 3",
        "    Hacker News      3",
        "  complaints (brand, urgent): 1",
        "    Hacker News      1",
        "  espresso-machines (industry): nothing",
        "",
    ]
    examples = [line for line in lines[start + 1: networks] if line.startswith(("    -", "      "))]
    assert len(examples) == 2 * (3 + 1)  # three of brand, one of complaints (newest first), each with its link
    complaint = ("Hacker News: Got food poisoning after the brunch at Bean There Café yesterday and they were "
                 "rude when …")
    assert re.fullmatch(r"    - \w{3} \d\d:\d\d " + re.escape(complaint), examples[0]), examples
    assert re.fullmatch(r"    - \w{3} \d\d:\d\d Hacker News: Show HN: We built the ordering system for Bean There "
                        r"Café in Lisbon", examples[4]), examples
    assert examples[1] == "      https://news.ycombinator.com/item?id=41230010"
    assert "old_news" not in output and "41239999" not in output  # older than 24 hours: not counted, not found

    network_lines = lines[networks + 1: lines.index("", networks)]
    assert network_lines[0] == "  Hacker News: answered, 6 item(s) read"
    assert re.fullmatch(r"  Stack Exchange asked us to slow down, so nothing was read from it: run the preview "
                        r"again after \d\d:\d\d \(WE[S]?T\)", network_lines[1]), network_lines
    assert network_lines[2:] == [
        "  GitHub did not answer, or answered with a server error: nothing was read from it",
        "  Reddit needs credentials, which the service keeps in SSM in your AWS account; a preview reads nothing "
        "from AWS, so it was skipped",
        "  Lobsters: not enabled in listen.yaml",
    ]
    assert lines[-3:] == [
        "Alerts it would have sent (none was sent):",
        "  Maria: 1 email with 3 mention(s)",
        "  Maria: 1 SMS with 1 mention(s)",
    ]
    assert stack.sent_emails() == [] and stack.sent_sms() == []  # the channels only recorded
    assert stack.client("dynamodb").list_tables()["TableNames"] == tables_before
    # only reads, of the enabled networks that need no credentials (Reddit stopped before asking)
    assert sorted(replay.received) == ["github", "hackernews", "stackexchange"]
    assert {request.method for requests in replay.received.values() for request in requests} == {"GET"}


def test_text_from_a_network_cannot_drive_the_terminal() -> None:
    assert one_line("Bean\x1b[2J\x1b]0;owned\x07 There\u202e Café\r\nnext") == "Bean [2J ]0;owned There Café next"
    assert one_line("x" * 200) == "x" * 89 + "…"


def test_an_invalid_file_is_reported_as_make_check_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text("business:\n\tname: x\n", encoding="utf-8")
    assert main([str(path)]) == 2
    assert capsys.readouterr().out == (
        f"{path} is not valid:\n  {path}:2:1: a tab character: YAML does not allow tabs for indentation; indent "
        "with spaces, lining each setting up with the ones next to it\n")


def test_github_items_are_found_when_it_answers(replay: ReplayServer, stack: LocalStack, table: str,
                                               tmp_path: Path) -> None:
    now = int(time.time())
    replay.add_items("github", github.demo_items(now, BUSINESS))
    text = owner_config(replay, tmp_path).replace("    sites: [coffee]\n", "    sites: [coffee]\n    enabled: false\n")
    lines: list[str] = []
    run_preview(parse_config(text, "listen.yaml"), Store(stack.client("dynamodb"), table), say=lines.append)
    assert "  complaints (brand, urgent): 1" in lines
    assert "    GitHub           1" in lines
    assert "  Stack Exchange: not enabled in listen.yaml" in lines


def test_the_command_runs_on_its_own_local_stack_and_leaves_the_environment_as_it_was(
        replay: ReplayServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    replay.add_items("hackernews", hackernews.demo_items(int(time.time()), BUSINESS))
    text = owner_config(replay, tmp_path)
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("AWS_PROFILE", "the-owners-real-account")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    before = dict(os.environ)

    assert main([str(path)]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"Preview of {path}: the last 24 hours on 4 network(s), read-only")
    assert "\n  brand (brand): 2\n    Hacker News      2\n" in out
    assert out.endswith("Alerts it would have sent (none was sent):\n  Maria: 1 email with 2 mention(s)\n")
    assert dict(os.environ) == before

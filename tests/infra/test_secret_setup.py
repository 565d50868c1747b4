"""``python -m infra.secret_setup``: which secrets listen.yaml needs, which exist, how they are written (moto SSM)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.config import load_config
from infra.secret_setup import SecretsError, main, needed_secrets

LISTEN_YAML = """\
business: {name: Bean There Cafe, website: https://beanthere.example}
rules: [{name: brand, group: brand, keywords: [Bean There]}]
networks:
  hackernews: {}
  github: {token_parameter: /social-listening/github/token}
  mastodon: {instances: [https://mastodon.social], hashtags: [coffee]}
  reddit:
    subreddits: [lisbon]
    user_agent: "python:bean-there:0.1 (by /u/beanthere)"
    client_id_parameter: /social-listening/reddit/client-id
    client_secret_parameter: /social-listening/reddit/client-secret
  bluesky:
    enabled: false
    handle_parameter: /social-listening/bluesky/handle
    app_password_parameter: /social-listening/bluesky/app-password
recipients: [{name: Maria, email: maria@beanthere.example, phone: "+351912345678"}]
alerts: {from_address: alerts@beanthere.example}
"""
GITHUB_TOKEN = "ghp_typed-token-0123456789"
REDDIT_ID = "reddit-client-id-typed"
REDDIT_SECRET = "reddit-client-secret-typed"
TYPED = {  # where stage prod reads them (listen.yaml names /social-listening/<name>)
    "/social-listening/prod/github/token": GITHUB_TOKEN,
    "/social-listening/prod/reddit/client-id": REDDIT_ID,
    "/social-listening/prod/reddit/client-secret": REDDIT_SECRET,
}


def write_config(tmp_path: Path, text: str = LISTEN_YAML) -> Path:
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class Owner:
    """Types an answer to each prompt by the parameter it names; records the prompts."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return next((value for name, value in self.answers.items() if f" {name} " in prompt), "")


def ssm() -> Any:
    return boto3.client("ssm")


def test_needed_secrets_are_the_signing_key_then_each_enabled_networks_credentials(tmp_path: Path) -> None:
    needed = needed_secrets(load_config(write_config(tmp_path)))
    assert [(s.parameter, s.field, s.generated) for s in needed] == [
        ("/social-listening/signing-key", "secrets.signing_key_parameter", True),
        ("/social-listening/github/token", "networks.github.token_parameter", False),
        ("/social-listening/reddit/client-id", "networks.reddit.client_id_parameter", False),
        ("/social-listening/reddit/client-secret", "networks.reddit.client_secret_parameter", False),
    ]


def test_the_previous_signing_key_is_needed_while_rotating(tmp_path: Path) -> None:
    text = LISTEN_YAML + "secrets: {previous_signing_key_parameter: /social-listening/signing-key-previous}\n"
    needed = needed_secrets(load_config(write_config(tmp_path, text)))
    assert [(s.parameter, s.field) for s in needed[:2]] == [
        ("/social-listening/signing-key", "secrets.signing_key_parameter"),
        ("/social-listening/signing-key-previous", "secrets.previous_signing_key_parameter"),
    ]


def test_a_parameter_outside_the_app_prefix_is_refused_naming_the_listen_yaml_field(tmp_path: Path) -> None:
    text = LISTEN_YAML.replace("/social-listening/github/token", "/other-app/github-token")
    with pytest.raises(SecretsError) as raised:
        needed_secrets(load_config(write_config(tmp_path, text)))
    message = str(raised.value)
    assert message.startswith("listen.yaml networks.github.token_parameter: '/other-app/github-token' is not under "
                              "/social-listening/")
    assert message.endswith("rename it, e.g. /social-listening/github-token")


def test_the_command_refuses_a_parameter_outside_the_prefix_before_touching_ssm(aws: str, tmp_path: Path) -> None:
    text = LISTEN_YAML + "secrets: {signing_key_parameter: /shared/signing-key}\n"
    said: list[str] = []
    status = main(["--stage", "prod", "--config", str(write_config(tmp_path, text))], ask=Owner({}), say=said.append)
    assert status == 2
    assert said[0].startswith("listen.yaml secrets.signing_key_parameter: '/shared/signing-key' is not under")
    assert ssm().describe_parameters()["Parameters"] == []


def test_check_lists_missing_and_present_secrets_and_exits_1(aws: str, tmp_path: Path) -> None:
    ssm().put_parameter(Name="/social-listening/prod/github/token", Value="x", Type="SecureString")
    said: list[str] = []
    status = main(["--stage", "prod", "--check", "--config", str(write_config(tmp_path))], say=said.append)
    assert status == 1
    assert said[1:] == [
        "  MISSING   /social-listening/prod/signing-key  (signing key of action links; secrets.signing_key_parameter)",
        "  present   /social-listening/prod/github/token  (github token; networks.github.token_parameter)",
        "  MISSING   /social-listening/prod/reddit/client-id  (reddit client id; networks.reddit.client_id_parameter)",
        "  MISSING   /social-listening/prod/reddit/client-secret  "
        "(reddit client secret; networks.reddit.client_secret_parameter)",
        "3 missing: run python -m infra.secret_setup --stage prod",
    ]
    assert [p["Name"] for p in ssm().describe_parameters()["Parameters"]] == ["/social-listening/prod/github/token"]


def test_check_exits_0_when_every_secret_exists(aws: str, tmp_path: Path) -> None:
    for name in ("/social-listening/prod/signing-key", *TYPED):
        ssm().put_parameter(Name=name, Value="x", Type="SecureString")
    said: list[str] = []
    assert main(["--stage", "prod", "--check", "--config", str(write_config(tmp_path))], say=said.append) == 0
    assert [line.split()[0] for line in said[1:]] == ["present"] * 4


def test_setup_writes_typed_values_as_secure_strings_and_never_prints_them(
        aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    owner = Owner(TYPED)
    status = main(["--stage", "prod", "--config", str(write_config(tmp_path))], ask=owner)
    assert status == 0
    assert len(owner.prompts) == 3  # one per missing credential; the signing key is generated, not asked
    for name, value in TYPED.items():
        parameter = ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]
        assert (parameter["Type"], parameter["Value"]) == ("SecureString", value)
    key = ssm().get_parameter(Name="/social-listening/prod/signing-key", WithDecryption=True)["Parameter"]
    assert key["Type"] == "SecureString"
    assert len(key["Value"]) == 64  # token_urlsafe(48)
    out, err = capsys.readouterr()
    for secret in (*TYPED.values(), key["Value"]):
        assert secret not in out
        assert secret not in err
        assert all(secret not in prompt for prompt in owner.prompts)
    assert "  generated /social-listening/prod/signing-key  (signing key of action links)" in out.splitlines()


def test_setup_never_overwrites_an_existing_secret_nor_asks_for_it(aws: str, tmp_path: Path) -> None:
    ssm().put_parameter(Name="/social-listening/prod/github/token", Value="the-old-token", Type="SecureString")
    ssm().put_parameter(Name="/social-listening/prod/signing-key", Value="the-old-key", Type="SecureString")
    owner = Owner(TYPED)
    said: list[str] = []
    assert main(["--stage", "prod", "--config", str(write_config(tmp_path))], ask=owner, say=said.append) == 0
    assert [p.split(" for ")[1].split(" ")[0] for p in owner.prompts] == [
        "/social-listening/prod/reddit/client-id", "/social-listening/prod/reddit/client-secret"]
    read = {name: ssm().get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            for name in ("/social-listening/prod/github/token", "/social-listening/prod/signing-key")}
    assert read == {"/social-listening/prod/github/token": "the-old-token",
                    "/social-listening/prod/signing-key": "the-old-key"}


def test_an_empty_answer_skips_the_secret_and_the_command_exits_1(aws: str, tmp_path: Path) -> None:
    said: list[str] = []
    owner = Owner({"/social-listening/prod/github/token": GITHUB_TOKEN})
    assert main(["--stage", "prod", "--config", str(write_config(tmp_path))], ask=owner, say=said.append) == 1
    assert ("  skipped   /social-listening/prod/reddit/client-id: missing until you run this again "
            "(networks.reddit.client_id_parameter)") in said
    names = sorted(p["Name"] for p in ssm().describe_parameters()["Parameters"])
    assert names == ["/social-listening/prod/github/token", "/social-listening/prod/signing-key"]


def test_rotation_moves_the_old_key_to_the_previous_parameter_and_prints_the_line_to_add(
        aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ssm().put_parameter(Name="/social-listening/prod/signing-key", Value="the-old-key", Type="SecureString")
    assert main(["--stage", "prod", "--rotate-signing-key", "--config", str(write_config(tmp_path))]) == 0
    previous = ssm().get_parameter(Name="/social-listening/prod/signing-key-previous", WithDecryption=True)["Parameter"]
    current = ssm().get_parameter(Name="/social-listening/prod/signing-key", WithDecryption=True)["Parameter"]
    assert (previous["Type"], previous["Value"]) == ("SecureString", "the-old-key")
    assert current["Type"] == "SecureString"
    assert len(current["Value"]) == 64
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "  previous_signing_key_parameter: /social-listening/signing-key-previous"
    assert "the-old-key" not in out
    assert current["Value"] not in out


def test_rotation_without_a_key_only_generates_one(aws: str, tmp_path: Path) -> None:
    said: list[str] = []
    assert main(["--stage", "prod", "--rotate-signing-key", "--config", str(write_config(tmp_path))],
                say=said.append) == 0
    assert [p["Name"] for p in ssm().describe_parameters()["Parameters"]] == ["/social-listening/prod/signing-key"]
    assert said[1:] == ["  generated /social-listening/prod/signing-key  (new signing key)"]


def test_each_stage_gets_its_own_secrets_and_a_shared_one_is_copied_once(aws: str, tmp_path: Path) -> None:
    ssm().put_parameter(Name="/social-listening/signing-key", Value="the-shared-key", Type="SecureString")
    said: list[str] = []
    assert main(["--stage", "dev", "--config", str(write_config(tmp_path))], ask=Owner({}), say=said.append) == 1
    assert ("  copied    /social-listening/signing-key -> /social-listening/dev/signing-key  (once: stage dev now "
            "reads only /social-listening/dev/; delete /social-listening/signing-key when no stage needs it)") in said
    dev = ssm().get_parameter(Name="/social-listening/dev/signing-key", WithDecryption=True)["Parameter"]
    assert (dev["Type"], dev["Value"]) == ("SecureString", "the-shared-key")
    assert "  skipped   /social-listening/dev/github/token: missing until you run this again " \
           "(networks.github.token_parameter)" in said
    assert all("the-shared-key" not in line for line in said)
    said.clear()
    assert main(["--stage", "dev", "--config", str(write_config(tmp_path))], ask=Owner({}), say=said.append) == 1
    assert not [line for line in said if line.startswith("  copied")]
    assert "  present   /social-listening/dev/signing-key  (signing key of action links)" in said


def test_setup_says_which_github_token_works_and_warns_of_a_fine_grained_one(aws: str, tmp_path: Path) -> None:
    said: list[str] = []
    fine_grained = {**TYPED, "/social-listening/prod/github/token": "github_pat_11AAAA_typed"}
    assert main(["--stage", "prod", "--config", str(write_config(tmp_path))], ask=Owner(fine_grained),
                say=said.append) == 0
    github = said.index("  note      GitHub: a classic personal access token with the public_repo scope replies on "
                        "any public repository; a GitHub App token replies where the app is installed; a "
                        "fine-grained token (github_pat_...) replies only on its own owner's repositories")
    assert said[github + 1:github + 3] == [
        "  written   /social-listening/prod/github/token  (github token)",
        "  warning   /social-listening/prod/github/token is a fine-grained token: replies on other owners' "
        "repositories will be refused; use a classic token with public_repo for those",
    ]
    assert not any(line.startswith("  warning") for line in said[github + 3:])

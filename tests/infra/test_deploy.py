"""``python -m infra.deploy``: the preflight checks one by one, a guided run, a dry run and destroy, against moto.

moto 5.2.5 has no SES v2 GetAccount and no SNS SMS-sandbox API: those calls alone are answered at the boto3
boundary (botocore's Stubber for a client used only for them, a ``before-call`` handler otherwise).
No real AWS is called; npx and cdk never run (the command runner is a recorder).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import pytest
from aws_cdk.assertions import Template
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from chalicelib.table import create_table_request
from infra.deploy import (
    CDK_CLI_VERSION,
    Deployment,
    check_bootstrap,
    check_credentials,
    check_kept_table,
    check_listen_config,
    check_region,
    check_secrets,
    check_sms_sandbox,
    check_sms_spend_limit,
    check_two_way_sms,
    deploy,
    destroy,
    ensure_ses_identity,
    guide_ses,
    guide_sms,
    ses_production_access,
)
from infra.stack import service_table

ACCOUNT = "123456789012"  # moto's account
REGION = "eu-west-1"
CDK = f"npx --yes aws-cdk@{CDK_CLI_VERSION}"
REPO_PACKAGED_CONFIG = Path(__file__).resolve().parents[2] / "chalicelib" / "listen.yaml"
LISTEN_YAML = """\
business: {name: Bean There Cafe, website: https://beanthere.example}
rules: [{name: brand, group: brand, keywords: [Bean There]}]
networks:
  hackernews: {}
  github: {token_parameter: /social-listening/github/token}
recipients:
  - {name: Maria, email: maria@beanthere.example, phone: "+351912345678"}
  - {name: Joao, email: joao@beanthere.example, phone: "+351912345679", sms: false}
alerts: {from_address: alerts@beanthere.example, action_base_url: "https://abc.execute-api.eu-west-1.amazonaws.com/api"}
"""


def answer(client: Any, operation: str, response: dict[str, Any]) -> None:
    """Answer one operation moto lacks, at the boto3 boundary (the mechanism botocore's Stubber uses)."""
    def reply(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse("https://stubbed", 200, {}, None), response

    client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}", reply)


def sns_stub(*responses: tuple[str, dict[str, Any], dict[str, Any] | None]) -> Any:
    """An SNS client whose only calls are the SMS-sandbox ones given (operation, response, expected params)."""
    sns = boto3.client("sns")
    stubber = Stubber(sns)
    for operation, response, expected in responses:
        stubber.add_response(operation, response, expected)
    stubber.activate()
    return sns


TWO_WAY_NUMBER = {  # the shape DescribePhoneNumbers returns (botocore's service model), values made up
    "PhoneNumberArn": f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-0123456789abcdef",
    "PhoneNumberId": "phone-0123456789abcdef", "PhoneNumber": "+12065550100", "Status": "ACTIVE",
    "IsoCountryCode": "US", "MessageType": "TRANSACTIONAL", "NumberCapabilities": ["SMS"], "NumberType": "TOLL_FREE",
    "MonthlyLeasingPrice": "2.00", "TwoWayEnabled": True, "SelfManagedOptOutsEnabled": False,
    "OptOutListName": "Default", "DeletionProtectionEnabled": False, "CreatedTimestamp": 1700000000,
}
SPEND_LIMIT = {"Name": "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT", "EnforcedLimit": 50, "MaxLimit": 50, "Overridden": True}


def sms_voice_stub(numbers: list[dict[str, Any]], spend: int = 50, *, update: str | None = None) -> Any:
    """An AWS End User Messaging SMS client (moto has no pinpoint-sms-voice-v2) answered by botocore's Stubber:
    the account's phone numbers, its spend limit and, when ``update`` names the inbound topic, the deploy's
    UpdatePhoneNumber routing replies to it."""
    client = boto3.client("pinpoint-sms-voice-v2", region_name=REGION, aws_access_key_id="x",
                          aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response("describe_phone_numbers", {"PhoneNumbers": numbers}, {})
    stubber.add_response("describe_spend_limits", {"SpendLimits": [
        {**SPEND_LIMIT, "EnforcedLimit": spend, "Overridden": spend != 1}]}, {})
    if update:
        number = numbers[0]
        stubber.add_response("update_phone_number", {**number, "TwoWayEnabled": True, "TwoWayChannelArn": update},
                             {"PhoneNumberId": number["PhoneNumberId"], "TwoWayEnabled": True,
                              "TwoWayChannelArn": update})
    stubber.activate()
    client.stubber = stubber  # type: ignore[attr-defined]
    return client


class Terminal:
    """The owner at the terminal: answers from a list, in order; records what was said and asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.said: list[str] = []

    def ask(self, prompt: str) -> str:
        self.asked.append(prompt)
        if not self.answers:
            raise AssertionError(f"unexpected question: {prompt}")
        return self.answers.pop(0)

    def say(self, line: str) -> None:
        self.said.append(line)


class Runner:
    """Records the commands the deploy would run; never runs them."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def __call__(self, command: list[str]) -> int:
        self.commands.append(" ".join(command))
        return 0


class Synthesizer:
    """Records each synthesis instead of packaging the app."""

    def __init__(self) -> None:
        self.calls: list[tuple[Path, dict[str, object]]] = []

    def __call__(self, outdir: Path, context: dict[str, object]) -> Path:
        self.calls.append((outdir, context))
        return outdir


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "owner" / "listen.yaml"
    path.parent.mkdir()
    path.write_text(LISTEN_YAML, encoding="utf-8")
    return path


def deployment(config_path: Path, terminal: Terminal, *, sandbox_sms: Any = None, ses_production: bool = True,
               sms_voice: Any = None, **options: Any) -> Deployment:
    """A Deployment on moto: package and assembly under the test's tmp dir, recorder for commands and synthesis."""
    dep = Deployment(stage="prod", session=boto3.session.Session(), config_path=config_path,
                     package_path=config_path.parent / "package" / "chalicelib" / "listen.yaml",
                     assembly_dir=config_path.parent / "cdk.out", ask=terminal.ask, ask_secret=terminal.ask,
                     say=terminal.say, run=Runner(), synthesize=Synthesizer(), npx="/usr/bin/npx", **options)
    if dep.session.region_name:  # without one, the run stops before SES and SNS
        answer(dep.client("sesv2"), "GetAccount", {"ProductionAccessEnabled": ses_production})
        dep.clients["sns"] = sandbox_sms or sns_stub(("get_sms_sandbox_account_status", {"IsInSandbox": False}, None))
        dep.clients["pinpoint-sms-voice-v2"] = sms_voice or sms_voice_stub([TWO_WAY_NUMBER])
    return dep


def prepare_account(*, bootstrap: bool = True, sender: bool = True, secrets: bool = True) -> None:
    """What the first guided run leaves in the account."""
    if bootstrap:
        boto3.client("cloudformation").create_stack(StackName="CDKToolkit", TemplateBody=json.dumps(
            {"Resources": {"StagingTopic": {"Type": "AWS::SNS::Topic"}}}))
    if sender:
        boto3.client("sesv2").create_email_identity(EmailIdentity="alerts@beanthere.example")
    if secrets:
        for name in ("/social-listening/prod/signing-key", "/social-listening/prod/github/token"):
            boto3.client("ssm").put_parameter(Name=name, Value="x", Type="SecureString")


def deploy_stack(*, retain: bool = True) -> None:
    """The stage's stack as CloudFormation holds it: its table, Retain as the stack synthesizes it (or not)."""
    request = create_table_request("social-listening-prod")
    table: dict[str, Any] = {"Type": "AWS::DynamoDB::Table", "Properties": {
        key: request[key] for key in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema")}}
    if retain:
        table["DeletionPolicy"] = "Retain"
    boto3.client("cloudformation").create_stack(StackName="social-listening-prod", TemplateBody=json.dumps(
        {"Resources": {"Table": table}}))


def table_names() -> list[str]:
    return list(boto3.client("dynamodb").list_tables()["TableNames"])


def stack_names() -> list[str]:
    stacks = boto3.client("cloudformation").describe_stacks()["Stacks"]
    return [s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]


# ---- the checks, one by one ----

def test_without_credentials_the_check_says_how_to_configure_them(aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    check = check_credentials(boto3.client("sts"))
    assert (check.ok, check.blocking) == (False, True)
    assert check.message == "no AWS credentials were found (environment, ~/.aws, or an SSO profile)"
    assert check.fix == "aws configure    (or: aws sso login --profile NAME && export AWS_PROFILE=NAME)"


def test_without_credentials_the_deploy_stops_before_anything_else(
        aws: str, monkeypatch: pytest.MonkeyPatch, config_path: Path) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    terminal = Terminal()
    dep = deployment(config_path, terminal)
    assert deploy(dep) == 1
    assert terminal.said[1] == ("[MISSING] AWS credentials: no AWS credentials were found (environment, ~/.aws, "
                                "or an SSO profile)")
    assert terminal.said[2] == ("    next: aws configure    "
                                "(or: aws sso login --profile NAME && export AWS_PROFILE=NAME)")
    assert terminal.said[-1] == "Not deployed: 1 thing(s) to fix first, each with its next command above."
    assert dep.synthesize.calls == []  # type: ignore[attr-defined]
    assert not dep.package_path.exists()


def test_without_a_region_the_deploy_says_which_variable_to_set_and_stops(
        aws: str, monkeypatch: pytest.MonkeyPatch, config_path: Path) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    terminal = Terminal()
    dep = deployment(config_path, terminal)
    assert deploy(dep) == 1
    assert terminal.said[1] == f"[ok] AWS credentials: account {ACCOUNT} as arn:aws:sts::{ACCOUNT}:user/moto"
    assert terminal.said[2] == "[MISSING] AWS region: no region is set: the service is deployed in one region"
    assert dep.synthesize.calls == []  # type: ignore[attr-defined]


def test_credentials_give_the_account_they_belong_to(aws: str) -> None:
    check = check_credentials(boto3.client("sts"))
    assert (check.ok, check.value) == (True, ACCOUNT)


def test_a_missing_region_is_named_with_the_variable_to_set() -> None:
    check = check_region(None)
    assert check.ok is False
    assert check.fix.startswith("export AWS_DEFAULT_REGION=eu-west-1")
    assert check_region("eu-west-1").ok is True


def test_an_invalid_listen_yaml_is_reported_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text(LISTEN_YAML.replace("alerts@beanthere.example", "alerts-at-beanthere"), encoding="utf-8")
    check, config = check_listen_config(path)
    assert config is None
    assert check.ok is False
    assert check.message == (f"{path} is not valid:\n    {path}:9: alerts.from_address: expected an email address "
                             "such as owner@example.com, got 'alerts-at-beanthere'")


def test_a_missing_cdk_bootstrap_gives_the_bootstrap_command_for_the_account_and_region(aws: str) -> None:
    check = check_bootstrap(boto3.client("cloudformation"), ACCOUNT, REGION)
    assert (check.ok, check.blocking) == (False, True)
    assert check.message == "account 123456789012 is not bootstrapped for CDK in eu-west-1 (CDK needs a bucket and " \
                            "roles there, once)"
    assert check.fix == f"{CDK} bootstrap aws://123456789012/eu-west-1"


def test_a_bootstrapped_account_passes(aws: str) -> None:
    prepare_account(sender=False, secrets=False)
    check = check_bootstrap(boto3.client("cloudformation"), ACCOUNT, REGION)
    assert (check.ok, check.message) == (True, "CDKToolkit is CREATE_COMPLETE in eu-west-1")


def test_a_missing_sender_identity_is_created_and_the_owner_told_to_click_the_link(aws: str) -> None:
    sesv2 = boto3.client("sesv2")
    check = ensure_ses_identity(sesv2, "alerts@beanthere.example", role="sender")
    assert (check.ok, check.blocking, check.missing) == (False, False, ("alerts@beanthere.example",))
    assert check.message == ("alerts@beanthere.example was just added to SES: SES has emailed it a verification link; "
                             "click it within 24 hours (nothing is emailed to or from it before that)")
    assert check.fix == "then run make deploy again"
    identities = [i["IdentityName"] for i in sesv2.list_email_identities()["EmailIdentities"]]
    assert identities == ["alerts@beanthere.example"]


def test_a_dry_run_only_says_the_identity_would_be_created(aws: str) -> None:
    sesv2 = boto3.client("sesv2")
    check = ensure_ses_identity(sesv2, "alerts@beanthere.example", role="sender", create=False)
    assert check.fix == "aws sesv2 create-email-identity --email-identity alerts@beanthere.example"
    assert sesv2.list_email_identities()["EmailIdentities"] == []


def test_a_verified_domain_covers_the_sender_address(aws: str) -> None:
    sesv2 = boto3.client("sesv2")
    sesv2.create_email_identity(EmailIdentity="beanthere.example")
    check = ensure_ses_identity(sesv2, "alerts@beanthere.example", role="sender")
    assert (check.ok, check.message) == (True, "alerts@beanthere.example can be used (identity beanthere.example "
                                               "is verified)")
    assert len(sesv2.list_email_identities()["EmailIdentities"]) == 1


def test_ses_production_access_is_read_from_the_account(aws: str) -> None:
    sesv2 = boto3.client("sesv2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(sesv2) as stubber:
        stubber.add_response("get_account", {"ProductionAccessEnabled": False})
        assert ses_production_access(sesv2) is False


def test_in_the_ses_sandbox_every_recipient_is_verified_too(aws: str, config_path: Path) -> None:
    terminal = Terminal()
    dep = deployment(config_path, terminal, ses_production=False)
    _, config = check_listen_config(config_path)
    assert config is not None
    checks = guide_ses(dep, config)
    assert [(c.name, c.ok) for c in checks] == [("SES sending", False), ("SES identity (sender)", False),
                                                ("SES identity (recipient Maria)", False),
                                                ("SES identity (recipient Joao)", False)]
    assert checks[0].fix.startswith("aws sesv2 put-account-details --production-access-enabled --mail-type "
                                    "TRANSACTIONAL --website-url https://beanthere.example ")
    identities = sorted(i["IdentityName"] for i in boto3.client("sesv2").list_email_identities()["EmailIdentities"])
    assert identities == ["alerts@beanthere.example", "joao@beanthere.example", "maria@beanthere.example"]


def test_with_production_access_only_the_sender_needs_an_identity(aws: str, config_path: Path) -> None:
    dep = deployment(config_path, Terminal(), ses_production=True)
    _, config = check_listen_config(config_path)
    assert config is not None
    assert [(c.name, c.ok) for c in guide_ses(dep, config)] == [("SES sending", True),
                                                                ("SES identity (sender)", False)]


def test_the_sms_sandbox_lists_recipients_phones_not_verified(aws: str) -> None:
    sns = sns_stub(
        ("get_sms_sandbox_account_status", {"IsInSandbox": True}, {}),
        ("list_sms_sandbox_phone_numbers", {"PhoneNumbers": [{"PhoneNumber": "+351912345678", "Status": "Verified"}],
                                        "NextToken": "page2"}, {}),
        ("list_sms_sandbox_phone_numbers", {"PhoneNumbers": [{"PhoneNumber": "+351912345677", "Status": "Pending"}]},
         {"NextToken": "page2"}),
    )
    check = check_sms_sandbox(sns, ["+351912345678", "+351912345677", "+14155550100"])
    assert (check.ok, check.blocking, check.missing) == (False, False, ("+351912345677", "+14155550100"))
    assert check.message == ("in the SMS sandbox: SMS reach only verified numbers; not verified: +351912345677, "
                             "+14155550100")


def test_out_of_the_sms_sandbox_every_number_is_reachable(aws: str) -> None:
    sns = sns_stub(("get_sms_sandbox_account_status", {"IsInSandbox": False}, {}))
    check = check_sms_sandbox(sns, ["+351912345678"])
    assert (check.ok, check.message) == (True, "the account is out of the SMS sandbox: SMS can reach any number")


def test_the_guide_texts_a_code_to_an_unverified_phone_and_verifies_what_the_owner_types(config_path: Path,
                                                                                         aws: str) -> None:
    phone = "+351912345678"  # Maria's; Joao does not want SMS
    sns = sns_stub(
        ("get_sms_sandbox_account_status", {"IsInSandbox": True}, {}),
        ("list_sms_sandbox_phone_numbers", {"PhoneNumbers": []}, {}),
        ("list_sms_sandbox_phone_numbers", {"PhoneNumbers": []}, {}),
        ("create_sms_sandbox_phone_number", {}, {"PhoneNumber": phone, "LanguageCode": "en-US"}),
        ("verify_sms_sandbox_phone_number", {}, {"PhoneNumber": phone, "OneTimePassword": "123456"}),
        ("get_sms_sandbox_account_status", {"IsInSandbox": True}, {}),
        ("list_sms_sandbox_phone_numbers", {"PhoneNumbers": [{"PhoneNumber": phone, "Status": "Verified"}]}, {}),
    )
    terminal = Terminal("y", "123456")
    dep = deployment(config_path, terminal, sandbox_sms=sns)
    _, config = check_listen_config(config_path)
    assert config is not None
    check = guide_sms(dep, config)
    assert check.ok is True
    assert terminal.asked == [f"Text a verification code to {phone} (SMS sandbox)? [y/N] ",
                              f"Code texted to {phone} (empty: later, by running this again): "]
    assert f"    {phone} verified" in terminal.said


def test_no_two_way_number_warns_how_to_get_one_and_where_two_way_works() -> None:
    check = check_two_way_sms(sms_voice_stub([]), REGION)
    assert (check.ok, check.blocking) == (False, False)
    assert check.message == ("no phone number in eu-west-1 can receive SMS: alerts go out, but replies (OK, SNOOZE, "
                             "MUTE, REPLY, HELP) cannot reach the service (sender IDs never receive)")
    assert check.fix.startswith("aws pinpoint-sms-voice-v2 request-phone-number --iso-country-code <your "
                                "recipients' country, e.g. CA> --message-type TRANSACTIONAL --number-capabilities SMS")
    assert "https://docs.aws.amazon.com/sms-voice/latest/userguide/phone-numbers-sms-by-country.html" in check.fix


def test_a_two_way_number_is_found_and_the_spend_limit_says_what_it_allows() -> None:
    one_way = {**TWO_WAY_NUMBER, "PhoneNumberId": "phone-1", "PhoneNumber": "+12065550199", "TwoWayEnabled": False}
    client = sms_voice_stub([one_way, TWO_WAY_NUMBER], spend=1)
    check = check_two_way_sms(client, REGION)
    assert (check.ok, check.value) == (True, "phone-0123456789abcdef|+12065550100")  # two-way enabled first
    assert check.message == ("+12065550100 (US, TOLL_FREE, $2.00 a month): two-way enabled; alerts are sent from it "
                             "so that replies come back")
    limit = check_sms_spend_limit(client)
    assert (limit.ok, limit.blocking) == (False, False)
    assert limit.message == ("$1 a month allows about 10 to 153 SMS ($0.0065 to $0.1 each, by country); past it no "
                             "SMS is sent until the next month: new accounts start at $1")
    assert "set-text-message-spend-limit-override" in limit.fix


def test_a_deploy_sends_from_the_two_way_number_and_routes_its_replies_to_the_inbound_topic(
        aws: str, config_path: Path) -> None:
    prepare_account()
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:social-listening-prod-inbound-sms"
    boto3.client("ssm").put_parameter(Name="/social-listening/prod/settings/inbound-sms-topic-arn", Value=topic,
                                      Type="String")
    client = sms_voice_stub([{**TWO_WAY_NUMBER, "TwoWayEnabled": False}], update=topic)
    terminal = Terminal()
    dep = deployment(config_path, terminal, sms_voice=client)
    assert deploy(dep) == 0
    assert dep.synthesize.calls[0][1]["sms_origination_number"] == "+12065550100"  # type: ignore[attr-defined]
    assert ("[ok] SMS spend limit: $50 a month allows about 500 to 7692 SMS ($0.0065 to $0.1 each, by country); "
            "past it no SMS is sent until the next month") in terminal.said
    assert terminal.said[-1] == f"Two-way SMS: replies to +12065550100 reach {topic} (the InboundSms function)"
    client.stubber.assert_no_pending_responses()


def test_missing_secrets_name_the_setup_command(aws: str, config_path: Path) -> None:
    _, config = check_listen_config(config_path)
    assert config is not None
    check = check_secrets(boto3.client("ssm"), config, "prod")
    assert (check.ok, check.missing) == (False, ("/social-listening/prod/signing-key",
                                                 "/social-listening/prod/github/token"))
    assert check.fix == "python -m infra.secret_setup --stage prod"


def test_a_table_kept_by_an_earlier_destroy_is_in_the_way_of_a_new_stack(aws: str) -> None:
    from chalicelib.table import create_table

    create_table(boto3.client("dynamodb"), "social-listening-prod")
    check = check_kept_table(boto3.client("cloudformation"), boto3.client("dynamodb"), "prod")
    assert (check.ok, check.fix) == (False, "python -m infra.deploy --stage prod --destroy --delete-data")


# ---- whole runs ----

def test_a_dry_run_of_a_ready_account_packages_listen_yaml_and_prints_the_cdk_deploy_command(
        aws: str, config_path: Path) -> None:
    prepare_account()
    packaged_in_repo_before = REPO_PACKAGED_CONFIG.exists()
    terminal = Terminal()
    dep = deployment(config_path, terminal, dry_run=True)
    assert deploy(dep) == 0
    assert dep.package_path.read_text(encoding="utf-8") == LISTEN_YAML
    assert dep.synthesize.calls == [(dep.assembly_dir, {  # type: ignore[attr-defined]
        "stages": "prod", "owner_email": "maria@beanthere.example", "account": ACCOUNT, "region": REGION,
        "sms_origination_number": "+12065550100"})]
    assert terminal.said[-1] == f"$ {CDK} deploy prod --app {dep.assembly_dir}"
    assert dep.run.commands == []  # type: ignore[attr-defined]
    assert not [line for line in terminal.said if line.startswith(("[MISSING]", "[WARNING]"))]
    assert REPO_PACKAGED_CONFIG.exists() == packaged_in_repo_before


def test_a_dry_run_changes_nothing_in_a_new_account_and_still_prints_every_command(aws: str, config_path: Path) -> None:
    terminal = Terminal()
    dep = deployment(config_path, terminal, dry_run=True)
    assert deploy(dep) == 0
    assert f"    next: {CDK} bootstrap aws://123456789012/eu-west-1" in terminal.said
    assert "    next: python -m infra.secret_setup --stage prod" in terminal.said
    assert terminal.said[-1] == f"$ {CDK} deploy prod --app {dep.assembly_dir}"
    assert boto3.client("sesv2").list_email_identities()["EmailIdentities"] == []
    assert boto3.client("ssm").describe_parameters()["Parameters"] == []
    assert terminal.asked == []


def test_the_first_run_offers_the_bootstrap_and_stops_until_it_has_worked(aws: str, config_path: Path) -> None:
    prepare_account(bootstrap=False)
    terminal = Terminal("y")
    dep = deployment(config_path, terminal)
    assert deploy(dep) == 1  # the recorder did not really bootstrap: CDKToolkit is still missing
    assert terminal.asked == ["Bootstrap CDK in this account and region now? [y/N] "]
    assert dep.run.commands == [f"{CDK} bootstrap aws://123456789012/eu-west-1"]  # type: ignore[attr-defined]
    assert dep.synthesize.calls == []  # type: ignore[attr-defined]


def test_the_first_run_asks_for_missing_secrets_then_deploys(aws: str, config_path: Path) -> None:
    prepare_account(secrets=False)
    terminal = Terminal("ghp_typed")
    dep = deployment(config_path, terminal, yes=True)
    assert deploy(dep) == 0
    assert terminal.asked == ["  github token for /social-listening/prod/github/token (input hidden; empty to skip): "]
    token = boto3.client("ssm").get_parameter(Name="/social-listening/prod/github/token", WithDecryption=True)
    assert (token["Parameter"]["Type"], token["Parameter"]["Value"]) == ("SecureString", "ghp_typed")
    assert all("ghp_typed" not in line for line in terminal.said)
    assert dep.run.commands == [  # type: ignore[attr-defined]
        f"{CDK} deploy prod --app {dep.assembly_dir} --require-approval never"]


def test_secrets_every_stage_shared_are_copied_to_the_stage_path_once_and_the_run_says_so(
        aws: str, config_path: Path) -> None:
    prepare_account(secrets=False)
    ssm = boto3.client("ssm")
    for name, value in (("/social-listening/signing-key", "shared-key"), ("/social-listening/github/token", "ghp_x")):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    terminal = Terminal()
    assert deploy(deployment(config_path, terminal)) == 0
    assert terminal.asked == []
    copied = [line for line in terminal.said if line.startswith("  copied")]
    assert copied == [
        f"  copied    /social-listening/{name} -> /social-listening/prod/{name}  (once: stage prod now reads only "
        f"/social-listening/prod/; delete /social-listening/{name} when no stage needs it)"
        for name in ("signing-key", "github/token")]
    read = {p: ssm.get_parameter(Name=p, WithDecryption=True)["Parameter"]
            for p in ("/social-listening/prod/signing-key", "/social-listening/prod/github/token",
                      "/social-listening/signing-key")}
    assert [(p["Type"], p["Value"]) for p in read.values()] == [
        ("SecureString", "shared-key"), ("SecureString", "ghp_x"), ("SecureString", "shared-key")]  # shared kept
    assert all("shared-key" not in line and "ghp_x" not in line for line in terminal.said)
    again = Terminal()
    assert deploy(deployment(config_path, again)) == 0
    assert not [line for line in again.said if line.startswith("  copied")]  # once


def test_a_later_run_with_everything_present_just_deploys(aws: str, config_path: Path) -> None:
    prepare_account()
    terminal = Terminal()
    dep = deployment(config_path, terminal)
    assert deploy(dep) == 0
    assert terminal.asked == []
    assert dep.run.commands == [f"{CDK} deploy prod --app {dep.assembly_dir}"]  # type: ignore[attr-defined]


# ---- destroy ----

def test_the_stack_keeps_the_table_in_every_stage() -> None:
    for production in (False, True):
        stack = cdk.Stack(cdk.App(), "TableOnly")
        service_table(stack, "social-listening-x", production=production)
        tables = Template.from_stack(stack).find_resources("AWS::DynamoDB::Table")
        [table] = tables.values()
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert table["Properties"]["DeletionProtectionEnabled"] is production


def test_destroy_without_delete_data_deletes_the_stack_and_keeps_the_table(aws: str, config_path: Path) -> None:
    deploy_stack()
    terminal = Terminal("y")
    assert destroy(deployment(config_path, terminal), delete_data=False) == 0
    assert stack_names() == []
    assert table_names() == ["social-listening-prod"]
    assert terminal.asked == ["Delete the stack social-listening-prod? The table social-listening-prod and its data "
                              "are kept. [y/N] "]
    assert terminal.said[-1].startswith("Kept the table social-listening-prod with its data")


def test_destroy_refuses_a_deployed_stack_that_would_delete_the_table(aws: str, config_path: Path) -> None:
    deploy_stack(retain=False)
    terminal = Terminal()
    assert destroy(deployment(config_path, terminal, yes=True), delete_data=False) == 1
    assert stack_names() == ["social-listening-prod"]
    assert table_names() == ["social-listening-prod"]


def test_delete_data_needs_the_stage_name_typed(aws: str, config_path: Path) -> None:
    deploy_stack()
    terminal = Terminal("yes")
    assert destroy(deployment(config_path, terminal, yes=True), delete_data=True) == 1
    assert terminal.said[-1] == "Not confirmed: nothing was deleted."
    assert stack_names() == ["social-listening-prod"]
    assert table_names() == ["social-listening-prod"]


def test_delete_data_turns_off_deletion_protection_and_deletes_the_table(aws: str, config_path: Path) -> None:
    deploy_stack()
    boto3.client("dynamodb").update_table(TableName="social-listening-prod", DeletionProtectionEnabled=True)
    terminal = Terminal("prod")
    assert destroy(deployment(config_path, terminal), delete_data=True) == 0
    assert stack_names() == []
    assert table_names() == []
    assert "Turning off the deletion protection of the table social-listening-prod (it is on in prod)" in terminal.said
    assert terminal.said[-1] == "Deleted the table social-listening-prod."

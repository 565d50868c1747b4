"""The synthesized stacks: what each stage's template must hold, checked offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from chalicelib.settings import Settings
from chalicelib.settings import variables as settings_variables
from chalicelib.table import TTL_ATTRIBUTE, create_table_request
from infra.stack import (
    chalice_stage_config,
    check_policy_names_table,
    function_role,
    table_properties,
)
from infra.synth import OFFLINE_ACCOUNT, OFFLINE_REGION
from tests.iam_policy import TemplateContext
from tests.infra.conftest import OWNER_EMAIL, Synthesized

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
FUNCTIONS = {"Poll", "Digest", "SesFeedback", "InboundSms", "APIHandler"}
# The only statements allowed "Resource": "*", each because AWS offers nothing narrower.
WILDCARD_RESOURCE_ALLOWED = {
    # sns:CheckIfPhoneNumberIsOptedOut has no resource types (Service Authorization Reference).
    "CheckSmsOptOut",
}


def template(synthesized: Synthesized, stage: str) -> Template:
    return Template.from_json(synthesized.templates[stage])


def statements(resources: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement in the template (role inline policies, policies, topic and queue policies)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        documents = [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if "PolicyDocument" in properties:
            documents.append(properties["PolicyDocument"])
        for document in documents:
            found.extend((name, statement) for statement in document["Statement"])
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", STAGES)
def test_table_keys_index_and_billing_are_the_table_definition(synthesized: Synthesized, stage: str) -> None:
    _, table = synthesized.only(stage, "AWS::DynamoDB::Table")
    request = create_table_request(f"social-listening-{stage}")
    properties = table["Properties"]
    for key in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert properties[key] == request[key], key
    assert properties["BillingMode"] == "PAY_PER_REQUEST"


@pytest.mark.parametrize("stage", STAGES)
def test_table_expires_items_on_the_ttl_attribute_and_keeps_point_in_time_backups(
        synthesized: Synthesized, stage: str) -> None:
    template(synthesized, stage).has_resource_properties("AWS::DynamoDB::Table", {
        "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    })
    assert TTL_ATTRIBUTE == "expires_at"


def test_prod_table_is_deletion_protected_and_retained(synthesized: Synthesized) -> None:
    _, table = synthesized.only("prod", "AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_dev_table_is_unprotected_but_kept_when_the_stack_is_deleted(synthesized: Synthesized) -> None:
    _, table = synthesized.only("dev", "AWS::DynamoDB::Table")
    assert table["Properties"]["DeletionProtectionEnabled"] is False
    assert table["DeletionPolicy"] == "Retain"  # make destroy keeps the data; --delete-data deletes it after
    assert table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("stage", STAGES)
def test_every_function_waits_for_what_it_finds_by_name(synthesized: Synthesized, stage: str) -> None:
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    table_id, _ = synthesized.only(stage, "AWS::DynamoDB::Table")
    configuration_set_id, _ = synthesized.only(stage, "AWS::SES::ConfigurationSet")
    assert set(functions) == FUNCTIONS
    for name, function in functions.items():
        assert {table_id, configuration_set_id} <= set(function["DependsOn"]), name
        # the asynchronous functions' dead-letter permission must exist before Lambda creates them
        assert ("StackWiringPolicy" in function["DependsOn"]) == (name != "APIHandler"), name


@pytest.mark.parametrize("stage", STAGES)
def test_functions_get_names_and_the_secrets_prefix_never_a_secret(synthesized: Synthesized, stage: str) -> None:
    for name, function in synthesized.resources(stage, "AWS::Serverless::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables == {
            "POWERTOOLS_SERVICE_NAME": "social-listening",
            "FETCH_BUDGET_SECONDS": "40",
            "TABLE_NAME": f"social-listening-{stage}",
            "LISTEN_CONFIG": "chalicelib/listen.yaml",
            "SES_CONFIGURATION_SET": f"social-listening-{stage}",
            "SECRETS_PARAMETER_PREFIX": f"/social-listening/{stage}/",
        }, name
        # every variable is one the code reads (Settings; Powertools its own), and each value is valid
        assert set(variables) - {"POWERTOOLS_SERVICE_NAME"} <= settings_variables(), name
        assert Settings.from_environ(variables).required_table() == f"social-listening-{stage}", name


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_error_and_throttle_alarms_that_notify_the_owner(
        synthesized: Synthesized, stage: str) -> None:
    owner_topic = next(name for name, topic in synthesized.resources(stage, "AWS::SNS::Topic").items()
                       if topic["Properties"]["TopicName"] == f"social-listening-{stage}-owner-alerts")
    alarms = synthesized.resources(stage, "AWS::CloudWatch::Alarm").values()
    lambda_alarms = {(a["Properties"]["Dimensions"][0]["Value"]["Ref"], a["Properties"]["MetricName"])
                     for a in alarms if a["Properties"].get("Namespace") == "AWS/Lambda"}
    assert lambda_alarms == {(f, "Errors") for f in FUNCTIONS} | {("APIHandler", "Throttles")}
    service_alarms = {a["Properties"]["MetricName"] for a in alarms
                      if a["Properties"].get("Namespace") == "SocialListening"}
    assert service_alarms == {"DeliveriesNotConfirmed"}
    assert len(alarms) == 8  # at most 10 a stage: CloudWatch's free alarms (offline/cost.py)
    for alarm in alarms:
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": owner_topic}]
        assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)
    template(synthesized, stage).has_resource_properties("AWS::SNS::Subscription", {
        "Protocol": "email", "Endpoint": {"Ref": "OwnerEmail"}, "TopicArn": {"Ref": owner_topic},
    })
    assert synthesized.templates[stage]["Parameters"]["OwnerEmail"]["Default"] == OWNER_EMAIL


@pytest.mark.parametrize("stage", STAGES)
def test_failed_scheduled_runs_go_to_the_dead_letter_queue_whose_depth_alarms(
        synthesized: Synthesized, stage: str) -> None:
    queue_id, queue = synthesized.only(stage, "AWS::SQS::Queue")
    assert queue["Properties"]["QueueName"] == f"social-listening-{stage}-dead-letters"
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    for scheduled in ("Poll", "Digest"):
        assert functions[scheduled]["Properties"]["DeadLetterQueue"] == {
            "Type": "SQS", "TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    assert "DeadLetterQueue" not in functions["APIHandler"]["Properties"]  # invoked synchronously
    template(synthesized, stage).has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0,
    })
    wiring = synthesized.templates[stage]["Resources"]["StackWiringPolicy"]["Properties"]
    assert {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}} in wiring["PolicyDocument"]["Statement"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_delivery_that_failed_or_may_not_have_arrived_alarms(synthesized: Synthesized, stage: str) -> None:
    template(synthesized, stage).has_resource_properties("AWS::CloudWatch::Alarm", {
        "Namespace": "SocialListening", "MetricName": "DeliveriesNotConfirmed",
        "Dimensions": [{"Name": "service", "Value": "social-listening"}], "Statistic": "Sum",
        "ComparisonOperator": "GreaterThanThreshold", "Threshold": 0,
    })


@pytest.mark.parametrize("stage", STAGES)
def test_ses_bounces_and_complaints_reach_the_feedback_topic(synthesized: Synthesized, stage: str) -> None:
    feedback_topic = next(name for name, topic in synthesized.resources(stage, "AWS::SNS::Topic").items()
                          if topic["Properties"]["TopicName"] == f"social-listening-{stage}-ses-feedback")
    _, configuration_set = synthesized.only(stage, "AWS::SES::ConfigurationSet")
    assert configuration_set["Properties"]["Name"] == f"social-listening-{stage}"
    template(synthesized, stage).has_resource_properties("AWS::SES::ConfigurationSetEventDestination", {
        "ConfigurationSetName": f"social-listening-{stage}",
        "EventDestination": {"Enabled": True, "MatchingEventTypes": ["bounce", "complaint"],
                             "SnsDestination": {"TopicARN": {"Ref": feedback_topic}}, "Name": Match.any_value()},
    })


@pytest.mark.parametrize("stage", STAGES)
def test_api_is_throttled_and_logs_keep_the_stage_retention(synthesized: Synthesized, stage: str) -> None:
    _, api = synthesized.only(stage, "AWS::Serverless::Api")
    assert api["Properties"]["MethodSettings"] == [
        {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20}]
    retention = chalice_stage_config(stage)["log_retention_in_days"]
    log_groups = synthesized.resources(stage, "AWS::Logs::LogGroup").values()
    assert sorted(json.dumps(g["Properties"]["LogGroupName"]) for g in log_groups) == sorted(
        json.dumps({"Fn::Join": ["", ["/aws/lambda/", {"Ref": f}]]}) for f in FUNCTIONS)
    assert {g["Properties"]["RetentionInDays"] for g in log_groups} == {retention}


@pytest.mark.parametrize("stage", STAGES)
def test_no_statement_allows_every_action_or_every_resource_but_the_listed_ones(
        synthesized: Synthesized, stage: str) -> None:
    found = statements(synthesized.templates[stage]["Resources"])
    assert len(found) > 10
    for resource, statement in found:
        if statement["Effect"] != "Allow":
            continue
        assert "*" not in as_list(statement["Action"]), (resource, statement)
        if "*" in as_list(statement.get("Resource", [])):
            assert statement.get("Sid") in WILDCARD_RESOURCE_ALLOWED, (resource, statement)


@pytest.mark.parametrize("stage", STAGES)
def test_each_function_has_its_own_role_pinned_to_the_account_region_and_stage(
        synthesized: Synthesized, stage: str) -> None:
    _, table = synthesized.only(stage, "AWS::DynamoDB::Table")
    name = table["Properties"]["TableName"]
    ctx = TemplateContext(synthesized.templates[stage], account=OFFLINE_ACCOUNT, region=OFFLINE_REGION)
    pinned = f"{OFFLINE_REGION}:{OFFLINE_ACCOUNT}"
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    roles = {functions[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions}
    assert roles == {function_role(f) for f in FUNCTIONS}  # five roles, one each
    for function, statements in ctx.role_statements().items():
        sids = {statement["Sid"]: statement for statement in statements}
        assert sids["Table"]["Resource"] == [f"arn:aws:dynamodb:{pinned}:table/{name}",
                                             f"arn:aws:dynamodb:{pinned}:table/{name}/index/*"], function
        # CloudFormation names the functions <stack name>-<logical id>-<suffix>: the Logs statement relies on it.
        assert sids["Logs"]["Resource"] == f"arn:aws:logs:{pinned}:log-group:/aws/lambda/{name}-*:*", function
        assert sids["Secrets"] == {"Sid": "Secrets", "Effect": "Allow", "Action": "ssm:GetParameter",
                                   "Resource": f"arn:aws:ssm:{pinned}:parameter/social-listening/{stage}/*"}
        for statement in statements:
            for resource in as_list(statement.get("Resource", statement.get("NotResource"))):
                assert resource == "*" or resource.startswith(f"arn:aws:{resource.split(':')[2]}:{pinned}:") \
                    or resource == "arn:aws:sns:*:*:*", (function, statement)  # NotResource: phones only
        assert not any(a.startswith("kms:") for s in statements for a in as_list(s["Action"])), function


def test_a_policy_for_another_table_is_refused() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"],
                             "Resource": "arn:aws:dynamodb:*:*:table/social-listening-staging"}]}
    with pytest.raises(ValueError, match="social-listening-dev"):
        check_policy_names_table(policy, "social-listening-dev")
    check_policy_names_table(policy, "social-listening-staging")


def test_a_table_setting_infra_does_not_translate_is_refused() -> None:
    request = create_table_request("t") | {"StreamSpecification": {"StreamEnabled": True}}
    with pytest.raises(ValueError, match="StreamSpecification"):
        table_properties(request)


def test_cfn_lint_passes_on_every_stage(synthesized: Synthesized) -> None:
    paths = [str(synthesized.outdir / f"{stage}.template.json") for stage in STAGES]
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # the virtualenv's own, pinned in infra/requirements.txt
    result = subprocess.run([str(cfn_lint), *paths], capture_output=True, text=True, timeout=60)  # noqa: S603
    assert (result.returncode, result.stdout) == (0, "")


LAMBDA_RUNTIME = "python3.13"  # the newest Lambda Python runtime chalice 1.34 and every dependency support


def test_every_function_runs_on_the_newest_supported_python(synthesized: Synthesized) -> None:
    for stage in STAGES:
        for name, function in synthesized.resources(stage, "AWS::Serverless::Function").items():
            properties = function["Properties"]
            assert (properties["Runtime"], properties["Architectures"]) == (LAMBDA_RUNTIME, ["x86_64"]), name
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" == LAMBDA_RUNTIME  # chalice follows it


def test_the_poll_function_gets_the_memory_its_measured_cpu_needs(synthesized: Synthesized) -> None:
    from offline.cost import poll_memory_mb  # what make cost prices; make bench derives it (bench.pipeline)

    for stage in STAGES:
        memory = {name: f["Properties"]["MemorySize"]
                  for name, f in synthesized.resources(stage, "AWS::Serverless::Function").items()}
        assert memory == {**dict.fromkeys(FUNCTIONS, 256), "Poll": poll_memory_mb()} and poll_memory_mb() == 768


def test_every_compiled_library_in_the_layer_is_built_for_the_runtime_and_architecture(
        synthesized: Synthesized) -> None:
    _, layer = synthesized.only("prod", "AWS::Serverless::LayerVersion")
    functions = synthesized.resources("prod", "AWS::Serverless::Function").values()
    (runtime,) = {function["Properties"]["Runtime"] for function in functions}
    version = runtime.removeprefix("python")  # "3.13"
    abi = "cp" + version.replace(".", "")  # "cp313"
    archive = synthesized.outdir / f"asset.{layer['Properties']['ContentUri']['Key']}"
    with zipfile.ZipFile(archive) as layer_zip:
        names = layer_zip.namelist()
        wheels = {n: layer_zip.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL")}
    compiled = [n for n in names if n.endswith(".so")]
    assert "python/lib/python3.13/site-packages/ahocorasick.cpython-313-x86_64-linux-gnu.so" in compiled
    for name in compiled:
        assert name.startswith(f"python/lib/python{version}/site-packages/"), name
        assert re.search(rf"\.cpython-{abi[2:]}-x86_64-linux-gnu\.so$|\.abi3\.so$|/[^/.]+\.so$", name), name
        assert not re.search(r"\.cpython-(?!" + abi[2:] + r")\d+-", name), name  # no other Python's build
    binary = [tags for tags in wheels.values() if "Root-Is-Purelib: false" in tags]
    assert binary  # pyahocorasick, pydantic-core, PyYAML...
    for tags in binary:
        tag_lines = [line for line in tags.splitlines() if line.startswith("Tag: ")]
        assert all(re.fullmatch(rf"Tag: ({abi}-{abi}|cp3\d+-abi3)-manylinux\w*_x86_64", t) for t in tag_lines), tags


def test_synthesis_leaves_no_chalice_out_in_the_repository(synthesized: Synthesized) -> None:
    assert synthesized.outdir.is_dir()
    assert not (REPO_ROOT / "chalice.out").exists()


def test_synthesis_leaves_no_stage_variable_in_the_process(synthesized: Synthesized) -> None:
    # chalice package sets the stages' variables in os.environ; a later test or the deploy would run as prod
    assert synthesized.outdir.is_dir()
    for name in ("SECRETS_PARAMETER_PREFIX", "SES_CONFIGURATION_SET"):
        assert name not in os.environ, name


@pytest.mark.parametrize("stage", STAGES)
def test_ses_feedback_reaches_its_function_through_an_sns_event(synthesized: Synthesized, stage: str) -> None:
    topics = synthesized.resources(stage, "AWS::SNS::Topic")
    name = f"social-listening-{stage}-ses-feedback"
    (feedback_id,) = [i for i, t in topics.items() if t["Properties"]["TopicName"] == name]
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    assert functions["SesFeedback"]["Properties"]["Events"] == {
        "SesFeedbackTopic": {"Type": "SNS", "Properties": {"Topic": {"Ref": feedback_id}}}}


@pytest.mark.parametrize("stage", STAGES)
def test_inbound_sms_reaches_its_function_through_an_sns_event(synthesized: Synthesized, stage: str) -> None:
    topics = synthesized.resources(stage, "AWS::SNS::Topic")
    name = f"social-listening-{stage}-inbound-sms"
    (inbound_id,) = [i for i, t in topics.items() if t["Properties"]["TopicName"] == name]
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    assert functions["InboundSms"]["Properties"]["Events"] == {
        "InboundSmsTopic": {"Type": "SNS", "Properties": {"Topic": {"Ref": inbound_id}}}}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_stage_publishes_what_it_made_as_plain_settings_never_a_secret(
        synthesized: Synthesized, stage: str) -> None:
    parameters = synthesized.resources(stage, "AWS::SSM::Parameter").values()
    settings = {p["Properties"]["Name"]: p["Properties"] for p in parameters}
    path = f"/social-listening/{stage}/settings/"
    assert sorted(settings) == [path + name for name in (
        "dead-letter-queue-url", "inbound-sms-topic-arn", "owner-alerts-topic-arn", "secrets-prefix",
        "ses-configuration-set", "ses-feedback-topic-arn", "table-name")]
    assert {p["Type"] for p in settings.values()} == {"String"}
    table_id, _ = synthesized.only(stage, "AWS::DynamoDB::Table")
    queue_id, _ = synthesized.only(stage, "AWS::SQS::Queue")
    assert settings[path + "table-name"]["Value"] == {"Ref": table_id}
    assert settings[path + "dead-letter-queue-url"]["Value"] == {"Ref": queue_id}
    assert settings[path + "secrets-prefix"]["Value"] == f"/social-listening/{stage}/"


def test_cdk_nag_aws_solutions_and_serverless_pass_with_every_suppression_reasoned(synthesized: Synthesized) -> None:
    report = json.loads((synthesized.outdir / "validation-report.json").read_text())
    packs = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    assert set(packs) == {"AwsSolutions", "Serverless"}
    for name, plugin in packs.items():
        assert (plugin["conclusion"], plugin["violations"]) == ("success", []), name
        for suppressed in plugin["suppressedViolations"]:
            assert len(suppressed["reason"]) > 30, suppressed["acknowledgedId"]  # a reason in words, not a tag
    suppressed_rules = {s["ruleName"].split("[")[0] for p in packs.values() for s in p["suppressedViolations"]}
    assert suppressed_rules == {"AwsSolutions-SQS3", "AwsSolutions-IAM5", "Serverless-SQSRedrivePolicy",
                                "Serverless-SNSRedrivePolicy", "Serverless-LambdaStarPermissions"}


@pytest.mark.parametrize("stage", STAGES)
def test_make_cost_counts_the_alarms_the_stack_makes(synthesized: Synthesized, stage: str) -> None:
    from offline.cost import ALARMS_PER_STAGE

    assert len(synthesized.resources(stage, "AWS::CloudWatch::Alarm")) == ALARMS_PER_STAGE <= 10


@pytest.mark.parametrize("stage", STAGES)
def test_the_table_is_encrypted_with_an_aws_owned_key_that_bills_no_kms_requests(
        synthesized: Synthesized, stage: str) -> None:
    _, table = synthesized.only(stage, "AWS::DynamoDB::Table")
    assert "SSESpecification" not in table["Properties"]  # DynamoDB's default: AWS owned key, always on

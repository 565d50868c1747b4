"""Every AWS call the code makes is allowed by the deployed role of the function that makes it.

``tests/aws_calls.py`` records the calls of every test in the session (the integration suite's runs of the
poll, digest, API pages, SES feedback and inbound SMS handlers on the local stack); the last test of the
session (tests/conftest.py orders it) evaluates each against the synthesized role of its function with
``tests/iam_policy.py``. The other tests here pin the defects that checking found, and the evaluator itself.
"""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.runtime import SEND_CLIENT_TIMEOUTS, _client, stage_parameter
from infra.policies import FUNCTIONS, NOT_CALLED_BY_THE_CODE, stage_secrets_path
from infra.synth import OFFLINE_ACCOUNT, OFFLINE_REGION
from tests import aws_calls
from tests.iam_policy import EXPLICIT_DENY, IMPLICIT_DENY, Request, TemplateContext, as_list, evaluate
from tests.infra.conftest import Synthesized

pytestmark = pytest.mark.infra

STAGES = ("dev", "prod")
API_GATEWAY_TIMEOUT_SECONDS = 29  # REST API integration timeout (API Gateway quotas)


def context(synthesized: Synthesized, stage: str) -> TemplateContext:
    return TemplateContext(synthesized.templates[stage], account=OFFLINE_ACCOUNT, region=OFFLINE_REGION)


def arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{OFFLINE_REGION}:{OFFLINE_ACCOUNT}:{resource}"


# ---- the evaluator ----

def test_evaluator_allows_only_what_a_statement_covers_and_an_explicit_deny_wins() -> None:
    statements = [
        {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Query"],
         "Resource": "arn:aws:dynamodb:eu-west-1:1:table/t"},
        {"Sid": "Phones", "Effect": "Allow", "Action": "sns:Publish", "NotResource": "arn:aws:sns:*:*:*"},
        {"Sid": "NoQuery", "Effect": "Deny", "Action": "dynamodb:query", "Resource": "*"},
    ]
    table = "arn:aws:dynamodb:eu-west-1:1:table/t"
    assert evaluate(statements, Request("DynamoDB:GetItem", table)).sid == "Table"  # actions: any case
    assert evaluate(statements, Request("dynamodb:GetItem", table + "2")).outcome == IMPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:DeleteItem", table)).outcome == IMPLICIT_DENY
    assert evaluate(statements, Request("dynamodb:Query", table)).outcome == EXPLICIT_DENY
    assert evaluate(statements, Request("sns:Publish", "*")).allowed  # a phone number, not a topic
    assert not evaluate(statements, Request("sns:Publish", "arn:aws:sns:eu-west-1:1:topic")).allowed


def test_evaluator_conditions_and_principals() -> None:
    statement = {"Sid": "Alarms", "Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:r:1:t",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Condition": {"StringEquals": {"aws:SourceAccount": "1"},
                               "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:r:1:alarm:*"}}}
    good = {"aws:SourceAccount": "1", "aws:SourceArn": "arn:aws:cloudwatch:r:1:alarm:x"}
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    assert evaluate([statement], Request("sns:Publish", "arn:aws:sns:r:1:t", good, cloudwatch)).allowed
    for bad in ({**good, "aws:SourceAccount": "2"}, {"aws:SourceAccount": "1"},
                {**good, "aws:SourceArn": "arn:aws:cloudwatch:r:2:alarm:x"}):
        assert not evaluate([statement], Request("sns:Publish", "arn:aws:sns:r:1:t", bad, cloudwatch)).allowed
    assert not evaluate([statement], Request("sns:Publish", "arn:aws:sns:r:1:t", good,
                                             {"Service": "s3.amazonaws.com"})).allowed
    assert not evaluate([statement], Request("sns:Publish", "arn:aws:sns:r:1:t", good)).allowed  # not a role's
    with pytest.raises(ValueError, match="NumericLessThan"):
        evaluate([{**statement, "Condition": {"NumericLessThan": {"x": "1"}}}],
                 Request("sns:Publish", "arn:aws:sns:r:1:t", good, cloudwatch))


# ---- the defects the gate found ----

@pytest.mark.parametrize("stage", STAGES)
def test_ending_a_snooze_may_delete_its_item(synthesized: Synthesized, stage: str) -> None:
    roles = context(synthesized, stage).role_statements()
    table = arn("dynamodb", f"table/social-listening-{stage}")
    assert evaluate(roles["Poll"], Request("dynamodb:DeleteItem", table)).allowed  # the cycle ends snoozes
    assert not evaluate(roles["Poll"], Request("dynamodb:DeleteItem", arn("dynamodb", "table/other"))).allowed


@pytest.mark.parametrize("stage", STAGES)
def test_the_functions_that_send_sms_may_check_the_opt_out_list(synthesized: Synthesized, stage: str) -> None:
    roles = context(synthesized, stage).role_statements()
    for function in ("Poll", "InboundSms", "APIHandler"):  # APIHandler: webhook deliveries are alerted at once
        assert evaluate(roles[function], Request("sns:CheckIfPhoneNumberIsOptedOut", "*")).allowed, function
        assert evaluate(roles[function], Request("sns:Publish", "*")).allowed, function
    for function in ("Digest", "SesFeedback"):
        assert not evaluate(roles[function], Request("sns:Publish", "*")).allowed, function


@pytest.mark.parametrize("stage", STAGES)
def test_the_owner_alerts_topic_takes_this_accounts_alarms_only_over_tls(synthesized: Synthesized, stage: str) -> None:
    ctx = context(synthesized, stage)
    topic_id = next(name for name, topic in synthesized.resources(stage, "AWS::SNS::Topic").items()
                    if topic["Properties"]["TopicName"] == f"social-listening-{stage}-owner-alerts")
    (policy,) = [ctx.resolve(p["Properties"]["PolicyDocument"])
                 for p in synthesized.resources(stage, "AWS::SNS::TopicPolicy").values()
                 if p["Properties"]["Topics"] == [{"Ref": topic_id}]]
    topic = arn("sns", f"social-listening-{stage}-owner-alerts")
    cloudwatch = {"Service": "cloudwatch.amazonaws.com"}
    alarm = {"aws:SourceAccount": OFFLINE_ACCOUNT, "aws:SourceArn": arn("cloudwatch", "alarm:PollErrors"),
             "aws:SecureTransport": "true"}
    assert evaluate(policy["Statement"], Request("sns:Publish", topic, alarm, cloudwatch)).allowed
    other_account = {**alarm, "aws:SourceAccount": "999999999999",
                     "aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:999999999999:alarm:x"}
    assert not evaluate(policy["Statement"], Request("sns:Publish", topic, other_account, cloudwatch)).allowed
    plain = {**alarm, "aws:SecureTransport": "false"}
    assert evaluate(policy["Statement"], Request("sns:Publish", topic, plain, cloudwatch)).outcome == EXPLICIT_DENY


@pytest.mark.parametrize("stage", STAGES)
def test_the_api_function_stops_before_api_gateway_and_a_poll_send_fits_the_time_left(
        synthesized: Synthesized, stage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", OFFLINE_REGION)  # the clients are only built, never called
    functions = synthesized.resources(stage, "AWS::Serverless::Function")
    assert functions["APIHandler"]["Properties"]["Timeout"] < API_GATEWAY_TIMEOUT_SECONDS
    poll = functions["Poll"]["Properties"]
    left_after_fetching = poll["Timeout"] - int(poll["Environment"]["Variables"]["FETCH_BUDGET_SECONDS"])
    for service in ("sesv2", "sns"):
        config = _client(service).meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}  # one attempt: never resent blindly
        assert (config.connect_timeout, config.read_timeout) == tuple(SEND_CLIENT_TIMEOUTS.values())
        assert config.connect_timeout + config.read_timeout <= left_after_fetching / 2  # two sends, worst case


# ---- the gate ----

def granted_actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for s in statements if s["Effect"] == "Allow" for action in as_list(s.get("Action", []))}


def test_every_recorded_call_is_allowed_by_the_role_of_the_function_that_makes_it(synthesized: Synthesized) -> None:
    recorded = aws_calls.calls()
    attributed = [call for call in recorded if call.functions]
    if not attributed:
        pytest.skip("no test in this session ran the service's handlers: run tests/integration in the same session")
    lines: list[str] = []
    for stage in STAGES:
        roles = context(synthesized, stage).role_statements()
        assert set(roles) == set(FUNCTIONS)
        denied: list[str] = []
        called: set[tuple[str, str]] = set()
        for call in attributed:
            for function in call.functions:
                for action, resource in aws_calls.iam_requests(
                        call, stage_table=f"social-listening-{stage}", account=OFFLINE_ACCOUNT, region=OFFLINE_REGION,
                        parameter=lambda name, s=stage: stage_parameter(name, stage_secrets_path(s))):
                    called.add((function, action))
                    decision = evaluate(roles[function], Request(action, resource))
                    if not decision.allowed:
                        denied.append(f"{stage}: {function} role denies {action} on {resource} "
                                      f"({call.service}.{call.operation} at {call.where}; {decision.outcome}: "
                                      f"missing action {action})")
        unused = sorted((function, action) for function, statements in roles.items()
                        for action in granted_actions(statements) if (function, action) not in called)
        unexplained = [f"{function}: {action}" for function, action in unused if action not in NOT_CALLED_BY_THE_CODE]
        judged = aws_calls.whole_suite()
        if stage == "prod":
            lines += [f"iam_calls_recorded: {len(recorded)}",
                      f"iam_calls_unattributed: {len(recorded) - len(attributed)}",
                      f"iam_calls_denied: {len(denied)}",
                      f"iam_grants_unused: {len(unused)}" if judged else
                      "iam_grants_unused: not judged (this session did not run every tests/integration file)"]
            lines += [f"  granted, never called: {function} {action} "
                      f"({NOT_CALLED_BY_THE_CODE.get(action, 'NO REASON')})" for function, action in unused if judged]
            lines += [f"  called: {function} {action}" for function, action in sorted(called)]
            aws_calls.set_summary(lines)
        assert denied == [], "\n".join(denied)
        if not judged:
            continue
        assert unexplained == [], ("granted but never called, with no reason in infra/policies.py "
                                   f"NOT_CALLED_BY_THE_CODE (remove the grant or say why): {unexplained}")
    print("\n".join(lines))  # and at the end of the session (tests/conftest.py)

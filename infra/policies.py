"""What each Lambda function of a stage may call: one policy per function role, pinned to the account, the
region and the stage (imports nothing heavy: the stack, the call-coverage check and the tests read it).

The grants are the calls the code makes, as recorded by the integration suite (``tests/aws_calls.py``) and
checked against the synthesized roles (``tests/infra/test_call_coverage.py``): a call no role allows fails
``make test``, and a grant no test calls is listed with its reason in ``NOT_CALLED_BY_THE_CODE``.
Sources for actions without resource types (``Resource: "*"`` is then the only form IAM accepts): the
Service Authorization Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
"""

from __future__ import annotations

from typing import Any

from infra.names import APP_NAME

POLL, DIGEST, API, FEEDBACK, INBOUND_SMS = "Poll", "Digest", "APIHandler", "SesFeedback", "InboundSms"
FUNCTIONS = (POLL, DIGEST, API, FEEDBACK, INBOUND_SMS)

# The table actions each function's code calls (chalicelib/store/, as the integration suite records them; a
# TransactWriteItems needs the action of each of its items); nothing else is granted on the table.
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    # DeleteItem: end_snooze; BatchWriteItem: a day's opportunity and question keys (one small item each)
    POLL: ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem"),
    # GetItem, Scan: the inbox backfill's progress and its pages (chalicelib/store/backfill.py; once done, a GetItem)
    DIGEST: ("GetItem", "PutItem", "UpdateItem", "Query", "BatchGetItem", "Scan"),
    # DeleteItem: a nonce released; BatchWriteItem: a webhook delivery's opportunity and question keys (as the poll)
    API: ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem"),
    FEEDBACK: ("PutItem",),  # a suppression per bounce or complaint
    INBOUND_SMS: ("GetItem", "PutItem", "UpdateItem"),
}
SENDS_EMAIL = {POLL, DIGEST, API}
SENDS_SMS = {POLL, INBOUND_SMS, API}  # API: a webhook delivery is alerted in its request (chalicelib/webhooks/)
KEEPS_SESSIONS = {POLL}  # the connectors' session tokens (chalicelib/credentials.py)

# Granted and never called by the code, each for a reason (printed by the call-coverage check).
NOT_CALLED_BY_THE_CODE = {
    "logs:CreateLogStream": "the Lambda service writes the function's logs with the function's role, not the code",
    "logs:PutLogEvents": "the Lambda service writes the function's logs with the function's role, not the code",
    "sqs:SendMessage": "the Lambda service sends a failed asynchronous invocation to the dead letters as the role",
    "ssm:PutParameter": "the poll's connectors keep Bluesky and Reddit sessions as SecureStrings; the suite "
                        "tests that write on SecretState itself (tests/integration/test_sessions_in_ssm.py)",
}


# Why each wildcard in a resource is the narrowest IAM offers (cdk-nag's AwsSolutions-IAM5 is acknowledged
# finding by finding with these reasons, infra/stack.py).
WILDCARD_REASONS = {
    "Logs": "the function's log groups: CloudFormation adds a random suffix to the function names",
    "Table": "the stage table's indexes (queries name one)",
    "Secrets": "the stage's own SSM path: listen.yaml names the parameters",
    "Sessions": "one parameter per network session, named by the network",
    "SendEmail": "any SES identity of the account and region: listen.yaml names the sender",
    "CheckSmsOptOut": "sns:CheckIfPhoneNumberIsOptedOut has no resource type: '*' is the only form IAM accepts",
}


def stage_secrets_path(stage: str) -> str:
    """``/social-listening/<stage>/``: the only SSM path a stage's functions may read."""
    return f"/{APP_NAME}/{stage}/"


def function_policy(function: str, *, stage: str, partition: str, region: str, account: str) -> dict[str, Any]:
    """The policy document of ``function``'s role in ``stage`` (every ARN pinned to account and region)."""
    prefix = f"{APP_NAME}-{stage}"
    arn = f"arn:{partition}"
    table = f"{arn}:dynamodb:{region}:{account}:table/{prefix}"
    statements: list[dict[str, Any]] = [
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         # CloudFormation names the functions <stack name>-<logical id>-<suffix>; the stack makes the groups.
         "Resource": f"{arn}:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*:*"},
        {"Sid": "Table", "Effect": "Allow", "Action": [f"dynamodb:{a}" for a in TABLE_ACTIONS[function]],
         "Resource": [table, f"{table}/index/*"]},
        # SecureStrings under the aws/ssm key: SSM decrypts for a caller allowed GetParameter (no kms grant).
        {"Sid": "Secrets", "Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": f"{arn}:ssm:{region}:{account}:parameter{stage_secrets_path(stage)}*"},
    ]
    if function in KEEPS_SESSIONS:
        # Network session tokens (Bluesky, Reddit) are SecureStrings beside the stage's secrets, never in the table.
        statements.append({"Sid": "Sessions", "Effect": "Allow", "Action": "ssm:PutParameter",
                           "Resource": f"{arn}:ssm:{region}:{account}:parameter{stage_secrets_path(stage)}sessions/*"})
    if function in SENDS_EMAIL:
        # SES v2 SendEmail is authorized as ses:SendEmail on the sender's identity and on the configuration set.
        statements.append({"Sid": "SendEmail", "Effect": "Allow", "Action": "ses:SendEmail",
                           "Resource": [f"{arn}:ses:{region}:{account}:identity/*",
                                        f"{arn}:ses:{region}:{account}:configuration-set/{prefix}"]})
    if function in SENDS_SMS:
        statements.append({"Sid": "SendSmsOnlyToPhoneNumbers", "Effect": "Allow", "Action": "sns:Publish",
                           "NotResource": f"{arn}:sns:*:*:*"})
        # No resource types for this action (Service Authorization Reference): "*" is the only form.
        statements.append({"Sid": "CheckSmsOptOut", "Effect": "Allow",
                           "Action": "sns:CheckIfPhoneNumberIsOptedOut", "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}

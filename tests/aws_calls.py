"""The test harness's record of every AWS call the service's code makes (never loaded by production code).

A ``before-parameter-build`` handler (it sees the call's own parameters) is registered on every botocore
session the tests create (sessions copy their handlers into each client they make), so every API call
through boto3 or botocore is seen before it is sent. Each call is attributed to the Lambda function that
would make it by the honest route: the call's own Python stack. The outermost frame that is an entry point
of a function (``app.py``'s handlers, or the chalicelib object each handler calls: ``Pipeline.run_cycle``
for Poll, ``DigestSender.run`` for Digest, ``ActionService``'s pages for the API, the SNS handlers of
SesFeedback and InboundSms) names the function; ``runtime.runtime()`` (the cold start every function
shares: reading the signing key) names them all. A call with no chalicelib frame on its stack is the
harness's own (creating tables, verifying senders, reading the outbox) and is not recorded; a call from
chalicelib outside any entry point (a test calling ``Store`` directly to set up data) is counted as
unattributed and not judged.

``tests/infra/test_call_coverage.py`` evaluates the record against the synthesized roles.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

RECORD_ENV = "AWS_CALLS_RECORD"  # where the record is written at the end of the session (JSON lines)
DEFAULT_RECORD = Path(__file__).resolve().parent.parent / ".local" / "aws-calls.jsonl"

# (module, function name) -> the Lambda functions (Chalice logical ids) whose entry point it is.
ALL_FUNCTIONS = ("Poll", "Digest", "APIHandler", "SesFeedback", "InboundSms")
ENTRY_POINTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("app", "poll"): ("Poll",),
    ("app", "digest"): ("Digest",),
    ("app", "ses_feedback"): ("SesFeedback",),
    ("app", "inbound_sms"): ("InboundSms",),
    **{("app", route): ("APIHandler",) for route in (
        "confirm_action", "perform_action", "short_link", "confirm_unsubscribe", "unsubscribe", "digest_view",
        "webhook_verify", "webhook_deliver")},
    **{("app", route): ("APIHandler",) for route in (  # the inbox's sign-in
        "sign_in_form", "sign_in_request", "sign_in_link", "sign_in_confirm", "sign_out", "sign_out_everywhere",
        "inbox")},
    ("chalicelib.pipeline", "run_cycle"): ("Poll",),
    ("chalicelib.digest", "run"): ("Digest",),
    ("chalicelib.feedback", "handle_sns_event"): ("SesFeedback",),
    ("chalicelib.sms_commands", "handle_sns_event"): ("InboundSms",),
    **{("chalicelib.web.service", method): ("APIHandler",) for method in (
        "confirm_page", "perform", "token_for_short_code", "digest_page")},
    **{("chalicelib.web.session", method): ("APIHandler",) for method in (
        "viewer", "checked_post", "request_link", "link_page", "consume_link", "sign_out", "sign_out_everywhere")},
    **{("chalicelib.webhooks.service", method): ("APIHandler",) for method in ("verify", "deliver")},
    ("chalicelib.runtime", "runtime"): ALL_FUNCTIONS,
}


@dataclass(frozen=True)
class AwsCall:
    """One API call: botocore's service name and operation, the parameters that name resources, and the
    functions it is attributed to (empty: made by chalicelib outside any entry point, e.g. a test calling
    ``Store`` directly to set up data)."""

    service: str
    operation: str
    params: dict[str, Any]
    functions: tuple[str, ...]
    where: str  # the innermost chalicelib frame, file:line


_calls: list[AwsCall] = []
_lock = threading.Lock()
# The parameters that name a resource, kept from each call (values only, never secrets' values).
_RESOURCE_PARAMS = ("TableName", "IndexName", "RequestItems", "TransactItems", "Name", "Names", "TopicArn",
                    "PhoneNumber", "phoneNumber", "FromEmailAddress", "ConfigurationSetName", "TargetArn", "QueueUrl")


def _attribute(frame: FrameType | None) -> tuple[tuple[str, ...], str]:
    functions: tuple[str, ...] = ()
    where = ""
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module == "app" or module.startswith("chalicelib"):
            if not where:
                where = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno}"
            found = ENTRY_POINTS.get((module, frame.f_code.co_name))
            if found:
                functions = found  # keep climbing: the outermost entry point wins
        frame = frame.f_back
    return functions, where


def _resource_params(params: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key in _RESOURCE_PARAMS:
        if key not in params:
            continue
        value = params[key]
        if key == "RequestItems":
            value = sorted(value)
        elif key == "TransactItems":
            value = [{kind: {"TableName": body.get("TableName")} for kind, body in item.items()} for item in value]
        kept[key] = value
    return kept


def record_call(model: Any, params: dict[str, Any], **_: Any) -> None:
    """botocore ``before-parameter-build`` handler: note the call if the service's code made it."""
    functions, where = _attribute(sys._getframe(1))
    if not where:
        return  # the harness's own call
    call = AwsCall(model.service_model.service_name, model.name, _resource_params(params), functions, where)
    with _lock:
        _calls.append(call)


def install() -> None:
    """Register ``record_call`` on every botocore session created from now on (and the default one)."""
    import boto3
    import botocore.session

    if getattr(botocore.session.Session, "_aws_calls_installed", False):
        return
    original = botocore.session.Session.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.register("before-parameter-build", record_call)

    botocore.session.Session.__init__ = init  # type: ignore[method-assign]
    botocore.session.Session._aws_calls_installed = True  # type: ignore[attr-defined]
    boto3.DEFAULT_SESSION = None  # the next boto3.client() makes a session that records


def calls() -> list[AwsCall]:
    with _lock:
        return list(_calls)


def write(path: Path | None = None) -> Path:
    """Write the record (one JSON object a line) for the coverage check; returns the path."""
    path = path or Path(os.environ.get(RECORD_ENV, DEFAULT_RECORD))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for call in calls():
            out.write(json.dumps(asdict(call), sort_keys=True) + "\n")
    return path


def read(path: Path) -> list[AwsCall]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        data = json.loads(line)
        found.append(AwsCall(data["service"], data["operation"], data["params"], tuple(data["functions"]),
                             data["where"]))
    return found


def iam_requests(call: AwsCall, *, stage_table: str, account: str, region: str,
                 parameter: Any = None) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs AWS authorizes for ``call`` in a deployed stage: the test's table
    stands for the stage's table, the moto account and region for the stack's, and ``parameter`` maps an SSM
    name as the deployed function would read it. Raises LookupError for an operation with no mapping here (add
    one: the gate must never pass a call it does not understand)."""
    arn = f"arn:aws:{{}}:{region}:{account}:{{}}"
    table = arn.format("dynamodb", f"table/{stage_table}")
    params = call.params
    key = (call.service, call.operation)
    if call.service == "dynamodb":
        if call.operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"):
            index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
            return [(f"dynamodb:{call.operation}", table + index)]
        if call.operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{call.operation}", table) for _ in params["RequestItems"]]
        if call.operation in ("TransactWriteItems", "TransactGetItems"):
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
            return [(f"dynamodb:{kinds[kind]}", table) for item in params["TransactItems"] for kind in item]
    if key == ("sesv2", "SendEmail"):
        # SES authorizes the sender's identity (address or domain) and the configuration set named.
        sender = str(params.get("FromEmailAddress", "")).rsplit("<", 1)[-1].rstrip(">")
        found = [("ses:SendEmail", arn.format("ses", f"identity/{sender}")),
                 ("ses:SendEmail", arn.format("ses", f"identity/{sender.rsplit('@', 1)[-1]}"))]
        if params.get("ConfigurationSetName"):  # the test's configuration set stands for the stage's (the table's)
            found.append(("ses:SendEmail", arn.format("ses", f"configuration-set/{stage_table}")))
        return found
    if key == ("sns", "Publish"):
        return [("sns:Publish", params["TopicArn"] if "TopicArn" in params else "*")]  # "*": to a phone number
    if key == ("sns", "CheckIfPhoneNumberIsOptedOut"):
        return [("sns:CheckIfPhoneNumberIsOptedOut", "*")]
    if key in (("ssm", "GetParameter"), ("ssm", "GetParameters")):
        names = params["Names"] if "Names" in params else [params["Name"]]
        return [(f"ssm:{call.operation}", arn.format("ssm", f"parameter{parameter(n) if parameter else n}"))
                for n in names]
    raise LookupError(f"no IAM mapping for {call.service}:{call.operation} (tests/aws_calls.py iam_requests)")


_summary: list[str] = []
_whole_suite = [False]


def set_whole_suite(value: bool) -> None:
    """Whether this session runs every integration test file: only then is a grant never called unused."""
    _whole_suite[0] = value


def whole_suite() -> bool:
    return _whole_suite[0]


def set_summary(lines: list[str]) -> None:
    """What the call-coverage check found, printed at the end of the session (figures as ``name: value``)."""
    _summary[:] = lines


def summary_lines() -> list[str]:
    return list(_summary)

"""The service's stack: the Chalice app (packaged by ``chalice package``) and everything around it.

One stack per Chalice stage (``dev``, ``prod``): the DynamoDB table from ``chalicelib/table.py``,
the SES configuration set with its feedback topic, the inbound SMS topic, the dead-letter queue of
the scheduled function, the owner's alarms, log retention (from ``.chalice/config.json``) and API
throttling. Secrets are never in the template: the functions only get the SSM path prefix.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.observability import NAMESPACE, NOT_CONFIRMED_METRIC, SERVICE
from chalicelib.table import TTL_ATTRIBUTE, create_table_request
from infra.names import APP_NAME
from infra.policies import WILDCARD_REASONS, function_policy, stage_secrets_path

REPO_ROOT = Path(__file__).resolve().parent.parent
SES_FEEDBACK = "SesFeedback"  # Chalice's name for the ses_feedback function
INBOUND_SMS = "InboundSms"  # ... and for inbound_sms
API_HANDLER = "APIHandler"  # Chalice's name for the REST API function, the only one invoked synchronously
SES_FEEDBACK_EVENTS = ["bounce", "complaint"]
EMAIL_PATTERN = r"[^@\s]+@[^@\s]+\.[^@\s]+"


# Offline-only parts of each network's folder (the replay server's emulation, compiled or not, and
# the contract corpus): never in the Lambda's package.
NOT_DEPLOYED = re.compile(r"^chalicelib/networks/[^/]+/(emulator\.py|__pycache__/emulator\.[^/]*\.pyc|contract/.*)$")


def strip_not_deployed(package: Path) -> list[str]:
    """Rewrite the deployment zip ``chalice package`` made without what ``NOT_DEPLOYED`` names;
    returns the names dropped."""
    with zipfile.ZipFile(package) as zipped:
        entries = [(info, zipped.read(info)) for info in zipped.infolist()]
    dropped = [info.filename for info, _ in entries if NOT_DEPLOYED.search(info.filename)]
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info, data in entries:
            if info.filename not in dropped:
                rewritten.writestr(info, data)
    return dropped


class LambdaChalice(Chalice):
    """The Chalice construct, with the offline-only files dropped from the package it makes."""

    def _package_app(self) -> None:
        super()._package_app()
        strip_not_deployed(Path(self._sam_package_dir) / "deployment.zip")


@dataclass(frozen=True)
class StageSettings:
    """What differs between stages. ``production`` turns on the table's deletion protection."""

    stage: str
    production: bool
    owner_email: str | None = None
    api_rate_limit: float = 10.0  # requests per second over the whole API: action links are clicked by people
    api_burst_limit: int = 20
    sms_origination_number: str | None = None  # a two-way number (make deploy finds it): SMS go out from it

    @property
    def prefix(self) -> str:
        """``social-listening-<stage>``: the physical name of everything the app finds by name."""
        return f"{APP_NAME}-{self.stage}"


def table_properties(request: dict[str, Any]) -> dict[str, Any]:
    """``CfnTable`` keyword arguments from a DynamoDB ``CreateTable`` request (``create_table_request``).

    Raises ValueError on a request key it does not translate, so a new table setting cannot be dropped silently.
    """
    known = {"TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"}
    unknown = set(request) - known
    if unknown:
        raise ValueError(f"create_table_request has keys infra/stack.py does not translate: {sorted(unknown)}")

    def keys(schema: list[dict[str, str]]) -> list[dynamodb.CfnTable.KeySchemaProperty]:
        return [dynamodb.CfnTable.KeySchemaProperty(attribute_name=k["AttributeName"], key_type=k["KeyType"])
                for k in schema]

    return {
        "table_name": request["TableName"],
        "billing_mode": request["BillingMode"],
        "attribute_definitions": [
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name=a["AttributeName"],
                                                          attribute_type=a["AttributeType"])
            for a in request["AttributeDefinitions"]
        ],
        "key_schema": keys(request["KeySchema"]),
        "global_secondary_indexes": [
            dynamodb.CfnTable.GlobalSecondaryIndexProperty(
                index_name=index["IndexName"],
                key_schema=keys(index["KeySchema"]),
                projection=dynamodb.CfnTable.ProjectionProperty(
                    projection_type=index["Projection"]["ProjectionType"],
                    non_key_attributes=index["Projection"].get("NonKeyAttributes"),
                ),
            )
            for index in request.get("GlobalSecondaryIndexes", [])
        ],
    }


def chalice_stage_config(stage: str) -> dict[str, Any]:
    """The stage's section of ``.chalice/config.json``."""
    config = json.loads((REPO_ROOT / ".chalice" / "config.json").read_text())
    return dict(config["stages"][stage])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def acknowledge(construct: Construct, rule: str, reason: str) -> None:
    """Suppress one cdk-nag finding on ``construct`` (and its children), with the reason it does not apply."""
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule, reason=reason))


def function_role(function_id: str) -> str:
    """The logical id chalice gives a function's role (tests/infra checks each function names it)."""
    return "ApiHandlerRole" if function_id == API_HANDLER else f"{function_id}Role"


def check_policy_names_table(policy: dict[str, Any], table_name: str) -> None:
    """Raise ValueError unless some DynamoDB statement of ``policy`` is on exactly ``table_name``."""
    wanted = f":table/{table_name}"
    for statement in policy["Statement"]:
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if any(a.startswith("dynamodb:") for a in actions) and any(r.endswith(wanted) for r in resources):
            return
    raise ValueError(f"the Chalice policy grants nothing on table {table_name!r}: the functions could not use it")


def service_table(scope: Construct, prefix: str, *, production: bool) -> dynamodb.CfnTable:
    """The service's table (construct id ``Table``), kept when the stack is deleted in every stage.

    ``python -m infra.deploy --destroy --delete-data`` deletes it afterwards, when the owner asks
    (turning off the deletion protection production has first).
    """
    table = dynamodb.CfnTable(
        scope, "Table", **table_properties(create_table_request(prefix)),
        time_to_live_specification=dynamodb.CfnTable.TimeToLiveSpecificationProperty(
            attribute_name=TTL_ATTRIBUTE, enabled=True),
        point_in_time_recovery_specification=dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
            point_in_time_recovery_enabled=True),
        # No SSESpecification: encrypted at rest with an AWS owned key, which makes no billed KMS requests
        # (SSEEnabled: true would use the aws/dynamodb key, whose requests KMS bills; offline/cost.py).
        deletion_protection_enabled=production,
    )
    # Mentions, cursors and delivery records are never deleted with the stack: `make destroy` keeps the data.
    table.cfn_options.deletion_policy = cdk.CfnDeletionPolicy.RETAIN
    table.cfn_options.update_replace_policy = cdk.CfnDeletionPolicy.RETAIN
    return table


class ServiceStack(cdk.Stack):
    """The whole service for one stage. The stack's construct id is the Chalice stage name (the construct
    packages the stage named after its scope)."""

    def __init__(self, scope: Construct, settings: StageSettings, **kwargs: Any) -> None:
        super().__init__(scope, settings.stage, stack_name=settings.prefix, **kwargs)
        self.settings = settings
        prefix = settings.prefix

        self.table = self._table(prefix)

        self.alerts_topic = sns.Topic(self, "OwnerAlerts", topic_name=f"{prefix}-owner-alerts",
                                      display_name="Social listening alerts", enforce_ssl=True)
        # enforce_ssl leaves a Deny-only policy: CloudWatch may publish, for this account's alarms only.
        self.alerts_topic.add_to_resource_policy(iam.PolicyStatement(
            sid="OwnerAlertsFromAlarms", actions=["sns:Publish"], resources=[self.alerts_topic.topic_arn],
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            conditions={"StringEquals": {"aws:SourceAccount": self.account},
                        "ArnLike": {"aws:SourceArn": self.format_arn(service="cloudwatch", resource="alarm",
                                                                     resource_name="*",
                                                                     arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME)}},
        ))
        owner_email = cdk.CfnParameter(
            self, "OwnerEmail", type="String", allowed_pattern=EMAIL_PATTERN,
            description="Who receives the alarms (confirm the subscription email SNS sends)",
            **({"default": settings.owner_email} if settings.owner_email else {}),
        )
        self.alerts_topic.add_subscription(subscriptions.EmailSubscription(owner_email.value_as_string))
        acknowledge(self.alerts_topic, "Serverless::Serverless-SNSRedrivePolicy", (
            "the owner's email subscription: SNS retries email itself, and a queue of undelivered alarm emails "
            "would be read by no one"))

        self.feedback_topic = self._service_topic(f"{prefix}-ses-feedback", "SesFeedback", "ses.amazonaws.com")
        self.inbound_sms_topic = self._service_topic(f"{prefix}-inbound-sms", "InboundSms", "sms-voice.amazonaws.com")
        self.configuration_set = self._configuration_set(prefix)

        # Failed asynchronous invocations (the schedule) land here after Lambda's two retries.
        self.dead_letters = sqs.Queue(self, "DeadLetters", queue_name=f"{prefix}-dead-letters",
                                      retention_period=cdk.Duration.days(14), enforce_ssl=True,
                                      encryption=sqs.QueueEncryption.SQS_MANAGED)
        for rule in ("AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"):
            acknowledge(self.dead_letters, rule, (
                "this is the dead-letter queue itself (the SAM functions' DeadLetterQueue, which cdk-nag does not "
                "read): its messages are kept 14 days and its depth alarms"))

        self.chalice = LambdaChalice(self, "Chalice", source_dir=str(REPO_ROOT), stage_config={
            "environment_variables": {
                "TABLE_NAME": prefix,
                "SES_CONFIGURATION_SET": prefix,
                # runtime.stage_parameter reads listen.yaml's /social-listening/<name> under the stage's path
                "SECRETS_PARAMETER_PREFIX": stage_secrets_path(settings.stage),
            },
            # Chalice's own log groups name the API function wrongly (${ApiHandler}, not APIHandler):
            # 0 turns them off and _log_groups creates them with the stage's retention.
            "log_retention_in_days": 0,
        })
        self.functions = self._included("AWS::Serverless::Function")
        self.roles = self._included("AWS::IAM::Role")
        self._function_policies()
        self._wire_functions()
        self._subscribe_feedback()
        self._log_groups(chalice_stage_config(settings.stage).get("log_retention_in_days", 14))
        self._throttle_api()
        self._alarms()
        self._settings()

    def settings_path(self) -> str:
        """Where the stage's settings are published: ``/social-listening/<stage>/settings/``."""
        return f"/{APP_NAME}/{self.settings.stage}/settings/"

    def _settings(self) -> None:
        """The names of what the stack made, as plain SSM String parameters (free), for the owner and
        for tools (`make deploy` reports from them). Never a secret: secrets are SecureStrings that only
        `make secrets` writes, and CloudFormation cannot create those."""
        values = {
            "table-name": self.table.ref,
            "ses-configuration-set": self.configuration_set.ref,
            "ses-feedback-topic-arn": self.feedback_topic.topic_arn,
            "inbound-sms-topic-arn": self.inbound_sms_topic.topic_arn,
            "owner-alerts-topic-arn": self.alerts_topic.topic_arn,
            "dead-letter-queue-url": self.dead_letters.queue_url,
            "secrets-prefix": stage_secrets_path(self.settings.stage),
        }
        for name, value in values.items():
            construct_id = "Setting" + "".join(part.title() for part in name.split("-"))
            ssm.StringParameter(self, construct_id, parameter_name=self.settings_path() + name, string_value=value,
                                description=f"social-listening {self.settings.stage}: {name.replace('-', ' ')}")

    def _table(self, prefix: str) -> dynamodb.CfnTable:
        return service_table(self, prefix, production=self.settings.production)

    def _service_topic(self, name: str, construct_id: str, service: str) -> sns.Topic:
        """A topic an AWS service (SES, End User Messaging SMS) publishes to, from this account only."""
        topic = sns.Topic(self, construct_id, topic_name=name, enforce_ssl=True)
        topic.add_to_resource_policy(iam.PolicyStatement(
            sid=f"{construct_id}FromService", actions=["sns:Publish"], resources=[topic.topic_arn],
            principals=[iam.ServicePrincipal(service)],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        ))
        return topic

    def _configuration_set(self, prefix: str) -> ses.CfnConfigurationSet:
        configuration_set = ses.CfnConfigurationSet(
            self, "ConfigurationSet", name=prefix,
            reputation_options=ses.CfnConfigurationSet.ReputationOptionsProperty(reputation_metrics_enabled=True),
        )
        destination = ses.CfnConfigurationSetEventDestination(
            self, "FeedbackDestination", configuration_set_name=prefix,
            event_destination=ses.CfnConfigurationSetEventDestination.EventDestinationProperty(
                name="feedback", enabled=True, matching_event_types=SES_FEEDBACK_EVENTS,
                sns_destination=ses.CfnConfigurationSetEventDestination.SnsDestinationProperty(
                    topic_arn=self.feedback_topic.topic_arn),
            ),
        )
        destination.add_resource_dependency(configuration_set)  # named, not referred to
        return configuration_set

    def _included(self, resource_type: str) -> list[cdk.CfnResource]:
        """The resources of one type in the template ``chalice package`` produced."""
        return [child for child in self.chalice.sam_template.node.children
                if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == resource_type]

    def _function_policies(self) -> None:
        """Each function's role gets exactly its own policy (infra/policies.py), in place of the policy
        chalice copies from .chalice/policy-<stage>.json into every role."""
        by_role = {role.node.id: role for role in self.roles}
        for function in self.functions:
            document = function_policy(function.node.id, stage=self.settings.stage, partition=self.partition,
                                       region=self.region, account=self.account)
            check_policy_names_table(document, self.settings.prefix)
            role = by_role[function_role(function.node.id)]
            assert isinstance(role, iam.CfnRole)  # an L1 property, not a raw override: cdk-nag reads it
            role.policies = [iam.CfnRole.PolicyProperty(policy_name=f"{function.node.id}Calls",
                                                        policy_document=document)]
            self._acknowledge_wildcards(role, function.node.id)

    def _acknowledge_wildcards(self, role: iam.CfnRole, function_id: str) -> None:
        """Acknowledge cdk-nag's wildcard findings on the role one resource at a time, each with its reason
        (a new wildcard is a new finding: it fails the tests until it has a reason too)."""
        def shown(value: str, token: str) -> str:
            return f"<{token}>" if cdk.Token.is_unresolved(value) else value

        document = function_policy(function_id, stage=self.settings.stage, partition="<AWS::Partition>",
                                   region=shown(self.region, "AWS::Region"),
                                   account=shown(self.account, "AWS::AccountId"))
        for statement in document["Statement"]:
            for resource in as_list(statement.get("Resource", [])):
                if "*" in resource:
                    acknowledge(role, f"AwsSolutions::AwsSolutions-IAM5[Resource::{resource}]",
                                WILDCARD_REASONS[statement["Sid"]])
        if any(statement.get("Resource") == "*" for statement in document["Statement"]):
            acknowledge(role, "Serverless::Serverless-LambdaStarPermissions", WILDCARD_REASONS["CheckSmsOptOut"])

    def _wire_functions(self) -> None:
        """Grant what the stack adds, point async functions at the DLQ, pass the inbound SMS topic, and make
        every function wait for what it finds by name (the table, the configuration set): a name is no Ref."""
        asynchronous = [f for f in self.functions if f.node.id != API_HANDLER]
        wiring = iam.CfnPolicy(
            self, "StackWiringPolicy", policy_name="stack-wiring",
            roles=[role.ref for role in self.roles if role.node.id in {function_role(f.node.id) for f in asynchronous}],
            policy_document={
                "Version": "2012-10-17",
                "Statement": [
                    {"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage",
                     "Resource": self.dead_letters.queue_arn},
                ],
            },
        )
        for function in self.functions:
            if function.node.id != API_HANDLER:
                function.add_property_override("DeadLetterQueue", {"Type": "SQS",
                                                                   "TargetArn": self.dead_letters.queue_arn})
            if self.settings.sms_origination_number:  # replies to it reach the inbound topic (make deploy)
                self.chalice.add_environment_variable("SMS_ORIGINATION_NUMBER", self.settings.sms_origination_number,
                                                      function.node.id)
            # Lambda checks the DLQ permission when it creates the function: the policy must exist first.
            if function in asynchronous:
                function.add_resource_dependency(wiring)
            function.add_resource_dependency(self.table)
            function.add_resource_dependency(self.configuration_set)

    def _subscribe_feedback(self) -> None:
        """SES bounces and complaints reach the SesFeedback function (a plain Chalice Lambda, given
        an SNS event here: the stage's topic name stays out of app.py's import)."""
        function = next(f for f in self.functions if f.node.id == SES_FEEDBACK)
        function.add_property_override("Events.SesFeedbackTopic", {
            "Type": "SNS", "Properties": {"Topic": self.feedback_topic.topic_arn}})
        function = next(f for f in self.functions if f.node.id == INBOUND_SMS)
        function.add_property_override("Events.InboundSmsTopic", {
            "Type": "SNS", "Properties": {"Topic": self.inbound_sms_topic.topic_arn}})

    def _log_groups(self, retention_days: int) -> None:
        for function in self.functions:
            logs.CfnLogGroup(self, f"{function.node.id}Logs", log_group_name=f"/aws/lambda/{function.ref}",
                             retention_in_days=retention_days)

    def _throttle_api(self) -> None:
        api = self.chalice.get_resource("RestAPI")
        api.add_property_override("MethodSettings", [{
            "ResourcePath": "/*", "HttpMethod": "*",
            "ThrottlingRateLimit": self.settings.api_rate_limit,
            "ThrottlingBurstLimit": self.settings.api_burst_limit,
        }])

    def _alarms(self) -> None:
        action = cloudwatch_actions.SnsAction(self.alerts_topic)
        for function in self.functions:
            # Throttles alarm only where a throttle loses a request (the synchronous API): Lambda retries a
            # throttled asynchronous invocation and its last failure lands in the dead letters, which alarm.
            # 7 alarms a stage, within CloudWatch's 10 free (offline/cost.py counts them).
            for metric_name in ("Errors", "Throttles") if function.node.id == API_HANDLER else ("Errors",):
                alarm = cloudwatch.Alarm(
                    self, f"{function.node.id}{metric_name}",
                    alarm_description=f"{function.node.id}: {metric_name.lower()} in the last 5 minutes",
                    metric=cloudwatch.Metric(namespace="AWS/Lambda", metric_name=metric_name,
                                             dimensions_map={"FunctionName": function.ref},
                                             statistic="Sum", period=cdk.Duration.minutes(5)),
                    threshold=0, evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
                alarm.add_alarm_action(action)
        dlq_alarm = cloudwatch.Alarm(
            self, "DeadLettersNotEmpty", alarm_description="A scheduled run failed three times: see the dead letters",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=cdk.Duration.minutes(5)),
            threshold=0, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dlq_alarm.add_alarm_action(action)
        undelivered = cloudwatch.Alarm(  # the service's own figure: alerts, digests that failed or may not have arrived
            self, "DeliveriesNotConfirmed",
            alarm_description="Deliveries failed or may not have arrived: the next daily digest lists them",
            metric=cloudwatch.Metric(namespace=NAMESPACE, metric_name=NOT_CONFIRMED_METRIC,
                                     dimensions_map={"service": SERVICE}, statistic="Sum",
                                     period=cdk.Duration.minutes(5)),
            threshold=0, evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        undelivered.add_alarm_action(action)

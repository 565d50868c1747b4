"""``make deploy STAGE=prod``: check the AWS account, guide the owner through what is missing, then deploy.

    python -m infra.deploy --stage prod [--yes] [--dry-run] [--owner-email you@example.com]
    python -m infra.deploy --stage prod --destroy [--delete-data] [--yes] [--dry-run]

Before anything is deployed, each check says in words what it found and, when something is missing,
the exact command that fixes it: AWS credentials and region, listen.yaml, Node.js for the CDK CLI,
the CDK bootstrap of the account and region (offered to run), the SES identity of ``alerts.from_address``
(created: SES emails a link to click) and, while the account is in the SES sandbox, of every recipient,
the SMS sandbox (recipients' phones verified with a code sent by SMS), an origination number with two-way
SMS (alerts are sent from it; after the deploy its two-way channel targets the stage's inbound topic) and the
SMS monthly spend limit (what it allows), a table kept by an earlier
destroy, and the secrets (copied once from the shared names of earlier versions to the stage's own path;
``infra.secret_setup`` asks for the missing ones). The first run guides; later
runs find everything present and just deploy: listen.yaml is copied into the package
(``chalicelib/listen.yaml``, what ``LISTEN_CONFIG`` names in .chalice/config.json), the stage is
synthesized (``infra.synth``) and ``cdk deploy`` runs through npx with the pinned CDK CLI.
``--dry-run`` changes nothing in the account and prints the commands instead of running them.

``--destroy`` deletes the stage's stack and keeps the table with its data (the table is ``Retain`` in
every stage). ``--delete-data`` deletes the table too, once the owner has typed the stage name: its
deletion protection (on in prod) is turned off first.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError

from chalicelib.config import ConfigError, ListenConfig, config_path, load_config
from chalicelib.log_levels import pin_library_loggers
from infra import secret_setup as secrets_setup
from infra.names import APP_NAME, deployable_stages, stage_problem
from infra.synth import synth

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_CLI_VERSION = "2.1148.1"  # the CDK CLI (npm aws-cdk), pinned: it must read aws-cdk-lib 2.275's assemblies
PACKAGED_CONFIG = REPO_ROOT / "chalicelib" / "listen.yaml"  # LISTEN_CONFIG of the dev and prod stages
ASSEMBLY_DIR = REPO_ROOT / "infra" / "cdk.out"
DEFAULT_REGION_EXAMPLE = "eu-west-1"
Ask = Callable[[str], str]
Say = Callable[[str], None]


@dataclass(frozen=True)
class Check:
    """What one preflight check found: ``ok``, the finding in words, and the command that fixes it."""

    name: str
    ok: bool
    message: str
    fix: str = ""  # the exact next command (or step) when not ok
    blocking: bool = True  # False: the deploy goes on and the owner is warned
    value: str = ""  # what was found and later steps use (the account id)
    missing: tuple[str, ...] = ()  # the names of what is missing (identities, phones, parameters)


def cdk_command(*args: str) -> list[str]:
    """The pinned CDK CLI through npx, with ``args``."""
    return ["npx", "--yes", f"aws-cdk@{CDK_CLI_VERSION}", *args]


def stack_name(stage: str) -> str:
    """``social-listening-<stage>``: the stack's and the table's name."""
    return f"{APP_NAME}-{stage}"


def run_command(command: list[str]) -> int:
    """Run a command in infra/ with the owner's terminal; returns its exit status."""
    return subprocess.run(command, cwd=REPO_ROOT / "infra", check=False).returncode  # noqa: S603 (fixed program)


# ---- the checks: each small, each returning a Check ----

def check_credentials(sts: Any) -> Check:
    """AWS credentials, by asking STS who they belong to. ``value`` is the account id."""
    name = "AWS credentials"
    fix = "aws configure    (or: aws sso login --profile NAME && export AWS_PROFILE=NAME)"
    try:
        identity = sts.get_caller_identity()
    except (NoCredentialsError, PartialCredentialsError):
        return Check(name, False, "no AWS credentials were found (environment, ~/.aws, or an SSO profile)", fix)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        return Check(name, False, f"AWS rejected the credentials ({code}): they are wrong or expired", fix)
    except BotoCoreError as err:
        return Check(name, False, f"the credentials could not be used: {err}", fix)
    account = str(identity["Account"])
    return Check(name, True, f"account {account} as {identity['Arn']}", value=account)


def check_region(region: str | None) -> Check:
    """A region is chosen (the stack, SES and SMS all live in it)."""
    if not region:
        return Check("AWS region", False, "no region is set: the service is deployed in one region",
                     f"export AWS_DEFAULT_REGION={DEFAULT_REGION_EXAMPLE}    (or: aws configure set region ...)")
    return Check("AWS region", True, region, value=region)


def check_listen_config(path: Path) -> tuple[Check, ListenConfig | None]:
    """listen.yaml validates; on failure the message holds every ConfigError line."""
    try:
        config = load_config(path)
    except ConfigError as err:
        lines = "\n".join(f"    {p}" for p in err.problems)
        return Check("listen.yaml", False, f"{path} is not valid:\n{lines}",
                     f"edit {path}, then run this again (listen.example.yaml shows every field)"), None
    return Check("listen.yaml", True, f"{path}: {len(config.rules)} rules, {len(config.enabled_networks())} "
                                      f"networks, {len(config.recipients)} recipients"), config


def check_node(npx: str | None) -> Check:
    """npx is on the PATH: the CDK CLI runs on Node.js."""
    if not npx:
        return Check("Node.js", False, "npx was not found: the CDK CLI runs on Node.js",
                     "sudo apt-get install nodejs npm    (or install Node.js 22 from nodejs.org)")
    return Check("Node.js", True, f"npx at {npx}; CDK CLI aws-cdk@{CDK_CLI_VERSION}")


def bootstrap_command(account: str, region: str) -> list[str]:
    """``cdk bootstrap`` of one account and region (once: CDK's bucket and roles for assets)."""
    return cdk_command("bootstrap", f"aws://{account}/{region}")


def check_bootstrap(cloudformation: Any, account: str, region: str) -> Check:
    """The CDKToolkit stack exists and is usable in this account and region."""
    name = "CDK bootstrap"
    fix = shlex.join(bootstrap_command(account, region))
    status = stack_status(cloudformation, "CDKToolkit")
    if status is None:
        return Check(name, False, f"account {account} is not bootstrapped for CDK in {region} "
                                  "(CDK needs a bucket and roles there, once)", fix)
    if status.endswith("_IN_PROGRESS"):
        return Check(name, False, f"the CDKToolkit stack is {status}: wait until it finishes",
                     "run this again in a few minutes")
    if not status.endswith("_COMPLETE") or status == "ROLLBACK_COMPLETE":
        return Check(name, False, f"the CDKToolkit stack is {status}: delete it in the CloudFormation console "
                                  "and bootstrap again", fix)
    return Check(name, True, f"CDKToolkit is {status} in {region}")


def stack_status(cloudformation: Any, name: str) -> str | None:
    """A stack's status, or None when there is no such stack (or only a deleted one)."""
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as err:
        if "does not exist" in str(err.response.get("Error", {}).get("Message", "")):
            return None
        raise
    status = str(stacks[0]["StackStatus"]) if stacks else None
    return None if status == "DELETE_COMPLETE" else status


def ses_production_access(sesv2: Any) -> bool:
    """False while the account is in the SES sandbox (it may then only send to verified addresses)."""
    return bool(sesv2.get_account().get("ProductionAccessEnabled"))


def ses_identity_status(sesv2: Any, identity: str) -> str | None:
    """``verified``, ``pending`` (the link was not clicked yet, or DNS not set) or None (no such identity)."""
    try:
        found = sesv2.get_email_identity(EmailIdentity=identity)
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "NotFoundException":
            return None
        raise
    if found.get("VerifiedForSendingStatus") or found.get("VerificationStatus") == "SUCCESS":
        return "verified"
    return "pending"


def ensure_ses_identity(sesv2: Any, address: str, *, role: str, create: bool = True) -> Check:
    """The address (or its whole domain) is a verified SES identity. When neither exists and ``create``,
    the address identity is created: SES emails it a link, and the check says to click it."""
    name = f"SES identity ({role})"
    domain = address.rsplit("@", 1)[1]
    statuses = {identity: ses_identity_status(sesv2, identity) for identity in (address, domain)}
    verified = [identity for identity, status in statuses.items() if status == "verified"]
    if verified:
        return Check(name, True, f"{address} can be used (identity {verified[0]} is verified)")
    pending = [identity for identity, status in statuses.items() if status == "pending"]
    again = "then run make deploy again"
    if pending:
        return Check(name, False, f"{pending[0]} is waiting for verification: open the email from Amazon Web "
                                  f"Services sent to {address} and click its link", again,
                     blocking=False, missing=(address,))
    if not create:
        return Check(name, False, f"{address} is not an SES identity yet (a real run creates it and SES emails it "
                                  "a link to click)", f"aws sesv2 create-email-identity --email-identity {address}",
                     blocking=False, missing=(address,))
    sesv2.create_email_identity(EmailIdentity=address)
    return Check(name, False, f"{address} was just added to SES: SES has emailed it a verification link; click it "
                              "within 24 hours (nothing is emailed to or from it before that)", again,
                 blocking=False, missing=(address,))


def ses_sandbox_check(production: bool, from_address: str, website: str) -> Check:
    """Whether SES may email anyone, with the request for production access when it may not."""
    if production:
        return Check("SES sending", True, "production access: alerts can go to any address")
    request = shlex.join(["aws", "sesv2", "put-account-details", "--production-access-enabled",
                          "--mail-type", "TRANSACTIONAL", "--website-url", website or "https://example.com",
                          "--use-case-description",
                          "Alerts to our own staff about mentions of our business (social listening)",
                          "--additional-contact-email-addresses", from_address])
    return Check("SES sending", False, "the account is in the SES sandbox: alerts reach verified addresses only "
                                       "(every recipient is verified below); ask AWS for production access",
                 request, blocking=False)


def sandbox_phone_numbers(sns: Any) -> dict[str, str]:
    """Phone numbers of the SMS sandbox and their status (``Pending`` or ``Verified``)."""
    numbers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    while True:
        page = sns.list_sms_sandbox_phone_numbers(**kwargs)
        numbers.update({n["PhoneNumber"]: n["Status"] for n in page.get("PhoneNumbers", [])})
        if not page.get("NextToken"):
            return numbers
        kwargs["NextToken"] = page["NextToken"]


def check_sms_sandbox(sns: Any, phones: list[str]) -> Check:
    """While the account is in the SMS sandbox, SMS reach only verified numbers: which recipients' are not."""
    name = "SMS sandbox"
    if not phones:
        return Check(name, True, "no recipient gets SMS")
    if not sns.get_sms_sandbox_account_status()["IsInSandbox"]:
        return Check(name, True, "the account is out of the SMS sandbox: SMS can reach any number")
    numbers = sandbox_phone_numbers(sns)
    unverified = tuple(p for p in phones if numbers.get(p) != "Verified")
    leave = "AWS console > End User Messaging SMS > Account settings > Request production access"
    if not unverified:
        return Check(name, True, f"in the SMS sandbox; the {len(phones)} recipient phone(s) are verified "
                                 f"(to text anyone else: {leave})")
    return Check(name, False, f"in the SMS sandbox: SMS reach only verified numbers; not verified: "
                              f"{', '.join(unverified)}", leave, blocking=False, missing=unverified)


TWO_WAY_COUNTRIES = "https://docs.aws.amazon.com/sms-voice/latest/userguide/phone-numbers-sms-by-country.html"
TEXT_SPEND_LIMIT = "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT"
SMS_PRICE_RANGE_USD = (0.0065, 0.10)  # per SMS: about $0.0065 to a US number, up to ~$0.10 elsewhere (list prices)


def two_way_numbers(sms_voice: Any) -> list[dict[str, Any]]:
    """The account's active phone numbers in this region that can send SMS, two-way enabled first."""
    numbers: list[dict[str, Any]] = []
    for page in sms_voice.get_paginator("describe_phone_numbers").paginate():
        numbers += [n for n in page["PhoneNumbers"] if n["Status"] == "ACTIVE" and "SMS" in n["NumberCapabilities"]]
    return sorted(numbers, key=lambda n: not n["TwoWayEnabled"])


def check_two_way_sms(sms_voice: Any, region: str) -> Check:
    """An origination number that can receive replies (AWS End User Messaging SMS). Without one, alerts still go
    out (from a shared number or a sender ID), but no reply (OK, SNOOZE, MUTE, REPLY, HELP) reaches the service.
    ``value`` is the number's id and phone number (``id|+1...``); the deploy sends alerts from it and points its
    two-way channel at the stage's inbound topic."""
    name = "Two-way SMS"
    try:
        numbers = two_way_numbers(sms_voice)
    except (ClientError, BotoCoreError) as err:
        return Check(name, False, f"could not list the origination numbers ({type(err).__name__}: {err})",
                     "aws pinpoint-sms-voice-v2 describe-phone-numbers", blocking=False)
    if not numbers:
        return Check(name, False, f"no phone number in {region} can receive SMS: alerts go out, but replies "
                     "(OK, SNOOZE, MUTE, REPLY, HELP) cannot reach the service (sender IDs never receive)",
                     "aws pinpoint-sms-voice-v2 request-phone-number --iso-country-code <your recipients' country, "
                     "e.g. CA> --message-type TRANSACTIONAL --number-capabilities SMS --number-type LONG_CODE    "
                     f"(two-way works only where the 'SMS two-way' column says Yes: {TWO_WAY_COUNTRIES}; "
                     "US numbers need a toll-free or 10DLC registration first); then run make deploy again",
                     blocking=False)
    number = numbers[0]
    state = "two-way enabled" if number["TwoWayEnabled"] else "two-way not enabled yet (the deploy enables it)"
    return Check(name, True, f"{number['PhoneNumber']} ({number['IsoCountryCode']}, {number['NumberType']}, "
                             f"${number['MonthlyLeasingPrice']} a month): {state}; alerts are sent from it so that "
                             "replies come back",
                 value=f"{number['PhoneNumberId']}|{number['PhoneNumber']}")


def check_sms_spend_limit(sms_voice: Any) -> Check:
    """The account's monthly SMS spend limit (new accounts: $1) and how many SMS it allows."""
    name = "SMS spend limit"
    try:
        limits = {limit["Name"]: limit for limit in sms_voice.describe_spend_limits()["SpendLimits"]}
    except (ClientError, BotoCoreError) as err:
        return Check(name, False, f"could not read the spend limits ({type(err).__name__}: {err})",
                     "aws pinpoint-sms-voice-v2 describe-spend-limits", blocking=False)
    limit = limits.get(TEXT_SPEND_LIMIT)
    if limit is None:
        return Check(name, False, "the account reports no SMS spend limit", "aws pinpoint-sms-voice-v2 "
                     "describe-spend-limits", blocking=False)
    enforced = int(limit["EnforcedLimit"])
    cheap, dear = SMS_PRICE_RANGE_USD
    allows = f"${enforced} a month allows about {int(enforced / dear)} to {int(enforced / cheap)} SMS " \
             f"(${cheap} to ${dear} each, by country); past it no SMS is sent until the next month"
    if enforced <= 1:
        return Check(name, False, f"{allows}: new accounts start at $1", "request a higher limit: AWS End User "
                     "Messaging SMS console > Spend limits > request an increase (a support case; up to "
                     f"${int(limit['MaxLimit'])} without one: aws pinpoint-sms-voice-v2 "
                     "set-text-message-spend-limit-override --monthly-limit N)", blocking=False)
    return Check(name, True, allows)


def configure_two_way(dep: Deployment, number: str) -> None:
    """Point the number's two-way channel at the stage's inbound SMS topic (published by the stack as a setting)."""
    number_id, phone = number.split("|", 1)
    setting = f"/{APP_NAME}/{dep.stage}/settings/inbound-sms-topic-arn"
    try:
        topic = dep.client("ssm").get_parameter(Name=setting)["Parameter"]["Value"]
    except ClientError:
        dep.say(f"Two-way SMS: {setting} was not found, so replies to {phone} are not routed yet: run make deploy "
                "again once the stack exists")
        return
    dep.client("pinpoint-sms-voice-v2").update_phone_number(PhoneNumberId=number_id, TwoWayEnabled=True,
                                                             TwoWayChannelArn=topic)
    dep.say(f"Two-way SMS: replies to {phone} reach {topic} (the InboundSms function)")


def check_secrets(ssm: Any, config: ListenConfig, stage: str) -> Check:
    """Every secret listen.yaml names exists in SSM (values are never read)."""
    try:
        needed = secrets_setup.needed_secrets(config, stage)
    except secrets_setup.SecretsError as err:
        return Check("Secrets", False, str(err), "edit listen.yaml, then run this again")
    missing = tuple(s.parameter for s in secrets_setup.missing_secrets(ssm, needed))
    if missing:
        return Check("Secrets", False, f"{len(missing)} of {len(needed)} SSM parameters are missing: "
                                       f"{', '.join(missing)}", f"python -m infra.secret_setup --stage {stage}",
                     missing=missing)
    return Check("Secrets", True, f"all {len(needed)} SSM parameters exist")


def table_exists(dynamodb: Any, name: str) -> bool:
    """True if the DynamoDB table exists."""
    try:
        dynamodb.describe_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        return False
    return True


def check_kept_table(cloudformation: Any, dynamodb: Any, stage: str) -> Check:
    """A table kept by an earlier destroy blocks a new stack (CloudFormation creates it by name)."""
    name = stack_name(stage)
    if stack_status(cloudformation, name) is not None or not table_exists(dynamodb, name):
        return Check("Table", True, f"{name}: nothing in the way")
    return Check("Table", False, f"table {name} was kept by an earlier destroy and the new stack cannot create it "
                                 "again: delete it with its data, or restore it from a backup under another name",
                 f"python -m infra.deploy --stage {stage} --destroy --delete-data")


def table_is_retained(cloudformation: Any, name: str) -> bool:
    """True if every DynamoDB table of the deployed stack's template has DeletionPolicy Retain."""
    import json

    body = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    tables = [r for r in template.get("Resources", {}).values() if r.get("Type") == "AWS::DynamoDB::Table"]
    return all(t.get("DeletionPolicy") == "Retain" for t in tables)


# ---- the run ----

@dataclass
class Deployment:
    """One run of the command: the stage, the AWS session, the owner's terminal, and what is injectable."""

    stage: str
    session: Any  # boto3.session.Session
    config_path: Path
    package_path: Path = PACKAGED_CONFIG
    assembly_dir: Path = ASSEMBLY_DIR
    owner_email: str | None = None
    yes: bool = False
    dry_run: bool = False
    ask: Ask = input
    ask_secret: Ask = getpass.getpass
    say: Say = print
    run: Callable[[list[str]], int] = run_command
    synthesize: Callable[[Path, dict[str, object]], Path] = synth
    npx: str | None = field(default_factory=lambda: shutil.which("npx"))
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client of the session (one per service)."""
        if service not in self.clients:
            # STS answers "who am I" in any region: credentials are checked even before a region is chosen.
            region = "us-east-1" if service == "sts" and not self.session.region_name else None
            self.clients[service] = self.session.client(service, region_name=region)
        return self.clients[service]

    def confirm(self, question: str) -> bool:
        """Yes with ``--yes``; else what the owner answers (no terminal: no)."""
        if self.yes:
            self.say(f"{question} yes (--yes)")
            return True
        try:
            return self.ask(f"{question} [y/N] ").strip().lower() in {"y", "yes"}
        except EOFError:
            return False

    def report(self, check: Check) -> Check:
        """Print a check: its finding and, if not ok, the next command."""
        mark = "ok" if check.ok else ("MISSING" if check.blocking else "WARNING")
        self.say(f"[{mark}] {check.name}: {check.message}")
        if not check.ok and check.fix:
            self.say(f"    next: {check.fix}")
        return check

    def execute(self, command: list[str]) -> int:
        """Run a command, or print it in a dry run."""
        self.say(f"$ {shlex.join(command)}")
        return 0 if self.dry_run else self.run(command)


def alarm_email(config: ListenConfig, given: str | None) -> str:
    """Who gets the stack's alarms: ``--owner-email``, else the first recipient with an email, else reply_to."""
    emails = [r.email for r in config.recipients if r.email]
    return given or (emails[0] if emails else config.alerts.reply_to or config.alerts.from_address)


def deploy_command(stage: str, assembly_dir: Path, *, yes: bool) -> list[str]:
    """``cdk deploy`` of the stage's stack from the synthesized assembly."""
    extra = ["--require-approval", "never"] if yes else []  # without --yes, cdk shows IAM changes and asks
    return cdk_command("deploy", stage, "--app", str(assembly_dir), *extra)


def package_config(source: Path, target: Path) -> None:
    """Copy the owner's listen.yaml to where the deployed functions read it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def preflight(dep: Deployment) -> tuple[list[Check], ListenConfig | None, str, str]:
    """Every check, with the guidance that fixes what it can (bootstrap, SES identities, SMS codes, secrets).

    Returns the checks as they stand at the end, the configuration, the account and the region. Stops at the
    first failure of credentials, region or listen.yaml (nothing else can be checked without them).
    """
    checks: list[Check] = []
    credentials = dep.report(check_credentials(dep.client("sts")))
    region = dep.report(check_region(dep.session.region_name))
    config_check, config = check_listen_config(dep.config_path)
    checks += [credentials, region, dep.report(config_check)]
    if not (credentials.ok and region.ok and config is not None):
        return checks, config, credentials.value, region.value
    account = credentials.value
    checks.append(dep.report(check_node(dep.npx)))
    checks.append(guide_bootstrap(dep, account, region.value))
    checks.extend(guide_ses(dep, config))
    checks.append(guide_sms(dep, config))
    if any(r.phone and r.sms for r in config.recipients):
        checks.append(dep.report(check_two_way_sms(dep.client("pinpoint-sms-voice-v2"), region.value)))
        checks.append(dep.report(check_sms_spend_limit(dep.client("pinpoint-sms-voice-v2"))))
    checks.append(dep.report(check_kept_table(dep.client("cloudformation"), dep.client("dynamodb"), dep.stage)))
    checks.append(guide_secrets(dep, config))
    return checks, config, account, region.value


def guide_bootstrap(dep: Deployment, account: str, region: str) -> Check:
    """Check the bootstrap; offer to run it when missing."""
    check = dep.report(check_bootstrap(dep.client("cloudformation"), account, region))
    if check.ok or not check.fix.startswith("npx") or dep.dry_run:
        return check
    if not dep.confirm("Bootstrap CDK in this account and region now?"):
        return check
    if dep.execute(bootstrap_command(account, region)) != 0:
        return check
    return dep.report(check_bootstrap(dep.client("cloudformation"), account, region))


def guide_ses(dep: Deployment, config: ListenConfig) -> list[Check]:
    """The sender's identity; in the SES sandbox, every recipient's too."""
    sesv2 = dep.client("sesv2")
    production = ses_production_access(sesv2)
    checks = [dep.report(ses_sandbox_check(production, config.alerts.from_address, config.business.website))]
    addresses = [("sender", config.alerts.from_address)]
    if not production:
        addresses += [(f"recipient {r.name}", r.email) for r in config.recipients if r.email]
    for role, address in addresses:
        checks.append(dep.report(ensure_ses_identity(sesv2, address, role=role, create=not dep.dry_run)))
    return checks


def guide_sms(dep: Deployment, config: ListenConfig) -> Check:
    """The SMS sandbox; offer to verify each recipient's phone with a code SNS texts to it."""
    sns = dep.client("sns")
    phones = [r.phone for r in config.recipients if r.phone and r.sms]
    check = dep.report(check_sms_sandbox(sns, phones))
    if check.ok or dep.dry_run:
        return check
    pending = sandbox_phone_numbers(sns)
    for phone in check.missing:
        if phone not in pending:
            if not dep.confirm(f"Text a verification code to {phone} (SMS sandbox)?"):
                continue
            sns.create_sms_sandbox_phone_number(PhoneNumber=phone, LanguageCode="en-US")
        try:
            code = dep.ask(f"Code texted to {phone} (empty: later, by running this again): ").strip()
        except EOFError:
            code = ""
        if code:
            try:
                sns.verify_sms_sandbox_phone_number(PhoneNumber=phone, OneTimePassword=code)
                dep.say(f"    {phone} verified")
            except ClientError as err:
                dep.say(f"    {phone} not verified: {err.response.get('Error', {}).get('Message', err)}")
    return dep.report(check_sms_sandbox(sns, phones))


def guide_secrets(dep: Deployment, config: ListenConfig) -> Check:
    """Check the secrets; run the setup (which asks for each missing one) when some are missing."""
    ssm = dep.client("ssm")
    if not dep.dry_run:  # secrets of an earlier version, shared by every stage: copied to this stage's path once
        try:
            secrets_setup.migrate_shared_secrets(ssm, config, dep.stage, say=dep.say)
        except secrets_setup.SecretsError:
            pass  # check_secrets reports it, naming the listen.yaml field
    check = dep.report(check_secrets(ssm, config, dep.stage))
    if check.ok or dep.dry_run or not check.missing:
        return check
    dep.say("Setting up the secrets (input is hidden; nothing typed is printed):")
    secrets_setup.setup(ssm, config, stage=dep.stage, ask=dep.ask_secret, say=dep.say)
    return dep.report(check_secrets(ssm, config, dep.stage))


def deploy(dep: Deployment) -> int:
    """The guided deploy. Returns the exit status: 0 deployed (or printed, in a dry run), 1 something is missing."""
    dep.say(f"Deploying stage {dep.stage} (stack {stack_name(dep.stage)})" + (" -- dry run" if dep.dry_run else ""))
    checks, config, account, region = preflight(dep)
    blocking = [c for c in checks if not c.ok and c.blocking]
    if config is None or (blocking and not dep.dry_run):
        dep.say(f"Not deployed: {len(blocking)} thing(s) to fix first, each with its next command above.")
        return 1
    if blocking:
        dep.say(f"(dry run: a real run would stop here until the {len(blocking)} thing(s) above are fixed)")
    package_config(dep.config_path, dep.package_path)
    dep.say(f"Packaged {dep.config_path} as {dep.package_path}")
    context: dict[str, object] = {"stages": dep.stage, "owner_email": alarm_email(config, dep.owner_email),
                                  "account": account, "region": region}
    number = next((c.value for c in checks if c.name == "Two-way SMS" and c.ok), "")
    if number:
        context["sms_origination_number"] = number.split("|", 1)[1]  # alerts go out from it: replies come back
    dep.say(f"Synthesizing {dep.stage} into {dep.assembly_dir} (alarms to {context['owner_email']})")
    dep.synthesize(dep.assembly_dir, context)
    status = dep.execute(deploy_command(dep.stage, dep.assembly_dir, yes=dep.yes))
    if status != 0:
        dep.say(f"cdk deploy failed (exit {status}): its output above says why.")
        return status
    if not dep.dry_run:
        report_endpoint(dep, config)
        if number:
            configure_two_way(dep, number)
    return 0


def report_endpoint(dep: Deployment, config: ListenConfig) -> None:
    """Say the API's URL, and whether listen.yaml's action links point at it."""
    cloudformation = dep.client("cloudformation")
    if stack_status(cloudformation, stack_name(dep.stage)) is None:
        return
    stacks = cloudformation.describe_stacks(StackName=stack_name(dep.stage))["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    url = str(outputs.get("EndpointURL", "")).rstrip("/")
    if not url:
        return
    dep.say(f"Deployed. The API is at {url}")
    if config.alerts.action_base_url != url:
        dep.say(f"Links in alerts point at {config.alerts.action_base_url}: set 'action_base_url: {url}' under "
                "'alerts:' in listen.yaml and run make deploy again.")


def destroy(dep: Deployment, *, delete_data: bool) -> int:
    """Delete the stage's stack; keep the table unless ``delete_data`` and the owner typed the stage name.

    Returns the exit status: 0 done (or printed, in a dry run), 1 refused or not confirmed.
    """
    name = stack_name(dep.stage)
    credentials = dep.report(check_credentials(dep.client("sts")))
    region = dep.report(check_region(dep.session.region_name))
    if not (credentials.ok and region.ok):
        return 1
    cloudformation, dynamodb = dep.client("cloudformation"), dep.client("dynamodb")
    status = stack_status(cloudformation, name)
    has_table = table_exists(dynamodb, name)
    if delete_data:
        dep.say(f"This deletes the table {name} and ALL its data (mentions, rules' history, delivery records); "
                "point-in-time backups go with it.")
        try:
            typed = dep.ask(f"Type the stage name ({dep.stage}) to confirm: ").strip()
        except EOFError:
            typed = ""
        if typed != dep.stage:
            dep.say("Not confirmed: nothing was deleted.")
            return 1
    elif status is not None and not table_is_retained(cloudformation, name):
        dep.say(f"The deployed stack {name} would delete its table with it (an older version of the stack). "
                f"Run make deploy STAGE={dep.stage} first (the stack now keeps the table), then destroy again.")
        return 1
    if delete_data and has_table:
        # A stack deployed before the table was kept would otherwise fail on the protected table.
        turn_off_deletion_protection(dep, dynamodb, name)
    if status is None:
        dep.say(f"No stack {name} is deployed in {region.value}.")
    else:
        if not delete_data and not dep.confirm(f"Delete the stack {name}? The table {name} and its data are kept."):
            dep.say("Nothing was deleted.")
            return 1
        dep.say(f"Deleting the stack {name} (a few minutes)")
        if dep.dry_run:
            dep.say(f"$ {shlex.join(['aws', 'cloudformation', 'delete-stack', '--stack-name', name])}")
        else:
            cloudformation.delete_stack(StackName=name)
            cloudformation.get_waiter("stack_delete_complete").wait(
                StackName=name, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
    if has_table and delete_data:
        delete_table(dep, dynamodb, name)
    elif has_table:
        dep.say(f"Kept the table {name} with its data (stored data costs about $0.25 per GB a month). To delete it: "
                f"python -m infra.deploy --stage {dep.stage} --destroy --delete-data")
    return 0


def turn_off_deletion_protection(dep: Deployment, dynamodb: Any, name: str) -> None:
    """DynamoDB refuses to delete a protected table (prod's is): protection goes off first, said out loud."""
    table = dynamodb.describe_table(TableName=name)["Table"]
    if not table.get("DeletionProtectionEnabled"):
        return
    dep.say(f"Turning off the deletion protection of the table {name} (it is on in prod)")
    if dep.dry_run:
        command = ["aws", "dynamodb", "update-table", "--table-name", name, "--no-deletion-protection-enabled"]
        dep.say(f"$ {shlex.join(command)}")
        return
    dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)


def delete_table(dep: Deployment, dynamodb: Any, name: str) -> None:
    """Delete the table (after the stack: a stack that still held it would fail to delete)."""
    if not table_exists(dynamodb, name):
        dep.say(f"The table {name} went with the stack.")
        return
    dep.say(f"Deleting the table {name} and its data")
    if dep.dry_run:
        dep.say(f"$ {shlex.join(['aws', 'dynamodb', 'delete-table', '--table-name', name])}")
        return
    dynamodb.delete_table(TableName=name)
    dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 5, "MaxAttempts": 60})
    dep.say(f"Deleted the table {name}.")


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring). Returns the exit status."""
    pin_library_loggers()  # botocore logs SecureString values at DEBUG
    args_given = sys.argv[1:] if argv is None else argv
    stages = deployable_stages()
    problem = stage_problem(args_given, "make destroy" if "--destroy" in args_given else "make deploy", stages)
    if problem:  # in words, with the stages there are (argparse would say "expected one argument")
        print(problem)
        return 2
    parser = argparse.ArgumentParser(prog="python -m infra.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True, choices=stages, help="the Chalice stage")
    parser.add_argument("--config", type=Path, help="listen.yaml (default: $LISTEN_CONFIG or ./listen.yaml)")
    parser.add_argument("--owner-email", help="who gets the alarms (default: the first recipient's email)")
    parser.add_argument("--yes", action="store_true", help="answer yes to every question (not to --delete-data)")
    parser.add_argument("--dry-run", action="store_true", help="change nothing in AWS; print the commands")
    parser.add_argument("--destroy", action="store_true", help="delete the stage's stack (the table is kept)")
    parser.add_argument("--delete-data", action="store_true", help="with --destroy: delete the table too")
    args = parser.parse_args(argv)
    if args.delete_data and not args.destroy:
        parser.error("--delete-data goes with --destroy")
    import boto3

    dep = Deployment(stage=args.stage, session=boto3.session.Session(), config_path=args.config or config_path(),
                     owner_email=args.owner_email, yes=args.yes, dry_run=args.dry_run)
    try:
        if args.destroy:
            return destroy(dep, delete_data=args.delete_data)
        return deploy(dep)
    except ClientError as err:
        # e.g. the credentials lack a permission a check needs, or the region lacks SMS: said, not a traceback
        error = err.response.get("Error", {})
        dep.say(f"AWS refused {err.operation_name}: {error.get('Code', '')} {error.get('Message', '')}".rstrip())
        return 1


if __name__ == "__main__":
    sys.exit(main())

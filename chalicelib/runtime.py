"""Builds the service's parts from the environment, once per Lambda container, on first
use (never at import: importing app.py must stay cheap and testable).

The environment is read through ``chalicelib.settings.Settings`` (its table lists the variables),
plus the standard AWS variables (``AWS_ENDPOINT_URL_<SERVICE>`` points boto3 at the offline stack).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.actions.reply import ReplyPoster
from chalicelib.config import ListenConfig, compiled_rules, load_config
from chalicelib.credentials import SecretState, sessions_path
from chalicelib.digest import DigestSender
from chalicelib.links import TokenSigner
from chalicelib.networks import source_class
from chalicelib.pipeline import Pipeline
from chalicelib.settings import Settings
from chalicelib.sources.base import Source, SourceState
from chalicelib.sources.http import HttpClient
from chalicelib.store import CycleStateCache, Store
from chalicelib.web.service import ActionService
from chalicelib.web.session import Sessions


@dataclass(frozen=True)
class Runtime:
    config: ListenConfig
    store: Store
    pipeline: Pipeline
    actions: ActionService
    digest: DigestSender
    sms: Any  # chalicelib.alerts.sms.SmsChannel: also answers SMS commands
    sessions: Sessions  # the inbox's sign-in and sessions
    hooks: Any = None  # chalicelib.webhooks.service.WebhookService: GET/POST /hooks/{network}


SEND_CLIENT_TIMEOUTS = {"connect_timeout": 2, "read_timeout": 5}  # one send: at most 7 s of the poll's ~20 s


def send_client_config() -> Any:
    """botocore settings for the SES and SNS clients: one attempt in all (``total_max_attempts``
    counts the first; the retries dict's ``max_attempts: 1`` would still mean one retry): a send
    is not idempotent, so the SDK never repeats it; the delivery path decides what is tried
    again (``chalicelib.alerts.delivery``). Each send is bounded by SEND_CLIENT_TIMEOUTS so that
    the sends fit the time the poll has left after fetching (60 s less ``Settings.fetch_budget_seconds``)."""
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 1}, **SEND_CLIENT_TIMEOUTS)


def _client(service: str) -> Any:
    """A client of ``service``: the senders (SES, SNS) with ``send_client_config``; SSM with the SDK's
    own retries (its reads and writes are idempotent)."""
    import boto3

    if service in ("sesv2", "sns"):
        return boto3.client(service, config=send_client_config())
    return boto3.client(service)


APP_PARAMETER_PATH = "/social-listening/"


def stage_parameter(name: str, stage_path: str | None) -> str:
    """Where a deployed stage reads the parameter listen.yaml names: under the stage's own path.

    ``stage_path`` (``Settings.secrets_parameter_prefix``, set by infra/ to ``/social-listening/<stage>/``)
    replaces the app's path: ``/social-listening/signing-key`` is read as ``/social-listening/prod/signing-key``
    in prod, so stages never share a key or a token. Names already under the stage path, names outside the
    app's path, and every name when no stage path is set (tests, the demo) are read as written."""
    if not stage_path or stage_path == APP_PARAMETER_PATH or name.startswith(stage_path):
        return name
    if name.startswith(APP_PARAMETER_PATH):
        return stage_path + name.removeprefix(APP_PARAMETER_PATH)
    return name


def read_secret(name: str, stage_path: str | None = None) -> str:
    """A SecureString from SSM Parameter Store (cached for 5 minutes), read under ``stage_path``
    (``stage_parameter``; None: as written); LookupError if absent."""
    from aws_lambda_powertools.utilities import parameters

    name = stage_parameter(name, stage_path)
    try:
        value = parameters.get_parameter(name, decrypt=True, max_age=300)
    except parameters.exceptions.GetParameterError as err:
        if "ParameterNotFound" in str(err):
            raise LookupError(name) from None
        raise
    return str(value)


def build_sources(config: ListenConfig, state: SourceState, secrets: Callable[[str], str],
                  clock: Callable[[], float] = time.time) -> dict[str, Source]:
    """One connector per enabled network, each with its own HTTP client, reading its secrets with ``secrets``."""
    sources: dict[str, Source] = {}
    for name, options in config.enabled_networks().items():
        cls = source_class(name)
        http = HttpClient(name, timeout=options.timeout_seconds)
        sources[name] = cls(options, http=http, secrets=secrets, state=state, clock=clock)  # type: ignore[call-arg]
    return sources


def build(config: ListenConfig, store: Store, *, signing_key: bytes, previous_keys: Sequence[bytes] = (),
          clock: Callable[[], float] = time.time, settings: Settings | None = None) -> Runtime:
    """Wire the parts (the tests and the demo call this with their own store and clock; ``settings``
    default: the environment's, read now)."""
    from chalicelib.alerts.email import EmailChannel
    from chalicelib.alerts.sms import SmsChannel
    from chalicelib.log_levels import pin_library_loggers

    pin_library_loggers()  # the demo and the benchmarks build the parts without app.py
    settings = Settings.from_environ() if settings is None else settings
    secrets = functools.partial(read_secret, stage_path=settings.secrets_parameter_prefix)
    signer = TokenSigner(signing_key, previous=previous_keys)
    email = EmailChannel(_client("sesv2"), business=config.business.name,
                         from_address=config.alerts.from_address, reply_to=config.alerts.reply_to,
                         configuration_set=settings.ses_configuration_set)
    channels = {
        "email": email,
        "sms": (sms := SmsChannel(_client("sns"),
                                  origination_number=settings.sms_origination_number)),
    }
    connector_state = CycleStateCache(store)
    ssm = _client("ssm")
    # network session tokens: SSM beside the stage's signing key, not the table
    sessions = sessions_path(stage_parameter(config.secrets.signing_key_parameter, settings.secrets_parameter_prefix))

    def rules_with(accepted: Mapping[str, Sequence[str]]) -> Any:
        return compiled_rules(config, accepted)  # the one path, the one parse_config validated

    sources = build_sources(config, SecretState(connector_state, ssm, sessions), secrets, clock)
    pipeline = Pipeline(
        config, store, sources, rules_with({}), channels, signer, clock=clock,
        fetch_budget_seconds=settings.fetch_budget_seconds, recompile=rules_with,
        connector_state=connector_state,
    )
    poster = ReplyPoster(config, SecretState(store, ssm, sessions), secrets, clock)
    actions = ActionService(config, store, signer, poster, email=email)
    from chalicelib.webhooks.service import WebhookService

    return Runtime(config, store, pipeline, actions, DigestSender(config, store, email, signer, clock=clock), sms,
                   Sessions(config, store, email=email, clock=clock), WebhookService(config, pipeline, secrets))


@functools.cache
def runtime() -> Runtime:
    """The parts, built on first use from the environment (``Settings``, validated once here) and
    cached for the container."""
    settings = Settings.from_environ()
    table = settings.required_table()
    config = load_config(settings.listen_config)
    key = read_secret(config.secrets.signing_key_parameter, settings.secrets_parameter_prefix).encode("utf-8")
    previous = config.secrets.previous_signing_key_parameter
    previous_keys = [read_secret(previous, settings.secrets_parameter_prefix).encode("utf-8")] if previous else []
    import boto3

    from chalicelib.store import client_config

    return build(config, Store(boto3.client("dynamodb", config=client_config()), table, count_units=False),
                 signing_key=key, previous_keys=previous_keys, settings=settings)

"""The two webhook routes' behaviour (app.py only wires them).

``GET /hooks/{network}``: Meta's subscription handshake; the challenge is answered only for the
verify token held in the SecureString named by the network's ``verify_token_parameter``; anything
else is 403 and nothing is stored.

``POST /hooks/{network}``, in this order, each step refusing before the next runs:
1. a network that is not enabled, or has no webhook parser (``NetworkSpec.webhook``) or no
   ``app_secret_parameter``: 404;
2. a body over ``MAX_BODY_BYTES``: 413 (Meta's deliveries are a few kilobytes);
3. the app secret cannot be read: 503 (Meta retries, so nothing is lost once SSM is fixed);
4. ``X-Hub-Signature-256`` missing or not the HMAC of the raw body: 401, stored nowhere, logged
   without the body;
5. only now the body is parsed. A signed delivery that is not JSON or not a shape the network's
   parser reads (``BadPayload``) is counted as a skipped item on the network's health and answered
   200: Meta retries every non-2xx answer for hours and the same bytes would fail the same way, so
   a 4xx would only repeat the failure; the owner sees it in the health record instead. A parser
   that must read the network and cannot (any other ``SourceError``) is 503: a retry may succeed,
   and polling fills the gap anyway;
6. the mentions go through ``Pipeline.ingest`` (match, store once, triage, alert): a repeat, an
   out-of-order delivery or an item the poller already stored is stored and alerted once.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.networks import NETWORKS, spec
from chalicelib.sources.base import BadPayload, SecretLookup, SourceError, require_secret
from chalicelib.webhooks.signature import SIGNATURE_HEADER, header, signature_valid, subscription_challenge

if TYPE_CHECKING:
    from chalicelib.config import ListenConfig
    from chalicelib.model import Mention
    from chalicelib.pipeline import Pipeline
    from chalicelib.sources.base import Source

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # a delivery is a few KB; room for a large batch, far under API Gateway's 10 MB
TEXT_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff",
                "Cache-Control": "no-store"}
ANSWERS = {401: "bad signature", 404: "not found", 413: "too large", 503: "unavailable"}
Parser = Callable[[Mapping[str, Any], "Source | None"], list["Mention"]]


@dataclass(frozen=True, slots=True)
class HookAnswer:
    """What a webhook route answers: a status and a short plain-text body (never the delivery's)."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=lambda: dict(TEXT_HEADERS))


class WebhookService:
    """Answers ``GET``/``POST /hooks/{network}`` (the module's order of checks)."""

    def __init__(self, config: ListenConfig, pipeline: Pipeline, secrets: SecretLookup, *,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.config = config
        self.pipeline = pipeline
        self.secrets = secrets  # cached SSM reads (chalicelib.runtime.read_secret)
        self.max_body_bytes = max_body_bytes

    def _option(self, network: str, option: str) -> str | None:
        """The network's ``option`` (an SSM parameter name) when it is enabled and takes webhooks."""
        if network not in NETWORKS or spec(network).webhook is None:
            return None
        options = self.config.enabled_networks().get(network)
        value = getattr(options, option, None) if options is not None else None
        return value if isinstance(value, str) and value else None

    def verify(self, network: str, params: Mapping[str, str] | None) -> HookAnswer:
        """Meta's subscription request: the challenge for the right verify token, else 403."""
        parameter = self._option(network, "verify_token_parameter")
        if parameter is None:
            return _refused(404, network, "no webhook for this network")
        try:
            token = require_secret(network, self.secrets, parameter, "webhook verify token")
        except SourceError as err:
            log.error("webhook %s: cannot read the verify token: %s", network, err.message)
            return _refused(403, network, "verify token unreadable")
        challenge = subscription_challenge(params, token)
        if challenge is None:
            return _refused(403, network, "not a subscription request with the verify token")
        log.info("webhook %s: subscription verified", network)
        return HookAnswer(200, challenge)

    def deliver(self, network: str, body: bytes, headers: Mapping[str, str]) -> HookAnswer:
        """One delivery: verified, parsed, ingested (the module's order of checks)."""
        started = time.monotonic()
        parameter = self._option(network, "app_secret_parameter")
        if parameter is None:
            return _refused(404, network, "no webhook for this network")
        if len(body) > self.max_body_bytes:
            return _refused(413, network, f"body of {len(body)} bytes over {self.max_body_bytes}")
        try:
            secret = require_secret(network, self.secrets, parameter, "app secret")
        except SourceError as err:
            log.error("webhook %s: cannot verify deliveries: %s", network, err.message)
            return _refused(503, network, "app secret unreadable")
        if not signature_valid(body, header(headers, SIGNATURE_HEADER), secret):
            return _refused(401, network, f"missing or bad {SIGNATURE_HEADER} ({len(body)} bytes)")
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise BadPayload(network, "a webhook delivery that is not a JSON object")
            mentions = [m for m in self._parser(network)(payload, self.pipeline.sources.get(network))
                        if m.network == network]
        except (ValueError, RecursionError, BadPayload) as err:
            reason = err.message if isinstance(err, BadPayload) else "a webhook delivery that is not JSON"
            self.pipeline.store.record_skipped(network, 1, reason)
            return _accepted(network, f"skipped: {reason}", started)
        except SourceError as err:
            return _refused(503, network, f"not read, Meta will retry: {err.message}")
        report = self.pipeline.ingest(mentions)
        return _accepted(network, f"{len(mentions)} items, {report.new_mentions} new", started)

    @staticmethod
    def _parser(network: str) -> Parser:
        target = spec(network).webhook or ""
        module, _, function = target.partition(":")
        found: Parser = getattr(importlib.import_module(module), function)
        return found


def _refused(status: int, network: str, why: str) -> HookAnswer:
    """A refusal, logged with the network (bounded: it comes from the URL) and never the body."""
    log.warning("webhook %r refused %d: %s", network[:64], status, why)
    return HookAnswer(status, ANSWERS.get(status, "forbidden"))


def _accepted(network: str, what: str, started: float) -> HookAnswer:
    log.info("webhook %s: %s in %.3f s", network, what, time.monotonic() - started)
    return HookAnswer(200, "ok")

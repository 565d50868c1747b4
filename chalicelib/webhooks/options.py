"""What a network that takes Meta's webhooks adds to its listen.yaml options and its spec's
credentials: two SecureStrings, the app secret (signatures) and the verify token (subscription).
A network's options model subclasses ``WebhookOptions``; its ``NetworkSpec.credentials`` add
``WEBHOOK_CREDENTIALS`` so `make secrets` asks for both."""

from __future__ import annotations

from chalicelib.networks.spec import Credential
from chalicelib.sources.base import SourceOptions

WEBHOOK_CREDENTIALS = (
    Credential("app_secret_parameter", "app secret (checks each webhook delivery's signature)"),
    Credential("verify_token_parameter", "webhook verify token (the string typed in the App Dashboard)"),
)


class WebhookOptions(SourceOptions):
    """The options ``chalicelib.webhooks.service`` reads: without ``app_secret_parameter`` the
    network's webhook routes answer 404."""

    app_secret_parameter: str | None = None  # SSM SecureString: the Meta app's secret
    verify_token_parameter: str | None = None  # SSM SecureString: the verify token of the subscription

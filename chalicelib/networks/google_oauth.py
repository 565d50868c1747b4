"""Google OAuth 2.0 access tokens made from the owner's refresh token, for every Google network
(YouTube replies, Google Business Profile reviews).

An access token lasts an hour, so SSM holds what makes new ones (SecureStrings): the owner's
refresh token and the OAuth client's id and secret, named by the network's options
(``oauth_refresh_token_parameter``, ``oauth_client_id_parameter``,
``oauth_client_secret_parameter``). ``GoogleOAuth.access_token`` asks Google's token endpoint
(``oauth_token_url``; ``grant_type=refresh_token``, documented at
https://developers.google.com/identity/protocols/oauth2/web-server#offline) for an access token
when this process holds none, or the one it holds expires within a minute, and keeps it in this
process's memory only: never in SSM, the table or a log. ``invalid_grant`` (the refresh token
expired or was revoked; a Google Cloud app left in "Testing" gets refresh tokens that expire
after 7 days) and ``invalid_client`` are said in words as ``CredentialsError``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from pydantic import field_validator, model_validator

from chalicelib.sources.base import BadPayload, Budget, CredentialsError, SecretLookup, SourceOptions, require_secret
from chalicelib.sources.http import decode_json

GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
EXPIRY_MARGIN_SECONDS = 60  # a token that expires sooner than this is replaced before use
_OAUTH_ERROR = re.compile(r"^[a-z_]{1,40}$")
_ACCESS_TOKEN = re.compile(r"^[\x21-\x7e]{1,4096}$")

# Access tokens made in this process, by a digest of (token endpoint, client id, refresh token):
# (token, expires at). Never written anywhere: a cold start asks Google again.
_access_tokens: dict[str, tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def forget_access_tokens() -> None:
    """Drop every access token this process holds (tests; a cold start does the same)."""
    with _tokens_lock:
        _access_tokens.clear()


class GoogleOAuthOptions(SourceOptions):
    """The options naming the SSM parameters an access token is made from, and the token endpoint."""

    oauth_refresh_token_parameter: str | None = None
    oauth_client_id_parameter: str | None = None
    oauth_client_secret_parameter: str | None = None
    oauth_token_url: str = GOOGLE_TOKEN_URL  # Google's token endpoint (the replay server emulates it)

    @model_validator(mode="before")
    @classmethod
    def _no_fixed_access_token(cls, data: Any) -> Any:
        if isinstance(data, dict) and "oauth_token_parameter" in data:
            raise ValueError("oauth_token_parameter is no longer read: an OAuth access token expires after an "
                             "hour. Set oauth_refresh_token_parameter, oauth_client_id_parameter and "
                             "oauth_client_secret_parameter instead (see `make secrets`)")
        return data

    @field_validator("oauth_token_url")
    @classmethod
    def _token_url_is_https(cls, value: str) -> str:
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
        if not (parts.scheme == "https" or local) or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not an https token endpoint URL (http only for 127.0.0.1/localhost)")
        return value


class GoogleOAuth:
    """Access tokens for one network's options, through that network's HTTP client.

    ``reconnect`` is said to the owner when Google refuses the refresh token (how to authorise
    again), e.g. "run `make connect NETWORK=google_reviews`"."""

    def __init__(self, network: str, options: GoogleOAuthOptions, http: Any, secrets: SecretLookup | None,
                 clock: Callable[[], float], *, reconnect: str = "") -> None:
        self.network = network
        self.options = options
        self.http = http
        self._secrets = secrets
        self._clock = clock
        self.reconnect = reconnect

    def secrets(self) -> tuple[str, str, str]:
        """(refresh token, client id, client secret) from SSM; ``MissingSecret`` naming the first missing."""
        options = self.options
        refresh = require_secret(self.network, self._secrets, options.oauth_refresh_token_parameter,
                                 "OAuth refresh token")
        client_id = require_secret(self.network, self._secrets, options.oauth_client_id_parameter, "OAuth client id")
        client_secret = require_secret(self.network, self._secrets, options.oauth_client_secret_parameter,
                                       "OAuth client secret")
        return refresh, client_id, client_secret

    def access_token(self, budget: Budget, *, fresh: bool = False) -> str:
        """An access token that is good for at least another minute: the one this process
        holds, else a new one from the token endpoint (``fresh``: always a new one)."""
        refresh, client_id, client_secret = self.secrets()
        key = hashlib.sha256("\n".join((self.options.oauth_token_url, client_id, refresh)).encode()).hexdigest()
        now = self._clock()
        with _tokens_lock:
            held = _access_tokens.get(key)
        if held and not fresh and held[1] - EXPIRY_MARGIN_SECONDS > now:
            return held[0]
        resp = self.http.request("POST", self.options.oauth_token_url, budget=budget, accept=(400, 401, 403),
                                 data={"grant_type": "refresh_token", "refresh_token": refresh,
                                       "client_id": client_id, "client_secret": client_secret})
        if resp.status_code >= 400:
            raise self.refusal(resp)
        body = decode_json(self.network, resp)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not _ACCESS_TOKEN.match(token):
            raise BadPayload(self.network, "token endpoint: the answer has no 'access_token'")
        lifetime = body.get("expires_in")
        if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0:
            with _tokens_lock:
                _access_tokens[key] = (token, now + lifetime)
        return token

    def send(self, budget: Budget, request: Callable[[dict[str, str]], requests.Response]) -> requests.Response:
        """``request(headers)`` with a live access token in ``headers``; a 401 (a token revoked
        early: nothing was done) is sent once more with a new token. The last answer is returned."""
        resp = request({"Authorization": f"Bearer {self.access_token(budget)}"})
        if resp.status_code == 401:
            resp = request({"Authorization": f"Bearer {self.access_token(budget, fresh=True)}"})
        return resp

    def refusal(self, resp: requests.Response) -> CredentialsError:
        """The token endpoint's refusal in words (its ``error`` code only; never a secret)."""
        try:
            error = resp.json().get("error")
        except (ValueError, AttributeError):
            error = None
        code = error if isinstance(error, str) and _OAUTH_ERROR.match(error) else "?"
        opts = self.options
        if code == "invalid_grant":
            again = self.reconnect or f"authorise again and store the new one in {opts.oauth_refresh_token_parameter}"
            return CredentialsError(self.network, f"Google refused the OAuth refresh token (HTTP {resp.status_code}: "
                                                  "invalid_grant): it expired or was revoked (a Google Cloud app in "
                                                  f"'Testing' gets refresh tokens that last 7 days); {again}")
        if code in ("invalid_client", "unauthorized_client"):
            return CredentialsError(self.network, f"Google refused the OAuth client (HTTP {resp.status_code}: "
                                                  f"{code}); check {opts.oauth_client_id_parameter} and "
                                                  f"{opts.oauth_client_secret_parameter}")
        return CredentialsError(self.network, f"Google's token endpoint refused a new access token "
                                              f"(HTTP {resp.status_code}: {code})")

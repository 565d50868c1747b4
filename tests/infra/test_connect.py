"""``make connect``: the owner's consent through a loopback redirect, its credential kept as a SecureString
(moto SSM), against a provider on 127.0.0.1 that behaves as the documented flows do:

- Google, https://developers.google.com/identity/protocols/oauth2/native-app: the consent redirects to the
  loopback ``redirect_uri`` with ``code`` and ``state``; the token endpoint takes the code with the PKCE
  ``code_verifier`` (RFC 7636 S256) and answers ``access_token``, ``expires_in``, ``refresh_token``,
  ``scope`` (space-separated), ``token_type``; a refused consent redirects with ``error=access_denied``.
- Meta, https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow (code exchange at
  ``/oauth/access_token``), .../access-tokens/get-long-lived (``grant_type=fb_exchange_token``),
  https://developers.facebook.com/docs/graph-api/reference/user/permissions/ (``data[{permission,status}]``)
  and https://developers.facebook.com/docs/pages-api/getting-started (``/me/accounts`` with each Page's
  ``access_token``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
import requests

from chalicelib.networks.spec import NetworkSpec, OAuthConnect
from infra import connect as connect_module
from infra.connect import ConnectError, Endpoints, connect, main

REFRESH_TOKEN = "1//refresh-token-kept-secret"
PAGE_TOKEN = "EAAPageTokenKeptSecret"
CLIENT_ID, CLIENT_SECRET = "client-id.apps.example", "client-secret-typed"
YOUTUBE_SCOPE = "https://www.googleapis.com/auth/youtube.force-ssl"
LISTEN_YAML = """\
business: {name: Bean There Cafe, website: https://beanthere.example}
rules: [{name: brand, group: brand, keywords: [Bean There]}]
networks:
  youtube:
    key_parameter: /social-listening/youtube/key
    oauth_refresh_token_parameter: /social-listening/youtube/refresh-token
    oauth_client_id_parameter: /social-listening/youtube/client-id
    oauth_client_secret_parameter: /social-listening/youtube/client-secret
recipients: [{name: Maria, email: maria@beanthere.example}]
alerts: {from_address: alerts@beanthere.example}
"""


class Provider(BaseHTTPRequestHandler):
    """Google's consent page and token endpoint, and Meta's dialog and Graph calls, as documented."""

    server: ProviderServer

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _redirect(self, query: dict[str, str]) -> None:
        params = parse_qs(urlsplit(self.path).query)
        self.send_response(302)
        answer = {**query, "state": params["state"][0]} if "state" in params else query
        self.send_header("Location", f"{params['redirect_uri'][0]}?{urlencode(answer)}")
        self.end_headers()

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.server.seen.append((parts.path, params))
        if parts.path in ("/google/auth", "/meta/dialog/oauth"):
            self.server.challenge = params.get("code_challenge", "")
            self._redirect(self.server.consent)
        elif parts.path == "/meta/graph/oauth/access_token":
            if params.get("grant_type") == "fb_exchange_token":
                ok = params["fb_exchange_token"] == "short-user-token" and params["client_secret"] == CLIENT_SECRET
                self._send(200 if ok else 400, {"access_token": "long-user-token", "token_type": "bearer",
                                                "expires_in": 5183944} if ok else {"error": {"message": "bad"}})
            else:
                ok = params.get("code") == "meta-code" and params.get("client_secret") == CLIENT_SECRET
                self._send(200 if ok else 400, {"access_token": "short-user-token", "token_type": "bearer",
                                                "expires_in": 5400} if ok else {"error": {"message": "bad code"}})
        elif parts.path == "/meta/graph/me/permissions":
            self._send(200, {"data": [{"permission": "pages_show_list", "status": "granted"},
                                      {"permission": "pages_manage_engagement", "status": "declined"}]})
        elif parts.path == "/meta/graph/me/accounts":
            assert params["access_token"] == "long-user-token"
            self._send(200, {"data": self.server.pages, "paging": {"cursors": {"before": "a", "after": "b"}}})
        else:
            self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
        self.server.seen.append((self.path, form))
        verifier_ok = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                                               ).decode().rstrip("=") == self.server.challenge
        if form.get("code") != "google-code" or form.get("client_secret") != CLIENT_SECRET or not verifier_ok:
            self._send(400, {"error": "invalid_grant", "error_description": "Bad Request"})
            return
        self._send(200, {"access_token": "ya29.short", "expires_in": 3599, "refresh_token": REFRESH_TOKEN,
                         "scope": self.server.granted_scope, "token_type": "Bearer"})

    def log_message(self, format: str, *args: Any) -> None:
        return


class ProviderServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Provider)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.consent: dict[str, str] = {"code": "google-code"}
        self.challenge = ""
        self.granted_scope = YOUTUBE_SCOPE
        self.pages: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[ProviderServer]:
    server = ProviderServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def browser(url: str) -> None:
    """The owner consenting: the consent page redirects to the loopback callback."""
    requests.get(url, timeout=10).raise_for_status()


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "listen.yaml"
    path.write_text(LISTEN_YAML, encoding="utf-8")
    return path


def seed_client(prefix: str = "/social-listening/prod/youtube") -> None:
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=f"{prefix}/client-id", Value=CLIENT_ID, Type="SecureString")
    ssm.put_parameter(Name=f"{prefix}/client-secret", Value=CLIENT_SECRET, Type="SecureString")


def google(provider: ProviderServer) -> dict[str, Endpoints]:
    return {"google": Endpoints(f"{provider.url}/google/auth", f"{provider.url}/google/token")}


def test_google_consent_keeps_the_refresh_token_as_a_secure_string_and_never_prints_it(
        aws: str, tmp_path: Path, provider: ProviderServer) -> None:
    seed_client()
    said: list[str] = []
    status = main(["--network", "youtube", "--stage", "prod", "--config", str(write_config(tmp_path))],
                  say=said.append, open_browser=browser, endpoints=google(provider), timeout=10)
    assert status == 0, said
    stored = boto3.client("ssm").get_parameter(Name="/social-listening/prod/youtube/refresh-token",
                                               WithDecryption=True)["Parameter"]
    assert (stored["Value"], stored["Type"]) == (REFRESH_TOKEN, "SecureString")
    output = "\n".join(said)
    assert REFRESH_TOKEN not in output and "ya29" not in output and CLIENT_SECRET not in output
    assert f"granted   {YOUTUBE_SCOPE}" in output
    consent = dict(provider.seen)["/google/auth"]
    assert consent["access_type"] == "offline" and consent["prompt"] == "consent"
    assert consent["code_challenge_method"] == "S256" and consent["scope"] == YOUTUBE_SCOPE
    assert consent["redirect_uri"].startswith("http://127.0.0.1:") and consent["redirect_uri"].endswith("/callback")


def test_a_scope_not_granted_is_said(aws: str, tmp_path: Path, provider: ProviderServer) -> None:
    seed_client()
    provider.granted_scope = "openid"
    said: list[str] = []
    assert main(["--network", "youtube", "--stage", "prod", "--config", str(write_config(tmp_path))],
                say=said.append, open_browser=browser, endpoints=google(provider), timeout=10) == 0
    assert f"MISSING   {YOUTUBE_SCOPE}" in "\n".join(said)


def test_a_refused_consent_stores_nothing_and_says_so(aws: str, tmp_path: Path, provider: ProviderServer) -> None:
    seed_client()
    provider.consent = {"error": "access_denied"}
    said: list[str] = []
    assert main(["--network", "youtube", "--stage", "prod", "--config", str(write_config(tmp_path))],
                say=said.append, open_browser=browser, endpoints=google(provider), timeout=10) == 1
    assert "the consent was refused (access_denied)" in said[-1]
    with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
        boto3.client("ssm").get_parameter(Name="/social-listening/prod/youtube/refresh-token")


def test_an_answer_with_another_state_is_refused(aws: str, tmp_path: Path, provider: ProviderServer) -> None:
    seed_client()

    def forged(url: str) -> None:  # a callback from another run (or another site) carrying its own state
        callback = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        requests.get(f"{callback}?{urlencode({'code': 'google-code', 'state': 'not-this-run'})}", timeout=10)

    said: list[str] = []
    assert main(["--network", "youtube", "--stage", "prod", "--config", str(write_config(tmp_path))],
                say=said.append, open_browser=forged, endpoints=google(provider), timeout=10) == 1
    assert "state does not match" in said[-1]


def test_missing_client_credentials_are_asked_for_and_written(aws: str, tmp_path: Path,
                                                              provider: ProviderServer) -> None:
    typed = {"client id": CLIENT_ID, "client secret": CLIENT_SECRET}
    asked: list[str] = []

    def owner(prompt: str) -> str:
        asked.append(prompt)
        return next(value for what, value in typed.items() if f"OAuth {what} " in prompt)

    assert main(["--network", "youtube", "--stage", "prod", "--config", str(write_config(tmp_path))], ask=owner,
                say=lambda _: None, open_browser=browser, endpoints=google(provider), timeout=10) == 0
    assert len(asked) == 2
    secret = boto3.client("ssm").get_parameter(Name="/social-listening/prod/youtube/client-secret",
                                               WithDecryption=True)["Parameter"]
    assert (secret["Value"], secret["Type"]) == (CLIENT_SECRET, "SecureString")


def test_a_network_without_consent_or_no_network_is_a_clear_error(tmp_path: Path) -> None:
    said: list[str] = []
    assert main(["--network", "hackernews", "--config", str(write_config(tmp_path))], say=said.append) == 2
    assert "'hackernews' is not one" in said[-1] and "youtube" in said[-1]
    assert main([], say=said.append) == 2
    assert said[-1].startswith("say which network to connect: make connect NETWORK=<one of")


META = NetworkSpec(name="pagebook", label="Page Book", source="x:Y",
                   connect=OAuthConnect("meta", ("pages_show_list", "pages_manage_engagement"),
                                        token_option="token_parameter", client_id_option="app_id_parameter",
                                        client_secret_option="app_secret_parameter", docs="https://example.invalid"))


class MetaConfig:
    def __init__(self, **options: Any) -> None:
        self.options = SimpleNamespace(token_parameter="/social-listening/page/token",
                                       app_id_parameter="/social-listening/page/app-id",
                                       app_secret_parameter="/social-listening/page/app-secret", **options)

    def enabled_networks(self) -> dict[str, Any]:
        return {"pagebook": self.options}


def run_meta(provider: ProviderServer, monkeypatch: pytest.MonkeyPatch, config: MetaConfig) -> list[str]:
    monkeypatch.setattr(connect_module, "spec", lambda name: META)
    seed_client("/social-listening/prod/page")
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/social-listening/prod/page/app-id", Value=CLIENT_ID, Type="SecureString",
                      Overwrite=True)
    ssm.put_parameter(Name="/social-listening/prod/page/app-secret", Value=CLIENT_SECRET, Type="SecureString")
    said: list[str] = []
    connect(ssm, config, "pagebook", stage="prod", port=0, say=said.append, open_browser=browser, timeout=10,
            endpoints=Endpoints(f"{provider.url}/meta/dialog/oauth", f"{provider.url}/meta/graph"),
            today=__import__("datetime").date(2026, 12, 5))
    return said


def test_meta_consent_keeps_the_pages_token_and_says_when_to_reconnect(
        aws: str, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    provider.consent = {"code": "meta-code"}
    provider.pages = [{"id": "111", "name": "Other Page", "access_token": "EAAOther"},
                      {"id": "222", "name": "Bean There", "access_token": PAGE_TOKEN,
                       "instagram_business_account": {"id": "17841400000000001"}}]
    said = run_meta(provider, monkeypatch, MetaConfig(ig_user_id="17841400000000001"))
    stored = boto3.client("ssm").get_parameter(Name="/social-listening/prod/page/token", WithDecryption=True)
    assert stored["Parameter"]["Value"] == PAGE_TOKEN
    output = "\n".join(said)
    assert "connected to Page Bean There (222)" in output and PAGE_TOKEN not in output
    assert "granted   pages_show_list" in output and "MISSING   pages_manage_engagement" in output
    assert "before 05 Mar 2027" in output  # 90 days of data access
    assert dict(provider.seen)["/meta/dialog/oauth"]["redirect_uri"].startswith("http://localhost:")


def test_meta_without_the_configured_page_stores_nothing_and_lists_what_was_granted(
        aws: str, provider: ProviderServer, monkeypatch: pytest.MonkeyPatch) -> None:
    provider.consent = {"code": "meta-code"}
    provider.pages = [{"id": "111", "name": "Other Page", "access_token": "EAAOther"}]
    with pytest.raises(ConnectError, match=r"no Page granted matches listen.yaml's page_id 222; Pages granted: "
                                           r"Other Page \(111\)"):
        run_meta(provider, monkeypatch, MetaConfig(page_id="222"))
    with pytest.raises(boto3.client("ssm").exceptions.ParameterNotFound):
        boto3.client("ssm").get_parameter(Name="/social-listening/prod/page/token")

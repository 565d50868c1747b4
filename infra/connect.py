"""``make connect NETWORK=<name> STAGE=<stage>``: sign the owner in to a network that needs their consent
(Google reviews, YouTube replies, Instagram, the Facebook Page), on the owner's own machine, and keep what the
consent yields as an SSM SecureString. No token is printed, logged, written to listen.yaml or to the table.

The flow is OAuth 2.0's authorization code grant with a loopback redirect (RFC 8252): a one-request HTTP server
on 127.0.0.1 receives the code; ``state`` is checked (constant time) against the one sent.

- Google (https://developers.google.com/identity/protocols/oauth2/native-app): PKCE (S256),
  ``access_type=offline`` and ``prompt=consent`` so a refresh token is always returned; the refresh token is
  written to the parameter the network's ``token_option`` names. A Desktop-app OAuth client accepts any loopback
  port.
- Meta (https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow, .../access-tokens/
  get-long-lived, https://developers.facebook.com/docs/pages-api/getting-started): the code becomes a user token,
  exchanged for a long-lived one (``fb_exchange_token``); the Page token read with it from ``/me/accounts`` does
  not expire, and is what is kept. Meta asks for a fresh consent every 90 days (data access expiry): the date is
  printed. Meta checks the redirect URI exactly: register ``http://localhost:<port>/callback`` (default port
  8765) under the app's Valid OAuth Redirect URIs.

The OAuth client's id and secret (Meta: app id and app secret) are read from the parameters listen.yaml names
(``make secrets`` writes them), or asked for (without echo) and written there.

    python -m infra.connect --stage prod --network google_reviews
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import hashlib
import hmac
import http.server
import queue
import secrets
import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from chalicelib.config import ConfigError, config_path, load_config
from chalicelib.log_levels import pin_library_loggers
from chalicelib.networks import NETWORKS, spec
from chalicelib.networks.google_oauth import GOOGLE_TOKEN_URL
from chalicelib.networks.graph import GRAPH_VERSION as META_GRAPH_VERSION
from chalicelib.networks.spec import OAuthConnect
from chalicelib.runtime import stage_parameter
from infra.policies import stage_secrets_path
from infra.secret_setup import SecretsError, check_parameter_name, write_secret

GOOGLE_AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
META_AUTHORIZE_URL = f"https://www.facebook.com/{META_GRAPH_VERSION}/dialog/oauth"
META_GRAPH_URL = f"https://graph.facebook.com/{META_GRAPH_VERSION}"
META_DATA_ACCESS_DAYS = 90  # a Meta consent's data access lasts this long
DEFAULT_PORT = {"google": 0, "meta": 8765}  # 0: any free port (Google accepts any loopback port)
TIMEOUT_SECONDS = 300.0  # to consent in the browser
HTTP_TIMEOUT = 20.0

Ask = Callable[[str], str]
Say = Callable[[str], None]


class ConnectError(Exception):
    """The consent did not give what the network needs; the message says what to do."""


@dataclass(frozen=True)
class Endpoints:
    """Where the provider is (the real ones by default; the replay server in tests)."""

    authorize_url: str
    token_url: str  # Google's token endpoint; Meta: the Graph API root (its token endpoint is under it)


def default_endpoints(provider: str) -> Endpoints:
    if provider == "google":
        return Endpoints(GOOGLE_AUTHORIZE_URL, GOOGLE_TOKEN_URL)
    return Endpoints(META_AUTHORIZE_URL, META_GRAPH_URL)


@dataclass(frozen=True)
class Granted:
    """What a consent gave: the long-lived credential (kept secret) and what to tell the owner."""

    credential: str
    scopes: tuple[str, ...]
    declined: tuple[str, ...] = ()
    account: str = ""  # the Page connected, in words
    reconnect_by: dt.date | None = None


class _Callback(http.server.BaseHTTPRequestHandler):
    """Receives the one redirect back from the provider; everything else is 404."""

    server: _CallbackServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_error(404)
            return
        self.server.answers.put({k: v[0] for k, v in parse_qs(parts.query).items()})
        body = b"<!doctype html><title>Connected</title><p>Done: you can close this tab and go back to the terminal."
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class _CallbackServer(http.server.HTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Callback)
        self.answers: queue.Queue[dict[str, str]] = queue.Queue()


def pkce_pair() -> tuple[str, str]:
    """(code verifier, S256 challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(how: OAuthConnect, endpoints: Endpoints, client_id: str, redirect_uri: str, state: str,
                  challenge: str) -> str:
    """The consent page's address for this network."""
    if how.provider == "google":
        query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                 "scope": " ".join(how.scopes), "access_type": "offline", "prompt": "consent", "state": state,
                 "code_challenge": challenge, "code_challenge_method": "S256"}
    else:
        query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
                 "scope": ",".join(how.scopes), "state": state}
    return f"{endpoints.authorize_url}?{urlencode(query)}"


def wait_for_code(server: _CallbackServer, state: str, label: str, timeout: float) -> str:
    """The authorization code the provider sent back, after checking ``state``."""
    try:
        answer = server.answers.get(timeout=timeout)
    except queue.Empty:
        raise ConnectError(f"{label}: no answer from the browser within {int(timeout)} s; run it again") from None
    if "error" in answer:
        why = answer.get("error_description") or answer.get("error_reason") or ""
        raise ConnectError(f"{label}: the consent was refused ({answer['error'][:60]}{': ' + why[:200] if why else ''})"
                           "; nothing was stored")
    if not hmac.compare_digest(answer.get("state", ""), state):
        raise ConnectError(f"{label}: the answer's state does not match this run's (another tab or an old link?); "
                           "nothing was stored: run it again")
    code = answer.get("code", "")
    if not code:
        raise ConnectError(f"{label}: the answer holds no authorization code; nothing was stored")
    return code


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConnectError(f"{what}: HTTP {response.status_code}, not a JSON object")
    if response.status_code >= 400 or "error" in data:
        error = data.get("error")
        words = error.get("message") if isinstance(error, dict) else data.get("error_description") or error
        raise ConnectError(f"{what}: HTTP {response.status_code}: {str(words)[:200]}")
    return data


def google_grant(session: requests.Session, how: OAuthConnect, endpoints: Endpoints, client: tuple[str, str],
                 code: str, redirect_uri: str, verifier: str) -> Granted:
    """Exchange the code for the refresh token (and the scopes really granted)."""
    client_id, client_secret = client
    form = {"code": code, "client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri,
            "grant_type": "authorization_code", "code_verifier": verifier}
    data = _json(session.post(endpoints.token_url, data=form, timeout=HTTP_TIMEOUT), "Google's token endpoint")
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise ConnectError("Google gave no refresh token: remove this app's access at "
                           "https://myaccount.google.com/permissions and run it again")
    granted = tuple(str(data.get("scope", "")).split())
    return Granted(refresh, granted, tuple(s for s in how.scopes if s not in granted))


def meta_grant(session: requests.Session, how: OAuthConnect, endpoints: Endpoints, client: tuple[str, str],
               code: str, redirect_uri: str, options: Any, today: dt.date) -> Granted:
    """Code -> user token -> long-lived user token -> the Page's token (which does not expire)."""
    client_id, client_secret = client
    graph = endpoints.token_url.rstrip("/")
    short = _json(session.get(f"{graph}/oauth/access_token", params={
        "client_id": client_id, "client_secret": client_secret, "redirect_uri": redirect_uri, "code": code},
        timeout=HTTP_TIMEOUT), "Meta's token endpoint")
    long_lived = _json(session.get(f"{graph}/oauth/access_token", params={
        "grant_type": "fb_exchange_token", "client_id": client_id, "client_secret": client_secret,
        "fb_exchange_token": str(short.get("access_token", ""))}, timeout=HTTP_TIMEOUT), "Meta's long-lived token")
    user_token = str(long_lived.get("access_token", ""))
    permissions = _json(session.get(f"{graph}/me/permissions", params={"access_token": user_token},
                                    timeout=HTTP_TIMEOUT), "Meta's permission list")
    status = {str(p.get("permission")): str(p.get("status")) for p in permissions.get("data", [])
              if isinstance(p, dict)}
    pages = _json(session.get(f"{graph}/me/accounts", params={
        "access_token": user_token, "fields": "id,name,access_token,instagram_business_account"},
        timeout=HTTP_TIMEOUT), "Meta's list of your Pages").get("data", [])
    page = choose_page([p for p in pages if isinstance(p, dict)], options)
    token = page.get("access_token")
    if not isinstance(token, str) or not token:
        raise ConnectError(f"Meta gave no Page token for {page.get('name', 'the Page')}: grant the Page permissions "
                           "and run it again")
    return Granted(token, tuple(p for p, s in status.items() if s == "granted"),
                   tuple(s for s in how.scopes if status.get(s) != "granted"),
                   account=f"Page {str(page.get('name', ''))[:80]} ({page.get('id')})",
                   reconnect_by=today + dt.timedelta(days=META_DATA_ACCESS_DAYS))


def choose_page(pages: list[dict[str, Any]], options: Any) -> dict[str, Any]:
    """The Page listen.yaml names (``page_id``, or the Page linked to ``ig_user_id``), or the only one."""
    page_id, ig_user_id = getattr(options, "page_id", None), getattr(options, "ig_user_id", None)
    for page in pages:
        linked = page.get("instagram_business_account")
        if page_id and str(page.get("id")) == str(page_id):
            return page
        if ig_user_id and isinstance(linked, dict) and str(linked.get("id")) == str(ig_user_id):
            return page
    if not page_id and not ig_user_id and len(pages) == 1:
        return pages[0]
    listed = ", ".join(f"{str(p.get('name', ''))[:60]} ({p.get('id')})" for p in pages) or "none"
    wanted = f"page_id {page_id}" if page_id else f"ig_user_id {ig_user_id}" if ig_user_id else "page_id"
    raise ConnectError(f"Meta: no Page granted matches listen.yaml's {wanted}; Pages granted: {listed}")


def client_credentials(ssm: Any, how: OAuthConnect, options: Any, network: str, path: str, ask: Ask,
                       say: Say) -> tuple[str, str]:
    """The OAuth client's id and secret from SSM, asked for (and written) when missing."""
    found = []
    for option, what in ((how.client_id_option, "client id"), (how.client_secret_option, "client secret")):
        name = getattr(options, option, None)
        if not name:
            raise ConnectError(f"listen.yaml networks.{network}.{option} is not set: name the SSM parameter of the "
                               f"OAuth {what} (e.g. /social-listening/{network}/{option.removesuffix('_parameter')})")
        check_parameter_name(str(name), f"networks.{network}.{option}")
        parameter = stage_parameter(str(name), path)
        try:
            value = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            value = ask(f"  OAuth {what} for {parameter} (input hidden): ").strip()
            if not value:
                raise ConnectError(f"no OAuth {what}: nothing was stored") from None
            write_secret(ssm, parameter, value)
            say(f"  written   {parameter}  (OAuth {what})")
        found.append(value)
    return found[0], found[1]


def connect(ssm: Any, config: Any, network: str, *, stage: str, port: int | None = None,
            endpoints: Endpoints | None = None, ask: Ask = getpass.getpass, say: Say = print,
            open_browser: Callable[[str], object] = webbrowser.open, timeout: float = TIMEOUT_SECONDS,
            today: dt.date | None = None) -> Granted:
    """Run the consent for ``network`` and write its credential (see the module docstring)."""
    how = spec(network).connect
    if how is None:
        raise ConnectError(f"{network} needs no sign-in: `make secrets` asks for what it needs")
    options = config.enabled_networks().get(network)
    if options is None:
        raise ConnectError(f"{network} is not enabled in listen.yaml: add networks.{network} first")
    label, path = spec(network).label, stage_secrets_path(stage)
    target = getattr(options, how.token_option, None)
    if not target:
        raise ConnectError(f"listen.yaml networks.{network}.{how.token_option} is not set: name the SSM parameter "
                           f"to keep the {label} credential in")
    check_parameter_name(str(target), f"networks.{network}.{how.token_option}")
    client = client_credentials(ssm, how, options, network, path, ask, say)
    endpoints = endpoints or default_endpoints(how.provider)
    server = _CallbackServer(DEFAULT_PORT[how.provider] if port is None else port)
    threading.Thread(target=server.serve_forever, name="connect-callback", daemon=True).start()
    try:
        host = "127.0.0.1" if how.provider == "google" else "localhost"
        redirect_uri = f"http://{host}:{server.server_address[1]}/callback"
        state = secrets.token_urlsafe(32)
        verifier, challenge = pkce_pair()
        url = authorize_url(how, endpoints, client[0], redirect_uri, state, challenge)
        say(f"{label}: open this address in a browser and consent ({how.docs}):\n  {url}")
        open_browser(url)
        code = wait_for_code(server, state, label, timeout)
    finally:
        server.shutdown()
        server.server_close()
    with requests.Session() as session:
        if how.provider == "google":
            granted = google_grant(session, how, endpoints, client, code, redirect_uri, verifier)
        else:
            granted = meta_grant(session, how, endpoints, client, code, redirect_uri, options,
                                 today or dt.datetime.now(dt.UTC).date())
    parameter = stage_parameter(str(target), path)
    write_secret(ssm, parameter, granted.credential, overwrite=True)  # a new consent replaces the old credential
    say(f"{label}: connected{' to ' + granted.account if granted.account else ''}; the credential is kept as the "
        f"SecureString {parameter}")
    say(f"  granted   {', '.join(granted.scopes) or 'nothing'}")
    if granted.declined:
        say(f"  MISSING   {', '.join(granted.declined)}: some of {label} will not work; run it again and allow them")
    if granted.reconnect_by:
        say(f"  Meta asks for your consent again every {META_DATA_ACCESS_DAYS} days: run "
            f"`make connect NETWORK={network}` before {granted.reconnect_by:%d %b %Y}")
    return granted


def connectable() -> list[str]:
    return [name for name in NETWORKS if spec(name).connect is not None]


def main(argv: list[str] | None = None, *, ssm: Any = None, ask: Ask = getpass.getpass, say: Say = print,
         open_browser: Callable[[str], object] = webbrowser.open, endpoints: Mapping[str, Endpoints] | None = None,
         timeout: float = TIMEOUT_SECONDS) -> int:
    """Command line. Returns 0 connected, 1 the consent failed, 2 a bad request or listen.yaml."""
    pin_library_loggers()  # botocore logs SecureString values at DEBUG
    parser = argparse.ArgumentParser(prog="python -m infra.connect", description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="", help=f"one of: {', '.join(connectable())}")
    parser.add_argument("--stage", default="dev", help="the Chalice stage whose secrets are written (dev, prod)")
    parser.add_argument("--config", type=Path, help="listen.yaml (default: $LISTEN_CONFIG or ./listen.yaml)")
    parser.add_argument("--port", type=int, help="the loopback port of the redirect (Meta default 8765)")
    args = parser.parse_args(argv)
    if args.network not in connectable():
        say(f"say which network to connect: make connect NETWORK=<one of {', '.join(connectable())}>"
            + (f" ({args.network!r} is not one)" if args.network else ""))
        return 2
    path = args.config or config_path()
    try:
        config = load_config(path)
    except ConfigError as err:
        say(f"{path} is not valid:")
        for problem in err.problems:
            say(f"  {problem}")
        return 2
    if ssm is None:
        import boto3

        ssm = boto3.client("ssm")
    how = spec(args.network).connect
    assert how is not None
    try:
        connect(ssm, config, args.network, stage=args.stage, port=args.port, ask=ask, say=say,
                open_browser=open_browser, timeout=timeout,
                endpoints=(endpoints or {}).get(how.provider))
    except SecretsError as err:
        say(str(err))
        return 2
    except (ConnectError, requests.RequestException) as err:
        say(str(err) if isinstance(err, ConnectError) else f"{spec(args.network).label}: {type(err).__name__}; "
            "nothing was stored: check the connection and run it again")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

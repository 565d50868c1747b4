"""Signing in to the inbox through the API's routes on the local stack (DynamoDB Local, SES on moto):
the magic link by email, the session cookie, sign-out, CSRF; every call made as the API function."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client

from app import app
from chalicelib.runtime import runtime
from chalicelib.store import Store
from chalicelib.web.session import ADDRESS_REQUESTS, COOKIE_NAME, SESSION_SECONDS, WINDOW_SECONDS
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LINK = re.compile(r"http://127\.0\.0\.1:8000/in/link/([A-Za-z0-9_-]{43})")


@pytest.fixture
def client(store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    make_config(replay, tmp_path)
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as test_client:
        yield test_client
    runtime.cache_clear()


def links_to(stack: LocalStack, address: str) -> list[str]:
    """The tokens of every sign-in email SES accepted for ``address``, oldest first."""
    return [LINK.search(str(m.get_body(("plain",)).get_content())).group(1)  # type: ignore[union-attr]
            for m in stack.sent_emails() if m["To"].addresses[0].addr_spec == address
            and str(m["Subject"]).startswith("Sign in to")]


def cookie_of(response: Any) -> str:
    return str(response.headers["Set-Cookie"]).split(";", 1)[0]


def sign_in(client: Client, stack: LocalStack) -> str:
    before = len(links_to(stack, "maria@beanthere.example"))
    asked = client.http.post("/in/sign-in", headers=FORM, body="address=Maria%40BeanThere.example")
    assert asked.status_code == 200
    tokens = links_to(stack, "maria@beanthere.example")
    assert len(tokens) == before + 1
    confirmed = client.http.post(f"/in/link/{tokens[-1]}", headers=FORM, body="")
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/in/"
    return cookie_of(confirmed)


def test_a_recipient_signs_in_by_the_emailed_link_once(client: Client, stack: LocalStack) -> None:
    form = client.http.get("/in/sign-in")
    assert form.status_code == 200 and 'name="address"' in form.body.decode()
    asked = client.http.post("/in/sign-in", headers=FORM, body="address=maria%40beanthere.example")
    assert asked.status_code == 200 and "a sign-in link is on its way" in asked.body.decode()
    token = links_to(stack, "maria@beanthere.example")[-1]

    opened = client.http.get(f"/in/link/{token}")
    assert opened.status_code == 200 and f'action="/in/link/{token}"' in opened.body.decode()
    confirmed = client.http.post(f"/in/link/{token}", headers=FORM, body="")
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/in/"
    set_cookie = confirmed.headers["Set-Cookie"]
    assert re.fullmatch(rf"{COOKIE_NAME}=[A-Za-z0-9_-]{{43}}; Path=/; Secure; HttpOnly; SameSite=Lax; "
                        rf"Max-Age={SESSION_SECONDS}", set_cookie)
    home = client.http.get("/in", headers={"Cookie": cookie_of(confirmed)})
    assert home.status_code == 200 and "Signed in as Maria (maria@beanthere.example)" in home.body.decode()

    again = client.http.post(f"/in/link/{token}", headers=FORM, body="")
    assert again.status_code == 403 and "Set-Cookie" not in again.headers


def test_an_unknown_address_gets_the_same_answer_and_no_email(client: Client, stack: LocalStack) -> None:
    emails = len(stack.sent_emails())
    unknown = client.http.post("/in/sign-in", headers=FORM, body="address=mallory%40evil.example")
    known = client.http.post("/in/sign-in", headers=FORM, body="address=maria%40beanthere.example")
    assert unknown.status_code == known.status_code == 200
    assert unknown.body.decode() == known.body.decode().replace("maria@beanthere.example", "mallory@evil.example")
    assert len(stack.sent_emails()) == emails + 1


def test_the_sixth_request_in_an_hour_sends_nothing(client: Client, stack: LocalStack) -> None:
    window = int(time.time()) // WINDOW_SECONDS
    answers = {client.http.post("/in/sign-in", headers=FORM, body="address=maria%40beanthere.example").body
               for _ in range(ADDRESS_REQUESTS + 1)}
    crossed = int(time.time()) // WINDOW_SECONDS != window  # the six split over two windows: each sent
    assert len(answers) == 1
    assert len(links_to(stack, "maria@beanthere.example")) == ADDRESS_REQUESTS + (1 if crossed else 0)


def test_sign_out_needs_the_sessions_csrf_token_and_ends_the_session(client: Client, stack: LocalStack,
                                                                     store: Store) -> None:
    cookie = sign_in(client, stack)
    other = sign_in(client, stack)
    home = client.http.get("/in", headers={"Cookie": cookie}).body.decode()
    csrf = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', home).group(1)  # type: ignore[union-attr]
    for body in ("", "csrf=wrong"):
        refused = client.http.post("/in/sign-out", headers={**FORM, "Cookie": cookie}, body=body)
        assert refused.status_code == 403 and "Set-Cookie" not in refused.headers
    cross = client.http.post("/in/sign-out", headers={**FORM, "Cookie": cookie, "Origin": "https://evil.example"},
                             body=f"csrf={csrf}")
    assert cross.status_code == 403
    assert "Signed in as Maria" in client.http.get("/in", headers={"Cookie": cookie}).body.decode()

    out = client.http.post("/in/sign-out", headers={**FORM, "Cookie": cookie}, body=f"csrf={csrf}")
    assert out.status_code == 200 and out.headers["Set-Cookie"].endswith("Max-Age=0")
    assert 'name="address"' in client.http.get("/in", headers={"Cookie": cookie}).body.decode()  # signed out
    assert "Signed in as Maria" in client.http.get("/in", headers={"Cookie": other}).body.decode()


def test_sign_out_everywhere_ends_the_other_devices_sessions(client: Client, stack: LocalStack) -> None:
    phone, laptop = sign_in(client, stack), sign_in(client, stack)
    home = client.http.get("/in", headers={"Cookie": laptop}).body.decode()
    csrf = re.search(r'name="csrf" value="([A-Za-z0-9_-]{43})"', home).group(1)  # type: ignore[union-attr]
    out = client.http.post("/in/sign-out-everywhere", headers={**FORM, "Cookie": laptop}, body=f"csrf={csrf}")
    assert out.status_code == 200 and "signed out on every device" in out.body.decode()
    for cookie in (phone, laptop):
        assert 'name="address"' in client.http.get("/in", headers={"Cookie": cookie}).body.decode()

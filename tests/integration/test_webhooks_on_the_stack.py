"""Webhooks (#17) on the local stack, through Chalice's test client: DynamoDB Local, moto's SSM
(the app secret and verify token as SecureStrings), SES and SNS. A signed delivery is stored and
alerted in the same request; a repeat, an out-of-order delivery and a poll finding the same comment
change nothing more; an unsigned or forged one is 401 and stored nowhere."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.runtime import runtime
from chalicelib.store import Store
from offline.replay import make_server
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import keys_in
from tests.webhook_net import register

pytestmark = pytest.mark.integration
SECRET, TOKEN = "hooknet-app-secret-for-tests", "hooknet-verify-token"
NETWORK = """\
  hooknet:
    base_url: {base_url}
    app_secret_parameter: /social-listening/hooknet/app-secret
    verify_token_parameter: /social-listening/hooknet/verify-token
"""


def delivery(*comments: tuple[str, str], at: int | None = None) -> bytes:
    """A Meta-shaped ``comments`` delivery (tests/webhook_net cites the shape)."""
    when = int(time.time()) - 30 if at is None else at
    return json.dumps({"object": "hooknet", "entry": [{"id": "17841400000000001", "time": when, "changes": [
        {"field": "comments", "value": {"id": cid, "from": {"id": "901", "username": "rui"}, "text": text,
                                        "media": {"id": "555", "media_product_type": "FEED"}}}
        for cid, text in comments]}]}).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayServer]:
    register(monkeypatch)
    with make_server() as replay:  # mounts Hook Net's emulator (registered above)
        yield replay


@pytest.fixture
def client(store: Store, stack: LocalStack, server: ReplayServer, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    make_config(server, tmp_path, networks=NETWORK.format(base_url=server.base_url("hooknet")))
    with serving(stack, tmp_path, monkeypatch, {"/social-listening/hooknet/app-secret": SECRET,
                                                "/social-listening/hooknet/verify-token": TOKEN}) as test_client:
        yield test_client


@contextmanager
def serving(stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            parameters: dict[str, str]) -> Iterator[Client]:
    """The app on this test's listen.yaml, with ``parameters`` stored as SecureStrings: a warm container."""
    ssm = stack.client("ssm")
    for name, value in parameters.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as test_client:
        yield test_client
    runtime.cache_clear()


def alerted(stack: LocalStack) -> list[list[str]]:
    return [keys_in(message) for message in stack.sent_emails()]


def test_a_signed_delivery_is_stored_and_alerted_by_email_and_sms_in_the_request(
        client: Client, store: Store, stack: LocalStack) -> None:
    body = delivery(("c1", "Bean There was rude and I want a refund"))  # the complaints rule: urgent
    response = client.http.post("/hooks/hooknet", headers=signed(body), body=body)
    assert (response.status_code, response.body) == (200, b"ok")
    stored = store.get_mention("hooknet#c1")
    assert stored is not None and stored.item.rule_names == ("your Hook Net", "brand", "complaints")
    assert alerted(stack) == [["hooknet#c1"]]
    ((phone, text),) = stack.sent_sms()
    assert phone == "+351912345678" and "rude" in text

    again = client.http.post("/hooks/hooknet", headers=signed(body), body=body)  # Meta retries
    assert (again.status_code, again.body) == (200, b"ok")
    assert len(stack.sent_emails()) == 1 and len(stack.sent_sms()) == 1


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},
    {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64},
    {"Content-Type": "application/json", "X-Hub-Signature": "sha1=" + "0" * 40},
    "another secret",
])
def test_an_unsigned_or_forged_delivery_is_401_and_stored_nowhere(
        client: Client, store: Store, stack: LocalStack, headers: dict[str, str] | str) -> None:
    body = delivery(("c1", "Bean There forged"))
    sent = signed(body, "another-secret") if isinstance(headers, str) else headers
    response = client.http.post("/hooks/hooknet", headers=sent, body=body)
    assert (response.status_code, response.body) == (401, b"bad signature")
    assert store.get_mention("hooknet#c1") is None
    assert store.all_health().get("hooknet") is None
    assert stack.sent_emails() == [] and stack.sent_sms() == []


def test_out_of_order_deliveries_are_each_stored_and_alerted_once(client: Client, store: Store,
                                                                   stack: LocalStack) -> None:
    now = int(time.time())
    later, earlier = delivery(("c2", "Second"), at=now - 10), delivery(("c1", "First"), at=now - 60)
    for body in (later, earlier, later, earlier):
        assert client.http.post("/hooks/hooknet", headers=signed(body), body=body).status_code == 200
    assert store.get_mention("hooknet#c1") is not None and store.get_mention("hooknet#c2") is not None
    assert alerted(stack) == [["hooknet#c2"], ["hooknet#c1"]]


def test_a_delivery_then_a_poll_finding_the_same_comment_alerts_once(client: Client, store: Store,
                                                                      stack: LocalStack, server: ReplayServer) -> None:
    now = int(time.time())
    body = delivery(("c1", "Do you have gluten-free bread?"), at=now - 30)
    assert client.http.post("/hooks/hooknet", headers=signed(body), body=body).status_code == 200
    when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 30))
    server.add_items("hooknet", [  # the poll: the same comment, and one the webhooks missed
        {"id": "c1", "text": "Do you have gluten-free bread?", "username": "rui", "timestamp": when, "media_id": "555"},
        {"id": "c3", "text": "Missed by the webhook", "username": "ana", "timestamp": when, "media_id": "555"}])
    report = runtime().pipeline.run_cycle()
    assert report.errors == {} and report.fetched["hooknet"] == 2 and report.new_mentions == 1
    assert alerted(stack) == [["hooknet#c1"], ["hooknet#c3"]]


def test_the_subscription_handshake_answers_the_challenge_for_the_stored_token_only(client: Client) -> None:
    ok = client.http.get(f"/hooks/hooknet?hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=1158201444")
    assert (ok.status_code, ok.body) == (200, b"1158201444")
    assert ok.headers["Content-Type"] == "text/plain; charset=utf-8"
    for query in ("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
                  f"hub.mode=subscribe&hub.verify_token={TOKEN}&hub.challenge=%3Cscript%3E", ""):
        assert client.http.get(f"/hooks/hooknet?{query}").status_code == 403, query
    assert client.http.get(f"/hooks/hackernews?hub.mode=subscribe&hub.verify_token={TOKEN}"
                           "&hub.challenge=1").status_code == 404


GRAPH_NETWORK = """\
  {network}:
    base_url: {base_url}
    {account_option}: "{account}"
    token_parameter: /social-listening/{network}/token
    app_secret_parameter: /social-listening/{network}/app-secret
    verify_token_parameter: /social-listening/{network}/verify-token
"""


@contextmanager
def graph_app(network: str, account_option: str, account: str, token: str, stack: LocalStack, server: ReplayServer,
              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """The app with a Meta network (its emulator on the replay server; its signed deliveries)."""
    from chalicelib.networks.instagram.emulator import APP_SECRET

    make_config(server, tmp_path, networks=GRAPH_NETWORK.format(
        network=network, base_url=server.base_url(network), account_option=account_option, account=account))
    parameters = {"token": token, "app-secret": APP_SECRET, "verify-token": TOKEN}
    with serving(stack, tmp_path, monkeypatch, {f"/social-listening/{network}/{name}": value
                                                for name, value in parameters.items()}) as test_client:
        yield test_client


@pytest.fixture
def instagram(store: Store, stack: LocalStack, server: ReplayServer, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    from chalicelib.networks.instagram.emulator import IG_USER_ID

    with graph_app("instagram", "ig_user_id", IG_USER_ID, "ig-page-token", stack, server, tmp_path,
                   monkeypatch) as test_client:
        yield test_client


def test_an_instagram_comment_by_signed_webhook_then_polled_is_stored_and_alerted_once(
        instagram: Client, store: Store, stack: LocalStack, server: ReplayServer) -> None:
    from chalicelib.networks.instagram.emulator import (
        badly_signed_delivery,
        comments_event,
        instagram_media,
        signed_delivery,
    )

    media = instagram_media(1, time.time() - 600, "Our new oat flat white")
    server.add_items("instagram", [media])
    comment = media["comments"]["data"][0]
    key = f"instagram#{comment['id']}"
    forged_body, forged_headers = badly_signed_delivery(comments_event(media, comment))
    assert instagram.http.post("/hooks/instagram", headers=forged_headers, body=forged_body).status_code == 401
    assert store.get_mention(key) is None and stack.sent_emails() == []

    body, headers = signed_delivery(comments_event(media, comment))
    response = instagram.http.post("/hooks/instagram", headers=headers, body=body)
    assert (response.status_code, response.body) == (200, b"ok")
    stored = store.get_mention(key)
    assert stored is not None and stored.item.rule_names[0] == "your Instagram"
    assert alerted(stack) == [[key]]

    report = runtime().pipeline.run_cycle()  # the poll reads the same comment on the media
    assert (report.errors, report.fetched["instagram"], report.new_mentions) == ({}, 1, 0)
    assert instagram.http.post("/hooks/instagram", headers=headers, body=body).status_code == 200  # a retry
    assert alerted(stack) == [[key]]


@pytest.fixture
def facebook(store: Store, stack: LocalStack, server: ReplayServer, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    from chalicelib.networks.facebook.emulator import PAGE_ID

    with graph_app("facebook", "page_id", PAGE_ID, "fb-page-token", stack, server, tmp_path,
                   monkeypatch) as test_client:
        yield test_client


def test_a_page_recommendation_by_signed_webhook_then_polled_is_alerted_once(
        facebook: Client, store: Store, stack: LocalStack, server: ReplayServer) -> None:
    from chalicelib.networks.facebook.emulator import rating_event, recommendation
    from chalicelib.networks.instagram.emulator import signed_delivery

    item = recommendation(1, time.time() - 600, "Bean There was rude and the coffee cold", positive=False)
    server.add_items("facebook", [item])
    body, headers = signed_delivery(rating_event(item))
    response = facebook.http.post("/hooks/facebook", headers=headers, body=body)
    assert (response.status_code, response.body) == (200, b"ok")
    [[key]] = alerted(stack)
    stored = store.get_mention(key)
    assert key.startswith("facebook#") and stored is not None and stored.item.mention.rating is not None
    report = runtime().pipeline.run_cycle()  # the poll reads the same recommendation
    assert (report.errors, report.new_mentions) == ({}, 0)
    assert alerted(stack) == [[key]]

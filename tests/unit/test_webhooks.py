"""Webhooks (#17), without AWS: Meta's signature and subscription checks, and the delivery route's
order of checks on the store's in-memory twin with a made-up network that takes webhooks
(tests/webhook_net): signed -> stored once and alerted in the same call; anything unsigned,
oversized or unknown refused with nothing stored."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest

from chalicelib.links import TokenSigner
from chalicelib.pipeline import Pipeline
from chalicelib.rules import compile_rules
from chalicelib.store.memory import MemoryStore
from chalicelib.webhooks.service import MAX_BODY_BYTES, WebhookService
from chalicelib.webhooks.signature import expected_signature, signature_valid, subscription_challenge
from tests import builders
from tests.webhook_net import register

SECRET = "app-secret-0123456789"
TOKEN = "verify-me-please"
PARAMETERS = {"/social-listening/hooknet/app-secret": SECRET, "/social-listening/hooknet/verify-token": TOKEN}
NOW = 1_800_000_000  # 2027-01-15 08:00 UTC: Maria (Lisbon, quiet 22:00-07:30) is awake


def sign(body: bytes, secret: str = SECRET) -> str:
    """Meta's header, computed here independently of the code under test."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(*comments: tuple[str, str], time: int = NOW - 5) -> bytes:
    """A Meta-shaped ``comments`` delivery (tests/webhook_net's docstring cites the shape)."""
    return json.dumps({"object": "hooknet", "entry": [{"id": "17841400000000001", "time": time, "changes": [
        {"field": "comments", "value": {"id": cid, "from": {"id": "901", "username": "rui"}, "text": text,
                                        "media": {"id": "555", "media_product_type": "FEED"}}}
        for cid, text in comments]}]}).encode()


# ---- the checks ----

def test_a_signature_is_the_hmac_of_the_raw_body_with_the_app_secret() -> None:
    body = delivery(("c1", "Lovely cake"))
    assert expected_signature(body, SECRET) == sign(body)
    assert signature_valid(body, sign(body), SECRET)
    assert signature_valid(body, "sha256=" + sign(body).removeprefix("sha256=").upper(), SECRET)  # hex, any case


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "0" * 64, "sha256=" + "g" * 64,
    "SHA256={good}", "{good}", "{good},{good}", "sha256={good}00", "sha256={good}"[:-1],
])
def test_any_other_signature_header_is_refused(header: str | None) -> None:
    body = delivery(("c1", "Lovely cake"))
    good = sign(body).removeprefix("sha256=")
    assert not signature_valid(body, None if header is None else header.replace("{good}", good), SECRET)


def test_a_signature_of_other_bytes_or_with_another_secret_is_refused() -> None:
    body = delivery(("c1", "Lovely cake"))
    assert not signature_valid(body + b" ", sign(body), SECRET)  # the raw body, byte for byte
    assert not signature_valid(body, sign(body, "another-secret"), SECRET)
    assert not signature_valid(body, sign(body, ""), "")  # no secret, nothing verifies


def test_the_subscription_answers_the_challenge_for_the_verify_token_only() -> None:
    good = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    assert subscription_challenge(good, TOKEN) == "1158201444"
    for bad in ({**good, "hub.mode": "unsubscribe"}, {**good, "hub.verify_token": TOKEN + "x"},
                {**good, "hub.verify_token": ""}, {k: v for k, v in good.items() if k != "hub.challenge"},
                {**good, "hub.challenge": "<script>alert(1)</script>"}, {**good, "hub.challenge": "9" * 129}, {}):
        assert subscription_challenge(bad, TOKEN) is None, bad
    assert subscription_challenge(None, TOKEN) is None
    assert subscription_challenge(good, "") is None  # an empty stored token matches nothing


# ---- the service on the in-memory store ----

class Hooks:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, parameters: dict[str, str] | None = None,
                 networks: dict[str, Any] | None = None) -> None:
        register(monkeypatch)
        self.clock = builders.FakeClock(NOW)
        self.store = MemoryStore(clock=self.clock)
        self.email, self.sms = builders.Outbox("email"), builders.Outbox("sms")
        config = builders.config(networks=networks or {"hooknet": {
            "base_url": "http://127.0.0.1:9/hooknet", "app_secret_parameter": "/social-listening/hooknet/app-secret",
            "verify_token_parameter": "/social-listening/hooknet/verify-token"},
            "hackernews": {"base_url": "http://127.0.0.1:9/hackernews"}})
        self.pipeline = Pipeline(config, self.store, {}, compile_rules(config.rule_specs(), exclude=config.exclude),
                                 {"email": self.email, "sms": self.sms}, TokenSigner(b"k" * 32), clock=self.clock)
        self.service = WebhookService(config, self.pipeline, builders.secrets(PARAMETERS if parameters is None
                                                                               else parameters))

    def post(self, body: bytes, signature: str | None = "sign", network: str = "hooknet") -> tuple[int, str]:
        headers = {} if signature is None else {"X-Hub-Signature-256": sign(body) if signature == "sign"
                                                else signature}
        answer = self.service.deliver(network, body, headers)
        assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
        return answer.status, answer.body

    def stored(self) -> list[str]:
        return sorted(key for key in ("hooknet#c1", "hooknet#c2", "hooknet#c3") if self.store.get_mention(key))

    def alerted(self) -> list[list[str]]:
        return self.email.keys()


def test_a_signed_delivery_is_stored_and_alerted_in_the_same_call(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    assert hooks.post(delivery(("c1", "Is the bakery open on Sunday?"))) == (200, "ok")
    assert hooks.stored() == ["hooknet#c1"]
    stored = hooks.store.get_mention("hooknet#c1")
    assert stored is not None and stored.item.rule_names[0] == "your Hook Net"  # owned: no search term needed
    assert hooks.alerted() == [["hooknet#c1"]]


def test_repeats_and_out_of_order_deliveries_are_stored_and_alerted_once(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    second, first = delivery(("c2", "Second comment"), time=NOW - 1), delivery(("c1", "First comment"), time=NOW - 9)
    assert hooks.post(second) == (200, "ok")
    assert hooks.post(first) == (200, "ok")  # the earlier event arrives later
    for _ in range(3):  # Meta retries both
        assert hooks.post(first) == (200, "ok") and hooks.post(second) == (200, "ok")
    assert hooks.post(delivery(("c1", "First comment"), ("c2", "Second comment"))) == (200, "ok")  # batched again
    assert hooks.stored() == ["hooknet#c1", "hooknet#c2"]
    assert hooks.alerted() == [["hooknet#c2"], ["hooknet#c1"]]


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "bad"])
def test_an_unsigned_or_forged_delivery_is_401_and_stored_nowhere(monkeypatch: pytest.MonkeyPatch,
                                                                   signature: str | None) -> None:
    hooks = Hooks(monkeypatch)
    assert hooks.post(delivery(("c1", "Forged")), signature) == (401, "bad signature")
    assert hooks.stored() == [] and hooks.alerted() == []
    assert hooks.store.all_health() == {}  # not even counted as a skipped item


def test_the_body_is_logged_never(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    hooks = Hooks(monkeypatch)
    caplog.set_level("DEBUG")
    hooks.post(delivery(("c1", "secret-looking text XYZZY")), "sha256=" + "0" * 64)
    hooks.post(delivery(("c2", "second XYZZY")))
    assert "refused 401" in caplog.text
    assert "XYZZY" not in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"[" * 100_000 + b"]" * 100_000,
                                  json.dumps({"object": "other", "entry": []}).encode(),
                                  json.dumps({"object": "hooknet", "entry": [{"changes": [{"field": "x"}]}]}).encode()])
def test_a_signed_but_unreadable_delivery_is_a_skipped_item_answered_200(monkeypatch: pytest.MonkeyPatch,
                                                                         body: bytes) -> None:
    hooks = Hooks(monkeypatch)
    assert hooks.post(body) == (200, "ok")  # Meta would retry anything else for hours, failing the same way
    assert hooks.stored() == [] and hooks.alerted() == []
    health = hooks.store.all_health()["hooknet"]
    assert health.items_skipped == 1 and health.last_skip


def test_an_oversized_delivery_is_413_before_its_signature_is_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    body = delivery(("c1", "x" * MAX_BODY_BYTES))
    assert hooks.post(body) == (413, "too large")
    assert hooks.stored() == []


def test_unknown_networks_and_networks_without_webhooks_are_404(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    body = delivery(("c1", "Hello"))
    for network in ("nosuch", "hackernews", "HOOKNET", "../hooknet", "__init__", "hooknet/"):
        assert hooks.post(body, network=network) == (404, "not found"), network
        assert hooks.service.verify(network, {"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                              "hub.challenge": "1"}).status == 404
    no_secret = Hooks(monkeypatch, networks={"hooknet": {"base_url": "http://127.0.0.1:9/hooknet"}})
    assert no_secret.post(body) == (404, "not found")  # no app_secret_parameter: webhooks not set up
    assert hooks.stored() == [] and no_secret.stored() == []


def test_an_unreadable_app_secret_is_503_so_meta_retries_later(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch, parameters={})
    assert hooks.post(delivery(("c1", "Hello")), sign(delivery(("c1", "Hello")))) == (503, "unavailable")
    assert hooks.stored() == []
    assert hooks.service.verify("hooknet", {"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                            "hub.challenge": "1"}).status == 403


def test_the_verification_request_answers_the_challenge_as_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    answer = hooks.service.verify("hooknet", {"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                              "hub.challenge": "1158201444"})
    assert (answer.status, answer.body) == (200, "1158201444")
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    wrong = hooks.service.verify("hooknet", {"hub.mode": "subscribe", "hub.verify_token": "guess",
                                             "hub.challenge": "1158201444"})
    assert (wrong.status, wrong.body) == (403, "forbidden")
    assert hooks.store.all_health() == {} and hooks.stored() == []


def test_ingest_runs_the_cycle_steps_for_new_items(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.webhook_net.source import comment_mention

    hooks = Hooks(monkeypatch)
    items = [comment_mention("c1", "Great croissants", "rui", NOW - 60, "555"),
             builders.mention("nothing to see", native_id="7"),  # a searched network's item no rule matches
             builders.mention("Bean There is lovely", native_id="8")]
    report = hooks.pipeline.ingest(items)
    assert (report.new_mentions, report.counted, dict(report.fetched)) == (2, 2, {"hooknet": 1, "hackernews": 2})
    assert sorted(k for b in hooks.alerted() for k in b) == ["hackernews#8", "hooknet#c1"]
    again = hooks.pipeline.ingest(items)
    assert (again.new_mentions, again.deliveries) == (0, [])


def test_a_signature_header_given_twice_under_two_cases_is_trusted_neither_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = Hooks(monkeypatch)
    body = delivery(("c1", "Hello"))
    for headers in ({"x-hub-signature-256": sign(body), "X-Hub-Signature-256": "sha256=" + "0" * 64},
                    {"X-Hub-Signature-256": sign(body), "x-hub-signature-256": sign(body)}):
        assert hooks.service.deliver("hooknet", body, headers).status == 401
    assert hooks.stored() == []
    assert hooks.service.deliver("hooknet", body, {"x-hub-signature-256": sign(body)}).status == 200  # any case


def test_make_secrets_asks_for_the_app_secret_and_the_verify_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.secret_setup import needed_secrets

    hooks = Hooks(monkeypatch)
    fields = [s.field for s in needed_secrets(hooks.service.config)]
    assert "networks.hooknet.app_secret_parameter" in fields
    assert "networks.hooknet.verify_token_parameter" in fields

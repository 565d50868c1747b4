"""The HTTP endpoint of the action links, through Chalice's test client on the local stack."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.runtime import runtime
from chalicelib.store import Store
from chalicelib.web.pages import invalid_link
from offline.replay.server import ReplayServer
from tests.integration.conftest import SIGNING_KEY, make_config

pytestmark = pytest.mark.integration
KEY = "hackernews#4242"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def client(store: Store, replay: ReplayServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    make_config(replay, tmp_path)
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()  # a warm container: built from this test's environment before Chalice patches the stage's
    mention = Mention("hackernews", "4242", "https://news.ycombinator.com/item?id=4242",
                      'Bean There <script>alert("x")</script> & "friends"', dt.datetime.now(dt.UTC),
                      author_name="<img src=x onerror=alert(1)>")
    store.store_new_mentions([MatchedMention(mention, (RuleMatch("brand", "brand", False, ((0, 10),)),))], "job-1", 120)
    with Client(app, stage_name="dev") as test_client:
        yield test_client
    runtime.cache_clear()


def signer(clock: float | None = None) -> TokenSigner:
    return TokenSigner(SIGNING_KEY.encode(), clock=(lambda: clock) if clock else time.time)


def test_get_shows_a_confirmation_and_changes_nothing(client: Client, store: Store) -> None:
    token = signer().sign(KEY, "handled", "Maria")
    response = client.http.get(f"/a/{token}")
    assert response.status_code == 200
    body = response.body.decode()
    assert f'<form method="post" action="/a/{token}">' in body
    assert "Bean There &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;friends&#34;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<script>" not in body
    for _ in range(3):
        client.http.get(f"/a/{token}")
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "new"
    assert store.audit_log(KEY) == []


def test_post_marks_handled_once_and_audits_it(client: Client, store: Store) -> None:
    token = signer().sign(KEY, "handled", "Maria")
    response = client.http.post(f"/a/{token}", headers=FORM, body="")
    assert response.status_code == 200
    assert "<h1>Marked as handled</h1>" in response.body.decode()
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "handled"
    (entry,) = store.audit_log(KEY)
    assert (entry["action"], entry["recipient"], entry["result"]) == ("handled", "Maria", "done")
    again = client.http.post(f"/a/{token}", headers=FORM, body="")
    assert again.status_code == 409
    assert "<h1>This link was already used</h1>" in again.body.decode()
    assert len(store.audit_log(KEY)) == 1


@pytest.mark.parametrize(
    "make_token",
    [
        lambda: TokenSigner(b"another-key-another-key-another-key!").sign(KEY, "handled", "Maria"),
        lambda: signer().sign(KEY, "handled", "Maria")[:-2] + "xx",
        lambda: signer(clock=time.time() - 8 * 86400).sign(KEY, "handled", "Maria"),
        lambda: signer().sign(KEY, "handled", "Mallory"),
        lambda: signer().sign("hackernews#999", "handled", "Maria"),
        lambda: "not-a-token",
    ],
    ids=["forged", "tampered", "expired", "unknown-recipient", "unknown-mention", "garbage"],
)
def test_bad_tokens_get_the_same_403_page_and_change_nothing(client: Client, store: Store, make_token) -> None:
    token = make_token()
    refused = [client.http.get(f"/a/{token}"), client.http.post(f"/a/{token}", headers=FORM, body="")]
    for response in refused:
        assert response.status_code == 403
        assert response.body.decode() == invalid_link().body  # one page for every reason: nothing leaks
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "new"


def test_pages_carry_strict_security_headers(client: Client) -> None:
    response = client.http.get(f"/a/{signer().sign(KEY, 'handled', 'Maria')}")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_short_link_opens_the_same_confirmation(client: Client, store: Store) -> None:
    token = signer().sign(KEY, "handled", "Maria")
    store.put_short_link("Ab3dE5gH", token, int(time.time()) + 60)
    response = client.http.get("/s/Ab3dE5gH")
    assert response.status_code == 200
    assert f'<form method="post" action="/a/{token}">' in response.body.decode()
    assert client.http.get("/s/unknown1").status_code == 403
    assert client.http.get("/s/%3Cscript%3E").status_code == 403


def test_one_click_unsubscribe_stops_alert_emails(client: Client, store: Store) -> None:
    token = signer().sign("recipient:Maria", "unsubscribe", "Maria", ttl_seconds=90 * 86400)
    page = client.http.get(f"/u/{token}")
    assert page.status_code == 200 and "<h1>Stop alert emails?</h1>" in page.body.decode()
    assert store.suppressed() == {}
    for _ in range(2):  # mail clients may POST more than once: still fine
        done = client.http.post(f"/u/{token}", headers=FORM, body="List-Unsubscribe=One-Click")
        assert done.status_code == 200 and "<h1>Unsubscribed</h1>" in done.body.decode()
    assert store.suppressed() == {"maria@beanthere.example": "unsubscribed"}


def test_an_unsubscribe_token_only_unsubscribes_its_own_recipient(client: Client, store: Store) -> None:
    token = signer().sign("recipient:Somebody", "unsubscribe", "Maria")
    assert client.http.post(f"/u/{token}", headers=FORM, body="").status_code == 403
    assert store.suppressed() == {}


def test_a_store_failure_during_the_action_leaves_the_link_usable(client: Client, store: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    token = signer().sign(KEY, "handled", "Maria")
    real = Store.set_mention_state
    failures = iter([ClientError({"Error": {"Code": "InternalServerError", "Message": "boom"}}, "UpdateItem")])

    def flaky(self: Store, key: str, state: str) -> bool:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(self, key, state)

    monkeypatch.setattr(Store, "set_mention_state", flaky)
    assert client.http.post(f"/a/{token}", headers=FORM, body="").status_code == 500
    assert store.audit_log(KEY) == []
    retry = client.http.post(f"/a/{token}", headers=FORM, body="")  # the owner presses again
    assert retry.status_code == 200 and "<h1>Marked as handled</h1>" in retry.body.decode()
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "handled"
    assert [e["result"] for e in store.audit_log(KEY)] == ["done"]
    assert client.http.post(f"/a/{token}", headers=FORM, body="").status_code == 409


def test_concurrent_posts_of_one_link_act_once(client: Client, store: Store) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib.web.service import ActionService

    service: ActionService = runtime().actions
    token = signer().sign(KEY, "not_relevant", "Maria")
    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(lambda _: service.perform(token).status, range(8)))
    assert statuses == [200] + [409] * 7
    assert len(store.audit_log(KEY)) == 1


@pytest.mark.parametrize(("route", "action", "key"), [
    ("u", "handled", KEY), ("u", "reply", KEY), ("u", "assign", KEY), ("u", "digest", "digest:2026-11-27"),
    ("a", "unsubscribe", "recipient:Maria"), ("a", "digest", "digest:2026-11-27"),
    ("d", "handled", KEY), ("d", "unsubscribe", "recipient:Maria"),
])
def test_each_route_takes_only_its_own_token_kinds(client: Client, store: Store, route: str, action: str,
                                                   key: str) -> None:
    token = signer().sign(key, action, "Maria")
    responses = [client.http.get(f"/{route}/{token}")]
    if route != "d":
        responses.append(client.http.post(f"/{route}/{token}", headers=FORM, body=""))
    for response in responses:
        assert response.status_code == 403 and response.body.decode() == invalid_link().body
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "new"
    assert store.suppressed() == {} and store.audit_log(KEY) == []


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "https://other.127.0.0.1"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:8000"},
])
def test_a_post_from_another_sites_page_is_refused(client: Client, store: Store, headers: dict[str, str]) -> None:
    token = signer().sign(KEY, "handled", "Maria")
    refused = client.http.post(f"/a/{token}", headers={**FORM, **headers}, body="")
    assert refused.status_code == 403 and refused.body.decode() == invalid_link().body
    unsubscribe = signer().sign("recipient:Maria", "unsubscribe", "Maria")
    assert client.http.post(f"/u/{unsubscribe}", headers={**FORM, **headers}, body="").status_code == 403
    stored = store.get_mention(KEY)
    assert stored is not None and stored.state == "new"
    assert store.suppressed() == {}


@pytest.mark.parametrize("headers", [
    {}, {"Origin": "http://127.0.0.1:8000"}, {"Sec-Fetch-Site": "same-origin", "Origin": "http://127.0.0.1:8000"},
    {"Sec-Fetch-Site": "none"},
])
def test_a_post_from_the_links_own_page_or_no_browser_page_is_done(client: Client, store: Store,
                                                                   headers: dict[str, str]) -> None:
    token = signer().sign(KEY, "handled", "Maria")
    done = client.http.post(f"/a/{token}", headers={**FORM, **headers}, body="")
    assert done.status_code == 200 and "<h1>Marked as handled</h1>" in done.body.decode()


def test_the_one_click_unsubscribe_post_of_rfc_8058_is_done_from_any_origin(client: Client, store: Store) -> None:
    token = signer().sign("recipient:Maria", "unsubscribe", "Maria", ttl_seconds=90 * 86400)
    cross = {**FORM, "Origin": "https://mail.example", "Sec-Fetch-Site": "cross-site"}
    done = client.http.post(f"/u/{token}", headers=cross, body="List-Unsubscribe=One-Click")
    assert done.status_code == 200 and "<h1>Unsubscribed</h1>" in done.body.decode()
    assert store.suppressed() == {"maria@beanthere.example": "unsubscribed"}

"""The daily digest end to end: poll cycles on the local stack fill the day's counters, the
hourly run sends each recipient one digest at their digest hour, and its web view link opens
the same digest through the HTTP endpoint."""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.config import ListenConfig, parse_config
from chalicelib.links import TokenSigner
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.runtime import Runtime, build, runtime
from chalicelib.store import Store
from chalicelib.web.pages import invalid_link
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import SIGNING_KEY, SIGNING_KEY_PARAMETER

pytestmark = pytest.mark.integration
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")


def digest_config(replay: ReplayServer, tmp_path: Path) -> ListenConfig:
    """The example business with a competitor and an industry rule, and its digest at 08:00 in Lisbon."""
    text = f"""\
business:
  name: Bean There Café
rules:
  - name: brand
    group: brand
    keywords: ["Bean There"]
  - name: Fabrica
    group: competitor
    keywords: ["Fabrica Coffee"]
  - name: espresso
    group: industry
    keywords: ["espresso"]
networks:
  hackernews:
    base_url: {replay.base_url("hackernews")}
    timeout_seconds: 2
recipients:
  - name: Maria
    email: maria@beanthere.example
    timezone: Europe/Lisbon
  - name: Rui
    phone: "+351912345678"
    timezone: Europe/Lisbon
alerts:
  from_address: alerts@beanthere.example
  action_base_url: http://127.0.0.1:8000
  digest_hour: 8
secrets:
  signing_key_parameter: {SIGNING_KEY_PARAMETER}
"""
    path = tmp_path / "listen.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_config(text, str(path))


def wired(config: ListenConfig, store: Store) -> Runtime:
    return build(config, store, signing_key=SIGNING_KEY.encode(), clock=store.clock)


def digest_emails(stack: LocalStack) -> list:
    return [message for message in stack.sent_emails() if str(message["Subject"]).startswith("Daily digest")]


@pytest.fixture
def cycled(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path) -> tuple[ListenConfig, dt.datetime]:
    """One poll cycle has stored five mentions; returns the config and 08:05 of today in Lisbon."""
    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(301, now - 900, "Bean There opened a second café", author="ana", points=12),
        story_hit(302, now - 800, "Fabrica Coffee or Bean There <script>alert(1)</script>: which roastery wins?",
                  author="<b>eve</b>"),
        story_hit(303, now - 700, "Which burr grinder should I buy for espresso at home?", author="joao"),
        comment_hit(304, now - 600, "Is a burr grinder worth it for espresso beginners?", story_id=303,
                    story_title="Which burr grinder should I buy for espresso at home?", author="lia"),
        story_hit(305, now - 500, "Fabrica Coffee opens a new shop", author="rui"),
    ])
    config = digest_config(replay, tmp_path)
    report = wired(config, store).pipeline.run_cycle()
    assert report.new_mentions == 5
    local_today = dt.datetime.now(LISBON).date()
    return config, dt.datetime.combine(local_today, dt.time(8, 5), tzinfo=LISBON)


def test_the_digest_hour_sends_one_digest_with_the_days_numbers(
    stack: LocalStack, store: Store, cycled: tuple[ListenConfig, dt.datetime]
) -> None:
    config, eight = cycled
    assert wired(config, store).digest.run(eight) == [("Maria", "sent")]  # Rui has no email address
    (message,) = digest_emails(stack)
    assert message["Subject"] == f"Daily digest for {eight.day} {eight:%b}: 5 new mentions of Bean There Café, " \
                                 "3 to answer"
    assert message["To"] == "Maria <maria@beanthere.example>"
    text = message.get_body(("plain",)).get_content()
    assert re.search(r"^Web view: http://127\.0\.0\.1:8000/d/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", text, re.M)
    voices = text.split("SHARE OF VOICE\n")[1].split("\n\n")[0].splitlines()  # each voice, then its inbox link
    assert [line for line in voices if not line.startswith(" ")] == [  # the brand group against the competitor rule
        "Bean There Café: 50% (2)", "Fabrica: 50% (2)"]
    assert "* burr · grinder (asked 2 times)\n" in text
    html = message.get_body(("html",)).get_content()
    # A Hacker News title is text, kept whole ("<script>" included) and escaped in the email.
    assert ">Fabrica Coffee or Bean There &lt;script&gt;alert(1)&lt;/script&gt;: which roastery wins?</a>" in html
    assert "<script" not in html
    assert "&lt;b&gt;eve&lt;/b&gt;" in html
    assert '<td width="50%" class="fill" style="background:#2563eb;' in html


def test_the_same_hour_again_sends_nothing_and_another_hour_sends_nothing(
    stack: LocalStack, store: Store, cycled: tuple[ListenConfig, dt.datetime]
) -> None:
    config, eight = cycled
    sender = wired(config, store).digest
    assert sender.run(eight) == [("Maria", "sent")]
    assert wired(config, Store(stack.client("dynamodb"), store.table)).digest.run(eight + dt.timedelta(minutes=30)) \
        == [("Maria", "already sent")]
    assert sender.run(eight + dt.timedelta(hours=1)) == []
    assert sender.run(eight - dt.timedelta(hours=3)) == []
    assert len(digest_emails(stack)) == 1
    (delivery,) = store.deliveries(f"digest-{eight.date().isoformat()}")
    assert (delivery.recipient, delivery.channel, delivery.status) == ("Maria", "digest", "sent")
    assert delivery.message_id


def test_the_web_view_link_opens_the_same_digest_and_a_forged_one_is_refused(
    stack: LocalStack, store: Store, cycled: tuple[ListenConfig, dt.datetime], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config, eight = cycled
    wired(config, store).digest.run(eight)
    (message,) = digest_emails(stack)
    found = re.search(r"^Web view: \S+/d/(\S+)$", message.get_body(("plain",)).get_content(), re.M)
    assert found is not None
    token = found.group(1)
    forged = TokenSigner(b"another-key-another-key-another-key!").sign(f"digest:{eight.date()}", "digest", "Maria")
    mention_token = TokenSigner(SIGNING_KEY.encode()).sign("hackernews#301", "handled", "Maria")
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()  # a warm container, built from this test's environment
    try:
        with Client(app, stage_name="dev") as client:
            page = client.http.get(f"/d/{token}")
            refused = [client.http.get(f"/d/{forged}"), client.http.get(f"/d/{mention_token}"),
                       client.http.get(f"/a/{token}")]  # a digest link performs no action either
    finally:
        runtime.cache_clear()
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none';")
    body = page.body.decode()
    email_html = message.get_body(("html",)).get_content()
    assert body.split("<h1", 1)[1].split("You get this")[0] == email_html.split("<h1", 1)[1].split("You get this")[0]
    assert "View this digest in your browser" not in body and "<script" not in body
    assert [(r.status_code, r.body.decode()) for r in refused] == [(403, invalid_link().body)] * 3

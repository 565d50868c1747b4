"""Replying from an alert: the composer, posting exactly once, manual links, muting an author."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.networks.github.emulator import issue
from chalicelib.networks.hackernews.emulator import comment_hit
from chalicelib.runtime import runtime
from chalicelib.store import Store
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def alerted(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Client, str]]:
    """One poll cycle with a GitHub issue and a Hacker News comment; the chalice test client
    and the alert email's plain text."""
    now = int(time.time())
    stack.client("ssm").put_parameter(Name="/social-listening/test/github-token", Value="ghp_test",
                                      Type="SecureString", Overwrite=True)
    replay.apis["github"].posted.clear()  # type: ignore[attr-defined]
    replay.add_items("github", [issue(5_000_001, 12, "beanthere/shop", now - 60, "Bean There charged me twice",
                                      "Terrible service from Bean There, I want a refund now", login="ines-d")])
    replay.add_items("hackernews", [comment_hit(5_001, now - 30, "Bean There has the best flat white",
                                                story_id=5_000, story_title="x", author="pg")])
    networks = (f"  github:\n    base_url: {replay.base_url('github')}\n"
                "    token_parameter: /social-listening/test/github-token\n")
    config = make_config(replay, tmp_path, networks=networks)
    pipeline_for(config, store, Clock()).run_cycle()
    text = stack.sent_emails()[0].get_body(("plain",)).get_content()
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        yield client, text
    runtime.cache_clear()


def link_after(text: str, label: str, mention_text: str) -> str:
    """The path of the ``label`` link in the email block of the mention whose text is given."""
    block = next(b for b in text.split("-" * 60) if mention_text in b)
    return "/a/" + re.search(rf"{label}: http://127\.0\.0\.1:8000/a/(\S+)", block).group(1)  # type: ignore[union-attr]


def test_a_reply_is_composed_from_a_draft_and_posted_exactly_once(
    alerted: tuple[Client, str], replay: ReplayServer, store: Store
) -> None:
    client, text = alerted
    path = link_after(text, "Reply", "charged me twice")
    page = client.http.get(path).body.decode()
    assert "<h1>Reply</h1>" in page and "At most 65536 characters." in page
    assert re.search(r"<textarea[^>]*>Hi ines-d, we&#39;re sorry to hear this\.", page), page
    key = re.search(r'name="key" value="([A-Za-z0-9_-]+)"', page).group(1)  # type: ignore[union-attr]
    body = f"text=Sorry+about+that%2C+we+are+on+it+%F0%9F%99%8F&key={key}"
    done = client.http.post(path, headers=FORM, body=body)
    assert done.status_code == 200 and "<h1>Reply posted</h1>" in done.body.decode()
    again = client.http.post(path, headers=FORM, body=body)  # the owner pressed the button twice
    assert again.status_code == 200 and "<h1>Reply already posted</h1>" in again.body.decode()
    posted = replay.apis["github"].posted  # type: ignore[attr-defined]
    assert [p["body"] for p in posted] == ["Sorry about that, we are on it 🙏"]
    stored = store.get_mention("github#5000001")
    assert stored is not None and stored.state == "handled"
    (audit,) = store.audit_log("github#5000001")
    assert (audit["action"], audit["recipient"], audit["result"]) == ("reply", "Maria", "posted")


def test_networks_without_a_write_api_get_the_draft_and_a_link_to_the_thread(alerted: tuple[Client, str]) -> None:
    client, text = alerted
    page = client.http.get(link_after(text, "Reply", "best flat white")).body.decode()
    assert "This network has no API for replies: copy the draft and reply there." in page
    assert '<a href="https://news.ycombinator.com/reply?id=5001" rel="noopener noreferrer">' in page
    assert "<textarea" not in page


def test_mute_author_from_the_email(alerted: tuple[Client, str], store: Store) -> None:
    client, text = alerted
    path = link_after(text, "Mute this author", "best flat white")
    assert "<h1>Mute this author?</h1>" in client.http.get(path).body.decode()
    done = client.http.post(path, headers=FORM, body="").body.decode()
    assert "<h1>Author muted</h1>" in done
    assert store.muted_authors() == ["hackernews:pg"]


def test_a_snoozed_mention_alerts_again_once_when_the_day_is_over(
    alerted: tuple[Client, str], stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path
) -> None:
    client, text = alerted
    path = link_after(text, "Snooze", "best flat white")
    assert "<h1>Snoozed for 1 day</h1>" in client.http.post(path, headers=FORM, body="").body.decode()
    stored = store.get_mention("hackernews#5001")
    assert stored is not None and stored.state == "snoozed"
    config = runtime().config
    clock = Clock()
    pipeline = pipeline_for(config, Store(stack.client("dynamodb"), store.table), clock)
    assert pipeline.run_cycle().snoozes_ended == 0  # not yet
    emails_before = len(stack.sent_emails())
    clock.offset += 86400 + 60
    report = pipeline.run_cycle()
    assert report.snoozes_ended == 1
    again = stack.sent_emails()[emails_before:]
    assert len(again) == 1 and "best flat white" in again[0].get_body(("plain",)).get_content()
    stored = store.get_mention("hackernews#5001")
    assert stored is not None and stored.state == "new"
    assert pipeline.run_cycle().snoozes_ended == 0 and len(stack.sent_emails()) == emails_before + 1


def snoozed_until(stack: LocalStack, store: Store, key: str) -> int:
    item = stack.client("dynamodb").get_item(TableName=store.table, Key={"pk": {"S": f"M#{key}"}, "sk": {"S": "M"}},
                                             ConsistentRead=True)["Item"]
    return int(item["snoozed_until"]["N"])


def test_the_snooze_page_offers_an_hour_a_day_or_a_week_with_a_day_chosen(alerted: tuple[Client, str]) -> None:
    client, text = alerted
    page = client.http.get(link_after(text, "Snooze", "best flat white")).body.decode()
    radios = re.findall(r'<input type="radio" name="for" value="(\w+)"( checked)?>', page)
    assert radios == [("1h", ""), ("1d", " checked"), ("1w", "")]
    assert "<h1>Snooze this mention?</h1>" in page


@pytest.mark.parametrize(("form", "title", "seconds"), [
    ("for=1h", "Snoozed for 1 hour", 3600),
    ("for=1w", "Snoozed for 1 week", 7 * 86400),
    ("for=1d", "Snoozed for 1 day", 86400),
    ("for=99y", "Snoozed for 1 day", 86400),  # anything else: the default, never an error that loses the click
])
def test_a_snooze_lasts_the_period_chosen_on_the_page(
    alerted: tuple[Client, str], stack: LocalStack, store: Store, form: str, title: str, seconds: int
) -> None:
    client, text = alerted
    before = int(time.time())
    page = client.http.post(link_after(text, "Snooze", "best flat white"), headers=FORM, body=form).body.decode()
    assert f"<h1>{title}</h1>" in page
    until = snoozed_until(stack, store, "hackernews#5001")
    assert before + seconds <= until <= int(time.time()) + seconds
    assert store.audit_log("hackernews#5001")[0]["result"] == f"done: {title.removeprefix('Snoozed for ')}"


def test_a_reply_link_posts_one_reply_and_no_other(alerted: tuple[Client, str], replay: ReplayServer) -> None:
    client, text = alerted
    path = link_after(text, "Reply", "charged me twice")
    keys = [re.search(r'name="key" value="([A-Za-z0-9_-]+)"', client.http.get(path).body.decode()).group(1)  # type: ignore[union-attr]
            for _ in range(2)]  # the composer opened twice (or by someone holding a leaked alert)
    first = client.http.post(path, headers=FORM, body=f"text=First&key={keys[0]}")
    assert first.status_code == 200 and "<h1>Reply posted</h1>" in first.body.decode()
    for n in range(4):  # other replies through the same link: none is posted
        other = client.http.post(path, headers=FORM, body=f"text=Another+{n}&key={keys[1]}")
        assert other.status_code == 409 and "A Reply link posts one reply." in other.body.decode()
    assert client.http.get(path).status_code == 409  # the composer is not offered again
    retry = client.http.post(path, headers=FORM, body=f"text=First&key={keys[0]}")  # the first, sent again
    assert retry.status_code == 200 and "<h1>Reply already posted</h1>" in retry.body.decode()
    assert [p["body"] for p in replay.apis["github"].posted] == ["First"]  # type: ignore[attr-defined]


def test_the_alert_email_says_what_its_links_can_do(alerted: tuple[Client, str]) -> None:
    _, text = alerted
    assert ("Anyone holding this email can use its links: each works once and expires in 7 days; "
            "a Reply link posts one reply as Bean There Café. Do not forward it.") in text

"""Two more actions from the alert email, on the local stack: mute the thread (the next
cycle alerts nothing from that conversation) and assign to another recipient (who gets one
email with links of their own). Every action is audited."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from chalice.test import Client

from app import app
from chalicelib.networks.hackernews.emulator import comment_hit, story_hit
from chalicelib.runtime import runtime
from chalicelib.store import Store
from chalicelib.web.pages import invalid_link
from offline.replay.server import ReplayServer
from offline.stack import LocalStack
from tests.integration.conftest import make_config
from tests.integration.test_pipeline import Clock, pipeline_for
from tests.integration.test_reply_actions import link_after

pytestmark = pytest.mark.integration
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEAM = """\
  - name: Ana
    email: ana@beanthere.example
    timezone: Europe/Lisbon
  - name: Rui
    phone: "+351965550100"
"""


@dataclass
class Alerted:
    client: Client
    email_text: str
    clock: Clock


@pytest.fixture
def alerted(stack: LocalStack, store: Store, replay: ReplayServer, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Alerted]:
    """One cycle alerting a Hacker News story and a comment on it to Maria (Ana and Rui are
    recipients too; Rui has no email address); the chalice test client; Maria's email text."""
    now = int(time.time())
    replay.add_items("hackernews", [
        story_hit(900, now - 120, "Bean There opens a roastery downtown", author="ana_b", points=40),
        comment_hit(901, now - 60, "Bean There has the best flat white in town", story_id=900,
                    story_title="Bean There opens a roastery downtown", author="pg"),
    ])
    config = make_config(replay, tmp_path, recipient=TEAM)
    clock = Clock()
    pipeline_for(config, store, clock).run_cycle()
    email = next(e for e in stack.sent_emails() if e["To"] == "Maria <maria@beanthere.example>")
    monkeypatch.setenv("LISTEN_CONFIG", str(tmp_path / "listen.yaml"))
    runtime.cache_clear()
    runtime()
    with Client(app, stage_name="dev") as client:
        yield Alerted(client, email.get_body(("plain",)).get_content(), clock)
    runtime.cache_clear()


def payload(path: str) -> dict[str, object]:
    """The signed payload of an action link's token (readable by anyone; only the signature is secret)."""
    body = path.rpartition("/")[2].partition(".")[0]
    data: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return data


def link_in(text: str, label: str) -> str:
    """The path of the one ``label`` link of an email about one mention."""
    (token,) = re.findall(rf"^{label}: http://127\.0\.0\.1:8000/a/(\S+)$", text, flags=re.MULTILINE)
    return f"/a/{token}"


def test_the_alert_email_links_mute_thread_and_assign(alerted: Alerted) -> None:
    block = next(b for b in alerted.email_text.split("-" * 60) if "best flat white" in b)
    labels = re.findall(r"^([A-Z][A-Za-z 1]+): http://127\.0\.0\.1:8000/a/", block, flags=re.MULTILINE)
    assert labels == ["Reply", "Mark as handled", "Snooze", "Mute this author", "Mute thread", "Assign",
                      "Not relevant", "Wrong label"]


def test_mute_thread_stops_alerts_from_that_conversation_in_the_next_cycle(
    alerted: Alerted, stack: LocalStack, store: Store, replay: ReplayServer
) -> None:
    path = link_after(alerted.email_text, "Mute thread", "best flat white")
    page = alerted.client.http.get(path).body.decode()
    assert "<h1>Mute this thread?</h1>" in page and store.muted() == ([], [])
    done = alerted.client.http.post(path, headers=FORM, body="")
    assert done.status_code == 200 and "<h1>Thread muted</h1>" in done.body.decode()
    assert store.muted() == ([], ["hackernews:900"]) and store.muted_threads() == ["hackernews:900"]
    (audit,) = store.audit_log("hackernews#901")
    assert (audit["action"], audit["recipient"], audit["result"]) == ("mute_thread", "Maria", "done")

    now = int(time.time())
    replay.add_items("hackernews", [
        comment_hit(902, now - 20, "Bean There roastery smells amazing", story_id=900,
                    story_title="Bean There opens a roastery downtown", author="someone"),
        comment_hit(903, now - 10, "Bean There beans arrived today, lovely", story_id=950,
                    story_title="Coffee subscriptions", author="other"),
    ])
    alerted.clock.offset += 600
    emails_before = len(stack.sent_emails())
    report = pipeline_for(runtime().config, Store(stack.client("dynamodb"), store.table), alerted.clock).run_cycle()
    assert (report.new_mentions, report.muted) == (2, 1)
    texts = [e.get_body(("plain",)).get_content() for e in stack.sent_emails()[emails_before:]]
    assert len(texts) == 2  # Maria and Ana
    assert all("beans arrived today" in text and "roastery smells" not in text for text in texts)


def test_a_comment_without_a_known_conversation_has_nothing_to_mute(alerted: Alerted, store: Store) -> None:
    import datetime as dt

    from chalicelib.links import TokenSigner
    from chalicelib.model import MatchedMention, Mention, RuleMatch
    from tests.integration.conftest import SIGNING_KEY

    orphan = Mention("hackernews", "4444", "https://news.ycombinator.com/item?id=4444", "Bean There, hm",
                     dt.datetime.now(dt.UTC), kind="comment", author_handle="x")
    store.store_new_mentions([MatchedMention(orphan, (RuleMatch("brand", "brand", False),))], "job-o", 120)
    token = TokenSigner(SIGNING_KEY.encode()).sign("hackernews#4444", "mute_thread", "Maria")
    page = alerted.client.http.get(f"/a/{token}").body.decode()
    assert "<h1>Nothing to mute</h1>" in page and "<button" not in page
    done = alerted.client.http.post(f"/a/{token}", headers=FORM, body="").body.decode()
    assert "<h1>Nothing to mute</h1>" in done and store.muted() == ([], [])
    (audit,) = store.audit_log("hackernews#4444")
    assert (audit["action"], audit["result"]) == ("mute_thread", "nothing to mute")


def test_assign_offers_the_other_recipients_with_email_by_name_only(alerted: Alerted) -> None:
    path = link_after(alerted.email_text, "Assign", "best flat white")
    page = alerted.client.http.get(path).body.decode()
    assert "<h1>Assign this mention?</h1>" in page
    assert re.findall(r'<input type="radio" name="to" value="([^"]*)"', page) == ["Ana"]  # not Maria, not Rui
    assert "ana@beanthere.example" not in page


def test_assign_sends_one_email_to_the_assignee_with_links_of_their_own(
    alerted: Alerted, stack: LocalStack, store: Store
) -> None:
    path = link_after(alerted.email_text, "Assign", "best flat white")
    emails_before = len(stack.sent_emails())
    done = alerted.client.http.post(path, headers=FORM, body="to=Ana")
    assert done.status_code == 200
    assert "<h1>Assigned to Ana</h1>" in done.body.decode()
    again = alerted.client.http.post(path, headers=FORM, body="to=Ana")  # a double press, a retried request
    assert again.status_code == 409
    (email,) = stack.sent_emails()[emails_before:]
    assert email["To"] == "Ana <ana@beanthere.example>"
    assert email["Subject"] == "Maria assigned you a mention on Hacker News: Bean There has the best flat white in town"
    assert email["Reply-To"] == "maria@beanthere.example"
    text = email.get_body(("plain",)).get_content()
    assert "Maria assigned this mention to you." in text and "best flat white" in text
    stored = store.get_mention("hackernews#901")
    assert stored is not None and stored.state == "new" and store.assigned_to("hackernews#901") == "Ana"
    nonce = payload(path)["n"]
    (delivery,) = store.deliveries(f"assign-{nonce}")
    assert (delivery.recipient, delivery.channel, delivery.status) == ("Ana", "email", "sent")
    (audit,) = store.audit_log("hackernews#901")
    assert (audit["action"], audit["recipient"], audit["result"]) == ("assign", "Maria", "assigned to Ana; emailed")

    handled = link_in(text, "Mark as handled")
    assert payload(handled)["r"] == "Ana"
    forged = dict(payload(handled), r="Maria")  # Ana's link made out to Maria: the signature no longer matches
    body = base64.urlsafe_b64encode(json.dumps(forged, separators=(",", ":")).encode()).rstrip(b"=").decode()
    forged_path = f"/a/{body}.{handled.rpartition('.')[2]}"
    refused = alerted.client.http.post(forged_path, headers=FORM, body="")
    assert refused.status_code == 403 and refused.body.decode() == invalid_link().body
    assert alerted.client.http.post(handled, headers=FORM, body="").status_code == 200
    assert [(a["action"], a["recipient"]) for a in store.audit_log("hackernews#901")] == [
        ("assign", "Maria"), ("handled", "Ana")]
    reassign = alerted.client.http.get(link_in(text, "Assign")).body.decode()
    assert re.findall(r'<input type="radio" name="to" value="([^"]*)"', reassign) == ["Maria"]


@pytest.mark.parametrize("form", ["to=Maria", "to=Rui", "to=Nobody", "to=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                                  "", "to=Ana&to=Ana"],
                         ids=["self", "no-email", "unknown", "markup", "empty", "twice"])
def test_assigning_to_anyone_not_offered_is_refused_and_keeps_the_link(
    alerted: Alerted, stack: LocalStack, store: Store, form: str
) -> None:
    path = link_after(alerted.email_text, "Assign", "best flat white")
    emails_before = len(stack.sent_emails())
    refused = alerted.client.http.post(path, headers=FORM, body=form)
    page = refused.body.decode()
    assert refused.status_code == 400
    assert "<h1>Not assigned</h1>" in page and "Choose one of: Ana." in page
    assert "<script>" not in page and "Nobody" not in page
    assert store.assigned_to("hackernews#901") is None and store.audit_log("hackernews#901") == []
    assert len(stack.sent_emails()) == emails_before
    assert alerted.client.http.post(path, headers=FORM, body="to=Ana").status_code == 200  # the link still works


@pytest.mark.parametrize(("label", "action", "result"), [
    ("Mark as handled", "handled", "done"),
    ("Snooze", "snooze", "done: 1 day"),
    ("Mute this author", "mute_author", "done"),
    ("Mute thread", "mute_thread", "done"),
    ("Not relevant", "not_relevant", "done"),
])
def test_every_action_of_the_email_is_audited_with_who_what_when_and_result(
    alerted: Alerted, store: Store, label: str, action: str, result: str
) -> None:
    import datetime as dt

    before = dt.datetime.now(dt.UTC)
    path = link_after(alerted.email_text, label, "best flat white")
    assert alerted.client.http.post(path, headers=FORM, body="").status_code == 200
    (audit,) = store.audit_log("hackernews#901")
    assert (audit["action"], audit["recipient"], audit["result"]) == (action, "Maria", result)
    assert before - dt.timedelta(seconds=1) <= dt.datetime.fromisoformat(audit["at"]) <= dt.datetime.now(dt.UTC)

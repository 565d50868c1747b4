"""The digest's "Held back as likely not relevant — tell me if that's wrong" section: the mentions
the owner-feedback model still holds back, each with its reason (escaped) and a "That's wrong"
link that puts it back with the new mentions and teaches the model it is relevant."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from markupsafe import escape

from chalicelib.actions.unhold import ALERTED, release_time, unhold
from chalicelib.digest import HELD_HEADING, Held, build_digest
from chalicelib.links import TokenSigner
from chalicelib.model import DigestDay
from chalicelib.triage.feedback import load_model
from chalicelib.web.service import ActionService
from tests.unit.actions.fakes import CONFIG as ACTION_CONFIG
from tests.unit.actions.fakes import KEY, recipient, recording, stored_mention
from tests.unit.test_digest import CONFIG as DIGEST_CONFIG
from tests.unit.test_digest import NOW, SIGNING_KEY, FakeMailer, sender, stored
from tests.unit.test_digest import FakeStore as DigestStore

REASON = 'held back as likely not relevant (like mentions you marked not relevant: "<b>the</b>" before the name)'


def store_with_held() -> DigestStore:
    held = stored("h1", "Fog over the <b>bean there</b> harbor", state="held", priority=20)
    higher = stored("h2", "bean there seal", state="held", priority=40)
    released = stored("h3", "bean there again", state="new")  # the owner said "That's wrong" already
    store = DigestStore(mentions=[held, higher, released])
    store.held = {"2026-11-26": {held.key: REASON}, "2026-11-27": {higher.key: "held back (x)",
                                                                    released.key: "held back (y)"}}
    return store


def test_the_digest_lists_the_still_held_mentions_of_its_days_highest_priority_first() -> None:
    digest = build_digest(DIGEST_CONFIG, store_with_held(), now=NOW, timezone="Europe/Lisbon")
    assert [(h.mention.key, h.reason, h.link) for h in digest.held] == [
        ("hackernews#h2", "held back (x)", ""), ("hackernews#h1", REASON, "")]
    assert digest.held_total == 2
    empty = build_digest(DIGEST_CONFIG, DigestStore(), now=NOW, timezone="Europe/Lisbon")
    assert (empty.held, empty.held_total) == ((), 0)


def test_the_digest_email_lists_them_with_the_reason_escaped_and_a_that_s_wrong_link_per_recipient() -> None:
    store, mailer = store_with_held(), FakeMailer()
    assert sender(store, mailer).run(NOW) == [("Maria", "sent")]
    message = mailer.sent[0][0]
    page = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert str(escape(HELD_HEADING)) in page and HELD_HEADING.upper() in text
    assert "&lt;b&gt;the&lt;/b&gt;" in page and "<b>the</b>" not in page  # the reason is the mention's words
    assert REASON in text
    signer = TokenSigner(SIGNING_KEY, clock=NOW.timestamp)
    links = [line.split("That's wrong: ", 1)[1] for line in text.splitlines() if "That's wrong: " in line]
    assert len(links) == 2
    tokens = [signer.verify(link.removeprefix("https://listen.example/api/a/")) for link in links]
    assert [(t.mention_key, t.action, t.recipient) for t in tokens] == [
        ("hackernews#h2", "unhold", "Maria"), ("hackernews#h1", "unhold", "Maria")]
    assert page.count(">That's wrong</a>") == 2


def test_a_digest_with_nothing_held_has_no_such_section() -> None:
    mailer = FakeMailer()
    sender(DigestStore(), mailer).run(NOW)
    assert "HELD BACK" not in mailer.sent[0][0].get_body(("plain",)).get_content()


def test_that_s_wrong_puts_the_mention_back_with_the_new_ones_and_teaches_relevant() -> None:
    held = stored_mention(state="held")
    store = recording(held)
    outcome = unhold(held, recipient("Rui"), store=store)
    assert (outcome.status, store.writes) == ("done", [("snooze", held.key, release_time(held))])
    assert release_time(held) == int(dt.datetime.fromisoformat(held.stored_at).timestamp())  # the same every click
    assert load_model(store).clicks == {"relevant": 1, "not_relevant": 0}
    again = unhold(replace(held, state="handled"), recipient("Rui"), store=store)
    assert (again.status, again.said, len(store.writes)) == ("nothing", "not held: handled", 1)


def test_the_that_s_wrong_link_asks_first_then_acts_once() -> None:
    held = stored_mention(state="held")
    store = recording(held)
    signer = TokenSigner(KEY, clock=store.clock)
    service = ActionService(ACTION_CONFIG, store, signer)  # type: ignore[arg-type]
    token = signer.sign(held.key, "unhold", "Maria")
    asked = service.confirm_page(token, f"/a/{token}")
    assert asked.status == 200 and "Not held back after all?" in asked.body and store.writes == []
    done = service.perform(token)
    assert done.status == 200 and "Back with your new mentions" in done.body and ALERTED in done.body
    assert store.writes == [("snooze", held.key, release_time(held))]
    assert [a[:3] for a in store.of("audit")] == [(held.key, "unhold", "Maria")]


def test_held_is_a_plain_record() -> None:
    assert Held(stored("x", "y"), "why").link == ""


def test_a_held_opportunity_is_listed_as_held_not_among_the_opportunities() -> None:
    held = stored("h1", "bean there refund?", state="held", intents=["question"])
    open_one = stored("o1", "bean there refund please", intents=["complaint"])
    store = DigestStore([DigestDay("2026-11-27", {"total": {"all": 2}}, opportunities=[held.key, open_one.key])],
                        [held, open_one])
    store.held = {"2026-11-27": {held.key: "held back (x)"}}
    digest = build_digest(DIGEST_CONFIG, store, now=NOW, timezone="Europe/Lisbon")
    assert ([m.key for m in digest.opportunities], digest.open_opportunities) == (["hackernews#o1"], 1)
    assert [h.mention.key for h in digest.held] == ["hackernews#h1"]


def test_the_web_view_lists_them_with_that_s_wrong_links_signed_for_the_views_recipient() -> None:
    signer = TokenSigner(SIGNING_KEY, clock=NOW.timestamp)
    service = ActionService(DIGEST_CONFIG, store_with_held(), signer)  # type: ignore[arg-type]
    page = service.digest_page(signer.sign("digest:2026-11-27", "digest", "Ken"))
    assert page.status == 200 and str(escape(HELD_HEADING)) in page.body
    links = re.findall(r'<a href="https://listen\.example/api/a/([^"]+)"[^>]*>That\'s wrong</a>', page.body)
    assert [(t.mention_key, t.action, t.recipient) for t in map(signer.verify, links)] == [
        ("hackernews#h2", "unhold", "Ken"), ("hackernews#h1", "unhold", "Ken")]

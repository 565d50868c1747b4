"""Every mention reachable: an alert email that shows some of its mentions links to the inbox
filtered to exactly all of them (a cycle on the in-memory store, the email composed as sent)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from chalicelib.alerts.email import compose
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, RuleMatch
from chalicelib.pipeline import Pipeline
from chalicelib.rules import compile_rules
from chalicelib.store.memory import MemoryStore
from chalicelib.web.inbox import InboxPages, Viewed, decode_key
from tests import builders
from tests.builders import Outbox
from tests.unit.test_run_cycle import Feed, items

BASE = "https://listen.beanthere.example"
CONFIG = builders.config(rules=[{"name": "brand", "group": "brand", "keywords": ["Bean There"]}],
                         alerts={**builders.CONFIG["alerts"], "action_base_url": BASE})


def test_an_alert_of_45_mentions_links_to_the_inbox_listing_all_45() -> None:
    clock = builders.FakeClock()
    store = MemoryStore(clock=clock)
    email = Outbox("email")
    rules = compile_rules(CONFIG.rule_specs(), exclude=CONFIG.exclude)
    signer = TokenSigner(b"k" * 32, clock=clock)
    Pipeline(CONFIG, store, {"hackernews": Feed(items(*map(str, range(45))))}, rules,  # type: ignore[arg-type]
             {"email": email, "sms": Outbox("sms")}, signer, clock=clock).run_cycle()
    (alert,) = email.sent
    assert alert.total == 45 and len(alert.items) == CONFIG.alerts.max_mentions_per_email < 45
    message = compose(alert, business="Bean There Café", from_address=CONFIG.alerts.from_address, reply_to=None)
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(rf"See all 45 in the inbox: ({re.escape(BASE)}/in/\?job=[0-9a-f]+)$", text, re.M)
    assert f'<a href="{link}" style="color:#2563eb;">See all 45 in the inbox</a>' in \
        message.get_body(("html",)).get_content()
    page = InboxPages(CONFIG, store, signer, clock).list_page(Viewed("Maria", "c"),
                                                              dict(parse_qsl(urlsplit(link).query)))
    listed = [decode_key(v) for v in re.findall(r'name="m" value="([^"]+)"', page.body)]
    assert sorted(listed) == sorted(f"hackernews#{n}" for n in range(45))  # type: ignore[type-var]


def test_an_alert_that_shows_every_mention_has_no_inbox_line() -> None:
    clock = builders.FakeClock()
    store = MemoryStore(clock=clock)
    email = Outbox("email")
    rules = compile_rules(CONFIG.rule_specs(), exclude=CONFIG.exclude)
    Pipeline(CONFIG, store, {"hackernews": Feed(items("1", "2"))}, rules,  # type: ignore[arg-type]
             {"email": email, "sms": Outbox("sms")}, TokenSigner(b"k" * 32), clock=clock).run_cycle()
    (alert,) = email.sent
    text = compose(alert, business="B", from_address=CONFIG.alerts.from_address, reply_to=None).as_string()
    assert "in the inbox" not in text


def test_an_sms_of_three_mentions_opens_a_page_listing_all_three_with_their_actions() -> None:
    clock = builders.FakeClock()
    store = MemoryStore(clock=clock)
    sms = Outbox("sms")
    urgent = builders.config(rules=[{"name": "brand", "group": "brand", "keywords": ["Bean There"], "urgent": True}],
                             alerts={**builders.CONFIG["alerts"], "action_base_url": BASE})
    rules = compile_rules(urgent.rule_specs(), exclude=urgent.exclude)
    signer = TokenSigner(b"k" * 32, clock=clock)
    Pipeline(urgent, store, {"hackernews": Feed(items("1", "2", "3"))}, rules,  # type: ignore[arg-type]
             {"email": Outbox("email"), "sms": sms}, signer, clock=clock).run_cycle()
    (alert,) = sms.sent
    assert alert.total == 3 and len(alert.items) == 1
    token = store.get_short_link(alert.short_link.rsplit("/", 1)[1])
    assert token is not None
    page = InboxPages(urgent, store, signer, clock).alert_list_page(token)
    assert page is not None and page.status == 200
    assert [t for t in re.findall(r"Bean There story (\d)", page.body)] == ["1", "2", "3"]
    actions = [(t.mention_key, t.action, t.recipient) for t in
               map(signer.verify, re.findall(r'href="/a/([^"]+)"', page.body))]
    assert sorted({a[0] for a in actions}) == ["hackernews#1", "hackernews#2", "hackernews#3"]
    assert {a[2] for a in actions} == {"Maria"}
    assert [a[1] for a in actions if a[0] == "hackernews#2"] == [
        "reply", "handled", "snooze", "mute_author", "mute_thread", "not_relevant", "wrong_label"]


def test_a_short_link_of_one_mention_or_a_bad_token_is_left_to_the_confirmation_page() -> None:
    clock = builders.FakeClock()
    store = MemoryStore(clock=clock)
    signer = TokenSigner(b"k" * 32, clock=clock)
    pages = InboxPages(CONFIG, store, signer, clock)
    store.store_new_mentions([MatchedMention(builders.mention(native_id="1"), (RuleMatch("brand", "brand", True),))],
                             "job-1", 60)
    store.claim_delivery("job-1", "Maria", "sms", ["hackernews#1"])
    assert pages.alert_list_page(signer.sign("hackernews#1", "handled", "Maria")) is None  # one mention
    store.claim_delivery("job-1", "Maria", "email", ["hackernews#1", "hackernews#2"])
    assert pages.alert_list_page(signer.sign("hackernews#1", "handled", "Maria")) is None  # an email, not an SMS
    assert pages.alert_list_page(signer.sign("hackernews#1", "snooze", "Maria")) is None  # not a short link's
    assert pages.alert_list_page(signer.sign("hackernews#1", "handled", "Nobody")) is None
    assert pages.alert_list_page("forged.token") is None

"""Every mention reachable: an alert email that shows some of its mentions links to the inbox
filtered to exactly all of them (a cycle on the in-memory store, the email composed as sent)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from chalicelib.alerts.email import compose
from chalicelib.links import TokenSigner
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

"""What a stranger who can post on a network can try through the alerts (issue 14): headers
of the assignment email, the SMS text, the SMS commands. The attack suite proper is
tests/integration/test_attacks.py."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from bench.attacks import CONFIG_TEXT
from chalicelib.actions.assign import assignment_email
from chalicelib.alerts.email import EmailChannel, message_bytes
from chalicelib.config import parse_config
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.store.memory import MemoryStore
from chalicelib.web.service import ActionService
from tests.unit.test_email import INJECTED, encoded_words

CONFIG = parse_config(CONFIG_TEXT, "listen.yaml")  # Maria and Ana, both with email; the attack suite's
WHEN = dt.datetime(2026, 11, 27, 14, 30, tzinfo=dt.UTC)


def stored(title: str, text: str = "Bean There is fine") -> StoredMention:
    mention = Mention("hackernews", "7", "https://news.ycombinator.com/item?id=7", text, WHEN, title=title,
                      author_name="ana", author_handle="ana")
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", False, ((0, 10),)),)), "new", "now")


@pytest.mark.parametrize("encoding", ["B", "Q"])
def test_an_encoded_word_in_a_title_adds_no_header_to_the_assignment_email(encoding: str) -> None:
    mailer = EmailChannel(None, business="Bean There Café", from_address="alerts@beanthere.example")
    maria, ana = CONFIG.recipient("Maria"), CONFIG.recipient("Ana")
    assert maria is not None and ana is not None
    message = assignment_email(stored(f"Bean There {encoded_words(INJECTED)[encoding]}"), maria, ana, config=CONFIG,
                               signer=TokenSigner(b"k" * 32), mailer=mailer)
    received = email.message_from_bytes(message_bytes(message), policy=email.policy.default)
    assert [name.lower() for name in received.keys()] == [
        "subject", "from", "to", "reply-to", "message-id", "date", "mime-version", "content-type"]
    assert received["Subject"].startswith(
        f"Maria assigned you a mention on Hacker News: Bean There = ?UTF-8?{encoding}?")
    assert received["Reply-To"] == "maria@beanthere.example"
    assert received["To"] == "Ana <ana@beanthere.example>"


class ReadCounter(MemoryStore):
    """The store's in-memory twin, with no mention, counting the mention reads a check makes."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def get_mention(self, key: str) -> StoredMention | None:
        self.reads.append(key)
        return super().get_mention(key)


def test_every_refusal_takes_the_same_path_one_read() -> None:
    from chalicelib.web.pages import invalid_link

    signer = TokenSigner(b"k" * 32)
    good = signer.sign("hackernews#404", "handled", "Maria")
    tokens = {
        "bad signature": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "another key": TokenSigner(b"x" * 32).sign("hackernews#404", "handled", "Maria"),
        "garbage": "not-a-token",
        "missing mention": good,
        "unknown recipient": signer.sign("hackernews#404", "handled", "Mallory"),
        "wrong route": signer.sign("recipient:Maria", "unsubscribe", "Maria"),
        "unknown rule": signer.sign("rule:nope", "raise_cap", "Maria"),
    }
    for why, token in tokens.items():
        store = ReadCounter()
        service = ActionService(CONFIG, store, signer)  # type: ignore[arg-type]
        assert service.confirm_page(token, "/a/x").body == invalid_link().body, why
        assert len(store.reads) == 1, why


def test_a_health_notice_quoting_a_network_error_carries_no_control_character() -> None:
    from chalicelib.alerts.notices import compose_health_notice

    notice = compose_health_notice(business="Bean There Café", from_address="alerts@beanthere.example", to_name="Maria",
                                   to_address="maria@beanthere.example", network="hackernews", down=True,
                                   error="HTTP 500: \x1b[2J\u202eboom\x9b", failures=3)
    body = notice.get_content()
    assert "HTTP 500: [2J boom" in body and not any(c in body for c in "\x1b\u202e\x9b")


def test_no_exclusion_is_suggested_whose_link_would_not_work() -> None:
    from chalicelib.actions.not_relevant import EXCLUSION_TERM_MAX_CHARS

    signer = TokenSigner(b"k" * 32)

    no_week = MemoryStore(clock=lambda: 2_000_000_000.0)  # no other mention of the rule this week
    service = ActionService(CONFIG, store=no_week, signer=signer)  # type: ignore[arg-type]
    long_word = "W" * 100_000
    forms = service._suggestions(stored("Bean There", f"Bean There {long_word} espresso tonic"), "Maria", "")
    assert forms and all(len(action) < 2048 for _, action in forms)
    assert all(len(label) < EXCLUSION_TERM_MAX_CHARS + 100 for label, _ in forms)  # the term, the rule, the count
    assert all(signer.verify(action.removeprefix("/a/")).action == "exclude" for _, action in forms)

"""Two-way SMS commands: the text a recipient sends back, the SNS message it arrives in,
and what handling it does (with a fake store, no AWS)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.actions.reply import reply_text
from chalicelib.alerts.sms import gsm7_length
from chalicelib.config import parse_config
from chalicelib.links import TokenSigner
from chalicelib.model import MatchedMention, Mention, RuleMatch, StoredMention
from chalicelib.sms_commands import (
    HELP_TEXT,
    Carrier,
    Command,
    Help,
    InboundSms,
    Invalid,
    Mute,
    Ok,
    Outcome,
    Reply,
    Snooze,
    handle,
    inbound,
    parse,
)
from tests.builders import FakeClock

CODE = "Ab3dE5gH"

# --- parse --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "command"), [
    ("OK Ab3dE5gH", Ok("Ab3dE5gH")),
    ("ok ab3de5gh", Ok("ab3de5gh")),
    ("  Ok    -x_9Zz0q  ", Ok("-x_9Zz0q")),
    ("SNOOZE Ab3dE5gH 2h", Snooze("Ab3dE5gH", 2, "h")),
    ("snooze Ab3dE5gH 3D", Snooze("Ab3dE5gH", 3, "d")),
    ("Snooze  Ab3dE5gH   1 w", Snooze("Ab3dE5gH", 1, "w")),
    ("SNOOZE Ab3dE5gH 1h", Snooze("Ab3dE5gH", 1, "h")),
    ("SNOOZE Ab3dE5gH 4w", Snooze("Ab3dE5gH", 4, "w")),
    ("SNOOZE Ab3dE5gH 672h", Snooze("Ab3dE5gH", 672, "h")),
    ("SNOOZE Ab3dE5gH 28d", Snooze("Ab3dE5gH", 28, "d")),
    ("MUTE Ab3dE5gH", Mute("Ab3dE5gH")),
    ("mute\tAb3dE5gH\n", Mute("Ab3dE5gH")),
    ("REPLY Ab3dE5gH Thanks, we're on it!", Reply("Ab3dE5gH", "Thanks, we're on it!")),
    ("reply Ab3dE5gH   Sorry  about that.\nDM us?  ", Reply("Ab3dE5gH", "Sorry  about that.\nDM us?")),
    ("REPLY Ab3dE5gH Obrigada 😊", Reply("Ab3dE5gH", "Obrigada 😊")),
    ("REPLY Ab3dE5gH " + "x" * 1000, Reply("Ab3dE5gH", "x" * 1000)),
    ("HELP", Help()),
    (" help ", Help()),
    ("Help me", Help()),
    ("STOP", Carrier("STOP")),
    ("stop", Carrier("STOP")),
    ("Stop texting me", Carrier("STOP")),
    ("START", Carrier("START")),
    ("unsubscribe", Carrier("UNSUBSCRIBE")),
    ("Arret", Carrier("ARRET")),
])
def test_every_command_form_parses_to_its_command(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the message is empty"),
    (" \n\t ", "the message is empty"),
    ("Thanks!", "unknown command 'Thanks!': the commands are OK, SNOOZE, MUTE, REPLY and HELP"),
    ("Supercalifragilisticexpialidocious",
     "unknown command 'Supercalifragilistic...': the commands are OK, SNOOZE, MUTE, REPLY and HELP"),
    ("OK", "OK needs the code from the alert after it"),
    ("MUTE   ", "MUTE needs the code from the alert after it"),
    ("OK Ab3dE5g", "'Ab3dE5g' is not a code: a code is the 8 characters after /s/ in the alert"),
    ("OK Ab3dE5gHi", "'Ab3dE5gHi' is not a code: a code is the 8 characters after /s/ in the alert"),
    ("OK Ab3d+5gH", "'Ab3d+5gH' is not a code: a code is the 8 characters after /s/ in the alert"),
    ("OK https://x.example/s/Ab3dE5gH",
     "'https://x.example/s/' is not a code: a code is the 8 characters after /s/ in the alert"),
    ("OK Ab3dE5gH please", "OK takes only the code; nothing after it"),
    ("MUTE Ab3dE5gH now", "MUTE takes only the code; nothing after it"),
    ("SNOOZE Ab3dE5gH", "SNOOZE needs how long after the code, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH 2", "SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH 2m", "SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH two days", "SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH 2h later", "SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH ٣d", "SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w"),
    ("SNOOZE Ab3dE5gH 0h", "SNOOZE is for 1h to 4w"),
    ("SNOOZE Ab3dE5gH 5w", "SNOOZE is for 1h to 4w"),
    ("SNOOZE Ab3dE5gH 29d", "SNOOZE is for 1h to 4w"),
    ("SNOOZE Ab3dE5gH 673h", "SNOOZE is for 1h to 4w"),
    ("REPLY Ab3dE5gH", "REPLY needs the text to post after the code"),
    ("REPLY Ab3dE5gH " + "x" * 1001, "the reply has 1001 characters; at most 1000"),
])
def test_invalid_forms_say_why_in_words(text: str, reason: str) -> None:
    assert parse(text) == Invalid(reason)


@given(st.text())
def test_parse_never_raises_and_always_gives_a_command(text: str) -> None:
    assert isinstance(parse(text), Ok | Snooze | Mute | Reply | Help | Carrier | Invalid)


codes = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=8, max_size=8)
durations = st.sampled_from([(n, "h") for n in range(1, 673)] + [(n, "d") for n in range(1, 29)]
                            + [(n, "w") for n in range(1, 5)])
reply_texts = st.text(min_size=1, max_size=1000).map(reply_text).filter(bool)  # as posted: no control characters
commands = st.one_of(
    codes.map(Ok),
    codes.map(Mute),
    st.builds(lambda code, duration: Snooze(code, *duration), codes, durations),
    st.builds(Reply, codes, reply_texts),
    st.just(Help()),
)
spaces = st.text(alphabet=" \t", min_size=1, max_size=3)


def _typed(command: Command, verb_case: str, gaps: list[str], unit_upper: bool) -> str:
    """The command as a person might type it: the verb in some case, spaces of some width."""
    verb = {Ok: "ok", Mute: "mute", Snooze: "snooze", Reply: "reply", Help: "help"}[type(command)]
    verb = {"upper": verb.upper(), "lower": verb, "title": verb.title()}[verb_case]
    if isinstance(command, Help):
        return gaps[0] + verb + gaps[3]
    assert isinstance(command, Ok | Mute | Snooze | Reply)
    words = [verb, command.code]
    if isinstance(command, Snooze):
        words.append(f"{command.amount}{command.unit.upper() if unit_upper else command.unit}")
    if isinstance(command, Reply):
        words.append(command.text)
    return gaps[0] + gaps[1].join(words[:2]) + "".join(gaps[2] + w for w in words[2:]) + gaps[3]


@given(commands, st.sampled_from(["upper", "lower", "title"]), st.lists(spaces, min_size=4, max_size=4),
       st.booleans())
def test_a_valid_command_typed_any_way_parses_back_to_itself(command: Command, verb_case: str, gaps: list[str],
                                                             unit_upper: bool) -> None:
    assert parse(_typed(command, verb_case, gaps, unit_upper)) == command


def test_snooze_knows_its_length_in_seconds() -> None:
    assert (Snooze(CODE, 2, "h").seconds, Snooze(CODE, 3, "d").seconds, Snooze(CODE, 4, "w").seconds) == (
        7200, 259200, 2419200)


# --- inbound ------------------------------------------------------------------------

SNS_MESSAGE = {
    "originationNumber": "+351912345678",
    "destinationNumber": "+12065550142",
    "messageKeyword": "KEYWORD_111122223333",
    "messageBody": "OK Ab3dE5gH",
    "inboundMessageId": "5f2c1b8e-0d6a-4e57-9a43-7c1e2b9d8a10",
    "previousPublishedMessageId": "b2VyLXNtcy1tZXNzYWdlLWlkLTA0Mg==",
}


def test_inbound_reads_every_field_of_the_two_way_sms_message() -> None:
    assert inbound(SNS_MESSAGE) == InboundSms(
        sender="+351912345678", destination="+12065550142", keyword="KEYWORD_111122223333", body="OK Ab3dE5gH",
        message_id="5f2c1b8e-0d6a-4e57-9a43-7c1e2b9d8a10", in_reply_to="b2VyLXNtcy1tZXNzYWdlLWlkLTA0Mg==")


def test_inbound_reads_the_json_text_of_the_sns_message_too() -> None:
    assert inbound(json.dumps(SNS_MESSAGE)) == inbound(SNS_MESSAGE)


def test_inbound_without_the_optional_fields_has_no_keyword_and_no_message_answered() -> None:
    message = {k: v for k, v in SNS_MESSAGE.items() if k not in ("messageKeyword", "previousPublishedMessageId")}
    sms = inbound(message)
    assert sms is not None and (sms.keyword, sms.in_reply_to) == ("", None)


def test_inbound_from_a_short_code_destination_is_read() -> None:
    sms = inbound({**SNS_MESSAGE, "destinationNumber": "40404"})
    assert sms is not None and sms.destination == "40404"


@pytest.mark.parametrize(("message", "logged"), [
    ("not json {", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({k: v for k, v in SNS_MESSAGE.items() if k != "messageBody"}), "messageBody is missing"),
    ({**SNS_MESSAGE, "messageBody": 42}, "messageBody is not a string"),
    ({**SNS_MESSAGE, "originationNumber": "912345678"}, "originationNumber is not in the expected form"),
    ({**SNS_MESSAGE, "originationNumber": "+351 912 345 678"}, "originationNumber is not in the expected form"),
    ({**SNS_MESSAGE, "destinationNumber": None}, "destinationNumber is missing"),
    ({**SNS_MESSAGE, "inboundMessageId": "../../etc#x"}, "inboundMessageId is not in the expected form"),
    ({**SNS_MESSAGE, "inboundMessageId": "a" * 129}, "inboundMessageId is not in the expected form"),
    ({**SNS_MESSAGE, "messageKeyword": ["OK"]}, "messageKeyword is not a string"),
    ({**SNS_MESSAGE, "messageBody": "x" * 5001}, "messageBody is longer than 5000 characters"),
    ({**SNS_MESSAGE, "previousPublishedMessageId": "p" * 257},
     "previousPublishedMessageId or messageKeyword is too long"),
])
def test_malformed_inbound_message_is_none_with_a_log_line(message: object, logged: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="chalicelib.sms_commands"):
        assert inbound(message) is None  # type: ignore[arg-type]
    assert caplog.messages == [f"ignored an inbound SMS notification: {logged}"]


# --- handle -------------------------------------------------------------------------

CONFIG = parse_config("""\
business:
  name: Bean There Café
rules:
  - {name: brand, group: brand, keywords: ["Bean There"]}
networks:
  hackernews: {}
recipients:
  - {name: Rui, phone: "+351912345678", timezone: Europe/Lisbon}
  - {name: Ana, phone: "+351965550100", email: ana@beanthere.example}
alerts:
  from_address: alerts@beanthere.example
""")
RUI, ANA = "+351912345678", "+351965550100"
NOW = dt.datetime(2026, 11, 27, 10, 15, tzinfo=dt.UTC).timestamp()  # 10:15 in Lisbon
KEY = b"unit-test-signing-key-0123456789abcdef"
MENTION_KEY = "hackernews#4242"


class FakeStore:
    """The CommandStore in dicts, recording what was written."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.mentions: dict[str, StoredMention] = {}
        self.audits: list[tuple[str, str, str, str, str]] = []
        self.nonces: set[str] = set()
        self.snoozed: dict[str, int] = {}
        self.muted: list[tuple[str, str, str]] = []  # (network, handle, muted by)
        self.replies: list[tuple[str, str, str]] = []
        self.answers: dict[tuple[str, str], int] = {}
        self.commands: dict[tuple[str, str], int] = {}

    def get_short_link(self, code: str) -> str | None:
        return self.links.get(code)

    def get_mention(self, key: str) -> StoredMention | None:
        return self.mentions.get(key)

    def set_mention_state(self, key: str, state: str) -> bool:
        if key not in self.mentions:
            return False
        self.mentions[key] = dataclasses.replace(self.mentions[key], state=state)
        return True

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None:
        self.audits.append((key, action, recipient, result, nonce))

    def use_nonce(self, nonce: str, expires_at: int) -> bool:
        if nonce in self.nonces:
            return False
        self.nonces.add(nonce)
        return True

    def snooze(self, key: str, until: int) -> bool:
        if key not in self.mentions:
            return False
        self.snoozed[key] = until
        return True

    def mute_author(self, network: str, handle: str, by: str) -> None:
        self.muted.append((network, handle, by))

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        self.replies.append((key, text, recipient))

    def count_answers(self, sender: str, hour: str) -> int:
        self.answers[(sender, hour)] = self.answers.get((sender, hour), 0) + 1
        return self.answers[(sender, hour)]

    def count_commands(self, sender: str, hour: str) -> int:
        self.commands[(sender, hour)] = self.commands.get((sender, hour), 0) + 1
        return self.commands[(sender, hour)]


def stored_mention(author: str = "grumpy_dev") -> StoredMention:
    mention = Mention("hackernews", "4242", "https://news.ycombinator.com/item?id=4242", "Bean There was rude",
                      dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), kind="comment", author_handle=author)
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", True),)), "new", "2026-11-27T10:00")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def signer(clock: FakeClock) -> TokenSigner:
    return TokenSigner(KEY, clock=clock)


@pytest.fixture
def store(signer: TokenSigner) -> FakeStore:
    """A store holding one mention alerted by SMS to Rui under CODE."""
    store = FakeStore()
    store.mentions[MENTION_KEY] = stored_mention()
    store.links[CODE] = signer.sign(MENTION_KEY, "handled", "Rui")
    return store


class Sender:
    """Sends SMS texts from one phone, each with a new inbound message id."""

    def __init__(self, store: FakeStore, signer: TokenSigner, clock: FakeClock, phone: str = RUI) -> None:
        self.store, self.signer, self.clock, self.phone = store, signer, clock, phone
        self.sent = 0

    def __call__(self, body: str, message_id: str | None = None) -> Outcome:
        self.sent += 1
        sms = InboundSms(self.phone, "+12065550142", "", body, message_id or f"msg-{self.phone[1:]}-{self.sent}")
        return handle(sms, config=CONFIG, store=self.store, signer=self.signer, clock=self.clock)


@pytest.fixture
def rui(store: FakeStore, signer: TokenSigner, clock: FakeClock) -> Sender:
    return Sender(store, signer, clock)


def test_sms_from_a_number_of_no_recipient_is_ignored_unanswered_and_writes_nothing(
        store: FakeStore, signer: TokenSigner, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    stranger = Sender(store, signer, clock, phone="+14155550100")
    with caplog.at_level(logging.INFO, logger="chalicelib.sms_commands"):
        outcome = stranger(f"OK {CODE}")
    assert (outcome.answer, outcome.done) == (None, "ignored: the sender is no recipient")
    assert store.mentions[MENTION_KEY].state == "new"
    assert (store.nonces, store.audits, store.answers) == (set(), [], {})
    assert caplog.messages == ["ignored an SMS from a number of no recipient (ending 0100)"]


def test_ok_marks_the_mention_handled_and_audits_it(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"OK {CODE}", message_id="in-1")
    assert (outcome.answer, outcome.done, outcome.command) == (f"{CODE} marked handled.", "marked handled", Ok(CODE))
    assert store.mentions[MENTION_KEY].state == "handled"
    assert store.audits == [(MENTION_KEY, "handled", "Rui", "done by SMS", "in-1")]


def test_a_second_ok_answers_already_handled_and_changes_nothing(rui: Sender, store: FakeStore) -> None:
    rui(f"OK {CODE}")
    outcome = rui(f"ok {CODE}")
    assert (outcome.answer, outcome.done) == (f"{CODE} was already handled.", "nothing: already handled")
    assert len(store.audits) == 1


def test_the_same_inbound_message_delivered_twice_is_done_once(rui: Sender, store: FakeStore) -> None:
    first = rui(f"OK {CODE}", message_id="in-7")
    again = rui(f"OK {CODE}", message_id="in-7")
    assert first.answer == f"{CODE} marked handled."
    assert (again.answer, again.done) == (None, "ignored: this message was done before")
    assert len(store.audits) == 1 and store.answers == {(RUI, "2026-11-27T10"): 1}


def test_a_code_sent_to_another_recipient_is_refused_as_unknown(store: FakeStore, signer: TokenSigner,
                                                                 clock: FakeClock) -> None:
    ana = Sender(store, signer, clock, phone=ANA)
    outcome = ana(f"OK {CODE}")
    assert (outcome.answer, outcome.done) == (f"Unknown code {CODE}. Send HELP for the commands.",
                                              "refused: unknown code")
    assert store.mentions[MENTION_KEY].state == "new" and store.audits == []


def test_a_code_with_no_short_link_is_unknown(rui: Sender) -> None:
    assert rui("OK Zz9yY8xX").answer == "Unknown code Zz9yY8xX. Send HELP for the commands."


def test_a_code_whose_token_is_forged_or_expired_is_unknown(rui: Sender, store: FakeStore, clock: FakeClock) -> None:
    store.links["Forged00"] = TokenSigner(b"f" * 32).sign(MENTION_KEY, "handled", "Rui")
    store.links["Expired0"] = TokenSigner(KEY, clock=FakeClock(NOW - 8 * 86400)).sign(MENTION_KEY, "handled", "Rui")
    assert rui("OK Forged00").done == rui("OK Expired0").done == "refused: unknown code"
    assert store.mentions[MENTION_KEY].state == "new"


def test_a_code_holding_another_kind_of_token_is_unknown(rui: Sender, store: FakeStore, signer: TokenSigner) -> None:
    store.links["Unsub000"] = signer.sign("recipient:Rui", "unsubscribe", "Rui")
    assert rui("MUTE Unsub000").done == "refused: unknown code"
    assert store.muted == []


def test_a_code_whose_mention_is_gone_is_unknown(rui: Sender, store: FakeStore) -> None:
    del store.mentions[MENTION_KEY]
    assert rui(f"SNOOZE {CODE} 2h").done == "refused: unknown code"
    assert store.snoozed == {}


def test_snooze_stores_until_when_and_answers_in_the_recipients_time(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"SNOOZE {CODE} 3d", message_id="in-2")
    until = int(NOW) + 3 * 86400
    assert (outcome.answer, outcome.done) == (f"{CODE} snoozed until Mon 30 Nov 10:15.", f"snoozed until {until}")
    assert store.snoozed == {MENTION_KEY: until}
    assert store.audits == [(MENTION_KEY, "snooze", "Rui", "done by SMS", "in-2")]


def test_mute_mutes_the_mentions_author_on_its_network_as_muted_by_the_recipient(rui: Sender,
                                                                                 store: FakeStore) -> None:
    outcome = rui(f"MUTE {CODE}", message_id="in-3")
    assert (outcome.answer, outcome.done) == (f"{CODE}: its author is muted on Hacker News.", "muted the author")
    assert store.muted == [("hackernews", "grumpy_dev", "Rui")]  # the recipient the code resolved to, not "sms"
    assert store.audits == [(MENTION_KEY, "mute_author", "Rui", "done by SMS", "in-3")]


def test_mute_of_a_mention_with_no_author_mutes_nothing(rui: Sender, store: FakeStore) -> None:
    store.mentions[MENTION_KEY] = stored_mention(author="")
    outcome = rui(f"MUTE {CODE}")
    assert (outcome.answer, outcome.done) == (f"{CODE} has no author to mute.", "nothing: no author")
    assert store.muted == [] and store.audits == []


def test_reply_requests_the_text_as_typed_for_the_recipient(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"REPLY {CODE} Sorry about that,  Ana will call you.\nRui", message_id="in-4")
    assert (outcome.answer, outcome.done) == (f"{CODE}: reply requested on Hacker News.", "requested a reply")
    assert store.replies == [(MENTION_KEY, "Sorry about that,  Ana will call you.\nRui", "Rui")]
    assert store.audits == [(MENTION_KEY, "reply", "Rui", "requested by SMS", "in-4")]


def test_help_answers_the_commands_in_one_gsm7_sms(rui: Sender) -> None:
    outcome = rui("HELP")
    assert (outcome.answer, outcome.done) == (HELP_TEXT, "told the commands")
    septets = gsm7_length(HELP_TEXT)
    assert septets is not None and septets <= 160


def test_an_invalid_command_answers_help_and_does_nothing(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"OK {CODE} thanks")
    assert (outcome.answer, outcome.command) == (HELP_TEXT, Invalid("OK takes only the code; nothing after it"))
    assert store.mentions[MENTION_KEY].state == "new"


def test_carrier_keywords_are_ignored_unanswered_and_uncounted(rui: Sender, store: FakeStore) -> None:
    outcome = rui("STOP")
    assert (outcome.answer, outcome.done, outcome.command) == (None, "ignored: STOP is for the carrier",
                                                               Carrier("STOP"))
    assert store.answers == {}


def test_at_most_five_answers_go_to_a_sender_in_an_hour(rui: Sender, store: FakeStore, clock: FakeClock) -> None:
    answers = [rui("HELP").answer for _ in range(7)]
    assert answers == [HELP_TEXT] * 5 + [None] * 2
    assert rui(f"OK {CODE}").done == "marked handled; not answered (hourly limit)"
    assert store.mentions[MENTION_KEY].state == "handled"
    clock.now += 3600
    assert rui("HELP").answer == HELP_TEXT


def test_the_answer_limit_counts_each_sender_apart(rui: Sender, store: FakeStore, signer: TokenSigner,
                                                   clock: FakeClock) -> None:
    for _ in range(6):
        rui("HELP")
    ana = Sender(store, signer, clock, phone=ANA)
    assert ana("HELP").answer == HELP_TEXT
    assert store.answers == {(RUI, "2026-11-27T10"): 6, (ANA, "2026-11-27T10"): 1}


def test_at_most_ten_commands_from_a_sender_are_done_in_an_hour(rui: Sender, store: FakeStore,
                                                                clock: FakeClock) -> None:
    outcomes = [rui(f"SNOOZE {CODE} 2h", message_id=f"in-s{n}") for n in range(12)]
    assert [o.done.startswith("snoozed until") for o in outcomes] == [True] * 10 + [False] * 2
    assert outcomes[10].done == "refused: hourly command limit; not answered (hourly limit)"
    assert len(store.audits) == 10
    clock.now += 3600
    assert rui(f"OK {CODE}", message_id="in-next-hour").done == "marked handled"


def test_reply_text_by_sms_loses_control_and_direction_characters(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"REPLY {CODE} Thanks\u202e moc.live\u202c for\x07 waiting\u2067!\u2069\x1b[31m", message_id="in-9")
    assert outcome.done == "requested a reply"
    assert store.replies == [(MENTION_KEY, "Thanks moc.live for waiting![31m", "Rui")]


def test_a_reply_of_only_control_characters_is_no_reply(rui: Sender, store: FakeStore) -> None:
    outcome = rui(f"REPLY {CODE} \u202e\u2066\x00", message_id="in-10")
    assert outcome.command == Invalid("REPLY needs the text to post after the code")
    assert store.replies == []

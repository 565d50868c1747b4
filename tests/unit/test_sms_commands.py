"""Two-way SMS commands: the text a recipient sends back, the SNS message it arrives in,
and what handling it does (with a fake store, no AWS)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter

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
from tests.builders import FakeClock, RecordingStore

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
LINK_EXPIRES = int(NOW) + 7 * 86400  # a short link lives as long as its token


def holding(clock: FakeClock, *mentions: StoredMention) -> RecordingStore:
    """The store's in-memory twin holding ``mentions``, and CODE: the short link of an SMS alert
    to Rui about MENTION_KEY."""
    store = RecordingStore(*mentions, clock=clock)
    store.put_short_link(CODE, TokenSigner(KEY, clock=clock).sign(MENTION_KEY, "handled", "Rui"), LINK_EXPIRES)
    return store


def stored_mention(author: str = "grumpy_dev") -> StoredMention:
    mention = Mention("hackernews", "4242", "https://news.ycombinator.com/item?id=4242", "Bean There was rude",
                      dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC), kind="comment", author_handle=author)
    return StoredMention(MatchedMention(mention, (RuleMatch("brand", "brand", True),)), "new", "2026-11-27T10:00")


def state(store: RecordingStore) -> str:
    stored = store.get_mention(MENTION_KEY)
    assert stored is not None
    return stored.state


def answers(store: RecordingStore) -> Counter[tuple[str, str]]:
    """Answers counted per (sender, hour)."""
    return Counter(store.of("count_answers"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def signer(clock: FakeClock) -> TokenSigner:
    return TokenSigner(KEY, clock=clock)


@pytest.fixture
def store(clock: FakeClock) -> RecordingStore:
    """A store holding one mention alerted by SMS to Rui under CODE."""
    return holding(clock, stored_mention())


class Sender:
    """Sends SMS texts from one phone, each with a new inbound message id."""

    def __init__(self, store: RecordingStore, signer: TokenSigner, clock: FakeClock, phone: str = RUI) -> None:
        self.store, self.signer, self.clock, self.phone = store, signer, clock, phone
        self.sent = 0

    def __call__(self, body: str, message_id: str | None = None) -> Outcome:
        self.sent += 1
        sms = InboundSms(self.phone, "+12065550142", "", body, message_id or f"msg-{self.phone[1:]}-{self.sent}")
        return handle(sms, config=CONFIG, store=self.store, signer=self.signer, clock=self.clock)


@pytest.fixture
def rui(store: RecordingStore, signer: TokenSigner, clock: FakeClock) -> Sender:
    return Sender(store, signer, clock)


def test_sms_from_a_number_of_no_recipient_is_ignored_unanswered_and_writes_nothing(
        store: RecordingStore, signer: TokenSigner, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    stranger = Sender(store, signer, clock, phone="+14155550100")
    with caplog.at_level(logging.INFO, logger="chalicelib.sms_commands"):
        outcome = stranger(f"OK {CODE}")
    assert (outcome.answer, outcome.done) == (None, "ignored: the sender is no recipient")
    assert state(store) == "new"
    assert (store.of("use_nonce"), store.of("audit"), answers(store)) == ([], [], {})
    assert caplog.messages == ["ignored an SMS from a number of no recipient (ending 0100)"]


def test_ok_marks_the_mention_handled_and_audits_it(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"OK {CODE}", message_id="in-1")
    assert (outcome.answer, outcome.done, outcome.command) == (f"{CODE} marked handled.", "marked handled", Ok(CODE))
    assert state(store) == "handled"
    assert store.of("audit") == [(MENTION_KEY, "handled", "Rui", "done by SMS", "in-1")]


def test_a_second_ok_answers_already_handled_and_changes_nothing(rui: Sender, store: RecordingStore) -> None:
    rui(f"OK {CODE}")
    outcome = rui(f"ok {CODE}")
    assert (outcome.answer, outcome.done) == (f"{CODE} was already handled.", "nothing: already handled")
    assert len(store.of("audit")) == 1


def test_the_same_inbound_message_delivered_twice_is_done_once(rui: Sender, store: RecordingStore) -> None:
    first = rui(f"OK {CODE}", message_id="in-7")
    again = rui(f"OK {CODE}", message_id="in-7")
    assert first.answer == f"{CODE} marked handled."
    assert (again.answer, again.done) == (None, "ignored: this message was done before")
    assert len(store.of("audit")) == 1 and answers(store) == {(RUI, "2026-11-27T10"): 1}


def test_a_code_sent_to_another_recipient_is_refused_as_unknown(store: RecordingStore, signer: TokenSigner,
                                                                 clock: FakeClock) -> None:
    ana = Sender(store, signer, clock, phone=ANA)
    outcome = ana(f"OK {CODE}")
    assert (outcome.answer, outcome.done) == (f"Unknown code {CODE}. Send HELP for the commands.",
                                              "refused: unknown code")
    assert state(store) == "new" and store.of("audit") == []


def test_a_code_with_no_short_link_is_unknown(rui: Sender) -> None:
    assert rui("OK Zz9yY8xX").answer == "Unknown code Zz9yY8xX. Send HELP for the commands."


def test_a_code_whose_token_is_forged_or_expired_is_unknown(rui: Sender, store: RecordingStore,
                                                            clock: FakeClock) -> None:
    store.put_short_link("Forged00", TokenSigner(b"f" * 32).sign(MENTION_KEY, "handled", "Rui"), LINK_EXPIRES)
    expired = TokenSigner(KEY, clock=FakeClock(NOW - 8 * 86400)).sign(MENTION_KEY, "handled", "Rui")
    store.put_short_link("Expired0", expired, LINK_EXPIRES)
    assert rui("OK Forged00").done == rui("OK Expired0").done == "refused: unknown code"
    assert state(store) == "new"


def test_a_code_holding_another_kind_of_token_is_unknown(rui: Sender, store: RecordingStore,
                                                         signer: TokenSigner) -> None:
    store.put_short_link("Unsub000", signer.sign("recipient:Rui", "unsubscribe", "Rui"), LINK_EXPIRES)
    assert rui("MUTE Unsub000").done == "refused: unknown code"
    assert store.of("mute_author") == []


def test_a_code_whose_mention_is_gone_is_unknown(signer: TokenSigner, clock: FakeClock) -> None:
    store = holding(clock)  # the link is there, its mention no longer
    assert Sender(store, signer, clock)(f"SNOOZE {CODE} 2h").done == "refused: unknown code"
    assert store.writes == []


def test_snooze_stores_until_when_and_answers_in_the_recipients_time(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"SNOOZE {CODE} 3d", message_id="in-2")
    until = int(NOW) + 3 * 86400
    assert (outcome.answer, outcome.done) == (f"{CODE} snoozed until Mon 30 Nov 10:15.", f"snoozed until {until}")
    assert store.writes == [("snooze", MENTION_KEY, until)]
    assert store.of("audit") == [(MENTION_KEY, "snooze", "Rui", "done by SMS", "in-2")]


def test_mute_mutes_the_mentions_author_on_its_network_as_muted_by_the_recipient(rui: Sender,
                                                                                 store: RecordingStore) -> None:
    outcome = rui(f"MUTE {CODE}", message_id="in-3")
    assert (outcome.answer, outcome.done) == (f"{CODE}: its author is muted on Hacker News.", "muted the author")
    # the recipient the code resolved to, not "sms"
    assert store.writes == [("mute_author", "hackernews", "grumpy_dev", "Rui")]
    assert store.of("audit") == [(MENTION_KEY, "mute_author", "Rui", "done by SMS", "in-3")]


def test_mute_of_a_mention_with_no_author_mutes_nothing(signer: TokenSigner, clock: FakeClock) -> None:
    store = holding(clock, stored_mention(author=""))
    outcome = Sender(store, signer, clock)(f"MUTE {CODE}")
    assert (outcome.answer, outcome.done) == (f"{CODE} has no author to mute.", "nothing: no author")
    assert store.of("mute_author") == [] and store.of("audit") == []


def test_reply_requests_the_text_as_typed_for_the_recipient(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"REPLY {CODE} Sorry about that,  Ana will call you.\nRui", message_id="in-4")
    assert (outcome.answer, outcome.done) == (f"{CODE}: reply requested on Hacker News.", "requested a reply")
    assert store.of("request_reply") == [(MENTION_KEY, "Sorry about that,  Ana will call you.\nRui", "Rui")]
    assert store.of("audit") == [(MENTION_KEY, "reply", "Rui", "requested by SMS", "in-4")]


def test_help_answers_the_commands_in_one_gsm7_sms(rui: Sender) -> None:
    outcome = rui("HELP")
    assert (outcome.answer, outcome.done) == (HELP_TEXT, "told the commands")
    septets = gsm7_length(HELP_TEXT)
    assert septets is not None and septets <= 160


def test_an_invalid_command_answers_help_and_does_nothing(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"OK {CODE} thanks")
    assert (outcome.answer, outcome.command) == (HELP_TEXT, Invalid("OK takes only the code; nothing after it"))
    assert state(store) == "new"


def test_carrier_keywords_are_ignored_unanswered_and_uncounted(rui: Sender, store: RecordingStore) -> None:
    outcome = rui("STOP")
    assert (outcome.answer, outcome.done, outcome.command) == (None, "ignored: STOP is for the carrier",
                                                               Carrier("STOP"))
    assert answers(store) == {}


def test_at_most_five_answers_go_to_a_sender_in_an_hour(rui: Sender, store: RecordingStore, clock: FakeClock) -> None:
    answers = [rui("HELP").answer for _ in range(7)]
    assert answers == [HELP_TEXT] * 5 + [None] * 2
    assert rui(f"OK {CODE}").done == "marked handled; not answered (hourly limit)"
    assert state(store) == "handled"
    clock.now += 3600
    assert rui("HELP").answer == HELP_TEXT


def test_the_answer_limit_counts_each_sender_apart(rui: Sender, store: RecordingStore, signer: TokenSigner,
                                                   clock: FakeClock) -> None:
    for _ in range(6):
        rui("HELP")
    ana = Sender(store, signer, clock, phone=ANA)
    assert ana("HELP").answer == HELP_TEXT
    assert answers(store) == {(RUI, "2026-11-27T10"): 6, (ANA, "2026-11-27T10"): 1}


def test_at_most_ten_commands_from_a_sender_are_done_in_an_hour(rui: Sender, store: RecordingStore,
                                                                clock: FakeClock) -> None:
    outcomes = [rui(f"SNOOZE {CODE} 2h", message_id=f"in-s{n}") for n in range(12)]
    assert [o.done.startswith("snoozed until") for o in outcomes] == [True] * 10 + [False] * 2
    assert outcomes[10].done == "refused: hourly command limit; not answered (hourly limit)"
    assert len(store.of("audit")) == 10
    clock.now += 3600
    assert rui(f"OK {CODE}", message_id="in-next-hour").done == "marked handled"


def test_reply_text_by_sms_loses_control_and_direction_characters(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"REPLY {CODE} Thanks\u202e moc.live\u202c for\x07 waiting\u2067!\u2069\x1b[31m", message_id="in-9")
    assert outcome.done == "requested a reply"
    assert store.of("request_reply") == [(MENTION_KEY, "Thanks moc.live for waiting![31m", "Rui")]


def test_a_reply_of_only_control_characters_is_no_reply(rui: Sender, store: RecordingStore) -> None:
    outcome = rui(f"REPLY {CODE} \u202e\u2066\x00", message_id="in-10")
    assert outcome.command == Invalid("REPLY needs the text to post after the code")
    assert store.of("request_reply") == []

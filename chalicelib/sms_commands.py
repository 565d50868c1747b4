"""Two-way SMS: what a recipient texts back to an urgent alert, and what it does.

A recipient answers an alert SMS with a command that quotes the alert's short link code
(the 8 characters after ``/s/``)::

    OK Ab3dE5gH               mark the mention handled
    SNOOZE Ab3dE5gH 3d        snooze it for 1h to 4w (h, d or w)
    MUTE Ab3dE5gH             no more alerts from its author
    MUTE Ab3dE5gH THREAD      no more alerts from its conversation
    REPLY Ab3dE5gH Thanks!    post a reply on the network (or, with no write API, get the link to paste it)
    HELP                      the list of commands

STOP, START and the other carrier keywords belong to the carrier and AWS (opt-out lists):
they are recognised and ignored. AWS End User Messaging publishes each inbound SMS to an
SNS topic; ``inbound`` reads that message, ``parse`` reads the text, ``handle`` checks the
sender and the code and does the command through the same action modules as the web pages
(``chalicelib.actions``), as done by the recipient the code was sent to, over a ``CommandStore``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.actions.handled import mark_handled
from chalicelib.actions.mute_author import mute_author
from chalicelib.actions.mute_thread import mute_thread
from chalicelib.actions.reply import Poster, manual_link, post_reply, reply_text, request_reply
from chalicelib.actions.snooze import MAX_SECONDS, MIN_SECONDS, snooze
from chalicelib.alerts import network_name
from chalicelib.config import ListenConfig, Recipient
from chalicelib.links import SHORT_CODE_LENGTH, InvalidToken, TokenSigner
from chalicelib.model import StoredMention
from chalicelib.networks import can_reply
from chalicelib.replies import ReplyError

log = logging.getLogger(__name__)

CODE_LENGTH = SHORT_CODE_LENGTH
REPLY_MAX_CHARS = 1000
ANSWERS_PER_HOUR = 5  # per sender: a loop with another auto-responder stops here
COMMANDS_PER_HOUR = 10  # per sender: OK, SNOOZE, MUTE and REPLY done in an hour; the rest are refused
INBOUND_MEMORY_SECONDS = 7 * 86400  # SNS may deliver a message again; remember ids this long
BODY_MAX_CHARS = 5000  # far beyond any concatenated SMS; longer is not an SMS
UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}
SNOOZE_MIN_SECONDS = MIN_SECONDS
SNOOZE_MAX_SECONDS = MAX_SECONDS
# AWS End User Messaging's required opt-out keywords, and the opt-in ones
CARRIER_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "OPTOUT", "OPT-OUT",
                              "REMOVE", "TD", "START", "UNSTOP"})
HELP_TEXT = ("Reply: OK code (handled), SNOOZE code 2h/3d/1w, MUTE code (author), MUTE code THREAD, REPLY code text. "
             "Code: 8 characters after /s/ in the alert. STOP: no SMS.")

_CODE = re.compile(rf"[A-Za-z0-9_-]{{{CODE_LENGTH}}}")
_DURATION = re.compile(r"([0-9]{1,6})\s*([hdw])", re.IGNORECASE)
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_DESTINATION = re.compile(r"\+?[0-9]{3,15}")  # our number: E.164, or a short code
_MESSAGE_ID = re.compile(r"[A-Za-z0-9-]{1,128}")


# --- commands -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ok:
    code: str


@dataclass(frozen=True, slots=True)
class Snooze:
    code: str
    amount: int
    unit: str  # h | d | w

    @property
    def seconds(self) -> int:
        return self.amount * UNIT_SECONDS[self.unit]


@dataclass(frozen=True, slots=True)
class Mute:
    code: str
    thread: bool = False  # the conversation, not the author


@dataclass(frozen=True, slots=True)
class Reply:
    code: str
    text: str  # as typed


@dataclass(frozen=True, slots=True)
class Help:
    pass


@dataclass(frozen=True, slots=True)
class Carrier:
    """A keyword the carrier and AWS act on (opt-out, opt-in); we do nothing."""

    keyword: str


@dataclass(frozen=True, slots=True)
class Invalid:
    reason: str


Command = Ok | Snooze | Mute | Reply | Help | Carrier | Invalid
CodeCommand = Ok | Snooze | Mute | Reply


def _next_word(text: str) -> tuple[str, str]:
    """(first word, the rest after the spaces that follow it) of text that starts with no space."""
    word = text.split(maxsplit=1)[0] if text else ""
    return word, text[len(word):].lstrip()


def parse(text: str) -> Command:
    """The command in an SMS text. Verbs and units in any case, spaces anywhere between
    words; the code exactly as printed. Anything else is ``Invalid`` with the reason in
    words. Never raises."""
    if not isinstance(text, str):
        return Invalid("the message is not text")
    text = text.strip()
    if not text:
        return Invalid("the message is empty")
    verb, rest = _next_word(text)
    keyword = verb.upper()
    if keyword in CARRIER_KEYWORDS:
        return Carrier(keyword)
    if keyword == "HELP":
        return Help()
    if keyword not in ("OK", "SNOOZE", "MUTE", "REPLY"):
        shown = verb if len(verb) <= 20 else verb[:20] + "..."
        return Invalid(f"unknown command {shown!r}: the commands are OK, SNOOZE, MUTE, REPLY and HELP")
    code, rest = _next_word(rest)
    if not code:
        return Invalid(f"{keyword} needs the code from the alert after it")
    if not _CODE.fullmatch(code):
        return Invalid(f"{code[:20]!r} is not a code: a code is the {CODE_LENGTH} characters after /s/ in the alert")
    if keyword == "REPLY":
        return _reply_command(code, rest)
    if keyword == "SNOOZE":
        return _snooze(code, rest)
    if keyword == "MUTE" and rest.upper() == "THREAD":
        return Mute(code, thread=True)
    if rest:
        return Invalid(f"{keyword} takes only the code; nothing after it")
    return Ok(code) if keyword == "OK" else Mute(code)


def _snooze(code: str, rest: str) -> Snooze | Invalid:
    if not rest:
        return Invalid("SNOOZE needs how long after the code, such as 2h, 3d or 1w")
    match = _DURATION.fullmatch(rest)
    if match is None:
        return Invalid("SNOOZE takes how long as a number and h, d or w, such as 2h, 3d or 1w")
    command = Snooze(code, int(match.group(1)), match.group(2).lower())
    if not SNOOZE_MIN_SECONDS <= command.seconds <= SNOOZE_MAX_SECONDS:
        return Invalid("SNOOZE is for 1h to 4w")
    return command


def _reply_command(code: str, rest: str) -> Reply | Invalid:
    rest = reply_text(rest)
    if not rest:
        return Invalid("REPLY needs the text to post after the code")
    if len(rest) > REPLY_MAX_CHARS:
        return Invalid(f"the reply has {len(rest)} characters; at most {REPLY_MAX_CHARS}")
    return Reply(code, rest)


# --- the inbound SMS ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboundSms:
    """One SMS a phone sent to our number, as AWS End User Messaging tells it."""

    sender: str  # originationNumber, E.164
    destination: str  # destinationNumber: our number
    keyword: str  # messageKeyword: the registered keyword AWS matched, if any
    body: str  # messageBody, as typed
    message_id: str  # inboundMessageId
    in_reply_to: str | None = None  # previousPublishedMessageId: the message it answers


def inbound(message: Mapping[str, Any] | str) -> InboundSms | None:
    """The inbound SMS in an SNS message of two-way SMS: the JSON text (``Sns.Message``)
    or its decoded object. None (and a log line) if anything in it is malformed."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            log.warning("ignored an inbound SMS notification: not JSON")
            return None
    if not isinstance(message, Mapping):
        log.warning("ignored an inbound SMS notification: not a JSON object")
        return None
    problem = _inbound_problem(message)
    if problem:
        log.warning("ignored an inbound SMS notification: %s", problem)
        return None
    previous = message.get("previousPublishedMessageId")
    return InboundSms(
        sender=message["originationNumber"], destination=message["destinationNumber"],
        keyword=message.get("messageKeyword") or "", body=message["messageBody"],
        message_id=message["inboundMessageId"], in_reply_to=previous or None,
    )


def _inbound_problem(message: Mapping[str, Any]) -> str | None:
    """What is wrong with the fields of an inbound SMS message, in words; None if nothing."""
    checks: tuple[tuple[str, re.Pattern[str] | None, bool], ...] = (
        ("originationNumber", _E164, True),
        ("destinationNumber", _DESTINATION, True),
        ("inboundMessageId", _MESSAGE_ID, True),
        ("messageBody", None, True),
        ("messageKeyword", None, False),
        ("previousPublishedMessageId", None, False),
    )
    for name, pattern, required in checks:
        value = message.get(name)
        if value is None and not required:
            continue
        if not isinstance(value, str):
            return f"{name} is {'missing' if value is None else 'not a string'}"
        if pattern is not None and not pattern.fullmatch(value):
            return f"{name} is not in the expected form"
    if len(message["messageBody"]) > BODY_MAX_CHARS:
        return f"messageBody is longer than {BODY_MAX_CHARS} characters"
    if len(message.get("previousPublishedMessageId") or "") > 256 or len(message.get("messageKeyword") or "") > 64:
        return "previousPublishedMessageId or messageKeyword is too long"
    return None


# --- handling -----------------------------------------------------------------------


class CommandStore(Protocol):
    """What handling a command reads and writes (``chalicelib.store.Store`` in production)."""

    def get_short_link(self, code: str) -> str | None: ...

    def get_mention(self, key: str) -> StoredMention | None: ...

    def set_mention_state(self, key: str, state: str) -> bool: ...

    def audit(self, key: str, action: str, recipient: str, result: str, nonce: str) -> None: ...

    def use_nonce(self, nonce: str, expires_at: int) -> bool: ...

    def snooze(self, key: str, until: int) -> bool:
        """Snooze the stored mention until ``until`` (Unix seconds); False if no such mention."""
        ...

    def mute_author(self, network: str, handle: str, by: str) -> None:
        """Never alert on this author of this network again (muted ``by`` this recipient)."""
        ...

    def mute_thread(self, thread_root: str, by: str) -> None:
        """Never alert on this conversation (``network:root``) again."""
        ...

    def request_reply(self, key: str, text: str, recipient: str) -> None:
        """Ask for ``text`` to be posted as a reply to the mention, on behalf of ``recipient``."""
        ...

    def record_reply(self, key: str, text: str, recipient: str, *, status: str, detail: str = "") -> None:
        """Record a reply sent by SMS: posted (detail: its URL), failed (the reason) or manual (the link)."""
        ...

    def count_answers(self, sender: str, hour: str) -> int:
        """Count one more answer to ``sender`` in ``hour`` (``YYYY-MM-DDTHH``, UTC); the count now."""
        ...

    def count_commands(self, sender: str, hour: str) -> int:
        """Count one more command from ``sender`` in ``hour`` (``YYYY-MM-DDTHH``, UTC); the count now."""
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What came of an inbound SMS: the SMS to answer with (None: no answer) and what was
    done, in words."""

    answer: str | None
    done: str
    command: Command | None = None


def handle(sms: InboundSms, *, config: ListenConfig, store: CommandStore, signer: TokenSigner,
           clock: Callable[[], float], poster: Poster | None = None) -> Outcome:
    """Do what the SMS asks if it comes from a configured recipient's phone and quotes a
    code sent to that recipient. Each inbound message is done once (SNS may deliver it
    again); at most ``ANSWERS_PER_HOUR`` answers go to a sender in an hour. A REPLY is
    posted through ``poster`` (None: only recorded as requested)."""
    phones = [r for r in config.recipients if r.phone == sms.sender]
    if not phones:
        log.info("ignored an SMS from a number of no recipient (ending %s)", sms.sender[-4:])
        return Outcome(None, "ignored: the sender is no recipient")
    if not store.use_nonce(f"SMS-{sms.message_id}", int(clock()) + INBOUND_MEMORY_SECONDS):
        log.info("ignored inbound SMS %s: done before", sms.message_id)
        return Outcome(None, "ignored: this message was done before")
    command = parse(sms.body)
    if isinstance(command, Carrier):
        return Outcome(None, f"ignored: {command.keyword} is for the carrier", command)
    if isinstance(command, Help | Invalid):
        if isinstance(command, Invalid):
            log.info("answered HELP to an SMS command from %s: %s", phones[0].name, command.reason)
        return _within_limit(Outcome(HELP_TEXT, "told the commands", command), sms, store, clock)
    hour = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).strftime("%Y-%m-%dT%H")
    if store.count_commands(sms.sender, hour) > COMMANDS_PER_HOUR:
        log.info("refused an SMS command from %s: %d commands this hour already", phones[0].name, COMMANDS_PER_HOUR)
        return _within_limit(Outcome(f"Not done: at most {COMMANDS_PER_HOUR} commands an hour. Use the alert "
                                     "email's links.", "refused: hourly command limit", command), sms, store, clock)
    return _within_limit(_do(command, sms, phones, store, signer, clock, poster), sms, store, clock)


def _do(command: CodeCommand, sms: InboundSms, phones: list[Recipient], store: CommandStore, signer: TokenSigner,
        clock: Callable[[], float], poster: Poster | None) -> Outcome:
    """Resolve the code and do the command through its action module, as done by the recipient
    the code was sent to; audit it once, under the inbound message's id."""
    found = _resolve(command.code, phones, store, signer)
    if found is None:
        return Outcome(f"Unknown code {command.code}. Send HELP for the commands.", "refused: unknown code", command)
    recipient, stored = found
    outcome, action, audited = _act(command, sms.message_id, recipient, stored, store, clock, poster)
    if audited:
        store.audit(stored.key, action, recipient.name, audited, sms.message_id)
    return outcome


def _act(command: CodeCommand, message_id: str, recipient: Recipient, stored: StoredMention, store: CommandStore,
         clock: Callable[[], float], poster: Poster | None) -> tuple[Outcome, str, str]:
    """(The outcome, the action's name, the audit's result: empty when nothing was done)."""
    code, network = command.code, network_name(stored.item.mention.network)
    gone = Outcome(f"Unknown code {code}. Send HELP for the commands.", "refused: mention gone", command)
    if isinstance(command, Ok):
        done = mark_handled(stored, recipient, store=store)
        if done.status == "nothing":
            return Outcome(f"{code} was already handled.", "nothing: already handled", command), "handled", ""
        if done.status == "gone":
            return gone, "handled", ""
        return Outcome(f"{code} marked handled.", "marked handled", command), "handled", "done by SMS"
    if isinstance(command, Snooze):
        done = snooze(stored, recipient, seconds=command.seconds, store=store, clock=clock)
        if not done.done:
            return gone, "snooze", ""
        local = dt.datetime.fromtimestamp(done.until, zoneinfo.ZoneInfo(recipient.timezone))
        return (Outcome(f"{code} snoozed until {local:%a %d %b %H:%M}.", f"snoozed until {done.until}", command),
                "snooze", "done by SMS")
    if isinstance(command, Mute) and command.thread:
        if not mute_thread(stored, recipient, store=store).done:
            return Outcome(f"{code} is in no conversation to mute.", "nothing: no thread", command), "mute_thread", ""
        return (Outcome(f"{code}: its thread is muted on {network}.", "muted the thread", command), "mute_thread",
                "done by SMS")
    if isinstance(command, Mute):
        if not mute_author(stored, recipient, store=store).done:
            return Outcome(f"{code} has no author to mute.", "nothing: no author", command), "mute_author", ""
        return (Outcome(f"{code}: its author is muted on {network}.", "muted the author", command), "mute_author",
                "done by SMS")
    if poster is None:
        request_reply(stored, recipient, text=command.text, store=store)
        return Outcome(f"{code}: reply requested on {network}.", "requested a reply", command), "reply", \
            "requested by SMS"
    outcome, audited = _reply(command, message_id, recipient, stored, store, poster)
    return outcome, "reply", audited


def _reply(command: Reply, message_id: str, recipient: Recipient, stored: StoredMention, store: CommandStore,
           poster: Poster) -> tuple[Outcome, str]:
    """Post the SMS's reply now, keyed by the inbound message (a redelivered message never
    posts twice); networks without a write API get the link to paste it at. Every attempt is
    recorded with ``record_reply``. (The outcome, the audit's result.)"""
    key, name, network = stored.key, recipient.name, network_name(stored.item.mention.network)
    if not can_reply(stored.item.mention.network):
        try:
            link = manual_link(stored)
        except ReplyError as err:
            store.record_reply(key, command.text, name, status="failed", detail=err.message)
            return (Outcome(f"Not posted: {network} has no API for replies and {err.message}.", "reply failed",
                            command), "not posted by SMS: no link to reply at")
        store.record_reply(key, command.text, name, status="manual", detail=link)
        return (Outcome(f"Not posted: {network} has no API for replies. Paste your reply there: {link}",
                        "sent the link to reply by hand", command), "link to reply by hand sent by SMS")
    idempotency_key = "sms-" + hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40]
    try:
        posted = post_reply(stored, recipient, text=command.text, key=idempotency_key, store=store, poster=poster)
        reason = "" if posted.done else posted.said  # said in words; nothing was posted, or the owner is told to look
    except Exception:  # the SNS retry is ignored (the message is spent): the owner must hear of it now
        log.exception("posting a reply by SMS failed")
        posted, reason = None, "an unexpected error; try again from the alert email"
    if posted is None or not posted.done:
        store.record_reply(key, command.text, name, status="failed", detail=reason)
        return Outcome(f"Not posted: {reason}", "reply failed", command), f"not posted by SMS: {reason}"
    store.record_reply(key, command.text, name, status="posted", detail=posted.reply.url)
    return Outcome(f"Posted: {posted.reply.url}", "posted a reply", command), "posted by SMS"


def _resolve(code: str, phones: list[Recipient], store: CommandStore,
             signer: TokenSigner) -> tuple[Recipient, StoredMention] | None:
    """The recipient and the mention behind a code, if the code was sent to this phone's
    recipient; else None, the reason logged (the sender learns only "unknown code")."""
    token = store.get_short_link(code)
    if token is None:
        log.info("refused an SMS command: no short link %s", code)
        return None
    try:
        parsed = signer.verify(token)
    except InvalidToken as err:
        log.info("refused an SMS command: the token of %s: %s", code, err)
        return None
    recipient = next((r for r in phones if r.name == parsed.recipient), None)
    if recipient is None or parsed.action != "handled":
        log.info("refused an SMS command: %s was not sent to this phone's recipient as a mention alert", code)
        return None
    stored = store.get_mention(parsed.mention_key)
    if stored is None:
        log.info("refused an SMS command: the mention of %s is gone", code)
        return None
    return recipient, stored


def _within_limit(outcome: Outcome, sms: InboundSms, store: CommandStore, clock: Callable[[], float]) -> Outcome:
    """The outcome, its answer withheld once the sender had ``ANSWERS_PER_HOUR`` this hour."""
    if outcome.answer is None:
        return outcome
    hour = dt.datetime.fromtimestamp(clock(), tz=dt.UTC).strftime("%Y-%m-%dT%H")
    if store.count_answers(sms.sender, hour) > ANSWERS_PER_HOUR:
        log.info("no answer to an SMS command: %d answers this hour already", ANSWERS_PER_HOUR)
        return Outcome(None, f"{outcome.done}; not answered (hourly limit)", outcome.command)
    return outcome


def handle_sns_event(event: Mapping[str, Any], *, config: ListenConfig, store: CommandStore, signer: TokenSigner,
                     clock: Callable[[], float], answer: Callable[[str, str], Any],
                     poster: Poster | None = None) -> list[Outcome]:
    """Every inbound SMS of a Lambda SNS event: handled (replies posted through ``poster``),
    and answered through ``answer(phone, text)``."""
    outcomes = []
    records = event.get("Records", []) if isinstance(event, Mapping) else []
    for record in records if isinstance(records, list) else []:
        sns = record.get("Sns", {}) if isinstance(record, Mapping) else {}
        sms = inbound(sns.get("Message", "") if isinstance(sns, Mapping) else "")
        if sms is None:
            continue
        outcome = handle(sms, config=config, store=store, signer=signer, clock=clock, poster=poster)
        if outcome.answer is not None:
            try:
                answer(sms.sender, outcome.answer)
            except Exception as err:  # an answer that fails must not redo the command (it was done)
                log.error("answer to an SMS command failed: %s", type(err).__name__)
        outcomes.append(outcome)
    return outcomes

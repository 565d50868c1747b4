"""Instant email alerts: multipart text + HTML built with the standard ``email`` package,
sent as raw MIME through SES v2. Every value that came from a network is escaped by
Jinja2's autoescape; only http(s) links are ever put in an href."""

from __future__ import annotations

import datetime as dt
import functools
import re
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

import jinja2
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.alerts import (
    AlertBundle,
    AlertItem,
    DeliveryFailed,
    network_name,
    send_failure,
    triage_words,
)
from chalicelib.links import ACTIONS
from chalicelib.model import MatchedMention
from chalicelib.networks import reach_label
from chalicelib.text import excerpt, one_line, safe_url, stars

PERMANENT_SES_ERRORS = {
    "MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
    "SendingPausedException", "BadRequestException", "NotFoundException",
}


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("chalicelib.alerts", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template(name: str) -> jinja2.Template:
    """A template of alerts/templates (autoescaped when its name ends in .html.j2), e.g. the digest's."""
    return _templates().get_template(name)


def header_text(text: str) -> str:
    """A header value no mail parser can turn into more than it shows: one line, no control or
    direction characters, and no RFC 2047 encoded word. ``=?`` opens an encoded word, which
    Python's email package (before CVE-2024-6923 was fixed) and mail clients decode, CR LF
    included, so it becomes ``= ?``."""
    return one_line(text, None).replace("=?", "= ?")


_ADDRESS_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def display_name(text: str) -> str:
    """A name for an address header: ``header_text`` without RFC 5322's specials (quotes,
    brackets, commas, dots...), which Python's email package refolds wrongly once the name
    also holds non-ASCII (``"Café (x)"`` loses its comment, ``"<a> é"`` its quotes)."""
    return " ".join(_ADDRESS_SPECIALS.sub(" ", header_text(text)).split())


def set_headers(message: EmailMessage, *, subject: str, business: str, from_address: str, to: tuple[str, str],
                reply_to: str | None = None, unsubscribe: str = "", date: dt.datetime | None = None) -> EmailMessage:
    """The headers every email of the service carries, each value through ``header_text``;
    ``unsubscribe`` an https URL for RFC 8058 one-click (List-Unsubscribe and -Post). ``Date``
    (RFC 5322 requires it) is ``date``, else now: SES would add one, a saved ``.eml`` would not."""
    message["Subject"] = header_text(subject)
    message["From"] = formataddr((display_name(f"{one_line(business, 60)} alerts"), header_text(from_address)))
    message["To"] = formataddr((display_name(to[0]), header_text(to[1])))
    if reply_to:
        message["Reply-To"] = header_text(reply_to)
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    message["Date"] = format_datetime((date or dt.datetime.now(dt.UTC)).astimezone(dt.UTC), usegmt=True)
    if safe_url(unsubscribe):
        message["List-Unsubscribe"] = f"<{header_text(unsubscribe)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """The raw message, checked by parsing it back: the same headers, in the same order, with
    the same values. Whatever the Python version, a value that would add or change a header
    on the way out is refused (``DeliveryFailed``, permanent) instead of sent."""
    from email import policy
    from email.parser import BytesParser

    data = message.as_bytes()
    parsed = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
    wrote = [name.lower() for name in message.keys()]
    if [name.lower() for name in parsed.keys()] != wrote:
        raise DeliveryFailed(f"the email's headers changed when written ({', '.join(parsed.keys())}); not sent",
                             permanent=True)
    for name in _unique(wrote):
        if [str(v) for v in parsed.get_all(name, [])] != [str(v) for v in message.get_all(name, [])]:
            raise DeliveryFailed(f"the email's {name} header changed when written; not sent", permanent=True)
    return data


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def when_in(created_at: dt.datetime, timezone: str) -> str:
    """A mention's time in the recipient's zone, the zone shown: "27 Nov 14:30 WET"."""
    import zoneinfo

    return created_at.astimezone(zoneinfo.ZoneInfo(timezone)).strftime("%d %b %H:%M %Z")


def _item_view(item: AlertItem, timezone: str) -> dict[str, Any]:
    matched = item.mention.item
    m = matched.mention
    spans = [span for match in matched.matches for span in match.spans]
    text = m.searchable_text
    body_offset = len(m.title) + 2 if m.title else 0
    body_spans = [(s - body_offset, e - body_offset) for s, e in spans if s >= body_offset]
    return {
        "network": " ".join(filter(None, (network_name(m.network), stars(m.rating)))),  # "Google reviews ★☆☆☆☆"
        "kind": m.kind,
        "author": one_line(m.author_name or m.author_handle or "someone", 60),
        "author_url": safe_url(m.author_url),
        "reach": None if m.reach is None else reach_label(m.network, m.reach),
        "when": when_in(m.created_at, timezone),
        "title": one_line(m.title, 200),
        "segments": excerpt(m.text if m.title else text, body_spans if m.title else spans),
        "plain": "".join(segment for segment, _ in excerpt(m.text, [])),
        "rules": ", ".join(matched.rule_names),
        "urgent": item.urgent,
        "triage": _triage_line(matched),
        "opportunity": bool(matched.triage and matched.triage.opportunity),
        "url": safe_url(m.url),
        "actions": [(ACTIONS[action], link) for action, link in item.links.items() if safe_url(link)],
        "also": [(network_name(network), safe_url(url)) for network, url in item.also],
    }


def _triage_line(matched: MatchedMention) -> str:
    """"Priority 72 · negative · asks for a recommendation · names a competitor"."""
    if matched.triage is None:
        return ""
    t = matched.triage
    return " · ".join((f"Priority {t.priority}", *triage_words(t)))


def more_line(bundle: AlertBundle) -> str:
    """Exactly how many mentions the email leaves out, and where the owner finds them (there is no
    inbox yet: the digest counts every alerted mention and lists the opportunities among them)."""
    hidden = bundle.hidden
    if hidden <= 0:
        return ""
    said = f"…and {hidden} more {'mention' if hidden == 1 else 'mentions'} in this period, not listed in this email."
    recipient = bundle.recipient
    digest = ("Your next daily digest" if recipient.daily_digest else
              f"Your weekly digest on {recipient.weekly_digest.capitalize()}" if recipient.weekly_digest else "")
    if not digest:
        them = "it" if hidden == 1 else "them"
        return f"{said} You get no digest (daily_digest is off in listen.yaml), so no email lists {them}."
    if hidden == 1:
        return f"{said} {digest} counts it, and lists it if it is an opportunity to answer."
    return f"{said} {digest} counts them all, and lists the opportunities to answer among them, most important first."


def subject_for(bundle: AlertBundle, business: str) -> str:
    if bundle.total == 1:
        m = bundle.items[0].mention.item.mention
        what = one_line(m.title or m.text, 70)
        prefix = "URGENT: " if bundle.items[0].urgent else ""
        return f"{prefix}New mention on {network_name(m.network)}: {what}"
    urgent = bundle.urgent_total if bundle.urgent_total is not None else sum(1 for i in bundle.items if i.urgent)
    prefix = f"URGENT ({urgent}): " if urgent else ""
    return f"{prefix}{bundle.total} new mentions of {one_line(business, 60)}"


def compose(bundle: AlertBundle, *, business: str, from_address: str, reply_to: str | None) -> EmailMessage:
    """The MIME message for a bundle: text/plain and text/html alternatives."""
    recipient = bundle.recipient
    if not recipient.email:
        raise DeliveryFailed(f"recipient {recipient.name} has no email address", permanent=True)
    subject = subject_for(bundle, business)
    heading = subject.removeprefix("URGENT: ")
    context = {
        "subject": subject,
        "heading": heading,
        "business": business,
        "items": [_item_view(item, recipient.timezone) for item in bundle.items],
        "hidden": bundle.hidden,
        "more": more_line(bundle),
        "inbox_link": safe_url(bundle.inbox_link) if bundle.hidden > 0 else "",
        "notices": [(n.text, n.link_label, safe_url(n.link)) for n in bundle.notices],
        "unsubscribe": safe_url(bundle.unsubscribe),
    }
    message = set_headers(EmailMessage(), subject=subject, business=business, from_address=from_address,
                          to=(recipient.name, recipient.email), reply_to=reply_to, unsubscribe=bundle.unsubscribe)
    message.set_content(_templates().get_template("email.txt.j2").render(context))
    message.add_alternative(_templates().get_template("email.html.j2").render(context), subtype="html")
    return unfolded(message)


def unfolded(message: EmailMessage) -> EmailMessage:
    """The message with headers written on one line when serialized (RFC 5322 allows 998
    characters): Python's folding of encoded words turns "Café" subjects into "  Café"."""
    message.policy = message.policy.clone(max_line_length=998)
    return message


class EmailChannel:
    """Sends bundles by SES v2 (``send_email`` with raw content)."""

    name = "email"

    def __init__(self, client: Any, *, business: str, from_address: str, reply_to: str | None = None,
                 configuration_set: str | None = None) -> None:
        self.client = client
        self.business = business
        self.from_address = from_address
        self.reply_to = reply_to
        self.configuration_set = configuration_set  # routes bounces and complaints to the feedback topic

    def send(self, bundle: AlertBundle) -> str:
        message = compose(bundle, business=self.business, from_address=self.from_address, reply_to=self.reply_to)
        assert bundle.recipient.email is not None  # compose refuses a recipient without one
        return self.send_message(message, bundle.recipient.email)

    def send_message(self, message: EmailMessage, to: str) -> str:
        """Send any composed message (alerts, digests, health notices); the provider's id."""
        extra = {"ConfigurationSetName": self.configuration_set} if self.configuration_set else {}
        try:
            response = self.client.send_email(
                FromEmailAddress=self.from_address,
                Destination={"ToAddresses": [to]},
                Content={"Raw": {"Data": message_bytes(message)}},
                **extra,
            )
        except (ClientError, BotoCoreError) as err:
            raise send_failure(err, "SES", "email", PERMANENT_SES_ERRORS) from None
        return str(response["MessageId"])

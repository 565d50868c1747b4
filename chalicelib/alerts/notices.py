"""Notices about the listening itself: a network that keeps failing (and works again), and a
spike in a rule group's volume."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from chalicelib.alerts import network_name
from chalicelib.alerts.email import one_line


def _notice(business: str, from_address: str, to_name: str, to_address: str, subject: str,
            body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((f"{one_line(business, 60)} alerts", from_address))
    message["To"] = formataddr((to_name, to_address))
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    message.set_content(body + "\n")
    return message


def compose_spike_notice(*, business: str, from_address: str, to_name: str, to_address: str, group: str,
                         count: int, usual: float) -> EmailMessage:
    """A rule group's volume this hour is far above the same hour on the days before."""
    what = {"brand": "your brand", "product": "your products", "competitor": "your competitors",
            "industry": "your industry"}.get(group, group)
    subject = f"{one_line(business, 60)} listening: spike in mentions of {what} ({count} this hour)"
    body = (f"{count} mentions of {what} this hour; usually about {usual:.0f} at this hour.\n\n"
            "Something is going on: the alert emails of this hour list them, most important first.")
    return _notice(business, from_address, to_name, to_address, subject, body)


def compose_health_notice(*, business: str, from_address: str, to_name: str, to_address: str, network: str,
                          down: bool, error: str | None, failures: int) -> EmailMessage:
    """The notice for one recipient. ``error`` is the connector's message, already in words."""
    name = network_name(network)
    if down:
        subject = f"{one_line(business, 60)} listening: {name} is failing ({failures} times in a row)"
        body = (f"{name} could not be read {failures} times in a row. The last error was:\n\n"
                f"    {one_line(error or 'unknown', 300)}\n\n"
                f"Mentions on {name} are not lost: the next successful poll fetches everything since the last "
                f"one. You will get one more email when {name} works again.")
    else:
        subject = f"{one_line(business, 60)} listening: {name} works again"
        body = f"{name} answered again; mentions since the outage are being fetched now."
    return _notice(business, from_address, to_name, to_address, subject, body)

"""Network health notices: one email when a network keeps failing, one when it works again."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from chalicelib.alerts import network_name
from chalicelib.alerts.email import one_line


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
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = formataddr((f"{one_line(business, 60)} alerts", from_address))
    message["To"] = formataddr((to_name, to_address))
    message["Message-ID"] = make_msgid(domain=from_address.rpartition("@")[2])
    message.set_content(body + "\n")
    return message

"""Assign a mention to another recipient: recorded as given by the actor, and the assignee told
by email once (the alert email's look, with links signed for them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.actions.common import GONE, Outcome
from chalicelib.links import TokenSigner, alert_actions, assignees

if TYPE_CHECKING:
    from email.message import EmailMessage

    from chalicelib.config import ListenConfig, Recipient
    from chalicelib.model import StoredMention

__all__ = ["assign", "assignees"]


def assign(stored: StoredMention, actor: Recipient, *, to: Recipient, job: str, config: ListenConfig, store: Any,
           signer: TokenSigner, mailer: Any, clock: Callable[[], float]) -> Outcome:
    """Give the mention to ``to`` (one of ``assignees(config, actor.name)``) and email them, once:
    the delivery is claimed under ``job`` (the link's nonce makes it unique) before it is sent,
    through the alerts' delivery path. ``mailer`` is the ``EmailChannel`` (None: no email here).
    ``gone`` if the mention is no longer stored; else ``done`` with what became of the email."""
    if not store.assign_mention(stored.key, to.name, actor.name):
        return GONE
    said, detail = _tell(stored, actor, to, job=job, config=config, store=store, signer=signer, mailer=mailer,
                         clock=clock)
    return Outcome("done", said, detail, mention=stored)


def _tell(stored: StoredMention, actor: Recipient, to: Recipient, *, job: str, config: ListenConfig, store: Any,
          signer: TokenSigner, mailer: Any, clock: Callable[[], float]) -> tuple[str, str]:
    """Email the assignee; (the audit's result, what the assigner is told)."""
    from chalicelib.alerts.delivery import send_claimed

    if mailer is None or not to.email:
        return f"assigned to {to.name}; no email", f"{to.name} was not emailed: this service sends no email here."
    if to.email.casefold() in store.suppressed():
        return (f"assigned to {to.name}; address suppressed",
                f"{to.name} was not emailed: their address unsubscribed or bounced. Tell them another way.")
    if not store.claim_delivery(job, to.name, "email", [stored.key]):
        return f"assigned to {to.name}; emailed before", f"{to.name} was emailed before."
    message, address = assignment_email(stored, actor, to, config=config, signer=signer, mailer=mailer), to.email
    # The alerts' delivery path; the person assigning is told now, so a transient failure is not retried.
    status, detail = send_claimed(store, job, to.name, "email", lambda: mailer.send_message(message, address),
                                  clock=clock, retry_later=False)
    if status == "unconfirmed":
        return (f"assigned to {to.name}; email unconfirmed",
                f"The email to {to.name} may not have arrived ({detail}). Check with them.")
    if status != "sent":
        return (f"assigned to {to.name}; email failed",
                f"The email to {to.name} could not be sent ({detail}). Tell them another way.")
    return f"assigned to {to.name}; emailed", f"{to.name} gets an email with the mention and their own links."


def assignment_email(stored: StoredMention, actor: Recipient, to: Recipient, *, config: ListenConfig,
                     signer: TokenSigner, mailer: Any) -> EmailMessage:
    """The alert email's look for one mention, with links signed for the assignee; replies go to
    the assigner when they have an address."""
    from chalicelib.alerts import AlertBundle, AlertItem, Notice, network_name
    from chalicelib.alerts.email import compose, header_text
    from chalicelib.alerts.router import is_urgent
    from chalicelib.text import one_line

    base = config.alerts.action_base_url
    links = {action: f"{base}/a/{signer.sign(stored.key, action, to.name)}"
             for action in alert_actions(config, to.name)}
    item = AlertItem(stored, links, urgent=is_urgent(stored, config.alerts.urgent_priority))
    notice = Notice(f"{actor.name} assigned this mention to you.", "", "")
    bundle = AlertBundle(to, (item,), 1, notices=(notice,))
    message = compose(bundle, business=mailer.business, from_address=mailer.from_address,
                      reply_to=actor.email or mailer.reply_to)
    mention = stored.item.mention
    what = one_line(mention.title or mention.text, 70)
    message.replace_header("Subject", header_text(f"{actor.name} assigned you a mention on "
                                                  f"{network_name(mention.network)}: {what}"))
    return message

"""The one delivery path of alerts, digests, notices and assignment emails: claim -> send -> record.

- The delivery is claimed first (a conditional write of ``JOB#<job>`` / ``D#<recipient>#<channel>``),
  so a retried, overlapping or resumed run never sends it twice; every write that can fail is made
  before the claim or after the send, never between them.
- The send is tried once: the SES and SNS clients do not retry (``chalicelib.runtime``), because a
  send is not idempotent.
- Sent: ``sent`` with the provider's id. Refused in a way that says it was not sent (throttling,
  a 5xx, no connection): ``retry`` 2, 10 and 30 minutes on, then ``failed``. Refused for good:
  ``failed``. No answer after the request went out (a read timeout, a closed connection): it may
  have been sent, so it is ``unconfirmed`` and never sent again.
- A claim whose run stopped before recording the result is found ``sending`` after its lease and
  becomes ``unconfirmed``. ``failed`` and ``unconfirmed`` deliveries are listed in the next digest
  and counted in the ``DeliveriesNotConfirmed`` metric.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from chalicelib.alerts import DeliveryFailed
from chalicelib.model import Delivery

if TYPE_CHECKING:
    from chalicelib.config import Recipient

log = logging.getLogger(__name__)

RETRY_BACKOFF_SECONDS = (120.0, 600.0, 1800.0)  # after the 1st, 2nd, 3rd transient failure of a delivery
MAX_DELIVERY_ATTEMPTS = len(RETRY_BACKOFF_SECONDS) + 1  # then it is failed for good
STOPPED_DETAIL = "the run sending it stopped before recording the result: it may not have arrived"


def send_claimed(store: Any, job_id: str, recipient: str, channel: str, send: Callable[[], str], *,
                 clock: Callable[[], float], retry: Delivery | None = None,
                 retry_later: bool = True) -> tuple[str, str | None]:
    """Send a claimed delivery (``send`` returns the provider's id or raises ``DeliveryFailed``)
    and record how it went. ``retry``: the claimed retry this send is (its ``attempts`` counts
    this try), None for a first send; ``retry_later``: False where nothing would send it again
    (a transient failure is then ``failed``). Out: (status, the message id or what went wrong)."""
    attempts = retry.attempts if retry is not None else 1

    def finish(status: str, *, message_id: str | None = None, detail: str | None = None) -> None:
        if retry is None:
            store.finish_delivery(job_id, recipient, channel, status, message_id=message_id, detail=detail)
        else:
            store.finish_retry(retry, attempts, status, message_id=message_id, detail=detail)

    try:
        message_id = send()
    except DeliveryFailed as err:
        if err.ambiguous:
            detail = f"{err}: it may have been sent, so it is not sent again"
            finish("unconfirmed", detail=detail)
            log.error("delivery unconfirmed: %s %s: %s", recipient, channel, detail)
            return "unconfirmed", detail
        if not err.permanent and retry_later and attempts < MAX_DELIVERY_ATTEMPTS:
            retry_at = clock() + RETRY_BACKOFF_SECONDS[attempts - 1]
            store.retry_delivery_later(job_id, recipient, channel, attempts=attempts, retry_at=retry_at,
                                       detail=str(err))
            log.warning("delivery failed (try %d), trying again in %.0f s: %s %s: %s", attempts,
                        retry_at - clock(), recipient, channel, err)
            return "retry", str(err)
        detail = str(err) if err.permanent or not retry_later else f"{err}; gave up after {attempts} tries"
        finish("failed", detail=detail)
        log.error("delivery failed: %s %s: %s", recipient, channel, detail)
        return "failed", detail
    finish("sent", message_id=message_id)
    return "sent", message_id


def deliver_once(store: Any, job_id: str, recipient: str, channel: str, mention_keys: Iterable[str],
                 send: Callable[[], str], *, clock: Callable[[], float],
                 retry_later: bool = True) -> tuple[str, str | None] | None:
    """Claim the delivery, send it and record how it went (``send_claimed``). None when it was
    recorded before (sent, failed or skipped by an earlier run): it is never sent twice."""
    if not store.claim_delivery(job_id, recipient, channel, list(mention_keys)):
        return None
    return send_claimed(store, job_id, recipient, channel, send, clock=clock, retry_later=retry_later)


def due_retries(store: Any, channels: Collection[str]) -> tuple[list[Delivery], list[Delivery]]:
    """Of the due deliveries (``store.due_retries``) on ``channels``: (those found still
    ``sending`` after their lease, now marked ``unconfirmed`` by this call: their run stopped
    mid-send, so they are never sent again; those whose retry is due, to claim with
    ``claim_retry``). Another run's deliveries, or ones the index lists late, are left out."""
    stopped, due = [], []
    for delivery in store.due_retries():
        if delivery.channel not in channels:
            continue
        if delivery.status == "sending":
            if unconfirm_stopped(store, delivery):
                stopped.append(delivery)
        elif delivery.status == "retry":
            due.append(delivery)
    return stopped, due


def unconfirm_stopped(store: Any, delivery: Delivery) -> bool:
    """Mark a delivery found ``sending`` after its run stopped ``unconfirmed`` (sent or not, we
    cannot know: never risk a duplicate); False when another run recorded it first."""
    return bool(store.finish_retry(delivery, delivery.attempts, "unconfirmed", detail=STOPPED_DETAIL))


def claim_retry(store: Any, delivery: Delivery, lease_seconds: float) -> Delivery | None:
    """Take a due retry (one more attempt, ``sending``) for this run; None when another run
    took it first. Everything that can fail before the send is made before this call."""
    if not store.claim_retry(delivery, lease_seconds):
        return None
    return replace(delivery, status="sending", attempts=delivery.attempts + 1)


def notify(store: Any, mailer: Any, recipients: Iterable[Recipient], job_id: str,
           compose: Callable[[str, str], EmailMessage], *, clock: Callable[[], float]) -> list[tuple[str, str]]:
    """Email a notice (``compose(name, address)``) to every recipient with an address, each a
    delivery of job ``job_id`` (a notice is told once: the caller's conditional write decides
    that, the job records how each send went). It is not retried later: a notice that fails is
    ``failed`` (or ``unconfirmed``) and listed in the next digest. Out: (name, status) of each
    send made (none for a delivery recorded before)."""
    if mailer is None or not hasattr(mailer, "send_message"):
        return []
    outcomes = []
    for recipient in recipients:
        address = recipient.email
        if not address:
            continue
        message = compose(recipient.name, address)
        outcome = deliver_once(store, job_id, recipient.name, "email", (),
                               lambda message=message, address=address: mailer.send_message(message, address),
                               clock=clock, retry_later=False)
        if outcome is not None:
            outcomes.append((recipient.name, outcome[0]))
    return outcomes

"""Unsubscribe a recipient's address: no more alert emails to it (SMS alerts, if any, go on)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome

if TYPE_CHECKING:
    from chalicelib.config import Recipient


class SuppressionStore(Protocol):
    def suppress(self, address: str, reason: str) -> None: ...


def unsubscribe(actor: Recipient, *, store: SuppressionStore) -> Outcome:
    """Suppress ``actor``'s email address (idempotent: unsubscribing twice does no harm);
    ``nothing`` when they have no address."""
    if not actor.email:
        return Outcome("nothing", "no address", "There is no email address to unsubscribe.")
    store.suppress(actor.email, "unsubscribed")
    return Outcome("done", "done", "No more alert emails will be sent to this address.")

"""Mute a mention's author: their mentions on that network are kept but no longer alerted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import StoredMention


class MuteStore(Protocol):
    def mute_author(self, network: str, handle: str, by: str) -> None: ...


def mute_author(stored: StoredMention, actor: Recipient, *, store: MuteStore) -> Outcome:
    """Mute the author of the mention on its network, recorded as muted by ``actor``;
    ``nothing`` when the mention has no author handle."""
    mention = stored.item.mention
    if not mention.author_handle:
        return Outcome("nothing", "nothing to mute", "This mention has no author handle.", mention=stored)
    store.mute_author(mention.network, mention.author_handle, by=actor.name)
    return Outcome("done", "muted the author", "Their mentions are kept but no longer alerted.", mention=stored)

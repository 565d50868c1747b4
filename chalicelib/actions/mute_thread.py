"""Mute a mention's conversation: its mentions are kept but no longer alerted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from chalicelib.actions.common import Outcome
from chalicelib.networks import thread_root

if TYPE_CHECKING:
    from chalicelib.config import Recipient
    from chalicelib.model import Mention, StoredMention

THREAD_ROOT_MAX_CHARS = 400  # a muted thread is a sort key; no conversation id is this long


class MuteStore(Protocol):
    def mute_thread(self, thread_root: str, by: str) -> None: ...


def thread_to_mute(mention: Mention) -> str | None:
    """``network:root`` of the conversation a mention belongs to, or None when it has none to
    mute: a comment whose conversation the network did not tell."""
    if mention.kind == "comment" and not mention.thread:
        return None
    root = thread_root(mention)
    return root if len(root) <= THREAD_ROOT_MAX_CHARS else None


def mute_thread(stored: StoredMention, actor: Recipient, *, store: MuteStore) -> Outcome:
    """Mute the mention's conversation, recorded as muted by ``actor``; ``nothing`` when it is
    part of no conversation that can be muted."""
    root = thread_to_mute(stored.item.mention)
    if root is None:
        return Outcome("nothing", "nothing to mute",
                       "This mention is not part of a conversation that can be muted.", mention=stored)
    store.mute_thread(root, by=actor.name)
    return Outcome("done", "muted the thread", "Mentions in this conversation are kept but no longer alerted.",
                   mention=stored)

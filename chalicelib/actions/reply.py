"""Reply to a mention: post the owner's text through the network's replier (exactly once per
idempotency key, however often it is sent again), or, for networks with no write API, the link
that opens the place to paste it. A posted reply leaves the mention handled."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.actions.common import Outcome, learn
from chalicelib.actions.handled import StateStore
from chalicelib.networks import can_reply, compose_link, label, replier_class
from chalicelib.replies import (
    NotReplyable,
    Reply,
    ReplyBadPayload,
    ReplyCredentialsError,
    ReplyError,
    ReplyMissingSecret,
    ReplyRateLimited,
    ReplyRefused,
    ReplyTooLong,
    ReplyUnavailable,
    ReplyUncertain,
)
from chalicelib.text import DIRECTION_CONTROLS

if TYPE_CHECKING:
    from chalicelib.config import ListenConfig, Recipient
    from chalicelib.model import StoredMention
    from chalicelib.sources.base import SecretLookup, SourceState

log = logging.getLogger(__name__)

_UNPRINTABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{DIRECTION_CONTROLS}\u200e\u200f\u061c]")


def reply_text(text: str) -> str:
    """A reply as the owner typed it, fit to post as the business: line breaks as ``\n``, no
    other control character and no direction override, isolate or mark (which would make the
    post read otherwise than it looks), no spaces around it. The composer page and SMS REPLY
    both post through this."""
    return _UNPRINTABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def unprintable_to_spaces(text: str) -> str:
    """``text`` with every character ``reply_text`` drops turned into a space."""
    return _UNPRINTABLE.sub(" ", text)


def manual_link(stored: StoredMention) -> str:
    """The link that opens the mention's thread to paste a reply by hand (networks with no
    write API); raises ``ReplyError`` when no safe link can be made."""
    return compose_link(stored.item.mention)


class Poster(Protocol):
    """What posts a reply (``ReplyPoster`` in production)."""

    def post(self, stored: StoredMention, text: str, key: str) -> Any:
        """Post ``text`` as a reply; the same ``key`` never posts twice. Raises ``ReplyError``."""
        ...


class ReplyPoster:
    """Builds the network's replier from listen.yaml and posts with it."""

    def __init__(self, config: ListenConfig, state: SourceState, secrets: SecretLookup,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.state = state
        self.secrets = secrets
        self.clock = clock

    def post(self, stored: StoredMention, text: str, key: str) -> Reply:
        """Post ``text`` as a reply; the same ``key`` never posts twice. Raises ``ReplyError``."""
        from chalicelib.sources.http import HttpClient

        network = stored.item.mention.network
        options: Any = self.config.networks.get(network)
        if options is None or not can_reply(network):
            raise ReplyError(network, "replies cannot be posted to this network from here")
        replier = replier_class(network)(options, http=HttpClient(network, timeout=options.timeout_seconds),
                                         secrets=self.secrets, state=self.state)  # type: ignore[call-arg]
        return replier.post(stored.item.mention, text, idempotency_key=key)


class RequestStore(Protocol):
    def request_reply(self, key: str, text: str, recipient: str) -> None: ...


def post_reply(stored: StoredMention, actor: Recipient, *, text: str, key: str, store: StateStore,
               poster: Poster) -> Outcome:
    """Post ``text`` (already ``reply_text``) for ``actor`` under the idempotency ``key``. ``done``
    with the reply (``reply.already_posted`` when this key had posted it before), and the
    mention marked handled; ``failed`` when the network refused (``said`` the detail for the
    audit, ``detail`` the owner's words). Any other error is raised: nothing is known posted."""
    try:
        reply = poster.post(stored, text, key)
    except ReplyError as err:  # nothing was posted, or the owner is told to look; the same key may be sent again
        log.warning("reply failed: %s", err)
        return Outcome("failed", err.message, owner_words(err), mention=stored)
    outcome = Outcome("done", "posted", "Posted. The mention is marked handled.", mention=stored, reply=reply)
    if reply.already_posted:  # the same reply sent again: learned the first time
        return outcome
    store.set_mention_state(stored.key, "handled")
    return learn(outcome, stored, "relevant", store=store)


def request_reply(stored: StoredMention, actor: Recipient, *, text: str, store: RequestStore) -> Outcome:
    """Record ``text`` as a reply ``actor`` asked for, to be posted later (no poster here)."""
    store.request_reply(stored.key, text, actor.name)
    return Outcome("done", "requested", mention=stored)


def owner_words(err: ReplyError) -> str:
    """A failed reply said to the owner: what happened on which network, and what to do
    ("Stack Exchange replies need the Stack Apps key: run `make secrets`, then send again.");
    the technical detail (``err.message``) stays in the log and the audit."""
    name = label(err.network)
    detail = err.message
    if isinstance(err, ReplyMissingSecret):
        where = "" if err.configured else (f"name the SSM parameter that holds it under networks.{err.network} in "
                                           "listen.yaml, then ")
        return f"{name} replies need the {err.what}: {where}run `make secrets`, then send the reply again."
    if isinstance(err, ReplyCredentialsError):
        return (f"{name} did not accept our credentials for replying ({detail}). Put a new one in its SSM "
                "parameter, then send the reply again.")
    if isinstance(err, ReplyRateLimited):
        wait = f" in {err.retry_after:.0f} seconds" if err.retry_after else " in a few minutes"
        return f"{name} asked us to slow down; nothing was posted. Send the reply again{wait}."
    if isinstance(err, ReplyUncertain):
        return f"{name}: {detail}."
    if isinstance(err, ReplyUnavailable):
        return f"{name} is failing right now ({detail}). Send the reply again in a few minutes."
    if isinstance(err, ReplyTooLong):
        return f"Not posted to {name}: {detail}."
    if isinstance(err, ReplyRefused):
        return f"{name} refused the reply: {detail}."
    if isinstance(err, NotReplyable):
        return f"This {name} mention cannot be replied to from here: {detail}."
    if isinstance(err, ReplyBadPayload):
        return f"{name} answered with something we could not read ({detail}); look at the thread before sending again."
    return f"{name}: {detail}."

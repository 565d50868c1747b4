"""Replying from an alert: a suggested draft by intent, and posting through the network's
replier (exactly once per composed reply, however often the page is sent again)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from chalicelib.alerts import DIRECTION_CONTROLS
from chalicelib.config import ListenConfig
from chalicelib.model import StoredMention
from chalicelib.replies import REPLIERS, Reply, ReplyError, limits, replier_class, units
from chalicelib.sources.base import SecretLookup, SourceState
from chalicelib.sources.http import HttpClient

DRAFTS = {  # by the first intent found, most specific first
    "complaint": "Hi {author}, we're sorry to hear this. Could you send us the details at {contact}? "
                 "We'd like to make it right.",
    "churn": "Hi {author}, thanks for considering {business}. Happy to answer anything before you decide.",
    "recommendation_request": "Hi {author}, {business} might be what you're looking for. Happy to help!",
    "question": "Hi {author}, happy to help with that: ",
    "purchase_intent": "Hi {author}, thanks for your interest! You can order at {contact}.",
    "praise": "Thank you so much, {author}! It means a lot to the whole {business} team.",
}
DEFAULT_DRAFT = "Hi {author}, thanks for mentioning {business}!"


def draft(stored: StoredMention, config: ListenConfig) -> str:
    """A starting text the owner edits: thanks for praise, help for a complaint, an answer
    for a question; the owner's template for the first intent found (listen.yaml
    ``replies.drafts``) over the built-in one. Only the author's name comes from the
    network (its display name, never an id; without one the greeting has no name), and only
    as a value: network text is never formatted as a template."""
    triage = stored.item.triage
    intents = triage.intents if triage else frozenset()
    owned = config.replies.drafts  # the owner's templates (listen.yaml), checked at load: only our three fields
    drafts = {**DRAFTS, **{k: v for k, v in owned.items() if k in DRAFTS}}
    template = next((drafts[i] for i in DRAFTS if i in intents), owned.get("default", DEFAULT_DRAFT))
    author = greeting_name(stored.item.mention.author_name)
    if not author:  # greet without a name: "Hi, ..." / "Thank you so much!"
        template = _NAME_SLOT.sub("", template)
    contact = config.business.website or config.alerts.reply_to or config.alerts.from_address
    return template.format(author=author, business=config.business.name, contact=contact)


_NAME_SLOT = re.compile(r"^(?<!\{)\{author\}(?!\})[,:!]?[ \t]*|,?[ \t]*(?<!\{)\{author\}(?!\})")
_NOT_A_NAME = re.compile(r"^(\d+|did:.*|\[deleted\])$")  # a numeric user id, a Bluesky DID, Reddit's gone author


def greeting_name(name: str) -> str:
    """The name to greet an author by: the display name the connector set (``author_name``),
    on one line, at most 60 characters; empty when there is none, or only an id."""
    name = " ".join(_UNPRINTABLE.sub(" ", name).split())[:60].strip()
    return "" if _NOT_A_NAME.match(name) else name


_UNPRINTABLE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{DIRECTION_CONTROLS}\u200e\u200f\u061c]")


def reply_text(text: str) -> str:
    """A reply as the owner typed it, fit to post as the business: line breaks as ``\n``, no
    other control character and no direction override, isolate or mark (which would make the
    post read otherwise than it looks), no spaces around it. The composer page and SMS REPLY
    both post through this."""
    return _UNPRINTABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()


def can_post(network: str) -> bool:
    return network in REPLIERS


def limit_text(network: str) -> str:
    return f"at most {limits[network]} {units.get(network, 'characters')}" if network in limits else ""


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
        network = stored.item.mention.network
        options: Any = self.config.networks.get(network)
        if options is None or not can_post(network):
            raise ReplyError(network, "replies cannot be posted to this network from here")
        replier = replier_class(network)(options, http=HttpClient(network, timeout=options.timeout_seconds),
                                         secrets=self.secrets, state=self.state)  # type: ignore[call-arg]
        return replier.post(stored.item.mention, text, idempotency_key=key)

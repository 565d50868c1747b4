"""The reply page of a Reply link: the mention, a suggested draft by intent the owner edits,
the network's limit; for networks without a write API, the draft to copy and a link that opens
the thread. Posting is ``chalicelib.actions.reply``'s."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from chalicelib.actions.reply import manual_link, unprintable_to_spaces
from chalicelib.networks import can_reply, reply_limit_text
from chalicelib.replies import ReplyError
from chalicelib.web.pages import Page, render
from chalicelib.web.views import mention_view

if TYPE_CHECKING:
    from chalicelib.config import ListenConfig
    from chalicelib.model import StoredMention

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
    name = " ".join(unprintable_to_spaces(name).split())[:60].strip()
    return "" if _NOT_A_NAME.match(name) else name


def composer_page(stored: StoredMention, config: ListenConfig, form_action: str, *, text: str | None, key: str,
                  status: int = 200, title: str = "Reply", message: str = "") -> Page:
    """The reply page: ``text`` in the editable box (None: the draft), ``key`` the idempotency
    key its form posts with."""
    network = stored.item.mention.network
    body = draft(stored, config) if text is None else text
    if can_reply(network):
        composer = {"text": body, "key": key, "limit": reply_limit_text(network), "manual_link": ""}
        return render(status, title, message=message, mention=mention_view(stored), form_action=form_action,
                      button="Post the reply", composer=composer)
    try:
        link = manual_link(stored)
    except ReplyError:
        link = ""
    return render(status, title, mention=mention_view(stored), message=message or
                  "This network has no API for replies: copy the draft and reply there.",
                  composer={"text": body, "key": "", "limit": "", "manual_link": link})

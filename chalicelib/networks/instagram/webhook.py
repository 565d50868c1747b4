"""Instagram webhook deliveries (already verified by their ``X-Hub-Signature-256``) as mentions.

A delivery is ``{"object": "instagram", "entry": [{"id": <ig-user-id>, "time": <seconds>,
"changes": [{"field", "value"}]}]}`` (contract/webhook_*.json, from Meta's documentation):

- ``comments``: ``value`` = ``{"id", "text", "from": {"id", "username"}, "media": {"id",
  "media_product_type"}, "parent_id"?}``, a comment on the account's own media. The media's
  permalink and owner are read through the connector (``GET /{media-id}``); the account's own
  comments and replies are not mentions. The comment's time is the entry's (the event has none).
- ``mentions``: ``value`` = ``{"comment_id", "media_id"}`` (an @mention in a comment) or
  ``{"media_id"}`` (in a caption): ids only, so the comment or the media is read through the
  connector (``mentioned_comment``/``mentioned_media``).

Entries for another account than the connector's ``ig_user_id`` and other fields
(``story_insights``, ``live_comments``...) give nothing. A delivery not in this shape raises
``BadPayload`` naming where; a read that fails raises its ``SourceError`` (Meta delivers again
when the endpoint does not answer 200, and polling fills the gap). Ids are checked as Graph ids
before any URL is built from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.sources.base import BadPayload

if TYPE_CHECKING:
    from chalicelib.networks.instagram.source import Instagram

NETWORK = "instagram"


def parse(payload: Mapping[str, Any], source: Instagram) -> list[Mention]:
    """The mentions one verified Instagram webhook delivery stands for (see the module doc)."""
    mentions: dict[str, Mention] = {}
    media_cache: dict[str, dict[str, str]] = {}
    for where, field, value, when in graph.delivery_changes(NETWORK, payload, "instagram", source.options.ig_user_id):
        if field == "comments":
            found = _comment(value, when, source, media_cache, where)
        elif field == "mentions":
            found = _mention(value, when, source, where)
        else:
            continue
        if found is not None:
            mentions.setdefault(found.native_id, found)
    return list(mentions.values())


def _comment(value: dict[str, Any], when: float, source: Instagram, media_cache: dict[str, dict[str, str]],
             where: str) -> Mention | None:
    media = value.get("media")
    if not isinstance(media, dict):
        raise BadPayload(NETWORK, f"{where}.value.media is not an object")
    media_id = graph.graph_id(NETWORK, media.get("id"), f"{where}.value.media.id")
    graph.graph_id(NETWORK, value.get("id"), f"{where}.value.id")
    sender = value.get("from")
    if sender is not None and not isinstance(sender, dict):
        raise BadPayload(NETWORK, f"{where}.value.from is not an object")
    if media_id not in media_cache:
        media_cache[media_id] = source.media(media_id)
    info = media_cache[media_id]
    username = sender.get("username") if isinstance(sender, dict) else None
    if info["owner"] and username == info["owner"]:
        return None  # the account's own comment or reply
    try:
        return source.comment_mention(value, info, None, when=when)
    except BadPayload as err:
        raise BadPayload(NETWORK, f"{where}: {err.message}") from None


def _mention(value: dict[str, Any], when: float, source: Instagram, where: str) -> Mention:
    media_id = graph.graph_id(NETWORK, value.get("media_id"), f"{where}.value.media_id")
    comment_id = value.get("comment_id")
    if comment_id is None:
        return source.mentioned_media(media_id, when=when)
    graph.graph_id(NETWORK, comment_id, f"{where}.value.comment_id")
    return source.mentioned_comment(comment_id, media_id, when=when)

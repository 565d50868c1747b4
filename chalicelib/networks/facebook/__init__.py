"""The Facebook Page the owner manages (Meta's Graph API, a Page access token): comments and
replies on the Page's posts, visitor posts, posts that mention (tag) the Page, recommendations
(``/{page-id}/ratings``: a negative one is urgent); replies as the Page (``POST /{object-id}/comments``).
Webhooks for the Page fields ``feed``, ``mention`` and ``ratings`` (``webhook.py``); polling
fills what webhooks miss."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.networks.graph import RATE_LIMIT_DOC
from chalicelib.networks.spec import Credential, Limit, NetworkSpec

if TYPE_CHECKING:
    from chalicelib.model import Mention


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    # the Platform (app) limit: 200 calls an hour per user of the app; a Page's own Business Use
    # Case limit (4800 a day times its engaged users) is higher for any Page that has visitors
    return (Limit(200.0, 3600.0, RATE_LIMIT_DOC),)


def negative_recommendation(mention: Mention) -> bool:
    """A recommendation that does not recommend the Page (rating 1) is urgent whatever the rules say."""
    return mention.thread.get("kind") == "rating" and mention.rating == 1


SPEC = NetworkSpec(
    name="facebook",
    label="Facebook Page",
    source="chalicelib.networks.facebook.source:FacebookPage",
    replier="chalicelib.networks.facebook.replier:FacebookReplier",
    emulator="chalicelib.networks.facebook.emulator:FacebookAPI",
    sites=("facebook.com", "fb.com"),
    thread_keys=("post_id",),
    reply_limit=8000,  # a Facebook comment holds at most 8000 characters
    limits=limits,
    credentials=(Credential("token_parameter", "Page access token", required=True),),
    owned=True,
    urgent_when=negative_recommendation,
    webhook="chalicelib.networks.facebook.webhook:parse",
)

"""Instagram (a professional account the owner manages, through Meta's Graph API): comments on
the account's own media, @mentions of it in captions and comments, media it is tagged in;
replies as the account (``/{comment-id}/replies``, ``/{ig-user-id}/mentions``). Webhooks for
``comments`` and ``mentions`` (``webhook.py``); polling fills what webhooks miss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.networks.graph import APP_ID, RATE_LIMIT_DOC
from chalicelib.networks.spec import Credential, Limit, NetworkSpec, OAuthConnect
from chalicelib.webhooks.options import WEBHOOK_CREDENTIALS


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    # Instagram's Business Use Case limit: 4800 calls a rolling day times the account's impressions,
    # at least that for a small account; the Platform (app) limit is 200 calls an hour per user.
    return (Limit(200.0, 3600.0, RATE_LIMIT_DOC),)


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    """The media listing, and the tags unless turned off (further comment pages and the daily
    ``debug_token`` come on top when there is that much)."""
    return 1 + int(bool(options.get("read_tags", True)))


SPEC = NetworkSpec(
    name="instagram",
    label="Instagram",
    source="chalicelib.networks.instagram.source:Instagram",
    replier="chalicelib.networks.instagram.replier:InstagramReplier",
    emulator="chalicelib.networks.instagram.emulator:InstagramAPI",
    reach_unit=("like", "likes"),  # a comment's like_count: what Instagram gives about it
    sites=("instagram.com",),
    thread_keys=("media_id",),
    # Instagram's own limit on a caption or a comment (the Graph API refuses longer text)
    reply_limit=2200,
    limits=limits,
    requests_per_poll=requests_per_poll,
    credentials=(Credential("token_parameter", "Instagram access token (Page or user token)", required=True),
                 *WEBHOOK_CREDENTIALS, APP_ID),
    owned=True,
    webhook="chalicelib.networks.instagram.webhook:parse",
    connect=OAuthConnect("meta", ("instagram_basic", "instagram_manage_comments", "pages_show_list",
                                  "pages_read_engagement"),
                         "token_parameter", "app_id_parameter", "app_secret_parameter",
                         docs="https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login"),
)

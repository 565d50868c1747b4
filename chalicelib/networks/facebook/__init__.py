"""The Facebook Page the owner manages (Meta's Graph API, a Page access token): comments and
replies on the Page's posts, visitor posts, posts that mention (tag) the Page, recommendations
(``/{page-id}/ratings``: a negative one is urgent); replies as the Page (``POST /{object-id}/comments``).
Webhooks for the Page fields ``feed``, ``mention`` and ``ratings`` (``webhook.py``); polling
fills what webhooks miss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.networks.graph import APP_ID, RATE_LIMIT_DOC
from chalicelib.networks.spec import Credential, Limit, NetworkSpec, OAuthConnect
from chalicelib.webhooks.options import WEBHOOK_CREDENTIALS

if TYPE_CHECKING:
    from chalicelib.model import Mention


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    # the Platform (app) limit: 200 calls an hour per user of the app; a Page's own Business Use
    # Case limit (4800 a day times its engaged users) is higher for any Page that has visitors
    return (Limit(200.0, 3600.0, RATE_LIMIT_DOC),)


def requests_per_poll(options: Mapping[str, Any], terms: Sequence[str], searches: int) -> int:
    """The feed, and the tagged posts and recommendations unless turned off (further comment pages
    and the daily ``debug_token`` come on top when there is that much)."""
    return 1 + int(bool(options.get("read_tagged", True))) + int(bool(options.get("read_ratings", True)))


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
    requests_per_poll=requests_per_poll,
    credentials=(Credential("token_parameter", "Page access token", required=True), *WEBHOOK_CREDENTIALS,
                 APP_ID),
    owned=True,
    urgent_when=negative_recommendation,
    webhook="chalicelib.networks.facebook.webhook:parse",
    connect=OAuthConnect("meta", ("pages_show_list", "pages_read_engagement", "pages_read_user_content",
                                  "pages_manage_engagement"),
                         "token_parameter", "app_id_parameter", "app_secret_parameter",
                         docs="https://developers.facebook.com/docs/pages-api/getting-started"),
)

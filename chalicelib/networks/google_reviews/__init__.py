"""Google reviews: the reviews of the owner's own Business Profile locations (Business Profile
API v4 ``accounts.locations.reviews``), each one a mention; replies with ``updateReply`` (OAuth)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.networks.spec import Credential, Limit, NetworkSpec, OAuthConnect

if TYPE_CHECKING:
    from chalicelib.model import Mention

LIMITS_DOC = "https://developers.google.com/my-business/content/limits"
QUERIES_PER_MINUTE = 300  # the default of every Business Profile API (429 RESOURCE_EXHAUSTED beyond it)
DEFAULT_URGENT_STARS = 1


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    return (Limit(QUERIES_PER_MINUTE, 60.0, LIMITS_DOC),)


def requests_per_poll(options: Mapping[str, Any], terms: Any, searches: int) -> int:
    """One listing a location (first pages only), plus the token request once an hour at most."""
    return max(1, len(options.get("locations") or ()))


def urgent_when(mention: Mention) -> bool:
    """A review at or below the owner's ``urgent_stars`` (one star by default) is urgent.

    The threshold is an option of the network; the connector puts it in ``mention.thread``
    (``urgent_stars``) so that this spec reads no configuration."""
    if mention.rating is None:
        return False
    try:
        threshold = int(mention.thread.get("urgent_stars", DEFAULT_URGENT_STARS))
    except ValueError:
        threshold = DEFAULT_URGENT_STARS
    return mention.rating <= threshold


SPEC = NetworkSpec(
    name="google_reviews",
    label="Google reviews",
    source="chalicelib.networks.google_reviews.source:GoogleReviews",
    emulator="chalicelib.networks.google_reviews.emulator:GoogleReviewsAPI",
    replier="chalicelib.networks.google_reviews.replier:GoogleReviewsReplier",
    sites=("business.google.com", "maps.google.com"),
    # A review and every later version of it (updateTime moved) are one conversation: its name.
    thread_keys=("review",),
    # ReviewReply.comment: "The maximum length is 4096 bytes" (the API reference), of UTF-8.
    reply_limit=4096,
    reply_unit="bytes",
    limits=limits,
    requests_per_poll=requests_per_poll,
    credentials=(Credential("oauth_refresh_token_parameter", "OAuth refresh token", required=True),
                 Credential("oauth_client_id_parameter", "OAuth client id", required=True),
                 Credential("oauth_client_secret_parameter", "OAuth client secret", required=True)),
    owned=True,
    urgent_when=urgent_when,
    connect=OAuthConnect("google", ("https://www.googleapis.com/auth/business.manage",),
                         "oauth_refresh_token_parameter", "oauth_client_id_parameter", "oauth_client_secret_parameter",
                         docs="https://developers.google.com/my-business/content/implement-oauth"),
)

"""X (API v2 recent search, app bearer token): sold per post read, so polled within a monthly budget the owner
sets in dollars (``monthly_budget_usd``), never exceeded; no replies through the API (they are sold per post and
need the owner's user token): the alert links to X's reply intent instead."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.model import Mention
from chalicelib.networks.manual import not_replyable
from chalicelib.networks.spec import Credential, Limit, NetworkSpec

POST_ID = re.compile(r"^[0-9]{1,19}\Z")


def limits(options: Mapping[str, Any]) -> tuple[Limit, ...]:
    # GET /2/tweets/search/recent: 450 requests per 15 minutes per app
    return (Limit(450.0, 900.0, "https://docs.x.com/x-api/fundamentals/rate-limits"),)


def manual_reply(mention: Mention) -> str:
    """X's Web Intent to reply to the post (https://docs.x.com/x-for-websites/web-intents/overview)."""
    if not POST_ID.match(mention.native_id):
        raise not_replyable(mention.network, "the post id is not a number")
    return f"https://x.com/intent/tweet?in_reply_to={mention.native_id}"


SPEC = NetworkSpec(
    name="x",
    label="X",
    source="chalicelib.networks.x.source:X",
    emulator="chalicelib.networks.x.emulator:XAPI",
    sites=("x.com", "twitter.com", "t.co"),
    thread_keys=("conversation_id",),
    limits=limits,
    query_separator=" OR ",
    credentials=(Credential("bearer_token_parameter", "app bearer token", required=True),),
    manual_reply=manual_reply,
)

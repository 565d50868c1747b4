"""Hook Net's poller: the owner's comments, newest first (the polling fallback of its webhooks)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from chalicelib.model import Mention
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    Cursor,
    FetchResult,
    SourceBase,
    SourceOptions,
    zoned_time,
)
from chalicelib.sources.http import decode_json
from chalicelib.webhooks.options import WebhookOptions
from tests.webhook_net import SPEC


class HookNetOptions(WebhookOptions):
    pass


class HookNet(SourceBase):
    spec: ClassVar[Any] = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=False, replies=False, local_stream=True)
    options_model: ClassVar[type[SourceOptions]] = HookNetOptions

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        resp = self.http.request("GET", self.options.base_url + "/comments", budget=budget)
        comments = decode_json(self.name, resp)["data"]
        mentions = [comment_mention(c["id"], c["text"], c["username"], c["timestamp"], c["media_id"])
                    for c in comments]
        return FetchResult(mentions, {}, pages=1)


def comment_mention(comment_id: str, text: str, username: str, when: Any, media_id: str) -> Mention:
    """One comment as a mention, the same from a poll and from a delivery."""
    created = dt.datetime.fromtimestamp(when, tz=dt.UTC) if isinstance(when, int) else zoned_time(when)
    if created is None or not comment_id:
        raise BadPayload(SPEC.name, "a comment without an id or a time")
    return Mention(network=SPEC.name, native_id=comment_id, url=f"https://hooknet.example/p/{media_id}",
                   text=text, created_at=created, kind="comment", author_handle=username,
                   thread={"media": media_id})

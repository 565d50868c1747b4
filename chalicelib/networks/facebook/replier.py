"""Replying on Facebook as the Page: ``POST /{object-id}/comments`` (form ``message``) with the
Page access token, where the object is the comment, the visitor or tagging post, or the
recommendation's story (``thread["object_id"]``, a checked Graph id). The answer is ``{"id": ...}``;
the reply's link is the mention's. A POST is sent once, never retried (BaseReplier)."""

from __future__ import annotations

from typing import ClassVar

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.facebook import SPEC
from chalicelib.networks.facebook.source import FacebookOptions
from chalicelib.replies import BaseReplier, NotReplyable, Reply
from chalicelib.sources.base import BadPayload, SourceOptions, require_secret
from chalicelib.sources.http import decode_json


class FacebookReplier(BaseReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = FacebookOptions

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, FacebookOptions)
        [object_id] = self._thread(mention, "object_id")
        try:
            object_id = graph.graph_id(self.network, object_id, "the mention's object_id")
        except BadPayload as err:
            raise NotReplyable(self.network, err.message) from None
        token = require_secret(self.network, self._secrets, self.options.token_parameter, SPEC.credentials[0].what)
        url = f"{self.options.base_url.rstrip('/')}/{graph.GRAPH_VERSION}/{object_id}/comments"
        resp = self._post(url, data={"message": text}, headers={"Authorization": f"Bearer {token}"},
                          accept=graph.ERROR_STATUSES)
        if resp.status_code in graph.ERROR_STATUSES:
            raise graph.graph_error(self.network, SPEC.label, resp)
        posted = decode_json(self.network, resp)
        new_id = posted.get("id") if isinstance(posted, dict) else None
        return Reply(url=mention.url, native_id=graph.graph_id(self.network, new_id, "the posted reply's id"))

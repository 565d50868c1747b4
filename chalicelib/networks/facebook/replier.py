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
from chalicelib.networks.instagram.replier import GraphReplier
from chalicelib.replies import Reply
from chalicelib.sources.base import SourceOptions


class FacebookReplier(GraphReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = FacebookOptions

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, FacebookOptions)
        [object_id] = self._thread(mention, "object_id")
        url = f"{self.options.base_url.rstrip('/')}/{graph.GRAPH_VERSION}/{self._checked(object_id, 'object_id')}"
        return self._post_form(f"{url}/comments", {"message": text}, mention)

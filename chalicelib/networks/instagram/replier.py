"""Replying on Instagram as the account, through the Graph API (the connector's token, which
needs ``instagram_manage_comments``):

- a comment on the account's media (``thread["kind"] == "comment"``): ``POST /{comment-id}/replies``
  (form ``message``); Instagram takes replies on top-level comments only, so a reply's thread
  holds its parent's id;
- an @mention in someone else's comment or caption (``"mention"``): ``POST /{ig-user-id}/mentions``
  (form ``media_id``, ``comment_id`` for a comment, ``message``);
- media the account is tagged in (``"tag"``): Instagram offers no API comment there
  (NotReplyable, said in words).

The answer is ``{"id": <new comment id>}``; Instagram has no permalink of a comment, so the
reply's link is the mention's (the media). A POST is sent once, never retried (BaseReplier).
"""

from __future__ import annotations

from typing import ClassVar

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.instagram import SPEC
from chalicelib.networks.instagram.source import InstagramOptions
from chalicelib.replies import BaseReplier, NotReplyable, Reply
from chalicelib.sources.base import BadPayload, SourceOptions, require_secret
from chalicelib.sources.http import decode_json


class GraphReplier(BaseReplier):
    """Posting with a Graph API token (the Facebook Page's replier too): one form POST, Meta's
    errors said for what they are, the new comment's id checked."""

    def _post_form(self, url: str, form: dict[str, str], mention: Mention) -> Reply:
        token = require_secret(self.network, self._secrets, getattr(self.options, "token_parameter", None),
                               self.spec.credentials[0].what)
        resp = self._post(url, data=form, headers={"Authorization": f"Bearer {token}"}, accept=graph.ERROR_STATUSES)
        if resp.status_code in graph.ERROR_STATUSES:
            raise graph.graph_error(self.network, self.spec.label, resp)
        posted = decode_json(self.network, resp)
        new_id = posted.get("id") if isinstance(posted, dict) else None
        return Reply(url=mention.url, native_id=graph.graph_id(self.network, new_id, "the posted reply's id"))

    def _checked(self, value: str, name: str) -> str:
        """A Graph id from the mention's thread, or NotReplyable (nothing else goes into a URL)."""
        try:
            return graph.graph_id(self.network, value, f"the mention's {name}")
        except BadPayload as err:
            raise NotReplyable(self.network, err.message) from None


class InstagramReplier(GraphReplier):
    spec = SPEC
    options_model: ClassVar[type[SourceOptions]] = InstagramOptions

    def _send(self, mention: Mention, text: str, idempotency_key: str) -> Reply:
        assert isinstance(self.options, InstagramOptions)
        kind = mention.thread.get("kind")
        if kind == "tag":
            raise NotReplyable(self.network, "Instagram does not let an account comment through its API on media "
                                             "it is tagged in: reply in the Instagram app")
        base = f"{self.options.base_url.rstrip('/')}/{graph.GRAPH_VERSION}"
        if kind == "comment":
            [comment_id] = self._thread(mention, "comment_id")
            url = f"{base}/{self._checked(comment_id, 'comment_id')}/replies"
            form = {"message": text}
        elif kind == "mention":
            [media_id] = self._thread(mention, "media_id")
            form = {"media_id": self._checked(media_id, "media_id"), "message": text}
            if mention.thread.get("comment_id"):
                form["comment_id"] = self._checked(mention.thread["comment_id"], "comment_id")
            url = f"{base}/{self.options.ig_user_id}/mentions"
        else:
            raise NotReplyable(self.network, "the mention says neither a comment nor an @mention to answer")
        return self._post_form(url, form, mention)

"""Replying on Facebook as the Page against the emulated Graph API: ``POST /{object-id}/comments``
on the comment, the visitor post or the recommendation's story."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from chalicelib.model import Mention
from chalicelib.networks.facebook.emulator import PAGE_ID, FacebookAPI, facebook_post, recommendation
from chalicelib.networks.facebook.replier import FacebookReplier
from chalicelib.networks.facebook.source import FacebookOptions
from chalicelib.replies import NotReplyable, ReplyCredentialsError, ReplyError, ReplyTooLong
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

KEY = "reply-0001-abcd"
TOKEN = "/listen/facebook/token"
POST = facebook_post(3, NOW - 600, "Is the terrace open?")
COMMENT = POST["comments"]["data"][0]


def api(srv: ReplayServer) -> FacebookAPI:
    emulation = srv.apis["facebook"]
    assert isinstance(emulation, FacebookAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *,
            token: str = "fb-page-token") -> FacebookReplier:  # noqa: S107 - the emulator's token
    options = FacebookOptions(base_url=srv.base_url("facebook"), page_id=PAGE_ID, token_parameter=TOKEN,
                              timeout_seconds=2.0)
    return FacebookReplier(options, http=HttpClient("facebook", timeout=2.0, sleep=lambda s: None),
                           secrets=secrets({TOKEN: token}), state=state, clock=lambda: NOW)


def comment_mention(object_id: str = COMMENT["id"]) -> Mention:
    return Mention(network="facebook", native_id=object_id, url=COMMENT["permalink_url"], text=COMMENT["message"],
                   created_at=dt.datetime.fromtimestamp(NOW - 600, tz=dt.UTC), kind="comment",
                   author_handle="Guest 3", author_name="Guest 3",
                   thread={"kind": "comment", "post_id": POST["id"], "object_id": object_id})


def test_a_comment_is_answered_under_it_as_the_page(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("facebook", [POST])
    reply = replier(srv, memory_state).post(comment_mention(), "Yes, from 10! ☀", idempotency_key=KEY)
    [sent] = posts(srv, "facebook")
    assert (sent.path, sent.body) == (f"/v21.0/{COMMENT['id']}/comments", b"message=Yes%2C+from+10%21+%E2%98%80")
    assert sent.headers["authorization"] == "Bearer fb-page-token"
    assert (reply.url, reply.native_id) == (COMMENT["permalink_url"], api(srv).posted[-1]["id"])


def test_a_recommendation_is_answered_on_its_story(srv: ReplayServer, memory_state: MemoryState) -> None:
    review = recommendation(1, NOW - 60, "Cold coffee", positive=False)
    srv.add_items("facebook", [review])
    story = review["open_graph_story"]["id"]
    mention = dataclasses.replace(comment_mention(story), thread={"kind": "rating", "post_id": story,
                                                                   "object_id": story})
    replier(srv, memory_state).post(mention, "We are sorry, please write to us", idempotency_key=KEY)
    [sent] = posts(srv, "facebook")
    assert sent.path == f"/v21.0/{story}/comments"


def test_an_id_that_is_not_a_graph_id_is_never_put_in_a_url(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(NotReplyable, match="object_id is not a Graph API id"):
        replier(srv, memory_state).post(comment_mention("me/feed"), "Hi", idempotency_key=KEY)
    assert srv.received["facebook"] == []


def test_an_expired_token_says_how_to_reconnect(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("facebook", [POST])
    with pytest.raises(ReplyCredentialsError, match=r"code 190.*reconnect Facebook Page: run `make connect "
                                                    r"NETWORK=facebook`") as err:
        replier(srv, memory_state, token="fb-stale-token").post(comment_mention(), "Hi", idempotency_key=KEY)
    assert "fb-stale-token" not in str(err.value)


def test_a_reply_over_8000_characters_is_refused_before_any_request(srv: ReplayServer,
                                                                   memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the reply is 8001 characters; the limit is 8000"):
        replier(srv, memory_state).post(comment_mention(), "x" * 8001, idempotency_key=KEY)
    assert srv.received["facebook"] == []


def test_a_comment_that_is_gone_is_a_reply_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyError, match=r"request refused \(HTTP 400, code 100: Unsupported post request"):
        replier(srv, memory_state).post(comment_mention("1003_9999"), "Hi", idempotency_key=KEY)

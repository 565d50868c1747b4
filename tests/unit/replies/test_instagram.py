"""Replying on Instagram as the account against the emulated Graph API: a comment on the
account's media gets ``POST /{comment-id}/replies``, an @mention ``POST /{ig-user-id}/mentions``,
a tagged media cannot be answered through the API."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from chalicelib.model import Mention
from chalicelib.networks.instagram.emulator import IG_USER_ID, InstagramAPI, instagram_media
from chalicelib.networks.instagram.replier import InstagramReplier
from chalicelib.networks.instagram.source import InstagramOptions
from chalicelib.replies import NotReplyable, ReplyCredentialsError, ReplyError, ReplyTooLong
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

KEY = "reply-0001-abcd"
TOKEN = "/listen/instagram/token"
MEDIA = instagram_media(3, NOW - 600, "Do you have oat milk?")
COMMENT = MEDIA["comments"]["data"][0]


def api(srv: ReplayServer) -> InstagramAPI:
    emulation = srv.apis["instagram"]
    assert isinstance(emulation, InstagramAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, token: str = "ig-page-token") -> InstagramReplier:  # noqa: S107 - the emulator's token
    options = InstagramOptions(base_url=srv.base_url("instagram"), ig_user_id=IG_USER_ID, token_parameter=TOKEN,
                               timeout_seconds=2.0)
    return InstagramReplier(options, http=HttpClient("instagram", timeout=2.0, sleep=lambda s: None),
                            secrets=secrets({TOKEN: token}), state=state, clock=lambda: NOW)


def comment_mention(**thread: str) -> Mention:
    return Mention(network="instagram", native_id=COMMENT["id"], url=MEDIA["permalink"], text=COMMENT["text"],
                   created_at=dt.datetime.fromtimestamp(NOW - 600, tz=dt.UTC), kind="comment",
                   author_handle=COMMENT["username"], author_name=COMMENT["username"],
                   thread=thread or {"kind": "comment", "media_id": MEDIA["id"], "comment_id": COMMENT["id"]})


def test_a_comment_is_answered_under_it_as_the_account(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("instagram", [MEDIA])
    reply = replier(srv, memory_state).post(comment_mention(), "We do! ☕", idempotency_key=KEY)
    [sent] = posts(srv, "instagram")
    assert sent.path == f"/v21.0/{COMMENT['id']}/replies"
    assert sent.body == b"message=We+do%21+%E2%98%95"
    assert sent.headers["authorization"] == "Bearer ig-page-token"
    assert api(srv).posted[-1]["message"] == "We do! ☕"
    assert (reply.url, reply.native_id) == (MEDIA["permalink"], api(srv).posted[-1]["id"])


def test_an_at_mention_is_answered_through_the_mentions_edge(srv: ReplayServer, memory_state: MemoryState) -> None:
    mention = comment_mention(kind="mention", media_id="17870000000000001", comment_id="17880000000000001")
    replier(srv, memory_state).post(mention, "Open 8-14 on Sundays", idempotency_key=KEY)
    [sent] = posts(srv, "instagram")
    assert sent.path == f"/v21.0/{IG_USER_ID}/mentions"
    assert sent.body == b"media_id=17870000000000001&message=Open+8-14+on+Sundays&comment_id=17880000000000001"


def test_a_caption_mention_is_answered_without_a_comment_id(srv: ReplayServer, memory_state: MemoryState) -> None:
    mention = comment_mention(kind="mention", media_id="17870000000000001")
    replier(srv, memory_state).post(mention, "Thank you!", idempotency_key=KEY)
    [sent] = posts(srv, "instagram")
    assert sent.body == b"media_id=17870000000000001&message=Thank+you%21"


def test_a_tagged_media_cannot_be_answered_and_nothing_is_sent(srv: ReplayServer, memory_state: MemoryState) -> None:
    mention = comment_mention(kind="tag", media_id="17890000000000001")
    with pytest.raises(NotReplyable, match="tagged in: reply in the Instagram app"):
        replier(srv, memory_state).post(mention, "Thanks!", idempotency_key=KEY)
    assert posts(srv, "instagram") == []


def test_an_id_that_is_not_a_graph_id_is_never_put_in_a_url(srv: ReplayServer, memory_state: MemoryState) -> None:
    mention = comment_mention(kind="comment", media_id=MEDIA["id"], comment_id="../me/feed")
    with pytest.raises(NotReplyable, match="comment_id is not a Graph API id"):
        replier(srv, memory_state).post(mention, "Thanks!", idempotency_key=KEY)
    assert srv.received["instagram"] == []


def test_an_expired_token_says_how_to_reconnect(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("instagram", [MEDIA])
    with pytest.raises(ReplyCredentialsError, match=r"code 190.*reconnect Instagram: run `make connect "
                                                    r"NETWORK=instagram`") as err:
        replier(srv, memory_state, token="ig-stale-token").post(comment_mention(), "Hi", idempotency_key=KEY)
    assert "ig-stale-token" not in str(err.value)


def test_a_reply_over_2200_characters_is_refused_before_any_request(srv: ReplayServer,
                                                                   memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the reply is 2201 characters; the limit is 2200"):
        replier(srv, memory_state).post(comment_mention(), "x" * 2201, idempotency_key=KEY)
    assert srv.received["instagram"] == []


def test_a_comment_that_is_gone_is_a_reply_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    gone = dataclasses.replace(comment_mention(), thread={"kind": "comment", "media_id": MEDIA["id"],
                                                          "comment_id": "17999999999999999"})
    with pytest.raises(ReplyError, match=r"request refused \(HTTP 400, code 100: Unsupported post request"):
        replier(srv, memory_state).post(gone, "Hi", idempotency_key=KEY)

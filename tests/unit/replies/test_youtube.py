"""Replying on YouTube with commentThreads.insert / comments.insert, against the emulated API."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from chalicelib.model import Mention
from chalicelib.replies import Reply, ReplyError, ReplyRefused, ReplyTooLong, ReplyUncertain
from chalicelib.replies.youtube import YouTubeReplier, YouTubeReplyOptions
from chalicelib.sources.base import CredentialsError, RateLimited, Unavailable
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from offline.replay.youtube import YouTubeAPI, youtube_video
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

KEY = "reply-0001-abcd"
VIDEO = youtube_video("bTcafe0001a", NOW - 580, "Bean There Café: Lisbon's best specialty coffee? ☕",
                      channel_id="UCcoffeeTravel0000000001", channel_title="Coffee Travels")
QUOTA_BODY = json.dumps({"error": {"code": 403, "message": "quota", "errors": [
    {"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}).encode()


def api(srv: ReplayServer) -> YouTubeAPI:
    emulation = srv.apis["youtube"]
    assert isinstance(emulation, YouTubeAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, token: str = "test-oauth-token",  # noqa: S107
            timeout: float = 2.0) -> YouTubeReplier:
    options = YouTubeReplyOptions(base_url=srv.base_url("youtube"), oauth_token_parameter="/yt/oauth",
                                  timeout_seconds=timeout)
    return YouTubeReplier(options, http=HttpClient("youtube", timeout=timeout, sleep=lambda s: None),
                          secrets=secrets({"/yt/oauth": token}), state=state)


def mention(comment_id: str = "") -> Mention:
    thread = {"video_id": "bTcafe0001a", "channel_id": "UCcoffeeTravel0000000001"}
    if comment_id:
        thread["comment_id"] = comment_id
    return Mention(network="youtube", native_id="bTcafe0001a", url="https://www.youtube.com/watch?v=bTcafe0001a",
                   text="We tried the cold brew", title="Bean There Café", thread=thread,
                   created_at=dt.datetime.fromtimestamp(NOW - 580, tz=dt.UTC))


def test_comment_on_a_video_sends_the_documented_insert(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    reply = replier(srv, memory_state).post(mention(), "Obrigado! Come back for the cold brew ☕",
                                            idempotency_key=KEY)
    (request,) = srv.received["youtube"]
    assert (request.method, request.path, request.query) == ("POST", "/youtube/v3/commentThreads",
                                                             [("part", "snippet")])
    assert request.headers["authorization"] == "Bearer test-oauth-token"
    assert json.loads(request.body) == {"snippet": {
        "videoId": "bTcafe0001a", "channelId": "UCcoffeeTravel0000000001",
        "topLevelComment": {"snippet": {"textOriginal": "Obrigado! Come back for the cold brew ☕"}}}}
    (posted,) = api(srv).posted
    assert posted["snippet"]["textOriginal"] == "Obrigado! Come back for the cold brew ☕"
    assert reply == Reply(url=f"https://www.youtube.com/watch?v=bTcafe0001a&lc={posted['id']}",
                          native_id=posted["id"])


def test_reply_to_a_comment_uses_comments_insert_with_the_parent(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    top = replier(srv, memory_state).post(mention(), "First comment here", idempotency_key=KEY)
    reply = replier(srv, memory_state).post(mention(top.native_id), "And a reply", idempotency_key=KEY + "-2")
    request = srv.received["youtube"][-1]
    assert (request.path, request.query) == ("/youtube/v3/comments", [("part", "snippet")])
    assert json.loads(request.body) == {"snippet": {"parentId": top.native_id, "textOriginal": "And a reply"}}
    assert reply.native_id.startswith(top.native_id + ".")
    assert reply.url == f"https://www.youtube.com/watch?v=bTcafe0001a&lc={reply.native_id}"


def test_comments_disabled_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    api(srv).comments_disabled.add("bTcafe0001a")
    with pytest.raises(ReplyRefused, match=r"HTTP 403: commentsDisabled"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)


def test_rejected_token_is_a_credentials_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    with pytest.raises(CredentialsError, match="authError") as err:
        replier(srv, memory_state, token="expired").post(mention(), "Hello there!", idempotency_key=KEY)
    assert isinstance(err.value, ReplyError)


def test_quota_exceeded_is_rate_limited(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("youtube", Fault(status=403, body=QUOTA_BODY))
    with pytest.raises(RateLimited, match="quota"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)


def test_429_is_rate_limited(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("youtube", Fault(status=429, headers={"Retry-After": "3"}))
    with pytest.raises(RateLimited) as err:
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert err.value.retry_after == 3


def test_503_is_unavailable_and_sent_once(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("youtube", Fault(status=503))
    with pytest.raises(Unavailable, match="HTTP 503"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert len(posts(srv, "youtube")) == 1


def test_timeout_is_not_retried(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("youtube", Fault(delay_seconds=0.6))
    with pytest.raises(ReplyUncertain):
        replier(srv, memory_state, timeout=0.2).post(mention(), "Hello there!", idempotency_key=KEY)
    assert len(posts(srv, "youtube")) == 1


def test_second_call_with_the_same_key_posts_nothing(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    first = replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY).url == first.url
    assert len(posts(srv, "youtube")) == 1


def test_over_10000_characters_is_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the limit is 10000"):
        replier(srv, memory_state).post(mention(), "é" * 10001, idempotency_key=KEY)
    assert srv.received["youtube"] == []

"""Replying on YouTube with commentThreads.insert / comments.insert, against the emulated API,
with access tokens made from the refresh token by the emulated Google token endpoint."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.config import load_config
from chalicelib.model import Mention
from chalicelib.networks.youtube.emulator import YouTubeAPI, youtube_video
from chalicelib.networks.youtube.replier import YouTubeReplier, YouTubeReplyOptions, forget_access_tokens
from chalicelib.replies import Reply, ReplyCredentialsError, ReplyError, ReplyRefused, ReplyTooLong
from chalicelib.sources.base import CredentialsError, RateLimited
from chalicelib.sources.http import HttpClient
from infra.secret_setup import needed_secrets
from offline.replay.server import Fault, ReplayServer, Request
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, secrets

KEY = "reply-0001-abcd"
VIDEO = youtube_video("bTcafe0001a", NOW - 580, "Bean There Café: Lisbon's best specialty coffee? ☕",
                      channel_id="UCcoffeeTravel0000000001", channel_title="Coffee Travels")
QUOTA_BODY = json.dumps({"error": {"code": 403, "message": "quota", "errors": [
    {"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}]}}).encode()


def api(srv: ReplayServer) -> YouTubeAPI:
    emulation = srv.apis["youtube"]
    assert isinstance(emulation, YouTubeAPI)
    return emulation


REFRESH, CLIENT_ID, CLIENT_SECRET = "/yt/oauth-refresh", "/yt/oauth-client-id", "/yt/oauth-client-secret"


@pytest.fixture(autouse=True)
def no_access_token_held() -> Iterator[None]:
    forget_access_tokens()
    yield
    forget_access_tokens()


def replier(srv: ReplayServer, state: MemoryState, *, refresh: str = "test-refresh-token",
            timeout: float = 2.0, clock: float = NOW) -> YouTubeReplier:
    options = YouTubeReplyOptions(base_url=srv.base_url("youtube"), oauth_refresh_token_parameter=REFRESH,
                                  oauth_client_id_parameter=CLIENT_ID, oauth_client_secret_parameter=CLIENT_SECRET,
                                  oauth_token_url=srv.base_url("youtube") + "/token", timeout_seconds=timeout)
    table = {REFRESH: refresh, CLIENT_ID: "test-client-id", CLIENT_SECRET: "test-client-secret"}
    return YouTubeReplier(options, http=HttpClient("youtube", timeout=timeout, sleep=lambda s: None),
                          secrets=secrets(table), state=state, clock=lambda: clock)


def inserts(srv: ReplayServer) -> list[Request]:
    """The commentThreads/comments inserts the network received (not the token requests)."""
    return [r for r in srv.received["youtube"] if r.method == "POST" and r.path.startswith("/youtube/v3/")]


def token_requests(srv: ReplayServer) -> list[Request]:
    return [r for r in srv.received["youtube"] if r.path == "/token"]


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
    (request,) = inserts(srv)
    assert (request.method, request.path, request.query) == ("POST", "/youtube/v3/commentThreads",
                                                             [("part", "snippet")])
    assert request.headers["authorization"].startswith("Bearer ya29.a0")
    assert request.headers["authorization"][7:] in api(srv).oauth_tokens
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
    unauthorized = Fault(status=401, body=json.dumps({"error": {
        "code": 401, "errors": [{"reason": "authError", "domain": "global"}]}}).encode())
    srv.inject("youtube", Fault(passthrough=True), unauthorized, Fault(passthrough=True), unauthorized)
    with pytest.raises(CredentialsError, match="authError") as err:
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert isinstance(err.value, ReplyError)
    assert len(inserts(srv)) == 2  # a new token was tried once


def test_quota_exceeded_is_rate_limited(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("youtube", Fault(passthrough=True), Fault(status=403, body=QUOTA_BODY))
    with pytest.raises(RateLimited, match="quota"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)


def test_over_10000_characters_is_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the limit is 10000"):
        replier(srv, memory_state).post(mention(), "é" * 10001, idempotency_key=KEY)
    assert srv.received["youtube"] == []


# --- issue 11, defect 4: the access token is made from the refresh token and renewed -----------


def test_the_access_token_comes_from_the_refresh_token_and_stays_in_memory(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    replier(srv, memory_state).post(mention(), "First reply", idempotency_key=KEY)
    replier(srv, memory_state).post(mention(), "Second reply", idempotency_key=KEY + "-2")
    (token_request,) = token_requests(srv)  # the second post used the token this process holds
    assert token_request.method == "POST"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sorted(token_request.body.decode().split("&")) == sorted([
            "grant_type=refresh_token", "refresh_token=test-refresh-token", "client_id=test-client-id",
            "client_secret=test-client-secret"])
    (issued,) = api(srv).oauth_tokens
    assert [r.headers["authorization"] for r in inserts(srv)] == [f"Bearer {issued}"] * 2
    assert issued not in str(memory_state.values)  # never stored, only held in memory


def test_an_access_token_near_its_expiry_is_renewed_before_use(srv: ReplayServer, memory_state: MemoryState) -> None:
    """Defect 4: replies stopped an hour after the token was stored; now a token about to
    expire is replaced from the refresh token."""
    srv.add_items("youtube", [VIDEO])
    replier(srv, memory_state, clock=NOW).post(mention(), "First reply", idempotency_key=KEY)
    api(srv).expire_access_tokens()  # an hour later, server side too
    reply = replier(srv, memory_state, clock=NOW + 3599 - 30).post(mention(), "An hour later",
                                                                   idempotency_key=KEY + "-2")
    assert len(token_requests(srv)) == 2
    assert reply.native_id == api(srv).posted[-1]["id"]
    first, second = inserts(srv)
    assert first.headers["authorization"] != second.headers["authorization"]


def test_a_token_revoked_early_is_renewed_once_and_the_reply_posted_once(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    replier(srv, memory_state).post(mention(), "First reply", idempotency_key=KEY)
    api(srv).expire_access_tokens()  # the held token still looks good for an hour here
    replier(srv, memory_state).post(mention(), "Second reply", idempotency_key=KEY + "-2")
    assert [r.path for r in srv.received["youtube"]] == [
        "/token", "/youtube/v3/commentThreads", "/youtube/v3/commentThreads", "/token", "/youtube/v3/commentThreads"]
    assert [p["snippet"]["textOriginal"] for p in api(srv).posted] == ["First reply", "Second reply"]


def test_a_revoked_refresh_token_is_said_in_words(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    api(srv).refresh_tokens.clear()
    with pytest.raises(ReplyCredentialsError, match=r"refused the OAuth refresh token \(HTTP 400: invalid_grant\)"
                                                    r".*store the new one in /yt/oauth-refresh") as err:
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert "test-refresh-token" not in str(err.value) and "test-client-secret" not in str(err.value)
    assert inserts(srv) == []


def test_a_wrong_client_secret_is_said_in_words(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("youtube", [VIDEO])
    api(srv).oauth_clients = {"test-client-id": "another-secret"}
    with pytest.raises(ReplyCredentialsError, match=r"refused the OAuth client \(HTTP 401: invalid_client\); "
                                                    r"check /yt/oauth-client-id and /yt/oauth-client-secret"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert inserts(srv) == []


def test_a_missing_refresh_token_parameter_names_it(srv: ReplayServer, memory_state: MemoryState) -> None:
    options = YouTubeReplyOptions(base_url=srv.base_url("youtube"), oauth_client_id_parameter=CLIENT_ID,
                                  oauth_client_secret_parameter=CLIENT_SECRET)
    with pytest.raises(ReplyCredentialsError, match="no SSM parameter is configured for the OAuth refresh token"):
        YouTubeReplier(options, http=HttpClient("youtube"), secrets=secrets({}), state=memory_state).post(
            mention(), "Hello there!", idempotency_key=KEY)


def test_the_old_fixed_access_token_option_is_refused_with_what_to_set() -> None:
    with pytest.raises(ValidationError, match="oauth_token_parameter is no longer read: an OAuth access token "
                                              "expires after an hour"):
        YouTubeReplyOptions.model_validate({"oauth_token_parameter": "/yt/oauth"})


def test_the_token_endpoint_must_be_https() -> None:
    with pytest.raises(ValidationError, match="not an https token endpoint URL"):
        YouTubeReplyOptions(oauth_token_url="http://oauth2.example/token")
    assert YouTubeReplyOptions().oauth_token_url == "https://oauth2.googleapis.com/token"


def test_make_secrets_asks_for_the_refresh_token_and_the_client_as_secure_strings(tmp_path: Path) -> None:
    path = tmp_path / "listen.yaml"
    path.write_text("""\
business: {name: Bean There Cafe, website: https://beanthere.example}
rules: [{name: brand, group: brand, keywords: [Bean There]}]
networks:
  youtube:
    key_parameter: /social-listening/youtube/key
    oauth_refresh_token_parameter: /social-listening/youtube/oauth-refresh-token
    oauth_client_id_parameter: /social-listening/youtube/oauth-client-id
    oauth_client_secret_parameter: /social-listening/youtube/oauth-client-secret
recipients: [{name: Maria, email: maria@beanthere.example, phone: "+351912345678"}]
alerts: {from_address: alerts@beanthere.example}
""", encoding="utf-8")
    found = [(s.parameter, s.what) for s in needed_secrets(load_config(path)) if "youtube" in s.parameter]
    assert found == [
        ("/social-listening/youtube/key", "youtube key"),
        ("/social-listening/youtube/oauth-refresh-token", "youtube oauth refresh token"),
        ("/social-listening/youtube/oauth-client-id", "youtube oauth client id"),
        ("/social-listening/youtube/oauth-client-secret", "youtube oauth client secret"),
    ]

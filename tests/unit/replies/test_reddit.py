"""Replying on Reddit with /api/comment, against the emulated OAuth API."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import pytest

from chalicelib.model import Mention
from chalicelib.networks.reddit.emulator import RedditAPI, comment, post
from chalicelib.networks.reddit.replier import RedditReplier
from chalicelib.networks.reddit.source import RedditOptions
from chalicelib.replies import Reply, ReplyError, ReplyRefused, ReplyTooLong
from chalicelib.sources.base import CredentialsError, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

USER_AGENT = "python:bean-there-listening:0.1 (by /u/beanthere)"
PARAMS = {"client_id_parameter": "/r/id", "client_secret_parameter": "/r/secret", "username_parameter": "/r/user",
          "password_parameter": "/r/password"}
KEY = "reply-0001-abcd"
QUESTION = post(900001, NOW - 540, "Best specialty coffee in Lisbon? Bean There Café vs Fábrica Coffee",
                selftext="Is Bean There Café worth the trip?", author="travel_mia")
COMPLAINT = comment(900102, NOW - 300, "Still nothing arrived.", link_number=900001, author="grumpy_grinder")


def api(srv: ReplayServer) -> RedditAPI:
    emulation = srv.apis["reddit"]
    assert isinstance(emulation, RedditAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, password: str = "hunter2",  # noqa: S107
            timeout: float = 2.0) -> RedditReplier:
    options = RedditOptions(base_url=srv.base_url("reddit"), auth_base_url=srv.base_url("reddit"),
                            user_agent=USER_AGENT, timeout_seconds=timeout, **PARAMS)
    table = {"/r/id": "app-client-id", "/r/secret": "app-client-secret", "/r/user": "beanthere",
             "/r/password": password}
    return RedditReplier(options, http=HttpClient("reddit", timeout=timeout, sleep=lambda s: None),
                         secrets=secrets(table), state=state, clock=lambda: NOW)


def logged_in(srv: ReplayServer, state: MemoryState) -> str:
    """A token cached by an earlier cycle, so the first request is the comment."""
    api(srv).tokens.add("cached-token")
    state.put_state("reddit", "oauth", {"access_token": "cached-token", "expires_at": NOW + 3600})
    return "cached-token"


def mention_of(thing: dict[str, Any]) -> Mention:
    data = thing["data"]
    thread = {"fullname": data["name"]}
    if thing["kind"] == "t1":
        thread |= {"link_id": data["link_id"], "parent_id": data["parent_id"]}
    return Mention(network="reddit", native_id=data["name"], url="https://www.reddit.com" + data["permalink"],
                   text=data.get("body") or data.get("selftext", ""),
                   kind="comment" if thing["kind"] == "t1" else "post",
                   created_at=dt.datetime.fromtimestamp(data["created_utc"], tz=dt.UTC), thread=thread)


def comment_requests(srv: ReplayServer) -> list[Any]:
    return [r for r in posts(srv, "reddit") if r.path == "/api/comment"]


def test_reply_logs_in_and_sends_the_documented_form(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("reddit", [QUESTION])
    reply = replier(srv, memory_state).post(mention_of(QUESTION), "Yes! Try the **cold brew** ☕",
                                            idempotency_key=KEY)
    login, request = srv.received["reddit"]
    assert login.path == "/api/v1/access_token"
    assert (request.method, request.path) == ("POST", "/api/comment")
    token = memory_state.get_state("reddit", "oauth")["access_token"]  # type: ignore[index]
    assert request.headers["authorization"] == f"bearer {token}"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("api_type", "json"), ("thing_id", "t3_jag1"),
                                                 ("text", "Yes! Try the **cold brew** ☕")]
    (posted,) = api(srv).posted
    assert posted["data"]["body"] == "Yes! Try the **cold brew** ☕"
    cid = posted["data"]["id"]
    assert reply == Reply(
        url=f"https://www.reddit.com/r/lisbon/comments/jag1/best_specialty_coffee_in_lisbon_bean_there_café/{cid}/",
        native_id=f"t1_{cid}")


def test_reply_to_a_comment_uses_its_fullname(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    srv.add_items("reddit", [QUESTION, COMPLAINT])
    reply = replier(srv, memory_state).post(mention_of(COMPLAINT), "Sorry! DM us your order number.",
                                            idempotency_key=KEY)
    (request,) = comment_requests(srv)
    assert dict(parse_qsl(request.body.decode()))["thing_id"] == "t1_jaiu"
    assert api(srv).posted[0]["data"]["parent_id"] == "t1_jaiu"
    assert reply.url.startswith("https://www.reddit.com/r/lisbon/comments/jag1/comment/")


def test_ratelimit_error_is_rate_limited_with_the_wait_reddit_says(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    srv.add_items("reddit", [QUESTION])
    api(srv).comment_wait_minutes = 4
    with pytest.raises(RateLimited, match="retry after 240 s") as err:
        replier(srv, memory_state).post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert err.value.retry_after == 240
    assert isinstance(err.value, ReplyError)


def test_locked_thread_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    locked = {"kind": "t3", "data": {**QUESTION["data"], "locked": True}}
    srv.add_items("reddit", [locked])
    with pytest.raises(ReplyRefused, match=r"refused the comment \(THREAD_LOCKED\)"):
        replier(srv, memory_state).post(mention_of(locked), "Thanks!", idempotency_key=KEY)
    assert api(srv).posted == []


def test_expired_token_gets_one_new_login_and_one_resend(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    api(srv).expire_tokens()
    srv.add_items("reddit", [QUESTION])
    replier(srv, memory_state).post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert [r.path for r in srv.received["reddit"]] == ["/api/comment", "/api/v1/access_token", "/api/comment"]
    assert len(api(srv).posted) == 1


def test_wrong_password_is_a_credentials_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("reddit", [QUESTION])
    with pytest.raises(CredentialsError, match="username or password rejected"):
        replier(srv, memory_state, password="wrong").post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert comment_requests(srv) == []


def test_over_10000_characters_is_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="10001 characters; the limit is 10000"):
        replier(srv, memory_state).post(mention_of(QUESTION), "x" * 10001, idempotency_key=KEY)
    assert srv.received["reddit"] == []

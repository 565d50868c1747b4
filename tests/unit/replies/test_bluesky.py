"""Replying on Bluesky with createRecord, against the emulated PDS."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from chalicelib.model import Mention
from chalicelib.networks.bluesky.emulator import BlueskyAPI, post_view
from chalicelib.networks.bluesky.replier import BlueskyReplier
from chalicelib.networks.bluesky.source import BlueskyOptions
from chalicelib.replies import Reply, ReplyError, ReplyTooLong
from chalicelib.sources.base import CredentialsError, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

HANDLE, PASSWORD = "/listen/bluesky/handle", "/listen/bluesky/app-password"
OWNER_DID = "did:plc:beantherecafe7x2kq3m4w5v"
KEY = "reply-0001-abcd"
QUESTION = post_view(NOW - 480, "Anyone tried the Beanbag subscription from Bean There Café?",
                     handle="rui.bsky.social", did="did:plc:rui7coffee3k", display_name="Rui")
ANSWER = post_view(NOW - 420, "Yes! It's great", handle="marta.bsky.social", did="did:plc:marta2lx9p",
                   display_name="Marta", reply_to=QUESTION)


def api(srv: ReplayServer) -> BlueskyAPI:
    emulation = srv.apis["bluesky"]
    assert isinstance(emulation, BlueskyAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, password: str = "abcd-efgh-ijkl-mnop",  # noqa: S107
            timeout: float = 2.0) -> BlueskyReplier:
    options = BlueskyOptions(base_url=srv.base_url("bluesky"), handle_parameter=HANDLE,
                             app_password_parameter=PASSWORD, timeout_seconds=timeout)
    return BlueskyReplier(options, http=HttpClient("bluesky", timeout=timeout, sleep=lambda s: None),
                          secrets=secrets({HANDLE: "beanthere.bsky.social", PASSWORD: password}), state=state,
                          clock=lambda: NOW)


def logged_in(srv: ReplayServer, state: MemoryState) -> None:
    """A session cached by an earlier cycle, so the first request is the one under test."""
    session = api(srv)._new_session()
    state.put_state("bluesky", "session", {k: session[k] for k in ("accessJwt", "refreshJwt", "did", "handle")})


def mention_of(post: dict[str, Any]) -> Mention:
    """The mention as the connector makes it (thread: the post, its root and its parent)."""
    reply = post["record"].get("reply")
    root = reply["root"] if reply else {"uri": post["uri"], "cid": post["cid"]}
    parent = reply["parent"] if reply else {"uri": post["uri"], "cid": post["cid"]}
    rkey = post["uri"].rsplit("/", 1)[1]
    return Mention(network="bluesky", native_id=post["uri"],
                   url=f"https://bsky.app/profile/{post['author']['handle']}/post/{rkey}",
                   text=post["record"]["text"], created_at=dt.datetime.fromtimestamp(NOW - 400, tz=dt.UTC),
                   kind="comment" if reply else "post", author_handle=post["author"]["handle"],
                   thread={"uri": post["uri"], "cid": post["cid"], "root_uri": root["uri"], "root_cid": root["cid"],
                           "parent_uri": parent["uri"], "parent_cid": parent["cid"]})


def create_bodies(srv: ReplayServer) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in posts(srv, "bluesky") if r.path == "/xrpc/com.atproto.repo.createRecord"]


def test_reply_logs_in_and_creates_the_documented_record(srv: ReplayServer, memory_state: MemoryState) -> None:
    reply = replier(srv, memory_state).post(mention_of(QUESTION), "Yes, every month ☕", idempotency_key=KEY)
    login, create = srv.received["bluesky"]
    assert (login.method, login.path) == ("POST", "/xrpc/com.atproto.server.createSession")
    assert (create.method, create.path) == ("POST", "/xrpc/com.atproto.repo.createRecord")
    session = memory_state.get_state("bluesky", "session")
    assert session is not None
    assert create.headers["authorization"] == f"Bearer {session['accessJwt']}"
    assert create.headers["content-type"] == "application/json"
    ref = {"uri": QUESTION["uri"], "cid": QUESTION["cid"]}
    assert json.loads(create.body) == {
        "repo": OWNER_DID,
        "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "Yes, every month ☕",
                   "createdAt": dt.datetime.fromtimestamp(NOW, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                   "reply": {"root": ref, "parent": ref}},
    }
    assert api(srv).posted == [json.loads(create.body)]
    rkey = reply.native_id.rsplit("/", 1)[1]
    assert reply == Reply(url=f"https://bsky.app/profile/beanthere.bsky.social/post/{rkey}",
                          native_id=f"at://{OWNER_DID}/app.bsky.feed.post/{rkey}")


def test_reply_to_a_reply_keeps_the_thread_root(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    replier(srv, memory_state).post(mention_of(ANSWER), "Glad you like it!", idempotency_key=KEY)
    (body,) = create_bodies(srv)
    assert body["record"]["reply"] == {"root": {"uri": QUESTION["uri"], "cid": QUESTION["cid"]},
                                       "parent": {"uri": ANSWER["uri"], "cid": ANSWER["cid"]}}


def test_facets_have_exact_utf8_byte_offsets(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    text = "Olá @rui.bsky.social ☕ see https://beanthere.example/menu."
    replier(srv, memory_state).post(mention_of(QUESTION), text, idempotency_key=KEY)
    (body,) = create_bodies(srv)
    # "Olá " is 5 bytes (á is 2); the handle 16; " ☕ see " 9 (☕ is 3); the link 30, without the final dot.
    assert body["record"]["facets"] == [
        {"index": {"byteStart": 5, "byteEnd": 21},
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:rui7coffee3k"}]},
        {"index": {"byteStart": 30, "byteEnd": 60},
         "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://beanthere.example/menu"}]},
    ]
    assert text.encode()[5:21] == b"@rui.bsky.social"
    assert text.encode()[30:60] == b"https://beanthere.example/menu"
    # The replied-to author's DID comes from the post uri: no resolveHandle.
    assert [r.path for r in srv.received["bluesky"]] == ["/xrpc/com.atproto.repo.createRecord"]


def test_other_handles_are_resolved_and_unknown_ones_stay_plain_text(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    srv.add_items("bluesky", [QUESTION, ANSWER])
    text = "👋 @marta.bsky.social and @nobody.example.com"
    replier(srv, memory_state).post(mention_of(QUESTION), text, idempotency_key=KEY)
    resolves = [r for r in srv.received["bluesky"] if r.path == "/xrpc/com.atproto.identity.resolveHandle"]
    assert [r.param("handle") for r in resolves] == ["marta.bsky.social", "nobody.example.com"]
    (body,) = create_bodies(srv)
    assert body["record"]["facets"] == [
        {"index": {"byteStart": 5, "byteEnd": 23},
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:marta2lx9p"}]},
    ]


def test_300_emoji_graphemes_fit(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    replier(srv, memory_state).post(mention_of(QUESTION), "👍🏽" * 300, idempotency_key=KEY)
    assert len(api(srv).posted) == 1


def test_301_graphemes_are_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="is 301 graphemes; the limit is 300"):
        replier(srv, memory_state).post(mention_of(QUESTION), "e\u0301" * 301, idempotency_key=KEY)
    assert srv.received["bluesky"] == []


def test_over_3000_bytes_is_refused_even_under_300_graphemes(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="3600 bytes in UTF-8; the limit is 3000"):
        replier(srv, memory_state).post(mention_of(QUESTION), "👨‍👩‍👧" * 200, idempotency_key=KEY)
    assert srv.received["bluesky"] == []


def test_expired_access_token_is_refreshed_and_the_post_sent_once_more(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    api(srv).expire_access_tokens()
    replier(srv, memory_state).post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert [r.path for r in srv.received["bluesky"]] == [
        "/xrpc/com.atproto.repo.createRecord", "/xrpc/com.atproto.server.refreshSession",
        "/xrpc/com.atproto.repo.createRecord"]
    assert len(api(srv).posted) == 1


def test_wrong_app_password_is_a_credentials_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(CredentialsError, match="app password rejected") as err:
        replier(srv, memory_state, password="wrong").post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert isinstance(err.value, ReplyError)
    assert create_bodies(srv) == []


def test_429_is_rate_limited(srv: ReplayServer, memory_state: MemoryState) -> None:
    logged_in(srv, memory_state)
    srv.inject("bluesky", Fault(status=429, headers={"ratelimit-reset": str(NOW + 120)}))
    with pytest.raises(RateLimited) as err:
        replier(srv, memory_state).post(mention_of(QUESTION), "Thanks!", idempotency_key=KEY)
    assert err.value.retry_after == 120
    assert len(posts(srv, "bluesky")) == 1



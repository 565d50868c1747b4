"""Replying on Mastodon from the home instance, against the emulated instances."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
from requests.adapters import HTTPAdapter

from chalicelib.model import Mention
from chalicelib.networks.mastodon.emulator import snowflake, status
from chalicelib.networks.mastodon.replier import MastodonReplier, MastodonReplyOptions
from chalicelib.replies import (
    NotReplyable,
    Reply,
    ReplyCredentialsError,
    ReplyRefused,
    ReplyTooLong,
    ReplyUncertain,
)
from chalicelib.sources.base import CredentialsError, Unavailable
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

TOKEN = "/listen/mastodon/token"
KEY = "reply-0001-abcd"


def home(srv: ReplayServer, host: str = "mastodon.social") -> str:
    return f"{srv.base_url('mastodon')}/{host}"


def replier(srv: ReplayServer, state: MemoryState, *, token: str = "good-token",  # noqa: S107
            timeout: float = 2.0) -> MastodonReplier:
    options = MastodonReplyOptions(instances=[home(srv)], access_token_parameter=TOKEN, timeout_seconds=timeout)
    return MastodonReplier(options, http=HttpClient("mastodon", timeout=timeout, sleep=lambda s: None),
                           secrets=secrets({TOKEN: token}), state=state)


def local_mention(srv: ReplayServer, status_id: str = "") -> Mention:
    """A status read on the home instance: its local id is known, no lookup is needed."""
    status_id = status_id or snowflake(NOW - 60, 1)
    return Mention(network="mastodon", native_id=f"https://mastodon.social/users/ana_lx/statuses/{status_id}",
                   url=f"https://mastodon.social/@ana_lx/{status_id}", text="Bean There Café is great",
                   created_at=dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC), kind="post",
                   author_handle="ana_lx@mastodon.social", lang="en", community="mastodon.social",
                   thread={"instance": home(srv), "id": status_id,
                           "uri": f"https://mastodon.social/users/ana_lx/statuses/{status_id}",
                           "url": f"https://mastodon.social/@ana_lx/{status_id}"})


def remote_mention(srv: ReplayServer, item: dict[str, Any]) -> Mention:
    """A status read on another instance (fosstodon.org): the home instance must resolve it."""
    return Mention(network="mastodon", native_id=item["uri"], url=item["url"], text="ship outside Portugal?",
                   created_at=dt.datetime.fromtimestamp(NOW - 90, tz=dt.UTC),
                   author_handle="roastnerd@fosstodon.org", community="fosstodon.org",
                   thread={"instance": home(srv, "fosstodon.org"), "id": item["id"], "uri": item["uri"],
                           "url": item["url"]})


def seed_local(srv: ReplayServer) -> dict[str, Any]:
    item = status(snowflake(NOW - 60, 1), NOW - 60, "<p>Bean There Café is great</p>", acct="ana_lx")
    srv.add_items("mastodon", [item])
    return item


def test_reply_to_a_local_status_sends_the_documented_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    item = seed_local(srv)
    reply = replier(srv, memory_state).post(local_mention(srv), "Thank you, Ana! ☕", idempotency_key=KEY)
    (request,) = srv.received["mastodon"]
    assert (request.method, request.path) == ("POST", "/mastodon.social/api/v1/statuses")
    assert request.headers["authorization"] == "Bearer good-token"
    assert request.headers["idempotency-key"] == KEY
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.body.decode())) == {
        "status": "@ana_lx Thank you, Ana! ☕", "in_reply_to_id": item["id"], "visibility": "public", "language": "en",
    }
    posted = srv.apis["mastodon"].posted  # type: ignore[attr-defined]
    assert len(posted) == 1
    assert posted[0]["in_reply_to_id"] == item["id"]
    assert posted[0]["content"] == "<p>@ana_lx Thank you, Ana! ☕</p>"
    assert reply == Reply(url=f"https://mastodon.social/@beanthere/{posted[0]['id']}", native_id=posted[0]["id"])


def test_reply_to_a_remote_status_resolves_it_on_the_home_instance_first(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    remote = status(snowflake(NOW - 90, 2), NOW - 90, "<p>ship outside Portugal?</p>", instance="fosstodon.org",
                    acct="roastnerd")
    srv.add_items("mastodon", [remote])
    reply = replier(srv, memory_state).post(remote_mention(srv, remote), "Yes, all of the EU.", idempotency_key=KEY)
    search, post = srv.received["mastodon"]
    assert (search.method, search.path) == ("GET", "/mastodon.social/api/v2/search")
    assert search.query == [("q", remote["uri"]), ("resolve", "true"), ("type", "statuses"), ("limit", "1")]
    assert search.headers["authorization"] == "Bearer good-token"
    local_copy = srv.apis["mastodon"].resolved[("mastodon.social", remote["uri"])]  # type: ignore[attr-defined]
    assert local_copy["id"] != remote["id"]
    assert dict(parse_qsl(post.body.decode()))["in_reply_to_id"] == local_copy["id"]
    assert dict(parse_qsl(post.body.decode()))["status"] == "@roastnerd@fosstodon.org Yes, all of the EU."
    assert reply.url.startswith("https://mastodon.social/@beanthere/")


def test_text_already_starting_with_the_mention_is_not_prefixed_twice(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    replier(srv, memory_state).post(local_mention(srv), "@ana_lx obrigado!", idempotency_key=KEY)
    assert dict(parse_qsl(posts(srv, "mastodon")[0].body.decode()))["status"] == "@ana_lx obrigado!"


def test_over_length_text_is_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the limit is 500") as err:
        replier(srv, memory_state).post(local_mention(srv), "é" * 501, idempotency_key=KEY)
    assert err.value.limit == 500
    assert srv.received["mastodon"] == []


def test_links_count_as_23_and_emoji_as_one(srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    # 8 for "@ana_lx " + 23 for the link + 1 space + 468 family emoji = 500: it just fits.
    text = "https://beanthere.example/" + "x" * 200 + " " + "👨‍👩‍👧" * 468
    replier(srv, memory_state).post(local_mention(srv), text, idempotency_key=KEY)
    assert len(srv.apis["mastodon"].posted) == 1  # type: ignore[attr-defined]


def test_the_mention_prefix_can_push_the_text_over_the_limit(srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    with pytest.raises(ReplyTooLong, match="is 508 characters; the limit is 500"):
        replier(srv, memory_state).post(local_mention(srv), "a" * 500, idempotency_key=KEY)
    assert posts(srv, "mastodon") == []


def test_401_on_the_post_is_a_credentials_error_naming_the_scope(srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    with pytest.raises(ReplyCredentialsError, match="write:statuses") as err:
        replier(srv, memory_state, token="wrong").post(local_mention(srv), "Thanks!", idempotency_key=KEY)
    assert isinstance(err.value, CredentialsError)


def test_500_is_unavailable_sent_once_and_a_later_call_may_post(srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    srv.inject("mastodon", Fault(status=500))
    with pytest.raises(Unavailable, match=r"HTTP 500\); nothing was posted"):
        replier(srv, memory_state).post(local_mention(srv), "Thanks!", idempotency_key=KEY)
    assert len(posts(srv, "mastodon")) == 1
    replier(srv, memory_state).post(local_mention(srv), "Thanks!", idempotency_key=KEY)
    assert len(srv.apis["mastodon"].posted) == 1  # type: ignore[attr-defined]


class AnswerLost(HTTPAdapter):
    """A transport that delivers a POST and then loses the answer, as a timeout does (no waiting)."""

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().send(request, *args, **kwargs)
        if request.method == "POST":
            raise requests.ReadTimeout("read timed out", request=request)
        return response


def test_timeout_is_not_retried_and_the_resend_reuses_the_idempotency_key(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    seed_local(srv)
    # The instance posts, but its answer is lost (the transport delivers the request, then times out).
    first_replier = replier(srv, memory_state)
    first_replier.http.session.mount("http://", AnswerLost())
    with pytest.raises(ReplyUncertain, match="may have been posted") as err:
        first_replier.post(local_mention(srv), "Thanks!", idempotency_key=KEY)
    assert isinstance(err.value, Unavailable)
    assert len(posts(srv, "mastodon")) == 1
    reply = replier(srv, memory_state).post(local_mention(srv), "Thanks!", idempotency_key=KEY)
    first, second = posts(srv, "mastodon")
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == KEY
    posted = srv.apis["mastodon"].posted  # type: ignore[attr-defined]
    assert len(posted) == 1
    assert reply.native_id == posted[0]["id"]


def test_deleted_status_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyRefused, match="gone"):
        replier(srv, memory_state).post(local_mention(srv, "999"), "Thanks!", idempotency_key=KEY)


def test_status_the_home_instance_cannot_find_is_not_replyable(srv: ReplayServer, memory_state: MemoryState) -> None:
    ghost = status(snowflake(NOW - 90, 3), NOW - 90, "<p>x</p>", instance="fosstodon.org", acct="ghost")
    with pytest.raises(NotReplyable, match="could not find"):
        replier(srv, memory_state).post(remote_mention(srv, ghost), "Thanks!", idempotency_key=KEY)
    assert posts(srv, "mastodon") == []


def test_a_mention_from_another_network_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    other = Mention(network="reddit", native_id="t3_abc", url="https://www.reddit.com/r/x/comments/abc/",
                    text="x", created_at=dt.datetime.fromtimestamp(NOW, tz=dt.UTC))
    with pytest.raises(NotReplyable, match="from reddit"):
        replier(srv, memory_state).post(other, "Thanks!", idempotency_key=KEY)

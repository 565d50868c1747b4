"""Answering a Google review with updateReply (PUT), against the emulated Business Profile API,
with access tokens made from the refresh token by the emulated Google token endpoint."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest

from chalicelib.model import Mention
from chalicelib.networks.google_oauth import forget_access_tokens
from chalicelib.networks.google_reviews.emulator import LOCATION, GoogleReviewsAPI, google_review
from chalicelib.networks.google_reviews.replier import GoogleReviewsReplier
from chalicelib.networks.google_reviews.source import REVIEWS_PAGE, GoogleReviewsOptions
from chalicelib.replies import NotReplyable, ReplyCredentialsError, ReplyRefused, ReplyTooLong
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer, Request
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, secrets

__all__ = ["forget_access_tokens"]  # the replier suite's seed uses it from here

REVIEW_ID = "AbFvOqbeanthere0003"
NAME = f"{LOCATION}/reviews/{REVIEW_ID}"
REFRESH, CLIENT_ID, CLIENT_SECRET = "/g/refresh", "/g/client-id", "/g/client-secret"


def one_star() -> dict[str, object]:
    return google_review(REVIEW_ID, NOW - 90, "Waited 25 minutes, cold coffee.", stars=1, reviewer="Marta Nunes")


def api(srv: ReplayServer) -> GoogleReviewsAPI:
    emulation = srv.apis["google_reviews"]
    assert isinstance(emulation, GoogleReviewsAPI)
    return emulation


@pytest.fixture(autouse=True)
def no_access_token_held() -> Iterator[None]:
    forget_access_tokens()
    yield
    forget_access_tokens()


def replier(srv: ReplayServer, state: MemoryState, *, refresh: str = "test-refresh-token") -> GoogleReviewsReplier:
    base = srv.base_url("google_reviews")
    options = GoogleReviewsOptions(base_url=base, locations=[LOCATION], oauth_token_url=base + "/token",
                                   oauth_refresh_token_parameter=REFRESH, oauth_client_id_parameter=CLIENT_ID,
                                   oauth_client_secret_parameter=CLIENT_SECRET, timeout_seconds=2.0)
    table = {REFRESH: refresh, CLIENT_ID: "test-client-id", CLIENT_SECRET: "test-client-secret"}
    return GoogleReviewsReplier(options, http=HttpClient("google_reviews", timeout=2.0, sleep=lambda s: None),
                                secrets=secrets(table), state=state, clock=lambda: NOW)


def mention(name: str = NAME) -> Mention:
    return Mention(network="google_reviews", native_id=f"{REVIEW_ID}@{(NOW - 90) * 1000}", url=REVIEWS_PAGE,
                   text="Waited 25 minutes, cold coffee.", author_name="Marta Nunes", rating=1,
                   created_at=dt.datetime.fromtimestamp(NOW - 90, tz=dt.UTC),
                   thread={"review": name, "location": LOCATION, "urgent_stars": "1"})


def puts(srv: ReplayServer) -> list[Request]:
    return [r for r in srv.received["google_reviews"] if r.method == "PUT"]


def test_a_reply_is_the_documented_put_and_sets_the_reviews_one_reply(srv: ReplayServer,
                                                                       memory_state: MemoryState) -> None:
    srv.add_items("google_reviews", [one_star()])
    reply = replier(srv, memory_state).post(mention(), "Sorry, Marta: the next coffee is on us ☕",
                                            idempotency_key="reply-0001-abcd")
    [put] = puts(srv)
    assert (put.path, json.loads(put.body)) == (f"/v4/{NAME}/reply",
                                                {"comment": "Sorry, Marta: the next coffee is on us ☕"})
    assert put.headers["authorization"].startswith("Bearer ya29.")
    assert (reply.url, reply.native_id, reply.already_posted) == (REVIEWS_PAGE, f"{NAME}/reply", False)
    assert srv.items["google_reviews"][0]["reviewReply"]["comment"] == "Sorry, Marta: the next coffee is on us ☕"


def test_a_second_reply_updates_the_first_and_never_adds_another(srv: ReplayServer,
                                                                 memory_state: MemoryState) -> None:
    srv.add_items("google_reviews", [one_star()])
    first = replier(srv, memory_state).post(mention(), "Sorry!", idempotency_key="reply-0001-abcd")
    second = replier(srv, memory_state).post(mention(), "Sorry, Marta, we fixed the grinder.",
                                             idempotency_key="reply-0002-abcd")
    assert [r.path for r in puts(srv)] == [f"/v4/{NAME}/reply"] * 2
    assert first.native_id == second.native_id == f"{NAME}/reply"
    [review] = srv.items["google_reviews"]
    assert review["reviewReply"]["comment"] == "Sorry, Marta, we fixed the grinder."  # one reply, the latest text
    assert [r["comment"] for r in api(srv).replies] == ["Sorry!", "Sorry, Marta, we fixed the grinder."]


def test_the_limit_is_4096_bytes_of_utf8_checked_before_any_request(srv: ReplayServer,
                                                                    memory_state: MemoryState) -> None:
    srv.add_items("google_reviews", [one_star()])
    fits = "é" * 2048  # 4096 bytes
    replier(srv, memory_state).post(mention(), fits, idempotency_key="reply-0001-abcd")
    with pytest.raises(ReplyTooLong, match=r"the reply is 4098 bytes; the limit is 4096"):
        replier(srv, memory_state).post(mention(), fits + "é", idempotency_key="reply-0002-abcd")
    assert len(puts(srv)) == 1


def test_a_token_that_died_early_is_renewed_once(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("google_reviews", [one_star()])
    replier(srv, memory_state).post(mention(), "Thanks!", idempotency_key="reply-0001-abcd")
    api(srv).expire_access_tokens()  # revoked server side; this process still thinks it is good
    replier(srv, memory_state).post(mention(), "Thanks again!", idempotency_key="reply-0002-abcd")
    assert len(puts(srv)) == 3  # the refused PUT posted nothing; one more with a new token
    assert len([r for r in srv.received["google_reviews"] if r.path == "/token"]) == 2


def test_a_revoked_refresh_token_says_how_to_reconnect(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("google_reviews", [one_star()])
    with pytest.raises(ReplyCredentialsError,
                       match=r"invalid_grant.*run `make connect NETWORK=google_reviews`") as err:
        replier(srv, memory_state, refresh="revoked").post(mention(), "Thanks!", idempotency_key="reply-0001-abcd")
    assert "revoked" not in str(err.value).replace("expired or was revoked", "")
    assert puts(srv) == []


def test_a_deleted_review_is_refused_in_words(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyRefused, match=r"the review is gone \(HTTP 404: NOT_FOUND\)"):
        replier(srv, memory_state).post(mention(), "Thanks!", idempotency_key="reply-0001-abcd")


@pytest.mark.parametrize("name", [f"{LOCATION}/reviews/../x", "accounts/1/locations/x/reviews/a",
                                  f"{LOCATION}/reviews/a?b=c", "https://evil.example/v4/x"])
def test_a_review_name_that_is_not_googles_is_never_sent(srv: ReplayServer, memory_state: MemoryState,
                                                         name: str) -> None:
    with pytest.raises(NotReplyable, match="not a Business Profile review name"):
        replier(srv, memory_state).post(mention(name), "Thanks!", idempotency_key="reply-0001-abcd")
    assert srv.received["google_reviews"] == []

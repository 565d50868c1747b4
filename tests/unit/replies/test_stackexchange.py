"""Replying on Stack Exchange with a comment (posts/{id}/comments/add), against the emulated API."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl

import pytest

from chalicelib.model import Mention
from chalicelib.networks.stackexchange.emulator import StackExchangeAPI, question
from chalicelib.networks.stackexchange.replier import StackExchangeReplier, StackExchangeReplyOptions
from chalicelib.replies import Reply, ReplyError, ReplyRefused, ReplyTooLong
from chalicelib.sources.base import CredentialsError, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

KEY = "reply-0001-abcd"
QUESTION = question(79900001, NOW - 60, "Bean There Café online shop returns 502 at checkout",
                    "<p>The payment page fails with a 502.</p>", site="stackoverflow", user_id=4411)
TEXT = "Sorry about that! Fixed now — please try again 🙏"


def api(srv: ReplayServer) -> StackExchangeAPI:
    emulation = srv.apis["stackexchange"]
    assert isinstance(emulation, StackExchangeAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, token: str = "write-token", timeout: float = 2.0,  # noqa: S107
            now: float = NOW) -> StackExchangeReplier:
    options = StackExchangeReplyOptions(base_url=srv.base_url("stackexchange"), key_parameter="/se/key",
                                        access_token_parameter="/se/token", timeout_seconds=timeout)
    return StackExchangeReplier(options, http=HttpClient("stackexchange", timeout=timeout, sleep=lambda s: None),
                                secrets=secrets({"/se/key": "se-key", "/se/token": token}), state=state,
                                clock=lambda: now)


def mention() -> Mention:
    return Mention(network="stackexchange", native_id="stackoverflow/79900001", url=QUESTION["link"],
                   text="The payment page fails", title=QUESTION["title"], community="stackoverflow",
                   created_at=dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC),
                   thread={"site": "stackoverflow", "question_id": "79900001"})


def test_comment_sends_the_documented_form(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("stackexchange", [QUESTION])
    reply = replier(srv, memory_state).post(mention(), TEXT, idempotency_key=KEY)
    (request,) = srv.received["stackexchange"]
    assert (request.method, request.path) == ("POST", "/posts/79900001/comments/add")
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("site", "stackoverflow"), ("body", TEXT),
                                                 ("access_token", "write-token"), ("key", "se-key"),
                                                 ("preview", "false")]
    (posted,) = api(srv).posted
    assert posted["body"] == TEXT
    assert reply == Reply(
        url="https://stackoverflow.com/questions/79900001/bean-there-caf-online-shop-returns-502-at-checkout"
            "#comment140000000_79900001",
        native_id="140000000")


def test_a_second_write_within_5_seconds_waits_without_a_request(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("stackexchange", [QUESTION])
    replier(srv, memory_state).post(mention(), TEXT, idempotency_key=KEY)
    with pytest.raises(RateLimited, match="one write every 5 s") as err:
        replier(srv, memory_state, now=NOW + 2).post(mention(), TEXT + "!", idempotency_key=KEY + "-2")
    assert err.value.retry_after == 3
    assert len(posts(srv, "stackexchange")) == 1


def test_backoff_in_the_answer_holds_the_next_write_back(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("stackexchange", [QUESTION])
    api(srv).backoff = 30
    replier(srv, memory_state).post(mention(), TEXT, idempotency_key=KEY)
    assert memory_state.get_state("stackexchange", "write_pacing") == {"not_before": NOW + 30}


def test_too_short_and_too_long_comments_are_refused_before_any_request(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="at least 15 characters"):
        replier(srv, memory_state).post(mention(), "Thanks! 🙏", idempotency_key=KEY)
    with pytest.raises(ReplyTooLong, match="601 characters; the limit is 600"):
        replier(srv, memory_state).post(mention(), "x" * 601, idempotency_key=KEY)
    assert srv.received["stackexchange"] == []


def test_account_without_the_reputation_to_comment_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("stackexchange", [QUESTION])
    api(srv).reputation = 12
    with pytest.raises(ReplyRefused, match=r"error 407 write_failed"):
        replier(srv, memory_state).post(mention(), TEXT, idempotency_key=KEY)


def test_invalid_access_token_is_a_credentials_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("stackexchange", [QUESTION])
    with pytest.raises(CredentialsError, match="write_access") as err:
        replier(srv, memory_state, token="stale").post(mention(), TEXT, idempotency_key=KEY)
    assert isinstance(err.value, ReplyError)


def test_throttle_violation_is_rate_limited_for_the_seconds_it_says(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    body = json.dumps({"error_id": 502, "error_name": "throttle_violation",
                       "error_message": "too many requests from this IP, more requests available in 40 seconds"})
    srv.inject("stackexchange", Fault(status=400, body=body.encode()))
    with pytest.raises(RateLimited, match="retry after 40 s") as err:
        replier(srv, memory_state).post(mention(), TEXT, idempotency_key=KEY)
    assert err.value.retry_after == 40



"""The contract every replier keeps, run against its network's emulator: a reply is posted at
most once. A 429 is RateLimited with the wait, a 5xx says nothing was posted, a timeout is
ReplyUncertain and never retried (raised by the transport: no test waits), and a second call
with the same key posts nothing. What differs per network comes from cases.py."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from chalicelib.networks import NETWORKS, can_reply
from chalicelib.replies import ReplyError, ReplyUncertain
from chalicelib.sources.base import RateLimited, Unavailable
from offline.replay.server import Fault, ReplayServer, Request
from tests.conftest import MemoryState
from tests.unit.replies.cases import REPLIER_CASES, ReplierCase

KEY = "reply-0001-abcd"
WRITES = ("POST", "PUT")  # PUT: Google's updateReply
TEXT = "Thanks for asking! ☕"  # long enough for every network (a Stack Exchange comment needs 15)


def writes(srv: ReplayServer, case: ReplierCase) -> list[Request]:
    return [r for r in srv.received[case.network] if r.method in WRITES and r.path.startswith(case.write_path)]


@pytest.fixture(params=sorted(REPLIER_CASES))
def case(request: pytest.FixtureRequest, srv: ReplayServer, memory_state: MemoryState) -> ReplierCase:
    chosen = REPLIER_CASES[request.param]
    chosen.seed(srv, memory_state)
    return chosen


def post(case: ReplierCase, srv: ReplayServer, state: MemoryState) -> Any:
    return case.replier(srv, state).post(case.mention(srv), TEXT, idempotency_key=KEY)


def test_every_network_with_a_write_api_has_a_case() -> None:
    assert set(REPLIER_CASES) == {n for n in NETWORKS if can_reply(n)}


def test_429_is_rate_limited_with_the_wait_and_posted_once(case: ReplierCase, srv: ReplayServer,
                                                           memory_state: MemoryState) -> None:
    srv.inject(case.network, *[Fault(passthrough=True)] * case.before_write,
               Fault(status=429, headers={"Retry-After": "30"}))
    with pytest.raises(RateLimited) as err:
        post(case, srv, memory_state)
    assert err.value.retry_after == 30
    assert isinstance(err.value, ReplyError)  # the app handles it as a reply error too
    assert len(writes(srv, case)) == 1


def test_a_5xx_says_nothing_was_posted_and_is_sent_once(case: ReplierCase, srv: ReplayServer,
                                                        memory_state: MemoryState) -> None:
    srv.inject(case.network, *[Fault(passthrough=True)] * case.before_write, Fault(status=500))
    with pytest.raises(Unavailable, match=r"HTTP 500\); nothing was posted"):
        post(case, srv, memory_state)
    assert len(writes(srv, case)) == 1


class WriteTimesOut(HTTPAdapter):
    """A transport on which the write request times out at once; every other request goes through."""

    def __init__(self, write_url: str) -> None:
        super().__init__()
        self.write_url = write_url
        self.writes = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.method in WRITES and str(request.url).startswith(self.write_url):
            self.writes += 1
            raise requests.ReadTimeout("read timed out", request=request)
        return super().send(request, *args, **kwargs)


def test_a_timeout_is_uncertain_and_never_retried(case: ReplierCase, srv: ReplayServer,
                                                  memory_state: MemoryState) -> None:
    replier = case.replier(srv, memory_state)
    transport = WriteTimesOut(srv.base_url(case.network) + case.write_path)
    replier.http.session.mount("http://", transport)  # type: ignore[attr-defined]
    with pytest.raises(ReplyUncertain, match="may have been posted"):
        replier.post(case.mention(srv), TEXT, idempotency_key=KEY)
    assert transport.writes == 1
    if case.deduplicates:  # sent again under the same key, which the network posts once
        with pytest.raises(ReplyUncertain):
            replier.post(case.mention(srv), TEXT, idempotency_key=KEY)
        assert transport.writes == 2
    else:  # the same key refuses until the owner has looked at the thread
        with pytest.raises(ReplyUncertain, match="look at the thread"):
            replier.post(case.mention(srv), TEXT, idempotency_key=KEY)
        assert transport.writes == 1


def test_a_second_call_with_the_same_key_posts_nothing(case: ReplierCase, srv: ReplayServer,
                                                       memory_state: MemoryState) -> None:
    first = post(case, srv, memory_state)
    again = post(case, srv, memory_state)
    assert (again.url, again.native_id, again.already_posted) == (first.url, first.native_id, True)
    assert first.already_posted is False
    assert len(writes(srv, case)) == 1

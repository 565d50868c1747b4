"""The contract every registered connector keeps, run against its emulator on the replay
server: paging, a second cycle that returns nothing twice, 429, 5xx, timeouts, malformed
pages and items, credentials, Unicode, and any body at all raising nothing but SourceError.

What differs per network comes from one table, tests/connector_cases.py; a network added to
the registry without a line there fails ``test_every_registered_network_has_a_case``. No test
here waits: retries pause on a fake clock and a timeout is raised by the transport.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter

from chalicelib.sources import NETWORKS, source_class
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    CredentialsError,
    MissingSecret,
    RateLimited,
    Source,
    SourceError,
    Unavailable,
)
from offline.replay.server import Fault, ReplayServer
from tests.builders import FakeClock
from tests.conftest import MemoryState
from tests.connector_cases import CASES, JSON_CT, ConnectorCase, build, every_network

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
UNICODE = "Bean There Café ☕ «naïve» 日本語 Zoë Ñandú 🦜"
RETRY_PAUSES = [0.5, 1.0]  # HttpClient's backoff before its two retries (on the fake clock)


class Harness:
    """One network's emulator on the shared replay server, a fake clock and durable state."""

    def __init__(self, case: ConnectorCase, srv: ReplayServer) -> None:
        self.case, self.srv = case, srv
        self.clock = FakeClock(NOW)
        self.state = MemoryState()
        api = case.api(self.clock)
        if hasattr(api, "public_base"):  # GitHub's Link headers name the server's own address
            api.public_base = srv.base_url(case.network)
        srv.apis[case.network] = api

    def connector(self, **options: Any) -> Source:
        return build(self.case, self.srv, self.clock, self.state, **options)

    def add(self, *numbers: int, text: str = "Bean There review number {n}", age: int = 3600) -> None:
        """Items ``numbers``, item n created ``age`` seconds before the clock plus n minutes."""
        self.srv.add_items(self.case.network, [self.case.item(n, int(self.clock.now) - age + 60 * n,
                                                              text.format(n=n)) for n in numbers])

    def fetch(self, source: Source, cursor: Any = None) -> Any:
        return source.fetch(self.case.query, cursor, Budget(deadline=float("inf")))

    def warm(self, **options: Any) -> tuple[Source, Any]:
        """A connector that has read one item (signed in, where the network wants that) and its cursor."""
        self.add(0)
        source = self.connector(**options)
        return source, self.fetch(source).cursor

    def requests(self) -> int:
        return len(self.srv.received[self.case.network])


def numbers(result: Any) -> list[int]:
    """The item numbers of the mentions, in order of number (each as often as it came)."""
    found = [re.search(r"number (\d+)", f"{m.title} {m.text}") for m in result.mentions]
    return sorted(int(match.group(1)) for match in found if match)


@pytest.fixture
def srv(replay_server: ReplayServer) -> Iterator[ReplayServer]:
    """The session's replay server, empty; the emulators a test swaps in are put back after it."""
    apis = dict(replay_server.apis)
    replay_server.reset()
    yield replay_server
    replay_server.apis.clear()
    replay_server.apis.update(apis)
    replay_server.reset()


@pytest.fixture(params=every_network())
def net(request: pytest.FixtureRequest, srv: ReplayServer) -> Harness:
    return Harness(CASES[request.param], srv)


def test_every_registered_network_has_a_case() -> None:
    assert set(CASES) == set(NETWORKS)
    for network, case in CASES.items():
        assert source_class(network).name == network == case.network


def test_pages_are_followed_and_every_item_comes_once(net: Harness) -> None:
    net.add(*range(net.case.page_items))
    result = net.fetch(net.connector(**net.case.small_pages))
    assert numbers(result) == list(range(net.case.page_items))
    assert result.complete is True and result.skipped == []
    assert result.pages >= (3 if net.case.small_pages else 1)


def test_a_second_cycle_returns_only_what_is_new_and_nothing_twice(net: Harness) -> None:
    net.add(0, 1, 2)
    source = net.connector()
    first = net.fetch(source)
    again = net.fetch(source, first.cursor)
    net.add(3, age=3600 + 60)  # the same second as item 2, the newest the first cycle read
    net.clock.advance(600)
    net.add(4, age=6 * 60)  # a minute after the clock of the first cycle, two minutes before now
    second = net.fetch(source, again.cursor)
    third = net.fetch(source, second.cursor)
    assert (numbers(first), numbers(again), numbers(second), numbers(third)) == ([0, 1, 2], [], [3, 4], [])


def test_429_is_rate_limited_with_the_retry_time_and_no_pause(net: Harness) -> None:
    source, cursor = net.warm()
    net.srv.inject(net.case.network, Fault(429, {"Retry-After": "30", **JSON_CT}, b'{"error": "slow down"}'))
    with pytest.raises(RateLimited) as err:
        net.fetch(source, cursor)
    assert err.value.retry_after == 30
    assert net.clock.sleeps == []


def test_a_5xx_is_retried_twice_then_unavailable(net: Harness) -> None:
    source, cursor = net.warm()
    before = net.requests()
    net.srv.inject(net.case.network, *[Fault(503)] * 3)
    with pytest.raises(Unavailable, match=r"HTTP 503"):
        net.fetch(source, cursor)
    assert net.requests() - before == 3
    assert net.clock.sleeps == RETRY_PAUSES


def test_a_5xx_that_recovers_is_not_an_error(net: Harness) -> None:
    net.add(0)
    source = net.connector()
    net.srv.inject(net.case.network, Fault(502))
    assert numbers(net.fetch(source)) == [0]
    assert net.clock.sleeps == RETRY_PAUSES[:1]


class TimingOut(HTTPAdapter):
    """A transport on which every request times out at once (no waiting)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.attempts += 1
        raise requests.ReadTimeout("read timed out", request=request)


def test_a_timeout_is_retried_twice_then_unavailable(net: Harness) -> None:
    source, cursor = net.warm(timeout_seconds=3)
    transport = TimingOut()
    source.http.session.mount("http://", transport)  # type: ignore[attr-defined]
    with pytest.raises(Unavailable, match=r"no answer within 3 s"):
        net.fetch(source, cursor)
    assert transport.attempts == 3
    assert net.clock.sleeps == RETRY_PAUSES


def test_a_malformed_page_is_a_bad_payload(net: Harness) -> None:
    source, cursor = net.warm()
    net.srv.inject(net.case.network, Fault(200, dict(JSON_CT), net.case.malformed_body))
    with pytest.raises(BadPayload, match=net.case.malformed_match):
        net.fetch(source, cursor)


def test_an_unreadable_item_is_skipped_with_its_reason_and_never_read_again(net: Harness) -> None:
    if net.case.unreadable is None:
        pytest.skip(f"{net.case.network}: the feed parser reads every entry it can parse")
    good = [net.case.item(n, NOW - 600 + 60 * n, f"Bean There review number {n}") for n in range(3)]
    bad, reason = net.case.unreadable(good[1])
    net.srv.add_items(net.case.network, [good[0], bad, good[2]])
    source = net.connector()
    first = net.fetch(source)
    second = net.fetch(source, first.cursor)
    assert numbers(first) == [0, 2]
    assert first.skipped == [reason.format(n=1)]
    assert second.mentions == [] and second.skipped == []


def test_credentials_missing_from_ssm_stop_before_any_request(net: Harness) -> None:
    creds = net.case.credentials
    if creds is None:
        assert source_class(net.case.network).capabilities.credentials == ()
        net.add(0)
        net.fetch(net.connector())
        sent = {name for r in net.srv.received[net.case.network] for name in r.headers}
        assert "authorization" not in sent
        return
    values = {k: v for k, v in creds.secrets.items() if k != creds.missing}
    source = net.connector(secret_values=values, **creds.options)
    with pytest.raises(MissingSecret, match=creds.missing_match) as err:
        source.fetch(creds.query or net.case.query, None, Budget(deadline=float("inf")))
    assert err.value.configured is True
    assert net.srv.received[net.case.network] == []


def test_credentials_the_network_refuses_are_a_credentials_error_that_hides_them(net: Harness) -> None:
    creds = net.case.credentials
    if creds is None:
        pytest.skip(f"{net.case.network} is read without credentials")
    source = net.connector(secret_values={**creds.secrets, **creds.wrong}, **creds.options)
    with pytest.raises(CredentialsError, match=creds.wrong_match) as err:
        source.fetch(creds.query or net.case.query, None, Budget(deadline=float("inf")))
    assert not isinstance(err.value, MissingSecret)
    assert all(value not in str(err.value) for value in creds.wrong.values())


def test_unicode_comes_out_as_it_went_in(net: Harness) -> None:
    net.add(0, text=UNICODE)
    [mention] = net.fetch(net.connector()).mentions
    assert UNICODE in (mention.title, mention.text)
    assert mention.network == net.case.network


def _json(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=12),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(keys) if keys else st.text(max_size=8), inner, max_size=6),
        max_leaves=16,
    )


@pytest.mark.parametrize("network", every_network())
def test_any_body_raises_nothing_but_source_error(srv: ReplayServer, network: str) -> None:
    """Whatever a network answers (to the sign-in, where there is one, or to the read), the
    connector raises nothing but SourceError."""
    case = CASES[network]
    harness = Harness(case, srv)
    signed_in = MemoryState()
    harness.state = signed_in
    harness.warm()
    values = _json(case.payload_keys)
    bodies = st.one_of(st.binary(max_size=80), values.map(lambda v: json.dumps(v).encode()),
                       st.lists(values, max_size=3).map(lambda v: json.dumps(case.page_of(v)).encode()))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
              database=None)
    @given(body=bodies, status=st.sampled_from(case.fault_statuses), sign_in=st.booleans())
    def any_body(body: bytes, status: int, sign_in: bool) -> None:
        srv.reset()
        srv.inject(network, *[Fault(status, dict(JSON_CT), body)] * 6)
        harness.state = MemoryState() if sign_in else signed_in
        try:
            harness.fetch(harness.connector())
        except SourceError:
            pass

    any_body()

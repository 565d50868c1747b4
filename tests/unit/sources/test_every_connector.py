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

from chalicelib.networks import NETWORKS, source_class, spec
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


@pytest.mark.parametrize("net", [n for n in every_network() if CASES[n].unreadable is not None], indirect=True)
def test_an_unreadable_item_is_skipped_with_its_reason_and_never_read_again(net: Harness) -> None:
    """(Not RSS: the feed parser reads every entry it can.)"""
    assert net.case.unreadable is not None
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
        assert spec(net.case.network).credentials == ()
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


@pytest.mark.parametrize("net", [n for n in every_network() if CASES[n].credentials is not None], indirect=True)
def test_credentials_the_network_refuses_are_a_credentials_error_that_hides_them(net: Harness) -> None:
    creds = net.case.credentials
    assert creds is not None
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


DELETED = object()  # the field is not there at all
HOSTILE = st.one_of(
    st.just(DELETED), st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=10**30), st.floats(),
    st.text(max_size=12), st.lists(st.integers(), max_size=2), st.just({}),
    st.sampled_from(["9999-12-31T23:59:59Z", "2031-01-01T00:00:00.000Z", "2027-01-15T07:59:00", "yesterday",
                     "https://evil.example/x", "javascript:alert(1)", "../x", "<![ " * 1000, "x" * 450_000]),
)


def corrupted(item: dict[str, Any], path: str, value: object) -> object:
    """``item`` with the field at ``path`` replaced by ``value`` (or removed)."""
    *parents, last = path.split(".")
    node = item
    for key in parents:
        node = node[key]
    if value is DELETED:
        node.pop(last, None)
    else:
        node[last] = value
    return item


@pytest.mark.parametrize("network", [n for n in every_network() if CASES[n].fields])
def test_one_corrupted_item_never_costs_the_good_ones_or_moves_the_cursor_past_now(srv: ReplayServer,
                                                                                   network: str) -> None:
    """Whatever one item of a page holds, the others come through, none of them comes again, and
    the cursor never passes the clock: an item published after the cycle is read next cycle."""
    case = CASES[network]
    harness = Harness(case, srv)
    signed_in = MemoryState()
    harness.state = signed_in
    harness.warm()

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
              database=None)
    @given(path=st.sampled_from(case.fields), value=HOSTILE, position=st.integers(min_value=0, max_value=3),
           whole=st.sampled_from([None, None, None, "not an item", [1, 2], "from the future"]))
    def one_corrupted(path: str, value: object, position: int, whole: object) -> None:
        srv.reset()
        harness.clock.now = NOW
        good = [case.item(n, NOW - 600 + 60 * n, f"Bean There review number {n}") for n in range(3)]
        if whole == "from the future":  # well formed, but dated a year after the clock
            bad: object = case.item(9, NOW + 365 * 86400, "Bean There review number 9")
        else:
            bad = whole if whole is not None else corrupted(
                case.item(9, NOW - 30, "Bean There review number 9"), path, value)
        page: list[Any] = list(reversed(good))
        page.insert(position, bad)
        srv.inject(network, Fault(200, dict(JSON_CT), json.dumps(case.page_of(page)).encode()))
        source = harness.connector()
        first = harness.fetch(source)
        assert {0, 1, 2} <= set(numbers(first))
        srv.add_items(network, good)
        harness.clock.advance(600)
        harness.add(5, age=600)  # item 5: 600 s before the clock plus 5 minutes, after the first cycle's clock
        second = harness.fetch(source, first.cursor)
        assert numbers(second) == [5]

    one_corrupted()

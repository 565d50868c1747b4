"""The Reddit connector over Reddit's own recorded answers (chalicelib/networks/reddit/contract/README.md
cites each one), and the emulator held to their shape."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chalicelib.networks.reddit.emulator import RedditAPI, demo_items
from chalicelib.networks.reddit.source import Reddit, RedditOptions
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer, Request
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "reddit"
EXPECTED = corpus.expected(NETWORK)
PAGES = corpus.expected_with(NETWORK, "mentions")
ERRORS = corpus.expected_with(NETWORK, "error")
SECRETS = {"/r/id": "client-id", "/r/secret": "client-secret", "/r/user": "someone", "/r/password": "pw"}


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: RedditAPI()}) as server:
        yield server


def payload(name: str) -> bytes:
    return corpus.raw(NETWORK, name)


def reddit(srv: ReplayServer, now: float) -> Reddit:
    base = srv.base_url(NETWORK)
    options = RedditOptions(
        base_url=base, auth_base_url=base, user_agent="python:contract-test:0.1 (by /u/someone)",
        client_id_parameter="/r/id", client_secret_parameter="/r/secret", username_parameter="/r/user",
        password_parameter="/r/password", first_run_lookback_hours=24 * 365 * 20, max_pages=1,
    )
    return Reddit(options, http=HttpClient(NETWORK, timeout=5, sleep=lambda s: None), secrets=SECRETS.__getitem__,
                  state=MemoryState(), clock=lambda: now)


def serve(srv: ReplayServer, *bodies: tuple[int, bytes, dict[str, str]]) -> None:
    srv.reset()
    srv.inject(NETWORK, *[Fault(status=status, body=body, headers={"Content-Type": "application/json", **headers})
                          for status, body, headers in bodies])


@pytest.mark.parametrize("name", PAGES)
def test_the_connector_reads_every_recorded_page(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    body = json.loads(payload(name))
    times = [child["data"]["created_utc"] for child in body["data"]["children"]]
    now = max(times, default=1_700_000_000) + 60
    serve(srv, (200, payload("access_token_2016.json"), {}), (200, payload(name), {}))
    result = reddit(srv, now).fetch("praw", None, Budget(deadline=time.monotonic() + 30))

    assert [{"native_id": m.native_id, "url": m.url, "author": m.author_handle,
             "created_utc": int(m.created_at.timestamp()), "community": m.community, "kind": m.kind}
            for m in result.mentions] == expected["mentions"]
    assert len(result.skipped) == expected["skipped"]
    assert result.cursor["created_utc"] == max(times, default=now - 60 - 24 * 365 * 20 * 3600 + 60)


def test_the_recorded_login_answer_gives_the_token_used_on_every_call(srv: ReplayServer) -> None:
    serve(srv, (200, payload("access_token_2016.json"), {}), (200, payload("empty_listing_2016.json"), {}))
    reddit(srv, 1_700_000_000).fetch("praw", None, Budget(deadline=time.monotonic() + 30))
    login = EXPECTED["access_token_2016.json"]["login"]
    assert srv.received[NETWORK][1].headers["authorization"] == f"bearer {login['access_token']}"


@pytest.mark.parametrize("name", ERRORS)
def test_recorded_refusals_are_said_in_words(srv: ReplayServer, name: str) -> None:
    expected = EXPECTED[name]
    token = (200, payload("access_token_2016.json"), {})
    refusal = (expected["status"], payload(name), {})
    serve(srv, token, refusal, token, refusal)
    with pytest.raises(SourceError) as err:
        reddit(srv, 1_700_000_000).fetch("praw", None, Budget(deadline=time.monotonic() + 30))
    assert (type(err.value).__name__, str(err.value)) == (expected["error"], expected["message"])


def test_recorded_rate_limit_headers_are_read_and_leave_room(srv: ReplayServer) -> None:
    recorded = json.loads(payload("ratelimit_headers_2023.json"))
    headers = {name: values[0] for name, values in recorded.items()}
    expected = EXPECTED["ratelimit_headers_2023.json"]["headers"]
    assert (float(headers["x-ratelimit-remaining"]), int(headers["x-ratelimit-reset"]),
            int(headers["x-ratelimit-used"])) == (expected["remaining"], expected["reset"], expected["used"])
    connector = reddit(srv, 1_700_000_000)
    serve(srv, (200, payload("access_token_2016.json"), {}), (200, payload("empty_listing_2016.json"), headers),
          (200, payload("empty_listing_2016.json"), {**headers, "x-ratelimit-remaining": "0.0"}))
    budget = Budget(deadline=time.monotonic() + 30)
    connector.fetch("praw", None, budget)
    connector.fetch("praw", None, budget)  # 599 left: a second call is made
    with pytest.raises(SourceError, match="request allowance used up, resets in 525 s"):
        connector.fetch("praw", None, budget)  # the last answer said 0 left: no call until the reset


def test_the_emulator_serves_listings_inside_the_recorded_shape() -> None:
    recorded = [json.loads(payload(name)) for name in PAGES]
    documented = corpus.shapes_of(recorded)
    now = int(time.time())
    api = RedditAPI()
    token = api._access_token(_request("POST", "/api/v1/access_token", form={
        "grant_type": "password", "username": api.username, "password": api.password},
        basic=(api.client_id, api.client_secret)))
    bearer = json.loads(token.body)["access_token"]
    items = demo_items(now, {})
    answers = [api.handle(_request("GET", path, bearer=bearer), items) for path in
               ("/search?q=coffee&t=day", "/r/lisbon+Coffee+lisboa/new", "/r/lisbon+Coffee+lisboa/comments")]
    assert [answer.status for answer in answers] == [200, 200, 200]
    assert all(json.loads(answer.body)["data"]["children"] for answer in answers)
    for answer in answers:
        assert corpus.page_drift(json.loads(answer.body), documented, ("data", "children")) == []
    assert corpus.drift(corpus.shape(json.loads(token.body)),
                        corpus.shape(json.loads(payload("access_token_2016.json")))) == []


def _request(method: str, target: str, *, bearer: str | None = None, form: dict[str, str] | None = None,
             basic: tuple[str, str] | None = None) -> Request:
    parts = urlsplit(target)
    headers: dict[str, str] = {}
    if bearer:
        headers["authorization"] = f"bearer {bearer}"
    if basic:
        headers["authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()
    return Request(method=method, path=parts.path, query=parse_qsl(parts.query), headers=headers,
                   body=urlencode(form or {}).encode())

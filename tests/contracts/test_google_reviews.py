"""The Google reviews connector, replier and the shared OAuth code over Business Profile API
answers and Google's token endpoint answer (chalicelib/networks/google_reviews/contract/README.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.networks.google_oauth import GoogleOAuth, forget_access_tokens
from chalicelib.networks.google_reviews.replier import GoogleReviewsReplier
from chalicelib.networks.google_reviews.source import GoogleReviews, GoogleReviewsOptions
from chalicelib.sources import base
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.contracts import corpus
from tests.unit.replies.test_google_reviews import mention

NETWORK = "google_reviews"
EXPECTED = corpus.expected(NETWORK)
LIST_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "list")
ERROR_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "error")
NOW = 1_800_000_000.0
SECRETS = {"/r": "test-refresh-token", "/c": "test-client-id", "/s": "test-client-secret"}


def load(name: str) -> Any:
    return corpus.load_json(corpus.folder(NETWORK) / name)


def options(base_url: str, location: str) -> GoogleReviewsOptions:
    return GoogleReviewsOptions(base_url=base_url, locations=[location], oauth_token_url=base_url + "/token",
                                oauth_refresh_token_parameter="/r", oauth_client_id_parameter="/c",
                                oauth_client_secret_parameter="/s")


def connector(location: str, base_url: str = "https://mybusiness.googleapis.com") -> GoogleReviews:
    return GoogleReviews(options(base_url, location), http=HttpClient(NETWORK, sleep=lambda s: None),
                         secrets=SECRETS.__getitem__, state=MemoryState(), clock=lambda: NOW)


@pytest.mark.parametrize("name", LIST_FILES)
def test_review_pages_give_the_mentions_read_by_hand_from_the_source(name: str) -> None:
    spec = EXPECTED[name]
    source = connector(spec["location"])
    items, token = source._parse_page(spec["location"], load(name))
    assert (source._skips.reasons(), token) == ([], spec["next_page_token"])
    got = [item["_mention"] for item in items]
    want = [(m["native_id"], m["rating"], m["author_name"], m["text"], m["created_at"], m["review"])
            for m in spec["mentions"]]
    assert [(m.native_id, m.rating, m.author_name, m.text, m.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
             m.thread["review"]) for m in got] == want


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    from chalicelib.networks.google_reviews.emulator import GoogleReviewsAPI

    with ReplayServer({NETWORK: GoogleReviewsAPI()}) as server:
        yield server


@pytest.mark.parametrize("name", ERROR_FILES)
def test_error_answers_raise_what_the_owner_is_told(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    forget_access_tokens()
    location = EXPECTED["reviews_list.json"]["location"]
    source = connector(location, srv.base_url(NETWORK))
    body = json.dumps(load(name)).encode()
    # The token request goes through; a 401 gets a new token and one more try, refused too.
    tries = 2 if spec["status"] == 401 else 1
    srv.inject(NETWORK, *[Fault(passthrough=True), Fault(spec["status"], {"Content-Type": "application/json"}, body)]
               * tries)
    with pytest.raises(getattr(base, spec["raises"])) as err:
        source.fetch("*", None, base.Budget(deadline=float("inf")))
    assert str(err.value) == spec["message"]
    if "retry_after" in spec:
        assert err.value.retry_after == spec["retry_after"]  # type: ignore[attr-defined]


def test_the_update_reply_answer_is_read_as_the_posted_reply(srv: ReplayServer) -> None:
    spec = EXPECTED["update_reply_answer.json"]
    srv.reset()
    forget_access_tokens()
    name = spec["native_id"].removesuffix("/reply")
    location = name.partition("/reviews/")[0]
    replier = GoogleReviewsReplier(options(srv.base_url(NETWORK), location), http=HttpClient(NETWORK),
                                   secrets=SECRETS.__getitem__, state=MemoryState(), clock=lambda: NOW)
    srv.inject(NETWORK, Fault(passthrough=True),
               Fault(200, {"Content-Type": "application/json"}, json.dumps(load("update_reply_answer.json")).encode()))
    reply = replier.post(mention(name), spec["comment"], idempotency_key="contract-reply-1")
    assert reply.native_id == spec["native_id"]
    [put] = [r for r in srv.received[NETWORK] if r.method == "PUT"]
    assert (put.path, json.loads(put.body)) == (f"/v4/{name}/reply", {"comment": spec["comment"]})


def test_the_token_endpoints_answer_gives_the_access_token(srv: ReplayServer) -> None:
    spec = EXPECTED["token_refresh_answer.json"]
    srv.reset()
    forget_access_tokens()
    srv.inject(NETWORK, Fault(200, {"Content-Type": "application/json"},
                              json.dumps(load("token_refresh_answer.json")).encode()))
    oauth = GoogleOAuth(NETWORK, options(srv.base_url(NETWORK), "accounts/1/locations/2"), HttpClient(NETWORK),
                        SECRETS.__getitem__, lambda: NOW)
    budget = base.Budget(deadline=float("inf"))
    assert oauth.access_token(budget) == spec["access_token"]
    assert oauth.access_token(budget) == spec["access_token"]  # held for its expires_in, not asked again
    assert len(srv.received[NETWORK]) == 1
    forget_access_tokens()

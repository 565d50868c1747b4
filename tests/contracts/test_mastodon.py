"""The Mastodon connector over Mastodon's own published payloads (chalicelib/networks/mastodon/contract/README.md):
the documentation's entities and error bodies, and Mastodon.py's recorded server answers."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib.networks.mastodon.emulator import MastodonAPI, demo_items
from chalicelib.networks.mastodon.source import Mastodon, MastodonOptions, TokenRequired
from chalicelib.sources.base import Budget, CredentialsError, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.contracts import corpus

NETWORK = "mastodon"
EXPECTED = corpus.expected(NETWORK)
STATUS_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] != "error")
ERROR_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "error")
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp()


def connector(instance: str, *, token: str | None = None) -> Mastodon:
    options = MastodonOptions(instances=[instance], hashtags=["coffee"],
                              **({"access_token_parameter": "/t"} if token else {}))
    return Mastodon(options, http=HttpClient(NETWORK, sleep=lambda s: None),
                    secrets=lambda name: token or "", clock=lambda: NOW)


def statuses_of(spec: dict[str, Any], body: Any) -> Any:
    if spec["kind"] == "search":
        return body["statuses"]
    return [body] if spec["kind"] == "status" else body


@pytest.mark.parametrize("name", STATUS_FILES)
def test_statuses_give_the_mentions_read_by_hand_from_the_source(name: str) -> None:
    spec = EXPECTED[name]
    body = corpus.load_json(corpus.folder(NETWORK) / name)
    skipped: list[str] = []
    page, ids = connector(spec["instance"])._parse_statuses(spec["instance"], statuses_of(spec, body), name, skipped)
    assert skipped == []
    assert len(ids) == len(statuses_of(spec, body))
    got = [status["mention"] for status in page]
    assert len(got) == len(spec["mentions"])
    for mention, want in zip(got, spec["mentions"], strict=True):
        for field, value in want.items():
            actual = getattr(mention, field)
            if field == "created_at":
                actual = actual.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            elif isinstance(actual, tuple):
                actual = list(actual)
            assert (field, actual) == (field, value)


@pytest.mark.parametrize("name", [n for n in STATUS_FILES if "link" in EXPECTED[n]])
def test_the_link_header_gives_the_next_min_id(name: str) -> None:
    recorded = requests.Response()
    recorded.headers["Link"] = EXPECTED[name]["link"]
    assert connector(EXPECTED[name]["instance"])._prev_min_id(recorded) == EXPECTED[name]["prev_min_id"]


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: MastodonAPI()}) as server:
        yield server


@pytest.mark.parametrize("name", ERROR_FILES)
@pytest.mark.parametrize("token", [None, "a-token"])
def test_error_answers_are_said_for_what_they_are(srv: ReplayServer, name: str, token: str | None) -> None:
    spec = EXPECTED[name]
    srv.reset()
    srv.inject(NETWORK, Fault(status=spec["status"], body=(corpus.folder(NETWORK) / name).read_bytes(),
                              headers={"Content-Type": "application/json; charset=utf-8"}))
    masto = connector(f"{srv.base_url(NETWORK)}/mastodon.example", token=token)
    outcome = spec["with_token" if token else "without_token"]
    budget = Budget(deadline=time.monotonic() + 30)
    if outcome == "empty":
        result = masto.fetch("*", None, budget)
        assert (result.mentions, result.skipped) == ([], [])
        return
    with pytest.raises(SourceError) as err:
        masto.fetch("*", None, budget)
    assert type(err.value) is {"TokenRequired": TokenRequired, "CredentialsError": CredentialsError}[outcome]
    assert "a-token" not in str(err.value)


def test_the_emulator_stays_inside_the_documented_shape(srv: ReplayServer) -> None:
    srv.reset()
    srv.add_items(NETWORK, demo_items(int(time.time()), {}))
    served = requests.get(f"{srv.base_url(NETWORK)}/mastodon.social/api/v1/timelines/tag/coffee", timeout=5).json()
    assert served, "the emulator served no statuses"
    documented = corpus.shapes_of([s for name in STATUS_FILES
                                   for s in statuses_of(EXPECTED[name],
                                                        corpus.load_json(corpus.folder(NETWORK) / name))])
    # Status by status: corpus.shape() of a whole list merges equal scalar types into sets.
    assert [problem for status in served for problem in corpus.drift(corpus.shape(status), documented)] == []


def test_the_emulators_error_bodies_are_the_documented_ones(srv: ReplayServer) -> None:
    srv.reset()
    srv.apis[NETWORK] = MastodonAPI(token_required=frozenset({"mastodon.example"}))
    answer = requests.get(f"{srv.base_url(NETWORK)}/mastodon.example/api/v1/timelines/tag/coffee", timeout=5)
    assert (answer.status_code, answer.json()) == (401, json.loads(
        (corpus.folder(NETWORK) / "tag_timeline_401_docs.json").read_text(encoding="utf-8")))
    srv.apis[NETWORK] = MastodonAPI()
    srv.apis[NETWORK].known_tags = {"coffee"}  # type: ignore[attr-defined]
    answer = requests.get(f"{srv.base_url(NETWORK)}/mastodon.example/api/v1/timelines/tag/tea", timeout=5)
    assert (answer.status_code, answer.json()) == (404, json.loads(
        (corpus.folder(NETWORK) / "tag_timeline_404_docs.json").read_text(encoding="utf-8")))
    srv.apis[NETWORK] = MastodonAPI()


def test_the_emulators_search_answer_has_the_documented_keys(srv: ReplayServer) -> None:
    srv.reset()
    srv.apis[NETWORK] = MastodonAPI(access_tokens={"mastodon.social": "good-token"})
    srv.add_items(NETWORK, demo_items(int(time.time()), {}))
    answer = requests.get(f"{srv.base_url(NETWORK)}/mastodon.social/api/v2/search", timeout=5,
                          params={"q": "Bean There", "type": "statuses"},
                          headers={"Authorization": "Bearer good-token"}).json()
    assert answer["statuses"], "the emulator found no statuses"
    documented = corpus.shapes_of([corpus.load_json(corpus.folder(NETWORK) / name) for name in STATUS_FILES
                                   if EXPECTED[name]["kind"] == "search"])
    answer_drift = corpus.drift(corpus.shape({**answer, "statuses": []}), documented)
    statuses = corpus.shapes_of([s for name in STATUS_FILES
                                 for s in statuses_of(EXPECTED[name], corpus.load_json(corpus.folder(NETWORK) / name))])
    status_drift = [p for status in answer["statuses"] for p in corpus.drift(corpus.shape(status), statuses)]
    assert (answer_drift, status_drift) == ([], [])
    srv.apis[NETWORK] = MastodonAPI()

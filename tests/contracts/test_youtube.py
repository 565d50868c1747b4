"""The YouTube connector and replier over YouTube Data API answers recorded by the
python-youtube client library (chalicelib/networks/youtube/contract/README.md)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib.networks.youtube.emulator import YouTubeAPI, demo_items
from chalicelib.networks.youtube.replier import YouTubeReplier
from chalicelib.networks.youtube.source import YouTube, YouTubeOptions
from chalicelib.sources.base import Budget, CredentialsError, RateLimited, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "youtube"
EXPECTED = corpus.expected(NETWORK)
SEARCH_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "search")
ERROR_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "error")
REPLY_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "reply")
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp()


def load(name: str) -> Any:
    return corpus.load_json(corpus.folder(NETWORK) / name)


def connector(base_url: str = "https://www.googleapis.com") -> YouTube:
    options = YouTubeOptions(base_url=base_url, key_parameter="/k", pace_through_the_day=False)
    return YouTube(options, http=HttpClient(NETWORK, sleep=lambda s: None), secrets=lambda name: "a-key",
                   state=MemoryState(), clock=lambda: NOW)


@pytest.mark.parametrize("name", SEARCH_FILES)
def test_search_pages_give_the_videos_read_by_hand_from_the_source(name: str) -> None:
    spec = EXPECTED[name]
    source = connector()
    items, token, listed = source._parse_page(load(name))
    skipped = source._skips.reasons()
    assert (skipped, listed, token) == ([], len(load(name)["items"]), spec["next_page_token"])
    mentions = {item["_mention"].native_id: item["_mention"] for item in items}
    assert len(items) == spec["videos"]
    for want in spec["mentions"]:
        corpus.assert_mention(mentions[want["native_id"]], want)


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: YouTubeAPI()}) as server:
        yield server


@pytest.mark.parametrize("name", ERROR_FILES)
def test_error_answers_are_said_for_what_they_are(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    srv.inject(NETWORK, Fault(status=spec["status"], body=(corpus.folder(NETWORK) / name).read_bytes(),
                              headers={"Content-Type": "application/json; charset=UTF-8"}))
    with pytest.raises(SourceError) as err:
        connector(srv.base_url(NETWORK)).fetch("surfing", None, Budget(deadline=time.monotonic() + 30))
    assert type(err.value) is {"CredentialsError": CredentialsError, "RateLimited": RateLimited}[spec["raises"]]
    assert str(err.value) == spec["message"]


@pytest.mark.parametrize("name", REPLY_FILES)
def test_insert_answers_give_the_reply_permalink(name: str) -> None:
    spec = EXPECTED[name]
    replier = YouTubeReplier(YouTubeOptions(), http=HttpClient(NETWORK), state=MemoryState())
    reply = replier._reply(load(name), spec["video_id"], spec["resource"])
    assert (reply.native_id, reply.url) == (spec["native_id"], spec["url"])


def test_the_emulator_stays_inside_the_documented_shape(srv: ReplayServer) -> None:
    srv.reset()
    srv.add_items(NETWORK, demo_items(int(time.time()), {}))
    served = requests.get(f"{srv.base_url(NETWORK)}/youtube/v3/search",
                          params={"key": "test-api-key", "q": "Bean", "part": "snippet", "maxResults": "2"},
                          timeout=5).json()
    assert served["items"], "the emulator served no videos"
    pages = [load(name) for name in SEARCH_FILES]
    documented_page = corpus.shapes_of([{k: v for k, v in page.items() if k != "items"} for page in pages])
    documented_item = corpus.shapes_of([item for page in pages for item in page["items"]])
    page_drift = corpus.drift(corpus.shape({k: v for k, v in served.items() if k != "items"}), documented_page)
    item_drift = [p for item in served["items"] for p in corpus.drift(corpus.shape(item), documented_item)]
    assert (page_drift, item_drift) == ([], [])


def test_the_emulators_insert_answers_have_the_documented_shape(srv: ReplayServer) -> None:
    srv.reset()
    api = srv.apis[NETWORK]
    assert isinstance(api, YouTubeAPI)
    srv.add_items(NETWORK, demo_items(int(time.time()), {}))
    token = requests.post(f"{srv.base_url(NETWORK)}/token", data={
        "grant_type": "refresh_token", "refresh_token": "test-refresh-token", "client_id": "test-client-id",
        "client_secret": "test-client-secret"}, timeout=5).json()["access_token"]
    answer = requests.post(f"{srv.base_url(NETWORK)}/youtube/v3/commentThreads", params={"part": "snippet"},
                           headers={"Authorization": f"Bearer {token}"}, timeout=5,
                           json={"snippet": {"videoId": "bTcafe0001a",
                                             "topLevelComment": {"snippet": {"textOriginal": "Thanks!"}}}}).json()
    documented = corpus.shape(load("comment_thread_insert_answer.json"))
    assert corpus.drift(corpus.shape(answer), documented) == []

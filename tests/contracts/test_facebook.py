"""The Facebook Page connector, webhook parser and replier over Graph API answers recorded by the
python-facebook client library, Meta's documentation and deliveries in the shapes Meta documents
(chalicelib/networks/facebook/contract/README.md)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.facebook.emulator import PAGE_ID, FacebookAPI, tagged_post
from chalicelib.networks.facebook.replier import FacebookReplier
from chalicelib.networks.facebook.source import FacebookOptions, FacebookPage
from chalicelib.networks.facebook.webhook import parse
from chalicelib.sources.base import Budget, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "facebook"
EXPECTED = corpus.expected(NETWORK)
NOW = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC).timestamp()
INFO = {"id": "19292868552_10158371815748553", "permalink": "https://www.facebook.com/19292868552/posts/1/",
        "from_id": PAGE_ID}
JSON_CT = {"Content-Type": "application/json; charset=UTF-8"}


def files(kind: str) -> list[str]:
    return sorted(name for name, spec in EXPECTED.items() if spec["kind"] == kind)


def load(name: str) -> Any:
    return corpus.load_json(corpus.folder(NETWORK) / name)


def connector(base_url: str = graph.GRAPH_URL) -> FacebookPage:
    options = FacebookOptions(base_url=base_url, page_id=PAGE_ID, token_parameter="/fb/token")
    return FacebookPage(options, http=HttpClient(NETWORK, sleep=lambda s: None),
                        secrets=lambda name: "fb-page-token", state=MemoryState(), clock=lambda: NOW)


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: FacebookAPI()}) as server:
        yield server


@pytest.mark.parametrize("name", files("feed_page"))
def test_feed_pages_give_the_posts_and_the_time_to_page_by(name: str) -> None:
    spec, source = EXPECTED[name], connector()
    posts, following = graph.page_of(NETWORK, load(name), "feed")
    assert following == spec["next"]
    mentions = {m.native_id: m for m in (source.post_mention(post, "post") for post in posts)}
    assert len(mentions) == spec["count"]
    for want in spec["mentions"]:
        corpus.assert_mention(mentions[want["native_id"]], want)


@pytest.mark.parametrize("name", files("comments_page"))
def test_comments_recorded_without_ids_are_each_said_unreadable(name: str) -> None:
    spec, source = EXPECTED[name], connector()
    comments, following = graph.page_of(NETWORK, load(name), "comments")
    found: dict[str, Mention] = {}
    skipped: list[str] = []
    for comment in comments:
        source._comment_tree(comment, INFO, graph.Watermark(None, 0.0), found, skipped)
    assert (following, len(found), skipped) == (spec["next"], spec["mentions"], [spec["reason"]] * spec["skipped"])


@pytest.mark.parametrize("name", files("comment"))
def test_one_comment_gives_its_permalink(name: str) -> None:
    corpus.assert_mention(connector().comment_mention(load(name), INFO), EXPECTED[name]["mention"])


@pytest.mark.parametrize("name", files("post"))
def test_one_post_gives_its_permalink(name: str) -> None:
    corpus.assert_mention(connector().post_mention(load(name), "post"), EXPECTED[name]["mention"])


@pytest.mark.parametrize("name", files("ratings_page"))
def test_recommendations_are_ratings_a_negative_one_urgent(name: str) -> None:
    from chalicelib.networks import spec

    source = connector()
    items, _ = graph.page_of(NETWORK, load(name), "ratings")
    mentions = [source.rating_mention(item) for item in items]
    for mention, want in zip(mentions, EXPECTED[name]["mentions"], strict=True):
        corpus.assert_mention(mention, want)
    assert [spec(NETWORK).owned_match(m).urgent for m in mentions] == [m.rating == 1 for m in mentions]


@pytest.mark.parametrize("name", files("webhook"))
def test_webhook_deliveries_give_the_mentions_read_by_hand(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    if spec["reads"] == "tagged_post":
        srv.add_items(NETWORK, [tagged_post(1, NOW - 60, "Brunch at Bean There")])
    mentions = parse(load(name), connector(srv.base_url(NETWORK)))
    assert len(mentions) == len(spec["mentions"])
    for mention, want in zip(mentions, spec["mentions"], strict=True):
        corpus.assert_mention(mention, want)
    if spec["reads"] is None:
        assert srv.received[NETWORK] == []


@pytest.mark.parametrize("name", files("error"))
def test_error_answers_are_said_for_what_they_are(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    srv.inject(NETWORK, Fault(spec["status"], dict(JSON_CT), (corpus.folder(NETWORK) / name).read_bytes()))
    with pytest.raises(SourceError) as err:
        connector(srv.base_url(NETWORK)).fetch("*", None, Budget(deadline=time.monotonic() + 30))
    assert (type(err.value).__name__, str(err.value)) == (spec["raises"], spec["message"])


@pytest.mark.parametrize("name", files("reply"))
def test_the_create_answer_gives_the_reply_id(srv: ReplayServer, name: str) -> None:
    srv.reset()
    srv.inject(NETWORK, Fault(200, dict(JSON_CT), (corpus.folder(NETWORK) / name).read_bytes()))
    options = FacebookOptions(base_url=srv.base_url(NETWORK), page_id=PAGE_ID, token_parameter="/fb/token")
    replier = FacebookReplier(options, http=HttpClient(NETWORK), secrets=lambda n: "fb-page-token",
                              state=MemoryState(), clock=lambda: NOW)
    mention = connector().comment_mention(load("pyfb_comment_info.json"), INFO)
    reply = replier.post(mention, "Thank you!", idempotency_key="reply-0001-abcd")
    assert reply.native_id == EXPECTED[name]["native_id"]
    [request] = srv.received[NETWORK]
    assert (request.method, request.path, request.body) == (
        "POST", f"/{graph.GRAPH_VERSION}/10158371815748553_10158371930463553/comments", b"message=Thank+you%21")

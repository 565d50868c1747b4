"""The Instagram connector, webhook parser and replier over Graph API answers recorded by the
python-facebook client library and samples of Meta's documentation
(chalicelib/networks/instagram/contract/README.md)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.model import Mention
from chalicelib.networks import graph
from chalicelib.networks.instagram.emulator import InstagramAPI, instagram_media
from chalicelib.networks.instagram.replier import InstagramReplier
from chalicelib.networks.instagram.source import Instagram, InstagramOptions
from chalicelib.networks.instagram.webhook import parse
from chalicelib.sources.base import Budget, CredentialsError, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "instagram"
EXPECTED = corpus.expected(NETWORK)
ACCOUNT = "17841405726653026"  # the account of Meta's samples
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp()
INFO = {"id": "17846368219941692", "permalink": "https://www.instagram.com/p/B8gQCApHMT-/", "owner": "beanthere"}
JSON_CT = {"Content-Type": "application/json; charset=UTF-8"}


def files(kind: str) -> list[str]:
    return sorted(name for name, spec in EXPECTED.items() if spec["kind"] == kind)


def load(name: str) -> Any:
    return corpus.load_json(corpus.folder(NETWORK) / name)


def connector(base_url: str = graph.GRAPH_URL) -> Instagram:
    options = InstagramOptions(base_url=base_url, ig_user_id=ACCOUNT, token_parameter="/ig/token")
    return Instagram(options, http=HttpClient(NETWORK, sleep=lambda s: None), secrets=lambda name: "ig-page-token",
                     state=MemoryState(), clock=lambda: NOW)


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: InstagramAPI(ig_user_id=ACCOUNT)}) as server:
        yield server


@pytest.mark.parametrize("name", files("media_page"))
def test_media_pages_give_the_ids_permalinks_and_next_cursor(name: str) -> None:
    spec, source = EXPECTED[name], connector()
    items, after = graph.page_of(NETWORK, load(name), "media")
    assert after == spec["after"]
    assert [source._media_info(item, f"media[{i}]") for i, item in enumerate(items)] == spec["media"]


@pytest.mark.parametrize("name", files("comments_page"))
def test_comment_pages_give_the_comments_read_by_hand(name: str) -> None:
    spec, source = EXPECTED[name], connector()
    listed, after = graph.page_of(NETWORK, load(name), "comments")
    found: dict[str, Mention] = {}
    skipped: list[str] = []
    source._read_comments(listed, INFO, graph.Watermark(None, 0.0), found, skipped)
    assert (after, skipped) == (spec["after"], [])
    assert list(found) == [want["native_id"] for want in spec["mentions"]]
    for want in spec["mentions"]:
        corpus.assert_mention(found[want["native_id"]], {**want, "url": INFO["permalink"]})
        assert found[want["native_id"]].thread == {"kind": "comment", "media_id": INFO["id"],
                                                   "comment_id": want["native_id"]}


@pytest.mark.parametrize("name", files("comment"))
def test_one_comment_gives_its_author_and_likes(name: str) -> None:
    corpus.assert_mention(connector().comment_mention(load(name), INFO, None), EXPECTED[name]["mention"])


@pytest.mark.parametrize("name", files("tags_page"))
def test_tagged_media_are_mentions_with_their_permalinks(name: str) -> None:
    source = connector()
    items, _ = graph.page_of(NETWORK, load(name), "tags")
    mentions = [source.media_mention(item, "tag") for item in items]
    assert len(mentions) == len(EXPECTED[name]["mentions"])
    for mention, want in zip(mentions, EXPECTED[name]["mentions"], strict=True):
        corpus.assert_mention(mention, want)
        assert mention.thread == {"kind": "tag", "media_id": want["native_id"]}


def answered(srv: ReplayServer, name: str, status: int = 200) -> Instagram:
    srv.reset()
    srv.inject(NETWORK, Fault(status, dict(JSON_CT), (corpus.folder(NETWORK) / name).read_bytes()))
    return connector(srv.base_url(NETWORK))


@pytest.mark.parametrize("name", files("media"))
def test_a_media_read_gives_its_permalink(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    assert answered(srv, name).media(spec["media_id"]) == spec["info"]


@pytest.mark.parametrize("name", files("mentioned_comment"))
def test_a_mentioned_comment_is_read_by_its_id(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    mention = answered(srv, name).mentioned_comment(spec["comment_id"], spec["media_id"])
    corpus.assert_mention(mention, spec["mention"])
    [request] = srv.received[NETWORK]
    assert request.param("fields") == (f"mentioned_comment.comment_id({spec['comment_id']})"
                                       "{id,text,timestamp,username,like_count}")
    assert request.path == f"/{graph.GRAPH_VERSION}/{ACCOUNT}"
    assert "access_token" not in str(request.query) and request.headers["authorization"] == "Bearer ig-page-token"


@pytest.mark.parametrize("name", files("mentioned_media"))
def test_a_mentioned_media_is_read_by_its_id(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    corpus.assert_mention(answered(srv, name).mentioned_media(spec["media_id"], when=spec.get("when")), spec["mention"])


@pytest.mark.parametrize("name", files("webhook"))
def test_webhook_deliveries_give_the_mentions_read_by_hand(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    reads = spec["reads"]
    if reads == "media":  # the media of Meta's sample, the account's own (the emulator serves it)
        media = instagram_media(1, NOW - 60, "first")
        media["id"], media["permalink"] = "17918195224117851", "https://www.instagram.com/p/CRyZpmrjYC4/"
        srv.add_items(NETWORK, [media])
    elif reads is not None:
        srv.inject(NETWORK, Fault(200, dict(JSON_CT), (corpus.folder(NETWORK) / reads).read_bytes()))
    mentions = parse(load(name), connector(srv.base_url(NETWORK)))
    assert len(mentions) == len(spec["mentions"])
    for mention, want in zip(mentions, spec["mentions"], strict=True):
        corpus.assert_mention(mention, want)
    if reads is None:
        assert srv.received[NETWORK] == []


@pytest.mark.parametrize("name", files("error"))
def test_error_answers_are_said_for_what_they_are(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    with pytest.raises(SourceError) as err:
        answered(srv, name, spec["status"]).fetch("*", None, Budget(deadline=time.monotonic() + 30))
    assert type(err.value).__name__ == spec["raises"]
    assert str(err.value) == spec["message"]
    assert "ig-page-token" not in str(err.value)
    if spec["raises"] == "CredentialsError":
        assert isinstance(err.value, CredentialsError)


@pytest.mark.parametrize("name", files("reply"))
def test_the_mentions_answer_gives_the_reply_id(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    srv.inject(NETWORK, Fault(200, dict(JSON_CT), (corpus.folder(NETWORK) / name).read_bytes()))
    options = InstagramOptions(base_url=srv.base_url(NETWORK), ig_user_id=ACCOUNT, token_parameter="/ig/token")
    replier = InstagramReplier(options, http=HttpClient(NETWORK), secrets=lambda n: "ig-page-token",
                               state=MemoryState(), clock=lambda: NOW)
    mention = Mention(network=NETWORK, native_id="17894227972186120", url="https://www.instagram.com/",
                      text="@bluebottle challenge?", created_at=dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC),
                      kind="comment", thread={"kind": "mention", "media_id": "17918195224117851",
                                              "comment_id": "17894227972186120"})
    reply = replier.post(mention, "Challenge accepted!", idempotency_key="reply-0001-abcd")
    assert reply.native_id == spec["native_id"]
    [request] = srv.received[NETWORK]
    assert (request.method, request.path) == ("POST", f"/{graph.GRAPH_VERSION}/{ACCOUNT}/mentions")
    assert request.body == b"media_id=17918195224117851&message=Challenge+accepted%21&comment_id=17894227972186120"

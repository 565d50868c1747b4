"""The Bluesky connector over Bluesky's own material (chalicelib/networks/bluesky/contract/README.md): the
official lexicons and the reference AppView's answers recorded by its test suite."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from chalicelib.networks.bluesky.emulator import BlueskyAPI, post_event, post_view
from chalicelib.networks.bluesky.jetstream import StreamRead, take
from chalicelib.networks.bluesky.source import Bluesky, BlueskyOptions
from chalicelib.sources.base import Budget, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.contracts import corpus

NETWORK = "bluesky"
EXPECTED = corpus.expected(NETWORK)
VIEW_FILES = sorted(name for name, spec in EXPECTED.items()
                    if spec["kind"] not in ("lexicon", "record", "error", "jetstream"))
JETSTREAM_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "jetstream")
ERROR_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "error")
RECORD_FILES = sorted(name for name, spec in EXPECTED.items() if spec["kind"] == "record")


def load(name: str) -> Any:
    return corpus.load_json(corpus.folder(NETWORK) / name)


def lexicon(name: str, definition: str = "main") -> dict[str, Any]:
    document = load(f"lexicon_{name}.json")
    return dict(document["defs"][definition])


def post_views(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The postViews of a getPosts, getTimeline or getPostThread answer, in document order."""
    if "posts" in body:
        return list(body["posts"])
    if "feed" in body:
        return [item["post"] for item in body["feed"]]
    found: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        found.append(node["post"])
        for reply in node.get("replies") or []:
            walk(reply)

    walk(body["thread"])
    return found


def connector(base_url: str = "https://bsky.social", **options: Any) -> Bluesky:
    return Bluesky(BlueskyOptions(base_url=base_url, handle_parameter="/h", app_password_parameter="/p", **options),
                   http=HttpClient(NETWORK, sleep=lambda s: None), state=MemoryState(),
                   secrets=lambda name: {"/h": "beanthere.bsky.social", "/p": "abcd-efgh-ijkl-mnop"}[name])


def parse_page(body: Any) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """The posts read from ``body``, its cursor, and the reasons of the posts that could not be."""
    source = connector()
    posts, cursor, _ = source._parse_page(body)
    return posts, cursor, source._skips.reasons()


ALL_POSTS = [post for name in VIEW_FILES for post in post_views(load(name))]


@pytest.mark.parametrize("name", VIEW_FILES)
def test_views_give_the_mentions_read_by_hand_from_the_source(name: str) -> None:
    posts, _, skipped = parse_page({"posts": post_views(load(name))})
    assert skipped == []
    got = [post["mention"] for post in posts]
    assert len(got) == len(EXPECTED[name]["mentions"])
    for mention, want in zip(got, EXPECTED[name]["mentions"], strict=True):
        for field, value in want.items():
            if field == "parent_rkey":
                actual: Any = mention.thread["parent_uri"].rsplit("/", 1)[-1]
            elif field == "created_at":
                actual = mention.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            else:
                actual = getattr(mention, field)
            assert (field, actual) == (field, value)


@pytest.mark.parametrize("name", RECORD_FILES)
def test_documented_post_records_are_read_as_written(name: str) -> None:
    """The documentation's records (real DIDs, record keys and CIDs) inside a recorded postView."""
    want = EXPECTED[name]
    post = {**copy.deepcopy(ALL_POSTS[0]), "record": load(name), "indexedAt": "2024-01-01T00:00:00.000Z"}
    (read,), _, skipped = parse_page({"posts": [post]})
    mention = read["mention"]
    assert skipped == []
    assert (mention.kind, mention.lang, list(mention.links)) == (want["mention_kind"], want["lang"], want["links"])
    assert mention.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z") == want["created_at"]
    if "text" in want:
        assert mention.text == want["text"]
    if "root_uri" in want:
        assert (mention.thread["root_uri"], mention.thread["parent_cid"]) == (want["root_uri"], want["parent_cid"])


@pytest.mark.parametrize("field", lexicon("feed_defs", "postView")["properties"])
def test_a_post_view_is_read_exactly_when_the_lexicon_s_required_fields_are_there(field: str) -> None:
    required = lexicon("feed_defs", "postView")["required"]
    post = copy.deepcopy(next(p for p in ALL_POSTS if field in p or field not in required))
    post.pop(field, None)
    posts, _, skipped = parse_page({"posts": [post]})
    assert (len(posts), len(skipped)) == ((0, 1) if field in required else (1, 0))


@pytest.mark.parametrize("field", lexicon("actor_defs", "profileViewBasic")["properties"])
def test_an_author_is_read_exactly_when_the_lexicon_s_required_fields_are_there(field: str) -> None:
    required = lexicon("actor_defs", "profileViewBasic")["required"]
    post = copy.deepcopy(ALL_POSTS[0])
    post["author"].pop(field, None)
    posts, _, skipped = parse_page({"posts": [post]})
    assert (len(posts), len(skipped)) == ((0, 1) if field in required else (1, 0))


@pytest.fixture(scope="module")
def srv() -> Iterator[ReplayServer]:
    with ReplayServer({NETWORK: BlueskyAPI()}) as server:
        yield server


def test_the_connector_asks_only_what_the_search_lexicon_defines(srv: ReplayServer) -> None:
    srv.reset()
    connector(srv.base_url(NETWORK)).fetch("bean there", None, Budget(deadline=time.monotonic() + 30))
    parameters = lexicon("searchPosts")["parameters"]["properties"]
    (search,) = [r for r in srv.received[NETWORK] if r.path.endswith("app.bsky.feed.searchPosts")]
    assert {name for name, _ in search.query} <= set(parameters)
    assert int(search.param("limit") or 0) <= parameters["limit"]["maximum"]


@pytest.mark.parametrize("method", ["createSession", "refreshSession"])
def test_the_session_answer_holds_what_the_lexicon_requires_and_nothing_else_is_needed(method: str) -> None:
    output = lexicon(method)["output"]["schema"]
    assert set(output["required"]) == {"accessJwt", "refreshJwt", "handle", "did"}
    answer = {key: "x" for key in output["required"]}
    assert connector()._keep_session(answer, method) == answer


def test_the_emulator_stays_inside_the_documented_shape(srv: ReplayServer) -> None:
    srv.reset()
    now = time.time()
    srv.add_items(NETWORK, [post_view(now - 60, "Bean There coffee", links=("https://beanthere.example",),
                                      tags=("coffee",)),
                            post_view(now - 30, "Bean There again", reply_to=post_view(now - 90, "root"))])
    session = requests.post(f"{srv.base_url(NETWORK)}/xrpc/com.atproto.server.createSession", timeout=5,
                            json={"identifier": "beanthere.bsky.social", "password": "abcd-efgh-ijkl-mnop"}).json()
    served = requests.get(f"{srv.base_url(NETWORK)}/xrpc/app.bsky.feed.searchPosts", params={"q": "bean"},
                          headers={"Authorization": f"Bearer {session['accessJwt']}"}, timeout=5).json()
    assert len(served["posts"]) == 2
    records = [load(name) for name in RECORD_FILES]
    documented = corpus.shapes_of([*ALL_POSTS, *({**ALL_POSTS[0], "record": record} for record in records)])
    # Facet features are a union (mention, link, tag): each is judged by the facet lexicon's own definition.
    post_drift = [p for post in served["posts"] for p in corpus.drift(corpus.shape(post), documented)
                  if not p.startswith("$.record.facets[].features[]")]
    facet = load("lexicon_facet.json")["defs"]
    for post in served["posts"]:
        for feature in (f for item in post["record"].get("facets", []) for f in item["features"]):
            kind = feature["$type"].removeprefix("app.bsky.richtext.facet#")
            assert set(feature) - {"$type"} <= set(facet[kind]["properties"]), feature
    answer_keys = set(lexicon("searchPosts")["output"]["schema"]["properties"])
    session_keys = set(lexicon("createSession")["output"]["schema"]["properties"])
    assert (post_drift, set(served) - answer_keys, set(session) - session_keys) == ([], set(), set())


@pytest.mark.parametrize("name", ERROR_FILES)
def test_error_answers_are_said_for_what_they_are(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    srv.reset()
    srv.apis[NETWORK] = BlueskyAPI()
    now = time.time()
    srv.add_items(NETWORK, [post_view(now - 60, "bean there")])
    headers = {"Content-Type": "application/json; charset=utf-8", **spec.get("headers", {})}
    if "reset_in_seconds" in spec:
        headers["RateLimit-Reset"] = str(int(now + spec["reset_in_seconds"]))
    body = (corpus.folder(NETWORK) / name).read_bytes()
    bsky = connector(srv.base_url(NETWORK))
    budget = Budget(deadline=time.monotonic() + 30)
    srv.inject(NETWORK, Fault(passthrough=True), Fault(status=spec["status"], headers=headers, body=body))
    if spec["outcome"] == "RateLimited":
        with pytest.raises(RateLimited) as err:
            bsky.fetch("bean", None, budget)
        assert err.value.retry_after == pytest.approx(spec["reset_in_seconds"], abs=2)
        return
    result = bsky.fetch("bean", None, budget)  # the expired token is refreshed and the search asked again
    assert [m.text for m in result.mentions] == ["bean there"]
    assert [r.path.rsplit(".", 1)[-1] for r in srv.received[NETWORK]] == [
        "createSession", "searchPosts", "refreshSession", "searchPosts"]


# --- Jetstream (bluesky-social/jetstream, cited in contract/README.md) ----------------------------


def jetstream_frames(name: str) -> list[str]:
    """The events of a Jetstream payload file as the frames they arrived in (one JSON object each)."""
    text = corpus.raw(NETWORK, name).decode()
    if name.endswith(".jsonl"):
        return [line for line in text.splitlines() if line]
    return [json.dumps(json.loads(text))]


@pytest.mark.parametrize("name", JETSTREAM_FILES)
def test_jetstream_events_give_the_posts_read_by_hand_from_the_source(srv: ReplayServer, name: str) -> None:
    spec = EXPECTED[name]
    frames = jetstream_frames(name)
    read = StreamRead()
    assert [take(read, frame, stop_us=2**62) for frame in frames] == [False] * len(frames)
    assert (read.events, read.skipped, read.last_time_us) == (spec["events"], spec["skipped"], spec["last_time_us"])
    # Through the emulated Jetstream, a connection, the local match and the mentions:
    srv.reset()
    api = srv.apis[NETWORK] = BlueskyAPI()
    after = spec["last_time_us"] / 1_000_000 + 1
    api.clock = lambda: after
    api.jetstream_frames = [(json.loads(frame)["time_us"], frame) for frame in frames]
    bsky = connector(srv.base_url(NETWORK), mode="firehose", firehose_idle_seconds=0.2)
    bsky._clock = lambda: after
    start = {"time_us": min(t for t, _ in api.jetstream_frames), "seen": {}}
    terms = [post["text"].split()[0] for post in spec["posts"]] or ["anything"]
    results = bsky.fetch_many(terms, dict.fromkeys(terms, start), Budget(deadline=time.monotonic() + 30))
    mentions = [m for result in results.values() for m in result.mentions]
    assert len(mentions) == len(spec["posts"])
    for mention, want in zip(mentions, spec["posts"], strict=True):
        thread = {"parent_uri": mention.thread["parent_uri"], "root_uri": mention.thread["root_uri"]}
        got = {field: getattr(mention, field) for field in want if field not in thread}
        got |= {k: v for k, v in thread.items() if k in want}
        got["created_at"] = mention.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert got == want
    assert {r.path for r in srv.received[NETWORK]} <= {"/subscribe", "/xrpc/com.atproto.server.createSession",
                                                      "/xrpc/app.bsky.actor.getProfiles"}
    # The connection asked for posts only: the cursor stops at the last event of those that came.
    delivered = [json.loads(f) for f in frames]
    delivered = [e for e in delivered if e["kind"] != "commit" or e["commit"]["collection"] == "app.bsky.feed.post"]
    assert results[terms[0]].cursor["time_us"] == max((e["time_us"] for e in delivered), default=start["time_us"])


def test_the_emulated_jetstream_speaks_the_documented_event_shape() -> None:
    documented = corpus.shapes_of([json.loads(f) for name in JETSTREAM_FILES for f in jetstream_frames(name)
                                   if json.loads(f)["kind"] == "commit"])
    documented["commit"]["record"] = corpus.shapes_of(  # the record is a post record, as the corpus holds them
        [post["record"] for post in ALL_POSTS] + [load(name) for name in RECORD_FILES])
    now = time.time()
    events = [json.loads(post_event(post_view(now - 60, "Bean There", links=("https://beanthere.example",)))),
              json.loads(post_event(post_view(now - 30, "a reply", reply_to=post_view(now - 90, "root"))))]
    assert [p for event in events for p in corpus.drift(corpus.shape(event), documented)
            if not p.startswith("$.commit.record.facets[].features[]")] == []


def test_the_connector_asks_get_profiles_only_what_its_lexicon_defines(srv: ReplayServer) -> None:
    srv.reset()
    api = srv.apis[NETWORK] = BlueskyAPI()
    now = time.time()
    srv.add_items(NETWORK, [post_view(now - 60 + n, f"bean there {n}", did=f"did:plc:author{n:03d}",
                                      handle=f"a{n}.bsky.social", clock_id=n) for n in range(30)])
    bsky = connector(srv.base_url(NETWORK), mode="firehose", firehose_idle_seconds=0.2)
    results = bsky.fetch_many(["bean", "there"], {}, Budget(deadline=time.monotonic() + 30))
    parameters = lexicon("getProfiles")["parameters"]
    calls = [r for r in srv.received[NETWORK] if r.path.endswith("app.bsky.actor.getProfiles")]
    assert [len(r.params("actors")) for r in calls] == [25, 5]
    assert all({name for name, _ in r.query} <= set(parameters["properties"]) for r in calls)
    assert parameters["properties"]["actors"]["maxLength"] == 25 and api.profile_calls == 2
    assert sorted(m.author_handle for m in results["bean"].mentions) == sorted(f"a{n}.bsky.social" for n in range(30))

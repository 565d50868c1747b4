"""The DEV (Forem API v1) connector against the replay emulation of its article listings."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.networks.devto.emulator import DevToAPI, demo_items, devto_article
from chalicelib.networks.devto.source import DevTo, DevToOptions
from chalicelib.sources.base import BadPayload, Budget, SkipLedger
from chalicelib.sources.http import HttpClient
from offline.replay.server import ReplayServer

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"devto": DevToAPI()}) as srv:
        yield srv


@pytest.fixture
def srv(server: ReplayServer) -> ReplayServer:
    server.reset()
    return server


def connector(srv: ReplayServer, sleeps: list[float] | None = None, **options: object) -> DevTo:
    opts = DevToOptions(base_url=srv.base_url("devto"), **options)  # type: ignore[arg-type]
    record = sleeps if sleeps is not None else []
    return DevTo(opts, http=HttpClient("devto", timeout=opts.timeout_seconds, sleep=record.append), clock=lambda: NOW)


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 60)


def articles(count: int, newest: int, first_id: int = 1000, step: int = 60, **kw: object) -> list[dict]:
    return [devto_article(first_id + i, newest - i * step, f"Article {i}", **kw) for i in range(count)]  # type: ignore[arg-type]


def test_two_pages_followed_and_cursor_advanced(srv: ReplayServer) -> None:
    srv.add_items("devto", articles(15, NOW - 10))
    result = connector(srv, per_page=10).fetch("*", None, budget())
    assert sorted(m.native_id for m in result.mentions) == [str(1000 + i) for i in range(15)]
    assert [(r.path, r.param("page")) for r in srv.received["devto"]] == [("/api/articles/latest", "1"),
                                                                         ("/api/articles/latest", "2")]
    assert result.complete is True
    assert result.cursor == {"published_at": NOW - 10, "ids": [1000], "extra": {}}


def test_first_run_fetches_only_the_last_day(srv: ReplayServer) -> None:
    srv.add_items("devto", [
        devto_article(1, NOW - 3600, "An hour old"),
        devto_article(2, NOW - 25 * 3600, "A day and an hour old"),
    ])
    result = connector(srv).fetch("*", None, budget())
    assert [m.native_id for m in result.mentions] == ["1"]


def test_page_limit_leaves_a_gap_that_the_next_cycle_reads_first(srv: ReplayServer) -> None:
    srv.add_items("devto", articles(25, NOW - 10))
    devto = connector(srv, per_page=10, max_pages=2)
    first = devto.fetch("*", None, budget())
    srv.add_items("devto", [devto_article(7000, NOW - 1, "Arrived meanwhile")])
    second = devto.fetch("*", first.cursor, budget())
    third = devto.fetch("*", second.cursor, budget())
    assert first.complete is False
    assert first.cursor["gap"]["page"] == 3
    assert sorted(m.native_id for m in second.mentions) == [str(1000 + i) for i in range(20, 25)]
    assert second.complete is True and "gap" not in second.cursor
    assert [m.native_id for m in third.mentions] == ["7000"]


def test_tag_listing_adds_what_the_stream_had_no_room_for_and_never_twice(srv: ReplayServer) -> None:
    srv.add_items("devto", articles(10, NOW - 10))
    srv.add_items("devto", [devto_article(9000, NOW - 700, "Coffee roasting", tags=("coffee",), reactions=50)])
    devto = connector(srv, per_page=5, max_pages=1, tags=["Coffee"])
    first = devto.fetch("*", None, budget())
    rest = devto.fetch("*", first.cursor, budget())
    again = devto.fetch("*", rest.cursor, budget())
    tag_request = srv.received["devto"][1]
    assert (tag_request.path, tag_request.param("tag"), tag_request.param("per_page")) == ("/api/articles", "coffee",
                                                                                           "5")
    assert "9000" in [m.native_id for m in first.mentions]
    all_ids = [m.native_id for m in first.mentions + rest.mentions + again.mentions]
    assert sorted(all_ids) == sorted([str(1000 + i) for i in range(10)] + ["9000"])


def test_tags_must_be_dev_tags() -> None:
    with pytest.raises(pydantic.ValidationError, match="not DEV tags"):
        DevToOptions(tags=["coffee shop"])


def test_tag_list_given_as_a_string_is_accepted(srv: ReplayServer) -> None:
    article = devto_article(11, NOW - 60, "String tags")
    article["tag_list"], article["tags"] = "coffee, lisbon", ["coffee", "lisbon"]
    srv.add_items("devto", [article])
    assert connector(srv).fetch("*", None, budget()).mentions[0].tags == ("coffee", "lisbon")


def test_article_normalized_with_permalink_author_reach_and_thread(srv: ReplayServer) -> None:
    srv.add_items("devto", [devto_article(42, NOW - 60, "Normalized", description="The description.",
                                          username="jess", name="Jess Lee", tags=("coffee", "lisbon"), reactions=12,
                                          canonical_url="https://jess.example/normalized")])
    mention = connector(srv).fetch("*", None, budget()).mentions[0]
    assert mention.url.startswith("https://dev.to/jess/normalized-")
    assert (mention.title, mention.text) == ("Normalized", "The description.")
    assert (mention.author_handle, mention.author_name, mention.author_url) == ("jess", "Jess Lee",
                                                                                 "https://dev.to/jess")
    assert mention.reach == 12
    assert mention.links == ("https://jess.example/normalized",)
    assert mention.thread == {"article_id": "42", "username": "jess"}
    assert mention.created_at.isoformat() == "2027-01-15T07:59:00+00:00"


def test_an_article_whose_url_is_outside_dev_to_is_skipped_and_counted(srv: ReplayServer) -> None:
    article = devto_article(12, NOW - 60, "Phishing")
    article["url"] = "https://evil.example/ben/phishing"
    srv.add_items("devto", [article, devto_article(13, NOW - 70, "Fine")])
    result = connector(srv).fetch("*", None, budget())
    assert [m.native_id for m in result.mentions] == ["13"]
    assert result.skipped == ["article 12.url is not a dev.to link"]
    assert result.cursor["published_at"] == NOW - 60


def test_a_future_dated_article_is_returned_once_but_never_moves_the_watermark_past_now(srv: ReplayServer) -> None:
    srv.add_items("devto", [devto_article(20, NOW + 365 * 86400, "From the future"),
                            devto_article(21, NOW - 60, "Now")])
    dev = connector(srv)
    first = dev.fetch("*", None, budget())
    assert sorted(m.native_id for m in first.mentions) == ["20", "21"]
    assert first.cursor["published_at"] == NOW - 60
    srv.add_items("devto", [devto_article(22, NOW - 30, "Later")])
    assert [m.native_id for m in dev.fetch("*", first.cursor, budget()).mentions] == ["22"]


def test_a_cursor_ahead_of_the_clock_is_brought_back_to_now(srv: ReplayServer) -> None:
    result = connector(srv).fetch("*", {"published_at": NOW + 10**6, "ids": []}, budget())
    assert result.cursor["published_at"] == NOW


def test_unicode_emoji_and_entities_come_out_as_given(srv: ReplayServer) -> None:
    srv.add_items("devto", [devto_article(
        77, NOW - 60, "Café ☕ «naïve» 日本語 & <tags>", description="Tom & Jerry's crème brûlée 🍮 <script>",
        username="zoe", name="Zoë Ñandú 🦜",
    )])
    mention = connector(srv).fetch("*", None, budget()).mentions[0]
    assert mention.title == "Café ☕ «naïve» 日本語 & <tags>"
    assert mention.text == "Tom & Jerry's crème brûlée 🍮 <script>"
    assert mention.author_name == "Zoë Ñandú 🦜"


def test_requests_use_the_forem_v1_accept_header_and_paging_parameters(srv: ReplayServer) -> None:
    connector(srv).fetch("*", None, budget())
    request = srv.received["devto"][0]
    assert request.path == "/api/articles/latest"
    assert request.query == [("per_page", "100"), ("page", "1")]
    assert request.headers["accept"] == "application/vnd.forem.api-v1+json"
    assert "api-key" not in request.headers


def test_demo_items_parse(srv: ReplayServer) -> None:
    srv.add_items("devto", demo_items(NOW, {}))
    result = connector(srv).fetch("*", None, budget())
    assert len(result.mentions) == 6
    assert sum("Bean There Café" in m.searchable_text for m in result.mentions) == 4


def test_a_valid_article_shape_with_hostile_values_raises_only_source_error() -> None:
    devto = DevTo(DevToOptions(), http=HttpClient("devto"), clock=lambda: NOW)
    article = devto_article(1, NOW, "x")
    for field, value in [("published_at", "2027-13-45T00:00:00Z"), ("published_at", "yesterday"),
                         ("id", True), ("user", None), ("tag_list", [1, 2]), ("url", "https://dev.to/a b")]:
        devto._skips = SkipLedger("devto", devto._id_and_time)
        assert devto._parse_page([{**article, field: value}, article]) == [article]
        assert len(devto._skips.reasons()) == 1


_hostile = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | st.sampled_from(
    ["9999-12-31T23:59:59-01:00", "2027-01-15T07:59:00", "https://evil.example/", "a, b", [], {}, ["x", 1]])


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(["id", "url", "title", "description", "published_at", "tag_list", "tags", "user",
                              "public_reactions_count", "comments_count", "canonical_url"]),
       user_field=st.sampled_from(["username", "name"]), value=_hostile, user_value=_hostile)
def test_documented_shape_with_hostile_values_raises_nothing_but_bad_payload(
        field: str, user_field: str, value: object, user_value: object) -> None:
    devto = DevTo(DevToOptions(), http=HttpClient("devto"), clock=lambda: NOW)
    article = devto_article(1, NOW, "Title")
    article = {**article, "user": {**article["user"], user_field: user_value}, field: value}
    try:
        for parsed in devto._parse_page([article]):
            devto._mention(parsed)
    except BadPayload:
        pass



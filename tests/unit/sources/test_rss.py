"""The RSS / Google Alerts connector against emulated feeds at /rss/<feed-name>."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.sources.base import BadPayload, Budget, RateLimited, SourceError, Unavailable
from chalicelib.sources.http import HttpClient
from chalicelib.sources.rss import Feeds, FeedsOptions
from offline.replay.rss import FeedsAPI, alert_entry, demo_items, rss_item
from offline.replay.server import Fault, ReplayServer

NOW = 1_790_000_000  # 2026-09-21T14:13:20Z
API = FeedsAPI(window=5)


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer({"rss": API}) as srv:
        yield srv


@pytest.fixture
def srv(server: ReplayServer) -> ReplayServer:
    server.reset()
    return server


def budget() -> Budget:
    return Budget(deadline=time.monotonic() + 30)


def feed_url(srv: ReplayServer, name: str) -> str:
    return f"{srv.base_url('rss')}/{name}"


def connector(srv: ReplayServer, *names: str, now: float = NOW, **options: object) -> Feeds:
    opts = FeedsOptions(feeds=[feed_url(srv, n) for n in names], **options)  # type: ignore[arg-type]
    http = HttpClient("rss", timeout=opts.timeout_seconds, sleep=lambda s: None)
    return Feeds(opts, http=http, clock=lambda: now)


def alerts(count: int, newest: int, feed: str = "alert") -> list[dict]:
    return [alert_entry(feed, 100 + i, newest - i * 10, f"<b>Espresso</b> news {i}",
                        f"https://news.example/{i}", f"About <b>espresso</b> {i}") for i in range(count)]


def test_every_feed_is_read_and_the_cursor_keeps_each_feeds_etag(srv: ReplayServer) -> None:
    blog_post = rss_item("blog", "p1", NOW - 50, "Cold brew", "https://blog.example.pt/p1", "<p>cold</p>")
    srv.add_items("rss", [*alerts(2, NOW - 100), blog_post])
    result = connector(srv, "alert", "blog").fetch("*", None, budget())
    assert sorted(m.url for m in result.mentions) == [
        "https://blog.example.pt/p1", "https://news.example/0", "https://news.example/1"]
    assert result.pages == 2 and result.complete
    assert [r.path for r in srv.received["rss"]] == ["/alert", "/blog"]
    assert {"if-none-match", "if-modified-since"} & set(srv.received["rss"][0].headers) == set()
    cursor = result.cursor["feeds"][feed_url(srv, "alert")]
    assert cursor["etag"].startswith('"') and cursor["modified"] == "Mon, 21 Sep 2026 14:11:40 GMT"
    assert cursor["newest"] == NOW - 100 and len(cursor["seen"]) == 2


def test_second_cycle_sends_validators_and_a_304_gives_nothing_and_keeps_the_cursor(srv: ReplayServer) -> None:
    srv.add_items("rss", alerts(2, NOW - 100))
    first = connector(srv, "alert").fetch("*", None, budget())
    second = connector(srv, "alert", now=NOW + 60).fetch("*", first.cursor, budget())
    assert second.mentions == [] and second.cursor == first.cursor
    request = srv.received["rss"][-1]
    feed_cursor = first.cursor["feeds"][feed_url(srv, "alert")]
    assert request.headers["if-none-match"] == feed_cursor["etag"]
    assert request.headers["if-modified-since"] == feed_cursor["modified"]


def test_second_cycle_fetches_nothing_already_seen(srv: ReplayServer) -> None:
    srv.add_items("rss", alerts(3, NOW - 100))
    first = connector(srv, "alert").fetch("*", None, budget())
    srv.add_items("rss", [alert_entry("alert", 999, NOW - 100, "<b>Espresso</b> same second", "https://n.example/s",
                                      "same"),
                          alert_entry("alert", 1000, NOW + 5, "<b>Espresso</b> newer", "https://n.example/n", "new")])
    second = connector(srv, "alert", now=NOW + 10).fetch("*", first.cursor, budget())
    assert sorted(m.url for m in second.mentions) == ["https://n.example/n", "https://n.example/s"]
    srv.add_items("rss", [alert_entry("alert", 1001, NOW + 20, "<b>Espresso</b> newest", "https://n.example/x", "x")])
    third = connector(srv, "alert", now=NOW + 30).fetch("*", second.cursor, budget())
    assert [m.url for m in third.mentions] == ["https://n.example/x"]


def test_first_run_fetches_only_recent_entries(srv: ReplayServer) -> None:
    srv.add_items("rss", [alert_entry("alert", 1, NOW - 2 * 86400, "old", "https://n.example/old", "old"),
                          alert_entry("alert", 2, NOW - 3600, "new", "https://n.example/new", "new")])
    result = connector(srv, "alert").fetch("*", None, budget())
    assert [m.url for m in result.mentions] == ["https://n.example/new"]
    assert len(result.cursor["feeds"][feed_url(srv, "alert")]["seen"]) == 2


def test_google_alert_entry_is_unwrapped_and_made_plain(srv: ReplayServer) -> None:
    srv.add_items("rss", [alert_entry(
        "alert", 17440847249129969091, NOW - 60, "Why <b>Bean There Café</b> &amp; co. rock 😊 - Time Out",
        "https://www.timeout.pt/lisboa/bean-there?ref=a&x=1",
        "The <b>Bean There Café</b> team&#8217;s <b>Cold brew</b> &lt;3 ☕")])
    [mention] = connector(srv, "alert").fetch("*", None, budget()).mentions
    assert mention.url == "https://www.timeout.pt/lisboa/bean-there?ref=a&x=1"
    assert mention.links == ("https://www.timeout.pt/lisboa/bean-there?ref=a&x=1",)
    assert mention.title == "Why Bean There Café & co. rock 😊 - Time Out"
    assert mention.text == "The Bean There Café team’s Cold brew <3 ☕"
    assert mention.community == "Google Alert - Bean There Café"
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC)
    entry_id = b"tag:google.com,2013:googlealerts/feed:17440847249129969091"
    assert mention.native_id == hashlib.sha256(entry_id).hexdigest()[:32]
    assert mention.thread == {"feed": feed_url(srv, "alert"),
                              "entry_id": "tag:google.com,2013:googlealerts/feed:17440847249129969091"}
    assert mention.author_handle == ""


def test_redirect_to_a_non_http_target_keeps_the_google_link(srv: ReplayServer) -> None:
    srv.add_items("rss", [alert_entry("alert", 5, NOW - 60, "x", "javascript:alert(1)", "x")])
    [mention] = connector(srv, "alert").fetch("*", None, budget()).mentions
    assert mention.url.startswith("https://www.google.com/url?rct=j&sa=t&url=javascript")


def test_rss_item_is_normalized(srv: ReplayServer) -> None:
    srv.add_items("rss", [rss_item("blog", "post-1", NOW - 100, "A < B & café", "https://blog.example.pt/p1",
                                   "<p>Ol&aacute; &amp; adeus</p>", author="Rita Sousa", categories=("coffee",))])
    [mention] = connector(srv, "blog").fetch("*", None, budget()).mentions
    assert (mention.title, mention.text) == ("A < B & café", "Olá & adeus")
    assert (mention.author_handle, mention.lang, mention.tags) == ("Rita Sousa", "pt-PT", ("coffee",))
    assert mention.community == "Lisboa Food Blog"


def test_entries_are_deduplicated_on_the_entry_id(srv: ReplayServer) -> None:
    twin = rss_item("blog", "same-guid", NOW - 100, "one", "https://blog.example.pt/a", "a")
    srv.add_items("rss", [twin, {**twin, "feed": "mirror"}])
    result = connector(srv, "blog", "mirror").fetch("*", None, budget())
    assert len(result.mentions) == 1


def test_budget_cut_resumes_with_the_feed_not_read(srv: ReplayServer) -> None:
    srv.add_items("rss", alerts(1, NOW - 10, "a") + alerts(1, NOW - 10, "b"))
    # The budget runs out as soon as one request has been made.
    cut = Budget(deadline=50, clock=lambda: 100 * len(srv.received["rss"]))
    first = connector(srv, "a", "b").fetch("*", None, cut)
    assert not first.complete and first.cursor["resume"] == feed_url(srv, "b")
    second = connector(srv, "a", "b").fetch("*", first.cursor, budget())
    assert [r.path for r in srv.received["rss"]] == ["/a", "/b", "/a"]
    assert len(second.mentions) == 1


def test_one_failing_feed_keeps_its_cursor_and_the_others_are_read(srv: ReplayServer) -> None:
    srv.add_items("rss", alerts(1, NOW - 10, "good"))
    result = connector(srv, "gone", "good").fetch("*", None, budget())
    assert len(result.mentions) == 1 and not result.complete
    assert list(result.cursor["feeds"]) == [feed_url(srv, "good")]


def test_deleted_alert_alone_is_an_error_naming_the_feed(srv: ReplayServer) -> None:
    with pytest.raises(SourceError, match=r"HTTP 404"):
        connector(srv, "gone").fetch("*", None, budget())


def test_429_with_retry_after_is_rate_limited(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(status=429, headers={"Retry-After": "120"}))
    with pytest.raises(RateLimited) as err:
        connector(srv, "alert").fetch("*", None, budget())
    assert err.value.retry_after == 120


def test_500_is_unavailable_after_retries(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(status=500), Fault(status=500), Fault(status=500))
    with pytest.raises(Unavailable, match="HTTP 500"):
        connector(srv, "alert").fetch("*", None, budget())
    assert len(srv.received["rss"]) == 3


def test_timeout_is_unavailable(srv: ReplayServer) -> None:
    # The client never waits less than 0.5 s when a budget is given.
    srv.inject("rss", *[Fault(delay_seconds=0.8, passthrough=True)] * 3)
    with pytest.raises(Unavailable, match="no answer within"):
        connector(srv, "alert", timeout_seconds=0.1).fetch("*", None, budget())


def test_malformed_xml_is_bad_payload_naming_the_feed(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(status=200, body=b"<feed><title>Alert &bogus;</title></feed>"))
    with pytest.raises(BadPayload) as err:
        connector(srv, "alert").fetch("*", None, budget())
    assert str(err.value) == f"rss: feed {feed_url(srv, 'alert')}: not well-formed XML (undefined entity at line 2)"


def test_html_page_is_not_a_feed(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(status=200, body=b"<html><body>Sign in</body></html>"))
    with pytest.raises(BadPayload, match="not an RSS or Atom feed"):
        connector(srv, "alert").fetch("*", None, budget())


def test_a_body_naming_a_local_file_is_not_read_as_that_file(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(status=200, body=b"/etc/hostname"))
    with pytest.raises(BadPayload):
        connector(srv, "alert").fetch("*", None, budget())


def test_feed_urls_must_be_http() -> None:
    with pytest.raises(ValueError, match="not an http"):
        FeedsOptions(feeds=["file:///etc/passwd"])


def test_demo_items_are_served_and_parsed(srv: ReplayServer) -> None:
    srv.add_items("rss", demo_items(NOW, {}))
    result = connector(srv, "bean-there-alert", "lisboa-food-blog").fetch("*", None, budget())
    assert len(result.mentions) == 6
    assert sum("Bean There Café" in m.searchable_text for m in result.mentions) == 5


_xmlish = st.lists(st.sampled_from([
    "<?xml version='1.0'?>", "<feed xmlns='http://www.w3.org/2005/Atom'>", "</feed>", "<entry>", "</entry>",
    "<rss version='2.0'>", "<channel>", "<item>", "</item>", "<title type='html'>", "</title>", "<id>", "</id>",
    "<link href='javascript:x'/>", "<link>https://www.google.com/url?url=%00</link>", "<published>", "</published>",
    "9999-99-99T99:99:99Z", "Mon, 21 Sep 2026 14:00:00 GMT", "&lt;b&gt;", "&amp;", "&bogus;", "café ☕", "<![CDATA[",
    "]]>", "<content type='html'>", "</content>", "<guid>", "</guid>", "<category term='x'/>", "<pubDate>",
    "</pubDate>", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>", "&e;",
]), max_size=25).map(lambda parts: "".join(parts).encode())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=200), _xmlish))
def test_any_body_raises_nothing_but_source_error(srv: ReplayServer, body: bytes) -> None:
    feeds = connector(srv, "alert")
    try:
        entries, _ = feeds.parse_feed("https://feed.example/x", body)
        for entry in entries:
            feeds._mention("https://feed.example/x", "x", entry, NOW)
    except SourceError:
        pass

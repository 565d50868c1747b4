"""The RSS / Google Alerts connector against emulated feeds at /rss/<feed-name>."""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.networks.rss.emulator import FeedsAPI, alert_entry, demo_items, rss_item
from chalicelib.networks.rss.source import Feeds, FeedsOptions
from chalicelib.sources.base import BadPayload, Budget, SourceError
from chalicelib.sources.http import HttpClient
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
        entries, _, _ = feeds.parse_feed("https://feed.example/x", body)
        for entry in entries:
            feeds._mention("https://feed.example/x", "x", entry, NOW)
    except SourceError:
        pass


ATOM = 'application/atom+xml; charset=UTF-8'


def _rss_body(*items: str, base: str = "") -> bytes:
    attr = f' xml:base="{base}"' if base else ""
    return (f'<?xml version="1.0"?><rss version="2.0"><channel{attr}><title>Blog</title>'
            + "".join(items) + "</channel></rss>").encode()


def _item(link: str, guid: str, published: int = NOW - 60) -> str:
    return (f"<item><title>t {guid}</title><link>{link}</link><guid>{guid}</guid>"
            f"<pubDate>{dt.datetime.fromtimestamp(published, tz=dt.UTC):%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>")


def test_a_relative_link_resolves_against_the_address_read_not_to_the_feeds_url(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(200, {"Content-Type": "application/rss+xml"}, _rss_body(_item("/posts/1", "g1"))))
    [mention] = connector(srv, "blog").fetch("*", None, budget()).mentions
    assert mention.url == f"http://127.0.0.1:{srv.port}/posts/1"


def test_a_relative_link_resolves_against_content_location(srv: ReplayServer) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Location": "https://blog.example.pt/feeds/all.xml"}
    srv.inject("rss", Fault(200, headers, _rss_body(_item("../posts/2", "g2"), _item("3", "g3"))))
    mentions = connector(srv, "blog").fetch("*", None, budget()).mentions
    assert sorted(m.url for m in mentions) == ["https://blog.example.pt/feeds/3", "https://blog.example.pt/posts/2"]


def test_xml_base_wins_over_the_address_read(srv: ReplayServer) -> None:
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://a.example/dir/">'
            b'<title>A</title><entry xml:base="sub/"><id>urn:x:1</id><title>one</title><link href="p1"/>'
            b"<updated>2026-09-21T14:00:00Z</updated></entry></feed>")
    srv.inject("rss", Fault(200, {"Content-Type": ATOM, "Content-Location": "https://other.example/"}, body))
    [mention] = connector(srv, "blog").fetch("*", None, budget()).mentions
    assert mention.url == "https://a.example/dir/sub/p1"


def test_a_content_location_of_another_scheme_is_ignored(srv: ReplayServer) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Location": "javascript:alert(1)//"}
    srv.inject("rss", Fault(200, headers, _rss_body(_item("/posts/4", "g4"))))
    [mention] = connector(srv, "blog").fetch("*", None, budget()).mentions
    assert mention.url == f"http://127.0.0.1:{srv.port}/posts/4"


def test_a_301_is_followed_and_the_new_address_read_from_the_next_cycle_on(srv: ReplayServer) -> None:
    srv.add_items("rss", [rss_item("new-home", "p1", NOW - 50, "Cold brew", "https://blog.example.pt/p1", "x")])
    srv.inject("rss", Fault(301, {"Location": "/rss/new-home"}))
    feeds = connector(srv, "old-home")
    first = feeds.fetch("*", None, budget())
    assert [m.url for m in first.mentions] == ["https://blog.example.pt/p1"]
    assert first.mentions[0].thread["feed"] == feed_url(srv, "old-home")
    state = first.cursor["feeds"][feed_url(srv, "old-home")]
    assert state["moved_to"] == feed_url(srv, "new-home")
    srv.add_items("rss", [rss_item("new-home", "p2", NOW - 40, "Iced", "https://blog.example.pt/p2", "y")])
    second = feeds.fetch("*", first.cursor, budget())
    assert [m.url for m in second.mentions] == ["https://blog.example.pt/p2"]
    assert srv.received["rss"][-1].path == "/new-home"
    assert second.cursor["feeds"][feed_url(srv, "old-home")]["moved_to"] == feed_url(srv, "new-home")


def test_a_302_is_followed_but_not_remembered(srv: ReplayServer) -> None:
    srv.add_items("rss", [rss_item("mirror", "p1", NOW - 50, "Cold brew", "https://blog.example.pt/p1", "x")])
    srv.inject("rss", Fault(302, {"Location": feed_url(srv, "mirror")}))
    result = connector(srv, "blog").fetch("*", None, budget())
    assert [m.url for m in result.mentions] == ["https://blog.example.pt/p1"]
    assert "moved_to" not in result.cursor["feeds"][feed_url(srv, "blog")]


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ([Fault(302, {"Location": "/rss/a"}), Fault(302, {"Location": "/rss/b"}), Fault(302, {"Location": "/rss/c"}),
          Fault(302, {"Location": "/rss/d"})], "redirects more than 3 times; check its address"),
        ([Fault(301, {"Location": "file:///etc/passwd"})],
         "redirects to 'file:///etc/passwd', which is not an http(s) address; not followed"),
        ([Fault(307, {"Location": "ftp://feeds.example/x"})],
         "redirects to 'ftp://feeds.example/x', which is not an http(s) address; not followed"),
        ([Fault(301, {"Location": "http://user:pw@feeds.example/x"})],
         "redirects to 'http://user:pw@feeds.example/x', which is not an http(s) address; not followed"),
        ([Fault(301)], "redirects to '', which is not an http(s) address; not followed"),
    ],
)
def test_redirects_are_followed_safely(srv: ReplayServer, faults: list[Fault], message: str) -> None:
    srv.inject("rss", *faults)
    with pytest.raises(SourceError) as err:
        connector(srv, "blog").fetch("*", None, budget())
    assert str(err.value) == f"rss: feed {feed_url(srv, 'blog')} {message}"
    assert len(srv.received["rss"]) == len(faults)


class _Canned:
    """An HttpClient stand-in answering each GET from a table (for https addresses)."""

    def __init__(self, answers: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def request(self, method: str, url: str, **kwargs: object) -> object:
        import requests

        self.asked.append(url)
        status, headers, body = self.answers[url]
        resp = requests.Response()
        resp.status_code, resp._content = status, body
        resp.headers.update(headers)
        return resp


def test_a_redirect_from_https_to_http_is_not_followed() -> None:
    http = _Canned({"https://feeds.example/a": (301, {"Location": "http://feeds.example/a"}, b"")})
    feeds = Feeds(FeedsOptions(feeds=["https://feeds.example/a"]), http=http, clock=lambda: NOW)
    with pytest.raises(SourceError) as err:
        feeds.fetch("*", None, budget())
    assert str(err.value) == ("rss: feed https://feeds.example/a redirects from https to http "
                              "(http://feeds.example/a); not followed")
    assert http.asked == ["https://feeds.example/a"]


def test_an_https_feed_may_move_to_another_https_host() -> None:
    http = _Canned({
        "https://feeds.example/a": (308, {"Location": "https://new.example/feed"}, b""),
        "https://new.example/feed": (200, {"Content-Type": "application/rss+xml"}, _rss_body(_item("p/9", "g9"))),
    })
    feeds = Feeds(FeedsOptions(feeds=["https://feeds.example/a"]), http=http, clock=lambda: NOW)
    result = feeds.fetch("*", None, budget())
    assert [m.url for m in result.mentions] == ["https://new.example/p/9"]
    assert result.cursor["feeds"]["https://feeds.example/a"]["moved_to"] == "https://new.example/feed"


def test_a_future_dated_entry_is_returned_but_never_hides_later_ones(srv: ReplayServer) -> None:
    year = 365 * 86400
    srv.inject("rss", Fault(200, {"Content-Type": "application/rss+xml"},
                            _rss_body(_item("https://b.example/future", "f", NOW + year),
                                      _item("https://b.example/now", "n", NOW - 60))))
    feeds = connector(srv, "blog")
    first = feeds.fetch("*", None, budget())
    future = [m for m in first.mentions if m.url.endswith("/future")]
    assert future[0].created_at == dt.datetime.fromtimestamp(NOW + year, tz=dt.UTC)
    state = first.cursor["feeds"][feed_url(srv, "blog")]
    assert state["newest"] == NOW - 60
    later = NOW + 3600
    srv.inject("rss", Fault(200, {"Content-Type": "application/rss+xml"},
                            _rss_body(_item("https://b.example/future", "f", NOW + year),
                                      _item("https://b.example/later", "l", later - 30),
                                      _item("https://b.example/now", "n", NOW - 60))))
    second = connector(srv, "blog", now=later).fetch("*", first.cursor, budget())
    assert [m.url for m in second.mentions] == ["https://b.example/later"]


def test_a_stored_newest_date_ahead_of_the_clock_is_brought_back(srv: ReplayServer) -> None:
    srv.inject("rss", Fault(200, {"Content-Type": "application/rss+xml"},
                            _rss_body(_item("https://b.example/now", "n", NOW - 60))))
    cursor = {"feeds": {feed_url(srv, "blog"): {"seen": [], "newest": NOW + 10 * 365 * 86400}}}
    result = connector(srv, "blog").fetch("*", cursor, budget())
    assert [m.url for m in result.mentions] == ["https://b.example/now"]
    assert result.cursor["feeds"][feed_url(srv, "blog")]["newest"] == NOW


def test_an_entry_with_a_broken_author_address_does_not_cost_the_feed(srv: ReplayServer) -> None:
    body = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
            b'<entry><id>urn:x:1</id><title>one</title><link href="https://a.example/1"/>'
            b"<author><name>n</name><uri>http://[broken</uri></author><updated>2026-09-21T14:00:00Z</updated></entry>"
            b'<entry><id>urn:x:2</id><title>two</title><link href="https://a.example/2"/>'
            b"<updated>2026-09-21T14:01:00Z</updated></entry></feed>")
    srv.inject("rss", Fault(200, {"Content-Type": ATOM}, body))
    result = connector(srv, "blog").fetch("*", None, budget())
    assert sorted((m.url, m.author_url) for m in result.mentions) == [
        ("https://a.example/1", ""), ("https://a.example/2", "")]


_corrupt_items = st.sampled_from([
    "<item><title>bad date</title><link>https://b.example/x</link><guid>x1</guid>"
    "<pubDate>Mon, 99 Foo 99999 99:99:99 GMT</pubDate></item>",
    "<item><title>far future</title><link>https://b.example/x</link><guid>x2</guid>"
    "<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>",
    "<item><title>before 1970</title><link>https://b.example/x</link><guid>x3</guid>"
    "<pubDate>Thu, 01 Jan 1900 00:00:00 GMT</pubDate></item>",
    "<item><title>odd markup</title><guid>x4</guid><description>&lt;![ " + "&lt;a " * 5000 + "</description></item>",
    "<item><title>huge</title><guid>x5</guid><description>" + "x" * 450_000 + "</description></item>",
    "<item><guid>x6</guid></item>",
    "<item><title>broken link</title><link>http://[broken</link><guid>x7</guid></item>",
    "<item><title>script link</title><link>javascript:alert(1)</link><guid>x8</guid></item>",
])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(corrupt=_corrupt_items, position=st.integers(min_value=0, max_value=3),
       ages=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=3, unique=True))
def test_one_corrupted_entry_never_costs_the_good_ones_or_the_cursor(srv: ReplayServer, corrupt: str, position: int,
                                                                     ages: list[int]) -> None:
    srv.reset()
    good = [_item(f"https://b.example/good{i}", f"g{i}", NOW - age) for i, age in enumerate(ages)]
    srv.inject("rss", Fault(200, {"Content-Type": "application/rss+xml"},
                            _rss_body(*good[:position], corrupt, *good[position:])))
    cursor = {"feeds": {feed_url(srv, "blog"): {"seen": [], "newest": NOW - 4000}}}
    result = connector(srv, "blog").fetch("*", cursor, budget())
    assert {f"https://b.example/good{i}" for i in range(len(ages))} <= {m.url for m in result.mentions}
    assert NOW - min(ages) <= result.cursor["feeds"][feed_url(srv, "blog")]["newest"] <= NOW

"""Feeds served at ``/rss/<feed-name>``: Google Alerts Atom feeds and RSS 2.0 feeds.

Every corpus item is one entry, with the feed it belongs to (``feed``), that feed's format
and title, its publication time and its XML (``<entry>`` or ``<item>``) as the real feeds
write it. A feed shows its ``window`` newest entries, newest first, with ``ETag`` and
``Last-Modified``; a matching ``If-None-Match`` (or, without one, an ``If-Modified-Since``
not older than the newest entry) gets 304. A feed name no item carries is a 404, as a
deleted alert is.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from offline.replay.server import Request, Response

ALERTS_USER = "06512383587611342730"
_CONTENT_TYPES = {"atom": "application/atom+xml; charset=UTF-8", "rss": "application/rss+xml; charset=UTF-8"}


def _iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_date(unix: int) -> str:
    return email.utils.formatdate(unix, usegmt=True)


class FeedsAPI:
    def __init__(self, *, window: int = 20) -> None:
        self.window = window

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        name = request.path.strip("/")
        entries = sorted((i for i in items if i["feed"] == name), key=lambda i: i["published"], reverse=True)
        if request.method != "GET" or not entries:
            return Response(404, {"Content-Type": "text/html; charset=UTF-8"}, b"<html><body>Not Found</body></html>")
        shown = entries[: self.window]
        fmt, title = shown[0]["feed_format"], shown[0]["feed_title"]
        newest = shown[0]["published"]
        body = (_atom(name, title, newest, shown) if fmt == "atom" else _rss(name, title, newest, shown)).encode()
        etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:20] + '"'
        headers = {"ETag": etag, "Last-Modified": _http_date(newest), "Cache-Control": "private, max-age=0",
                   "X-Content-Type-Options": "nosniff"}
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            if etag in [tag.strip() for tag in if_none_match.split(",")]:
                return Response(304, headers)
        elif request.headers.get("if-modified-since"):
            since = email.utils.parsedate_to_datetime(request.headers["if-modified-since"])
            if since is not None and since.timestamp() >= newest:
                return Response(304, headers)
        return Response(200, {"Content-Type": _CONTENT_TYPES[fmt], **headers}, body)


def _atom(name: str, title: str, newest: int, entries: list[dict[str, Any]]) -> str:
    alert = int(hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:15], 16)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:idx="urn:atom-extension:indexing">'
        f"<id>tag:google.com,2005:reader/user/{ALERTS_USER}/state/com.google/alerts/{alert}</id>"
        f"<title>{escape(title)}</title>"
        f'<link href="https://www.google.com/alerts/feeds/{ALERTS_USER}/{alert}" rel="self"></link>'
        f"<updated>{_iso(newest)}</updated>"
        + "".join(e["xml"] for e in entries)
        + "</feed>"
    )


def _rss(name: str, title: str, newest: int, entries: list[dict[str, Any]]) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>https://{quote(name)}.example.pt/</link>"
        f"<description>{escape(title)}</description><language>pt-PT</language>"
        f"<lastBuildDate>{_http_date(newest)}</lastBuildDate>"
        + "".join(e["xml"] for e in entries)
        + "</channel></rss>"
    )


def alert_entry(feed: str, entry_number: int, published: int, title_html: str, url: str, content_html: str,
                *, feed_title: str = "Google Alert - Bean There Café") -> dict[str, Any]:
    """One Google Alerts Atom entry: HTML title and content with <b> around the matched term,
    a google.com/url redirect link to ``url``, an empty author."""
    link = (f"https://www.google.com/url?rct=j&sa=t&url={quote(url, safe=':/')}&ct=ga"
            f"&cd=CAIyGjFiZDQ5ZTQ2ZmI5M2Y4YTc6Y29tOmVuOlVT&usg=AOvVaw{entry_number % 10**8:08d}")
    xml = (
        "<entry>"
        f"<id>tag:google.com,2013:googlealerts/feed:{entry_number}</id>"
        f'<title type="html">{escape(title_html)}</title>'
        f"<link href={quoteattr(link)}></link>"
        f"<published>{_iso(published)}</published><updated>{_iso(published)}</updated>"
        f'<content type="html">{escape(content_html)}</content>'
        "<author><name></name></author>"
        "</entry>"
    )
    return {"feed": feed, "feed_format": "atom", "feed_title": feed_title, "published": published, "xml": xml}


def rss_item(feed: str, guid: str, published: int, title: str, link: str, description_html: str, *,
             author: str = "", categories: tuple[str, ...] = (),
             feed_title: str = "Lisboa Food Blog") -> dict[str, Any]:
    """One RSS 2.0 ``<item>``: plain-text title, HTML description, a non-permalink guid."""
    xml = (
        "<item>"
        f"<title>{escape(title)}</title><link>{escape(link)}</link>"
        f'<guid isPermaLink="false">{escape(guid)}</guid>'
        f"<pubDate>{_http_date(published)}</pubDate>"
        + (f"<dc:creator>{escape(author)}</dc:creator>" if author else "")
        + "".join(f"<category>{escape(c)}</category>" for c in categories)
        + f"<description>{escape(description_html)}</description>"
        "</item>"
    )
    return {"feed": feed, "feed_format": "rss", "feed_title": feed_title, "published": published, "xml": xml}


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """A Google Alert for Bean There Café (four entries) and a Lisbon food blog (two posts,
    one of them noise), all published in the last few minutes."""
    alert = "bean-there-alert"
    return [
        alert_entry(alert, 1744084724912996901, now - 70,
                    "Why <b>Bean There Café</b> is Lisbon's best new roastery - Time Out Lisboa",
                    "https://www.timeout.pt/lisboa/en/restaurants/bean-there-cafe",
                    "The <b>Bean There Café</b> team roasts twice a week; their <b>Cold brew</b> sells out by noon."),
        alert_entry(alert, 1744084724912996902, now - 130,
                    "Review: slow service at <b>Bean There Café</b> - Lisbon Foodie",
                    "https://lisbonfoodie.example/reviews/bean-there-slow-service",
                    "Waited 25 minutes for a flat white at <b>Bean There Café</b> and nobody apologised. "
                    "Fábrica Coffee is faster."),
        alert_entry(alert, 1744084724912996903, now - 190,
                    "Does <b>Bean There Café</b> deliver the Beanbag subscription abroad? - Reddit",
                    "https://www.reddit.com/r/lisboa/comments/1x2y3z/bean_there_subscription/",
                    "Anyone know if the <b>Beanbag subscription</b> ships to Spain? &#8220;Worldwide&#8221; on "
                    "the site is unclear."),
        alert_entry(alert, 1744084724912996904, now - 250,
                    "Copenhagen Coffee Lab opens second Lisbon shop - Publituris",
                    "https://www.publituris.pt/2026/copenhagen-coffee-lab-lisboa",
                    "Copenhagen Coffee Lab opens in Príncipe Real, near <b>Bean There Café</b> ☕."),
        rss_item("lisboa-food-blog", "post-8812", now - 100, "Five cafés for cold brew in Lisbon",
                 "https://lisboafood.example.pt/2026/cold-brew-lisboa",
                 "<p>Our pick: Bean There Café &amp; Fábrica Coffee. 😊</p>", author="Rita Sousa",
                 categories=("coffee", "lisboa")),
        rss_item("lisboa-food-blog", "post-8813", now - 300, "Pastéis de nata ranking 2026",
                 "https://lisboafood.example.pt/2026/pasteis-ranking",
                 "<p>Manteigaria wins again.</p>", author="Rita Sousa", categories=("pastry",)),
    ]

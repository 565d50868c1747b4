"""Lobsters' public JSON pages over a corpus of stories (each may carry its ``comments``).

Implements what the connector relies on: ``/newest.json`` and ``/newest/page/N.json``
(25 stories a page, newest first, without comments), ``/s/<short_id>.json`` (the story
with its comments, as ``Story#as_json(with_comments:)`` renders them), and rack-attack's
answer to a User-Agent containing "axios" (429 with ``RateLimit-*`` and ``Retry-After``).
Times are rendered like the site does: ISO with milliseconds in America/Chicago.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from offline.replay.server import Request, Response

STORIES_PER_PAGE = 25
_SITE = "https://lobste.rs"
_CHICAGO = ZoneInfo("America/Chicago")
_NEWEST = re.compile(r"^/newest(?:/page/(\d+))?\.json$")
_STORY = re.compile(r"^/s/([a-z0-9]+)\.json$")
_HEADERS = {
    "Cache-Control": "max-age=0, private, must-revalidate",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Server": "nginx",
}


def lobsters_time(unix: float) -> str:
    """A Unix time as the site renders ``created_at``: ``2026-11-27T08:49:12.000-06:00``."""
    when = dt.datetime.fromtimestamp(unix, tz=_CHICAGO)
    return when.isoformat(timespec="milliseconds")


def _unix(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


class LobstersAPI:
    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if "axios" in request.headers.get("user-agent", "").lower():
            reset = int(dt.datetime.now(dt.UTC).timestamp()) + 86400
            headers = {"Content-Type": "text/plain", "RateLimit-Limit": "1", "RateLimit-Remaining": "0",
                       "RateLimit-Reset": str(reset), "Retry-After": "86400"}
            body = b"Throttled, sleep(1) between hits; more in config/initializers/rack_attack.rb\n"
            return Response(429, headers, body)
        newest = _NEWEST.match(request.path)
        if newest:
            page = int(newest.group(1) or 1)
            ordered = sorted(items, key=lambda s: _unix(s["created_at"]), reverse=True)
            start = (page - 1) * STORIES_PER_PAGE
            page_items = ordered[start : start + STORIES_PER_PAGE]
            listed = [{k: v for k, v in s.items() if k != "comments"} for s in page_items]
            return Response.json(listed, headers=_HEADERS)
        story = _STORY.match(request.path)
        if story:
            for item in items:
                if item["short_id"] == story.group(1):
                    return Response.json({**item, "comments": item.get("comments", [])}, headers=_HEADERS)
        return Response(404, {"Content-Type": "text/html; charset=utf-8"}, b"<html><body>not found</body></html>")


def lobsters_comment(short_id: str, created_at: float, html: str, *, story_short_id: str, user: str = "carol",
                     parent: str | None = None, depth: int = 0, score: int = 1, plain: str | None = None,
                     story_slug: str = "story") -> dict[str, Any]:
    """A comment in the shape ``Comment#as_json`` renders it."""
    return {
        "short_id": short_id,
        "short_id_url": f"{_SITE}/c/{short_id}",
        "created_at": lobsters_time(created_at),
        "last_edited_at": lobsters_time(created_at),
        "is_deleted": False,
        "is_moderated": False,
        "score": score,
        "flags": 0,
        "parent_comment": parent,
        "comment": html,
        "comment_plain": plain if plain is not None else re.sub(r"<[^>]+>", "", html),
        "url": f"{_SITE}/s/{story_short_id}/{story_slug}#c_{short_id}",
        "depth": depth,
        "commenting_user": user,
    }


def lobsters_story(short_id: str, created_at: float, title: str, *, user: str = "alice", url: str = "",
                   description: str = "", tags: tuple[str, ...] = ("programming",), score: int = 1,
                   comments: list[dict[str, Any]] | None = None, user_is_author: bool = False) -> dict[str, Any]:
    """A story in the shape ``Story#as_json`` renders it; ``comments`` are served by ``/s/<id>.json`` only."""
    slug = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_-]", "_", title.lower())).strip("_")
    story: dict[str, Any] = {
        "short_id": short_id,
        "short_id_url": f"{_SITE}/s/{short_id}",
        "created_at": lobsters_time(created_at),
        "title": title,
        "url": url,
        "score": score,
        "flags": 0,
        "comment_count": len(comments or []),
        "description": f"<p>{description}</p>" if description else "",
        "description_plain": re.sub(r"<[^>]+>", "", description),
        "comments_url": f"{_SITE}/s/{short_id}/{slug}",
        "submitter_user": user,
        "user_is_author": user_is_author,
        "tags": sorted(tags),
    }
    if comments:
        story["comments"] = comments
    return story


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Six stories (two with comments) around "Bean There Café", posted in the minutes before ``now``."""
    return [
        lobsters_story("bt1cafe", now - 540, "How Bean There Café runs its roastery on a Raspberry Pi",
                       user="ines", url="https://beanthere.example/blog/roastery-pi", tags=("hardware", "practices"),
                       score=14, comments=[
                           lobsters_comment("c0ffee1", now - 420, "<p>Their cold brew is the best in Lisbon, "
                                            "and the firmware is on GitHub too.</p>", story_short_id="bt1cafe",
                                            user="joao"),
                           lobsters_comment("c0ffee2", now - 300, "<p>Does anyone know if the Beanbag subscription "
                                            "ships to Porto?</p>", story_short_id="bt1cafe", user="marta",
                                            parent="c0ffee1", depth=1),
                       ]),
        lobsters_story("bt2app", now - 480, "Show Lobsters: an open source loyalty card app for coffee shops",
                       user="pedro", url="https://github.com/example/loyalty", tags=("show", "mobile"), score=6,
                       user_is_author=True),
        lobsters_story("bt3comp", now - 400, "Fábrica Coffee vs Copenhagen Coffee Lab: benchmarking espresso "
                       "machines with an ESP32", user="rui", url="https://espresso.example/bench",
                       tags=("hardware",), score=9),
        lobsters_story("bt4rant", now - 330, "Bean There Café's online shop leaked my card details?",
                       user="sofia", description="I ordered the Beanbag subscription and got a fraud alert the "
                       "next day. Their checkout page loads scripts from six domains &amp; no CSP. Terrible.",
                       tags=("security", "web"), score=3, comments=[
                           lobsters_comment("c0ffee3", now - 200, "<p>Not great. Did you report it to them?</p>",
                                            story_short_id="bt4rant", user="tiago"),
                       ]),
        lobsters_story("bt5noise", now - 240, "The Rust 2027 edition is out", user="ana",
                       url="https://blog.rust-lang.example/2027", tags=("rust",), score=40),
        lobsters_story("bt6noise", now - 120, "A history of the Unix shell", user="bruno",
                       url="https://unix.example/shell", tags=("unix", "historical"), score=12),
    ]

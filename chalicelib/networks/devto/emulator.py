"""DEV's Forem API v1 article listings over a corpus of articles (``ArticleIndex`` shape).

Implements what the connector relies on: ``/api/articles/latest`` (published articles,
newest ``published_at`` first) and ``/api/articles?tag=`` (articles with that tag, ordered
by hotness like Forem's ``ArticleApiIndexService``, here approximated by reactions), both
with ``per_page`` (default 30, at most 1000) and 1-based ``page``, an empty list past the
end.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from offline.replay.server import Request, Response

_SITE = "https://dev.to"
_HEADERS = {
    "Cache-Control": "public, no-cache",
    "Vary": "Accept, Origin, Accept-Encoding",
    "X-Content-Type-Options": "nosniff",
    "Server": "Cowboy",
    "Via": "1.1 varnish",
}


def _published(article: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(article["published_at"]).timestamp()


class DevToAPI:
    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        if request.path not in ("/api/articles/latest", "/api/articles"):
            return Response.json({"error": "not found", "status": 404}, 404, _HEADERS)
        try:
            per_page = min(1000, max(1, int(request.param("per_page", "30") or 30)))
            page = max(1, int(request.param("page", "1") or 1))
        except ValueError:
            return Response.json({"error": "invalid paging parameters", "status": 400}, 400, _HEADERS)
        published = list(items)  # the corpus holds published articles only
        if request.path == "/api/articles/latest":
            ordered = sorted(published, key=_published, reverse=True)
        else:
            tag = (request.param("tag") or "").lower()
            tagged = [a for a in published if not tag or tag in a["tag_list"]]
            ordered = sorted(tagged, key=lambda a: (a["public_reactions_count"], _published(a)), reverse=True)
        start = (page - 1) * per_page
        return Response.json(ordered[start : start + per_page], headers=_HEADERS)


def devto_article(article_id: int, published_at: float, title: str, *, description: str = "",
                  username: str = "ben", name: str = "Ben Halpern", tags: tuple[str, ...] = ("webdev",),
                  reactions: int = 0, comments: int = 0, reading_time: int = 3,
                  canonical_url: str | None = None) -> dict[str, Any]:
    """An article in the ``ArticleIndex`` shape the list endpoints return."""
    when = dt.datetime.fromtimestamp(published_at, tz=dt.UTC)
    iso = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    words = re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", title.lower())).strip("-")
    slug = f"{words}-{article_id * 7919 % 65536:04x}"  # DEV ends slugs with a short random suffix
    url = f"{_SITE}/{username}/{slug}"
    return {
        "type_of": "article",
        "id": article_id,
        "title": title,
        "description": description or title[:100],
        "readable_publish_date": f"{when:%b} {when.day}",
        "slug": slug,
        "path": f"/{username}/{slug}",
        "url": url,
        "comments_count": comments,
        "public_reactions_count": reactions,
        "collection_id": None,
        "published_timestamp": iso,
        "positive_reactions_count": reactions,
        "cover_image": None,
        "social_image": f"https://media2.dev.to/dynamic/image/width=1000,height=500/{article_id}.png",
        "canonical_url": canonical_url or url,
        "created_at": iso,
        "edited_at": None,
        "crossposted_at": None,
        "published_at": iso,
        "last_comment_at": iso,
        "reading_time_minutes": reading_time,
        "tag_list": list(tags),
        "tags": ", ".join(tags),
        "user": {
            "name": name,
            "username": username,
            "twitter_username": None,
            "github_username": username,
            "user_id": 1000 + article_id % 997,
            "website_url": None,
            "profile_image": f"https://media2.dev.to/dynamic/image/width=640,height=640/{username}.png",
            "profile_image_90": f"https://media2.dev.to/dynamic/image/width=90,height=90/{username}.png",
        },
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """Six articles around "Bean There Café", published in the minutes before ``now``."""
    return [
        devto_article(2_410_001, now - 560, "How we built the Bean There Café ordering app with Django",
                      description="Our Lisbon coffee shop and roastery moved online: a write-up of the stack "
                      "behind the Beanbag subscription.", username="inesdev", name="Inês Duarte",
                      tags=("django", "python", "coffee"), reactions=18, comments=4, reading_time=7),
        devto_article(2_410_002, now - 470, "Cold brew and code: my remote work setup in Lisbon",
                      description="Bean There Café has the best cold brew for a long debugging session ☕",
                      username="rui_codes", name="Rui Matos", tags=("productivity", "remote"), reactions=7),
        devto_article(2_410_003, now - 380, "Does anyone know if Bean There Café has an API for its Beanbag "
                      "subscription?", description="I want to automate my coffee order from the terminal. "
                      "Is there a public API?", username="martap", name="Marta P.", tags=("discuss", "help"),
                      comments=2),
        devto_article(2_410_004, now - 300, "Bean There Café's website is unusable on mobile",
                      description="Three minutes to load a menu, a checkout that crashes on Safari & no "
                      "accessibility at all. Disappointed.", username="sofia_a11y", name="Sofia Alves",
                      tags=("a11y", "webdev"), reactions=3, comments=6),
        devto_article(2_410_005, now - 200, "Benchmarking espresso grinders with Rust",
                      description="Copenhagen Coffee Lab and Fábrica Coffee lent us their grinders for a weekend.",
                      username="tiago_rs", name="Tiago", tags=("rust", "hardware"), reactions=25, comments=3),
        devto_article(2_410_006, now - 90, "Understanding React Server Components",
                      description="A practical guide to the new rendering model.", username="anadev",
                      name="Ana", tags=("react", "javascript"), reactions=40, comments=11),
    ]

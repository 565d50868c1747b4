"""The links that open a thread for replying by hand on networks with no write API."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.model import Mention, MentionKind
from chalicelib.networks import compose_link
from chalicelib.replies import NotReplyable


def mention(network: str, native_id: str, url: str = "", kind: MentionKind = "post") -> Mention:
    return Mention(network=network, native_id=native_id, url=url, text="x", kind=kind,
                   created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))


def test_hacker_news_comment_opens_its_reply_form() -> None:
    link = compose_link(mention("hackernews", "6805807", "https://news.ycombinator.com/item?id=6805807", "comment"))
    assert link == "https://news.ycombinator.com/reply?id=6805807"


def test_hacker_news_story_opens_its_item_page() -> None:
    assert compose_link(mention("hackernews", "6805699")) == "https://news.ycombinator.com/item?id=6805699"


def test_hacker_news_id_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(NotReplyable):
        compose_link(mention("hackernews", "1&goto=evil", kind="comment"))


def test_lobsters_story_and_comment_permalinks() -> None:
    assert compose_link(mention("lobsters", "s/abc123")) == "https://lobste.rs/s/abc123"
    assert compose_link(mention("lobsters", "c/xyz9", kind="comment")) == "https://lobste.rs/c/xyz9"
    with pytest.raises(NotReplyable):
        compose_link(mention("lobsters", "s/../admin"))


def test_dev_article_url() -> None:
    url = "https://dev.to/ana_lx/why-i-love-bean-there-cafe-3k2j"
    assert compose_link(mention("devto", "123", url)) == url
    with pytest.raises(NotReplyable):
        compose_link(mention("devto", "123", "https://evil.example/dev.to/x"))


def test_rss_article_link() -> None:
    url = "https://blog.example/2026/11/best-coffee?utm=rss"
    assert compose_link(mention("rss", "tag:blog.example,2026:1", url)) == url
    with pytest.raises(NotReplyable):
        compose_link(mention("rss", "x", "javascript:alert(1)"))

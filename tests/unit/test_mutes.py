from __future__ import annotations

from chalicelib.mutes import MuteList
from chalicelib.networks import thread_root
from tests.builders import mention


def test_author_is_muted_by_handle_or_network_handle_ignoring_case_and_at() -> None:
    mutes = MuteList.of(authors=["@Spammer", "reddit:troll"])
    assert mutes.reason(mention(author_handle="spammer")) == "author"
    assert mutes.reason(mention(network="reddit", author_handle="Troll")) == "author"
    assert mutes.reason(mention(author_handle="troll")) is None  # only muted on Reddit


def test_domain_mutes_cover_subdomains_of_linked_urls() -> None:
    mutes = MuteList.of(domains=["www.spam.example"])
    assert mutes.reason(mention(links=("https://blog.spam.example/post",))) == "domain"
    assert mutes.reason(mention(links=("https://notspam.example/",))) is None
    assert mutes.reason(mention(links=("http://[::1",))) is None  # a broken URL is not a match, nor a crash


def test_thread_mute_uses_the_conversation_root() -> None:
    mutes = MuteList.of(threads=["hackernews:41230009"])
    assert mutes.reason(mention(kind="comment", thread={"story_id": "41230009", "parent_id": "1"})) == "thread"
    assert mutes.reason(mention(native_id="41230009")) == "thread"
    assert mutes.reason(mention(thread={"story_id": "7"})) is None


def test_thread_roots_per_network() -> None:
    assert thread_root(mention(network="github", thread={"repo": "a/b", "number": "4"})) == "github:a/b#4"
    assert thread_root(mention(network="stackexchange", thread={"site": "coffee", "question_id": "9"})) == (
        "stackexchange:coffee#9")
    assert thread_root(mention(network="bluesky", thread={"root_uri": "at://x/post/1"})) == "bluesky:at://x/post/1"
    assert thread_root(mention(network="reddit", native_id="t1_x", thread={"link_id": "t3_y"})) == "reddit:t3_y"

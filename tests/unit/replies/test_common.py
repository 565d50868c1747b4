"""What every replier shares: the registry, the limits, grapheme counting and the error family."""

from __future__ import annotations

import datetime as dt

import pytest

from chalicelib.model import Mention
from chalicelib.networks import NETWORKS, replier_class, source_class, spec
from chalicelib.networks.github.replier import GitHubReplier
from chalicelib.networks.github.source import GitHubOptions
from chalicelib.replies import (
    ReplyCredentialsError,
    ReplyError,
    ReplyRateLimited,
    ReplyTooLong,
    ReplyUnavailable,
    ReplyUncertain,
    grapheme_count,
)
from chalicelib.sources.base import CredentialsError, RateLimited, SourceError, Unavailable
from chalicelib.sources.http import HttpClient
from tests.conftest import MemoryState


def test_every_network_with_a_reply_api_has_a_replier_and_a_limit() -> None:
    writable = {name for name in NETWORKS if spec(name).replier}
    assert writable == {"mastodon", "bluesky", "reddit", "github", "youtube", "stackexchange", "instagram",
                        "facebook"}
    assert {name for name in NETWORKS if spec(name).reply_limit} == writable
    for name in writable:
        assert replier_class(name).network == name


def test_connectors_that_say_they_can_reply_are_all_registered() -> None:
    claiming = {name for name in NETWORKS if source_class(name).capabilities.replies}
    assert claiming <= {name for name in NETWORKS if spec(name).replier}


def test_limits_per_network() -> None:
    limits = {name: spec(name).reply_limit for name in NETWORKS if spec(name).reply_limit}
    assert limits == {"mastodon": 500, "bluesky": 300, "reddit": 10000, "github": 65536, "youtube": 10000,
                      "stackexchange": 600, "instagram": 2200,
                      "facebook": 8000}


def test_network_without_a_write_api_has_no_replier() -> None:
    with pytest.raises(KeyError):
        replier_class("hackernews")


@pytest.mark.parametrize(("text", "count"), [
    ("abc", 3),
    ("e\u0301", 1),  # e + combining acute
    ("👨‍👩‍👧", 1),  # ZWJ family
    ("👍🏽", 1),  # skin-tone modifier
    ("❤️", 1),  # variation selector 16
    ("🇵🇹", 1),
    ("🇵🇹🇧🇷", 2),
    ("🇵🇹🇧", 2),  # a lone regional indicator after a flag
    ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 1),  # tag sequence (Scotland)
    ("\r\n", 1),
    ("Olá ☕!", 6),
])
def test_grapheme_count(text: str, count: int) -> None:
    assert grapheme_count(text) == count


def test_reply_errors_are_also_the_source_errors_the_app_already_handles() -> None:
    assert issubclass(ReplyCredentialsError, CredentialsError) and issubclass(ReplyCredentialsError, ReplyError)
    assert issubclass(ReplyRateLimited, RateLimited) and issubclass(ReplyUnavailable, Unavailable)
    assert issubclass(ReplyUncertain, Unavailable) and issubclass(ReplyTooLong, ValueError)
    assert issubclass(ReplyError, SourceError)
    assert ReplyRateLimited("reddit", "slow down", 12.0).retry_after == 12.0
    assert str(ReplyTooLong("bluesky", "too long", 300)) == "bluesky: too long"


def make(state: MemoryState, secrets: dict[str, str] | None = None) -> GitHubReplier:
    options = GitHubOptions(base_url="http://127.0.0.1:9", token_parameter="/gh/token")
    table = secrets if secrets is not None else {}

    def lookup(name: str) -> str:
        if name not in table:
            raise LookupError(name)
        return table[name]

    return GitHubReplier(options, http=HttpClient("github", timeout=0.5, sleep=lambda s: None), secrets=lookup,
                         state=state)


def issue_mention() -> Mention:
    return Mention(network="github", native_id="1", url="https://github.com/beanthere/shop/issues/1", text="x",
                   created_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                   thread={"repo": "beanthere/shop", "number": "1", "kind": "issue"})


def test_malformed_idempotency_key_is_refused(memory_state: MemoryState) -> None:
    with pytest.raises(ValueError, match="idempotency_key"):
        make(memory_state).post(issue_mention(), "hello", idempotency_key="a b")


def test_empty_text_is_refused(memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="empty"):
        make(memory_state).post(issue_mention(), "  \n", idempotency_key="key-00000001")


def test_missing_secret_is_a_credentials_error_and_leaves_the_key_usable(memory_state: MemoryState) -> None:
    with pytest.raises(ReplyCredentialsError, match="/gh/token"):
        make(memory_state).post(issue_mention(), "hello", idempotency_key="key-00000001")
    assert memory_state.get_state("github", "reply#key-00000001")["status"] == "failed"  # type: ignore[index]

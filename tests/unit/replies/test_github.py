"""Replying on GitHub issues (REST) and discussions (GraphQL), against the emulated API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from chalicelib.model import Mention
from chalicelib.networks.github.emulator import GitHubAPI, discussion, issue
from chalicelib.networks.github.replier import ADD_DISCUSSION_COMMENT, GitHubReplier
from chalicelib.networks.github.source import GitHubOptions
from chalicelib.replies import Reply, ReplyError, ReplyRefused, ReplyTooLong, ReplyUncertain
from chalicelib.sources.base import CredentialsError, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies.conftest import NOW, posts, secrets

KEY = "reply-0001-abcd"
ISSUE = issue(3_100_000_001, 412, "beanthere/shop", NOW - 90, "Beanbag renewal charged twice", "charged twice 😡")
DISCUSSION = discussion("D_kwDOBeanT4s0001", 9, "beanthere/shop", NOW - 120, "Decaf?", "Do you roast decaf?")


def api(srv: ReplayServer) -> GitHubAPI:
    emulation = srv.apis["github"]
    assert isinstance(emulation, GitHubAPI)
    return emulation


def replier(srv: ReplayServer, state: MemoryState, *, token: str = "gh-token",  # noqa: S107
            timeout: float = 2.0) -> GitHubReplier:
    options = GitHubOptions(base_url=srv.base_url("github"), token_parameter="/gh/token", timeout_seconds=timeout)
    return GitHubReplier(options, http=HttpClient("github", timeout=timeout, sleep=lambda s: None),
                         secrets=secrets({"/gh/token": token}), state=state)


def mention(kind: str = "issue", item: dict[str, Any] = ISSUE) -> Mention:
    if kind == "discussion":
        return Mention(network="github", native_id=item["id"], url=item["url"], text=item["body"],
                       created_at=dt.datetime.fromtimestamp(NOW - 120, tz=dt.UTC), community="beanthere/shop",
                       thread={"repo": "beanthere/shop", "number": str(item["number"]), "kind": "discussion",
                               "node_id": item["id"]})
    return Mention(network="github", native_id=str(item["id"]), url=item["html_url"], text=item["body"],
                   created_at=dt.datetime.fromtimestamp(NOW - 90, tz=dt.UTC), community="beanthere/shop",
                   thread={"repo": "beanthere/shop", "number": str(item["number"]), "kind": kind,
                           "node_id": item["node_id"]})


def test_issue_comment_sends_the_documented_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("github", [ISSUE])
    reply = replier(srv, memory_state).post(mention(), "Refunded, sorry! 🙏", idempotency_key=KEY)
    (request,) = srv.received["github"]
    assert (request.method, request.path) == ("POST", "/repos/beanthere/shop/issues/412/comments")
    assert request.headers["authorization"] == "Bearer gh-token"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert json.loads(request.body) == {"body": "Refunded, sorry! 🙏"}
    assert api(srv).posted[0]["body"] == "Refunded, sorry! 🙏"
    assert reply == Reply(url="https://github.com/beanthere/shop/issues/412#issuecomment-2400000000",
                          native_id="2400000000")


def test_discussion_comment_uses_the_graphql_mutation(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("github", [DISCUSSION])
    reply = replier(srv, memory_state).post(mention("discussion", DISCUSSION), "Yes, a Colombian decaf.",
                                            idempotency_key=KEY)
    (request,) = srv.received["github"]
    assert (request.method, request.path) == ("POST", "/graphql")
    assert request.headers["authorization"] == "Bearer gh-token"
    assert json.loads(request.body) == {"query": ADD_DISCUSSION_COMMENT,
                                        "variables": {"id": "D_kwDOBeanT4s0001", "body": "Yes, a Colombian decaf."}}
    assert reply == Reply(url="https://github.com/beanthere/shop/discussions/9#discussioncomment-9000000",
                          native_id="DC_kwDO0009000000")


def test_unknown_discussion_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyRefused, match=r"\(NOT_FOUND\)"):
        replier(srv, memory_state).post(mention("discussion", DISCUSSION), "Hello there!", idempotency_key=KEY)


def test_locked_issue_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("github", [{**ISSUE, "locked": True}])
    with pytest.raises(ReplyRefused, match="locked"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert api(srv).posted == []


def test_unknown_issue_is_refused(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyRefused, match="HTTP 404"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)


def test_wrong_token_is_a_credentials_error(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.add_items("github", [ISSUE])
    with pytest.raises(CredentialsError, match="token rejected") as err:
        replier(srv, memory_state, token="nope").post(mention(), "Hello there!", idempotency_key=KEY)
    assert isinstance(err.value, ReplyError)


FINE_GRAINED = "github_pat_11AAAAAAA0fineGrained"  # a test token in the fine-grained shape


def test_a_fine_grained_token_on_another_owners_repository_is_said_in_words(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    """Defect 5: a fine-grained token acts on its resource owner's repositories only; GitHub
    answers 403 "Resource not accessible by personal access token" elsewhere. The replier says
    what works instead of a bare "may not comment here"."""
    srv.apis["github"] = GitHubAPI(valid_tokens={FINE_GRAINED}, fine_grained={FINE_GRAINED: "someone-else"})
    srv.add_items("github", [ISSUE, DISCUSSION])
    expected = ("github: a fine-grained personal access token can comment only on repositories of its own "
                "resource owner, and this repository is not one; use a classic token with the public_repo "
                "scope, or a GitHub App installed on this repository")
    with pytest.raises(CredentialsError) as err:
        replier(srv, memory_state, token=FINE_GRAINED).post(mention(), "Refunded!", idempotency_key=KEY)
    assert str(err.value) == expected + " (HTTP 403)"
    with pytest.raises(CredentialsError) as err:
        replier(srv, memory_state, token=FINE_GRAINED).post(mention("discussion", DISCUSSION), "Yes!",
                                                            idempotency_key=KEY + "-d")
    assert str(err.value) == expected + " (FORBIDDEN)"
    assert api(srv).posted == []


def test_a_fine_grained_token_on_its_owners_repository_comments(srv: ReplayServer,
                                                                memory_state: MemoryState) -> None:
    srv.apis["github"] = GitHubAPI(valid_tokens={FINE_GRAINED}, fine_grained={FINE_GRAINED: "beanthere"})
    srv.add_items("github", [ISSUE])
    reply = replier(srv, memory_state, token=FINE_GRAINED).post(mention(), "Refunded!", idempotency_key=KEY)
    assert reply.url.startswith("https://github.com/beanthere/shop/issues/412#issuecomment-")


def test_secondary_rate_limit_403_is_rate_limited(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("github", Fault(status=403, headers={"retry-after": "60"},
                               body=b'{"message": "You have exceeded a secondary rate limit."}'))
    with pytest.raises(RateLimited) as err:
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert err.value.retry_after == 60


def test_gateway_502_is_uncertain_not_retried(srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("github", Fault(status=502))
    with pytest.raises(ReplyUncertain, match="HTTP 502"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert len(posts(srv, "github")) == 1


def test_over_65536_characters_is_refused_before_any_request(srv: ReplayServer, memory_state: MemoryState) -> None:
    with pytest.raises(ReplyTooLong, match="the limit is 65536"):
        replier(srv, memory_state).post(mention(), "x" * 65537, idempotency_key=KEY)
    assert srv.received["github"] == []


def test_accepted_post_with_a_garbled_answer_is_uncertain_and_never_resent(
        srv: ReplayServer, memory_state: MemoryState) -> None:
    srv.inject("github", Fault(status=201, body=b'{"id": "not a number"}'))
    with pytest.raises(ReplyUncertain, match="accepted the reply but its answer was not understood"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    with pytest.raises(ReplyUncertain, match="look at the thread"):
        replier(srv, memory_state).post(mention(), "Hello there!", idempotency_key=KEY)
    assert len(posts(srv, "github")) == 1

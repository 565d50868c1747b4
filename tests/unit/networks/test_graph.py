"""Meta's Graph API errors said for what they are, whatever the code (graph.graph_error)."""

from __future__ import annotations

import json

import pytest
import requests

from chalicelib.networks import graph
from chalicelib.sources.base import CredentialsError, RateLimited, SourceError


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps(body).encode() if not isinstance(body, bytes) else body
    resp.headers.update(headers or {})
    return resp


def error(code: int, message: str = "(#x) Something") -> dict[str, object]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}}


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80002, 80014])
def test_throttling_codes_are_rate_limited_for_an_hour_without_meta_estimate(code: int) -> None:
    err = graph.graph_error("facebook", "Facebook Page", answer(400, error(code)))
    assert isinstance(err, RateLimited) and err.retry_after == graph.DEFAULT_WAIT
    assert f"code {code}" in str(err) and graph.RATE_LIMIT_DOC in str(err)


def test_metas_estimate_is_the_wait() -> None:
    buc = json.dumps({"123": [{"type": "pages", "call_count": 100, "total_cputime": 3, "total_time": 4,
                               "estimated_time_to_regain_access": 7}]})
    err = graph.graph_error("facebook", "Facebook Page", answer(400, error(32), {"X-Business-Use-Case-Usage": buc}))
    assert isinstance(err, RateLimited) and err.retry_after == 420


@pytest.mark.parametrize(("code", "words"), [(190, "access token rejected"), (102, "access token rejected"),
                                             (463, "access token rejected"), (10, "a permission is missing"),
                                             (200, "a permission is missing"), (299, "a permission is missing")])
def test_token_and_permission_codes_say_how_to_reconnect(code: int, words: str) -> None:
    err = graph.graph_error("instagram", "Instagram", answer(400, error(code)))
    assert isinstance(err, CredentialsError)
    assert words in str(err) and str(err).endswith("reconnect Instagram: run `make connect NETWORK=instagram`")


def test_other_codes_and_bodies_that_are_not_metas_are_plain_refusals() -> None:
    assert type(graph.graph_error("instagram", "Instagram", answer(400, error(100)))) is SourceError
    assert str(graph.graph_error("instagram", "Instagram", answer(404, b"<html>"))) == \
        "instagram: request refused (HTTP 404)"
    refused = graph.graph_error("instagram", "Instagram", answer(403, b"nope"))
    assert isinstance(refused, CredentialsError) and "reconnect Instagram" in str(refused)


def test_a_message_is_kept_to_plain_characters_and_short() -> None:
    err = graph.graph_error("instagram", "Instagram", answer(400, error(100, "<script>x</script>" + "a" * 300)))
    assert "<" not in str(err) and len(str(err)) < 260

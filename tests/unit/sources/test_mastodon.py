"""The Mastodon connector against several emulated instances on the replay server."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks.mastodon.emulator import MastodonAPI, hashtag_link, snowflake, status
from chalicelib.networks.mastodon.source import Mastodon, MastodonOptions, snowflake_at
from chalicelib.sources.base import Budget, CredentialsError, RateLimited, SourceError
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import secrets as lookup_in

NOW = int(time.time())
TOKEN_PARAMETER = "/listen/mastodon/token"


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"mastodon": MastodonAPI()}) as server:
        yield server


@pytest.fixture
def srv(module_srv: ReplayServer) -> ReplayServer:
    """The module's server with a fresh emulation, no items, faults or recorded requests."""
    module_srv.reset()
    module_srv.apis["mastodon"] = MastodonAPI(access_tokens={"mastodon.social": "good-token"})
    return module_srv


def instance(srv: ReplayServer, host: str = "mastodon.social") -> str:
    return f"{srv.base_url('mastodon')}/{host}"


def make_mastodon(srv: ReplayServer, *, token: str | None = None, hosts: tuple[str, ...] = ("mastodon.social",),
                  secrets: dict[str, str] | None = None, **options: Any) -> Mastodon:
    opts = MastodonOptions(instances=[instance(srv, h) for h in hosts], **options,
                           **({"access_token_parameter": TOKEN_PARAMETER} if token or secrets is not None else {}))
    table = secrets if secrets is not None else {TOKEN_PARAMETER: token or ""}

    return Mastodon(opts, http=HttpClient("mastodon", timeout=opts.timeout_seconds, sleep=lambda s: None),
                    secrets=lookup_in(table), clock=lambda: NOW)


def toot(n: int, age: int, text: str = "good #coffee", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("tags", ("coffee",))
    return status(snowflake(NOW - age, n), NOW - age, f"<p>{text}</p>", **kwargs)


def test_hashtag_timeline_pages_forward_with_the_prev_link(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(n, 600 - n) for n in range(1, 6)])
    result = make_mastodon(srv, hashtags=["coffee"], limit=2).fetch("*", None, budget)

    requests = srv.received["mastodon"]
    assert [r.path for r in requests] == ["/mastodon.social/api/v1/timelines/tag/coffee"] * 3
    assert [k for k, _ in requests[0].query] == ["limit", "min_id"]
    assert requests[0].param("limit") == "2"
    # First run: the snowflake id of 24 hours ago (within a few seconds of test time).
    assert abs(int(requests[0].param("min_id") or 0) - snowflake_at(NOW - 86400)) < 5000 << 16
    assert [r.param("min_id") for r in requests[1:]] == [snowflake(NOW - 598, 2), snowflake(NOW - 596, 4)]
    assert result.pages == 3
    assert len(result.mentions) == 5
    assert result.cursor == {"tags": {instance(srv): {"coffee": snowflake(NOW - 595, 5)}}}


def test_first_run_fetches_only_the_last_24_hours(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(1, 30 * 3600, "old #coffee"), toot(2, 3600, "new #coffee")])
    result = make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget)
    assert [m.text for m in result.mentions] == ["new #coffee"]


def test_page_limit_stops_early_and_the_next_cycle_goes_on(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(n, 600 - n) for n in range(1, 6)])
    masto = make_mastodon(srv, hashtags=["coffee"], limit=2, max_pages=1)
    results = [masto.fetch("*", None, budget)]
    for _ in range(2):
        results.append(masto.fetch("*", results[-1].cursor, budget))
    assert [r.complete for r in results] == [False, False, True]
    assert sorted(m.thread["id"] for r in results for m in r.mentions) == sorted(
        snowflake(NOW - 600 + n, n) for n in range(1, 6))


def test_cursors_are_kept_per_instance_and_tag(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [
        toot(1, 100, instance="mastodon.social"),
        toot(2, 90, "hi #lisbon", tags=("lisbon",), instance="mastodon.social"),
        toot(3, 80, instance="fosstodon.org", acct="roaster"),
    ])
    masto = make_mastodon(srv, hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee", "#Lisbon"])
    result = masto.fetch("*", None, budget)
    assert result.cursor == {"tags": {
        instance(srv): {"coffee": snowflake(NOW - 100, 1), "Lisbon": snowflake(NOW - 90, 2)},
        instance(srv, "fosstodon.org"): {"coffee": snowflake(NOW - 80, 3)},
    }}
    assert {m.community for m in result.mentions} == {"mastodon.social", "fosstodon.org"}


def test_one_instance_down_does_not_stop_the_others(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(1, 100, instance="fosstodon.org")])
    srv.inject("mastodon", *[Fault(status=502)] * 3)
    masto = make_mastodon(srv, hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee"])
    result = masto.fetch("*", None, budget)
    assert result.complete is False
    assert list(result.cursor["tags"]) == [instance(srv, "fosstodon.org")]
    assert len(result.mentions) == 1


def test_reblogs_are_skipped(srv: ReplayServer, budget: Budget) -> None:
    original = toot(1, 100)
    srv.add_items("mastodon", [original, toot(2, 50, reblog={k: v for k, v in original.items() if k[0] != "_"})])
    result = make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget)
    assert [m.thread["id"] for m in result.mentions] == [snowflake(NOW - 100, 1)]
    assert result.cursor["tags"][instance(srv)]["coffee"] == snowflake(NOW - 50, 2)


def test_status_is_normalized_with_unicode_emoji_and_entities(srv: ReplayServer, budget: Budget) -> None:
    content = "<p>Bean There Café ☕ &amp; pastéis 🎉 &lt;3 " + hashtag_link("coffee") + "</p>"
    item = status(snowflake(NOW - 60, 9), NOW - 60, content, acct="roastnerd", home="fosstodon.org",
                  display_name="Roast Nerd ☕", followers=90, tags=("coffee",), language="pt",
                  in_reply_to_id="110000000000000001")
    srv.add_items("mastodon", [item])
    [mention] = make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget).mentions

    assert mention.text == "Bean There Café ☕ & pastéis 🎉 <3 #coffee"
    assert mention.native_id == item["uri"]
    assert mention.url == item["url"]
    assert mention.author_handle == "roastnerd@fosstodon.org"
    assert mention.author_name == "Roast Nerd ☕"
    assert mention.author_url == "https://fosstodon.org/@roastnerd"
    assert mention.reach == 90
    assert mention.lang == "pt"
    assert mention.kind == "comment"
    assert mention.community == "mastodon.social"
    assert mention.tags == ("coffee",)
    assert mention.created_at == dt.datetime.fromtimestamp(NOW - 60, tz=dt.UTC)
    assert mention.thread == {"instance": instance(srv), "id": item["id"], "uri": item["uri"], "url": item["url"],
                              "in_reply_to_id": "110000000000000001"}


def test_local_author_gets_the_instance_in_the_handle(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(1, 60, acct="beanfan")])
    [mention] = make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget).mentions
    assert mention.author_handle == "beanfan@mastodon.social"
    assert mention.kind == "post"


def test_search_without_a_token_sends_nothing_and_keeps_the_cursor(srv: ReplayServer, budget: Budget) -> None:
    result = make_mastodon(srv).fetch("bean there", {"min_id": "42"}, budget)
    assert (result.mentions, result.cursor, result.complete) == ([], {"min_id": "42"}, True)
    assert srv.received["mastodon"] == []


def test_search_with_a_token_sends_the_documented_request(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(1, 100, "Bean There Café is great"), toot(2, 90, "unrelated")])
    result = make_mastodon(srv, token="good-token").fetch("bean there", None, budget)

    [request] = srv.received["mastodon"]
    assert request.path == "/mastodon.social/api/v2/search"
    assert [k for k, _ in request.query] == ["q", "type", "limit", "min_id"]
    assert (request.param("q"), request.param("type"), request.param("limit")) == ("bean there", "statuses", "40")
    assert request.headers["authorization"] == "Bearer good-token"
    assert [m.text for m in result.mentions] == ["Bean There Café is great"]
    assert result.cursor == {"min_id": snowflake(NOW - 100, 1)}


def test_search_pages_with_offset_and_a_second_cycle_sees_nothing_again(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(n, 600 - n, f"bean {n}") for n in range(1, 6)])
    masto = make_mastodon(srv, token="good-token", limit=2)
    first = masto.fetch("bean", None, budget)
    second = masto.fetch("bean", first.cursor, budget)
    assert [r.param("offset") for r in srv.received["mastodon"][:3]] == [None, "2", "4"]
    assert len(first.mentions) == 5
    assert second.mentions == []


def test_search_page_limit_leaves_a_gap_read_next_cycle(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(n, 600 - n, f"bean {n}") for n in range(1, 6)])
    masto = make_mastodon(srv, token="good-token", limit=2, max_pages=1)
    results = [masto.fetch("bean", None, budget)]
    for _ in range(2):
        results.append(masto.fetch("bean", results[-1].cursor, budget))
    assert [r.complete for r in results] == [False, False, True]
    assert sorted(m.text for r in results for m in r.mentions) == [f"bean {n}" for n in range(1, 6)]
    assert "gap" not in results[-1].cursor


def test_remaining_zero_stops_requests_until_the_reset_time(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(n, 600 - n) for n in range(1, 4)])
    reset = dt.datetime.fromtimestamp(NOW + 120, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.754511Z")
    srv.inject("mastodon", Fault(status=200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
                                                      "Link": '<http://x/?min_id=1>; rel="prev"'},
                                 body=json.dumps([{k: v for k, v in toot(1, 599).items() if k[0] != "_"}]).encode()))
    masto = make_mastodon(srv, hashtags=["coffee"], limit=1)
    with pytest.raises(RateLimited) as err:
        masto.fetch("*", None, budget)
    assert err.value.retry_after == pytest.approx(120, abs=3)
    assert len(srv.received["mastodon"]) == 1


def test_instances_must_be_https_except_on_localhost() -> None:
    with pytest.raises(ValidationError, match="instances must be https URLs"):
        MastodonOptions(instances=["http://mastodon.social"])
    assert MastodonOptions(instances=["http://127.0.0.1:8080/mastodon/x/"]).instances == [
        "http://127.0.0.1:8080/mastodon/x"]
    assert MastodonOptions().instances == ["https://mastodon.social"]


def test_wrong_token_on_the_hashtag_timeline_is_a_credentials_error(srv: ReplayServer, budget: Budget) -> None:
    masto = make_mastodon(srv, token="stale-token", hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee"])
    with pytest.raises(CredentialsError, match=r"mastodon.social: access token rejected"):
        masto.fetch("*", None, budget)
    assert len(srv.received["mastodon"]) == 1


def test_token_goes_only_to_the_home_instance(srv: ReplayServer, budget: Budget) -> None:
    masto = make_mastodon(srv, token="good-token", hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee"])
    masto.fetch("*", None, budget)
    sent = [(r.path.split("/")[1], r.headers.get("authorization")) for r in srv.received["mastodon"]]
    assert sent == [("mastodon.social", "Bearer good-token"), ("fosstodon.org", None)]


# --- issue 11: defects 3, 7 and 9 ---------------------------------------------------------


def test_an_instance_that_requires_a_token_is_skipped_alone(srv: ReplayServer, budget: Budget) -> None:
    """Defect 3: a 401 from an instance we sent no token to is that instance's; the statuses
    of the other instances are kept, and the owner is told in words."""
    srv.apis["mastodon"] = MastodonAPI(access_tokens={"mastodon.social": "good-token"},
                                       token_required=frozenset({"fosstodon.org"}))
    srv.add_items("mastodon", [toot(1, 100, instance="mastodon.social"), toot(2, 90, instance="fosstodon.org")])
    masto = make_mastodon(srv, hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee"])
    result = masto.fetch("*", None, budget)
    assert [m.thread["id"] for m in result.mentions] == [snowflake(NOW - 100, 1)]
    assert result.cursor == {"tags": {instance(srv): {"coffee": snowflake(NOW - 100, 1)}}}
    assert result.complete is False
    assert result.skipped == ["fosstodon.org: this instance requires a token for its timelines "
                              "(HTTP 401 without one); its statuses are not read"]


def test_with_a_token_the_other_instance_requiring_one_is_still_its_alone(srv: ReplayServer,
                                                                          budget: Budget) -> None:
    srv.apis["mastodon"] = MastodonAPI(access_tokens={"mastodon.social": "good-token"},
                                       token_required=frozenset({"mastodon.social", "fosstodon.org"}))
    srv.add_items("mastodon", [toot(1, 100, instance="mastodon.social"), toot(2, 90, instance="fosstodon.org")])
    masto = make_mastodon(srv, token="good-token", hosts=("mastodon.social", "fosstodon.org"), hashtags=["coffee"])
    result = masto.fetch("*", None, budget)
    assert [m.thread["id"] for m in result.mentions] == [snowflake(NOW - 100, 1)]
    assert [s.split(":")[0] for s in result.skipped] == ["fosstodon.org"]


def test_every_instance_requiring_a_token_is_an_error_in_words(srv: ReplayServer, budget: Budget) -> None:
    srv.apis["mastodon"] = MastodonAPI(token_required=frozenset({"mastodon.social"}))
    with pytest.raises(SourceError, match=r"mastodon\.social: this instance requires a token for its timelines") as err:
        make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget)
    assert not isinstance(err.value, CredentialsError)


def test_a_hashtag_an_instance_does_not_know_has_no_statuses_there(srv: ReplayServer, budget: Budget) -> None:
    srv.apis["mastodon"].known_tags = {"coffee"}
    srv.add_items("mastodon", [toot(1, 100)])
    result = make_mastodon(srv, hashtags=["specialtycoffee", "coffee"]).fetch("*", None, budget)
    assert [m.thread["id"] for m in result.mentions] == [snowflake(NOW - 100, 1)]
    assert result.cursor == {"tags": {instance(srv): {"coffee": snowflake(NOW - 100, 1)}}}


def test_one_unreadable_status_is_skipped_and_the_cursor_moves_past_it(srv: ReplayServer, budget: Budget) -> None:
    """Defect 9: one odd status (no account) used to reject the whole page, so the cursor
    never moved and every later status of the hashtag was lost."""
    bad = toot(3, 40)
    del bad["account"]
    srv.add_items("mastodon", [toot(1, 60), toot(2, 50), bad])
    result = make_mastodon(srv, hashtags=["coffee"]).fetch("*", None, budget)
    assert sorted(m.thread["id"] for m in result.mentions) == [snowflake(NOW - 60, 1), snowflake(NOW - 50, 2)]
    assert result.skipped == ["timeline[0].account.acct is missing"]
    assert result.cursor["tags"][instance(srv)]["coffee"] == snowflake(NOW - 40, 3)


def test_a_status_from_the_future_is_kept_but_the_cursor_stays_at_now(srv: ReplayServer, budget: Budget) -> None:
    """Defect 7: a status whose id claims next year would set min_id past now, and every
    status posted until then would never be asked for."""
    future = status(snowflake(NOW + 365 * 86400, 1), NOW + 365 * 86400, "<p>from the future #coffee</p>",
                    tags=("coffee",))
    srv.add_items("mastodon", [toot(1, 60), future])
    masto = make_mastodon(srv, hashtags=["coffee"])
    first = masto.fetch("*", None, budget)
    assert {m.text: m.created_at for m in first.mentions}["from the future #coffee"] == dt.datetime.fromtimestamp(
        NOW + 365 * 86400, tz=dt.UTC)
    assert first.cursor["tags"][instance(srv)]["coffee"] == str(snowflake_at(NOW))
    srv.add_items("mastodon", [toot(2, -30)])  # posted after this cycle
    later = Mastodon(masto.options, http=masto.http, clock=lambda: NOW + 60)
    second = later.fetch("*", first.cursor, budget)
    assert snowflake(NOW + 30, 2) in [m.thread["id"] for m in second.mentions]
    assert int(second.cursor["tags"][instance(srv)]["coffee"]) <= snowflake_at(NOW + 60)


def test_search_cursor_never_passes_now(srv: ReplayServer, budget: Budget) -> None:
    future = status(snowflake(NOW + 86400, 1), NOW + 86400, "<p>bean from tomorrow</p>")
    srv.add_items("mastodon", [toot(1, 60, "bean today"), future])
    result = make_mastodon(srv, token="good-token").fetch("bean", None, budget)
    assert sorted(m.text for m in result.mentions) == ["bean from tomorrow", "bean today"]
    assert result.cursor == {"min_id": str(snowflake_at(NOW))}


def test_a_cursor_stored_in_the_future_is_pulled_back_to_now(srv: ReplayServer, budget: Budget) -> None:
    srv.add_items("mastodon", [toot(1, 60)])
    future = str(snowflake_at(NOW + 86400))
    result = make_mastodon(srv, hashtags=["coffee"]).fetch("*", {"tags": {instance(srv): {"coffee": future}}}, budget)
    assert srv.received["mastodon"][0].param("min_id") == str(snowflake_at(NOW))
    assert result.cursor["tags"][instance(srv)]["coffee"] == str(snowflake_at(NOW))



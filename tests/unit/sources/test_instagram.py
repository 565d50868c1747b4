"""The Instagram connector and its webhook parser against the emulated Graph API: comments on the
account's media (not its own), tags, @mentions read by id, the usage headers honoured, paging
rebuilt from the cursor, and signed deliveries as Meta sends them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks import graph, spec
from chalicelib.networks.instagram.emulator import (
    APP_SECRET,
    IG_USER_ID,
    InstagramAPI,
    badly_signed_delivery,
    comments_event,
    instagram_media,
    mentioning_media,
    mentions_event,
    signed_delivery,
    tagged_media,
)
from chalicelib.networks.instagram.source import Instagram, InstagramOptions
from chalicelib.networks.instagram.webhook import parse
from chalicelib.sources.base import BadPayload, Budget, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import FakeClock, secrets
from tests.conftest import MemoryState

NOW = 1_800_000_000
TOKEN = "/listen/instagram/token"
JSON_CT = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"instagram": InstagramAPI()}) as server:
        yield server


@pytest.fixture
def srv(module_srv: ReplayServer) -> ReplayServer:
    module_srv.reset()
    module_srv.apis["instagram"] = InstagramAPI()
    return module_srv


def api(srv: ReplayServer) -> InstagramAPI:
    emulation = srv.apis["instagram"]
    assert isinstance(emulation, InstagramAPI)
    return emulation


def connector(srv: ReplayServer, clock: FakeClock | None = None, state: MemoryState | None = None,
              **options: Any) -> Instagram:
    clock = clock or FakeClock(NOW)
    opts = InstagramOptions(base_url=srv.base_url("instagram"), ig_user_id=IG_USER_ID, token_parameter=TOKEN,
                            **options)
    return Instagram(opts, http=HttpClient("instagram", sleep=clock.sleep), secrets=secrets({TOKEN: "ig-page-token"}),
                     state=state or MemoryState(), clock=clock)


def fetch(source: Instagram, cursor: Any = None) -> Any:
    return source.fetch("*", cursor, Budget(deadline=float("inf")))


def texts(result: Any) -> list[str]:
    return sorted(m.text for m in result.mentions)


def test_the_account_id_must_be_digits() -> None:
    with pytest.raises(ValidationError, match="is not an Instagram professional account id"):
        InstagramOptions(ig_user_id="me/../feed", token_parameter=TOKEN)


def test_instagram_is_an_owned_network_with_a_webhook() -> None:
    network = spec("instagram")
    assert network.owned and network.webhook == "chalicelib.networks.instagram.webhook:parse"
    assert network.owned_match  # every item is "your Instagram", brand group
    assert network.label == "Instagram"


def test_comments_replies_and_tags_are_read_and_the_accounts_own_are_not(srv: ReplayServer) -> None:
    media = instagram_media(1, NOW - 600, "Is it open late?", comments=2)
    own = {"id": "17800000000000199", "text": "Until 8!", "timestamp": "2027-01-15T07:55:00+0000",
           "username": "beanthere", "like_count": 0}
    reply = {"id": "17800000000000198", "text": "thanks", "timestamp": "2027-01-15T07:56:00+0000",
             "username": "guest1", "like_count": 0}
    media["comments"]["data"][0]["replies"] = {"data": [own, reply]}
    srv.add_items("instagram", [media, tagged_media(1, NOW - 300, "Coffee at @beanthere")])
    result = fetch(connector(srv))
    assert texts(result) == ["Coffee at @beanthere", "Is it open late?", "Is it open late?", "thanks"]
    by_id = {m.native_id: m for m in result.mentions}
    assert by_id[reply["id"]].thread == {"kind": "comment", "media_id": media["id"],
                                         "comment_id": media["comments"]["data"][0]["id"]}
    assert own["id"] not in by_id
    assert by_id["17890000000000001"].thread == {"kind": "tag", "media_id": "17890000000000001"}
    assert result.skipped == []


def test_comments_past_a_page_of_their_media_are_read_from_the_comments_edge(srv: ReplayServer) -> None:
    srv.add_items("instagram", [instagram_media(1, NOW - 600, "Bean There review", comments=5)])
    result = fetch(connector(srv, comments_limit=2))
    assert len(result.mentions) == 5
    edges = [r.path for r in srv.received["instagram"]]
    assert edges == [f"/v21.0/{IG_USER_ID}/media", "/v21.0/17900000000000001/comments",
                     "/v21.0/17900000000000001/comments", f"/v21.0/{IG_USER_ID}/tags", "/v21.0/debug_token"]


def test_the_next_page_is_our_own_url_with_the_cursor_never_the_answers_next(srv: ReplayServer) -> None:
    after = base64.urlsafe_b64encode(b"QVFI1").decode().rstrip("=")  # the emulator's cursor of offset 1
    page = {"data": [instagram_media(1, NOW - 600, "first page")],
            "paging": {"cursors": {"after": after}, "next": f"https://evil.example/v21.0/steal?after={after}"}}
    srv.inject("instagram", Fault(200, dict(JSON_CT), json.dumps(page).encode()))
    fetch(connector(srv))
    second = srv.received["instagram"][1]
    assert (second.path, second.param("after")) == (f"/v21.0/{IG_USER_ID}/media", after)


def test_a_cursor_that_is_not_a_cursor_is_a_bad_payload(srv: ReplayServer) -> None:
    page = {"data": [], "paging": {"cursors": {"after": "a&access_token=x"}, "next": "https://graph.facebook.com/x"}}
    srv.inject("instagram", Fault(200, dict(JSON_CT), json.dumps(page).encode()))
    with pytest.raises(BadPayload, match=r"media.paging.cursors.after is not a cursor"):
        fetch(connector(srv))


def test_usage_near_the_limit_stops_the_walk_and_the_next_fetch_waits_without_calling(srv: ReplayServer) -> None:
    srv.add_items("instagram", [instagram_media(n, NOW - 600 + n, f"comment {n}") for n in range(4)])
    api(srv).call_limit = 10  # the first call reports 10 %: no back-off
    api(srv).calls = 8  # the next reports 90 %
    clock = FakeClock(NOW)
    source = connector(srv, clock, media_limit=2)
    result = fetch(source)
    assert (len(result.mentions), result.complete) == (2, False)
    calls = len(srv.received["instagram"])
    with pytest.raises(RateLimited, match="usage figures were near their limit; waiting 60 min") as err:
        fetch(source, result.cursor)
    assert err.value.retry_after == graph.DEFAULT_WAIT
    assert len(srv.received["instagram"]) == calls
    clock.advance(graph.DEFAULT_WAIT + 1)
    api(srv).calls = 0
    assert len(fetch(source, result.cursor).mentions) == 2


def test_the_business_use_case_estimate_is_the_wait(srv: ReplayServer) -> None:
    api(srv).regain_minutes = 19
    api(srv).call_limit = 1
    api(srv).calls = 1
    with pytest.raises(RateLimited, match=r"code 4: \(#4\) Application request limit reached\); waiting 19 min") as err:
        fetch(connector(srv))
    assert err.value.retry_after == 19 * 60


def test_usage_headers_that_cannot_be_read_are_ignored() -> None:
    assert graph.usage_wait({"X-App-Usage": "{not json", "X-Business-Use-Case-Usage": '{"1": "x"}'}) is None
    assert graph.usage_wait({"X-App-Usage": '{"call_count": 89, "total_time": 12}'}) is None
    assert graph.usage_wait({"X-App-Usage": '{"call_count": 12, "total_cputime": 90}'}) == graph.DEFAULT_WAIT


def test_a_comment_dated_after_the_clock_comes_once_and_the_cursor_stays_at_now(srv: ReplayServer) -> None:
    srv.add_items("instagram", [instagram_media(1, NOW + 86400, "from tomorrow")])
    clock = FakeClock(NOW)
    source = connector(srv, clock)
    first = fetch(source)
    assert texts(first) == ["from tomorrow"] and first.cursor["comments"]["at"] == NOW
    clock.advance(60)
    assert fetch(source, first.cursor).mentions == []


# --- webhooks -------------------------------------------------------------------------------------


def test_a_signed_delivery_is_hmac_sha256_of_the_raw_body_under_the_app_secret() -> None:
    body, headers = signed_delivery({"object": "instagram", "entry": []})
    assert headers["X-Hub-Signature-256"] == "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    bad_body, bad_headers = badly_signed_delivery({"object": "instagram", "entry": []})
    assert bad_headers == headers and bad_body != body


def test_a_comments_event_is_the_same_mention_polling_finds(srv: ReplayServer) -> None:
    media = instagram_media(1, NOW - 600, "Do you deliver?")
    srv.add_items("instagram", [media])
    comment = media["comments"]["data"][0]
    [pushed] = parse(comments_event(media, comment), connector(srv))
    [polled] = fetch(connector(srv)).mentions
    assert (pushed.native_id, pushed.url, pushed.text, pushed.thread, pushed.created_at) == (
        polled.native_id, polled.url, polled.text, polled.thread, polled.created_at)


def test_the_accounts_own_comment_and_another_accounts_entry_give_nothing(srv: ReplayServer) -> None:
    media = instagram_media(1, NOW - 600, "Thanks all")
    srv.add_items("instagram", [media])
    own = {**media["comments"]["data"][0], "username": "beanthere"}
    assert parse(comments_event(media, own), connector(srv)) == []
    assert parse(comments_event(media, media["comments"]["data"][0], account="17841400000000000"),
                 connector(srv)) == []


def test_a_mentions_event_reads_the_comment_or_the_caption_by_id(srv: ReplayServer) -> None:
    other = mentioning_media(1, NOW - 300, "@beanthere best croissant", comment="@beanthere open Sundays?")
    srv.add_items("instagram", [other])
    comment_id = other["comments"]["data"][0]["id"]
    [in_comment] = parse(mentions_event(other["id"], comment_id), connector(srv))
    [in_caption] = parse(mentions_event(other["id"]), connector(srv))
    assert (in_comment.text, in_comment.thread) == (
        "@beanthere open Sundays?", {"kind": "mention", "media_id": other["id"], "comment_id": comment_id})
    assert (in_caption.text, in_caption.thread) == ("@beanthere best croissant",
                                                    {"kind": "mention", "media_id": other["id"]})
    assert in_caption.url == "https://www.instagram.com/cafe_critic/"


def test_the_same_event_delivered_twice_or_out_of_order_gives_the_same_mentions(srv: ReplayServer) -> None:
    media = instagram_media(1, NOW - 600, "first", comments=2)
    srv.add_items("instagram", [media])
    first, second = (comments_event(media, c) for c in media["comments"]["data"])
    source = connector(srv)
    once, again = parse(first, source), parse(first, source)
    assert once == again and len(once) == 1  # the store keeps (network, native_id) once
    in_order = {m.native_id: m for event in (first, second) for m in parse(event, source)}
    out_of_order = {m.native_id: m for event in (second, first) for m in parse(event, source)}
    assert in_order == out_of_order and len(in_order) == 2


@pytest.mark.parametrize(("payload", "reason"), [
    ([], "the delivery is not a JSON object"),
    ({"object": "page", "entry": []}, "the delivery's 'object' is not 'instagram'"),
    ({"object": "instagram"}, "the delivery has no 'entry' list"),
    ({"object": "instagram", "entry": [{"id": "1/../2", "time": 1}]}, r"entry\[0\].id is not a Graph API id"),
    ({"object": "instagram", "entry": [{"id": IG_USER_ID, "time": "now"}]}, r"entry\[0\].time is not a Unix time"),
    ({"object": "instagram", "entry": [{"id": IG_USER_ID, "time": 1, "changes": [{"field": "comments",
                                                                                  "value": {"id": "1"}}]}]},
     r"entry\[0\].changes\[0\].value.media is not an object"),
    ({"object": "instagram", "entry": [{"id": IG_USER_ID, "time": 1, "changes": [{"field": "mentions",
                                                                                  "value": {"media_id": "x"}}]}]},
     r"entry\[0\].changes\[0\].value.media_id is not a Graph API id"),
])
def test_a_delivery_not_in_metas_shape_is_refused_naming_where(srv: ReplayServer, payload: Any, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        parse(payload, connector(srv))
    assert srv.received["instagram"] == []


# --- the token's expiry ---------------------------------------------------------------------------


def test_the_owner_is_told_once_a_week_before_the_token_expires(srv: ReplayServer) -> None:
    expires = NOW + 7 * 86400 - 60  # 2027-01-22, a week from the clock less a minute
    api(srv).token_expires_at, api(srv).data_access_expires_at = NOW + 50 * 86400, expires
    clock, state = FakeClock(NOW), MemoryState()
    source = connector(srv, clock, state)
    assert source.token_notice() is None  # nothing known before a fetch asked debug_token
    fetch(source)
    assert source.token_notice() == "Instagram: reconnect by running `make connect NETWORK=instagram` before 22 Jan"
    assert source.token_notice() is None
    assert connector(srv, clock, state).token_notice() is None  # told once, whatever instance asks


def test_a_token_eight_days_from_expiring_or_never_expiring_says_nothing(srv: ReplayServer) -> None:
    api(srv).token_expires_at = NOW + 8 * 86400
    source = connector(srv)
    fetch(source)
    assert source.token_notice() is None
    api(srv).token_expires_at = 0
    never = connector(srv)
    fetch(never)
    assert never.token_notice() is None


def test_debug_token_is_asked_at_most_once_a_day(srv: ReplayServer) -> None:
    clock, state = FakeClock(NOW), MemoryState()
    source = connector(srv, clock, state)
    for _ in range(3):
        fetch(source)
        clock.advance(3600)
    clock.advance(86400)
    fetch(source)
    asked = [r for r in srv.received["instagram"] if r.path == "/v21.0/debug_token"]
    assert len(asked) == 2
    assert asked[0].param("input_token") == "ig-page-token"

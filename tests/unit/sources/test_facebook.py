"""The Facebook Page connector and its webhook parser against the emulated Graph API: visitor
posts, comments and replies (not the Page's own), posts that mention the Page, recommendations
(a negative one urgent), the time-paged feed, and ``page`` deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks import spec
from chalicelib.networks.facebook.emulator import (
    PAGE_ID,
    FacebookAPI,
    facebook_post,
    feed_event,
    rating_event,
    recommendation,
    tagged_post,
)
from chalicelib.networks.facebook.source import FacebookOptions, FacebookPage
from chalicelib.networks.facebook.webhook import parse
from chalicelib.sources.base import BadPayload, Budget
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import FakeClock, secrets
from tests.conftest import MemoryState

NOW = 1_800_000_000
TOKEN = "/listen/facebook/token"


@pytest.fixture(scope="module")
def module_srv() -> Iterator[ReplayServer]:
    with ReplayServer({"facebook": FacebookAPI()}) as server:
        yield server


@pytest.fixture
def srv(module_srv: ReplayServer) -> ReplayServer:
    module_srv.reset()
    module_srv.apis["facebook"] = FacebookAPI()
    return module_srv


def connector(srv: ReplayServer, clock: FakeClock | None = None, **options: Any) -> FacebookPage:
    clock = clock or FakeClock(NOW)
    opts = FacebookOptions(base_url=srv.base_url("facebook"), page_id=PAGE_ID, token_parameter=TOKEN, **options)
    return FacebookPage(opts, http=HttpClient("facebook", sleep=clock.sleep), secrets=secrets({TOKEN: "fb-page-token"}),
                        state=MemoryState(), clock=clock)


def fetch(source: FacebookPage, cursor: Any = None) -> Any:
    return source.fetch("*", cursor, Budget(deadline=float("inf")))


def test_the_page_id_must_be_digits() -> None:
    with pytest.raises(ValidationError, match="is not a Facebook Page id"):
        FacebookOptions(page_id="me", token_parameter=TOKEN)


def test_visitor_posts_comments_replies_tags_and_recommendations_are_read_not_the_pages_own(srv: ReplayServer) -> None:
    own = facebook_post(1, NOW - 900, "Is the terrace open?")
    own["comments"]["data"][0]["comments"] = {"data": [
        {"id": "1001_2199", "message": "Yes until 6!", "created_time": "2027-01-15T07:50:00+0000",
         "from": {"id": PAGE_ID, "name": "Bean There Café"}},
        {"id": "1001_2198", "message": "Thanks!", "created_time": "2027-01-15T07:51:00+0000",
         "from": {"id": "7770001", "name": "Guest 1"}}]}
    visitor = facebook_post(2, NOW - 600, "Lost my scarf there", visitor=True, comments=0)
    srv.add_items("facebook", [own, visitor, tagged_post(1, NOW - 300, "Brunch at @Bean There"),
                               recommendation(1, NOW - 200, "Cold coffee", positive=False),
                               recommendation(2, NOW - 100, "Lovely", positive=True)])
    result = fetch(connector(srv))
    by_text = {m.text: m for m in result.mentions}
    assert sorted(by_text) == ["Brunch at @Bean There", "Cold coffee", "Is the terrace open?", "Lost my scarf there",
                               "Lovely", "Thanks!"]
    assert by_text["Lost my scarf there"].thread == {"kind": "post", "post_id": visitor["id"],
                                                     "object_id": visitor["id"]}
    assert by_text["Thanks!"].thread["object_id"] == "1001_2198"
    assert (by_text["Cold coffee"].rating, by_text["Lovely"].rating) == (1, 5)
    urgent = {m.text: spec("facebook").owned_match(m).urgent for m in result.mentions}
    assert [text for text, yes in urgent.items() if yes] == ["Cold coffee"]
    assert result.skipped == []
    assert fetch(connector(srv), result.cursor).mentions == []


def test_a_time_paged_feed_is_followed_by_until_on_our_own_url(srv: ReplayServer) -> None:
    page = {"data": [facebook_post(1, NOW - 600, "first", visitor=True, comments=0)],
            "paging": {"next": "https://evil.example/v21.0/1/feed?until=1799999000&__paging_token=enc_AdB"}}
    srv.inject("facebook", Fault(200, {"Content-Type": "application/json"}, json.dumps(page).encode()))
    fetch(connector(srv))
    second = srv.received["facebook"][1]
    assert (second.path, second.param("until"), second.param("__paging_token")) == (
        f"/v21.0/{PAGE_ID}/feed", "1799999000", "enc_AdB")


def test_comments_past_the_first_page_are_read_from_the_comments_edge(srv: ReplayServer) -> None:
    srv.add_items("facebook", [facebook_post(1, NOW - 600, "Bean There question", comments=5)])
    assert len(fetch(connector(srv, comments_limit=2)).mentions) == 5


# --- webhooks -------------------------------------------------------------------------------------


def test_a_feed_comment_event_is_the_same_mention_polling_finds(srv: ReplayServer) -> None:
    post = facebook_post(1, NOW - 600, "Do you deliver?")
    srv.add_items("facebook", [post])
    comment = post["comments"]["data"][0]
    event = feed_event({"from": comment["from"], "post_id": post["id"], "comment_id": comment["id"],
                        "parent_id": post["id"], "created_time": NOW - 600, "item": "comment", "verb": "add",
                        "message": comment["message"]})
    [pushed] = parse(event, connector(srv))
    [polled] = fetch(connector(srv)).mentions
    assert (pushed.key, pushed.text, pushed.thread, pushed.created_at) == (
        polled.key, polled.text, polled.thread, polled.created_at)


def test_a_ratings_event_is_the_same_recommendation_polling_finds(srv: ReplayServer) -> None:
    review = recommendation(1, NOW - 60, "Waited 25 minutes", positive=False)
    srv.add_items("facebook", [review])
    [pushed] = parse(rating_event(review), connector(srv))
    [polled] = fetch(connector(srv)).mentions
    assert (pushed.key, pushed.rating, pushed.text, pushed.created_at, pushed.title) == (
        polled.key, 1, polled.text, polled.created_at, polled.title)


def test_edits_removals_reactions_and_other_pages_give_nothing(srv: ReplayServer) -> None:
    base = {"from": {"id": "1", "name": "A"}, "post_id": f"{PAGE_ID}_1", "comment_id": "1_2", "item": "comment",
            "created_time": NOW, "message": "x"}
    for value in ({**base, "verb": "edited"}, {**base, "verb": "remove"},
                  {**base, "item": "reaction", "verb": "add", "reaction_type": "like"}):
        assert parse(feed_event(value), connector(srv)) == []
    assert parse(feed_event({**base, "verb": "add"}, page="999"), connector(srv)) == []


@pytest.mark.parametrize(("payload", "reason"), [
    ({"object": "instagram", "entry": []}, "the delivery's 'object' is not 'page'"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "changes": [{"field": "feed", "value": {
        "verb": "add", "item": "comment", "post_id": "../x", "comment_id": "1"}}]}]},
     r"entry\[0\].changes\[0\].value.post_id is not a Graph API id"),
    ({"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "changes": [{"field": "ratings", "value": {
        "verb": "add", "open_graph_story_id": 5}}]}]},
     r"entry\[0\].changes\[0\].value.open_graph_story_id is not a Graph API id"),
])
def test_a_delivery_not_in_metas_shape_is_refused_naming_where(srv: ReplayServer, payload: Any, reason: str) -> None:
    with pytest.raises(BadPayload, match=reason):
        parse(payload, connector(srv))
    assert srv.received["facebook"] == []

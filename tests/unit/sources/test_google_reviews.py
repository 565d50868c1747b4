"""What the Google reviews connector does beyond the connector suite: locations checked strictly,
a review edited later alerted once more (and once), stars and urgency, anonymous reviewers, a
dead token renewed once, quota and refusals in words, pages resumed where a cycle stopped, and
one watermark per location."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from chalicelib.networks import spec
from chalicelib.networks.google_oauth import forget_access_tokens
from chalicelib.networks.google_reviews.emulator import LOCATION, GoogleReviewsAPI, google_review
from chalicelib.networks.google_reviews.source import GoogleReviews, GoogleReviewsOptions
from chalicelib.sources.base import Budget, CredentialsError, FetchResult, RateLimited
from chalicelib.sources.http import HttpClient
from offline.replay.server import Fault, ReplayServer
from tests.builders import FakeClock, secrets
from tests.conftest import MemoryState

NOW = 1_800_000_000
OTHER = "accounts/106941250772149994434/locations/1234567890"
SECRETS = {"/g/refresh": "test-refresh-token", "/g/id": "test-client-id", "/g/secret": "test-client-secret"}


@pytest.fixture
def api() -> Iterator[GoogleReviewsAPI]:
    forget_access_tokens()
    yield GoogleReviewsAPI()
    forget_access_tokens()


@pytest.fixture
def srv(api: GoogleReviewsAPI) -> Iterator[ReplayServer]:
    with ReplayServer({"google_reviews": api}) as server:
        yield server


def connector(srv: ReplayServer, clock: FakeClock, **extra: Any) -> GoogleReviews:
    base = srv.base_url("google_reviews")
    opts = GoogleReviewsOptions(**{"base_url": base, "locations": [LOCATION], "oauth_token_url": base + "/token",
                                   "oauth_refresh_token_parameter": "/g/refresh", "oauth_client_id_parameter": "/g/id",
                                   "oauth_client_secret_parameter": "/g/secret", **extra})
    return GoogleReviews(opts, http=HttpClient("google_reviews", sleep=clock.sleep), secrets=secrets(SECRETS),
                         state=MemoryState(), clock=clock)


def fetch(source: GoogleReviews, cursor: Any = None) -> FetchResult:
    return source.fetch("*", cursor, Budget(deadline=float("inf")))


def ids(result: FetchResult) -> list[str]:
    return sorted(m.native_id for m in result.mentions)


def lists(srv: ReplayServer) -> list[str]:
    return [r.path for r in srv.received["google_reviews"] if r.method == "GET"]


@pytest.mark.parametrize("bad", ["accounts/12/locations/x", "locations/123", "accounts/1/locations/2/reviews/3",
                                 "accounts/1/locations/2?x=1", "../accounts/1/locations/2"])
def test_a_location_that_is_not_a_location_name_is_a_config_error_naming_it(bad: str) -> None:
    with pytest.raises(ValidationError) as err:
        GoogleReviewsOptions(locations=[LOCATION, bad])
    assert f"locations[1] {bad!r} is not a Business Profile location name" in str(err.value)


def test_no_location_or_the_same_twice_is_a_config_error() -> None:
    with pytest.raises(ValidationError, match="locations"):
        GoogleReviewsOptions(locations=[])
    with pytest.raises(ValidationError, match="names a location twice"):
        GoogleReviewsOptions(locations=[LOCATION, LOCATION])


def test_an_edited_review_is_alerted_once_more_and_then_never_again(srv: ReplayServer) -> None:
    clock = FakeClock(NOW)
    review = google_review("AbFvOqEdited01", NOW - 600, "Slow service.", stars=2)
    srv.add_items("google_reviews", [review])
    source = connector(srv, clock)
    first = fetch(source)
    again = fetch(source, first.cursor)
    clock.advance(300)
    review.update(google_review("AbFvOqEdited01", NOW + 200, "Slow service, but they made it right.", stars=4,
                                created_at=NOW - 600))
    edited = fetch(source, again.cursor)
    after = fetch(source, edited.cursor)
    assert (ids(first), ids(again), ids(after)) == ([f"AbFvOqEdited01@{(NOW - 600) * 1000}"], [], [])
    [mention] = edited.mentions
    assert (mention.native_id, mention.rating, mention.text) == (
        f"AbFvOqEdited01@{(NOW + 200) * 1000}", 4, "Slow service, but they made it right.")
    # One conversation: the reply and a muted thread address the review, whichever version.
    assert spec("google_reviews").thread_root(mention) == spec("google_reviews").thread_root(first.mentions[0]) \
        == f"google_reviews:{LOCATION}/reviews/AbFvOqEdited01"
    assert mention.created_at.timestamp() == NOW - 600  # written then, edited later


@pytest.mark.parametrize(("stars", "urgent_stars", "urgent"), [(1, None, True), (2, None, False), (2, 2, True),
                                                               (3, 2, False), (1, 0, False)])
def test_a_review_at_or_below_urgent_stars_is_urgent(srv: ReplayServer, stars: int, urgent_stars: int | None,
                                                     urgent: bool) -> None:
    srv.add_items("google_reviews", [google_review("AbFvOqStars01", NOW - 60, "Meh.", stars=stars)])
    extra = {} if urgent_stars is None else {"urgent_stars": urgent_stars}
    [mention] = fetch(connector(srv, FakeClock(NOW), **extra)).mentions
    match = spec("google_reviews").owned_match(mention)
    assert (mention.rating, match.rule, match.group, match.urgent) == (stars, "your Google reviews", "brand", urgent)


def test_an_anonymous_reviewer_is_a_google_user(srv: ReplayServer) -> None:
    srv.add_items("google_reviews", [google_review("AbFvOqAnon01", NOW - 60, "", stars=1, anonymous=True)])
    [mention] = fetch(connector(srv, FakeClock(NOW))).mentions
    assert (mention.author_name, mention.text, mention.rating) == ("A Google user", "", 1)


def test_a_token_that_died_early_is_renewed_once(srv: ReplayServer, api: GoogleReviewsAPI) -> None:
    clock = FakeClock(NOW)
    srv.add_items("google_reviews", [google_review("AbFvOqTok01", NOW - 60, "Good.")])
    source = connector(srv, clock)
    first = fetch(source)
    api.expire_access_tokens()
    srv.add_items("google_reviews", [google_review("AbFvOqTok02", NOW - 30, "Great.")])
    assert ids(fetch(source, first.cursor)) == [f"AbFvOqTok02@{(NOW - 30) * 1000}"]
    assert api.tokens_issued == 2


def test_a_second_401_says_how_to_reconnect(srv: ReplayServer) -> None:
    source = connector(srv, FakeClock(NOW))
    body = b'{"error": {"code": 401, "message": "x", "status": "UNAUTHENTICATED"}}'
    srv.inject("google_reviews", Fault(passthrough=True), Fault(401, {}, body), Fault(passthrough=True),
               Fault(401, {}, body))
    with pytest.raises(CredentialsError, match=r"\(HTTP 401: UNAUTHENTICATED\); reconnect Google: run "
                                               r"`make connect NETWORK=google_reviews`"):
        fetch(source)


def test_a_location_the_account_does_not_manage_is_named(srv: ReplayServer) -> None:
    source = connector(srv, FakeClock(NOW))
    srv.inject("google_reviews", Fault(passthrough=True),
               Fault(403, {}, b'{"error": {"code": 403, "message": "x", "status": "PERMISSION_DENIED"}}'))
    with pytest.raises(CredentialsError, match=rf"the reviews of {LOCATION} \(HTTP 403: PERMISSION_DENIED\)"):
        fetch(source)


def test_quota_exhausted_is_rate_limited_for_a_minute_without_a_pause(srv: ReplayServer,
                                                                       api: GoogleReviewsAPI) -> None:
    clock = FakeClock(NOW)
    api.quota_exhausted_once = True
    with pytest.raises(RateLimited, match=r"HTTP 429: RESOURCE_EXHAUSTED") as err:
        fetch(connector(srv, clock))
    assert (err.value.retry_after, clock.sleeps) == (60.0, [])
    srv.add_items("google_reviews", [google_review("AbFvOqQuota1", NOW - 60, "Fine.")])
    assert len(fetch(connector(srv, clock)).mentions) == 1  # once only


def test_a_walk_stopped_by_the_page_limit_goes_on_where_it_stopped(srv: ReplayServer) -> None:
    clock = FakeClock(NOW)
    srv.add_items("google_reviews", [google_review(f"AbFvOqPage{n:02d}", NOW - 1000 + n, f"n{n}") for n in range(8)])
    source = connector(srv, clock, page_size=3, max_pages=2)
    first = fetch(source)
    srv.received.clear()
    second = fetch(source, first.cursor)
    third = fetch(source, second.cursor)
    assert (len(first.mentions), first.complete) == (6, False)
    assert (len(second.mentions), second.complete, len(third.mentions)) == (2, True, 0)
    assert sorted(ids(first) + ids(second)) == sorted(f"AbFvOqPage{n:02d}@{(NOW - 1000 + n) * 1000}" for n in range(8))
    assert "gap" in first.cursor["locations"][LOCATION] and "gap" not in second.cursor["locations"][LOCATION]


def test_each_location_keeps_its_own_watermark(srv: ReplayServer) -> None:
    clock = FakeClock(NOW)
    srv.add_items("google_reviews", [google_review("AbFvOqLoc1", NOW - 60, "Here."),
                                     google_review("AbFvOqLoc2", NOW - 3000, "There.", location=OTHER)])
    source = connector(srv, clock, locations=[LOCATION, OTHER])
    first = fetch(source)
    second = fetch(source, first.cursor)
    assert (ids(first), ids(second)) == ([f"AbFvOqLoc1@{(NOW - 60) * 1000}", f"AbFvOqLoc2@{(NOW - 3000) * 1000}"], [])
    assert sorted(lists(srv)) == sorted([f"/v4/{LOCATION}/reviews", f"/v4/{OTHER}/reviews"] * 2)
    assert {m.thread["location"] for m in first.mentions} == {LOCATION, OTHER}


def test_an_edited_review_is_not_taken_for_a_repost_of_its_first_version(srv: ReplayServer) -> None:
    """Near-identical texts are one story (a repost is not alerted again), but a review edited to
    other stars is news: the owner's own reviews carry no text fingerprint."""
    from chalicelib.model import MatchedMention
    from chalicelib.noise import collapse, fingerprints

    clock = FakeClock(NOW)
    text = "The coffee was fine but the staff ignored us for twenty minutes at the counter."
    review = google_review("AbFvOqRepost1", NOW - 600, text, stars=3)
    srv.add_items("google_reviews", [review])
    source = connector(srv, clock)
    first = fetch(source)
    clock.advance(300)
    review.update(google_review("AbFvOqRepost1", NOW + 200, text, stars=1, created_at=NOW - 600))
    [edited] = fetch(source, first.cursor).mentions
    owned = spec("google_reviews")
    before, after = (MatchedMention(m, (owned.owned_match(m),)) for m in (first.mentions[0], edited))
    known = dict.fromkeys(fingerprints(before), before.mention.key)
    [story] = collapse([after], known=known)
    assert (story.earlier, story.lead.mention.rating) == (False, 1)


def test_a_page_token_google_no_longer_takes_reads_the_gap_again_from_the_top(srv: ReplayServer) -> None:
    clock = FakeClock(NOW)
    srv.add_items("google_reviews", [google_review(f"AbFvOqStale{n:02d}", NOW - 1000 + n, f"n{n}") for n in range(5)])
    source = connector(srv, clock, page_size=2, max_pages=1)
    first = fetch(source)
    state = first.cursor["locations"][LOCATION]
    state["gap"]["token"] = "expired-token"
    second = fetch(connector(srv, clock, page_size=50), first.cursor)
    assert (len(first.mentions), first.complete) == (2, False)
    # Read again from the gap's low end: all five, the first two again (the store drops those as stored).
    assert ids(second) == sorted(f"AbFvOqStale{n:02d}@{(NOW - 1000 + n) * 1000}" for n in range(5))
    assert set(ids(first)) < set(ids(second))
    assert second.complete and "gap" not in second.cursor["locations"][LOCATION]

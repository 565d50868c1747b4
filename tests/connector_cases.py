"""What the connector contract suite (tests/unit/sources/test_every_connector.py) needs to know
about each network, in one place: how to build the connector against its emulator, one item
in the network's payload shape, which options make pages small, its credentials, one
unreadable item with the reason the connector gives, and the keys its payloads use.

Everything else the suite checks is the same for every network. When each network's spec
(``chalicelib/networks/<net>/``) says these things itself, this table is what to repoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.networks import NETWORKS, source_class
from chalicelib.networks.bluesky.emulator import BlueskyAPI, post_view
from chalicelib.networks.devto.emulator import DevToAPI, devto_article
from chalicelib.networks.facebook.emulator import PAGE_ID, FacebookAPI, facebook_post
from chalicelib.networks.github.emulator import GitHubAPI, issue
from chalicelib.networks.google_oauth import forget_access_tokens
from chalicelib.networks.google_reviews.emulator import LOCATION as GOOGLE_LOCATION
from chalicelib.networks.google_reviews.emulator import GoogleReviewsAPI, google_review
from chalicelib.networks.hackernews.emulator import HackerNewsAPI, story_hit
from chalicelib.networks.instagram.emulator import IG_USER_ID, InstagramAPI, instagram_media
from chalicelib.networks.lobsters.emulator import LobstersAPI, lobsters_story
from chalicelib.networks.mastodon.emulator import MastodonAPI, snowflake, status
from chalicelib.networks.reddit.emulator import RedditAPI, post
from chalicelib.networks.rss.emulator import FeedsAPI, rss_item
from chalicelib.networks.stackexchange.emulator import StackExchangeAPI, question
from chalicelib.networks.x.emulator import XAPI, x_post
from chalicelib.networks.x.emulator import snowflake as x_snowflake
from chalicelib.networks.youtube.emulator import YouTubeAPI, youtube_video
from chalicelib.sources.base import Source, SourceState
from chalicelib.sources.http import HttpClient
from offline.replay.server import NetworkAPI, ReplayServer
from tests.builders import FakeClock, secrets

Item = dict[str, Any]


@dataclass(frozen=True)
class Credentials:
    """A network whose reads need secrets from SSM: which, and what a wrong one is called."""

    secrets: dict[str, str]  # the good values, by SSM parameter name
    missing: str  # the parameter the suite leaves out (the first the connector asks for, or any it needs)
    missing_match: str  # what the MissingSecret says
    wrong: dict[str, str]  # parameters whose values the network refuses
    wrong_match: str  # what the CredentialsError says
    options: dict[str, Any] = field(default_factory=dict)  # options naming the parameters
    query: str | None = None  # the query that needs them (default: the case's query)


@dataclass(frozen=True)
class ConnectorCase:
    network: str
    api: Callable[[FakeClock], NetworkAPI]  # a fresh emulation of the network
    item: Callable[[int, int, str], Item]  # (n, created_at, text) -> an item whose title or text is ``text``
    query: str = "bean"  # "*": the network is a stream read whole
    options: Callable[[ReplayServer], dict[str, Any]] = lambda srv: {"base_url": srv.base_url("")}
    small_pages: dict[str, Any] = field(default_factory=dict)  # options making a page hold 3 items
    page_items: int = 7  # items that take more than two small pages
    credentials: Credentials | None = None
    # One item the connector cannot read, and the reason it gives: (good item) -> (bad item, reason).
    unreadable: Callable[[Item], tuple[Item, str]] | None = None
    payload_keys: tuple[str, ...] = ()  # keys of the network's JSON, for bodies made up of them
    fault_statuses: tuple[int, ...] = (200,)  # statuses a made-up body comes with
    page_of: Callable[[list[Any]], Any] = list  # made-up items in the envelope of the network's page
    fields: tuple[str, ...] = ()  # an item's fields (dots between keys) a hostile value may replace
    malformed_body: bytes = b'{"items": [{"id": '
    malformed_match: str = "not valid JSON"


def _base(network: str) -> Callable[[ReplayServer], dict[str, Any]]:
    return lambda srv: {"base_url": srv.base_url(network)}


def _served(item: Any, emulator_key: str) -> Any:
    """``item`` as the network serves it: without the key only the emulator reads."""
    return {k: v for k, v in item.items() if k != emulator_key} if isinstance(item, dict) else item


def _set(item: Item, path: str, value: Any) -> Item:
    """``item`` with the field at ``path`` (dots between keys) set to ``value``; None deletes it."""
    *parents, last = path.split(".")
    node = item
    for key in parents:
        node = node[key]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return item


REDDIT_SECRETS = {
    "/listen/reddit/client_id": "app-client-id",
    "/listen/reddit/client_secret": "app-client-secret",
    "/listen/reddit/username": "beanthere",
    "/listen/reddit/password": "hunter2",
}
BLUESKY_SECRETS = {"/listen/bluesky/handle": "beanthere.bsky.social",
                   "/listen/bluesky/app_password": "abcd-efgh-ijkl-mnop"}
JSON_CT = {"Content-Type": "application/json"}
GOOGLE_SECRETS = {"/listen/google/refresh": "test-refresh-token", "/listen/google/client-id": "test-client-id",
                  "/listen/google/client-secret": "test-client-secret"}


def _google_reviews_api(clock: FakeClock) -> GoogleReviewsAPI:
    forget_access_tokens()  # a token another emulation issued is unknown to this one
    return GoogleReviewsAPI()

CASES: dict[str, ConnectorCase] = {case.network: case for case in [
    ConnectorCase(
        "hackernews", lambda clock: HackerNewsAPI(),
        lambda n, t, text: story_hit(100 + n, t, text),
        options=_base("hackernews"), small_pages={"hits_per_page": 3},
        unreadable=lambda hit: (_set(hit, "author", 5), "hit 10{n}: author is not a string"),
        payload_keys=("hits", "nbPages", "page", "objectID", "created_at_i", "title", "url", "author",
                      "comment_text", "story_id", "_tags"),
        page_of=lambda v: {"hits": v, "nbPages": 1},
        fields=("objectID", "created_at_i", "title", "author", "url", "story_text", "points", "_tags"),
    ),
    ConnectorCase(
        "rss", lambda clock: FeedsAPI(window=50),
        lambda n, t, text: rss_item("blog", f"p{n}", t, text, f"https://blog.example.pt/{n}", f"<p>{text}</p>"),
        query="*", options=lambda srv: {"feeds": [f"{srv.base_url('rss')}/blog"]}, page_items=3,
        malformed_body=b"<feed><title>Alert &bogus;</title></feed>",
        malformed_match=r"feed http://\S+/rss/blog: not well-formed XML \(undefined entity at line 2\)",
    ),
    ConnectorCase(
        "stackexchange", lambda clock: StackExchangeAPI(valid_keys={"k3y"}),
        lambda n, t, text: question(1000 + n, t, text, f"<p>{text}</p>"),
        options=_base("stackexchange"), small_pages={"page_size": 3},
        credentials=Credentials(
            {"/listen/se-key": "k3y"}, "/listen/se-key", "SSM parameter /listen/se-key for the Stack Apps key",
            {"/listen/se-key": "wrong"}, "app key or token rejected", {"key_parameter": "/listen/se-key"}),
        unreadable=lambda q: (_set(q, "link", "https://evil.example/q/1"),
                             "items[{n}].link is not a Stack Exchange question URL"),
        payload_keys=("items", "has_more", "backoff", "quota_remaining", "question_id", "creation_date", "link",
                      "owner", "title", "body", "tags", "error_id", "score", "user_id", "display_name"),
        page_of=lambda v: {"items": [_served(q, "_site") for q in v], "has_more": False, "quota_remaining": 9000},
        fault_statuses=(200, 400),
        fields=("question_id", "creation_date", "link", "title", "body", "owner", "owner.display_name", "owner.user_id",
                "tags", "score"),
    ),
    ConnectorCase(
        "github", lambda clock: GitHubAPI(valid_tokens={"ghp_good"}, clock=clock),
        lambda n, t, text: issue(500 + n, 10 + n, "beanthere/shop", t, text, text),
        options=lambda srv: {"base_url": srv.base_url("github"), "token_parameter": "/listen/github-token"},
        small_pages={"per_page": 3},
        credentials=Credentials(
            {"/listen/github-token": "ghp_good"}, "/listen/github-token",
            "SSM parameter /listen/github-token for the GitHub token does not exist",
            {"/listen/github-token": "ghp_expired"}, r"token rejected \(HTTP 401\)"),
        unreadable=lambda i: (_set(i, "html_url", "https://evil.example/a/b/issues/1"),
                             "items[{n}].html_url is not a github.com issue or pull request URL"),
        payload_keys=("items", "total_count", "incomplete_results", "id", "number", "html_url", "title", "body",
                      "user", "login", "created_at", "pull_request", "message", "errors", "data"),
        page_of=lambda v: {"total_count": len(v), "incomplete_results": False, "items": v},
        fault_statuses=(200, 403, 422),
        fields=("id", "number", "html_url", "title", "body", "user", "user.login", "created_at", "labels", "state"),
    ),
    ConnectorCase(
        "reddit", lambda clock: RedditAPI(),
        lambda n, t, text: post(n + 1, t, text),
        options=lambda srv: {
            "base_url": srv.base_url("reddit"), "auth_base_url": srv.base_url("reddit"),
            "user_agent": "python:bean-there-listening:0.1 (by /u/beanthere)",
            "client_id_parameter": "/listen/reddit/client_id",
            "client_secret_parameter": "/listen/reddit/client_secret",
            "username_parameter": "/listen/reddit/username", "password_parameter": "/listen/reddit/password"},
        small_pages={"limit": 3},
        credentials=Credentials(
            REDDIT_SECRETS, "/listen/reddit/password", "SSM parameter /listen/reddit/password for the account password",
            {"/listen/reddit/password": "wrong"}, r"username or password rejected \(invalid_grant\)"),
        unreadable=lambda p: (_set(p, "data.permalink", "/r/lisbon/comments/../../x"),
                             "children[{n}].permalink is not a /r/<subreddit>/comments/ permalink"),
        payload_keys=("kind", "data", "children", "after", "name", "id", "permalink", "created_utc", "title",
                      "selftext", "body", "author", "subreddit", "link_id", "access_token", "expires_in"),
        page_of=lambda v: {"kind": "Listing", "data": {"children": v, "after": None}},
        fields=("kind", "data", "data.name", "data.id", "data.permalink", "data.created_utc", "data.title",
                "data.selftext", "data.author", "data.subreddit", "data.score"),
    ),
    ConnectorCase(
        "mastodon", lambda clock: MastodonAPI(access_tokens={"mastodon.social": "good-token"}),
        lambda n, t, text: status(snowflake(t, n), t, f"<p>{text}</p>", tags=("coffee",)),
        query="*",
        options=lambda srv: {"instances": [f"{srv.base_url('mastodon')}/mastodon.social"], "hashtags": ["coffee"]},
        small_pages={"limit": 3},
        credentials=Credentials(
            {"/listen/mastodon/token": "good-token"}, "/listen/mastodon/token",
            "SSM parameter /listen/mastodon/token for the access token",
            {"/listen/mastodon/token": "stale-token"}, r"access token rejected \(HTTP 401\)",
            {"access_token_parameter": "/listen/mastodon/token"}, query="bean"),
        unreadable=lambda s: (_set(s, "url", "javascript:alert(1)"), "timeline[{n}].url is not an https URL"),
        payload_keys=("id", "created_at", "content", "url", "uri", "account", "acct", "statuses", "reblog",
                      "tags", "language", "in_reply_to_id", "followers_count", "error"),
        page_of=lambda v: [_served(s, "_instance") for s in v],
        fields=("id", "created_at", "content", "url", "uri", "account", "account.acct", "account.url", "tags",
                "language", "in_reply_to_id"),
    ),
    ConnectorCase(
        "bluesky", lambda clock: BlueskyAPI(),
        lambda n, t, text: post_view(t, text, clock_id=n),
        options=lambda srv: {"base_url": srv.base_url("bluesky"), "handle_parameter": "/listen/bluesky/handle",
                             "app_password_parameter": "/listen/bluesky/app_password"},
        small_pages={"limit": 3},
        credentials=Credentials(
            BLUESKY_SECRETS, "/listen/bluesky/app_password",
            "SSM parameter /listen/bluesky/app_password for the app password",
            {"/listen/bluesky/app_password": "wrong-pass-word-xxxx"}, r"app password rejected \(HTTP 401\)"),
        unreadable=lambda p: (_set(p, "cid", None), "posts[{n}].cid is not a CID"),
        payload_keys=("posts", "cursor", "uri", "cid", "author", "did", "handle", "record", "text", "createdAt",
                      "indexedAt", "accessJwt", "refreshJwt", "error", "message"),
        page_of=lambda v: {"posts": v},
        fields=("uri", "cid", "author", "author.did", "author.handle", "record", "record.text", "record.createdAt",
                "indexedAt", "likeCount"),
    ),
    ConnectorCase(
        "lobsters", lambda clock: LobstersAPI(),
        lambda n, t, text: lobsters_story(f"s{n}", t, text),
        query="*", options=_base("lobsters"), page_items=30,
        unreadable=lambda s: (_set(s, "title", None), "story s{n}.title is not a string"),
        payload_keys=("short_id", "short_id_url", "created_at", "title", "url", "score", "comment_count",
                      "description", "comments_url", "submitter_user", "tags", "comments"),
        fields=("short_id", "short_id_url", "created_at", "title", "url", "description", "submitter_user", "tags",
                "score", "comment_count"),
    ),
    ConnectorCase(
        "devto", lambda clock: DevToAPI(),
        lambda n, t, text: devto_article(1000 + n, t, text),
        query="*", options=_base("devto"), small_pages={"per_page": 3},
        unreadable=lambda a: (_set(a, "title", 7), "article 100{n}.title is not a string"),
        payload_keys=("id", "url", "title", "published_at", "user", "tag_list", "tags", "username",
                      "description", "public_reactions_count"),
        fields=("id", "url", "title", "description", "published_at", "tag_list", "tags", "user", "user.username",
                "user.name", "public_reactions_count"),
    ),
    ConnectorCase(
        "google_reviews", _google_reviews_api,
        lambda n, t, text: google_review(f"AbFvOqReview{n:04d}", t, text, stars=1 + n % 5),
        query="*",
        options=lambda srv: {"base_url": srv.base_url("google_reviews"), "locations": [GOOGLE_LOCATION],
                             "oauth_token_url": srv.base_url("google_reviews") + "/token",
                             "oauth_refresh_token_parameter": "/listen/google/refresh",
                             "oauth_client_id_parameter": "/listen/google/client-id",
                             "oauth_client_secret_parameter": "/listen/google/client-secret"},
        small_pages={"page_size": 3},
        credentials=Credentials(
            GOOGLE_SECRETS, "/listen/google/refresh",
            "SSM parameter /listen/google/refresh for the OAuth refresh token does not exist",
            {"/listen/google/refresh": "revoked-refresh-token"},
            r"refused the OAuth refresh token \(HTTP 400: invalid_grant\).*make connect NETWORK=google_reviews"),
        unreadable=lambda r: (_set(r, "starRating", "SIX"), "reviews[{n}].starRating is not ONE to FIVE"),
        payload_keys=("reviews", "nextPageToken", "averageRating", "totalReviewCount", "reviewId", "name", "reviewer",
                      "displayName", "isAnonymous", "starRating", "comment", "createTime", "updateTime",
                      "reviewReply", "error", "code", "status", "access_token", "expires_in"),
        page_of=lambda v: {"reviews": v, "totalReviewCount": len(v)},
        fault_statuses=(200, 400, 401, 403, 429),
        fields=("reviewId", "name", "reviewer", "reviewer.displayName", "reviewer.isAnonymous", "starRating",
                "comment", "createTime", "updateTime", "reviewReply"),
    ),
    ConnectorCase(
        "youtube", lambda clock: YouTubeAPI(keys=("test-api-key",), daily_calls=10**9),
        lambda n, t, text: youtube_video(f"vid{n:08d}", t, text),
        options=lambda srv: {"base_url": srv.base_url("youtube"), "key_parameter": "/listen/youtube/key",
                             "pace_through_the_day": False},
        small_pages={"max_results": 3},
        credentials=Credentials(
            {"/listen/youtube/key": "test-api-key"}, "/listen/youtube/key",
            "SSM parameter /listen/youtube/key for the API key does not exist",
            {"/listen/youtube/key": "wrong-key"}, "API key rejected"),
        unreadable=lambda v: (_set(v, "snippet.channelId", "UC/../x"),
                             "items[{n}].snippet.channelId is not a channel id"),
        payload_keys=("items", "id", "kind", "videoId", "snippet", "publishedAt", "title", "channelId",
                      "nextPageToken", "error", "errors", "reason"),
        page_of=lambda v: {"kind": "youtube#searchListResponse", "items": v},
        fault_statuses=(200, 400, 403),
        fields=("id", "id.videoId", "id.kind", "snippet", "snippet.publishedAt", "snippet.title", "snippet.channelId",
                "snippet.description", "snippet.channelTitle"),
    ),
    ConnectorCase(
        "x", lambda clock: XAPI(bearer_token="AAAA-good-bearer"),
        lambda n, t, text: x_post(x_snowflake(t, n), t, text, user_id=str(1000 + n), username=f"user{n}"),
        options=lambda srv: {"base_url": srv.base_url("x"), "bearer_token_parameter": "/listen/x/bearer",
                             "monthly_budget_usd": 50.0},
        small_pages={"max_results": 10}, page_items=25,
        credentials=Credentials(
            {"/listen/x/bearer": "AAAA-good-bearer"}, "/listen/x/bearer",
            "SSM parameter /listen/x/bearer for the app bearer token",
            {"/listen/x/bearer": "AAAA-revoked"}, r"bearer token rejected \(HTTP 401\)"),
        unreadable=lambda p: (_set(p, "created_at", "yesterday"), "data[{n}].created_at is not an ISO time"),
        payload_keys=("data", "includes", "users", "meta", "id", "text", "created_at", "author_id", "username",
                      "name", "next_token", "newest_id", "result_count", "errors", "title", "detail", "type"),
        page_of=lambda v: {"data": [_served(p, "_user") for p in v], "meta": {"result_count": len(v)}},
        fault_statuses=(200, 400, 403, 429),
        fields=("id", "text", "created_at", "author_id", "conversation_id", "lang", "entities",
                "referenced_tweets", "note_tweet"),
    ),
    ConnectorCase(
        "instagram", lambda clock: InstagramAPI(),
        lambda n, t, text: instagram_media(n, t, text),
        query="*",
        options=lambda srv: {"base_url": srv.base_url("instagram"), "ig_user_id": IG_USER_ID,
                             "token_parameter": "/listen/instagram/token"},
        small_pages={"media_limit": 3},
        credentials=Credentials(
            {"/listen/instagram/token": "ig-page-token"}, "/listen/instagram/token",
            "SSM parameter /listen/instagram/token for the Instagram access token",
            {"/listen/instagram/token": "ig-expired-token"},
            r"access token rejected \(HTTP 400, code 190: .*\); reconnect Instagram: run `make connect "
            r"NETWORK=instagram`"),
        unreadable=lambda m: (_set(m, "permalink", "https://evil.example/p/x"),
                             "media 1790000000000000{n}.permalink is not an instagram.com permalink"),
        payload_keys=("data", "paging", "cursors", "after", "next", "id", "caption", "permalink", "timestamp",
                      "username", "comments", "text", "from", "like_count", "replies", "error", "code"),
        page_of=lambda v: {"data": v},
        fault_statuses=(200, 400, 403),
        fields=("id", "permalink", "timestamp", "username", "caption", "comments", "comments.data"),
    ),
    ConnectorCase(
        "facebook", lambda clock: FacebookAPI(),
        lambda n, t, text: facebook_post(n, t, text),
        query="*",
        options=lambda srv: {"base_url": srv.base_url("facebook"), "page_id": PAGE_ID,
                             "token_parameter": "/listen/facebook/token"},
        small_pages={"posts_limit": 3},
        credentials=Credentials(
            {"/listen/facebook/token": "fb-page-token"}, "/listen/facebook/token",
            "SSM parameter /listen/facebook/token for the Page access token",
            {"/listen/facebook/token": "fb-expired-token"},
            r"access token rejected \(HTTP 400, code 190: .*\); reconnect Facebook Page: run `make connect "
            r"NETWORK=facebook`"),
        unreadable=lambda p: (_set(p, "permalink_url", "https://evil.example/p/x"),
                             f"{PAGE_ID}_100{{n}}.permalink_url is not a facebook.com permalink"),
        payload_keys=("data", "paging", "cursors", "after", "next", "id", "message", "permalink_url",
                      "created_time", "from", "name", "comments", "error", "code"),
        page_of=lambda v: {"data": v},
        fault_statuses=(200, 400, 403),
        fields=("id", "permalink_url", "created_time", "from", "from.id", "message", "comments", "comments.data"),
    ),
]}


def every_network() -> list[str]:
    """The registered networks, in registry order (the suite's parameters)."""
    return list(NETWORKS)


def build(case: ConnectorCase, srv: ReplayServer, clock: FakeClock, state: SourceState, *,
          secret_values: dict[str, str] | None = None, **options: Any) -> Source:
    """The network's connector from the registry, reading the emulator on ``srv``, with the
    fake clock (its pauses recorded, never waited) and the case's credentials."""
    cls = source_class(case.network)
    values = case.credentials.secrets if case.credentials and secret_values is None else (secret_values or {})
    opts = cls.options_model(**{**case.options(srv), **options})
    http = HttpClient(case.network, timeout=opts.timeout_seconds, sleep=clock.sleep)
    connector: Source = cls(opts, http=http, secrets=secrets(values), state=state, clock=clock)  # type: ignore[call-arg]
    return connector

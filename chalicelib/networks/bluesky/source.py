"""Bluesky: ``app.bsky.feed.searchPosts`` through the PDS with an app-password session.

Session: ``com.atproto.server.createSession`` is limited to 30 per 5 min per account, so
the session (accessJwt, refreshJwt, did, handle) is cached through ``state`` under
"session" and reused across cycles and Lambdas. An expired access token (HTTP 400
``ExpiredToken`` or 401) is renewed with ``com.atproto.server.refreshSession`` (the
refreshJwt as Bearer); only when that fails is a new session created.

Search: ``sort=latest&since=<watermark>&limit=100`` with ``cursor`` paging, newest first.
``since`` is matched against the post's ``sortAt`` (the earlier of ``record.createdAt`` and
``indexedAt``), so the watermark is the newest sortAt read, and each cycle asks again
from ``overlap_seconds`` before it (a post indexed late can carry an older sortAt),
dropping the uris it already returned. One request per term: the lexicon leaves the ``q``
syntax, boolean operators included, "unspecified" (bluesky-social/atproto
``lexicons/app/bsky/feed/searchPosts.json`` @7a4e4355), so terms are not combined with OR (a
query the AppView read literally would match nothing and lose mentions silently; reported: the
search ANDs every word, "OR" included, in the open request for boolean operators
https://github.com/bluesky-social/social-app/issues/1522 and in christopherkenny/bskyr issue 19).
No listing of all new posts exists short of the firehose, so with many terms a poll reads the
firehose instead: see "Firehose" below.
Cursor: ``{"since": ISO, "seen": {uri: sortAt
seconds}, "gap": {"since": ISO, "until": ISO, "seen": [uris]} | absent}``; ``gap`` is the
older part a walk stopped by the page limit or the budget did not read (read first).

Firehose (``fetch_many``, from ``firehose_from_terms`` terms up or as listen.yaml's ``mode`` forces):
one Jetstream connection a poll (``chalicelib/networks/bluesky/jetstream.py``) reads every new post
from the cursor to the cycle's start; a post is handed back for the terms it contains, every word
of a term (searchPosts ANDs the words), each post once (to the first such term) and only once
across cycles (its uri remembered in the overlap); handles come from ``app.bsky.actor.getProfiles``
(25 actors a call, through the session) for those posts only. Cursor, shared by the terms:
``{"time_us": T, "seen": {uri: time_us}}``, T the time of the last event processed; a read starts
``firehose_overlap_seconds`` before T. A first read starts ``firehose_first_run_minutes`` back; a
cursor older than Jetstream's 36-hour replay window is moved to the window's start and the posts
between said as possibly missed. Either mode takes the other's cursor: a search cursor's
``since`` is where the firehose starts, a firehose cursor's time is where a search starts.

A post that cannot be read is skipped alone (its reason in ``FetchResult.skipped``); the
others of its page come through. The watermark never passes the cycle's clock: a post
whose sortAt claims a later time is returned with that date, but ``since`` stays at most
"now" (a cursor stored in the future by an older version is pulled back too).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlsplit

import requests
from pydantic import Field, field_validator

from chalicelib.model import Mention
from chalicelib.networks.bluesky import FIREHOSE_FROM_TERMS, SPEC, firehose_chosen
from chalicelib.networks.bluesky.jetstream import PUBLIC_INSTANCE, REPLAY_WINDOW_SECONDS, read_stream
from chalicelib.sources.base import (
    BadPayload,
    Budget,
    Capabilities,
    CredentialsError,
    Cursor,
    FetchResult,
    RateLimited,
    SkipLedger,
    SourceBase,
    SourceError,
    SourceOptions,
    attribute,
    require_secret,
    zoned_time,
)
from chalicelib.sources.http import decode_json

APP_URL = "https://bsky.app/profile/"
DID = r"did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}"
POST_URI = re.compile(rf"^at://({DID})/app\.bsky\.feed\.post/([A-Za-z0-9._~:-]{{1,512}})$")
DID_FORM = re.compile(rf"^{DID}$")
CID = re.compile(r"^b[a-z2-7]{8,120}$")
HANDLE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
ERROR_NAME = re.compile(r"^[A-Za-z]{1,64}$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_SEEN = 1000  # uris remembered for the overlap window; the oldest are forgotten first
PROFILES_PER_CALL = 25  # app.bsky.actor.getProfiles: "actors" maxLength 25
LOOPBACK = ("127.0.0.1", "localhost", "::1")

log = logging.getLogger(__name__)


class BlueskyOptions(SourceOptions):
    base_url: str = "https://bsky.social"  # the PDS/entryway: the public AppView refuses search
    handle_parameter: str | None = None
    app_password_parameter: str | None = None
    first_run_lookback_hours: int = 24
    overlap_seconds: int = 60
    limit: int = 100
    # auto: per-term search below ``firehose_from_terms`` terms, the Jetstream firehose from there;
    # search / firehose: always that one.
    mode: Literal["auto", "search", "firehose"] = "auto"
    firehose_from_terms: int = Field(default=FIREHOSE_FROM_TERMS, ge=2)
    # The Jetstream /subscribe URL (ws:// or wss://). None: the public instance, or, for a base_url
    # on this machine (the offline replay server), the same server's /subscribe.
    jetstream_url: str | None = None
    firehose_overlap_seconds: float = Field(default=1.0, ge=0, le=60)
    firehose_first_run_minutes: int = Field(default=10, ge=1, le=24 * 60)
    firehose_idle_seconds: float = Field(default=3.0, gt=0, le=30)  # no event this long: the live tip
    firehose_max_mib: float = Field(default=64.0, gt=0)  # the most a cycle reads

    @field_validator("jetstream_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        if value is not None and (urlsplit(value).scheme not in ("ws", "wss") or not urlsplit(value).netloc):
            raise ValueError("must be a ws:// or wss:// URL of a Jetstream /subscribe endpoint, "
                             "e.g. wss://jetstream2.us-east.bsky.network/subscribe")
        return value


class Bluesky(SourceBase):
    options: BlueskyOptions
    spec = SPEC
    capabilities: ClassVar[Capabilities] = Capabilities(server_search=True, replies=True)
    options_model: ClassVar[type[SourceOptions]] = BlueskyOptions

    def _start(self) -> None:
        self._session: dict[str, str] | None = None
        self._blocked_until = 0.0  # ratelimit-remaining hit 0: no request before ratelimit-reset
        self._skips = SkipLedger(self.name, _post_uri)  # posts of this fetch that could not be read

    def fetch(self, query: str, cursor: Cursor | None, budget: Budget) -> FetchResult:
        """Posts matching ``query`` whose sortAt is new since ``cursor``, newest first."""
        if firehose_chosen(dict(self.options), 1):
            return self._firehose([query], {query: cursor}, budget)[query]
        now = self._clock()
        if cursor is not None and "time_us" in cursor:  # the firehose read up to there
            start = float(cursor["time_us"]) / 1_000_000 - self.options.overlap_seconds
            seen_us = cursor.get("seen") if isinstance(cursor.get("seen"), dict) else {}
            cursor = {"since": _iso(min(start, now)), "seen": {uri: at / 1_000_000 for uri, at in seen_us.items()}}
        if cursor is None:
            start = now - self.options.first_run_lookback_hours * 3600
            cursor = {"since": _iso(start), "seen": {}}
        elif _seconds(cursor["since"]) > now:
            cursor = {**cursor, "since": _iso(now)}  # a watermark in the future would hide every new post
        seen: dict[str, float] = dict(cursor.get("seen", {}))
        gap = cursor.get("gap")
        since, until = (gap["since"], gap["until"]) if gap else (cursor["since"], None)
        skip = set(seen) | set(gap.get("seen", []) if gap else [])
        self._skips = SkipLedger(self.name, _post_uri)
        posts, pages, complete = self._walk(query, since, until, skip, budget)
        # An unreadable post is counted once: its uri is remembered like a read one's.
        skipped = self._skips.reasons(lambda uri, _: uri not in skip)
        unread = {uri: now for uri in self._skips.unreadable if uri not in skip}

        next_cursor: Cursor = {"since": cursor["since"], "seen": seen}
        if gap is None and (posts or unread):
            # A post dated in the future is returned with its date but moves the watermark to now at most.
            newest = min(max((p["sortAt"] for p in posts), default=0.0), now)
            watermark = max(newest, _seconds(cursor["since"]) + self.options.overlap_seconds)
            next_since = watermark - self.options.overlap_seconds
            recent = {**seen, **unread, **{p["uri"]: p["sortAt"] for p in posts}}
            kept = sorted(((at, uri) for uri, at in recent.items() if at >= next_since), reverse=True)[:MAX_SEEN]
            next_cursor = {"since": _iso(next_since), "seen": {uri: at for at, uri in kept}}
        if not complete and posts:
            oldest = min(p["sortAt"] for p in posts)
            # until is exclusive: posts at ``oldest`` are read again and dropped by uri, as are
            # the ones the cycles before returned from the same range.
            earlier = set(gap["seen"]) if gap else set(seen)
            next_cursor["gap"] = {
                "since": since,
                "until": _iso(oldest + 0.001),
                "seen": sorted(earlier | {p["uri"] for p in posts if p["sortAt"] == oldest})[:MAX_SEEN],
            }
        elif not complete and gap:
            next_cursor["gap"] = gap
        return FetchResult([p["mention"] for p in posts], next_cursor, pages, complete, skipped)

    def fetch_many(self, queries: Sequence[str], cursors: Mapping[str, Cursor | None],
                   budget: Budget) -> dict[str, FetchResult]:
        """Each term's new posts: one search a term while terms are few, else one read of the firehose."""
        if firehose_chosen(dict(self.options), len(queries)):
            return self._firehose(queries, cursors, budget)
        return {query: self.fetch(query, cursors.get(query), budget) for query in queries}

    # --- firehose -----------------------------------------------------------------------

    def _firehose(self, queries: Sequence[str], cursors: Mapping[str, Cursor | None],
                  budget: Budget) -> dict[str, FetchResult]:
        now = self._clock()
        first_run = now - self.options.firehose_first_run_minutes * 60
        start = min([first_run if c is None else _floor_seconds(c) for c in (cursors.get(q) for q in queries)])
        seen: dict[str, int] = {}
        for cursor in cursors.values():
            if cursor is not None and isinstance(cursor.get("seen"), dict) and "time_us" in cursor:
                seen.update(cursor["seen"])
        missed: list[str] = []
        window_start = now - REPLAY_WINDOW_SECONDS + 60  # a minute's margin for the connection to open
        if start < window_start:
            missed.append(f"Jetstream replays the last 36 hours only: posts from {_iso(start)} to "
                          f"{_iso(window_start)} ({(window_start - start) / 3600:.1f} hours) may have been missed")
            start = window_start
        start_us = int(start * 1_000_000)
        read = read_stream(self.name, self._jetstream_url(), max(0, start_us - int(
            self.options.firehose_overlap_seconds * 1_000_000)), int(now * 1_000_000), budget,
            idle_seconds=self.options.firehose_idle_seconds, max_bytes=int(self.options.firehose_max_mib * 2**20),
            open_timeout=min(self.options.timeout_seconds, max(0.1, budget.remaining())))
        if read.note:
            log.warning("bluesky: %s", read.note)
        fresh = {p["uri"]: p for p in read.posts if p["uri"] not in seen}
        lowered = [query.lower().split() for query in queries]
        texts = {uri: p["record"]["text"].lower() for uri, p in fresh.items()}  # once a post, not once a word
        matched = [p for uri, p in fresh.items()
                   if any(words and all(w in texts[uri] for w in words) for words in lowered)]
        profiles = self._profiles(sorted({p["did"] for p in matched}), budget)
        self._skips = SkipLedger(self.name, _post_uri)
        views = [(i, _post_view(p, profiles.get(p["did"]))) for i, p in enumerate(matched)]
        posts = self._skips.read(views, lambda entry: self._check_post(entry[1], f"firehose post {entry[1]['uri']}"))
        mentions = [self._mention(post) for post in posts]
        last_us = read.last_time_us if read.last_time_us is not None else start_us
        overlap_us = int(self.options.firehose_overlap_seconds * 1_000_000)
        # Only the posts handed back need remembering: an unmatched one read again is unmatched again
        # (every term's cursor holds this, so it stays a few uris, not the overlap's ~25 posts a second).
        recent = {**seen, **{p["uri"]: p["time_us"] for p in matched}}
        kept = sorted(((at, uri) for uri, at in recent.items() if at >= last_us - overlap_us), reverse=True)
        cursor: Cursor = {"time_us": last_us, "seen": {uri: at for at, uri in kept[:MAX_SEEN]}}
        result = FetchResult(mentions, cursor, 1, read.complete, missed + read.skipped + self._skips.reasons())
        return attribute(result, list(queries))

    def _jetstream_url(self) -> str:
        if self.options.jetstream_url:
            return self.options.jetstream_url
        base = urlsplit(self.options.base_url)
        if base.hostname in LOOPBACK:  # the offline replay server serves its Jetstream beside the PDS
            scheme = "wss" if base.scheme == "https" else "ws"
            return f"{scheme}://{base.netloc}{base.path.rstrip('/')}/subscribe"
        return PUBLIC_INSTANCE

    def _profiles(self, dids: Sequence[str], budget: Budget) -> dict[str, dict[str, Any]]:
        """Each DID's profile (handle, display name), 25 a call; a DID the AppView does not
        know (a deleted account) is left out."""
        found: dict[str, dict[str, Any]] = {}
        for at in range(0, len(dids), PROFILES_PER_CALL):
            chunk = list(dids[at : at + PROFILES_PER_CALL])
            body = self._xrpc_get("app.bsky.actor.getProfiles", {"actors": chunk}, budget)
            profiles = body.get("profiles") if isinstance(body, dict) else None
            if not isinstance(profiles, list):
                raise BadPayload(self.name, "getProfiles: response has no 'profiles' list")
            for profile in profiles:
                if isinstance(profile, dict) and profile.get("did") in chunk:
                    found[profile["did"]] = profile
        return found

    def _walk(
        self, query: str, since: str, until: str | None, skip: set[str], budget: Budget
    ) -> tuple[list[dict[str, Any]], int, bool]:
        posts: dict[str, dict[str, Any]] = {}
        page_cursor: str | None = None
        pages = 0
        while pages < self.options.max_pages and not budget.exhausted():
            params: dict[str, Any] = {"q": query, "sort": "latest", "since": since, "limit": self.options.limit}
            if until:
                params["until"] = until
            if page_cursor:
                params["cursor"] = page_cursor
            body = self._xrpc_get("app.bsky.feed.searchPosts", params, budget)
            page, page_cursor, listed = self._parse_page(body)
            pages += 1
            for post in page:
                if post["uri"] not in skip:
                    posts.setdefault(post["uri"], post)
            if not listed or not page_cursor:
                return list(posts.values()), pages, True
        return list(posts.values()), pages, False

    # --- session ------------------------------------------------------------------------

    def _xrpc_get(self, method: str, params: dict[str, Any], budget: Budget) -> Any:
        """GET an XRPC method with the session; an expired token is refreshed (or, if that
        fails, the session created again) and the call retried once."""
        session = self._current_session(budget)
        resp = self._send("GET", method, budget, params=params, bearer=session["accessJwt"])
        if _token_expired(resp):
            session = self._refresh_session(session, budget) or self._create_session(budget)
            resp = self._send("GET", method, budget, params=params, bearer=session["accessJwt"])
            if _token_expired(resp):
                raise CredentialsError(self.name, f"session rejected (HTTP {resp.status_code}) right after login")
        if resp.status_code >= 400:
            raise SourceError(self.name, f"request refused (HTTP {resp.status_code} {self._error_name(resp)})")
        return decode_json(self.name, resp)

    def _current_session(self, budget: Budget) -> dict[str, str]:
        if self._session is None and self._state is not None:
            stored = self._state.get_state(self.name, "session")
            if isinstance(stored, dict) and all(isinstance(stored.get(k), str) for k in ("accessJwt", "refreshJwt")):
                self._session = {k: str(v) for k, v in stored.items() if isinstance(v, str)}
        return self._session or self._create_session(budget)

    def _create_session(self, budget: Budget) -> dict[str, str]:
        handle = require_secret(self.name, self._secrets, self.options.handle_parameter, "handle")
        password = require_secret(self.name, self._secrets, self.options.app_password_parameter, "app password")
        resp = self._send("POST", "com.atproto.server.createSession", budget,
                          json_body={"identifier": handle, "password": password})
        if resp.status_code == 401:
            raise CredentialsError(self.name, "app password rejected (HTTP 401)")
        if resp.status_code >= 400:
            raise CredentialsError(self.name, f"login refused (HTTP {resp.status_code} {self._error_name(resp)})")
        return self._keep_session(decode_json(self.name, resp), "createSession")

    def _refresh_session(self, session: dict[str, str], budget: Budget) -> dict[str, str] | None:
        resp = self._send("POST", "com.atproto.server.refreshSession", budget, bearer=session["refreshJwt"])
        if resp.status_code in (400, 401):
            return None  # refresh token expired or revoked: log in again
        if resp.status_code >= 400:
            raise SourceError(self.name, f"session refresh refused (HTTP {resp.status_code})")
        return self._keep_session(decode_json(self.name, resp), "refreshSession")

    def _keep_session(self, body: Any, where: str) -> dict[str, str]:
        if not isinstance(body, dict):
            raise BadPayload(self.name, f"{where}: response is not an object")
        for key in ("accessJwt", "refreshJwt", "did", "handle"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise BadPayload(self.name, f"{where}: '{key}' is missing")
        self._session = {k: body[k] for k in ("accessJwt", "refreshJwt", "did", "handle")}
        if self._state is not None:
            self._state.put_state(self.name, "session", dict(self._session))
        return self._session

    # --- HTTP ---------------------------------------------------------------------------

    def _send(self, method: str, xrpc: str, budget: Budget, *, bearer: str | None = None,
              params: dict[str, Any] | None = None, json_body: Any = None) -> requests.Response:
        now = self._clock()
        if now < self._blocked_until:
            wait = self._blocked_until - now
            raise RateLimited(self.name, f"rate limit reached, resets in {wait:g} s", retry_after=wait)
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        resp = self.http.request(method, f"{self.options.base_url}/xrpc/{xrpc}", budget=budget, params=params,
                                 headers=headers, json_body=json_body, accept=(400, 401, 429))
        reset = _number(resp.headers.get("ratelimit-reset"))
        remaining = _number(resp.headers.get("ratelimit-remaining"))
        if resp.status_code == 429:
            retry_after = _number(resp.headers.get("Retry-After"))
            if retry_after is None and reset is not None:
                retry_after = max(0.0, reset - now)
            wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
            raise RateLimited(self.name, f"rate limited (HTTP 429{wait})", retry_after)
        if remaining is not None and remaining < 1 and reset is not None:
            self._blocked_until = max(reset, now)
        return resp

    def _error_name(self, resp: requests.Response) -> str:
        try:
            error = decode_json(self.name, resp).get("error")
        except (SourceError, AttributeError):
            return "with no error name"
        return error if isinstance(error, str) and ERROR_NAME.match(error) else "with no error name"

    # --- payload ------------------------------------------------------------------------

    def _parse_page(self, body: Any) -> tuple[list[dict[str, Any]], str | None, int]:
        """The posts of a page that could be read (each with its ``mention``), the page
        cursor and how many posts it listed; the others are noted in ``self._skips``."""
        if not isinstance(body, dict) or not isinstance(body.get("posts"), list):
            raise BadPayload(self.name, "searchPosts: response has no 'posts' list")
        cursor = body.get("cursor")
        if cursor is not None and not isinstance(cursor, str):
            raise BadPayload(self.name, "searchPosts: 'cursor' is not a string")

        def read(entry: tuple[int, Any]) -> dict[str, Any]:
            post = self._check_post(entry[1], f"posts[{entry[0]}]")
            post["mention"] = self._mention(post)
            return post

        posts = self._skips.read(enumerate(body["posts"]), read)
        return posts, cursor or None, len(body["posts"])

    def _check_post(self, post: Any, where: str) -> dict[str, Any]:
        if not isinstance(post, dict):
            raise BadPayload(self.name, f"{where} is not an object")
        uri_match = POST_URI.match(post["uri"]) if isinstance(post.get("uri"), str) else None
        if not uri_match or uri_match.group(2) in (".", ".."):
            raise BadPayload(self.name, f"{where}.uri is not an app.bsky.feed.post at:// uri")
        if not isinstance(post.get("cid"), str) or not CID.match(post["cid"]):
            raise BadPayload(self.name, f"{where}.cid is not a CID")
        author = post.get("author")
        if not isinstance(author, dict) or not isinstance(author.get("did"), str) or not DID_FORM.match(author["did"]):
            raise BadPayload(self.name, f"{where}.author.did is not a DID")
        if not isinstance(author.get("handle"), str):
            raise BadPayload(self.name, f"{where}.author.handle is missing")
        if author.get("displayName") is not None and not isinstance(author["displayName"], str):
            raise BadPayload(self.name, f"{where}.author.displayName is not a string")
        record = post.get("record")
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise BadPayload(self.name, f"{where}.record.text is missing")
        indexed = zoned_time(post.get("indexedAt"))
        if indexed is None:
            raise BadPayload(self.name, f"{where}.indexedAt is not an ISO 8601 time")
        created = zoned_time(record.get("createdAt"))
        # sortAt as the AppView computes it: a record cannot claim a time after it was indexed.
        sort_at = min(created, indexed) if created else indexed
        langs = record.get("langs", [])
        if not isinstance(langs, list) or not all(isinstance(lang, str) for lang in langs):
            raise BadPayload(self.name, f"{where}.record.langs is not a list of strings")
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) if isinstance(reply, dict) else None
                if not (isinstance(ref, dict) and isinstance(ref.get("uri"), str) and POST_URI.match(ref["uri"])
                        and isinstance(ref.get("cid"), str) and CID.match(ref["cid"])):
                    raise BadPayload(self.name, f"{where}.record.reply.{part} is not a {{uri, cid}} reference")
        for count in ("replyCount", "repostCount", "likeCount"):
            value = post.get(count)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise BadPayload(self.name, f"{where}.{count} is not a number")
        return {**post, "rkey": uri_match.group(2), "sortAt": sort_at.timestamp(), "createdAt": sort_at}

    def _mention(self, post: dict[str, Any]) -> Mention:
        author, record = post["author"], post["record"]
        handle = author["handle"] if HANDLE.match(author["handle"]) and author["handle"] != "handle.invalid" else ""
        profile = APP_URL + quote(handle or author["did"], safe="")
        reply = record.get("reply")
        root = reply["root"] if reply else {"uri": post["uri"], "cid": post["cid"]}
        parent = reply["parent"] if reply else {"uri": post["uri"], "cid": post["cid"]}
        links, tags = _facet_links_and_tags(record)
        langs = record.get("langs") or []
        return Mention(
            network=self.name,
            native_id=post["uri"],
            url=f"{profile}/post/{quote(post['rkey'], safe='')}",
            text=record["text"].strip(),  # plain text already: no HTML to strip or decode
            created_at=post["createdAt"],
            kind="comment" if reply else "post",
            author_handle=handle or author["did"],
            author_name=author.get("displayName") or handle,  # never the DID: the reply greets by it
            author_url=profile,
            reach=post.get("likeCount"),
            lang=langs[0] if langs else None,
            links=links,
            tags=tags,
            thread={"uri": post["uri"], "cid": post["cid"], "root_uri": root["uri"], "root_cid": root["cid"],
                    "parent_uri": parent["uri"], "parent_cid": parent["cid"]},
        )


def _facet_links_and_tags(record: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Link URIs and hashtags from the record's rich-text facets (and its ``tags``)."""
    links: list[str] = []
    tags: list[str] = [t for t in record.get("tags", []) if isinstance(t, str)] if isinstance(
        record.get("tags"), list) else []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else []:
            if not isinstance(feature, dict):
                continue
            kind = feature.get("$type")
            if kind == "app.bsky.richtext.facet#link" and isinstance(feature.get("uri"), str) and \
                    feature["uri"].startswith(("https://", "http://")):
                links.append(feature["uri"])
            elif kind == "app.bsky.richtext.facet#tag" and isinstance(feature.get("tag"), str):
                tags.append(feature["tag"])
    return tuple(dict.fromkeys(links)), tuple(dict.fromkeys(tags))


def _token_expired(resp: requests.Response) -> bool:
    if resp.status_code == 401:
        return True
    if resp.status_code != 400:
        return False
    try:
        body = resp.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") == "ExpiredToken"


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _iso(unix: float) -> str:
    """Unix seconds as the ISO time Bluesky uses, rounded (not truncated) to the millisecond."""
    when = EPOCH + dt.timedelta(milliseconds=round(unix * 1000))
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def _floor_seconds(cursor: Cursor) -> float:
    """The time below which ``cursor`` (either mode's) has read everything, its gap included."""
    if "time_us" in cursor:
        return float(cursor["time_us"]) / 1_000_000
    gap = cursor.get("gap")
    return _seconds(gap["since"] if gap else cursor["since"])


def _post_view(post: dict[str, Any], profile: dict[str, Any] | None) -> dict[str, Any]:
    """A firehose post as the postView searchPosts would give (no counts: the firehose has none),
    its author from ``profile`` (a DID without a profile keeps the DID as its handle)."""
    author = {"did": post["did"], "handle": "handle.invalid"}
    if profile is not None:
        if isinstance(profile.get("handle"), str):
            author["handle"] = profile["handle"]
        if isinstance(profile.get("displayName"), str):
            author["displayName"] = profile["displayName"]
    return {"uri": post["uri"], "cid": post["cid"], "author": author, "record": post["record"],
            "indexedAt": _iso(post["time_us"] / 1_000_000)}


def _post_uri(entry: Any) -> tuple[str | None, float | None]:
    """The at:// uri of a ``(index, post)`` entry where it can be read (the time is not needed)."""
    post = entry[1]
    uri = post.get("uri") if isinstance(post, dict) else None
    good = isinstance(uri, str) and (match := POST_URI.match(uri)) is not None and match.group(2) not in (".", "..")
    return (uri, 0.0) if good else (None, None)

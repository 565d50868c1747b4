"""A Bluesky PDS (entryway) over a corpus of ``app.bsky.feed.defs#postView`` objects.

Implements what the connector relies on: ``com.atproto.server.createSession`` (JSON
identifier + app password; 401 ``AuthenticationRequired`` when wrong; limited to 30 per
5 min), ``com.atproto.server.refreshSession`` (refreshJwt as Bearer; rotates both
tokens; 400 ``ExpiredToken`` when the refresh token is no longer valid), and
``app.bsky.feed.searchPosts`` with a Bearer accessJwt (400 ``ExpiredToken`` once expired,
401 otherwise): ``q`` words ANDed over the text, ``sort=latest`` (sortAt, newest first),
``since`` (inclusive) and ``until`` (exclusive) on sortAt, ``limit`` (1-100) and an opaque
``cursor``; with the IETF ``ratelimit-*`` headers (3000 / 5 min per IP).

Replies: ``com.atproto.repo.createRecord`` (Bearer accessJwt; an ``app.bsky.feed.post`` in
the account's own repo, checked as the lexicon says: text at most 300 graphemes and 3000
bytes, ``createdAt``, ``reply.root``/``reply.parent`` as {uri, cid}, facet byte ranges
inside the text) answers ``{uri, cid, commit, validationStatus}`` and keeps the record in
``posted``; ``com.atproto.identity.resolveHandle`` knows the account and every corpus author.

Profiles: ``app.bsky.actor.getProfiles`` (Bearer accessJwt; ``actors`` repeated, 1-25 DIDs or
handles) answers ``{"profiles": [profileViewDetailed]}`` for the corpus authors it knows (an
unknown actor is left out, as the AppView leaves out a deleted account).

Jetstream: a WebSocket at ``/subscribe`` (mounted by ``offline/replay/websocket.py``) replays the
corpus as the firehose Jetstream serves (bluesky-social/jetstream @ 9a30defd, docs/README.md §5.1,
internal/subscribe/testdata/golden_v1.jsonl): each post a commit event ``{"did", "time_us",
"kind": "commit", "commit": {"rev", "operation": "create", "collection":
"app.bsky.feed.post", "rkey", "record", "cid"}}`` at its ``indexedAt``, plus the raw frames a test
adds to ``jetstream_frames``; ``cursor`` (unix microseconds) replays from that time, clamped to
the 36-hour window without a word, as v1 does; no cursor is the live tip; ``wantedCollections``
filters commits (identity and account events pass); ``maxMessageSizeBytes`` leaves out larger
events (0 or none: no cap). Events later than ``clock()`` have not
happened yet. After the replay the connection stays open (the live tip) until the client closes;
``abort_after`` drops the TCP connection after that many frames. ``stream_bytes`` counts what
went on the wire (permessage-deflate when the client offers it).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import time
from typing import Any

from chalicelib.replies import grapheme_count
from offline.replay.server import Request, Response
from offline.replay.websocket import StreamPlan

_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_HEADERS = {"Vary": "Accept-Encoding", "Access-Control-Allow-Origin": "*"}


def _iso(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, tz=dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sort_at(post: dict[str, Any]) -> float:
    indexed = dt.datetime.fromisoformat(post["indexedAt"]).timestamp()
    try:
        created = dt.datetime.fromisoformat(post["record"]["createdAt"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return indexed
    return min(created, indexed)


def _jwt(kind: str, did: str) -> str:
    """An opaque token shaped like the JWTs the PDS issues (the content is not checked)."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = part({"typ": "at+jwt" if kind == "access" else "refresh+jwt", "alg": "ES256K"})
    body = part({"scope": f"com.atproto.{kind}", "sub": did, "iat": int(time.time()), "jti": secrets.token_hex(8)})
    return f"{head}.{body}.{secrets.token_urlsafe(32)}"


class BlueskyAPI:
    """One PDS with one account (handle + app password)."""

    def __init__(self, handle: str = "beanthere.bsky.social", app_password: str = "abcd-efgh-ijkl-mnop",  # noqa: S107
                 did: str = "did:plc:beantherecafe7x2kq3m4w5v", create_session_limit: int = 30) -> None:
        self.account_handle = handle
        self.app_password = app_password
        self.did = did
        self.create_session_limit = create_session_limit
        self.access_tokens: set[str] = set()
        self.expired_access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.sessions_created = 0
        self.sessions_refreshed = 0
        self._window_start = time.time()
        self._used = 0
        self.posted: list[dict[str, Any]] = []  # createRecord bodies, in order
        self.clock = time.time  # the Jetstream's "now": later events have not happened yet
        self.jetstream_frames: list[tuple[int, str]] = []  # (time_us, raw frame) beside the corpus's posts
        self.abort_after: int | None = None  # drop the next streams' TCP connection after this many frames
        self.stream_bytes = 0  # bytes of WebSocket frames sent
        self.profile_calls = 0

    def websocket(self, request: Request, items: list[dict[str, Any]]) -> StreamPlan:
        """The frames of one Jetstream ``/subscribe`` connection."""
        if request.path != "/subscribe":
            return StreamPlan(abort_after=0)
        now_us = int(self.clock() * 1_000_000)
        try:
            cursor = int(request.param("cursor") or now_us)
        except ValueError:
            cursor = now_us
        cursor = max(cursor, now_us - JETSTREAM_WINDOW_US)  # v1 clamps an old cursor silently
        wanted = set(request.params("wantedCollections"))
        posts = not wanted or "app.bsky.feed.post" in wanted
        events = [(_time_us(p), post_event(p)) for p in items] if posts else []
        events += [(at, frame) for at, frame in self.jetstream_frames if _wanted(frame, wanted)]
        asked = request.param("maxMessageSizeBytes") or ""
        cap = int(asked) if asked.isdigit() else 0  # v1 takes a malformed cap as none
        frames = [frame for at, frame in sorted(events, key=lambda e: e[0])
                  if cursor <= at <= now_us and not (cap and len(frame.encode()) > cap)]
        return StreamPlan(frames, abort_after=self.abort_after)

    def _get_profiles(self, request: Request, items: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        actors = request.params("actors")
        if not 1 <= len(actors) <= 25:
            return Response.json({"error": "InvalidRequest", "message": "actors must hold 1-25 items"}, 400, headers)
        self.profile_calls += 1
        by_actor: dict[str, dict[str, Any]] = {}
        for post in items:
            by_actor[post["author"]["did"]] = by_actor[post["author"]["handle"]] = post["author"]
        found = {by_actor[actor]["did"]: by_actor[actor] for actor in actors if actor in by_actor}
        profiles = [{"did": a["did"], "handle": a["handle"], "displayName": a.get("displayName", ""),
                     "avatar": a.get("avatar"), "followersCount": 0, "followsCount": 0, "postsCount": 1,
                     "createdAt": a.get("createdAt"), "labels": []} for a in found.values()]
        return Response.json({"profiles": profiles}, headers=headers)

    def expire_access_tokens(self) -> None:
        """Every access token issued so far expires (as after its few minutes of life)."""
        self.expired_access_tokens |= self.access_tokens
        self.access_tokens.clear()

    def expire_refresh_tokens(self) -> None:
        self.refresh_tokens.clear()

    def handle(self, request: Request, items: list[dict[str, Any]]) -> Response:
        headers = self._rate_headers()
        if request.path == "/xrpc/com.atproto.server.createSession" and request.method == "POST":
            return self._create_session(request, headers)
        if request.path == "/xrpc/com.atproto.server.refreshSession" and request.method == "POST":
            return self._refresh_session(request, headers)
        if request.path == "/xrpc/com.atproto.repo.createRecord" and request.method == "POST":
            return self._authorized(request, headers) or self._create_record(request, headers)
        if request.path == "/xrpc/com.atproto.identity.resolveHandle":
            return self._authorized(request, headers) or self._resolve_handle(request, items, headers)
        if request.path == "/xrpc/app.bsky.actor.getProfiles":
            return self._authorized(request, headers) or self._get_profiles(request, items, headers)
        if request.path != "/xrpc/app.bsky.feed.searchPosts":
            return Response.json({"error": "MethodNotImplemented", "message": "Method Not Implemented"}, 501, headers)
        return self._authorized(request, headers) or self._search(request, items, headers)

    def _create_session(self, request: Request, headers: dict[str, str]) -> Response:
        self.sessions_created += 1
        if self.sessions_created > self.create_session_limit:
            reset = int(self._window_start + 300)
            return Response.json({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, {
                **headers, "ratelimit-limit": "30", "ratelimit-remaining": "0", "ratelimit-reset": str(reset),
                "ratelimit-policy": "30;w=300"})
        try:
            body = json.loads(request.body)
        except ValueError:
            return Response.json({"error": "InvalidRequest", "message": "Request body is not JSON"}, 400, headers)
        if body.get("identifier") not in (self.account_handle, self.did) or body.get("password") != self.app_password:
            return Response.json({"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
                                 401, headers)
        return Response.json(self._new_session(), headers=headers)

    def _refresh_session(self, request: Request, headers: dict[str, str]) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.refresh_tokens:
            return Response.json({"error": "ExpiredToken", "message": "Token has expired"}, 400, headers)
        self.refresh_tokens.discard(token)  # refresh tokens rotate: each one is good once
        self.sessions_refreshed += 1
        return Response.json(self._new_session(), headers=headers)

    def _new_session(self) -> dict[str, Any]:
        access, refresh = _jwt("access", self.did), _jwt("refresh", self.did)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {"did": self.did, "handle": self.account_handle, "email": "hello@beanthere.example",
                "emailConfirmed": True, "accessJwt": access, "refreshJwt": refresh, "active": True,
                "didDoc": {"@context": ["https://www.w3.org/ns/did/v1"], "id": self.did,
                           "alsoKnownAs": [f"at://{self.account_handle}"]}}

    def _search(self, request: Request, items: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        try:
            limit = int(request.param("limit", "25") or 25)
            offset = int(request.param("cursor", "0") or 0)
            since = dt.datetime.fromisoformat(request.param("since") or "1970-01-01T00:00:00Z").timestamp()
            until = dt.datetime.fromisoformat(request.param("until") or "9999-01-01T00:00:00Z").timestamp()
        except ValueError:
            return Response.json({"error": "InvalidRequest", "message": "Invalid parameter"}, 400, headers)
        if not 1 <= limit <= 100:
            return Response.json({"error": "InvalidRequest", "message": "limit must be 1-100"}, 400, headers)
        terms = (request.param("q") or "").lower().split()
        matching = [p for p in items if all(t in p["record"]["text"].lower() for t in terms)
                    and since <= _sort_at(p) < until]
        matching.sort(key=_sort_at, reverse=True)
        page = matching[offset : offset + limit]
        payload: dict[str, Any] = {"posts": page, "hitsTotal": len(matching)}
        if offset + limit < len(matching):
            payload["cursor"] = str(offset + limit)
        return Response.json(payload, headers=headers)

    def _rate_headers(self) -> dict[str, str]:
        now = time.time()
        if now - self._window_start >= 300:
            self._window_start, self._used = now, 0
        self._used += 1
        return {**_HEADERS, "ratelimit-limit": "3000", "ratelimit-remaining": str(max(0, 3000 - self._used)),
                "ratelimit-reset": str(int(self._window_start + 300)), "ratelimit-policy": "3000;w=300"}


    def _authorized(self, request: Request, headers: dict[str, str]) -> Response | None:
        """None for a valid access token, else the PDS's refusal."""
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in self.expired_access_tokens:
            return Response.json({"error": "ExpiredToken", "message": "Token has expired"}, 400, headers)
        if token not in self.access_tokens:
            return Response.json({"error": "AuthenticationRequired", "message": "Authentication Required"}, 401,
                                 headers)
        return None

    def _resolve_handle(self, request: Request, items: list[dict[str, Any]], headers: dict[str, str]) -> Response:
        handle = (request.param("handle") or "").lower()
        known = {self.account_handle: self.did, **{p["author"]["handle"]: p["author"]["did"] for p in items}}
        if handle not in known:
            return Response.json({"error": "InvalidRequest", "message": "Unable to resolve handle"}, 400, headers)
        return Response.json({"did": known[handle]}, headers=headers)

    def _create_record(self, request: Request, headers: dict[str, str]) -> Response:
        def invalid(message: str) -> Response:
            return Response.json({"error": "InvalidRequest", "message": message}, 400, headers)

        try:
            body = json.loads(request.body)
        except ValueError:
            return invalid("Request body is not JSON")
        if body.get("repo") not in (self.did, self.account_handle):
            return invalid("Input/repo must be the authenticated account")
        record = body.get("record")
        if body.get("collection") != "app.bsky.feed.post" or not isinstance(record, dict) or \
                record.get("$type") != "app.bsky.feed.post":
            return invalid("Input/record must be an app.bsky.feed.post")
        text = record.get("text")
        if not isinstance(text, str):
            return invalid("Invalid app.bsky.feed.post record: Record must have the property \"text\"")
        if grapheme_count(text) > 300 or len(text.encode()) > 3000:
            return invalid("Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes")
        try:
            dt.datetime.fromisoformat(record["createdAt"])
        except (KeyError, TypeError, ValueError):
            return invalid("Invalid app.bsky.feed.post record: Record/createdAt must be an valid atproto datetime")
        reply = record.get("reply")
        if reply is not None and not all(
                isinstance(reply.get(part), dict) and isinstance(reply[part].get("uri"), str)
                and isinstance(reply[part].get("cid"), str) for part in ("root", "parent")):
            return invalid("Invalid app.bsky.feed.post record: Record/reply must have root and parent refs")
        size = len(text.encode())
        for facet in record.get("facets", []):
            index = facet.get("index", {})
            if not 0 <= index.get("byteStart", -1) < index.get("byteEnd", -1) <= size:
                return invalid("Invalid app.bsky.feed.post record: facet index out of range")
        now = time.time()
        uri = f"at://{self.did}/app.bsky.feed.post/{tid(now, len(self.posted))}"
        self.posted.append(body)
        return Response.json({"uri": uri, "cid": cid_for(uri + text),
                              "commit": {"cid": cid_for("commit" + uri), "rev": tid(now, 1023)},
                              "validationStatus": "valid"}, headers=headers)


JETSTREAM_WINDOW_US = 36 * 3600 * 1_000_000


def _time_us(post: dict[str, Any]) -> int:
    return round(dt.datetime.fromisoformat(post["indexedAt"]).timestamp() * 1_000_000)


def post_event(post: dict[str, Any]) -> str:
    """The Jetstream commit event that created ``post`` (a postView), witnessed at its indexedAt, as
    golden_v1.jsonl's post (the v2 server's ``/subscribe`` adds a ``cursor`` seq, not read here)."""
    did, collection_rkey = post["uri"].removeprefix("at://").split("/", 1)
    rkey = collection_rkey.rsplit("/", 1)[-1]
    at = _time_us(post)
    return json.dumps({"did": did, "time_us": at, "kind": "commit",
                       "commit": {"rev": tid(at / 1_000_000, 1), "operation": "create",
                                  "collection": "app.bsky.feed.post", "rkey": rkey, "record": post["record"],
                                  "cid": post["cid"]}}, ensure_ascii=False)


def _wanted(frame: str, wanted: set[str]) -> bool:
    """Whether a raw frame passes ``wantedCollections`` (non-commits and unreadable frames always do)."""
    try:
        event = json.loads(frame)
        collection = event["commit"]["collection"] if event.get("kind") == "commit" else None
    except (ValueError, TypeError, KeyError, AttributeError):
        return True
    return not wanted or collection is None or collection in wanted


def tid(unix: float, clock_id: int = 0) -> str:
    """A record key (TID) for ``unix``: 53 bits of microseconds and 10 of clock id, base32-sortable."""
    value = (int(unix * 1_000_000) << 10) | (clock_id & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> shift) & 31] for shift in range(60, -1, -5))


def cid_for(text: str) -> str:
    """A CIDv1 (dag-cbor, sha256) looking string, stable for the same input."""
    digest = base64.b32encode(hashlib.sha256(text.encode()).digest()).decode().lower().rstrip("=")
    return "bafyrei" + digest[:52]


def post_view(created_at: float, text: str, *, handle: str = "ana.bsky.social", did: str = "did:plc:ana4lisbon2x",
              display_name: str = "Ana", langs: tuple[str, ...] = ("en",), like_count: int = 0,
              reply_to: dict[str, Any] | None = None, links: tuple[str, ...] = (), tags: tuple[str, ...] = (),
              indexed_delay: float = 1.0, clock_id: int = 0) -> dict[str, Any]:
    """A postView as searchPosts returns it. ``reply_to`` is the postView replied to."""
    rkey = tid(created_at, clock_id)
    uri = f"at://{did}/app.bsky.feed.post/{rkey}"
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso(created_at), "langs": list(langs),
                              "text": text}
    facets = []
    encoded = text.encode()
    for link in links:
        start = encoded.find(link.encode())
        facets.append({"features": [{"$type": "app.bsky.richtext.facet#link", "uri": link}],
                       "index": {"byteStart": max(0, start), "byteEnd": max(0, start) + len(link.encode())}})
    for tag in tags:
        start = encoded.find(f"#{tag}".encode())
        facets.append({"features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag}],
                       "index": {"byteStart": max(0, start), "byteEnd": max(0, start) + len(tag.encode()) + 1}})
    if facets:
        record["facets"] = facets
    if reply_to is not None:
        parent = {"uri": reply_to["uri"], "cid": reply_to["cid"]}
        root = reply_to["record"].get("reply", {}).get("root", parent)
        record["reply"] = {"root": root, "parent": parent}
    return {
        "uri": uri,
        "cid": cid_for(uri + text),
        "author": {"did": did, "handle": handle, "displayName": display_name,
                   "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/{cid_for(did)}@jpeg",
                   "labels": [], "createdAt": "2023-04-12T09:00:00.000Z"},
        "record": record,
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": like_count,
        "quoteCount": 0,
        "indexedAt": _iso(created_at + indexed_delay),
        "labels": [],
    }


def demo_items(now: int, business: dict[str, Any]) -> list[dict[str, Any]]:
    """About six Bluesky posts from the last few minutes around "Bean There Café"."""
    question = post_view(now - 480, "Anyone tried the Beanbag subscription from Bean There Café? Worth it? ☕",
                         handle="rui.bsky.social", did="did:plc:rui7coffee3k", display_name="Rui", like_count=4)
    return [
        question,
        post_view(now - 420, "Yes! Bean There Café's Beanbag subscription is great, new single origin every month",
                  handle="marta.bsky.social", did="did:plc:marta2lx9p", display_name="Marta", reply_to=question,
                  like_count=2),
        post_view(now - 330, "Bean There Café charged me twice for a cold brew and nobody answers the phone. "
                  "Not happy 😤", handle="joao.bsky.social", did="did:plc:joao5bad2q", display_name="João",
                  langs=("en",), like_count=1),
        post_view(now - 240, "Fábrica Coffee's new espresso blend is 🔥 #coffee #lisbon", tags=("coffee", "lisbon"),
                  handle="lisboa-eats.bsky.social", did="did:plc:eats4lx8z", display_name="Lisboa Eats",
                  like_count=12),
        post_view(now - 150, "Bean There Café made the list of Lisbon's best roasteries https://beanthere.example/press",
                  links=("https://beanthere.example/press",), handle="guide.bsky.social", did="did:plc:guide6lx3",
                  display_name="City Guide", like_count=30),
        post_view(now - 60, "Rainy day in Porto, staying in with a book", handle="ines.bsky.social",
                  did="did:plc:ines2porto5", display_name="Inês", langs=("en",)),
    ]


# Bluesky's post rate, as measured by a third party reading the whole firehose: "~2.2 million posts per day",
# "at peak hours, that's 130K+ posts per hour" (Arielle Houlier, 2026-03-24,
# https://dev.to/arielle_houlier_21f42996e/building-real-time-bluesky-analytics-ingesting-22m-postsday-from-the-firehose-ccm).
# Not measured here (no test reaches the internet).
POSTS_PER_DAY = 2_200_000
POSTS_PER_PEAK_HOUR = 130_000
_WORDS = ("the a to and of in is it you that for on my this with be just so at me have but not are was like all "
          "what new today love day good people time one get more now if can about really think know coffee "
          "lisbon art game news music politics photo dog cat weekend work").split()


def real_rate_frames(start_us: int, seconds: float = 60.0, per_day: int = POSTS_PER_DAY,
                     seed: int = 19) -> list[tuple[int, str]]:
    """``seconds`` of Jetstream post events at ``per_day`` posts a day from ``start_us``, each shaped as
    golden_v1.jsonl's post (a third of them replies, English and other languages, 5-50 words): the
    stream a Jetstream connection filtered to posts carries. (time_us, frame) pairs, in time order."""
    import random

    rng = random.Random(seed)
    count = round(per_day * seconds / 86400)
    frames = []
    for n in range(count):
        at = start_us + int(n * seconds * 1_000_000 / count)
        did = f"did:plc:{''.join(rng.choices(_TID_ALPHABET, k=24))}"
        text = " ".join(rng.choices(_WORDS, k=rng.randint(5, 50)))
        record: dict[str, Any] = {"$type": "app.bsky.feed.post", "createdAt": _iso(at / 1_000_000 - 0.5),
                                  "langs": [rng.choice(("en", "en", "ja", "pt", "de"))], "text": text}
        if n % 3 == 0:
            parent = {"cid": cid_for(f"p{n}"), "uri": f"at://{did}/app.bsky.feed.post/{tid(at / 1e6 - 600, n)}"}
            record["reply"] = {"parent": parent, "root": parent}
        rkey = tid(at / 1_000_000, n % 1024)
        frames.append((at, json.dumps({"did": did, "time_us": at, "kind": "commit", "commit": {
            "rev": tid(at / 1_000_000, 1), "operation": "create", "collection": "app.bsky.feed.post", "rkey": rkey,
            "record": record, "cid": cid_for(did + rkey)}}, ensure_ascii=False)))
    return frames


def measure_real_rate_minute(terms: int = 100) -> dict[str, float]:
    """A minute of posts at Bluesky's real rate (``real_rate_frames``) through the emulated Jetstream
    and the connector's firehose read of ``terms`` terms (none matches: no getProfiles call): the
    events, their raw bytes, the bytes on the wire (permessage-deflate) and the reader's CPU seconds
    (the events read, checked and matched in the calling thread, plus inflating the same frames,
    which the client does in its reader thread)."""
    import zlib

    from chalicelib.networks.bluesky.source import Bluesky, BlueskyOptions
    from chalicelib.sources.base import Budget
    from chalicelib.sources.http import HttpClient
    from offline.replay.server import ReplayServer

    now = float(int(time.time()))
    api = BlueskyAPI()
    api.clock = lambda: now
    api.jetstream_frames = frames = real_rate_frames(int((now - 60) * 1_000_000))
    raw = [frame.encode() for _, frame in frames]
    queries = [f"beanthere{n:03d}" for n in range(terms)]
    with ReplayServer({"bluesky": api}) as replay:
        source = Bluesky(BlueskyOptions(base_url=replay.base_url("bluesky"), mode="firehose",
                                        firehose_idle_seconds=0.1), http=HttpClient("bluesky"), clock=lambda: now)
        started = time.thread_time()
        results = source.fetch_many(queries, {q: {"time_us": frames[0][0], "seen": {}} for q in queries},
                                    Budget(deadline=time.monotonic() + 60))
        cpu = time.thread_time() - started
    if any(result.mentions for result in results.values()):
        raise AssertionError("the real-rate stream names no term")
    deflate = zlib.compressobj(wbits=-15)
    compressed = [deflate.compress(frame) + deflate.flush(zlib.Z_SYNC_FLUSH) for frame in raw]
    inflate = zlib.decompressobj(wbits=-15)
    started = time.thread_time()
    for chunk in compressed:
        inflate.decompress(chunk)
    cpu += time.thread_time() - started
    return {"events": len(frames), "raw_bytes": sum(map(len, raw)), "wire_bytes": api.stream_bytes,
            "cpu_seconds": cpu}

"""Bluesky's firehose through Jetstream, read once a cycle by a cron Lambda.

Jetstream (bluesky-social/jetstream @ 9a30defd224e9058814a7d6ce8d9e4fc48d5493c, docs/README.md §5.1
and internal/subscribe/doc.go) serves the firehose as JSON over a WebSocket at ``/subscribe``:
``wantedCollections=app.bsky.feed.post`` keeps the commits of posts (identity and account events
come regardless of the filter), ``cursor`` is a unix-microsecond time to replay from (events with
``time_us`` at or after it), ``maxMessageSizeBytes`` skips larger events, and the replay window
is the last 36 hours: an older cursor is silently clamped to the oldest event kept, so the reader
checks the age itself. Each event is ``{"did", "time_us", "kind": "commit", "commit": {"rev",
"operation", "collection", "rkey", "record", "cid"}}`` (internal/subscribe/testdata/golden_v1.jsonl
holds real ones). Compression: permessage-deflate when the client offers it (the ``websockets``
client does), or zstd with a custom dictionary (not used: it needs the dictionary and a zstd
decoder in the Lambda).

One read: connect at the cursor, take events until one reaches the cycle's start (the stream
caught up), the time budget or the byte budget ends, the server goes quiet (``idle_seconds``
without an event: the live tip of a quiet stream) or the connection closes; then close. The
reader never advances past the last event it processed: a connection closed mid-stream, a
budget reached or a refused connection keeps the rest for the next cycle. A malformed event is
skipped alone, with its reason.

The ``websockets`` client is imported only when a read happens (Lambda cold start).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from chalicelib.sources.base import Budget, Unavailable

POST_COLLECTION = "app.bsky.feed.post"
REPLAY_WINDOW_SECONDS = 36 * 3600  # docs/README.md §5.1: "bounded to the most recent 36 hours by default"
PUBLIC_INSTANCE = "wss://jetstream2.us-east.bsky.network/subscribe"  # jetstream{1,2}.{us-east,us-west}
# One event at most: asked of the server as ``maxMessageSizeBytes`` (it skips a larger event instead of
# sending it: internal/subscribe/filter.go), so a frame the client would refuse never stalls the cursor.
# A post event is a few KB (text at most 3,000 bytes; images and video are blob references).
MAX_FRAME_BYTES = 1 << 20
DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2048}$")
RKEY = re.compile(r"^[A-Za-z0-9._~:-]{1,512}$")
CID = re.compile(r"^b[a-z2-7]{8,120}$")
NOT_POSTS = ("identity", "account")  # delivered whatever the filter says: not malformed, not posts


@dataclass(slots=True)
class StreamRead:
    """What one read of the stream gave."""

    posts: list[dict[str, Any]] = field(default_factory=list)  # checked post creations, in stream order
    last_time_us: int | None = None  # time_us of the last event processed (the next cursor)
    events: int = 0  # events processed (posts, other commits, identity/account, skipped)
    frame_bytes: int = 0  # bytes of the frames received (decompressed)
    skipped: list[str] = field(default_factory=list)  # one reason per malformed event
    stop: str = "caught up"  # caught up | quiet | time budget | byte budget | closed
    note: str = ""  # why it stopped, in words, when it stopped early

    @property
    def complete(self) -> bool:
        """True when the read reached the cycle's start (or the live tip of a quiet stream)."""
        return self.stop in ("caught up", "quiet")


def take(read: StreamRead, frame: str | bytes, stop_us: int) -> bool:
    """Process one frame; True when it is at or after ``stop_us`` (not processed: it is the
    next cycle's)."""
    read.frame_bytes += len(frame)
    where = f"Jetstream event after time_us {read.last_time_us}" if read.last_time_us else "first Jetstream event"
    if isinstance(frame, bytes):
        read.events += 1
        read.skipped.append(f"{where}: a binary frame (zstd compression was not asked for)")
        return False
    try:
        event = json.loads(frame)
    except ValueError:
        read.events += 1
        read.skipped.append(f"{where} is not JSON")
        return False
    time_us = event.get("time_us") if isinstance(event, dict) else None
    if not isinstance(time_us, int) or isinstance(time_us, bool) or time_us <= 0:
        read.events += 1
        read.skipped.append(f"{where} has no time_us")
        return False
    if time_us >= stop_us:
        return True
    read.events += 1
    read.last_time_us = max(time_us, read.last_time_us or 0)
    problem, post = check_event(event)
    if problem:
        read.skipped.append(f"Jetstream event at time_us {time_us}: {problem}")
    elif post is not None:
        read.posts.append(post)
    return False


def check_event(event: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """(reason it is malformed, None) or (None, the post it creates, or None when it is no post)."""
    kind = event.get("kind")
    if kind in NOT_POSTS:
        return None, None
    if kind != "commit":
        return f"unknown kind {str(kind)[:40]!r}", None
    commit = event.get("commit")
    if not isinstance(commit, dict):
        return "commit is not an object", None
    if commit.get("collection") != POST_COLLECTION or commit.get("operation") != "create":
        return None, None  # a delete, or another collection: nothing to alert
    did, rkey, cid, record = event.get("did"), commit.get("rkey"), commit.get("cid"), commit.get("record")
    if not isinstance(did, str) or not DID.match(did):
        return "did is not a DID", None
    if not isinstance(rkey, str) or not RKEY.match(rkey) or rkey in (".", ".."):
        return "commit.rkey is not a record key", None
    if not isinstance(cid, str) or not CID.match(cid):
        return "commit.cid is not a CID", None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return "commit.record.text is missing", None
    return None, {"uri": f"at://{did}/{POST_COLLECTION}/{rkey}", "did": did, "rkey": rkey, "cid": cid,
                  "record": record, "time_us": event["time_us"]}


def subscribe_url(base: str, cursor_us: int) -> str:
    """The ``/subscribe`` URL with the post filter and the cursor (both built here, never from a payload)."""
    query = {"wantedCollections": POST_COLLECTION, "cursor": str(cursor_us),
             "maxMessageSizeBytes": str(MAX_FRAME_BYTES)}
    return f"{base}?{urlencode(query)}"


def read_stream(network: str, base: str, cursor_us: int, stop_us: int, budget: Budget, *,
                idle_seconds: float, max_bytes: int, open_timeout: float,
                connect: Callable[..., Any] | None = None) -> StreamRead:
    """Read ``base`` (a ``/subscribe`` URL) from ``cursor_us`` until ``stop_us``; raises
    ``Unavailable`` when no connection could be opened (nothing read, the cursor stays)."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.sync.client import connect as ws_connect

    host = urlsplit(base).netloc or base
    try:
        ws = (connect or ws_connect)(subscribe_url(base, cursor_us), open_timeout=open_timeout, close_timeout=1.0,
                                     max_size=MAX_FRAME_BYTES, compression="deflate", proxy=None)
    except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as err:
        raise Unavailable(network, f"Jetstream at {host} could not be reached ({_words(err)}); nothing was "
                          "read and the next cycle starts from the same cursor") from None
    read = StreamRead()
    try:
        while True:
            if budget.exhausted():
                read.stop, read.note = "time budget", "the cycle's time budget ended mid-stream"
                break
            if read.frame_bytes >= max_bytes:
                read.stop, read.note = "byte budget", f"{max_bytes} bytes read, the most a cycle reads"
                break
            try:
                frame = ws.recv(timeout=max(0.0, min(idle_seconds, budget.remaining())))
            except TimeoutError:
                if budget.exhausted():
                    read.stop, read.note = "time budget", "the cycle's time budget ended mid-stream"
                else:
                    read.stop = "quiet"
                break
            except ConnectionClosed as err:
                read.stop = "closed"
                read.note = (f"Jetstream closed the connection ({_words(err)}) after time_us {read.last_time_us}; "
                             "the next cycle goes on from there")
                break
            if take(read, frame, stop_us):
                break
    finally:
        ws.close()
    return read


def _words(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text[:120]

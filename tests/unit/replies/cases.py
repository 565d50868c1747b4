"""What the replier contract suite (test_every_replier.py) needs to know about each network
with a write API, in one place: a replier against the emulator, a mention it can answer, what
to seed first (the item replied to, a session an earlier cycle left), and the path of the
write request. The builders themselves stay in each network's test module."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.model import Mention
from chalicelib.replies import Replier
from offline.replay.server import ReplayServer
from tests.conftest import MemoryState
from tests.unit.replies import test_bluesky as bluesky
from tests.unit.replies import test_facebook as facebook
from tests.unit.replies import test_github as github
from tests.unit.replies import test_instagram as instagram
from tests.unit.replies import test_mastodon as mastodon
from tests.unit.replies import test_reddit as reddit
from tests.unit.replies import test_stackexchange as stackexchange
from tests.unit.replies import test_youtube as youtube


@dataclass(frozen=True)
class ReplierCase:
    network: str
    replier: Callable[[ReplayServer, MemoryState], Replier]
    mention: Callable[[ReplayServer], Mention]
    seed: Callable[[ReplayServer, MemoryState], object]
    write_path: str  # the path (below the network's prefix) a reply is posted to starts with this
    before_write: int = 0  # requests the emulator answers before the write (a token that is not cached)
    deduplicates: bool = False  # the network drops a second post with the same key itself (resent after a timeout)


REPLIER_CASES: dict[str, ReplierCase] = {case.network: case for case in [
    ReplierCase("github", github.replier, lambda srv: github.mention(),
                lambda srv, state: srv.add_items("github", [github.ISSUE]), "/repos/"),
    ReplierCase("reddit", reddit.replier, lambda srv: reddit.mention_of(reddit.QUESTION),
                lambda srv, state: (reddit.logged_in(srv, state), srv.add_items("reddit", [reddit.QUESTION])),
                "/api/comment"),
    ReplierCase("bluesky", bluesky.replier, lambda srv: bluesky.mention_of(bluesky.QUESTION), bluesky.logged_in,
                "/xrpc/com.atproto.repo.createRecord"),
    ReplierCase("mastodon", mastodon.replier, mastodon.local_mention, lambda srv, state: mastodon.seed_local(srv),
                "/mastodon.social/api/v1/statuses", deduplicates=True),
    ReplierCase("stackexchange", stackexchange.replier, lambda srv: stackexchange.mention(),
                lambda srv, state: srv.add_items("stackexchange", [stackexchange.QUESTION]), "/posts/"),
    ReplierCase("youtube", youtube.replier, lambda srv: youtube.mention(),
                lambda srv, state: (youtube.forget_access_tokens(), srv.add_items("youtube", [youtube.VIDEO])),
                "/youtube/v3/", before_write=1),
    ReplierCase("instagram", instagram.replier, lambda srv: instagram.comment_mention(),
                lambda srv, state: srv.add_items("instagram", [instagram.MEDIA]), "/v21.0/"),
    ReplierCase("facebook", facebook.replier, lambda srv: facebook.comment_mention(),
                lambda srv, state: srv.add_items("facebook", [facebook.POST]), "/v21.0/"),
]}

"""What a network is, said once in its folder: ``chalicelib/networks/<name>/__init__.py`` holds
its ``SPEC``, and everything that differs per network asks it (the label, the unit of reach,
the network's own sites, the thread root of a mention, the reply limit, the published request
limits, the credentials, the manual-reply link).

This module imports nothing heavy: a spec is read without importing its connector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from chalicelib.model import Mention, RuleMatch

FOLLOWERS = ("follower", "followers")
DAY = 86400.0  # seconds, for limits published per day


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``requests`` requests per ``seconds``, as ``doc`` publishes it."""

    requests: float
    seconds: float
    doc: str


@dataclass(frozen=True, slots=True)
class Credential:
    """A listen.yaml option of the network that names an SSM parameter holding a secret."""

    option: str  # e.g. "token_parameter"
    what: str  # said to the owner: "personal access token"
    required: bool = False  # True: the network cannot be read without it
    for_replies: bool = False  # True: only posting replies needs it


@dataclass(frozen=True, slots=True)
class OAuthConnect:
    """How ``make connect NETWORK=<name>`` (infra/connect.py) gets the owner's consent on the owner's
    machine and what it keeps: ``token_option`` names the credential option whose SSM SecureString
    receives the long-lived credential (Google: the refresh token; Meta: the Page access token);
    the OAuth client's id and secret are read from (or asked for and written to) the parameters the
    two ``client_*_option`` options name."""

    provider: Literal["google", "meta"]
    scopes: tuple[str, ...]
    token_option: str
    client_id_option: str
    client_secret_option: str
    docs: str  # the provider's page for this consent


# (options, terms, searches) -> requests one poll of every term makes, where ``searches`` is how
# many search queries the terms take (combined as ``query_separator`` says)
RequestCount = Callable[[Mapping[str, Any], Sequence[str], int], int]


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """One network, as the rest of the service knows it.

    ``source``, ``replier`` and ``emulator`` are "module:Class" strings, imported only when asked
    for (``chalicelib.networks.source_class``/``replier_class``/``emulator_class``).
    """

    name: str  # the registry key and listen.yaml's ``networks.<name>``
    label: str  # as people know it: "Hacker News"
    source: str  # "chalicelib.networks.<name>.source:Class"
    replier: str | None = None  # None: no write API; ``manual_reply`` gives the link to reply by hand
    emulator: str = ""  # "<package>.emulator:Class": its API on the offline replay server (never deployed)
    reach_unit: tuple[str, str] = FOLLOWERS  # what Mention.reach counts: (one, many)
    # Hosts (and their subdomains) of the network's own site: links there are the network talking
    # about itself. None: the host of the mention's own URL (instances, per-site networks).
    sites: tuple[str, ...] | None = None
    # The thread entries that name a conversation's root, joined by "#" ("repo", "number" ->
    # "a/b#4"); empty, or one missing: the item is its own root.
    thread_keys: tuple[str, ...] = ()
    reply_limit: int | None = None  # the most a reply may hold, in ``reply_unit``
    reply_unit: Literal["characters", "graphemes", "bytes"] = "characters"  # bytes: of UTF-8
    # The network's published request limits for these options; empty: it publishes none.
    limits: Callable[[Mapping[str, Any]], tuple[Limit, ...]] = lambda options: ()
    # How the connector combines several terms in one search query (" OR ", "|"; its
    # ``BatchedSearch`` batching bounds how many); None: one query a term.
    query_separator: str | None = None
    # Requests one poll of every term (and the local stream) makes, first pages only; None: the
    # search queries when the network searches, else one listing.
    requests_per_poll: RequestCount | None = None
    # (options, terms) -> how a poll reads the network for these terms, in words, where it depends on
    # them (Bluesky: per-term search or the firehose); said on the network's ``make check`` line.
    poll_mode: Callable[[Mapping[str, Any], Sequence[str]], str] | None = None
    credentials: tuple[Credential, ...] = ()
    # The link that opens the thread to reply by hand (networks with no write API), built only from
    # checked ids; raises ``chalicelib.replies.NotReplyable`` when no safe link can be made.
    manual_reply: Callable[[Mention], str] | None = None
    # How ``make connect`` signs the owner in (networks whose credentials come from an OAuth consent).
    connect: OAuthConnect | None = None
    # The owner's own account (its reviews, the comments on its posts, its @mentions and tags): every
    # item is about the business, so it is matched without a search term, as the rule
    # "your <label>" in the brand group (``owned_match``), whatever the rules say.
    owned: bool = False
    # Owned networks: the items urgent whatever the rules say (a one-star review); None: none.
    urgent_when: Callable[[Mention], bool] | None = None
    # "module:function" turning one verified webhook delivery into mentions:
    # ``function(payload: Mapping[str, Any], source: Source) -> list[Mention]`` (``payload`` the parsed
    # JSON body; ``source`` the network's connector, for an event that carries only ids and must be
    # read); raises ``chalicelib.sources.base.BadPayload`` for a shape it cannot read. None: polled only.
    webhook: str | None = None

    def thread_root(self, mention: Mention) -> str:
        """``network:root`` of the conversation ``mention`` belongs to (for muting a thread)."""
        return f"{mention.network}:{thread_root_id(mention, self.thread_keys)}"

    def owned_match(self, mention: Mention) -> RuleMatch:
        """The match every item of an owned network gets: rule "your <label>", brand group."""
        from chalicelib.model import RuleMatch

        urgent = bool(self.urgent_when and self.urgent_when(mention))
        return RuleMatch(rule=f"your {self.label}", group="brand", urgent=urgent)

    def reach_label(self, reach: int) -> str:
        """The reach with the network's unit: "1 follower", "2.3k reputation", "12 points"."""
        return reach_words(reach, self.reach_unit)


def thread_root_id(mention: Mention, keys: Sequence[str]) -> str:
    """The root named by ``keys`` of ``mention.thread``, else the mention's own id."""
    values = [mention.thread.get(key) for key in keys]
    if keys and all(values):
        return "#".join(str(v) for v in values)
    return mention.native_id


def reach_words(reach: int, unit: tuple[str, str] = FOLLOWERS) -> str:
    """``reach`` in ``unit`` (one, many): "1 follower", "2.3k reputation", "12 points"."""
    one, many = unit
    return f"{short_count(reach)} {one if reach == 1 else many}"


def short_count(n: int) -> str:
    """1234 -> "1.2k", 12000 -> "12k", 2500000 -> "2.5M", 950 -> "950"."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            value = f"{n / size:.1f}".removesuffix(".0") if n < 10 * size else str(n // size)
            return value + suffix
    return str(n)

"""THE registry of networks: one line per network, each a folder ``chalicelib/networks/<name>/``.

A network's folder holds everything about it: ``__init__.py`` (its ``SPEC``: label, reach unit,
sites, thread root, reply limit, published limits, credentials...), ``source.py`` (the
connector), ``replier.py`` (posting replies, where the network has a write API), ``emulator.py``
(its API on the offline replay server) and ``contract/`` (its own published payloads, cited in
contract/README.md, with expected.json). ``emulator.py`` and ``contract/`` are not deployed.

Adding a network is its folder plus one line here. Everything is imported on first use so that
importing the app stays cheap: a spec without its connector, a connector without its replier.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from chalicelib.networks.spec import NetworkSpec, reach_words

if TYPE_CHECKING:
    from chalicelib.model import Mention
    from chalicelib.sources.base import Source

# name -> the package whose __init__ defines SPEC
NETWORKS: dict[str, str] = {
    "hackernews": "chalicelib.networks.hackernews",
    "rss": "chalicelib.networks.rss",
    "stackexchange": "chalicelib.networks.stackexchange",
    "github": "chalicelib.networks.github",
    "reddit": "chalicelib.networks.reddit",
    "mastodon": "chalicelib.networks.mastodon",
    "bluesky": "chalicelib.networks.bluesky",
    "lobsters": "chalicelib.networks.lobsters",
    "devto": "chalicelib.networks.devto",
    "youtube": "chalicelib.networks.youtube",
    "instagram": "chalicelib.networks.instagram",
    "facebook": "chalicelib.networks.facebook",
}


def spec(name: str) -> NetworkSpec:
    """The spec of the network registered under ``name``; KeyError if there is none."""
    return _spec(name, NETWORKS[name])


@cache
def _spec(name: str, package: str) -> NetworkSpec:
    found = importlib.import_module(package).SPEC
    if not isinstance(found, NetworkSpec) or found.name != name:
        raise TypeError(f"{package}.SPEC is not the NetworkSpec of {name!r}")
    return found


def specs() -> list[NetworkSpec]:
    """Every registered network's spec, in registry order."""
    return [spec(name) for name in NETWORKS]


def _load(target: str) -> type:
    module_name, _, class_name = target.partition(":")
    cls: type = getattr(importlib.import_module(module_name), class_name)
    return cls


def source_class(name: str) -> type[Source]:
    """The connector class of the network ``name``; KeyError if there is none."""
    return _load(spec(name).source)


def replier_class(name: str) -> type:
    """The replier class of the network ``name`` (a ``chalicelib.replies.Replier``: the replies
    framework imports this registry, so the registry names that type only in words); KeyError if
    it is unknown or has no write API."""
    target = spec(name).replier
    if target is None:
        raise KeyError(name)
    return _load(target)


def emulator_class(name: str) -> type:
    """The replay server's emulation of the network ``name`` (offline only, never deployed)."""
    return _load(spec(name).emulator)


def can_reply(name: str) -> bool:
    """Whether replies to ``name`` can be posted from here (a registered network with a replier)."""
    return name in NETWORKS and spec(name).replier is not None


def reply_limit_text(name: str) -> str:
    """The network's reply limit in words ("at most 300 graphemes"); "" when it has none."""
    found = spec(name) if name in NETWORKS else None
    if found is None or found.reply_limit is None:
        return ""
    return f"at most {found.reply_limit} {found.reply_unit}"


def label(name: str) -> str:
    """The network's name as people know it ("Hacker News"); the key itself for an unknown one."""
    return spec(name).label if name in NETWORKS else name


def thread_root(mention: Mention) -> str:
    """``network:root`` of ``mention``'s conversation, as its network's spec forms it."""
    if mention.network in NETWORKS:
        return spec(mention.network).thread_root(mention)
    return f"{mention.network}:{mention.native_id}"


def reach_label(network: str, reach: int) -> str:
    """The reach with its network's unit: "1 follower", "2.3k reputation", "12 points"."""
    return spec(network).reach_label(reach) if network in NETWORKS else reach_words(reach)


def compose_link(mention: Mention) -> str:
    """The URL that opens ``mention``'s thread for replying by hand: the network's own
    ``manual_reply`` where its spec has one, else the mention's permalink when it is a plain
    http(s) URL. Raises ``chalicelib.replies.NotReplyable`` when no safe link can be made."""
    from chalicelib.networks.manual import web_link

    known = spec(mention.network) if mention.network in NETWORKS else None
    if known is not None and known.manual_reply is not None:
        return known.manual_reply(mention)
    return web_link(mention)

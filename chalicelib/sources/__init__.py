"""The registry of networks: one line per connector module.

Modules are imported on first use so that importing the app stays cheap.
"""

from __future__ import annotations

import importlib

from chalicelib.sources.base import Source

NETWORKS: dict[str, str] = {
    "hackernews": "chalicelib.sources.hackernews:HackerNews",
    "rss": "chalicelib.sources.rss:Feeds",
    "stackexchange": "chalicelib.sources.stackexchange:StackExchange",
    "github": "chalicelib.sources.github:GitHub",
    "reddit": "chalicelib.sources.reddit:Reddit",
    "mastodon": "chalicelib.sources.mastodon:Mastodon",
    "bluesky": "chalicelib.sources.bluesky:Bluesky",
    "lobsters": "chalicelib.sources.lobsters:Lobsters",
    "devto": "chalicelib.sources.devto:DevTo",
    "youtube": "chalicelib.sources.youtube:YouTube",
}


def source_class(name: str) -> type[Source]:
    """The connector class registered under ``name``; KeyError if there is none."""
    module_name, _, class_name = NETWORKS[name].partition(":")
    cls: type[Source] = getattr(importlib.import_module(module_name), class_name)
    return cls

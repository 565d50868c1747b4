"""Mute lists: authors, domains and threads the owner never wants to hear about again."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chalicelib.model import Mention
from chalicelib.networks import thread_root


@dataclass(frozen=True, slots=True)
class MuteList:
    authors: frozenset[str]  # "network:handle" or "handle", casefolded
    domains: frozenset[str]  # casefolded, no leading "www."
    threads: frozenset[str]  # "network:root"

    @classmethod
    def of(cls, authors: Iterable[str] = (), domains: Iterable[str] = (), threads: Iterable[str] = ()) -> MuteList:
        return cls(
            frozenset(a.strip().casefold().lstrip("@") for a in authors if a.strip()),
            frozenset(d.strip().casefold().removeprefix("www.") for d in domains if d.strip()),
            frozenset(t.strip() for t in threads if t.strip()),
        )

    def reason(self, mention: Mention) -> str | None:
        """Why the mention is muted ("author", "domain", "thread"), or None."""
        handle = mention.author_handle.casefold().lstrip("@")
        if handle and (handle in self.authors or f"{mention.network}:{handle}" in self.authors):
            return "author"
        if self.domains and any(_in_domains(url, self.domains) for url in (*mention.links, mention.url)):
            return "domain"
        if thread_root(mention) in self.threads:
            return "thread"
        return None


def _in_domains(url: str, domains: frozenset[str]) -> bool:
    try:
        host = (urlsplit(url).hostname or "").casefold().removeprefix("www.")
    except ValueError:
        return False
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts) - 1))

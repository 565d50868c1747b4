"""How the emulators read a search query that names several terms (an OR query): what the
real networks document, reduced to what the connectors send.

``any_of('"bean there" OR refund', " OR ")`` -> ``[["bean there"], ["refund"]]``: a list of
alternatives, each the words and quoted phrases that must all appear.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r'"([^"]+)"|(\S+)')


def any_of(query: str, separator: str) -> list[list[str]]:
    """The alternatives of ``query`` split on ``separator`` (" OR ", "|"), lowercased."""
    return [[word.lower() for pair in _TOKEN.findall(part) for word in pair if word]
            for part in query.split(separator)]


def matches_any(alternatives: list[list[str]], text: str) -> bool:
    """Whether ``text`` holds every word of at least one alternative (no alternative: all)."""
    lowered = text.lower()
    return not alternatives or any(all(word in lowered for word in words) for words in alternatives)

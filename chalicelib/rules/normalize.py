"""Text normalization for matching, done once per mention, with a way back to the original.

The normalized text is Unicode NFKC, case-folded and (optionally) stripped of Latin accents.
Punctuation is kept, so hashtags (``#acme``), handles (``@acme``) and domains (``acme.com``)
stay intact: a word boundary is any character that is not a letter, digit or underscore,
which is what lets ``acme`` match inside them and ``#acme`` match only the hashtag.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

# Combining Diacritical Marks: what "accent" means here (é -> e, ñ -> n); other scripts keep their marks
_ACCENTS = re.compile("[\u0300-\u036f]")
# Runs of ASCII safe to lowercase in place: not followed by non-ASCII, which might be a combining mark
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_SEGMENTS = re.compile(r"[\x00-\x7f]+(?![^\x00-\x7f])|.", re.DOTALL)
# A token keeps hashtags, handles, domains and contractions whole: #acme, @acme, acme.com, don't
# Folded form of each character seen, by fold_accents; the limit bounds memory against hostile text
_FOLDED: dict[bool, dict[str, str]] = {flag: {} for flag in (True, False)}
_FOLDED_LIMIT = 50_000
TOKEN = re.compile(r"[#@]?\w+(?:[.'’\-]\w+)*")


def fold(text: str, *, fold_accents: bool = True) -> str:
    """``text`` as rules see it: NFKC, case-folded, accents removed when ``fold_accents``."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    if fold_accents:
        folded = _ACCENTS.sub("", unicodedata.normalize("NFD", folded))
    return unicodedata.normalize("NFKC", folded)


@dataclass(frozen=True, slots=True)
class Token:
    """A word of normalized text, hashtag/handle sigil and inner dots kept; offsets in ``text``."""

    text: str
    start: int
    end: int


class NormalizedText:
    """One text normalized for matching.

    ``original`` is the text as given, ``text`` the normalized text. Offsets into ``text``
    map back to ``original`` with ``original_span``. When normalization kept every character
    in place (all ASCII, for instance) the map is the identity and is not stored.
    """

    __slots__ = ("_ends", "_starts", "_token_ends", "_token_starts", "original", "text")

    def __init__(self, original: str, text: str, starts: list[int] | None, ends: list[int] | None) -> None:
        self.original = original
        self.text = text
        self._starts = starts  # original offset where the character at each normalized offset comes from
        self._ends = ends  # original offset just after it
        self._token_starts: list[int] | None = None
        self._token_ends: list[int] = []

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The (start, end) in ``original`` of the normalized text between ``start`` and ``end``."""
        if self._starts is None or self._ends is None:
            return start, end
        return self._starts[start], self._ends[end - 1]

    def tokens(self) -> list[Token]:
        """The words of the normalized text, in order (hashtags, handles and domains whole)."""
        return [Token(m.group(), m.start(), m.end()) for m in TOKEN.finditer(self.text)]

    def token_range(self, start: int, end: int) -> tuple[int, int]:
        """Indices (first, last) of the tokens that the normalized span [start, end) touches.

        A span touching no token (only punctuation) gets first > last."""
        if self._token_starts is None:
            found = [(m.start(), m.end()) for m in TOKEN.finditer(self.text)]
            self._token_starts = [s for s, _ in found]
            self._token_ends = [e for _, e in found]
        first = bisect.bisect_right(self._token_ends, start)
        last = bisect.bisect_left(self._token_starts, end) - 1
        return first, last


def normalize(text: str, *, fold_accents: bool = True) -> NormalizedText:
    """Normalize ``text`` once for matching: each character, with the combining marks that
    follow it, is folded as by ``fold``. Returns the normalized text with its map back to ``text``."""
    if text.isascii():
        return NormalizedText(text, text.lower(), None, None)
    lowered = text.lower()  # ASCII letters; every other character is then replaced by its folded form
    if len(lowered) == len(text):
        table = _FOLDED[fold_accents]
        in_place = True
        for character in set(_NON_ASCII.findall(lowered)):
            folded = table.get(character)
            if folded is None:
                if len(table) >= _FOLDED_LIMIT:
                    in_place = False
                    break
                folded = table[character] = fold(character, fold_accents=fold_accents)
            if len(folded) != 1 or unicodedata.combining(character):
                in_place = False
                break
        if in_place:  # one character in, one character out: the map is the identity
            return NormalizedText(text, _NON_ASCII.sub(lambda found: table[found.group()], lowered), None, None)
    return _normalize_by_cluster(text, fold_accents)


def _normalize_by_cluster(text: str, fold_accents: bool) -> NormalizedText:
    """Fold each character with its combining marks separately, recording where output came from."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cluster_start = -1

    def flush(cluster_end: int) -> None:
        if cluster_start < 0:
            return
        folded = fold(text[cluster_start:cluster_end], fold_accents=fold_accents)
        parts.append(folded)
        starts.extend([cluster_start] * len(folded))
        ends.extend([cluster_end] * len(folded))

    for segment in _SEGMENTS.finditer(text):
        start, end = segment.span()
        if end - start == 1:
            if cluster_start >= 0 and unicodedata.combining(text[start]):
                continue  # a combining mark stays with the character before it
            flush(start)
            cluster_start = start
        else:
            flush(start)
            cluster_start = -1
            parts.append(segment.group().lower())
            starts.extend(range(start, end))
            ends.extend(range(start + 1, end + 1))
    flush(len(text))
    return NormalizedText(text, "".join(parts), starts, ends)

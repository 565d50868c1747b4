"""Rules compiled once into a matcher that stays fast as rules grow.

Every rule has an anchor: a set of literals such that anything the rule matches contains one
of them. All anchors go into one Aho-Corasick automaton; one pass over a mention's normalized
text finds the candidate rules, and only those are evaluated on their query trees (NOT
branches, field filters and exclude queries included).
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import ahocorasick

from chalicelib.model import MatchedMention, Mention, RuleGroup, RuleMatch
from chalicelib.rules.normalize import NormalizedText, fold, normalize
from chalicelib.rules.query import SAME_SENTENCE, And, Field, Node, Not, Or, QueryError, Term, parse_query

Spans = list[tuple[int, int]]
# Evaluates a compiled query on one mention: None when it does not match, else the spans it matched
Evaluate = Callable[["_Scan"], Spans | None]

_WORD_TAIL = re.compile(r"\w*")
# Frequent English words make poor anchors: almost every mention would become a candidate
_COMMON_WORDS = frozenset(
    """a about after all also an and any are as at be because been but by can come could day do
    even first for from get give go good have he her him his how i if in into is it its just know
    like look make me most my new no not now of on one only or other our out over people say see
    she so some take than that the their them then there these they think this time to two up us
    use want way we well what when which who will with work would year you your""".split()
)


class RuleDefinition(Protocol):
    """What the matcher needs of a rule from listen.yaml (keyword rules already turned into a query)."""

    @property
    def name(self) -> str: ...

    @property
    def group(self) -> RuleGroup: ...

    @property
    def urgent(self) -> bool: ...

    @property
    def query(self) -> str: ...

    @property
    def exclude(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class SearchTerm:
    """A word or phrase to ask a network's search for, and the rules it serves."""

    term: str
    rules: tuple[str, ...]
    urgent: bool


@dataclass(frozen=True, slots=True)
class _Anchor:
    key: str  # normalized literal looked for in normalized text
    term: str  # the word or phrase as a network search term
    cost: float  # lower is better: likely rarer in mentions


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    group: RuleGroup
    urgent: bool
    evaluate: Evaluate
    excludes: tuple[Evaluate, ...]
    anchors: tuple[_Anchor, ...]  # every match contains one of these
    required: frozenset[str]  # every match contains all of these normalized literals


class _Scan:
    """One mention being matched: its normalized text and the literal positions found so far."""

    __slots__ = ("found", "mention", "norm")

    def __init__(self, mention: Mention, norm: NormalizedText) -> None:
        self.mention = mention
        self.norm = norm
        self.found: dict[str, list[int]] = {}

    def positions(self, key: str) -> list[int]:
        """Every offset (overlaps included) where ``key`` occurs in the normalized text."""
        found = self.found.get(key)
        if found is None:
            text = self.norm.text
            found = []
            at = text.find(key)
            while at >= 0:
                found.append(at)
                at = text.find(key, at + 1)
            self.found[key] = found
        return found


class RuleSet:
    """Compiled rules; build with ``compile_rules``."""

    def __init__(self, rules: Sequence[_Rule], excludes: Sequence[Evaluate], fold_accents: bool) -> None:
        self._rules = tuple(rules)
        self._excludes = tuple(excludes)
        self._fold_accents = fold_accents
        # anchor key -> (rule index, keys the rule's matches all contain)
        self._by_anchor: dict[str, list[tuple[int, frozenset[str]]]] = {}
        keys: set[str] = set()
        for index, rule in enumerate(self._rules):
            for key in dict.fromkeys(anchor.key for anchor in rule.anchors):
                self._by_anchor.setdefault(key, []).append((index, rule.required))
            keys.update(rule.required)
        keys.update(self._by_anchor)
        self._automaton = ahocorasick.Automaton()
        for key in keys:
            self._automaton.add_word(key, key)
        if keys:
            self._automaton.make_automaton()

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._rules)

    def match(self, mention: Mention) -> tuple[RuleMatch, ...]:
        """The rules ``mention`` matches, in rule order, each with its spans (sorted, overlaps
        merged) in ``mention.searchable_text``; () when none matches or a global exclude does."""
        if not self._rules:
            return ()
        norm = normalize(mention.searchable_text, fold_accents=self._fold_accents)
        present = {key for _, key in self._automaton.iter(norm.text)}
        if not present:
            return ()
        by_anchor = self._by_anchor
        candidates = {index for key in present for index, required in by_anchor.get(key, ()) if required <= present}
        if not candidates:
            return ()
        scan = _Scan(mention, norm)
        matches = []
        for index in sorted(candidates):
            rule = self._rules[index]
            spans = rule.evaluate(scan)
            if spans is None or any(exclude(scan) is not None for exclude in rule.excludes):
                continue
            matches.append(RuleMatch(rule.name, rule.group, rule.urgent, _original_spans(norm, spans)))
        if matches and any(exclude(scan) is not None for exclude in self._excludes):
            return ()
        return tuple(matches)

    def match_many(self, mentions: Iterable[Mention]) -> list[MatchedMention]:
        """The mentions that match at least one rule, in input order, with their matches."""
        matched = []
        for mention in mentions:
            matches = self.match(mention)
            if matches:
                matched.append(MatchedMention(mention, matches))
        return matched

    def search_terms(self) -> list[SearchTerm]:
        """Words and phrases to search networks for: every mention a rule matches contains
        at least one of that rule's terms. In order of first use; ``urgent`` if any rule is."""
        rules_by_term: dict[str, dict[str, _Rule]] = {}
        for rule in self._rules:
            for anchor in rule.anchors:
                rules_by_term.setdefault(anchor.term, {})[rule.name] = rule
        return [
            SearchTerm(term, tuple(users), any(rule.urgent for rule in users.values()))
            for term, users in rules_by_term.items()
        ]


def compile_rules(
    rules: Iterable[RuleDefinition], exclude: Sequence[str] = (), *, fold_accents: bool = True
) -> RuleSet:
    """Compile rules once for matching many mentions.

    ``rules``: rule definitions (unique names); ``exclude``: queries that unmatch a mention for
    every rule; ``fold_accents``: whether ``cafe`` matches ``café``. Returns the RuleSet.
    Raises QueryError naming the rule for a query that does not parse, or a rule with no word
    or phrase that every match must contain.
    """
    compiled: list[_Rule] = []
    names: set[str] = set()
    for rule in rules:
        if rule.name in names:
            raise ValueError(f'rule name "{rule.name}" is used by two rules')
        names.add(rule.name)
        tree = _parse(rule.query, f'rule "{rule.name}"')
        anchors = _anchors(tree, fold_accents)
        if anchors is None:
            raise QueryError(
                f'rule "{rule.name}": query "{rule.query}" needs at least one word or phrase that every match '
                "contains; NOT, field filters and OR with a NOT side cannot find mentions alone",
                0,
                "a word or phrase that every match contains",
            )
        excludes = tuple(
            _compile(_parse(query, f'rule "{rule.name}" exclude {number}'), fold_accents)
            for number, query in enumerate(rule.exclude, start=1)
        )
        evaluate = _compile(tree, fold_accents)
        required = _required(tree, fold_accents)
        compiled.append(_Rule(rule.name, rule.group, rule.urgent, evaluate, excludes, tuple(anchors), required))
    global_excludes = [
        _compile(_parse(query, f"exclude {number}"), fold_accents) for number, query in enumerate(exclude, start=1)
    ]
    return RuleSet(compiled, global_excludes, fold_accents)


def _parse(query: str, where: str) -> Node:
    try:
        return parse_query(query)
    except QueryError as error:
        raise QueryError(f"{where}: {error.message}", error.position, error.expected) from None


# Anchors


def _anchors(node: Node, fold_accents: bool) -> list[_Anchor] | None:
    """Literals one of which every match of ``node`` contains, cheapest choice; None if none exist."""
    if isinstance(node, Term):
        return [_term_anchor(node, fold_accents)]
    if isinstance(node, Field | Not):
        return None
    if isinstance(node, Or):
        union: list[_Anchor] = []
        for operand in node.operands:
            anchors = _anchors(operand, fold_accents)
            if anchors is None:
                return None
            union.extend(anchor for anchor in anchors if anchor not in union)
        return union
    sides = node.operands if isinstance(node, And) else (node.left, node.right)
    choices = [anchors for anchors in (_anchors(side, fold_accents) for side in sides) if anchors is not None]
    if not choices:
        return None
    return min(choices, key=lambda anchors: sum(anchor.cost for anchor in anchors))


def _required(node: Node, fold_accents: bool) -> frozenset[str]:
    """Normalized literals that every match of ``node`` contains."""
    if isinstance(node, Term):
        return frozenset(_keys(node, fold_accents))
    if isinstance(node, Field | Not):
        return frozenset()
    if isinstance(node, Or):
        sides = [_required(operand, fold_accents) for operand in node.operands]
        return frozenset.intersection(*sides)
    operands = node.operands if isinstance(node, And) else (node.left, node.right)
    return frozenset().union(*(_required(operand, fold_accents) for operand in operands))


def _term_anchor(term: Term, fold_accents: bool) -> _Anchor:
    keys = _keys(term, fold_accents)
    key = min(keys, key=_key_cost)
    shown = unicodedata.normalize("NFKC", " ".join(term.words))
    return _Anchor(key, shown if term.mode == "exact" else shown.casefold(), _key_cost(key))


def _key_cost(key: str) -> float:
    frequent = key in _COMMON_WORDS or not _has_word_character(key)  # the '&' of "Spoke & Chain" is everywhere
    return (10.0 if frequent else 1.0) / len(key)


def _has_word_character(text: str) -> bool:
    return any(_is_word_character(character) for character in text)


def _between(before: str, after: str) -> str:
    """What separates two words of a phrase: non-word characters, at least one between two words,
    any number next to a word of punctuation (so "Spoke & Chain" also finds "Spoke&Chain")."""
    return r"\W+" if _has_word_character(before) and _has_word_character(after) else r"\W*"


def _keys(term: Term, fold_accents: bool) -> list[str]:
    keys = [fold(word, fold_accents=fold_accents) for word in term.words]
    if not all(keys):
        raise QueryError(
            f"the word {term.words[keys.index('')]!r} is empty once normalized", term.position, "a word or phrase"
        )
    return keys


# Compiling the tree into closures


def _compile(node: Node, fold_accents: bool) -> Evaluate:
    if isinstance(node, Term):
        return _compile_term(node, fold_accents)
    if isinstance(node, Field):
        return _compile_field(node)
    if isinstance(node, Not):
        return _compile_not(_compile(node.operand, fold_accents))
    if isinstance(node, And):
        # filters and plain terms first: they are cheap and most likely to rule a candidate out
        ordered = sorted(node.operands, key=lambda operand: not isinstance(operand, Field | Term))
        return _compile_and([_compile(operand, fold_accents) for operand in ordered])
    if isinstance(node, Or):
        return _compile_or([_compile(operand, fold_accents) for operand in node.operands])
    if node.distance == SAME_SENTENCE:
        return _compile_same_sentence(_compile(node.left, fold_accents), _compile(node.right, fold_accents))
    return _compile_near(_compile(node.left, fold_accents), _compile(node.right, fold_accents), node.distance)


def _compile_not(operand: Evaluate) -> Evaluate:
    def evaluate(scan: _Scan) -> Spans | None:
        return [] if operand(scan) is None else None

    return evaluate


def _compile_and(operands: list[Evaluate]) -> Evaluate:
    def evaluate(scan: _Scan) -> Spans | None:
        spans: Spans = []
        for operand in operands:
            found = operand(scan)
            if found is None:
                return None
            spans.extend(found)
        return spans

    return evaluate


def _compile_or(operands: list[Evaluate]) -> Evaluate:
    def evaluate(scan: _Scan) -> Spans | None:
        spans: Spans | None = None
        for operand in operands:  # every side is tried so that all matched terms are highlighted
            found = operand(scan)
            if found is not None:
                spans = found if spans is None else spans + found
        return spans

    return evaluate


def _both_sides(left: Evaluate, right: Evaluate, scan: _Scan) -> tuple[Spans, Spans] | None:
    # The right side is evaluated only when the left one matched.
    lefts = left(scan)
    if lefts is None:
        return None
    rights = right(scan)
    return None if rights is None else (lefts, rights)


def _compile_near(left: Evaluate, right: Evaluate, distance: int) -> Evaluate:
    def evaluate(scan: _Scan) -> Spans | None:
        sides = _both_sides(left, right, scan)
        if sides is None:
            return None
        lefts, rights = sides
        # occurrences grouped by the words they cover, so that hostile repetitive text stays linear
        lefts_by_words = _by_token_range(scan.norm, lefts)
        rights_by_words = _by_token_range(scan.norm, rights)
        right_ranges = sorted(rights_by_words)
        right_firsts = [first for first, _ in right_ranges]
        widest = max(last - first for first, last in right_ranges)
        spans: Spans = []
        near_rights: set[tuple[int, int]] = set()
        for (first, last), left_spans in lefts_by_words.items():
            low = bisect.bisect_left(right_firsts, first - distance - 1 - widest)
            high = bisect.bisect_right(right_firsts, last + distance + 1)
            near = [words for words in right_ranges[low:high] if max(words[0] - last, first - words[1]) - 1 <= distance]
            if near:
                spans.extend(left_spans)
                near_rights.update(near)
        for words in near_rights:
            spans.extend(rights_by_words[words])
        return spans or None

    return evaluate


# A sentence ends at . ! ? or … followed by a space or the end (so "acme.com" stays one sentence), or a line break.
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)|\n")


def _compile_same_sentence(left: Evaluate, right: Evaluate) -> Evaluate:
    def evaluate(scan: _Scan) -> Spans | None:
        sides = _both_sides(left, right, scan)
        if sides is None:
            return None
        lefts, rights = sides
        ends = [end.start() for end in _SENTENCE_END.finditer(scan.norm.text)]
        left_sentences = {bisect.bisect_left(ends, start) for start, _ in lefts}
        shared = left_sentences & {bisect.bisect_left(ends, start) for start, _ in rights}
        spans = [span for span in (*lefts, *rights) if bisect.bisect_left(ends, span[0]) in shared]
        return spans or None

    return evaluate


def _by_token_range(norm: NormalizedText, spans: Spans) -> dict[tuple[int, int], Spans]:
    grouped: dict[tuple[int, int], Spans] = {}
    for span in spans:
        grouped.setdefault(norm.token_range(*span), []).append(span)
    return grouped


def _is_word_character(character: str) -> bool:
    return character.isalnum() or character == "_"


def _compile_term(term: Term, fold_accents: bool) -> Evaluate:
    keys = _keys(term, fold_accents)
    exact = _exact_pattern(term) if term.mode == "exact" else None
    if len(keys) > 1:
        return _compile_phrase(keys, bounded=term.mode != "substring", exact=exact)
    key = keys[0]
    size = len(key)
    prefix = term.mode == "prefix"
    substring = term.mode == "substring"

    def evaluate(scan: _Scan) -> Spans | None:
        positions = scan.positions(key)
        if not positions:
            return None
        if substring:
            return [(at, at + size) for at in positions]
        text = scan.norm.text
        spans: Spans = []
        for at in positions:
            end = at + size
            if at and _is_word_character(text[at - 1]):
                continue
            if prefix:
                end = _WORD_TAIL.match(text, end).end()  # type: ignore[union-attr]
            elif end < len(text) and _is_word_character(text[end]):
                continue
            if exact is None or _is_exact(scan.norm, at, end, exact):
                spans.append((at, end))
        return spans or None

    return evaluate


def _compile_phrase(keys: list[str], *, bounded: bool, exact: re.Pattern[str] | None) -> Evaluate:
    first, size = keys[0], len(keys[0])
    # what must follow the first word: the other words, only non-word characters between them
    rest = re.compile("".join(_between(before, key) + re.escape(key) for before, key in itertools.pairwise(keys))
                      + (r"(?!\w)" if bounded else ""))

    def evaluate(scan: _Scan) -> Spans | None:
        text = scan.norm.text
        spans: Spans = []
        for at in scan.positions(first):
            if bounded and at and _is_word_character(text[at - 1]):
                continue
            found = rest.match(text, at + size)
            if found is not None and (exact is None or _is_exact(scan.norm, at, found.end(), exact)):
                spans.append((at, found.end()))
        return spans or None

    return evaluate


def _exact_pattern(term: Term) -> re.Pattern[str]:
    words = [unicodedata.normalize("NFKC", word) for word in term.words]
    return re.compile(re.escape(words[0]) + "".join(_between(before, word) + re.escape(word)
                                                    for before, word in itertools.pairwise(words)))


def _is_exact(norm: NormalizedText, start: int, end: int, pattern: re.Pattern[str]) -> bool:
    """Whether the original text behind the normalized span is the term with its exact case and accents."""
    original_start, original_end = norm.original_span(start, end)
    original = norm.original[original_start:original_end]
    return pattern.fullmatch(original if original.isascii() else unicodedata.normalize("NFKC", original)) is not None


def _compile_field(node: Field) -> Evaluate:
    value = node.value.casefold()
    accepts: Callable[[Mention], bool]
    if node.name == "source":
        accepts = lambda mention: mention.network.casefold() == value  # noqa: E731
    elif node.name == "site":
        accepts = lambda mention: any(_link_on_site(link, value) for link in mention.links)  # noqa: E731
    elif node.name == "author":
        handle = value.removeprefix("@")
        accepts = lambda mention: mention.author_handle.casefold().removeprefix("@") == handle  # noqa: E731
    elif node.name == "lang":
        accepts = lambda mention: _same_language(mention.lang, value)  # noqa: E731
    elif node.name == "sub":
        accepts = lambda mention: mention.community.casefold() == value  # noqa: E731
    elif node.name == "tag":
        tag = value.removeprefix("#")
        accepts = lambda mention: any(t.casefold().removeprefix("#") == tag for t in mention.tags)  # noqa: E731
    else:
        accepts = lambda mention: mention.kind == value  # noqa: E731

    def evaluate(scan: _Scan) -> Spans | None:
        return [] if accepts(scan.mention) else None

    return evaluate


def _link_on_site(link: str, domain: str) -> bool:
    try:
        host = urlsplit(link).hostname
    except ValueError:  # links come from the network and may be malformed
        return False
    return host is not None and (host == domain or host.endswith("." + domain))


def _same_language(lang: str | None, wanted: str) -> bool:
    """``lang:en`` accepts en, en-US, en-GB...; case-insensitive."""
    if not lang:
        return False
    lang = lang.casefold()
    return lang == wanted or lang.startswith(wanted + "-")


def _original_spans(norm: NormalizedText, spans: Spans) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(set(spans)):
        original_start, original_end = norm.original_span(start, end)
        if merged and original_start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], original_end))
        else:
            merged.append((original_start, original_end))
    return tuple(merged)

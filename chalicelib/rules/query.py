"""The rule query language: tokenizer and recursive-descent parser into an immutable tree.

Grammar, loosest binding first (the language is described for owners in docs/queries.md)::

    query    := or_expr END
    or_expr  := and_expr ("OR" and_expr)*
    and_expr := unary (["AND"] unary)*          adjacent terms are joined by AND
    unary    := "NOT" unary | near
    near     := primary ["NEAR/n" primary]      both sides: terms, or terms joined by OR; n or "sentence"
    primary  := term | field ":" value | "(" or_expr ")"
    term     := word | word "*" | "~" word | "~" phrase | phrase | "`" words "`"
    phrase   := '"' words '"'                   literal: any words, at least one letter or digit in all
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

TermMode = Literal["word", "prefix", "substring", "exact"]
FieldName = Literal["source", "site", "author", "lang", "sub", "tag", "type"]

FIELD_NAMES: tuple[FieldName, ...] = ("source", "site", "author", "lang", "sub", "tag", "type")
MAX_NEAR_DISTANCE = 100
# NEAR/sentence: both sides in the same sentence, at any distance (Near.distance holds this instead of n).
SAME_SENTENCE = -1

_STARTS_OPERAND = "a word, \"phrase\", field:value, NOT or '('"
_NEAR_SIDE = "a word or phrase (or words joined by OR in parentheses) next to NEAR"
_FIELD_LIST = ", ".join(FIELD_NAMES)
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_NEAR = re.compile(r"NEAR(?:/(\d+|sentence))?")
_FIELD_PREFIX = re.compile(r"([A-Za-z]+):")
_QUOTED_WORD = re.compile(r"\S+")
_WORD_END = frozenset(' \t\r\n\f\v()"`')


class QueryError(ValueError):
    """A query that cannot be parsed or compiled.

    ``message`` is the whole human-readable text (also ``str(error)``), ``position`` the
    0-based offset in the query where the problem is (column = position + 1), ``expected``
    what would have been valid there.
    """

    def __init__(self, message: str, position: int, expected: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.expected = expected

    @classmethod
    def at(cls, query: str, position: int, expected: str, found: str | None = None) -> QueryError:
        """An error at ``position`` of ``query``; ``found`` None means the query ended there."""
        what = "the query ended" if found is None else f"found {found}"
        return cls(f'query "{query}" at column {position + 1}: expected {expected} but {what}', position, expected)


# The tree. ``position`` is where the node starts in the query; it is left out of equality
# so that trees can be compared by meaning.


@dataclass(frozen=True, slots=True)
class Term:
    """Text to find: one word (``words`` has one item) or a phrase (several words, in order)."""

    words: tuple[str, ...]
    mode: TermMode = "word"
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Field:
    """A filter on a mention attribute, e.g. ``source:reddit``; ``value`` as written."""

    name: FieldName
    value: str
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Node, ...]
    position: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """``left NEAR/distance right``: at most ``distance`` words between the two, either order."""

    left: Node
    right: Node
    distance: int
    position: int = field(default=0, compare=False)


Node = Term | Field | Not | And | Or | Near


# Tokens


TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "term", "field"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    position: int
    shown: str  # how the token is named in error messages
    node: Term | Field | None = None
    distance: int = 0


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        c = query[i]
        if c.isspace():
            i += 1
            continue
        if c in "()":
            token, i = _Token(c, i, f"'{c}'"), i + 1  # type: ignore[arg-type]
        elif c == '"':
            words, end = _read_quoted(query, i, '"')
            token, i = _Token("term", i, f"'{query[i:end]}'", Term(words, "word", i)), end
        elif c == "`":
            words, end = _read_quoted(query, i, "`")
            token, i = _Token("term", i, f"'{query[i:end]}'", Term(words, "exact", i)), end
        elif c == "~":
            token, i = _read_substring(query, i)
        else:
            token, i = _read_bare(query, i)
        tokens.append(token)
    return tokens


def _word_end(query: str, start: int) -> int:
    end = start
    while end < len(query) and query[end] not in _WORD_END:
        end += 1
    return end


def _read_quoted(query: str, start: int, quote: str) -> tuple[tuple[str, ...], int]:
    """Words between the quote at ``start`` and its closing quote; returns (words, end)."""
    close = query.find(quote, start + 1)
    if close < 0:
        raise QueryError.at(query, len(query), f"a closing {quote} for the one at column {start + 1}")
    found = list(_QUOTED_WORD.finditer(query, start + 1, close))
    if not found:
        raise QueryError.at(query, start + 1, f"a word or phrase between {quote} and {quote}", f"'{quote}'")
    # a phrase is literal: "Spoke & Chain" keeps its '&'; only the phrase as a whole needs a letter or digit
    if not any(_has_letter_or_digit(word.group()) for word in found):
        inside = query[found[0].start() : found[-1].end()]
        raise QueryError.at(query, found[0].start(), "a word or phrase with a letter or digit", f"'{inside}'")
    return tuple(word.group() for word in found), close + 1


def _read_substring(query: str, start: int) -> tuple[_Token, int]:
    after = start + 1
    if after < len(query) and query[after] == '"':
        words, end = _read_quoted(query, after, '"')
        return _Token("term", start, f"'{query[start:end]}'", Term(words, "substring", start)), end
    end = _word_end(query, after)
    word = query[after:end]
    if not word:
        raise QueryError.at(query, after, "a word or \"phrase\" right after '~'", _shown(query, after))
    if "*" in word:
        raise QueryError.at(query, after + word.index("*"), "no '*' after '~' (~ already matches inside words)", "'*'")
    if not _has_letter_or_digit(word):
        raise QueryError.at(query, after, "a word with a letter or digit", f"'{word}'")
    return _Token("term", start, f"'~{word}'", Term((word,), "substring", start)), end


def _read_bare(query: str, start: int) -> tuple[_Token, int]:
    """An operator keyword, a field filter or a word (possibly a prefix ``word*``)."""
    end = _word_end(query, start)
    text = query[start:end]
    if text in ("AND", "OR", "NOT"):
        return _Token(text, start, text), end  # type: ignore[arg-type]
    if text.startswith("NEAR"):
        near = _NEAR.fullmatch(text)
        if near is not None and near.group(1) == "sentence":
            return _Token("NEAR", start, text, distance=SAME_SENTENCE), end
        if near is None or near.group(1) is None or int(near.group(1)) > MAX_NEAR_DISTANCE:
            expected = f"NEAR/n with n a number of words from 0 to {MAX_NEAR_DISTANCE}, like NEAR/3, or NEAR/sentence"
            raise QueryError.at(query, start, expected, f"'{text}'")
        return _Token("NEAR", start, text, distance=int(near.group(1))), end
    prefix = _FIELD_PREFIX.match(text)
    if prefix:
        return _read_field(query, start, prefix.group(1))
    if not _has_letter_or_digit(text):
        raise QueryError.at(query, start, "a word with a letter or digit", f"'{text}'")
    star = text.find("*")
    if star >= 0 and star != len(text) - 1:
        raise QueryError.at(query, start + star, "'*' only at the end of a word", f"'{text}'")
    if star >= 0:
        return _Token("term", start, f"'{text}'", Term((text[:-1],), "prefix", start)), end
    return _Token("term", start, f"'{text}'", Term((text,), "word", start)), end


def _read_field(query: str, start: int, name: str) -> tuple[_Token, int]:
    if name not in FIELD_NAMES:
        raise QueryError.at(query, start, f"a field name ({_FIELD_LIST}) before ':'", f"'{name}'")
    value_start = start + len(name) + 1
    if value_start < len(query) and query[value_start] == '"':
        words, end = _read_quoted(query, value_start, '"')
        value = " ".join(words)
    else:
        end = _word_end(query, value_start)
        value = query[value_start:end]
    if not value:
        raise QueryError.at(query, value_start, f"a value after '{name}:'", _shown(query, value_start))
    problem = _field_value_problem(name, value)  # type: ignore[arg-type]
    if problem:
        raise QueryError.at(query, value_start, problem, f"'{value}'")
    return _Token("field", start, f"'{query[start:end]}'", Field(name, value, start)), end  # type: ignore[arg-type]


def _field_value_problem(name: FieldName, value: str) -> str | None:
    """What a valid value would be, or None when ``value`` is valid for the field."""
    if name == "type" and value not in ("post", "comment"):
        return "post or comment after 'type:'"
    if name == "site" and not _DOMAIN.fullmatch(value.lower()):
        return "a domain like example.com after 'site:'"
    return None


def _has_letter_or_digit(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _shown(query: str, position: int) -> str | None:
    """How the text at ``position`` is named in an error; None at the end of the query."""
    if position >= len(query):
        return None
    if query[position].isspace():
        return "a space"
    return f"'{query[position : max(_word_end(query, position), position + 1)]}'"


# Parser


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, expected: str) -> QueryError:
        token = self.peek()
        if token is None:
            return QueryError.at(self.query, len(self.query), expected)
        return QueryError.at(self.query, token.position, expected, token.shown)

    def parse(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:  # only an unmatched ')' can be left over
            raise self.fail("a '(' before it")
        return node

    def or_expr(self) -> Node:
        first = self.and_expr()
        operands = [first]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            operands.append(self.and_expr())
        return first if len(operands) == 1 else Or(tuple(operands), first.position)

    def and_expr(self) -> Node:
        first = self.unary()
        operands = [first]
        while (token := self.peek()) is not None and token.kind in ("AND", "NOT", "term", "field", "("):
            if token.kind == "AND":
                self.take()
            operands.append(self.unary())
        return first if len(operands) == 1 else And(tuple(operands), first.position)

    def unary(self) -> Node:
        token = self.peek()
        if token is not None and token.kind == "NOT":
            self.take()
            return Not(self.unary(), token.position)
        return self.near()

    def near(self) -> Node:
        left_token = self.peek()
        left = self.primary()
        token = self.peek()
        if token is None or token.kind != "NEAR":
            return left
        assert left_token is not None
        if not _is_near_side(left):
            found = self.query[left_token.position : token.position].strip()
            raise QueryError.at(self.query, left_token.position, _NEAR_SIDE, f"'{found}'")
        self.take()
        right_token = self.peek()
        if right_token is None or right_token.kind not in ("term", "("):
            raise self.fail(_NEAR_SIDE)
        right = self.primary()
        if not _is_near_side(right):
            end = self.tokens[self.index - 1].position + 1
            found = self.query[right_token.position : end]
            raise QueryError.at(self.query, right_token.position, _NEAR_SIDE, f"'{found}'")
        after = self.peek()
        if after is not None and after.kind == "NEAR":
            raise QueryError.at(self.query, after.position, "AND or OR between two NEAR", after.shown)
        return Near(left, right, token.distance, left.position)

    def primary(self) -> Node:
        token = self.peek()
        if token is None:
            raise self.fail(_STARTS_OPERAND)
        if token.kind in ("term", "field"):
            self.take()
            assert token.node is not None
            return token.node
        if token.kind == "(":
            self.take()
            inner = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise self.fail("')'")
            self.take()
            return inner
        raise self.fail(_STARTS_OPERAND)


def _is_near_side(node: Node) -> bool:
    if isinstance(node, Term):
        return True
    return isinstance(node, Or) and all(_is_near_side(operand) for operand in node.operands)


def parse_query(text: str) -> Node:
    """Parse one query into its tree.

    ``text``: the query as the owner wrote it. Returns the root node. Raises QueryError
    (with the column and what was expected there) for anything that is not a valid query.
    """
    return _Parser(text).parse()

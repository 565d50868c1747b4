"""Normalization and the compiled matcher: what matches, the spans, search terms, compile errors,
and agreement with a slow reference evaluator on random rules and texts."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.model import MatchedMention, Mention, RuleGroup, RuleMatch
from chalicelib.rules import (
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    QueryError,
    SearchTerm,
    Term,
    compile_rules,
    fold,
    normalize,
    parse_query,
)

CREATED = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    group: RuleGroup = "brand"
    urgent: bool = False
    exclude: Sequence[str] = field(default_factory=tuple)


def mention(text: str, **fields: object) -> Mention:
    values: dict = {"network": "reddit", "native_id": "1", "url": "https://www.reddit.com/r/x/1", "text": text}
    values.update(fields)
    return Mention(created_at=CREATED, **values)


def spans_of(query: str, text: str, **fields: object) -> list[str] | None:
    """The matched pieces of ``text`` for a one-rule set, or None when the rule does not match."""
    item = mention(text, **fields)
    matches = compile_rules([Rule("r", query)]).match(item)
    if not matches:
        return None
    return [item.searchable_text[start:end] for start, end in matches[0].spans]


# Normalization


def test_ascii_text_is_lowercased_in_place() -> None:
    normalized = normalize("Acme ROCKS")
    assert (normalized.text, normalized.original_span(5, 10)) == ("acme rocks", (5, 10))


def test_accents_fold_and_offsets_stay_put_for_composed_text() -> None:
    normalized = normalize("Café Crème")
    assert (normalized.text, normalized.original_span(5, 10)) == ("cafe creme", (5, 10))


def test_accents_are_kept_when_not_folding() -> None:
    assert normalize("Café", fold_accents=False).text == "café"


def test_decomposed_accents_map_back_to_the_whole_letter() -> None:
    normalized = normalize("Cafe\u0301 bar")
    assert normalized.text == "cafe bar"
    assert normalized.original_span(0, 4) == (0, 5)
    assert normalized.original_span(5, 8) == (6, 9)


def test_expanding_characters_map_back_to_their_source() -> None:
    normalized = normalize("Straße ﬁne")
    assert normalized.text == "strasse fine"
    assert normalized.original_span(0, 7) == (0, 6)
    assert normalized.original_span(4, 6) == (4, 5)  # "ss" is the ß
    assert normalized.original_span(8, 12) == (7, 10)  # "fine" from the ligature and "ne"


def test_compatibility_forms_are_folded() -> None:
    assert normalize("ＡＣＭＥ①").text == "acme1"


def test_fold_is_what_query_words_go_through() -> None:
    assert [fold("Straße"), fold("CAFÉ"), fold("CAFÉ", fold_accents=False)] == ["strasse", "cafe", "café"]


def test_tokens_keep_hashtags_handles_and_domains_whole() -> None:
    tokens = normalize("Hi @Acme_Co, see #AcmeDay at www.acme.com — don't").tokens()
    assert [token.text for token in tokens] == ["hi", "@acme_co", "see", "#acmeday", "at", "www.acme.com", "don't"]
    assert (tokens[5].start, tokens[5].end) == (29, 41)


# Words, hashtags, handles, domains


def test_a_word_matches_whole_words_in_any_case() -> None:
    assert spans_of("acme", "ACME and Acme, not acmeco or megaacme") == ["ACME", "Acme"]


def test_a_word_matches_inside_hashtags_handles_and_domains() -> None:
    assert spans_of("acme", "#acme @acme www.acme.com") == ["acme", "acme", "acme"]


def test_a_word_does_not_match_a_longer_hashtag() -> None:
    assert spans_of("acme", "#AcmeCoffee @acme_co") is None


def test_a_hashtag_in_the_query_matches_only_the_hashtag() -> None:
    assert spans_of("#acme", "acme @acme #Acme") == ["#Acme"]


def test_a_handle_in_the_query_matches_only_the_handle() -> None:
    assert spans_of("@acme", "acme #acme mail@acme.com @ACME!") == ["@ACME"]


def test_a_domain_matches_itself_and_subdomains() -> None:
    assert spans_of("acme.com", "see https://shop.acme.com/x or acme.com. Not acme com.") == ["acme.com", "acme.com"]


def test_words_with_inner_punctuation_match_literally() -> None:
    assert spans_of("c++", "I write C++ daily, not c+") == ["C++"]


def test_accented_and_plain_spellings_match_each_other() -> None:
    assert spans_of("cafe", "Best CAFÉ in town, the café") == ["CAFÉ", "café"]
    assert spans_of("café", "Best cafe in town") == ["cafe"]


def test_without_accent_folding_accents_must_agree() -> None:
    rules = compile_rules([Rule("r", "café")], fold_accents=False)
    assert rules.match(mention("the cafe")) == ()
    assert rules.match(mention("the CAFÉ")) == (RuleMatch("r", "brand", False, ((4, 8),)),)


def test_spans_point_into_the_title_and_text() -> None:
    item = mention("acme again", title="Acme news")
    assert compile_rules([Rule("r", "acme")]).match(item)[0].spans == ((0, 4), (11, 15))


# Prefix, substring, exact case, phrases


def test_a_prefix_matches_words_starting_with_it_and_highlights_the_whole_word() -> None:
    assert spans_of("acme*", "Acme, AcmeCoffee and #acmeday; not megaacme") == ["Acme", "AcmeCoffee", "acmeday"]


def test_a_substring_matches_anywhere() -> None:
    assert spans_of("~acme", "megaACMEcorp and acme") == ["ACME", "acme"]


def test_overlapping_substring_occurrences_merge_into_one_span() -> None:
    assert spans_of("~aa", "xaaay") == ["aaa"]


def test_backticks_match_the_exact_case_only() -> None:
    assert spans_of("`Acme`", "ACME acme Acme Acmes") == ["Acme"]


def test_backticks_keep_accents_significant() -> None:
    assert spans_of("`Café`", "Cafe CAFÉ Café") == ["Café"]


def test_an_exact_phrase_needs_every_word_in_its_case() -> None:
    assert spans_of("`Acme Co`", "acme co, Acme co, Acme  Co") == ["Acme  Co"]


def test_a_phrase_matches_its_words_in_order_across_spaces_and_punctuation() -> None:
    assert spans_of('"acme coffee"', "Acme Coffee, acme-coffee, acme\n\ncoffee") == [
        "Acme Coffee",
        "acme-coffee",
        "acme\n\ncoffee",
    ]


def test_a_phrase_does_not_match_words_out_of_order_or_apart() -> None:
    assert spans_of('"acme coffee"', "coffee acme, acme good coffee, acmecoffee") is None


def test_a_phrase_is_whole_words_at_both_ends() -> None:
    assert spans_of('"acme co"', "acme cola and megaacme co") is None


def test_a_substring_phrase_may_start_and_end_inside_words() -> None:
    assert spans_of('~"me co"', "acme cola") == ["me co"]


# Boolean operators


def test_and_needs_both_and_highlights_both() -> None:
    assert spans_of("acme price", "Acme: what a price") == ["Acme", "price"]
    assert spans_of("acme price", "Acme: what a deal") is None


def test_or_highlights_every_side_that_matched() -> None:
    assert spans_of("acme OR acmeco", "acmeco and acme") == ["acmeco", "acme"]


def test_not_excludes_and_highlights_nothing() -> None:
    assert spans_of("acme NOT jobs", "acme is great") == ["acme"]
    assert spans_of("acme NOT jobs", "acme jobs here") is None


def test_a_negated_group() -> None:
    assert spans_of("acme NOT (jobs OR hiring)", "acme is hiring") is None


# NEAR


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("acme coffee", True),
        ("coffee acme", True),
        ("acme has great coffee", True),  # two words between
        ("acme has really great coffee", False),  # three words between
        ("coffee, says acme.", True),
    ],
)
def test_near_allows_at_most_n_words_between_in_either_order(text: str, matches: bool) -> None:
    assert (spans_of("acme NEAR/2 coffee", text) is not None) is matches


def test_near_counts_hashtags_handles_and_domains_as_one_word() -> None:
    assert spans_of("acme NEAR/1 coffee", "acme @best.cafe coffee") == ["acme", "coffee"]
    assert spans_of("acme NEAR/0 coffee", "acme #good coffee") is None


def test_near_highlights_only_the_occurrences_that_are_near() -> None:
    text = "acme is fine. Later, much later, there was some coffee near acme"
    assert spans_of("acme NEAR/1 coffee", text) == ["coffee", "acme"]


def test_near_with_alternatives_and_phrases() -> None:
    assert spans_of('(acme OR "acme co") NEAR/1 price*', "the acme co prices") == ["acme co", "prices"]


# Field filters


@pytest.mark.parametrize(
    ("query", "fields", "matches"),
    [
        ("acme source:reddit", {"network": "reddit"}, True),
        ("acme source:reddit", {"network": "mastodon"}, False),
        ("acme site:acme.com", {"links": ("https://shop.acme.com/a",)}, True),
        ("acme site:acme.com", {"links": ("https://acme.com",)}, True),
        ("acme site:acme.com", {"links": ("https://notacme.com/",)}, False),
        ("acme site:acme.com", {"links": ("http://[::1/bad",)}, False),
        ("acme author:JaneDoe", {"author_handle": "@janedoe"}, True),
        ("acme author:@janedoe", {"author_handle": "janedoe"}, True),
        ("acme author:jane", {"author_handle": "janedoe"}, False),
        ("acme lang:en", {"lang": "en-US"}, True),
        ("acme lang:en", {"lang": "EN"}, True),
        ("acme lang:en", {"lang": "eng"}, False),
        ("acme lang:en", {"lang": None}, False),
        ("acme sub:SmallBusiness", {"community": "smallbusiness"}, True),
        ("acme sub:smallbusiness", {"community": "smallbusinessideas"}, False),
        ('acme sub:"ask reddit"', {"community": "Ask Reddit"}, True),
        ("acme tag:acme", {"tags": ("Coffee", "ACME")}, True),
        ("acme tag:#acme", {"tags": ("acme",)}, True),
        ("acme tag:acme", {"tags": ("acmeday",)}, False),
        ("acme type:comment", {"kind": "comment"}, True),
        ("acme type:comment", {"kind": "post"}, False),
        ("acme NOT type:comment", {"kind": "post"}, True),
    ],
)
def test_field_filters(query: str, fields: dict, matches: bool) -> None:
    assert (spans_of(query, "acme!", **fields) is not None) is matches


# Rule sets: excludes, order, match_many


def test_rule_excludes_unmatch_only_that_rule() -> None:
    rules = compile_rules([Rule("a", "acme", exclude=("giveaway", "source:x")), Rule("b", "acme", urgent=True)])
    assert rules.match(mention("acme giveaway!")) == (RuleMatch("b", "brand", True, ((0, 4),)),)


def test_global_excludes_unmatch_every_rule() -> None:
    rules = compile_rules([Rule("a", "acme"), Rule("b", "coffee")], exclude=("author:spambot",))
    assert rules.match(mention("acme coffee", author_handle="SpamBot")) == ()
    assert [match.rule for match in rules.match(mention("acme coffee"))] == ["a", "b"]


def test_matches_come_in_rule_order_with_group_and_urgency() -> None:
    rules = compile_rules(
        [Rule("z", "coffee", group="industry"), Rule("a", "acme OR coffee", group="competitor", urgent=True)]
    )
    assert rules.match(mention("coffee")) == (
        RuleMatch("z", "industry", False, ((0, 6),)),
        RuleMatch("a", "competitor", True, ((0, 6),)),
    )


def test_match_many_keeps_only_matching_mentions_in_order() -> None:
    first, second, third = (
        mention("acme", native_id="1"),
        mention("nope", native_id="2"),
        mention("Acme", native_id="3"),
    )
    assert compile_rules([Rule("r", "acme")]).match_many([first, second, third]) == [
        MatchedMention(first, (RuleMatch("r", "brand", False, ((0, 4),)),)),
        MatchedMention(third, (RuleMatch("r", "brand", False, ((0, 4),)),)),
    ]


def test_an_empty_rule_set_matches_nothing() -> None:
    rules = compile_rules([])
    assert (rules.match(mention("acme")), rules.search_terms()) == ((), [])


def test_a_rule_whose_words_are_present_but_not_as_a_match_is_not_matched() -> None:
    rules = compile_rules([Rule("r", '"acme coffee"'), Rule("s", "acme NEAR/0 tea")])
    assert rules.match(mention("coffee by acme, more tea is good, acme")) == ()


# Search terms


def test_search_terms_cover_every_rule_and_merge_shared_terms() -> None:
    rules = compile_rules(
        [
            Rule("brand", 'Acme OR "acme coffee" OR acmeco*', urgent=True),
            Rule("rival", "`Rival` price NOT jobs source:reddit"),
            Rule("near", "(espresso OR latte) NEAR/3 acme"),
            Rule("tags", "#acme lang:en"),
        ]
    )
    assert rules.search_terms() == [
        SearchTerm("acme", ("brand", "near"), True),
        SearchTerm("acme coffee", ("brand",), True),
        SearchTerm("acmeco", ("brand",), True),
        SearchTerm("Rival", ("rival",), False),
        SearchTerm("#acme", ("tags",), False),
    ]


def test_search_terms_avoid_common_words_in_an_and() -> None:
    rules = compile_rules([Rule("r", "about Zed")])
    assert rules.search_terms() == [SearchTerm("zed", ("r",), False)]


def test_search_terms_prefer_the_cheaper_side_of_an_and() -> None:
    rules = compile_rules([Rule("r", "(a OR b OR c) acmeco")])
    assert rules.search_terms() == [SearchTerm("acmeco", ("r",), False)]


# Compile errors


@pytest.mark.parametrize(
    "query",
    ["NOT spam", "source:reddit", "acme OR NOT spam", "lang:en NOT type:comment", "(acme OR site:acme.com) lang:en"],
)
def test_a_rule_without_a_word_every_match_contains_is_refused(query: str) -> None:
    with pytest.raises(QueryError) as raised:
        compile_rules([Rule("only-filters", query)])
    assert str(raised.value) == (
        f'rule "only-filters": query "{query}" needs at least one word or phrase that every match contains; '
        "NOT, field filters and OR with a NOT side cannot find mentions alone"
    )
    assert (raised.value.position, raised.value.expected) == (0, "a word or phrase that every match contains")


def test_a_parse_error_names_the_rule() -> None:
    with pytest.raises(QueryError) as raised:
        compile_rules([Rule("brand", "acme AND (bar")])
    assert str(raised.value) == 'rule "brand": query "acme AND (bar" at column 14: expected \')\' but the query ended'
    assert raised.value.position == 13


def test_a_parse_error_in_an_exclude_names_the_rule_and_the_exclude() -> None:
    with pytest.raises(QueryError) as raised:
        compile_rules([Rule("brand", "acme", exclude=("jobs", "type:job"))])
    assert str(raised.value) == (
        'rule "brand" exclude 2: query "type:job" at column 6: expected post or comment after \'type:\' '
        "but found 'job'"
    )


def test_a_parse_error_in_a_global_exclude_names_it() -> None:
    with pytest.raises(QueryError) as raised:
        compile_rules([Rule("brand", "acme")], exclude=("(spam",))
    assert str(raised.value) == "exclude 1: query \"(spam\" at column 6: expected ')' but the query ended"


def test_excludes_may_be_only_filters_or_negations() -> None:
    rules = compile_rules([Rule("r", "acme", exclude=("NOT lang:en",))], exclude=("source:spamnet",))
    assert rules.match(mention("acme", lang="en")) == (RuleMatch("r", "brand", False, ((0, 4),)),)
    assert rules.match(mention("acme", lang="de")) == ()


def test_two_rules_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match=r'^rule name "r" is used by two rules$'):
        compile_rules([Rule("r", "acme"), Rule("r", "coffee")])


# The compiled matcher agrees with a slow reference evaluator

TOKEN = re.compile(r"[#@]?\w+(?:[.'’\-]\w+)*")


def reference_spans(node: Node, item: Mention, fold_accents: bool) -> list[tuple[int, int]] | None:
    """Evaluate the tree directly with one regex per term over the normalized text."""
    norm = normalize(item.searchable_text, fold_accents=fold_accents)
    text = norm.text

    def term_spans(term: Term) -> list[tuple[int, int]]:
        body = r"\W+".join(re.escape(fold(word, fold_accents=fold_accents)) for word in term.words)
        pattern = {
            "word": rf"(?<!\w)(?=({body})(?!\w))",
            "exact": rf"(?<!\w)(?=({body})(?!\w))",
            "prefix": rf"(?<!\w)(?=({body}\w*))",
            "substring": rf"(?=({body}))",
        }[term.mode]
        spans = [found.span(1) for found in re.finditer(pattern, text)]
        if term.mode == "exact":
            exact = r"\W+".join(re.escape(unicodedata.normalize("NFKC", word)) for word in term.words)
            spans = [
                span
                for span in spans
                if re.fullmatch(exact, unicodedata.normalize("NFKC", norm.original[slice(*norm.original_span(*span))]))
            ]
        return spans

    def word_range(span: tuple[int, int]) -> tuple[int, int]:
        touched = [
            index
            for index, token in enumerate(TOKEN.finditer(text))
            if token.start() < span[1] and token.end() > span[0]
        ]
        return touched[0], touched[-1]

    def field_holds(node: Field) -> bool:
        value = node.value.lower()
        if node.name == "source":
            return item.network.lower() == value
        if node.name == "site":
            hosts = [re.match(r"https?://([^/:?#]+)", link) for link in item.links]
            return any(host and (host.group(1) == value or host.group(1).endswith("." + value)) for host in hosts)
        if node.name == "author":
            return item.author_handle.lower().lstrip("@") == value.lstrip("@")
        if node.name == "lang":
            return item.lang is not None and (item.lang.lower() == value or item.lang.lower().startswith(value + "-"))
        if node.name == "sub":
            return item.community.lower() == value
        if node.name == "tag":
            return value.lstrip("#") in [tag.lower() for tag in item.tags]
        return item.kind == value

    def evaluate(node: Node) -> list[tuple[int, int]] | None:
        if isinstance(node, Term):
            return term_spans(node) or None
        if isinstance(node, Field):
            return [] if field_holds(node) else None
        if isinstance(node, Not):
            return [] if evaluate(node.operand) is None else None
        if isinstance(node, And):
            results = [evaluate(operand) for operand in node.operands]
            return None if any(result is None for result in results) else [s for r in results for s in r or []]
        if isinstance(node, Or):
            results = [result for result in (evaluate(operand) for operand in node.operands) if result is not None]
            return [s for r in results for s in r] if results else None
        left, right = evaluate(node.left) or [], evaluate(node.right) or []
        pairs = [
            (a, b)
            for a in left
            for b in right
            if max(word_range(b)[0] - word_range(a)[1], word_range(a)[0] - word_range(b)[1]) - 1 <= node.distance
        ]
        return [span for pair in pairs for span in pair] or None

    found = evaluate(node)
    if found is None:
        return None
    merged: list[tuple[int, int]] = []
    for start, end in sorted(norm.original_span(*span) for span in set(found)):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def render(node: Node) -> str:
    """The query text for a tree (parenthesized so that it parses back to the same tree)."""
    if isinstance(node, Term):
        inner = " ".join(node.words)
        quoted = f'"{inner}"' if len(node.words) > 1 else inner
        return {"word": quoted, "prefix": f"{inner}*", "substring": f"~{quoted}", "exact": f"`{inner}`"}[node.mode]
    if isinstance(node, Field):
        return f"{node.name}:{node.value}"
    if isinstance(node, Not):
        return f"NOT ({render(node.operand)})"
    if isinstance(node, And | Or):
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(render(operand) for operand in node.operands) + ")"
    return f"{render(node.left)} NEAR/{node.distance} {render(node.right)}"


VOCABULARY = ["acme", "Acme", "ACME", "acmeco", "co", "coffee", "café", "Cafe", "Straße", "strasse", "x1", "é"]
QUERY_WORDS = [*VOCABULARY, "#acme", "@acme", "acme.com", "c++"]
TEXT_PIECES = [*QUERY_WORDS, "cafe\u0301", "ﬁne", "megaacme", "#AcmeCo", "www.acme.com", "😀", "İ"]
SEPARATORS = [" ", "  ", ", ", ".", "-", "\n\n", "_", "/"]


def terms() -> st.SearchStrategy[Term]:
    single = st.builds(
        lambda word, mode: Term((word,), mode),
        st.sampled_from(QUERY_WORDS),
        st.sampled_from(["word", "prefix", "substring", "exact"]),
    )
    phrase = st.builds(
        lambda words, mode: Term(tuple(words), mode),
        st.lists(st.sampled_from(VOCABULARY), min_size=2, max_size=3),
        st.sampled_from(["word", "substring", "exact"]),
    )
    return st.one_of(single, phrase)


FIELDS = st.sampled_from(
    [
        Field("source", "reddit"),
        Field("lang", "en"),
        Field("type", "comment"),
        Field("tag", "acme"),
        Field("site", "acme.com"),
        Field("author", "jane"),
        Field("sub", "coffee"),
    ]
)


def trees() -> st.SearchStrategy[Node]:
    near_side = st.one_of(terms(), st.lists(terms(), min_size=2, max_size=3).map(lambda items: Or(tuple(items))))
    leaves = st.one_of(terms(), terms(), FIELDS, st.builds(Near, near_side, near_side, st.integers(0, 3)))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            children.map(Not),
            st.lists(children, min_size=2, max_size=3).map(lambda items: And(tuple(items))),
            st.lists(children, min_size=2, max_size=3).map(lambda items: Or(tuple(items))),
        ),
        max_leaves=6,
    )


ANCHORED_TREES = st.one_of(terms(), st.builds(lambda term, rest: And((term, rest)), terms(), trees()))


MENTIONS = st.builds(
    lambda pieces, separators, network, lang, kind, tags, links, author, community, title: mention(
        "".join(piece + separator for piece, separator in zip(pieces, separators, strict=False)),
        network=network,
        lang=lang,
        kind=kind,
        tags=tags,
        links=links,
        author_handle=author,
        community=community,
        title=title,
    ),
    st.lists(st.sampled_from(TEXT_PIECES), max_size=16),
    st.lists(st.sampled_from(SEPARATORS), min_size=16, max_size=16),
    st.sampled_from(["reddit", "mastodon"]),
    st.sampled_from(["en", "en-GB", "de", None]),
    st.sampled_from(["post", "comment"]),
    st.sampled_from([(), ("acme",), ("ACME", "x")]),
    st.sampled_from([(), ("https://shop.acme.com/a",), ("https://notacme.com",)]),
    st.sampled_from(["jane", "@Jane", "bob"]),
    st.sampled_from(["coffee", "tea", ""]),
    st.sampled_from(["", "Acme news", "Café"]),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(trees(), ANCHORED_TREES), st.lists(MENTIONS, min_size=1, max_size=4), st.booleans())
def test_compiled_matcher_agrees_with_the_reference_evaluator(
    tree: Node, items: list[Mention], fold_accents: bool
) -> None:
    query = render(tree)
    assert parse_query(query) == tree
    try:
        rules = compile_rules([Rule("r", query)], fold_accents=fold_accents)
    except QueryError as error:
        assert "needs at least one word or phrase" in str(error)
        return
    for item in items:
        expected = reference_spans(tree, item, fold_accents)
        got = rules.match(item)
        assert got == (() if expected is None else (RuleMatch("r", "brand", False, tuple(expected)),))


@settings(max_examples=200, deadline=None)
@given(st.lists(ANCHORED_TREES, min_size=1, max_size=6), st.lists(MENTIONS, min_size=1, max_size=4))
def test_every_match_contains_one_of_its_rules_search_terms(trees_: list[Node], items: list[Mention]) -> None:
    compiled = compile_rules([Rule(f"r{index}", render(tree)) for index, tree in enumerate(trees_)])
    terms_by_rule: dict[str, list[str]] = {}
    for term in compiled.search_terms():
        for name in term.rules:
            terms_by_rule.setdefault(name, []).append(fold(term.term))
    for item in items:
        text = normalize(item.searchable_text).text
        for match in compiled.match(item):
            contained = [term for term in terms_by_rule[match.rule] if all(word in text for word in term.split())]
            assert contained, (match.rule, text)

"""The query language: what each construct parses into, and every error message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.rules import And, Field, Near, Not, Or, QueryError, Term, parse_query


def word(text: str) -> Term:
    return Term((text,))


# Constructs


def test_a_single_word_is_a_whole_word_term() -> None:
    assert parse_query("acme") == Term(("acme",), "word")


def test_adjacent_terms_are_joined_by_and() -> None:
    assert parse_query("acme coffee") == And((word("acme"), word("coffee")))


def test_explicit_and_is_the_same_as_adjacency() -> None:
    assert parse_query("acme AND coffee") == parse_query("acme coffee")


def test_or_joins_alternatives() -> None:
    assert parse_query("acme OR acmeco OR acme.com") == Or((word("acme"), word("acmeco"), word("acme.com")))


def test_and_binds_tighter_than_or() -> None:
    assert parse_query("acme OR big coffee") == Or((word("acme"), And((word("big"), word("coffee")))))


def test_parentheses_group() -> None:
    assert parse_query("(acme OR acmeco) coffee") == And((Or((word("acme"), word("acmeco"))), word("coffee")))


def test_not_applies_to_the_next_term_only() -> None:
    assert parse_query("NOT spam acme") == And((Not(word("spam")), word("acme")))


def test_not_after_a_term_is_and_not() -> None:
    assert parse_query("acme NOT (jobs OR hiring)") == And((word("acme"), Not(Or((word("jobs"), word("hiring"))))))


def test_double_not_is_kept() -> None:
    assert parse_query("acme NOT NOT coffee") == And((word("acme"), Not(Not(word("coffee")))))


def test_lowercase_operators_are_ordinary_words() -> None:
    assert parse_query("salt and pepper or near") == And(
        (word("salt"), word("and"), word("pepper"), word("or"), word("near"))
    )


def test_quotes_make_a_phrase_of_whitespace_separated_words() -> None:
    assert parse_query('"acme   coffee co"') == Term(("acme", "coffee", "co"), "word")


def test_quoted_operators_are_words() -> None:
    assert parse_query('"AND" "NOT"') == And((word("AND"), word("NOT")))


def test_star_at_the_end_is_a_prefix() -> None:
    assert parse_query("acme*") == Term(("acme",), "prefix")


def test_tilde_is_a_substring() -> None:
    assert parse_query("~acme") == Term(("acme",), "substring")


def test_tilde_before_quotes_is_a_substring_phrase() -> None:
    assert parse_query('~"acme co"') == Term(("acme", "co"), "substring")


def test_backticks_are_an_exact_case_term() -> None:
    assert parse_query("`Acme`") == Term(("Acme",), "exact")


def test_backticks_around_words_are_an_exact_case_phrase() -> None:
    assert parse_query("`Acme Coffee`") == Term(("Acme", "Coffee"), "exact")


def test_hashtags_handles_and_domains_are_words() -> None:
    assert parse_query("#acme @acme acme.com") == And((word("#acme"), word("@acme"), word("acme.com")))


def test_near_takes_a_distance() -> None:
    assert parse_query("acme NEAR/3 coffee") == Near(word("acme"), word("coffee"), 3)


def test_near_zero_is_allowed() -> None:
    assert parse_query("acme NEAR/0 coffee") == Near(word("acme"), word("coffee"), 0)


def test_near_binds_tighter_than_and_and_not() -> None:
    assert parse_query("NOT acme NEAR/2 coffee tea") == And((Not(Near(word("acme"), word("coffee"), 2)), word("tea")))


def test_near_accepts_alternatives_in_parentheses() -> None:
    assert parse_query('(acme OR "acme co") NEAR/5 (price* OR ~cost)') == Near(
        Or((word("acme"), Term(("acme", "co")))), Or((Term(("price",), "prefix"), Term(("cost",), "substring"))), 5
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("source:reddit", Field("source", "reddit")),
        ("site:acme.com", Field("site", "acme.com")),
        ("author:@jane", Field("author", "@jane")),
        ("lang:en", Field("lang", "en")),
        ("sub:smallbusiness", Field("sub", "smallbusiness")),
        ("tag:acme", Field("tag", "acme")),
        ("type:post", Field("type", "post")),
        ("type:comment", Field("type", "comment")),
        ('sub:"ask  reddit"', Field("sub", "ask reddit")),
    ],
)
def test_field_filters(query: str, expected: Field) -> None:
    assert parse_query(query) == expected


def test_field_filters_combine_with_terms() -> None:
    assert parse_query("acme source:reddit NOT type:comment") == And(
        (word("acme"), Field("source", "reddit"), Not(Field("type", "comment")))
    )


def test_a_colon_after_digits_is_part_of_a_word() -> None:
    assert parse_query("10:30") == word("10:30")


def test_nodes_remember_where_they_start() -> None:
    tree = parse_query('acme  (x OR "y z") NOT source:reddit')
    assert isinstance(tree, And)
    assert [operand.position for operand in tree.operands] == [0, 7, 19]
    assert [operand.position for operand in tree.operands[1].operands] == [7, 12]  # type: ignore[union-attr]


# Errors: every message exactly

NEAR_FORMS = "NEAR/n with n a number of words from 0 to 100, like NEAR/3, or NEAR/sentence"

@pytest.mark.parametrize(
    ("query", "column", "expected", "but"),
    [
        ("foo AND (bar", 13, "')'", "the query ended"),
        ("", 1, "a word, \"phrase\", field:value, NOT or '('", "the query ended"),
        ("   ", 4, "a word, \"phrase\", field:value, NOT or '('", "the query ended"),
        ("acme AND", 9, "a word, \"phrase\", field:value, NOT or '('", "the query ended"),
        ("acme OR )", 9, "a word, \"phrase\", field:value, NOT or '('", "found ')'"),
        ("AND acme", 1, "a word, \"phrase\", field:value, NOT or '('", "found AND"),
        ("acme NOT", 9, "a word, \"phrase\", field:value, NOT or '('", "the query ended"),
        ("()", 2, "a word, \"phrase\", field:value, NOT or '('", "found ')'"),
        ("acme)", 5, "a '(' before it", "found ')'"),
        ('"acme co', 9, 'a closing " for the one at column 1', "the query ended"),
        ('acme ""', 7, 'a word or phrase between " and "', "found '\"'"),
        ("`Acme", 6, "a closing ` for the one at column 1", "the query ended"),
        ('"!! &"', 2, "a word or phrase with a letter or digit", "found '!! &'"),
        ('`&`', 2, "a word or phrase with a letter or digit", "found '&'"),
        ("acme !!", 6, "a word with a letter or digit", "found '!!'"),
        ("ac*me", 3, "'*' only at the end of a word", "found 'ac*me'"),
        ("#*", 1, "a word with a letter or digit", "found '#*'"),
        ("~", 2, "a word or \"phrase\" right after '~'", "the query ended"),
        ("~ acme", 2, "a word or \"phrase\" right after '~'", "found a space"),
        ("~acme*", 6, "no '*' after '~' (~ already matches inside words)", "found '*'"),
        ("~--", 2, "a word with a letter or digit", "found '--'"),
        ("NEAR", 1, NEAR_FORMS, "found 'NEAR'"),
        ("a NEAR/x b", 3, NEAR_FORMS, "found 'NEAR/x'"),
        ("a NEAR/101 b", 3, NEAR_FORMS, "found 'NEAR/101'"),
        ("a NEAR/2", 9, "a word or phrase (or words joined by OR in parentheses) next to NEAR", "the query ended"),
        ("a NEAR/2 NOT b", 10, "a word or phrase (or words joined by OR in parentheses) next to NEAR", "found NOT"),
        ("a NEAR/2 (b c)", 10, "a word or phrase (or words joined by OR in parentheses) next to NEAR", "found '(b c)'"),
        ("(a b) NEAR/2 c", 1, "a word or phrase (or words joined by OR in parentheses) next to NEAR", "found '(a b)'"),
        (
            "lang:en NEAR/2 c",
            1,
            "a word or phrase (or words joined by OR in parentheses) next to NEAR",
            "found 'lang:en'",
        ),
        ("a NEAR/2 b NEAR/2 c", 12, "AND or OR between two NEAR", "found NEAR/2"),
        ("color:red", 1, "a field name (source, site, author, lang, sub, tag, type) before ':'", "found 'color'"),
        ("Source:reddit", 1, "a field name (source, site, author, lang, sub, tag, type) before ':'", "found 'Source'"),
        ("source:", 8, "a value after 'source:'", "the query ended"),
        ("source: reddit", 8, "a value after 'source:'", "found a space"),
        ("type:story", 6, "post or comment after 'type:'", "found 'story'"),
        ("site:acme..com", 6, "a domain like example.com after 'site:'", "found 'acme..com'"),
        ("site:https://acme.com", 6, "a domain like example.com after 'site:'", "found 'https://acme.com'"),
        ('sub:"x', 7, 'a closing " for the one at column 5', "the query ended"),
    ],
)
def test_parse_errors_say_the_column_and_what_was_expected(query: str, column: int, expected: str, but: str) -> None:
    with pytest.raises(QueryError) as raised:
        parse_query(query)
    assert str(raised.value) == f'query "{query}" at column {column}: expected {expected} but {but}'
    assert (raised.value.position, raised.value.expected) == (column - 1, expected)


def test_query_error_carries_position_and_expected() -> None:
    with pytest.raises(QueryError) as raised:
        parse_query("foo AND (bar")
    assert (raised.value.position, raised.value.expected) == (12, "')'")
    assert raised.value.message == str(raised.value)


# Properties

QUERYISH = st.text(alphabet=list('acme AND OR NOT NEAR/3 ()"`~*#@.:-_ésource:site:typepost\n'), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), QUERYISH))
def test_parse_query_raises_nothing_but_query_error(text: str) -> None:
    try:
        parse_query(text)
    except QueryError as error:
        assert 0 <= error.position <= len(text)
        assert str(error).startswith(f'query "{text}" at column {error.position + 1}: expected {error.expected} but ')

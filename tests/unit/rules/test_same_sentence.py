"""Rules for names that are common words: a word near context words in the same sentence, and a place
filter written as an exclude (docs/queries.md "Names that are common words")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from chalicelib.model import Mention, RuleGroup
from chalicelib.rules import Near, QueryError, Term, compile_rules, parse_query
from chalicelib.rules.query import SAME_SENTENCE


@dataclass(frozen=True)
class Rule:
    name: str
    query: str
    exclude: tuple[str, ...] = ()
    group: RuleGroup = "brand"
    urgent: bool = False


def mention(text: str) -> Mention:
    return Mention(network="reddit", native_id="1", url="", text=text,
                   created_at=dt.datetime(2026, 11, 27, tzinfo=dt.UTC))


HARBOR = compile_rules([
    Rule("harbor", "harbor NEAR/sentence (bakery OR croissant* OR bread)",
         exclude=("harbor NEAR/sentence (Manchester OR Leeds)",)),
])


def test_near_sentence_parses_to_a_near_of_any_distance_within_a_sentence() -> None:
    assert parse_query("harbor NEAR/sentence bread") == Near(Term(("harbor",), "word"), Term(("bread",), "word"),
                                                             SAME_SENTENCE)


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("Harbor has the best croissants in town, honestly.", True),
        ("The harbor was foggy this morning. I bought bread on the way home.", False),
        ("The harbor was foggy\nbread was fresh", False),
        ("Got bread at harbor.com today", True),  # the dot inside a domain ends no sentence
        # the place filter: the same name in another city, in the same sentence
        ("Harbor bakery in Manchester is great.", False),
        ("Harbor bakery rocks! Flying to Manchester tomorrow.", True),
    ],
)
def test_context_words_count_only_in_the_same_sentence(text: str, matched: bool) -> None:
    assert bool(HARBOR.match(mention(text))) is matched


def test_spans_are_the_words_of_the_shared_sentence_only() -> None:
    text = "Harbor bread. Harbor at dusk."
    (match,) = HARBOR.match(mention(text))
    assert [text[start:end] for start, end in match.spans] == ["Harbor", "bread"]


def test_a_case_sensitive_name_with_context_words() -> None:
    rules = compile_rules([Rule("proof", "`Proof` NEAR/sentence (bakery OR sourdough OR loaf)")])
    assert rules.match(mention("Proof has the best sourdough loaf."))
    assert not rules.match(mention("The proof is in the sourdough."))


def test_a_misspelt_sentence_form_is_refused_with_what_was_expected() -> None:
    with pytest.raises(QueryError, match="like NEAR/3, or NEAR/sentence but found 'NEAR/sent'"):
        parse_query("harbor NEAR/sent bread")

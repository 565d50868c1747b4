"""The per-business model of the owner's clicks: what a click teaches, when it holds back, corrections, storage."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from chalicelib.model import MatchedMention, Mention, RuleMatch
from chalicelib.triage import Triage
from chalicelib.triage.intent import Intent
from chalicelib.triage.learn import (
    BUCKETS,
    HOLD_REASON,
    MAX_CORRECTIONS,
    MAX_COUNT,
    MAX_SCORES,
    MAX_STORED_BYTES,
    SIGNATURE_SIZE,
    Correction,
    FeedbackModel,
    bucket,
    features,
    kind,
)

NOISE = ("Fireworks over the harbor tonight.", "A harbor seal napped on the dock.", "Fog rolled over the harbor.")
RELEVANT = ("Harbor has the best morning buns.", "Got sourdough at Harbor today.", "Harbor Bakery opens at 7.")


def matched(
    text: str, term: str = "harbor", intents: frozenset[Intent] | None = None, **fields: object
) -> MatchedMention:
    """``text`` as a reddit mention the rule "Harbor" matched at the first ``term`` (any case)."""
    start = text.casefold().index(term.casefold())
    mention = Mention(
        network="reddit",
        native_id=str(abs(hash(text))),
        url="",
        text=text,
        created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        **fields,  # type: ignore[arg-type]
    )
    judged = None
    if intents is not None:
        judged = Triage(0.0, "neutral", intents, 10, (), False)
    return MatchedMention(mention, (RuleMatch("Harbor", "brand", False, ((start, start + len(term)),)),), judged)


def clicked() -> FeedbackModel:
    """Three Not relevant clicks on the harbor as a place, three relevant ones on the bakery."""
    model = FeedbackModel()
    for text in NOISE:
        model.record(matched(text), "not_relevant")
    for text in RELEVANT:
        model.record(matched(text), "relevant")
    return model


def test_features_are_words_the_name_s_neighbours_and_form_the_rule_and_where() -> None:
    assert features(matched("I love the harbor at sunset.")) == {
        "love", "harbor", "sunset",
        "before:the", "after:at", "form:lower",
        "rule:harbor", "network:reddit",
    }  # fmt: skip


def test_features_name_the_author_community_and_linked_sites() -> None:
    mention = matched(
        "Harbor Bakery's buns!", links=("https://www.example.com/menu",), author_handle="@Bob", community="Seattle"
    )
    assert features(mention) == {
        "harbor", "bakery's", "buns",
        "after:bakery's", "form:start",
        "rule:harbor", "network:reddit", "community:seattle", "author:reddit:bob", "site:example.com",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("We sailed into the harbor.", "form:lower"),
        ("Buns from Harbor again.", "form:capital"),
        ("Buns from HARBOR again.", "form:upper"),
        ("Closed today. Harbor reopens Monday.", "form:start"),
        ("closed today, harbor reopens monday", "form:casual"),
        ("Run `harbor export` first.", "form:code"),
    ],
)
def test_form_says_how_the_name_was_written_lower_case_only_where_the_author_capitalises(text: str, form: str) -> None:
    assert {f for f in features(matched(text)) if f.startswith("form:")} == {form}


def _two_spans(text: str, rule: str, *terms: str) -> MatchedMention:
    spans = tuple((text.index(t), text.index(t) + len(t)) for t in terms)
    return MatchedMention(matched(text, terms[0]).mention, (RuleMatch(rule, "brand", False, spans),))


def test_only_the_name_s_form_and_neighbours_are_read_not_those_of_the_rule_s_context_words() -> None:
    # The rule `harbor AND bread` matched "bread" too: its lower case is not the name in lower case.
    both = _two_spans("Got rye bread at Harbor today.", "Harbor", "bread", "Harbor")
    assert {f for f in features(both) if kind(f) in {"form", "before", "after"}} == {
        "form:capital", "before:at", "after:today"
    }
    assert FeedbackModel().noise_log_odds(both) == FeedbackModel().noise_log_odds(matched("Got rye at Harbor today."))
    # "Harbor Bakery" names the rule "Harbor" too; a rule whose name no span writes reads every span.
    assert "after:sold" in features(_two_spans("Harbor Bakery sold rye bread.", "Harbor", "Harbor Bakery", "bread"))
    unnamed = _two_spans("Got rye bread at Harbor today.", "Bakery", "bread", "Harbor")
    assert {"form:lower", "form:capital"} <= features(unnamed)


def test_buckets_are_stable_across_processes() -> None:
    assert (bucket("form:lower"), bucket("after:seal")) == (100, 654)


def test_a_new_model_leans_on_its_prior_but_holds_nothing_back() -> None:
    model, lower = FeedbackModel(), matched("We watched the harbor")
    # Prior only: log((2+1)/(3+1)) + log((2.5/3) / (0.5/4)) = log 5; the other features are unseen.
    assert model.noise_log_odds(lower) == pytest.approx(math.log(5))
    assert model.hold_back(lower) is None


def test_model_holds_back_what_the_owner_called_noise_and_says_why() -> None:
    model = clicked()
    assert model.hold_back(matched("Sailboats in the harbor at dusk.")) == (
        f'{HOLD_REASON} (like mentions you marked not relevant: the name in lower case, "the" before the name)'
    )
    assert model.hold_back(matched("Harbor croissants are back!")) is None
    assert model.hold_back(matched("I love Harbor, the rye is great.")) is None


def test_model_needs_clicks_of_both_kinds_before_holding_anything_back() -> None:
    model = FeedbackModel()
    for text in NOISE:
        model.record(matched(text), "not_relevant")
    model.record(matched(RELEVANT[0]), "relevant")
    model.record(matched(RELEVANT[1]), "relevant")
    assert model.noise_log_odds(matched("Sailboats in the harbor at dusk.")) > 3
    assert model.hold_back(matched("Sailboats in the harbor at dusk.")) is None


def test_a_mention_scored_like_one_the_owner_kept_is_not_held_back() -> None:
    model, sailboats = clicked(), matched("Sailboats in the harbor at dusk.")
    score = model.noise_log_odds(sailboats)
    model.relevant_scores = [round(score, 2)]  # the owner once kept a mention the model scored as high
    assert model.hold_back(sailboats) is None


def test_relevance_reads_only_the_features_it_is_given_and_they_are_not_stored() -> None:
    network_only = FeedbackModel(reads=lambda m: {f"network:{m.mention.network}"})
    network_only.record(matched("Fireworks over the harbor tonight."), "not_relevant")
    assert network_only.counts["not_relevant"][bucket("network:reddit")] == 1
    assert network_only.counts["not_relevant"][bucket("after:tonight")] == 0
    # Only "network:reddit" is seen: log((3+1)/(3+1)) + log((1.5/4) / (0.5/4)).
    assert network_only.noise_log_odds(matched("Harbor Bakery opens at 7.")) == pytest.approx(math.log(3))
    assert "reads" not in json.loads(network_only.to_json())

    shipped = FeedbackModel()
    shipped.record(matched("Fireworks over the harbor tonight."), "not_relevant")
    assert shipped.counts["not_relevant"][bucket("after:tonight")] == 1
    assert shipped.counts["not_relevant"][bucket("fireworks")] == 0  # words are not read for relevance


def test_a_relevant_click_remembers_the_score_it_got_before_learning() -> None:
    model = FeedbackModel()
    lower = matched("the harbor bakery makes great rye")
    before = model.noise_log_odds(lower)
    model.record(lower, "relevant")
    assert model.relevant_scores == [round(before, 2)]
    assert model.clicks == {"relevant": 1, "not_relevant": 0}
    assert model.noise_log_odds(lower) < before


def test_a_wrong_label_click_corrects_similar_mentions_only() -> None:
    model = FeedbackModel()
    original = matched("Harbor raised the price of a loaf to twelve dollars, love that", intents=frozenset({"praise"}))
    model.record(original, "complaint")
    assert model.clicks == {"relevant": 1, "not_relevant": 0}
    again = matched("Harbor raised the price of a loaf to twelve dollars, love that!", intents=frozenset({"praise"}))
    assert model.corrected_intents(again) == {"complaint"}
    other = matched("Harbor has the best morning buns, love that", intents=frozenset({"praise"}))
    assert model.corrected_intents(other) == {"praise"}


def test_corrections_keep_the_intents_the_owner_did_not_dispute() -> None:
    model = FeedbackModel()
    said: frozenset[Intent] = frozenset({"praise", "question"})
    model.record(matched("Is Harbor open on Sunday? Their buns are a joke", intents=said), "complaint")
    assert model.corrected_intents(matched("Is Harbor open on Sunday? Their buns are a joke", intents=said)) == {
        "complaint"
    }
    assert model.corrections[0].not_intents == {"praise", "question"}


def test_an_unknown_label_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown feedback label 'spam'; expected one of relevant, not_relevant, q"):
        FeedbackModel().record(matched(NOISE[0]), "spam")  # type: ignore[arg-type]


def test_counts_past_the_cap_halve_so_old_clicks_weigh_less() -> None:
    model = FeedbackModel()
    model.counts["not_relevant"][bucket("after:seal")] = MAX_COUNT
    model.record(matched("A harbor seal napped."), "not_relevant")
    assert model.counts["not_relevant"][bucket("after:seal")] == (MAX_COUNT + 1) // 2
    assert model.votes["not_relevant"] == (2 + 1) // 2  # the prior's two virtual clicks and this one, halved


def test_model_round_trips_through_its_stored_form() -> None:
    model = clicked()
    model.record(matched("Harbor's rye is stale again", intents=frozenset({"praise"})), "complaint")
    assert FeedbackModel.from_json(model.to_json()) == model


def test_the_largest_model_stays_within_the_stored_bound() -> None:
    model = FeedbackModel(
        counts={"relevant": [MAX_COUNT] * BUCKETS, "not_relevant": [MAX_COUNT] * BUCKETS},
        votes={"relevant": MAX_COUNT, "not_relevant": MAX_COUNT},
        clicks={"relevant": MAX_COUNT, "not_relevant": MAX_COUNT},
        relevant_scores=[-123.45] * MAX_SCORES,
        corrections=[
            Correction(
                frozenset(range(BUCKETS - SIGNATURE_SIZE, BUCKETS)),
                "recommendation_request",
                frozenset({"question", "complaint", "praise", "purchase_intent", "churn"}),
            )
        ]
        * MAX_CORRECTIONS,
    )
    stored = model.to_json()
    assert len(stored.encode()) <= MAX_STORED_BYTES == 40_000
    assert FeedbackModel.from_json(stored) == model


def _stored(**change: object) -> str:
    item = json.loads(clicked().to_json())
    item.update(change)
    return json.dumps(item)


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("{", "stored feedback model is not JSON: Expecting property name enclosed in double quotes"),
        ('{"version": 2}', "stored feedback model: version must be 1"),
        (_stored(counts={"relevant": []}), "stored feedback model: counts.relevant must be 2048 counts 0-9999"),
        (_stored(counts={}), "stored feedback model: counts.relevant is missing"),
        (_stored(votes={"relevant": -1, "not_relevant": 0}), "stored feedback model: votes.relevant must be a count"),
        (_stored(relevant_scores=["high"]), "stored feedback model: relevant_scores must be at most 32 numbers"),
        (_stored(corrections=[{"signature": [1], "intent": "rant", "not": []}]),
         r"stored feedback model: corrections\[0\].intent must be one of question, "),
        (_stored(corrections=[{"signature": [BUCKETS], "intent": "praise", "not": []}]),
         r"stored feedback model: corrections\[0\].signature must be at most 24 bucket numbers"),
    ],
)
def test_a_malformed_stored_model_is_refused_naming_the_field(stored: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FeedbackModel.from_json(stored)


def test_a_link_that_is_not_a_url_teaches_nothing_and_breaks_nothing() -> None:
    mention = matched("Harbor buns.", links=("http://[::1", "https://harborbakery.example/menu"))
    assert {f for f in features(mention) if f.startswith("site:")} == {"site:harborbakery.example"}


def test_only_the_first_twenty_matched_spans_are_read() -> None:
    text = "harbor " * 30 + "Harbor"
    spans = tuple((7 * n, 7 * n + 6) for n in range(31))
    mention = Mention(
        network="reddit", native_id="1", url="", text=text, created_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    )
    found = features(MatchedMention(mention, (RuleMatch("Harbor", "brand", False, spans),)))
    # The capitalised 31st "Harbor" is not read: no "form:capital".
    assert {f for f in found if f.startswith("form:")} == {"form:start", "form:lower"}

"""bench.learning's replay: clicks only on alerts let through, figures only from the measured stream."""

from __future__ import annotations

from bench.learning import FIRST_RULES, ceiling, matched_stream, owner_knowledge, replay, telling_shares
from bench.learning_variants import LogisticModel
from bench.triage_eval import DEV_SET
from tests.unit.triage.test_learn import matched

NOISE = [
    ("Harbor", matched("Fireworks over the harbor tonight."), False),
    ("Harbor", matched("A harbor seal napped on the dock."), False),
]
RELEVANT = [
    ("Harbor", matched("Harbor has the best morning buns."), True),
    ("Harbor", matched("Got sourdough at Harbor today."), True),
    ("Harbor", matched("Harbor Bakery opens at 7."), True),
]
MEASURED = [
    ("Harbor", matched("Sailboats in the harbor at dusk."), False),
    ("Harbor", matched("Harbor croissants are back!"), True),
    ("Harbor", matched("I love Harbor, the rye is great."), True),
    ("Harbor", matched("Harbor Bakery sold out of rye by noon."), True),
]


def test_without_clicks_every_match_is_alerted() -> None:
    noise, missed, stored = replay([*NOISE, *RELEVANT], MEASURED, 0)
    assert (noise, missed) == (0.25, 0.0)
    assert stored < 10_000


def test_clicks_teach_the_models_and_the_measured_stream_is_judged_without_clicks() -> None:
    noise, missed, _ = replay([*NOISE, *RELEVANT], MEASURED, 5)
    assert (noise, missed) == (0.0, 0.0)


def test_clicks_stop_at_the_number_given() -> None:
    # Four clicks: two Not relevant, two relevant; the model needs three relevant before holding anything.
    noise, missed, _ = replay([*NOISE, *RELEVANT], MEASURED, 4)
    assert (noise, missed) == (0.25, 0.0)


FIREWORKS = [
    ("Harbor", matched("Fireworks over the harbor tonight."), False),
    ("Harbor", matched("Harbor sells fireworks cupcakes."), True),
]
FIREWORKS_MEASURED = [
    ("Harbor", matched("More fireworks over the harbor."), False),
    ("Harbor", matched("Harbor has fireworks cupcakes again!"), True),
    ("Harbor", matched("Harbor rye is great."), True),
]


def test_an_owner_accepts_the_first_offered_exclusion_it_does_not_recognise() -> None:
    # One Not relevant click offers "fireworks" first; accepted, it keeps out both measured mentions
    # with the word: the noise, and a relevant one, counted as missed.
    noise, missed, _ = replay(FIREWORKS[:1], FIREWORKS_MEASURED, 1, knows=lambda business, term: False)
    assert (noise, missed) == (0.0, 0.5)


def test_an_owner_refuses_an_exclusion_that_names_its_business() -> None:
    knows = owner_knowledge(FIREWORKS)  # the relevant post speaks of fireworks cupcakes
    assert knows("Harbor", "fireworks") and not knows("Harbor", "tonight")
    noise, missed, _ = replay(FIREWORKS[:1], FIREWORKS_MEASURED, 1, knows=knows)
    assert (noise, missed) == (1 / 3, 0.0)  # "tonight" accepted instead: in none of the measured posts


def test_without_knowledge_no_exclusion_is_offered() -> None:
    noise, missed, _ = replay(FIREWORKS[:1], FIREWORKS_MEASURED, 1)
    assert (noise, missed) == (1 / 3, 0.0)


def test_telling_shares_count_features_only_clicked_noise_had() -> None:
    clicked = [
        ("Harbor", matched("A harbor seal napped on the dock."), False),
        ("Harbor", matched("Harbor has the best morning buns."), True),
    ]
    measured = [
        ("Harbor", matched("The harbor seal is back."), False),  # "seal" after the name: only noise had it
        ("Harbor", matched("Fireworks over Pearl Harbor."), False),  # nothing clicked noise had
        ("Harbor", matched("Harbor has rye."), True),  # "after:has": clicked relevant had it too
    ]
    assert telling_shares([(clicked, measured)], 2) == (0.5, 0.0)


def test_the_ceiling_holds_the_highest_scored_mentions_while_no_relevant_one_is_held() -> None:
    # After five clicks the lower-case "the harbor" scores above every relevant mention: held, no noise left.
    assert ceiling([*NOISE, *RELEVANT], MEASURED, 5) == 0.0


def test_the_ceiling_cannot_split_mentions_scored_alike() -> None:
    # Without clicks only the prior scores: both lower-case mentions score alike, and one is relevant,
    # so no threshold holds the noise without it; the noise rate stays that of every match.
    measured = [
        ("Harbor", matched("Sailboats in the harbor at dusk."), False),
        ("Harbor", matched("Rye at harbor, yum."), True),
        ("Harbor", matched("Harbor Bakery sold out of rye by noon."), True),
    ]
    assert ceiling([], measured, 0) == 1 / 3
    assert ceiling([], measured[:1] + measured[2:], 0) == 0.0


def test_the_logistic_variant_learns_from_clicks_and_keeps_the_shipped_hold_rule() -> None:
    model = LogisticModel()
    sailboats = matched("Sailboats in the harbor at dusk.")
    before = model.noise_log_odds(sailboats)
    for _, mention, relevant in [*NOISE, *RELEVANT]:
        model.record(mention, "relevant" if relevant else "not_relevant")
    assert model.clicks == {"relevant": 3, "not_relevant": 2}
    assert len(model.relevant_scores) == 3  # each scored by the regression before it learnt from the click
    assert model.noise_log_odds(sailboats) > before
    assert model.noise_log_odds(sailboats) > 0 > model.noise_log_odds(matched("Harbor croissants are back!"))
    assert model.hold_back(sailboats) is not None
    assert model.hold_back(matched("Harbor croissants are back!")) is None


def test_with_the_owner_rule_the_stream_holds_the_same_mentions_some_also_matching_the_full_rule() -> None:
    plain, owned = matched_stream(DEV_SET), matched_stream(DEV_SET, owner_rule=True)
    assert [(b, m.mention.native_id, r) for b, m, r in owned] == [(b, m.mention.native_id, r) for b, m, r in plain]
    assert all(o.matches[0] == p.matches[0] for (_, o, _), (_, p, _) in zip(owned, plain, strict=True))
    assert {match.rule for _, m, _ in owned for match in m.matches} == {
        *FIRST_RULES, *(f"{business} full rule" for business in FIRST_RULES)
    }

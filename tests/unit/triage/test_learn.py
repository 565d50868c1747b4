"""The per-business model of the owner's clicks: learns noise words, holds back only when confident."""

from __future__ import annotations

import json

import pytest

from chalicelib.triage.learn import MIN_VOTES_EACH, OwnerModel, features

RELEVANT = [
    "Pebble on Grant Ave resoled my boots in a week.",
    "The new loafers at Pebble fit perfectly.",
    "Pebble's staff spent half an hour fitting my sneakers.",
    "Bought chelsea boots at Pebble, great shop.",
]
NOISE = [
    "My Pebble smartwatch firmware update bricked it.",
    "Rebble keeps the Pebble smartwatch alive after all these years.",
    "Pebble smartwatch battery still lasts a week.",
    "Found my old Pebble smartwatch in a drawer.",
]


def trained() -> OwnerModel:
    model = OwnerModel()
    for _ in range(2):  # a few weeks of clicks on the same kinds of mention
        for relevant, noise in zip(RELEVANT, NOISE, strict=True):
            model.learn(relevant, ("Pebble",), relevant=True)
            model.learn(noise, ("Pebble",), relevant=False)
    return model


def test_features_are_words_without_stop_words_plus_the_rule() -> None:
    assert features("The Pebble is in my shoe", ("Pebble",)) == {"pebble": 1, "shoe": 1, "rule:pebble": 1}


def test_an_untrained_model_holds_nothing_back() -> None:
    assert OwnerModel().noise_probability("Pebble smartwatch") == 0.5
    assert not OwnerModel().holds_back("Pebble smartwatch")


def test_model_holds_back_what_the_owner_called_noise_and_keeps_the_rest() -> None:
    model = trained()
    assert model.holds_back("Rebble says my old Pebble smartwatch firmware still works.", ("Pebble",))
    assert not model.holds_back("Pebble fitted my boots on Grant Ave.", ("Pebble",))


def test_model_needs_votes_of_both_kinds_before_holding_anything_back() -> None:
    model = OwnerModel()
    for noise in NOISE[: MIN_VOTES_EACH]:
        model.learn(noise, (), relevant=False)
    model.learn(RELEVANT[0], (), relevant=True)
    assert model.noise_probability("Pebble smartwatch firmware") > 0.8
    assert not model.holds_back("Pebble smartwatch firmware")


def test_model_round_trips_through_its_stored_form() -> None:
    model = trained()
    stored = json.loads(json.dumps(model.to_dict()))
    assert OwnerModel.from_dict(stored) == model


def test_a_malformed_stored_model_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="stored owner model is malformed: KeyError\\('votes'\\)"):
        OwnerModel.from_dict({"words": {"relevant": {}, "noise": {}}})

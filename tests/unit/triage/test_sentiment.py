"""Sentiment: VADER plus the domain adjustments, each shown against plain VADER's mistake."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.triage.sentiment import (
    MAX_SCORED_CHARS,
    NEUTRAL_BAND,
    is_sarcastic,
    label_for,
    plain_vader,
    rewrite_idioms,
    sentiment,
)


def test_importing_triage_does_not_load_vader() -> None:
    code = "import sys, chalicelib.triage; print(any(m.startswith('vaderSentiment') for m in sys.modules))"
    # A fresh interpreter, since this one has loaded VADER already; the command line is fixed.
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "plain_label", "label"),
    [
        # "sick" and "killer" are praise in café talk
        ("The cold brew at Bean There is sick.", "negative", "positive"),
        ("Their oat latte is killer.", "negative", "positive"),
        ("The croissants are to die for.", "negative", "positive"),
        ("The cardamom bun is dangerously good.", "neutral", "positive"),
        # missing food and price words
        ("The croissants were stale and the coffee lukewarm.", "neutral", "negative"),
        ("The bread was burnt.", "neutral", "negative"),
        ("The pastries are on another level.", "neutral", "positive"),
        ("The app is so slow.", "neutral", "negative"),
        # "support" is a department, not kindness
        ("Their support team answered in an hour.", "positive", "neutral"),
        # the customer is gone
        ("Ordered twice, never again.", "neutral", "negative"),
        ("Still no reply from support after a week.", "positive", "negative"),
        ("Honestly their customer support is a joke.", "positive", "negative"),
        ("Harbor used to be my favourite bakery.", "neutral", "negative"),
        ("Done with Tally. Exporting everything.", "neutral", "negative"),
        ("The wifi is down and nobody seems to care.", "positive", "negative"),
        # a few non-English words; German "die" is an article
        ("Die Zimtschnecken sind die besten in Seattle.", "negative", "positive"),
        ("A assinatura é cara e a planta chegou murcha.", "neutral", "negative"),
        ("Não recomendo a loja.", "neutral", "negative"),
        # sarcasm
        ("Oh great, they raised the latte price again.", "positive", "negative"),
        ("Yeah right, fast service. 40 minutes for two coffees.", "positive", "negative"),
        ("Love waiting 45 minutes for one shoe.", "positive", "negative"),
        ("Sprout sent gnats with the fern. Thanks for nothing.", "positive", "negative"),
        # asking whether it is good is not saying it is
        ("Is Harbor any good? Thinking of going Saturday.", "positive", "neutral"),
    ],
)
def test_adjustment_fixes_what_plain_vader_gets_wrong(text: str, plain_label: str, label: str) -> None:
    assert plain_vader(text).label == plain_label
    assert sentiment(text).label == label


@pytest.mark.parametrize(
    "text",
    ["No complaints about the service today.", "Not bad at all, the new cortado.", "Can't complain, quick and tasty."],
)
def test_negated_complaint_stays_positive_with_the_wider_neutral_band(text: str) -> None:
    assert sentiment(text).compound >= NEUTRAL_BAND
    assert sentiment(text).label == "positive"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("My kid is sick so we stayed home.", "negative"),
        ("Saw a killer whale from the ferry.", "negative"),
        ("The cold brew is on the menu again.", "neutral"),
        ("Does Pebble carry wide sizes?", "neutral"),
        ("Bean There is hiring a part-time barista, weekends only.", "neutral"),
    ],
)
def test_words_keep_their_plain_meaning_outside_the_idioms(text: str, label: str) -> None:
    assert sentiment(text).label == label


def test_sick_is_praise_only_when_a_thing_is_sick() -> None:
    assert rewrite_idioms("The cold brew is so sick") == "The cold brew is great"
    assert rewrite_idioms("She is sick today") == "She is sick today"


def test_killer_is_excellent_except_for_whales_and_serial_killers() -> None:
    assert rewrite_idioms("killer latte, killer whale, serial killer") == "excellent latte, killer whale, serial killer"


@pytest.mark.parametrize(
    ("text", "sarcastic"),
    [
        ("Oh great, Bean There raised the latte to $7.50.", True),
        ("wow bean there really said 'we're out of milk' at 8am", True),
        ("Sure, Pebble, 'handcrafted'.", True),
        ("Love how open at 7 means 7:25.", True),
        ("Great coffee and great people.", False),
        ("Wow! Best croissant I have ever had.", False),
        ("Great, the new menu is out!", False),
        ("Sure, I can recommend them.", False),
        ("Sure, I can recommend them. If you enjoy waiting 40 minutes.", True),
        ("Harbor Bakery gave the leftover bread to the shelter. Love that.", False),
    ],
)
def test_sarcasm_marks(text: str, sarcastic: bool) -> None:
    assert is_sarcastic(text) is sarcastic


def test_sarcasm_turns_praise_into_a_clear_negative() -> None:
    result = sentiment("Oh wonderful, Sprout sent me a cactus for the third month in a row.")
    assert result.label == "negative"
    assert result.compound <= -(NEUTRAL_BAND + 0.05)


def test_post_of_only_questions_scores_zero() -> None:
    assert sentiment("Is the cold brew any good? Is it better than the latte?").compound == 0.0


@pytest.mark.parametrize(
    ("compound", "label"),
    [(0.25, "positive"), (0.2499, "neutral"), (0.0, "neutral"), (-0.2499, "neutral"), (-0.25, "negative")],
)
def test_label_boundaries(compound: float, label: str) -> None:
    assert label_for(compound) == label


def test_plain_vader_uses_vaders_own_neutral_band() -> None:
    assert plain_vader("It is okay.").compound == pytest.approx(0.2263)
    assert plain_vader("It is okay.").label == "positive"


@given(st.text(max_size=300))
def test_any_text_gets_a_compound_in_range_and_the_matching_label(text: str) -> None:
    result = sentiment(text)
    assert -1.0 <= result.compound <= 1.0
    assert result.label == label_for(result.compound)


@pytest.mark.parametrize("text", ["Oh great, " * 5_000 + "'" * 1_000, "a " * 50_000, "heading to " * 10_000])
def test_long_hostile_text_is_scored_quickly(text: str) -> None:
    sentiment("warm up the analyzer")
    started = time.perf_counter()
    sentiment(text)
    assert time.perf_counter() - started < 2.0


def test_only_the_opening_of_a_very_long_post_is_scored() -> None:
    opening = "The croissants were stale. " * 10
    assert sentiment(opening + "x" * MAX_SCORED_CHARS + " Best bakery ever, love it!") == sentiment(opening)

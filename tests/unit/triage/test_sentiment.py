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
        ("The croissants are to die for.", "negative", "positive"),
        ("The cardamom bun is dangerously good.", "neutral", "positive"),
        # missing food and price words
        ("The croissants were stale and the coffee lukewarm.", "neutral", "negative"),
        ("The bread was burnt.", "neutral", "negative"),
        # the customer is gone
        ("Ordered twice, never again.", "neutral", "negative"),
        ("Still no reply from support after a week.", "positive", "negative"),
        ("Harbor used to be my favourite bakery.", "neutral", "negative"),
        ("Done with Tally. Exporting everything.", "neutral", "negative"),
        ("The wifi is down and nobody seems to care.", "positive", "negative"),
        # a few non-English words
        ("La tienda es excelente.", "neutral", "positive"),
    ],
)
def test_adjustment_fixes_what_plain_vader_gets_wrong(text: str, plain_label: str, label: str) -> None:
    assert plain_vader(text).label == plain_label
    assert sentiment(text).label == label


@pytest.mark.parametrize(
    "text",
    ["No complaints about the service today.", "Not bad at all, the new cortado.", "Can't complain, quick and tasty."],
)
def test_negated_complaint_is_positive(text: str) -> None:
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


@pytest.mark.parametrize(
    "text",
    [
        # Dropped: each lowered plain VADER on a public corpus (docs/triage.md), so VADER's reading stands.
        "Their oat latte is killer.",
        "The cold brew is sick.",
        "Oh great, they raised the latte price again.",
        "Is Harbor any good? Thinking of going Saturday.",
        "Their support team answered in an hour.",
    ],
)
def test_dropped_adjustments_leave_plain_vaders_score(text: str) -> None:
    assert sentiment(text).compound == pytest.approx(plain_vader(text).compound, abs=1e-4)


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


@pytest.mark.parametrize(
    ("compound", "label"),
    [(0.05, "positive"), (0.0499, "neutral"), (0.0, "neutral"), (-0.0499, "neutral"), (-0.05, "negative")],
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

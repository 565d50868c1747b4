"""The shipping rule's arithmetic: accuracy and macro-F1, and which adjustments lower or raise nothing."""

from __future__ import annotations

import pytest

from bench.public_eval import failing_adjustments, score
from offline.corpora import Labelled


def test_accuracy_and_macro_f1_over_three_labels() -> None:
    result = score(["positive", "negative", "neutral", "positive"], ["positive", "negative", "positive", "neutral"])
    assert result.accuracy == 0.5
    # positive: tp 1, fp 1, fn 1 -> 0.5; negative: 1.0; neutral: tp 0 -> 0.0
    assert result.macro_f1 == pytest.approx(0.5)


def test_nothing_to_score_is_an_error() -> None:
    with pytest.raises(ValueError, match="no labelled items to score"):
        score([], [])


def reasons(corpus: list[Labelled], dev: list[Labelled]) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in failing_adjustments({"public": corpus}, dev))


def test_an_adjustment_that_lowers_a_public_corpus_fails() -> None:
    # A corpus whose raters read "stale" as nothing: the lexicon entry makes plain VADER worse there.
    failing = reasons([Labelled("The bread is stale today.", "neutral")], [Labelled("Stale bread.", "negative")])
    assert failing["lexicon stale"] == "lowers public"


def test_an_adjustment_that_helps_and_lowers_nothing_ships() -> None:
    failing = reasons([Labelled("The bread is stale today.", "negative")], [Labelled("Fine.", "positive")])
    assert "lexicon stale" not in failing
    assert failing["lexicon burnt"] == "raises nothing"

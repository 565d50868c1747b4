"""Triage judged on public labelled corpora no one here wrote or tuned on (offline.corpora).

Figures, per corpus (vader_tweets, vader_amazon, vader_movies, vader_nyt, tweeteval):
``sentiment_accuracy_<corpus>``, ``sentiment_accuracy_plain_vader_<corpus>`` and the same as
macro-F1 over the three labels; ``sarcasm_precision_tweeteval_irony`` and
``sarcasm_recall_tweeteval_irony`` for chalicelib.triage.sentiment.is_sarcastic; and the shipping
rule for each sentiment adjustment on its own: it must lower neither accuracy nor macro-F1 of plain
VADER on any public corpus, and raise one of them somewhere (public corpus or the development half).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from chalicelib.triage.sentiment import (
    DOMAIN_LEXICON,
    MAX_SCORED_CHARS,
    REWRITES,
    is_sarcastic,
    label_for,
    plain_vader,
    sentiment,
)
from offline.corpora import Labelled, sentiment_corpora, tweeteval

LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class Score:
    accuracy: float
    macro_f1: float


def score(predicted: Sequence[str], gold: Sequence[str]) -> Score:
    """Accuracy and macro-F1 over the three sentiment labels."""
    if not gold:
        raise ValueError("no labelled items to score")
    f1s = []
    for label in LABELS:
        tp = sum(p == label and g == label for p, g in zip(predicted, gold, strict=True))
        fp = sum(p == label and g != label for p, g in zip(predicted, gold, strict=True))
        fn = sum(p != label and g == label for p, g in zip(predicted, gold, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    correct = sum(p == g for p, g in zip(predicted, gold, strict=True))
    return Score(correct / len(gold), sum(f1s) / len(f1s))


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One sentiment adjustment on its own: where it can apply, and the compound score it gives there."""

    name: str
    applies: re.Pattern[str]
    compound: Callable[[str], float]


def adjustments() -> list[Adjustment]:
    """Every shipped adjustment: each domain lexicon word and each idiom rewrite, alone on plain VADER."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    found = []
    for word, valence in DOMAIN_LEXICON.items():
        analyzer = SentimentIntensityAnalyzer()
        analyzer.lexicon[word] = valence
        found.append(Adjustment(f"lexicon {word}", re.compile(rf"\b{re.escape(word)}\b", re.I),
                                lambda text, a=analyzer: a.polarity_scores(text)["compound"]))
    plain = SentimentIntensityAnalyzer()
    for rewrite in REWRITES:
        found.append(Adjustment(f"rewrite {rewrite.name}", rewrite.pattern,
                                lambda text, r=rewrite: plain.polarity_scores(r.pattern.sub(r.replacement, text))[
                                    "compound"]))
    return found


def failing_adjustments(corpora: dict[str, list[Labelled]], dev: list[Labelled]) -> list[str]:
    """Names of the adjustments that break the shipping rule, each with the corpus it lowers or "raises nothing"."""
    sets = {**corpora, "dev": dev}
    plain = {name: [plain_vader(item.text).compound for item in items] for name, items in sets.items()}
    failing = []
    for adjustment in adjustments():
        lowered, raised = [], False
        for name, items in sets.items():
            gold = [item.label for item in items]
            before = score([label_for(c) for c in plain[name]], gold)
            changed = [
                adjustment.compound(item.text[:MAX_SCORED_CHARS]) if adjustment.applies.search(item.text) else c
                for item, c in zip(items, plain[name], strict=True)
            ]
            after = score([label_for(c) for c in changed], gold)
            if name != "dev" and (after.accuracy < before.accuracy or after.macro_f1 < before.macro_f1):
                lowered.append(name)
            raised = raised or after.accuracy > before.accuracy or after.macro_f1 > before.macro_f1
        if lowered or not raised:
            failing.append(f"{adjustment.name}: " + (f"lowers {', '.join(lowered)}" if lowered else "raises nothing"))
    return failing


def sarcasm_counts() -> tuple[float, float]:
    """Precision and recall of is_sarcastic against TweetEval irony's labels."""
    items = tweeteval("irony")
    flagged = [is_sarcastic(item.text) for item in items]
    ironic = [item.label == "irony" for item in items]
    tp = sum(f and i for f, i in zip(flagged, ironic, strict=True))
    precision = tp / sum(flagged) if any(flagged) else 1.0
    return precision, tp / sum(ironic)


def public_figures(dev: list[Labelled]) -> list[tuple[str, float]]:
    """Every public-corpus figure; ``dev`` (the development half as text and label) counts for "raises"."""
    corpora = sentiment_corpora()
    out: list[tuple[str, float]] = []
    for name, items in corpora.items():
        gold = [item.label for item in items]
        adjusted = score([sentiment(item.text).label for item in items], gold)
        plain = score([plain_vader(item.text).label for item in items], gold)
        out += [
            (f"sentiment_accuracy_{name}", adjusted.accuracy),
            (f"sentiment_accuracy_plain_vader_{name}", plain.accuracy),
            (f"sentiment_macro_f1_{name}", adjusted.macro_f1),
            (f"sentiment_macro_f1_plain_vader_{name}", plain.macro_f1),
        ]
    precision, recall = sarcasm_counts()
    failing = failing_adjustments(corpora, dev)
    for reason in failing:
        print(f"# adjustment breaks the shipping rule: {reason}", flush=True)
    out += [
        ("sarcasm_precision_tweeteval_irony", precision),
        ("sarcasm_recall_tweeteval_irony", recall),
        ("sentiment_adjustments", float(len(DOMAIN_LEXICON) + len(REWRITES))),
        ("sentiment_adjustments_failing_rule", float(len(failing))),
    ]
    return out

"""Evaluation of triage: on the project's own labelled posts and on public corpora no one here wrote.

Own posts, split once (docs/triage.md "Evaluation set"): tests/data/triage_dev.jsonl is tuned on;
tests/data/triage_frozen.jsonl is the sealed test half (its SHA-256 is checked by
tests/unit/triage/test_eval_set.py) and only its figures are ever looked at. Figures per half:
sentiment accuracy (with and without the domain adjustments), intent macro-F1 and per-intent F1,
and brand-match precision and recall of one owner-written rule per example business.

Public corpora (offline.corpora): sentiment accuracy and macro-F1, adjusted and plain VADER, on the
VADER paper's four ground-truth sets and TweetEval's sentiment test split; the sarcasm rule's
precision and recall on TweetEval's irony test split; and the shipping rule for every sentiment
adjustment (lowers plain VADER on no public corpus, raises something), counted.

Run: ``.venv/bin/python -m bench.triage_eval``; prints ``name: value`` lines.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.public_eval import public_figures
from chalicelib.model import Mention, RuleGroup
from chalicelib.triage import INTENTS, triage
from chalicelib.triage.sentiment import plain_vader
from offline.corpora import Labelled

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
DEV_SET = DATA / "triage_dev.jsonl"
FROZEN_SET = DATA / "triage_frozen.jsonl"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
# Posts written after the code and rules were tuned on the rest, and never tuned on.
HOLDOUT_PREFIX = "holdout-"


@dataclass(frozen=True, slots=True)
class BrandRule:
    """A rule as an owner writes it in listen.yaml (the shape chalicelib.rules compiles)."""

    name: str
    query: str
    exclude: Sequence[str] = ()
    group: RuleGroup = "brand"
    urgent: bool = False


# One rule per example business, written the way its owner would: the name plus what the business sells,
# and the other meanings of the name the owner has learnt to exclude.
BRAND_RULES: dict[str, BrandRule] = {
    "Bean There": BrandRule(
        "Bean There",
        '`Bean There` OR `BEAN THERE` OR beanthere OR ("bean there" AND (coffee OR latte OR brew OR espresso'
        " OR barista OR milk OR cafe OR pastry OR cortado OR roast))",
        exclude=('"done that"', '"been there"'),
    ),
    "Tally": BrandRule(
        "Tally",
        "`Tally` OR (tally AND (bookkeeping OR invoice* OR app OR accounting OR freelanc* OR receipt* OR tax*"
        " OR subscription OR plan OR support OR API OR SDK OR QuickBooks OR Xero OR FreshBooks OR Wave OR bank"
        " OR transaction* OR export* OR sync OR categor*))",
        exclude=('"Tally Hall"', '"tally marks"', '"final tally"', '"tally ho"', '"keep a tally"'),
    ),
    "Pebble": BrandRule(
        "Pebble",
        "`Pebble` OR (pebble AND (shoe* OR boot* OR sneaker* OR store OR shop OR loafers OR derbies OR resol*"
        ' OR sandals OR "Grant Ave*" OR chelsea OR fitting))',
        exclude=(
            "smartwatch",
            "watch",
            "Rebble",
            "firmware",
            "hardware",
            '"Pebble Time"',
            '"pebble grain"',
            '"pebble dash"',
            '"pebble in my shoe"',
        ),
    ),
    "Harbor": BrandRule(
        "Harbor",
        '`Harbor` OR "Harbor Bakery" OR (harbor AND (bakery OR bread OR croissant* OR pastr* OR sourdough OR bun'
        " OR buns OR cake* OR bagels OR loaf OR baguette OR rye OR cookie))",
        exclude=('"Harbor Freight"', '"Pearl Harbor"', '"safe harbor"', '"harbor seal"', "porpoise*"),
    ),
    "Sprout": BrandRule(
        "Sprout",
        "sprout AND (plant OR plants OR subscription OR box OR pothos OR monstera OR hoya OR calathea OR fern"
        " OR cactus OR fig OR peperomia OR pot OR pots OR renew* OR charged OR price OR newsletter OR water*"
        " OR alive OR assinatura OR suscripcion OR Abo)",
        exclude=('"Sprout Social"', '"brussels sprout"', '"bean sprout"'),
    ),
}


@dataclass
class _Counts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    missed: list[str] = field(default_factory=list)

    def add(self, predicted: bool, actual: bool, post_id: str) -> None:
        if predicted and actual:
            self.true_positive += 1
        elif predicted:
            self.false_positive += 1
            self.missed.append(f"+{post_id}")
        elif actual:
            self.false_negative += 1
            self.missed.append(f"-{post_id}")

    @property
    def precision(self) -> float:
        found = self.true_positive + self.false_positive
        return self.true_positive / found if found else 1.0

    @property
    def recall(self) -> float:
        relevant = self.true_positive + self.false_negative
        return self.true_positive / relevant if relevant else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def load_posts(path: Path = DEV_SET) -> list[dict[str, Any]]:
    """The labelled posts of one half (the development half unless told), one dict per JSON line."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def as_mention(post: dict[str, Any]) -> Mention:
    """A labelled post as the Mention a connector would have produced (an hour old, no author)."""
    return Mention(
        network=post["network"],
        native_id=post["id"],
        url="",
        text=post["text"],
        title=post.get("title", ""),
        created_at=NOW - dt.timedelta(hours=1),
    )


def triage_figures(posts: Sequence[dict[str, Any]]) -> list[tuple[str, float]]:
    """Sentiment accuracy with and without the adjustments, intent macro-F1 and per-intent F1."""
    correct = plain_correct = 0
    counts = {intent: _Counts() for intent in INTENTS}
    for post in posts:
        mention = as_mention(post)
        result = triage(mention, (), now=NOW)
        correct += result.sentiment_label == post["sentiment"]
        plain_correct += plain_vader(mention.searchable_text).label == post["sentiment"]
        for intent in INTENTS:
            counts[intent].add(intent in result.intents, intent in post["intents"], post["id"])
    figures = [
        ("sentiment_accuracy", correct / len(posts)),
        ("sentiment_accuracy_plain_vader", plain_correct / len(posts)),
        ("intent_macro_f1", sum(c.f1 for c in counts.values()) / len(counts)),
    ]
    figures.extend((f"intent_f1_{intent}", counts[intent].f1) for intent in INTENTS)
    return figures


def brand_match_counts(posts: Sequence[dict[str, Any]]) -> _Counts:
    """Each business's rule against the posts labelled with that business, pooled."""
    from chalicelib.rules import compile_rules

    counts = _Counts()
    for brand, rule in BRAND_RULES.items():
        rules = compile_rules([rule])
        for post in posts:
            if post["brand"] == brand:
                counts.add(bool(rules.match(as_mention(post))), post["is_brand_mention"], post["id"])
    return counts


def figures(posts: Sequence[dict[str, Any]], suffix: str = "") -> list[tuple[str, float]]:
    """Every figure over ``posts``, names ending in ``suffix``."""
    brand = brand_match_counts(posts)
    named = [
        *triage_figures(posts),
        ("brand_match_precision", brand.precision),
        ("brand_match_recall", brand.recall),
        ("posts", float(len(posts))),
    ]
    return [(name + suffix, value) for name, value in named]


def run() -> list[tuple[str, float]]:
    """Development half, frozen half, the never-tuned posts within it, then the public corpora."""
    dev, frozen = load_posts(DEV_SET), load_posts(FROZEN_SET)
    return [
        *figures(dev, "_dev"),
        *figures(frozen, "_frozen"),
        *figures([p for p in frozen if p["id"].startswith(HOLDOUT_PREFIX)], "_holdout"),
        *public_figures([Labelled(as_mention(p).searchable_text, p["sentiment"]) for p in dev]),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {int(value)}" if name.startswith("posts") else f"{name}: {value:.3f}")

"""Other features and models for learning from the owner, compared on the development half only.

bench.learning measures the shipped model (chalicelib.triage.learn); this module replays the same
development splits (clicks on 70% of the development matches, measured on the other 30%, 30
shuffles) with variants of it, to say which ideas help and how far any of them could go. It never
reads the frozen half. Per variant, after 50 and 100 clicks:

- ``noise_rate_after_<N>_feedbacks_<variant>_dev`` / ``missed_relevant_...``: with the shipped hold
  rule (at least 3 relevant and 1 *Not relevant* click, log-odds ≥ ``HOLD_LOG_ODDS``, calibration guard);
- ``noise_ceiling_after_<N>_feedbacks_<variant>_dev``: the lowest noise rate any one hold threshold
  over the variant's scores reaches holding no more than 2% of the relevant mentions, chosen knowing
  the measured labels (bench.learning ``ceiling``): what no calibration of that variant can beat.

Variants (each reads the shipped relevance features plus what its name says, unless told):

- ``words``: every word of the post (stop words out); ``word_pairs``: and adjacent word pairs;
- ``char_ngrams``: character 4-grams of the 20 characters either side of each matched term;
- ``network``: the network;
- ``owner_rule``: whether the business's full rule as its owner writes it (bench.triage_eval
  ``BRAND_RULES``: the name with what the business sells, and the exclusions) matches the mention too.
  Those rules were written with the posts in view, the frozen half's 160 older posts included, so
  this variant is optimistic;
- ``logistic``: logistic regression instead of naive Bayes, refitted by SGD with L2 on every click
  over the clicks so far (``logistic_words``, ``logistic_owner_rule``: with those features).

Run: ``.venv/bin/python -m bench.learning_variants`` (about a minute; not in ``make bench``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.learning import DEV_CLICKED_SHARE, SEEDS, ceiling, matched_stream, replay, shuffled
from bench.triage_eval import BRAND_RULES, DEV_SET
from chalicelib.model import MatchedMention
from chalicelib.rules import compile_rules
from chalicelib.triage.learn import (
    _WORD,
    MAX_SPANS,
    PRIOR_CLICKS,
    FeedbackModel,
    Label,
    features,
    kind,
    relevance_features,
)

FEEDBACKS = (50, 100)
Reads = Callable[[MatchedMention], set[str]]


def words(matched: MatchedMention) -> set[str]:
    return {f"word:{f}" for f in features(matched) if kind(f) == "word"}


def word_pairs(matched: MatchedMention) -> set[str]:
    found = [w.casefold() for w in _WORD.findall(matched.mention.searchable_text)]
    return {f"pair:{a} {b}" for a, b in itertools.pairwise(found)}


def char_ngrams(matched: MatchedMention, size: int = 4, reach: int = 20) -> set[str]:
    text = matched.mention.searchable_text
    found = set()
    for match in matched.matches:
        for start, end in match.spans[:MAX_SPANS]:
            around = text[max(0, start - reach) : end + reach].casefold()
            found.update(f"chars:{around[i : i + size]}" for i in range(len(around) - size + 1))
    return found


def network(matched: MatchedMention) -> set[str]:
    return {f"network:{matched.mention.network}"}


def owner_rule(business: str) -> Reads:
    rule = compile_rules([BRAND_RULES[business]])
    return lambda matched: {"owner_rule:yes" if rule.match(matched.mention) else "owner_rule:no"}


def plus(*more: Reads) -> Reads:
    """The shipped relevance features and ``more``."""
    return lambda matched: relevance_features(matched).union(*(read(matched) for read in more))


@dataclass
class LogisticModel(FeedbackModel):
    """The shipped model's clicks, hold rule and calibration guard, scored by a logistic regression over
    ``reads`` instead of naive Bayes: refitted on every click over the clicks so far (the prior's virtual
    clicks included) by SGD with L2. Its stored form is the naive Bayes one: not a shipping candidate."""

    examples: list[tuple[frozenset[str], bool]] = field(default_factory=list)  # (features, noise)
    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0
    l2: float = 0.1
    epochs: int = 30
    rate: float = 0.5

    def __post_init__(self) -> None:
        for names, relevance, weight in PRIOR_CLICKS:
            self.examples.extend([(frozenset(names), relevance == "not_relevant")] * weight)
        self._fit()

    def record(self, matched: MatchedMention, label: Label) -> None:
        super().record(matched, label)
        self.examples.append((frozenset(self.reads(matched)), label == "not_relevant"))
        self._fit()

    def noise_log_odds(self, matched: MatchedMention) -> float:
        return self.bias + sum(self.weights.get(f, 0.0) for f in self.reads(matched))

    def _fit(self) -> None:
        weights: dict[str, float] = {}
        bias = 0.0
        for epoch in range(self.epochs):
            rate = self.rate / (1 + epoch / 10)
            for found, noise in self.examples:
                score = max(-30.0, min(30.0, bias + sum(weights.get(f, 0.0) for f in found)))
                error = 1 / (1 + math.exp(-score)) - noise
                bias -= rate * error
                for name in found:
                    weights[name] = weights.get(name, 0.0) - rate * (error + self.l2 * weights.get(name, 0.0))
        self.weights, self.bias = weights, bias


VARIANTS: dict[str, Callable[[str], FeedbackModel]] = {
    "shipped": lambda business: FeedbackModel(),
    "words": lambda business: FeedbackModel(reads=plus(words)),
    "word_pairs": lambda business: FeedbackModel(reads=plus(words, word_pairs)),
    "char_ngrams": lambda business: FeedbackModel(reads=plus(char_ngrams)),
    "network": lambda business: FeedbackModel(reads=plus(network)),
    "owner_rule": lambda business: FeedbackModel(reads=plus(owner_rule(business))),
    "logistic": lambda business: LogisticModel(),
    "logistic_words": lambda business: LogisticModel(reads=plus(words)),
    "logistic_owner_rule": lambda business: LogisticModel(reads=plus(owner_rule(business))),
}


def run() -> list[tuple[str, float]]:
    dev = matched_stream(DEV_SET)
    cut = int(len(dev) * DEV_CLICKED_SHARE)
    splits = [(order[:cut], order[cut:]) for order in (shuffled(dev, seed) for seed in SEEDS)]
    figures: list[tuple[str, float]] = []
    for variant, model in VARIANTS.items():
        for n in FEEDBACKS:
            results = [replay(clicked, measured, n, model=model) for clicked, measured in splits]
            limits = [ceiling(clicked, measured, n, model=model) for clicked, measured in splits]
            figures += [
                (f"noise_rate_after_{n}_feedbacks_{variant}_dev", sum(r[0] for r in results) / len(results)),
                (f"missed_relevant_after_{n}_feedbacks_{variant}_dev", sum(r[1] for r in results) / len(results)),
                (f"noise_ceiling_after_{n}_feedbacks_{variant}_dev", sum(limits) / len(limits)),
            ]
    return figures


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.3f}", flush=True)

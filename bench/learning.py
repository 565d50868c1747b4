"""Learning from the owner, by simulation: the labelled posts replayed as a stream of alerts.

Each example business starts with the rule a new owner writes first, its bare name ("pebble"),
which also matches beach pebbles and smartwatches. All 399 labelled posts (both halves; only the
relevance label is used, never the intents) are matched against the five rules; the matches are
shuffled (fixed seeds) and split into a training stream (60%) and a test stream (40%). In the
training stream a simulated owner clicks on the first N alerts the model lets through: *Not
relevant* on noise, *Mark as handled* on the rest; a mention the model holds back gets no
click. Then the model (one per business, chalicelib.triage.learn) meets the test stream without
further clicks. Figures, averaged over the seeds:

- ``noise_rate_after_<N>_feedbacks``: share of test-stream alerts that are not about the business;
- ``missed_relevant_after_<N>_feedbacks``: share of relevant test-stream mentions held back.
"""

from __future__ import annotations

import random
from typing import Any

from bench.triage_eval import DEV_SET, FROZEN_SET, BrandRule, as_mention, load_posts
from chalicelib.triage.learn import OwnerModel

FIRST_RULES = {
    "Bean There": '"bean there"',
    "Tally": "tally",
    "Pebble": "pebble",
    "Harbor": "harbor",
    "Sprout": "sprout",
}
FEEDBACKS = (0, 20, 50, 100)
SEEDS = range(20)
TRAIN_SHARE = 0.6


def matched_stream() -> list[tuple[str, dict[str, Any], bool]]:
    """(business, post, relevant) for every post a business's first rule matches."""
    from chalicelib.rules import compile_rules

    posts = [*load_posts(DEV_SET), *load_posts(FROZEN_SET)]
    stream = []
    for business, query in FIRST_RULES.items():
        rules = compile_rules([BrandRule(business, query)])
        for post in posts:
            if rules.match(as_mention(post)):
                stream.append((business, post, post["brand"] == business and post["is_brand_mention"]))
    return stream


def replay(stream: list[tuple[str, dict[str, Any], bool]], feedbacks: int, seed: int) -> tuple[float, float]:
    """Noise rate and missed-relevant rate on the test stream after ``feedbacks`` clicks."""
    order = stream[:]
    random.Random(seed).shuffle(order)
    cut = int(len(order) * TRAIN_SHARE)
    models = {business: OwnerModel() for business in FIRST_RULES}
    clicks = 0
    for business, post, relevant in order[:cut]:
        text = as_mention(post).searchable_text
        if clicks < feedbacks and not models[business].holds_back(text, (business,)):
            models[business].learn(text, (business,), relevant=relevant)
            clicks += 1
    alerts = noise = held_relevant = relevant_total = 0
    for business, post, relevant in order[cut:]:
        held = models[business].holds_back(as_mention(post).searchable_text, (business,))
        relevant_total += relevant
        held_relevant += held and relevant
        if not held:
            alerts += 1
            noise += not relevant
    return noise / alerts if alerts else 0.0, held_relevant / relevant_total if relevant_total else 0.0


def run() -> list[tuple[str, float]]:
    stream = matched_stream()
    figures: list[tuple[str, float]] = [("learning_stream_mentions", float(len(stream)))]
    for n in FEEDBACKS:
        results = [replay(stream, n, seed) for seed in SEEDS]
        figures.append((f"noise_rate_after_{n}_feedbacks", sum(r[0] for r in results) / len(results)))
        figures.append((f"missed_relevant_after_{n}_feedbacks", sum(r[1] for r in results) / len(results)))
    return figures


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value:.3f}")

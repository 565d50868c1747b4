"""The evaluation set, its seal, and the figures triage must reach on it (bench/triage_eval.py computes them).

The 399 posts were split once into a development half (tests/data/triage_dev.jsonl, 199 posts) and a
frozen test half (tests/data/triage_frozen.jsonl, 200 posts: the 40 never-tuned "holdout-" posts and
160 others chosen by the SHA-256 of their ids). The frozen file's SHA-256 is sealed below; only its
figures are looked at. Measured when these thresholds were set: development intent macro-F1 0.917,
frozen 0.856 (recommendation requests 0.833, churn 0.846, complaints 0.796); the issue's goals are
0.80 and 0.70 each. Brand match: frozen precision 0.986 at recall 0.986.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from bench.triage_eval import DEV_SET, FROZEN_SET, figures, load_posts
from chalicelib.triage import INTENTS

NETWORKS = {
    "hackernews",
    "reddit",
    "mastodon",
    "bluesky",
    "rss",
    "stackexchange",
    "github",
    "lobsters",
    "devto",
    "youtube",
}
BRANDS = {"Bean There", "Tally", "Pebble", "Harbor", "Sprout"}


FROZEN_SHA256 = "b5a908c12d98ee7f46a3c1d243107a8900d6014a8d8d9d260e78d3fbf598543f"


@pytest.fixture(scope="module")
def posts() -> list[dict[str, Any]]:
    return [*load_posts(DEV_SET), *load_posts(FROZEN_SET)]


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    return {**dict(figures(load_posts(DEV_SET), "_dev")), **dict(figures(load_posts(FROZEN_SET), "_frozen"))}


def test_frozen_half_is_sealed() -> None:
    # Changing the frozen half (to fix a label, or to add posts) breaks the seal: say so in docs/triage.md.
    assert hashlib.sha256(FROZEN_SET.read_bytes()).hexdigest() == FROZEN_SHA256


def test_halves_are_disjoint_and_the_frozen_half_holds_every_never_tuned_post() -> None:
    dev, frozen = load_posts(DEV_SET), load_posts(FROZEN_SET)
    assert not {p["id"] for p in dev} & {p["id"] for p in frozen}
    assert (len(dev), len(frozen)) == (199, 200)
    assert not [p for p in dev if p["id"].startswith("holdout-")]
    assert sum(p["id"].startswith("holdout-") for p in frozen) == 40


def test_set_has_at_least_300_posts_with_unique_ids(posts: list[dict[str, Any]]) -> None:
    assert len(posts) >= 300
    assert len({post["id"] for post in posts}) == len(posts)


def test_every_post_is_labelled_with_known_values(posts: list[dict[str, Any]]) -> None:
    for post in posts:
        assert set(post) <= {"id", "network", "text", "title", "sentiment", "intents", "brand", "is_brand_mention"}
        assert post["network"] in NETWORKS
        assert post["text"].strip()
        assert post["sentiment"] in {"positive", "neutral", "negative"}
        assert set(post["intents"]) <= set(INTENTS)
        assert post["brand"] in BRANDS | {None}
        assert post["is_brand_mention"] is (post["is_brand_mention"] and post["brand"] is not None)
        if "recommendation_request" in post["intents"]:
            assert "question" in post["intents"]


def test_set_covers_every_network_label_and_intent(posts: list[dict[str, Any]]) -> None:
    assert {post["network"] for post in posts} == NETWORKS
    assert set(Counter(post["sentiment"] for post in posts)) == {"positive", "neutral", "negative"}
    intent_counts = Counter(intent for post in posts for intent in post["intents"])
    assert min(intent_counts[intent] for intent in INTENTS) >= 25


def test_every_business_has_posts_about_it_and_posts_that_only_share_its_name(posts: list[dict[str, Any]]) -> None:
    for brand in BRANDS:
        labels = Counter(post["is_brand_mention"] for post in posts if post["brand"] == brand)
        assert labels[True] >= 40
        assert labels[False] >= 8


def test_set_has_long_posts_and_posts_in_other_languages(posts: list[dict[str, Any]]) -> None:
    assert sum(post["text"].count("\n\n") >= 2 for post in posts) >= 5
    markers = (" é ", " em ", " ist ", " sind ", " hat ", " es ", " est ", " und ", " la ", " de ", "¿")
    foreign = [post for post in posts if any(marker in post["text"] for marker in markers)]
    assert len(foreign) >= 12


@pytest.mark.parametrize(
    ("name", "threshold"),
    [
        ("intent_macro_f1_dev", 0.88),
        ("brand_match_precision_dev", 0.95),
        ("brand_match_recall_dev", 0.95),
        ("intent_macro_f1_frozen", 0.80),
        ("intent_f1_recommendation_request_frozen", 0.70),
        ("intent_f1_churn_frozen", 0.70),
        ("intent_f1_complaint_frozen", 0.70),
        ("brand_match_precision_frozen", 0.95),
        ("brand_match_recall_frozen", 0.95),
    ],
)
def test_figure_reaches_its_threshold(measured: dict[str, float], name: str, threshold: float) -> None:
    assert measured[name] >= threshold


@pytest.mark.parametrize("half", ["_dev", "_frozen"])
def test_adjustments_do_not_lose_to_plain_vader(measured: dict[str, float], half: str) -> None:
    assert measured[f"sentiment_accuracy{half}"] >= measured[f"sentiment_accuracy_plain_vader{half}"]

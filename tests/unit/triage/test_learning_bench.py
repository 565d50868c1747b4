"""bench.learning's replay: clicks only on alerts let through, figures only from the measured stream."""

from __future__ import annotations

from bench.learning import replay
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

"""Spike detection on synthetic series: a real spike alerts, noise never does."""

from __future__ import annotations

import random

from chalicelib.spikes import Spike, detect


def test_a_real_spike_is_detected() -> None:
    assert detect("brand", 40, [3, 5, 2, 4, 6, 3, 4]) == Spike("brand", 40, 27 / 7)


def test_a_busy_hour_within_the_usual_range_is_not_a_spike() -> None:
    assert detect("brand", 11, [3, 5, 2, 4, 6, 3, 4]) is None  # threshold 3.86 + 4 x 1.96


def test_too_few_mentions_are_never_a_spike_even_from_zero() -> None:
    assert detect("brand", 4, [0] * 7) is None
    assert detect("brand", 5, [0] * 7) is None  # must exceed mean + min_count
    assert detect("brand", 6, [0] * 7) == Spike("brand", 6, 0.0)
    assert detect("brand", 6, []) == Spike("brand", 6, 0.0)  # a new installation


def test_noise_around_a_steady_level_never_alerts() -> None:
    rng = random.Random(11)
    alerts = 0
    for _ in range(2000):
        history = [max(0, round(rng.gauss(20, 4))) for _ in range(7)]
        today = max(0, round(rng.gauss(20, 4)))
        alerts += detect("industry", today, history) is not None
    assert alerts == 0


def test_a_step_series_alerts_at_the_step_only() -> None:
    series = [3, 4, 2, 3, 5, 4, 3, 3, 4, 30, 31, 29]  # the same hour, day after day
    flagged = [i for i in range(7, len(series)) if detect("brand", series[i], series[i - 7 : i])]
    assert flagged == [9]  # the next day the step is in the baseline: its spread grew

"""The score-bin metric (serving_scores_total, the deployment page's per-version histogram): a probability p
counts in bin floor(10 p); NaN and negatives in the first bin, 1 and over in the last; one row and many rows
give the same counts."""
from __future__ import annotations

import numpy as np
from prometheus_client import generate_latest

from studio.serving.server import Metrics

EDGE_CASES = [0.0, 0.05, 0.1, 0.15, 0.3, 0.7, 0.999, 1.0, float("nan"), -0.2, float("inf"), 0.55, 0.899999]


def _bins(metrics: Metrics, version: str) -> list[float]:
    return [metrics.registry.get_sample_value("serving_scores_total", {"model": "m", "version": version,
                                                                        "bin": f"{b / 10:.1f}"}) or 0.0
            for b in range(10)]


def _reference(values) -> list[float]:
    """The rule written out one value at a time."""
    counts = [0.0] * 10
    for p in values:
        counts[0 if not p > 0 else int(min(p * 10, 9))] += 1
    return counts


def test_one_row_and_many_rows_count_every_score_in_its_bin():
    rng = np.random.default_rng(7)
    values = np.concatenate([np.array(EDGE_CASES), rng.random(500)])
    metrics = Metrics()
    for p in values:  # one request a row
        metrics.scores("m", "1", {"probability": np.array([p])})
    metrics.scores("m", "2", {"probability": values})  # one request of them all
    assert _bins(metrics, "1") == _reference(values)
    assert _bins(metrics, "2") == _reference(values)
    assert sum(_bins(metrics, "2")) == len(values)


def test_no_probability_counts_nothing():
    metrics = Metrics()
    metrics.scores("m", "1", {"probability": np.array([])})
    metrics.scores("m", "1", {"label": np.array([1])})
    assert sum(_bins(metrics, "1")) == 0


def test_many_row_counts_wait_for_a_read_and_are_counted_once():
    rng = np.random.default_rng(8)
    first, second = rng.random(1000), np.concatenate([rng.random(300), np.array(EDGE_CASES)])
    metrics = Metrics()
    metrics.scores("m", "1", {"probability": first})
    metrics.scores("m", "1", {"probability": first})
    assert _bins(metrics, "1") == [2 * c for c in _reference(first)]
    assert _bins(metrics, "1") == [2 * c for c in _reference(first)]  # a second read adds nothing
    metrics.scores("m", "1", {"probability": second})
    metrics.scores("m", "1", {"probability": np.array([0.95])})  # one row: counted at once, beside them
    expected = [2 * a + b for a, b in zip(_reference(first), _reference(np.append(second, 0.95)), strict=True)]
    assert _bins(metrics, "1") == expected
    text = generate_latest(metrics.registry).decode()
    assert f'serving_scores_total{{bin="0.9",model="m",version="1"}} {expected[9]}' in text

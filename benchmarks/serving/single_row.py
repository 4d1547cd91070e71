"""In-process cost of one row through the serving benchmark's bundle (auto features -> GBDT, 100 trees): the
batch feature kernel alone, the batch kernel + model (what a single row cost before issue 19), and the
bundle's compiled single-row scorer (operators.kernels.rows: what `Bundle.predict` does for one row now),
best of 7 rounds of 2,000 calls. No HTTP: this is what a change to the kernels moves. To compare two
versions, run it on each, alternating, a few times (the machine is shared).

    .venv/bin/python -m benchmarks.serving.single_row
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path


def best_microseconds(call, calls: int = 2_000, rounds: int = 7) -> float:
    for _ in range(200):  # warm up
        call()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        timings.append((time.perf_counter() - started) / calls * 1e6)
    return min(timings)


def main() -> None:
    from benchmarks.serving.bench import build_bundle
    from pipelines.bundle import load_bundle, table_to_columns

    bundle_dir, _, _, scoring = build_bundle(Path(tempfile.mkdtemp(prefix="bench-row-")))
    bundle = load_bundle(bundle_dir)
    row = table_to_columns(scoring.head(1), bundle.input_spec)
    features = best_microseconds(lambda: bundle.features(row, 1))
    batch = best_microseconds(lambda: bundle.scorer.predict_proba(bundle.features(row, 1)))
    assert bundle.row_scorer is not None and bundle.row_scorer.probability_of_columns(row) is not None
    single = best_microseconds(lambda: bundle.predict(row, 1))
    print(f"one row: batch feature kernel {features:.1f} us, batch kernel + model {batch:.1f} us; "
          f"compiled single-row scorer (features + model + outputs) {single:.1f} us = {batch / single:.1f}x faster")


if __name__ == "__main__":
    main()

"""A loaded bundle scores a single row through its compiled single-row scorer (operators.kernels.rows) with the
batch kernel's numbers; a row scorer that disagrees on the held-out rows is set aside at load; the
micro-batcher scores a pile of single-row requests one by one on that path, larger piles in one kernel call."""
from __future__ import annotations

import asyncio
import json

import numpy as np

from pipelines.bundle import load_bundle, replay_rows, table_to_columns
from studio.serving.batching import ROW_PATH_ROWS, MicroBatcher


def _rows(bundle, table, start, n):
    return table_to_columns(table.iloc[start:start + n].reset_index(drop=True), bundle.input_spec)


def test_a_loaded_bundle_scores_single_rows_on_the_row_path_with_the_batch_numbers(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    assert bundle.row_scorer is not None
    n = 300
    batch = bundle.predict(_rows(bundle, scoring_table, 0, n), n)
    for i in range(n):
        one = _rows(bundle, scoring_table, i, 1)
        assert bundle.row_scorer.probability_of_columns(one) is not None  # the fast path, not the fallback
        out = bundle.predict(one, 1)
        assert abs(out["probability"][0] - batch["probability"][i]) <= 1e-9
        assert out["label"][0] == batch["label"][i]


def test_a_row_scorer_that_disagrees_on_the_held_out_rows_is_set_aside(bundles):
    bundle, other = load_bundle(bundles["1"]), load_bundle(bundles["2"])
    holdout = json.loads((bundle.path / "holdout.json").read_text())
    columns = {s["name"]: np.array(holdout["columns"][s["name"]],
                                   dtype=object if s["datatype"] == "BYTES" else np.float64)
               for s in bundle.input_spec}
    expected = np.asarray(holdout["probability"])
    replay_rows(bundle, columns, expected)
    assert bundle.row_scorer is not None  # its own row scorer agrees
    bundle.row_scorer = other.row_scorer  # another model's: its scores differ
    replay_rows(bundle, columns, expected)
    assert bundle.row_scorer is None
    one = {name: values[:1] for name, values in columns.items()}
    assert abs(bundle.predict(one, 1)["probability"][0] - expected[0]) <= 1e-9  # the batch kernel answers


class Counting:
    """A served version that counts the batch kernel's calls by their row counts."""

    def __init__(self, bundle):
        self.bundle, self.row_scorer, self.calls = bundle, bundle.row_scorer, []

    def predict(self, columns, n_rows, explain=False):
        self.calls.append(n_rows)
        return self.bundle.predict(columns, n_rows)


def test_a_pile_of_single_rows_goes_one_by_one_on_the_row_path_a_large_one_in_one_call(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    expected = bundle.predict(_rows(bundle, scoring_table, 0, 40), 40)["probability"]
    for pile in (ROW_PATH_ROWS, ROW_PATH_ROWS + 1):
        served, batcher = Counting(bundle), MicroBatcher()

        async def main(pile=pile, served=served, batcher=batcher):
            return await asyncio.gather(*(batcher.predict(served, _rows(bundle, scoring_table, i, 1), 1)
                                          for i in range(pile)))

        answers = asyncio.run(main())
        assert served.calls == ([1] * pile if pile <= ROW_PATH_ROWS else [pile])
        assert batcher.batches == (0 if pile <= ROW_PATH_ROWS else 1)
        for i, answer in enumerate(answers):
            assert abs(answer["probability"][0] - expected[i]) <= 1e-9

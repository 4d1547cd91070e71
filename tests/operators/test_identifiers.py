"""Row identifiers (issue 14 item 3): what auto feature extraction leaves out, and why."""
from __future__ import annotations

import numpy as np
import pandas as pd

from operators.identifiers import row_identifiers


def test_row_identifiers_by_name_and_by_values():
    n = 100
    rng = np.random.default_rng(1)
    table = pd.DataFrame({
        "Unnamed: 0": np.arange(n),                  # a spreadsheet's index column, as pandas names it
        "Row ID": rng.permutation(n) + 1,            # by name
        "customer_index": rng.integers(0, 5, n),     # not by name: only exact identifier names count
        "seq": np.arange(n) * 2 + 1,                 # unique integers, dense: 1, 3, ..., 199
        "sampled": rng.choice(np.arange(400), n, replace=False),  # a 25% sample of row numbers
        "sparse": rng.choice(np.arange(10_000), n, replace=False),  # unique, but spread out: a measurement
        "age": rng.integers(18, 90, n),
        "score": rng.random(n),                      # unique floats are not identifiers
        "gappy": pd.array([*range(n - 1), None], dtype="Int64"),
    })
    found = row_identifiers(table, list(table.columns))
    assert [f["column"] for f in found] == ["Unnamed: 0", "Row ID", "seq", "sampled"]
    assert found[0]["reason"] == "it has no name (an exported row index)"
    assert found[1]["reason"] == "its name 'Row ID' names a row identifier"
    assert found[2]["reason"] == "it holds 100 unique integers from 1 to 199 (row numbers)"


def test_small_tables_are_not_judged_by_values():
    table = pd.DataFrame({"n": np.arange(10), "id": np.arange(10)})
    assert [f["column"] for f in row_identifiers(table, ["n", "id"])] == ["id"]

"""A feature_extraction node's feature_state output in the node panel: a summary a person reads (each block's
source column, kind, transform, model family and the features it made; the columns left out, with why), also for a
state cached before `left_out_times` and `excluded_identifiers` existed."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.operators.conftest import Runner


@pytest.fixture
def state(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    table = pd.DataFrame({"customer_id": [f"c{i:05d}" for i in range(n)],
                          "age": rng.integers(18, 80, n).astype(float),
                          "region": rng.choice(["north", "south", "west"], n),
                          "signed_up": pd.date_range("2024-01-01", periods=n, freq="D"),
                          "default": rng.choice(["yes", "no"], n)})
    return Runner(tmp_path)("feature_extraction", {"table": table}, label="default")["feature_state"]


def test_a_feature_state_reads_as_blocks_and_left_out_columns(state):
    from studio.runs.outputs import describe

    body = describe(state, "data", 0, 50)
    summary = body["features_summary"]
    assert body["kind"] == "model" and "summary" not in body  # not read as a trained model
    assert (summary["label"], sorted(summary["label_classes"])) == ("default", ["no", "yes"])
    assert summary["columns"] == 2 and summary["features"] == len(state.meta["names"])
    rows = {(b["column"], b["transform"], b["model"]): b for b in summary["blocks"]}
    assert rows[("age", "standardize", "lr")] == {"column": "age", "kind": "numeric", "transform": "standardize",
                                                   "model": "lr", "made": 1, "names": ["age"]}
    assert rows[("age", "raw", "gbdt")]["names"] == ["age:raw"]
    onehot = rows[("region", "onehot", "lr")]
    assert onehot["kind"] == "categorical" and onehot["made"] == 5 and len(onehot["names"]) == 3
    assert sum(b["made"] for b in summary["blocks"]) == summary["features"]
    why = {c["column"]: c["why"] for c in summary["left_out"]}
    assert set(why) == {"customer_id", "signed_up"}
    assert "date/time" in why["signed_up"] and "row identifier" in why["customer_id"]


def test_a_state_cached_before_left_out_columns_were_kept_reads_with_none(state):
    """An old-shaped state (no left_out_times, no excluded_identifiers) reads without error, leaving nothing out,
    in the node panel and in what a published model says of its inputs."""
    from pipelines.bundle import left_out_inputs
    from studio.runs.outputs import describe

    from operators import Fitted

    meta = {k: v for k, v in state.meta.items() if k not in ("left_out_times", "excluded_identifiers")}
    old = Fitted(state.kind, meta=meta, arrays=state.arrays, texts=state.texts)
    summary = describe(old, "data", 0, 50)["features_summary"]
    assert summary["left_out"] == [] and summary["features"] == len(meta["names"])
    assert left_out_inputs(old) == []

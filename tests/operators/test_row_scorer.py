"""The single-row scorer (operators.kernels.rows) gives the batch kernel's numbers to 1e-9, block kind by block
kind, for LR and GBDT, with missing values and unseen categories; and it steps aside (None) instead of
guessing on a value it does not take as is."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from operators.feature_state import FeatureConfig
from operators.kernels import features as kernel
from operators.kernels.models import load_scorer
from operators.kernels.rows import ROW_WRITERS, compile_row_scorer
from operators.library.features import apply_state, fit_feature_state
from operators.values import Fitted
from tests.operators.conftest import planted_table

# Every block kind of the kernel, on numeric columns with gaps and categorical ones with a rare value.
EVERY_KIND = {
    "x1": ["standardize", "missing_indicator", "buckets", "minmax", "log1p", "clip", "raw"],
    "x2": ["buckets", "log1p"],
    "color": ["onehot", "hash", "frequency", "target", "ordinal"],
    "shape": ["onehot"],
}
# LR takes no NaN: the blocks that pass a gap through (raw) or make one (ordinal of an unseen value) stay out.
LR_KINDS = {column: [op for op in ops if op not in ("raw", "ordinal")] for column, ops in EVERY_KIND.items()}
CROSSES = [["color", "shape"], ["x2", "shape"], ["x1", "color"]]


def fit(columns: dict) -> tuple[Fitted, pd.DataFrame]:
    table = planted_table()
    config = FeatureConfig(label="label", mode="manual", columns=columns, crosses=CROSSES,
                           bucket_granularities=[4, 16], hash_dims=16, cross_dims=32, min_frequency=20)
    state, _ = fit_feature_state(table, config)
    return state, table


def scoring_rows(n: int = 600) -> dict[str, np.ndarray]:
    """New rows with missing numbers, missing, unseen and rare categories, negatives for log1p, values
    outside every clip bound and bucket edge, and one row exactly on a bucket edge."""
    rng = np.random.default_rng(7)
    x1 = rng.normal(scale=3, size=n)
    x1[rng.random(n) < 0.15] = np.nan
    x2 = rng.uniform(-5, 15, n)
    x2[rng.random(n) < 0.1] = np.nan
    color = rng.choice(["red", "green", "blue", "rare", "violet", None], n, p=[0.3, 0.25, 0.2, 0.05, 0.1, 0.1])
    shape = rng.choice(["circle", "square", "hexagon", None], n, p=[0.4, 0.4, 0.1, 0.1])
    return {"x1": x1, "x2": x2, "color": color.astype(object), "shape": shape.astype(object)}


def row(columns: dict, i: int) -> dict:
    return {name: values[i] for name, values in columns.items()}


def test_every_block_kind_of_the_kernel_has_a_row_writer_and_the_parity_tests_cover_it():
    assert set(ROW_WRITERS) == set(kernel.COMPILERS)
    state, _ = fit(EVERY_KIND)
    assert {b["op"] for b in state.meta["blocks"]} == set(kernel.COMPILERS)


@pytest.mark.parametrize("columns", [EVERY_KIND, LR_KINDS], ids=["every-kind", "lr-kinds"])
def test_the_row_buffer_equals_the_batch_feature_matrix_row_for_row(columns):
    state, _ = fit(columns)
    rows = scoring_rows()
    X = kernel.transform(state, rows, len(rows["x1"])).X
    X = X.toarray() if sp.issparse(X) else X
    model = Fitted("lr", {"feature_names": state.meta["names"]},
                   arrays={"coef": np.zeros(len(state.meta["names"])), "intercept": np.zeros(1)})
    scorer = compile_row_scorer(state, load_scorer(model))
    for i in range(len(rows["x1"])):  # (log1p: math's and numpy's may differ in the last bit)
        np.testing.assert_allclose(scorer.features(row(rows, i)), X[i], rtol=0, atol=1e-12, err_msg=str(i))


def test_gbdt_single_rows_equal_batch_scores_on_every_block_kind():
    import lightgbm as lgb

    state, table = fit(EVERY_KIND)
    features = apply_state(table, state)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 15, "num_threads": 1,
                         "min_data_in_leaf": 5}, lgb.Dataset(features.X, features.label), 40)
    model = Fitted("lightgbm", {"feature_names": features.names, "categorical": [], "best_iteration": 30},
                   texts={"model": booster.model_to_string()})
    assert_parity(state, model)


def test_lr_single_rows_equal_batch_scores_on_every_block_kind():
    from sklearn.linear_model import LogisticRegression

    state, table = fit(LR_KINDS)
    features = apply_state(table, state)
    lr = LogisticRegression(C=10.0, max_iter=2000).fit(features.X, features.label)
    model = Fitted("lr", {"feature_names": features.names},
                   arrays={"coef": lr.coef_.reshape(-1), "intercept": lr.intercept_})
    assert_parity(state, model)


def assert_parity(state: Fitted, model: Fitted) -> None:
    rows = scoring_rows()
    n = len(rows["x1"])
    scorer = load_scorer(model)
    batch = scorer.predict_proba(kernel.transform(state, rows, n).X)
    row_scorer = compile_row_scorer(state, scorer)
    assert row_scorer is not None
    single = np.array([row_scorer.probability(row(rows, i)) for i in range(n)], dtype=np.float64)
    assert not np.isnan(single).any()  # every row took the fast path, none stepped aside
    assert np.max(np.abs(single - batch)) <= 1e-9
    assert np.unique(np.round(batch, 6)).size > n // 4  # the model separates the rows: the check has teeth


def test_values_the_row_path_does_not_take_as_is_go_back_to_the_batch_kernel():
    state, _ = fit(LR_KINDS)
    model = Fitted("lr", {"feature_names": state.meta["names"]},
                   arrays={"coef": np.ones(len(state.meta["names"])), "intercept": np.zeros(1)})
    scorer = compile_row_scorer(state, load_scorer(model))
    good = row(scoring_rows(), 0)
    assert scorer.probability(good) is not None
    assert scorer.probability({**good, "x1": "3.5"}) is None  # a numeric string: the kernel parses it
    assert scorer.probability({k: v for k, v in good.items() if k != "shape"}) is None  # the kernel names it
    assert scorer.probability_of_columns({k: np.array([v], dtype=object) for k, v in good.items()}) is not None
    assert scorer.probability_of_columns({k: np.array([v, v], dtype=object) for k, v in good.items()}) is None
    with scorer._lock:  # another thread holds the buffer: this call does not wait, nor share it
        assert scorer.probability(good) is None


def test_a_state_with_a_block_kind_that_has_no_row_writer_has_no_row_scorer(monkeypatch):
    state, _ = fit(LR_KINDS)
    model = Fitted("lr", {"feature_names": state.meta["names"]},
                   arrays={"coef": np.ones(len(state.meta["names"])), "intercept": np.zeros(1)})
    monkeypatch.delitem(ROW_WRITERS, "hash")
    assert compile_row_scorer(state, load_scorer(model)) is None

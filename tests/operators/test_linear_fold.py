"""The folded LR (operators.kernels.linear): an LR over affine, missing-indicator and raw blocks scores many rows
as one linear map of the raw columns, with the batch kernel's numbers to 1e-9; it steps aside (None) for any
other model or block and for a request it does not take as it is; a bundle uses it for many-row requests after
its held-out rows check it."""
from __future__ import annotations

import numpy as np
import pytest

from operators.kernels import features as kernel
from operators.kernels.linear import fold_linear
from operators.kernels.models import load_scorer
from operators.values import Fitted
from operators.feature_state import FeatureConfig
from operators.library.features import fit_feature_state
from tests.operators.conftest import planted_table
from tests.operators.test_row_scorer import scoring_rows

# Two affine blocks and an indicator on a column with gaps, a column with gaps and no indicator, a raw block on
# a column without gaps (LR takes no NaN, so a raw block on x1 would answer NaN on both paths).
LINEAR = {"x1": ["standardize", "missing_indicator", "minmax"], "x2": ["minmax", "raw"]}


def fit(columns: dict) -> tuple[Fitted, object]:
    table = planted_table()
    state, _ = fit_feature_state(table, FeatureConfig(label="label", mode="manual", columns=columns,
                                                      bucket_granularities=[4, 16], min_frequency=20))
    return state, table


def lr_of(state: Fitted, seed: int = 3) -> Fitted:
    rng = np.random.default_rng(seed)
    names = state.meta["names"]
    return Fitted("lr", {"feature_names": names},
                  arrays={"coef": rng.normal(scale=2, size=len(names)), "intercept": np.array([-0.3])})


def test_the_folded_map_gives_the_batch_scores_with_gaps_in_every_affine_column():
    state, _ = fit(LINEAR)
    assert {b["op"] for b in state.meta["blocks"]} == {"standardize", "missing_indicator", "minmax", "raw"}
    rows = scoring_rows()
    rows["x2"] = np.where(np.isnan(rows["x2"]), 1.0, rows["x2"])  # the raw block's column: no gap
    n = len(rows["x1"])
    scorer = load_scorer(lr_of(state))
    folded = fold_linear(state, scorer)
    assert folded is not None
    batch = scorer.predict_proba(kernel.transform(state, rows, n).X)
    got = folded.probability(rows, n)
    assert np.isnan(rows["x1"]).sum() > 50  # the fill and the indicator are exercised
    assert np.max(np.abs(got - batch)) <= 1e-9
    assert np.unique(np.round(batch, 6)).size > n // 4  # the scores differ row to row: the check has teeth
    rows["x1"] = np.where(np.isnan(rows["x1"]), 0.5, rows["x1"])  # and a request with no gap at all
    again = scorer.predict_proba(kernel.transform(state, rows, n).X)
    assert np.max(np.abs(folded.probability(rows, n) - again)) <= 1e-9


def test_requests_it_does_not_take_as_they_are_go_to_the_batch_kernel():
    state, _ = fit(LINEAR)
    folded = fold_linear(state, load_scorer(lr_of(state)))
    rows = {"x1": np.array([1.0, np.nan, 2.0]), "x2": np.array([1.0, 2.0, 3.0])}
    assert folded.probability(rows, 3) is not None
    assert folded.probability({**rows, "x2": np.array([1.0, np.nan, 3.0])}, 3) is None  # NaN in a raw column
    assert folded.probability({**rows, "x1": np.array([1.0, np.inf, 2.0])}, 3) is None  # an infinity
    assert folded.probability({"x1": rows["x1"]}, 3) is None  # a missing column: the kernel names it
    assert folded.probability({**rows, "x2": np.array([1.0, 2.0])}, 3) is None  # another length
    assert folded.probability({**rows, "x2": np.array(["a", "b", "c"], dtype=object)}, 3) is None  # not numbers


@pytest.mark.parametrize("columns", [{"x1": ["standardize", "log1p"]}, {"x1": ["standardize"], "color": ["onehot"]},
                                     {"x1": ["buckets"]}], ids=["log1p", "onehot", "buckets"])
def test_states_with_a_non_linear_block_are_not_folded(columns):
    state, _ = fit(columns)
    assert fold_linear(state, load_scorer(lr_of(state))) is None


def test_a_gbdt_is_not_folded():
    import lightgbm as lgb

    state, table = fit(LINEAR)
    X = kernel.transform(state, {c: table[c].to_numpy() for c in ("x1", "x2")}, len(table)).X
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 7}, lgb.Dataset(X, table["label"]), 5)
    model = Fitted("lightgbm", {"feature_names": state.meta["names"]}, texts={"model": booster.model_to_string()})
    assert fold_linear(state, load_scorer(model)) is None


def test_two_affine_blocks_filling_one_column_differently_are_not_folded():
    state, _ = fit(LINEAR)
    blocks = [dict(b) for b in state.meta["blocks"]]
    affine = [b for b in blocks if b["op"] in ("standardize", "minmax") and b["column"] == "x1"]
    affine[1]["fill"] = float(affine[0]["fill"]) + 1.0
    changed = Fitted(state.kind, {**state.meta, "blocks": blocks}, arrays=state.arrays)
    assert fold_linear(changed, load_scorer(lr_of(changed))) is None


def test_a_bundle_scores_many_rows_through_the_folded_map_and_single_rows_as_before(tmp_path):
    from operators.library.sample_data import credit_default_table
    from operators.library.features import apply_state
    from pipelines.bundle import load_bundle, table_to_columns, write_bundle
    from sklearn.linear_model import LogisticRegression

    table = credit_default_table(3000, seed=1)
    numeric = ["age", "income", "debt_ratio"]
    config = FeatureConfig(label="default", mode="manual",
                           columns={c: ["standardize", "missing_indicator"] for c in numeric})
    state, _ = fit_feature_state(table, config)
    features = apply_state(table, state)
    lr = LogisticRegression(max_iter=1000).fit(features.X, features.label)
    model = Fitted("lr", {"feature_names": features.names},
                   arrays={"coef": lr.coef_.reshape(-1), "intercept": lr.intercept_})
    scoring = credit_default_table(800, seed=5)
    path = write_bundle(tmp_path / "b", name="m", version="1", model=model, feature_state=state, holdout=scoring)
    bundle = load_bundle(path)
    assert bundle.linear is not None  # the held-out rows checked it
    columns = table_to_columns(scoring, bundle.input_spec)
    assert np.isnan(columns["income"]).any()
    calls = []
    original = bundle.linear.probability
    bundle.linear.probability = lambda *a: calls.append(a) or original(*a)
    out = bundle.predict(columns, len(scoring))
    assert len(calls) == 1
    expected = bundle.scorer.predict_proba(bundle.features(columns, len(scoring)))
    assert np.max(np.abs(out["probability"] - expected)) <= 1e-9
    assert np.array_equal(out["label"], bundle.label_values(expected >= bundle.threshold))
    bundle.predict({k: v[:1] for k, v in columns.items()}, 1)
    bundle.predict(columns, len(scoring), explain=True)
    assert len(calls) == 1  # one row and explanations: as before


def test_a_bundle_whose_folded_map_misses_the_held_out_scores_keeps_serving_through_the_batch_kernel(
        tmp_path, monkeypatch):
    import pipelines.bundle as bundle_module
    from operators.kernels import linear

    real = linear.FoldedLR.probability
    monkeypatch.setattr(linear.FoldedLR, "probability", lambda self, c, n: real(self, c, n) + 1e-6)
    from operators.library.sample_data import credit_default_table
    from operators.library.features import apply_state
    from sklearn.linear_model import LogisticRegression

    table = credit_default_table(2000, seed=1)
    config = FeatureConfig(label="default", mode="manual", columns={"age": ["standardize"], "income": ["minmax"]})
    state, _ = fit_feature_state(table, config)
    features = apply_state(table, state)
    lr = LogisticRegression(max_iter=1000).fit(features.X, features.label)
    model = Fitted("lr", {"feature_names": features.names},
                   arrays={"coef": lr.coef_.reshape(-1), "intercept": lr.intercept_})
    path = bundle_module.write_bundle(tmp_path / "b", name="m", version="1", model=model, feature_state=state,
                                      holdout=credit_default_table(300, seed=2))
    bundle = bundle_module.load_bundle(path)  # not refused: the batch kernel's numbers are the verified ones
    assert bundle.linear is None

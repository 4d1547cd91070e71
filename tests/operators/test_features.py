"""Feature extraction: fit by configuration, one kernel for every transform, bit-for-bit reuse on new rows."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from operators import OperatorError, PortType
from operators.kernels import features as kernel
from operators.library.features import apply_state, table_columns
from tests.conftest import REPO
from tests.operators.conftest import planted_table

EVERY_TRANSFORM = {
    "x1": ["standardize", "missing_indicator", "buckets", "minmax", "log1p", "clip", "raw"],
    "x2": ["buckets"],
    "color": ["onehot", "hash", "frequency", "ordinal"],
    "shape": ["onehot"],
}


def same_matrix(a, b) -> bool:
    if sp.issparse(a) != sp.issparse(b):
        return False
    if sp.issparse(a):
        return (a.shape == b.shape and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
                and np.array_equal(a.data, b.data, equal_nan=True))
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_state_applied_to_the_training_rows_reproduces_fit_time_features_bit_for_bit(run, tmp_path):
    df = planted_table()
    out = run("feature_extraction", {"table": df}, label="label", mode="manual", columns=EVERY_TRANSFORM,
              crosses=[["color", "shape"], ["x2", "shape"]], hash_dims=16, cross_dims=32)
    features, state = out["features"], out["feature_state"]
    # through the artifact store, as predict / Spark / serving receive them: JSON + npz, no pickle
    stored_state = run.roundtrip(PortType.FEATURE_STATE, state)
    stored_features = run.roundtrip(PortType.FEATURES, features)
    # the rows as a later node reads them back from Parquet
    csv = tmp_path / "rows.parquet"
    df.to_parquet(csv)
    again = apply_state(pd.read_parquet(csv), stored_state)
    assert same_matrix(again.X, features.X)
    assert same_matrix(stored_features.X, features.X)
    assert again.names == features.names == stored_features.names
    assert np.array_equal(again.label, features.label)
    # one row at a time (the online scorer) gives the same numbers as the batch
    for i in (0, 7, 123):
        # as a scorer receives a request: plain arrays, categories as str / None
        row = {c["name"]: df[c["name"]].to_numpy(dtype=np.float64 if c["kind"] == "numeric" else object)[i:i + 1]
               for c in stored_state.meta["inputs"]}
        single = kernel.transform(stored_state, row, 1)
        assert same_matrix(single.X, features.X[i]), i
    # plain object arrays (a scorer's batch) and dictionary-encoded columns (pandas, Arrow) agree
    plain = {c["name"]: df[c["name"]].to_numpy(dtype=np.float64 if c["kind"] == "numeric" else object)
             for c in stored_state.meta["inputs"]}
    assert same_matrix(kernel.transform(stored_state, plain, len(df)).X, features.X)
    assert features.categorical == ["color"]
    json.dumps(stored_state.meta)  # the state is plain JSON + arrays


def test_auto_mode_chooses_transforms_by_column_type(run):
    df = planted_table()
    df["city"] = [f"c{i % 300}" for i in range(len(df))]
    df["when"] = pd.date_range("2024-01-01", periods=len(df), freq="h")
    out = run("feature_extraction", {"table": df}, label="label", max_categories=50)
    blocks = [(b["op"], b.get("column")) for b in out["feature_state"].meta["blocks"]]
    assert ("standardize", "x1") in blocks and ("missing_indicator", "x1") in blocks and ("buckets", "x1") in blocks
    assert ("missing_indicator", "x2") not in blocks  # no gaps, no indicator
    assert ("onehot", "color") in blocks and ("onehot", "shape") in blocks
    assert ("hash", "city") in blocks and ("frequency", "city") in blocks  # more than max_categories
    assert not any(column in ("when", "label") for _, column in blocks)
    buckets = next(b for b in out["feature_state"].meta["blocks"] if b["op"] == "buckets" and b["column"] == "x2")
    assert len(buckets["granularities"]) >= 2  # several granularities chosen automatically
    X = kernel.matrix_view(out["features"], "lr")[0].X  # the LR view: no missing values reach the solver
    assert sp.issparse(X) and X.shape[0] == len(df) and np.isfinite(X.data).all()


def test_unseen_and_rare_categories_fall_into_other_and_missing_into_its_own_bucket(run):
    df = planted_table()
    state = run("feature_extraction", {"table": df}, label="label", mode="manual",
                columns={"color": ["onehot"]}, min_frequency=10)["feature_state"]
    names = state.meta["names"]
    assert "color=rare" not in names  # 4 rows out of 4000: below min_frequency
    new = pd.DataFrame({"color": ["purple", "rare", None, "red"], "label": [0, 1, 0, 1]})
    X = apply_state(new, state).X.toarray()
    hot = [names[j] for j in X.argmax(axis=1)]
    assert hot == ["color=__other__", "color=__other__", "color=__missing__", "color=red"]


def test_target_encoding_is_out_of_fold_at_fit_and_full_data_on_new_rows(run):
    df = planted_table()
    out = run("feature_extraction", {"table": df}, label="label", mode="manual",
              columns={"color": ["target"]}, target_folds=5)
    fit_time = out["features"].X[:, 0]
    applied = apply_state(df, out["feature_state"]).X[:, 0]
    assert not np.array_equal(fit_time, applied)  # a row's own label never leaks into its fit-time value
    assert abs(np.corrcoef(fit_time, applied)[0, 1]) > 0.9
    red = df["color"] == "red"
    smoothing = 20.0
    prior = df["label"].mean()
    expected = (df.loc[red, "label"].sum() + prior * smoothing) / (red.sum() + smoothing)
    assert applied[red.to_numpy()][0] == pytest.approx(expected)


def test_missing_input_column_and_non_numeric_values_are_named(run):
    df = planted_table()
    state = run("feature_extraction", {"table": df}, label="label")["feature_state"]
    with pytest.raises(OperatorError) as err:
        apply_state(df.drop(columns=["x2"]), state)
    assert err.value.column == "x2" and "x2" in err.value.message
    bad = df.assign(x1=["oops"] + [1.0] * (len(df) - 1))
    with pytest.raises(OperatorError) as err:
        kernel.transform(state, table_columns(bad, state), len(bad))
    assert err.value.column == "x1" and "oops" in err.value.message


@pytest.mark.parametrize("params, field", [
    ({"columns": {"nope": ["onehot"]}}, "columns"),
    ({"exclude": ["nope"]}, "exclude"),
    ({"crosses": [["color", "nope"]]}, "crosses"),
    ({"label": "nope"}, "label"),
])
def test_bad_configuration_names_the_field_and_column(run, params, field):
    params = {"label": "label", **params}
    with pytest.raises(OperatorError) as err:
        run("feature_extraction", {"table": planted_table(200)}, **params)
    assert err.value.field == field and err.value.column == "nope"


def test_empty_table_and_label_as_feature_are_refused(run):
    with pytest.raises(OperatorError, match="no rows"):
        run("feature_extraction", {"table": planted_table().iloc[:0]}, label="label")
    with pytest.raises(OperatorError) as err:
        run("feature_extraction", {"table": planted_table(200)}, label="label", columns={"label": ["raw"]})
    assert err.value.column == "label"
    with pytest.raises(Exception, match="two or more"):
        run("feature_extraction", {"table": planted_table(200)}, crosses=[["color"]])


def test_hashing_is_stable_across_processes():
    """Hashed columns must land in the same place in the trainer, a Spark executor and the scorer."""
    code = ("from operators.kernels.features import _crc32, category_column;"
            "print(list(_crc32(category_column(['a', 'b', None, 3, 2.5]))))")
    out = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout for seed in ("1", "2")]
    assert out[0] == out[1] and out[0].strip().startswith("[")


def test_kernels_import_neither_pandas_nor_sklearn():
    code = ("import sys, operators.kernels.features, operators.kernels.models;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pandas', 'sklearn', 'pyspark')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert out.stdout.strip() == "[]", out.stderr


def test_input_spec_describes_raw_columns(run):
    state = run("feature_extraction", {"table": planted_table()}, label="label")["feature_state"]
    spec = {c["name"]: c for c in kernel.input_spec(state)}
    assert spec["x1"] == {"name": "x1", "datatype": "FP64", "nullable": True}
    assert spec["color"]["datatype"] == "BYTES" and "red" in spec["color"]["categories"]
    assert "label" not in spec


def test_apply_features_operator_carries_the_label(run):
    df = planted_table()
    state = run("feature_extraction", {"table": df.iloc[:3000]}, label="label")["feature_state"]
    out = run("apply_features", {"feature_state": state, "table": df.iloc[3000:]})["features"]
    assert out.n_rows == 1000 and np.array_equal(out.label, df["label"].iloc[3000:].to_numpy())
    unlabelled = run("apply_features", {"feature_state": state, "table": df.iloc[3000:].drop(columns="label")})
    assert unlabelled["features"].label is None


def test_each_transform_computes_its_documented_value(run):
    """The values, not only their reproducibility: each transform against an independent computation on the
    training column (mean-filled gaps for the numeric ones, as the state's `fill` says)."""
    import zlib

    df = planted_table()
    df.loc[::97, "color"] = None
    out = run("feature_extraction", {"table": df}, label="label", mode="manual", hash_dims=16,
              columns={"x1": ["standardize", "minmax", "log1p", "clip", "missing_indicator"],
                       "color": ["hash", "frequency", "onehot"]}, clip_lower=0.05, clip_upper=0.9)
    X = out["features"].X.toarray() if sp.issparse(out["features"].X) else out["features"].X
    col = {name: X[:, i] for i, name in enumerate(out["features"].names)}
    x = df["x1"].to_numpy()
    present = x[~np.isnan(x)]
    filled = np.where(np.isnan(x), present.mean(), x)
    assert np.allclose(col["x1"], (filled - present.mean()) / present.std())
    assert np.allclose(col["x1:minmax"], (filled - present.min()) / (present.max() - present.min()))
    assert np.allclose(col["x1:log1p"], np.sign(filled) * np.log1p(np.abs(filled)))
    lo, hi = np.quantile(present, [0.05, 0.9])
    assert np.allclose(col["x1:clip"], np.clip(filled, lo, hi))
    assert np.array_equal(col["x1:missing"], np.isnan(x).astype(float))

    colors = df["color"].to_numpy(dtype=object)
    colors[pd.isna(colors)] = None
    hashed = np.column_stack([col[f"color:hash{d}"] for d in range(16)])
    assert np.array_equal(hashed.sum(axis=1), np.ones(len(df)))  # exactly one slot per row
    for i in (0, 1, 97, 500):
        token = colors[i] if colors[i] is not None else kernel.MISSING_TOKEN
        assert hashed[i, zlib.crc32(token.encode()) % 16] == 1.0, i
    share = pd.Series(colors).value_counts(normalize=True, dropna=True) * (pd.notna(colors).mean())
    expected = np.array([share.get(c, 0.0) if c is not None else pd.isna(colors).mean() for c in colors])
    assert np.allclose(col["color:freq"], expected)
    for value in ("red", "green", "blue"):
        assert np.array_equal(col[f"color={value}"], (colors == value).astype(float))
    assert np.array_equal(col["color=__missing__"], pd.isna(colors).astype(float))


def test_apply_features_refuses_bad_rows_naming_the_column(run):
    df = planted_table()
    state = run("feature_extraction", {"table": df}, label="label")["feature_state"]
    with pytest.raises(OperatorError) as err:
        run("apply_features", {"feature_state": state, "table": df.drop(columns="x1").iloc[:10]})
    assert err.value.column == "x1" and err.value.port == "table" and "'x1'" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("apply_features", {"feature_state": state, "table": df.assign(x2="abc").iloc[:10]})
    assert err.value.column == "x2" and "numeric" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("apply_features", {"feature_state": state, "table": df.iloc[:0]})
    assert err.value.port == "table" and "no rows" in err.value.message


def test_target_encoding_without_a_label_is_refused_naming_the_field(run):
    with pytest.raises(OperatorError) as err:
        run("feature_extraction", {"table": planted_table(200).drop(columns=["label"])}, label="",
            mode="manual", columns={"color": ["target"]})
    assert err.value.field == "label" and "needs the label column" in err.value.message


def test_every_transform_of_the_parameter_model_has_a_fit_and_a_compiler():
    """A transform is one name in the parameter model, one builder entry and one kernel compiler."""
    from typing import get_args

    from operators.feature_state import CATEGORY_BLOCKS, NUMERIC_BLOCKS, Transform

    assert set(get_args(Transform)) == set(NUMERIC_BLOCKS) | set(CATEGORY_BLOCKS)
    assert not set(NUMERIC_BLOCKS) & set(CATEGORY_BLOCKS)
    assert set(kernel.COMPILERS) == set(get_args(Transform)) | {"cross"}


def test_a_dense_state_fused_across_blocks_gives_the_doubles_of_block_by_block():
    """A dense state's affine blocks and missing indicators run as a few 2-D operations (issue 19): the same
    doubles as each block alone, with NaN, infinities, a column read by two blocks of different fills, a column
    read by an indicator only, and blocks that are not fused (log1p, raw) between them."""
    from operators.values import Fitted

    blocks = [{"op": "standardize", "column": "a", "fill": 0.5, "mean": 1.25, "scale": 3.0},
              {"op": "missing_indicator", "column": "a"},
              {"op": "minmax", "column": "a", "fill": -2.0, "lo": -1.0, "span": 7.0},
              {"op": "log1p", "column": "b", "fill": 1.0},
              {"op": "standardize", "column": "b", "fill": 0.0, "mean": -0.1, "scale": 0.3},
              {"op": "missing_indicator", "column": "c"},
              {"op": "raw", "column": "c"}]
    meta = {"format": kernel.FORMAT, "label": None, "blocks": blocks, "names": [f"f{i}" for i in range(7)],
            "inputs": [{"name": n, "kind": "numeric", "nullable": True} for n in "abc"]}
    state = Fitted("features", meta=meta, arrays={})
    rng = np.random.default_rng(3)
    a, b, c = (rng.normal(size=500) * 10 for _ in range(3))
    a[[3, 70]] = np.nan
    b[5], b[6] = np.inf, -np.inf
    c[[0, 499]] = np.nan
    fused = kernel.CompiledState(state)
    assert fused.fused is not None and fused.fused.others == [3, 6]
    plain = kernel.CompiledState(state)
    plain.fused = None
    for n, columns in ((500, {"a": a, "b": b, "c": c}), (200, {"a": a[:200], "b": b[:200], "c": c[:200]}),
                       (500, {"a": np.nan_to_num(a), "b": b, "c": c})):  # sizes change: the kept shifts too
        X = kernel.transform_compiled(fused, columns, n).X
        assert X.tobytes() == kernel.transform_compiled(plain, columns, n).X.tobytes()
    x = np.where(np.isnan(a), 0.5, a)
    X = kernel.transform_compiled(fused, {"a": a, "b": b, "c": c}, 500).X
    assert np.array_equal(X[:, 0], (x - 1.25) / 3.0)
    assert np.array_equal(X[:, 1], np.isnan(a).astype(float))
    assert np.array_equal(X[:, 2], (np.where(np.isnan(a), -2.0, a) + 1.0) / 7.0)
    assert np.array_equal(X[:, 4], (b + 0.1) / 0.3) and np.array_equal(X[:, 5], np.isnan(c).astype(float))
    assert np.array_equal(X[:, 6], c, equal_nan=True)

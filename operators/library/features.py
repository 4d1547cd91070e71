"""Feature extraction by configuration (Prophet's way): fit a feature state on a table, transform with the kernel.

The fit half lives here (pandas / numpy statistics); the transform half is `operators.kernels.features`, which
training, batch scoring, Spark and the online scorer all share. The state's JSON shape is documented there.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..kernels import features as kernel
from ..identifiers import log_line, row_identifiers
from ..labels import POSITIVE_RULE, encode_label
from ..tables import binary_label, require_columns, require_rows
from ..values import Fitted

Transform = Literal["standardize", "minmax", "log1p", "clip", "raw", "missing_indicator", "buckets",
                    "onehot", "ordinal", "hash", "frequency", "target"]
AUTO_GRANULARITIES = (4, 16, 64)
MIN_ROWS_PER_BUCKET = 20


class FeatureConfig(Params):
    """Parameters shared by the operator and by `fit_feature_state` (usable from a notebook)."""

    label: str = Field("label", description="Binary label column; carried with the features, never a feature. "
                                            "Empty for unlabelled data")
    positive: str = Field("", max_length=200, description=POSITIVE_RULE[0].upper() + POSITIVE_RULE[1:])
    mode: Literal["auto", "manual"] = Field(
        "auto", description="auto: every column not listed in `columns` or `exclude` gets transforms chosen by its "
                            "type; manual: only the columns listed in `columns`")
    columns: dict[str, list[Transform]] = Field(
        default_factory=dict, description="Column -> transforms, e.g. {\"income\": [\"log1p\", \"buckets\"], "
                                          "\"region\": [\"onehot\"]}")
    exclude: list[str] = Field(default_factory=list, description="Columns never used as features (ids, dates)")
    crosses: list[list[str]] = Field(
        default_factory=list, description="Combinations of two or more columns, hashed into `cross_dims` columns; "
                                          "numeric columns are bucketized into `cross_buckets` quantile buckets first")
    bucket_granularities: list[int] = Field(
        default_factory=list, description="Numbers of quantile buckets, several at once (e.g. [4, 16]); empty "
                                          "chooses them from the column's distinct values and row count")
    min_frequency: int = Field(5, ge=1, description="One-hot: categories seen fewer times go to the 'other' bucket")
    max_categories: int = Field(64, ge=1, le=100_000, description="One-hot keeps at most this many categories; in "
                                                                 "auto mode a column with more is hashed instead")
    hash_dims: int = Field(256, ge=2, le=1 << 24, description="Columns of a hashed categorical column")
    cross_dims: int = Field(1024, ge=2, le=1 << 24, description="Columns of each hashed cross")
    cross_buckets: int = Field(8, ge=2, le=1024, description="Quantile buckets of a numeric column inside a cross")
    clip_lower: float = Field(0.01, ge=0, le=1, description="clip: lower quantile")
    clip_upper: float = Field(0.99, ge=0, le=1, description="clip: upper quantile")
    target_smoothing: float = Field(20.0, ge=0, description="Target encoding: weight of the prior, in rows")
    target_folds: int = Field(5, ge=2, le=50, description="Target encoding: folds of the out-of-fold fit-time "
                                                           "encoding, so a row's own label never leaks into it")
    seed: int = Field(42, description="Seed of the target-encoding folds")

    @field_validator("crosses")
    @classmethod
    def _crosses_have_two_columns(cls, value):
        for cross in value:
            if len(cross) < 2:
                raise ValueError(f"a cross needs two or more columns, got {cross}")
        return value

    @field_validator("bucket_granularities")
    @classmethod
    def _granularities(cls, value):
        if any(k < 2 or k > 1024 for k in value):
            raise ValueError("bucket granularities must be between 2 and 1024")
        return value


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _auto_transforms(series: pd.Series, config: FeatureConfig) -> list[str]:
    if pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype):
        return []
    if _is_numeric(series):
        ops = ["standardize"]
        if series.isna().any():
            ops.append("missing_indicator")
        if series.nunique() > 2:
            ops.append("buckets")
        return ops
    if series.nunique() <= config.max_categories:
        return ["onehot"]
    return ["hash", "frequency"]


def plan_columns(table: pd.DataFrame, config: FeatureConfig) -> dict[str, list[str]]:
    """Column -> transforms, after auto mode has filled in the columns the user did not configure."""
    require_columns(table, config.columns, field="columns")
    require_columns(table, config.exclude, field="exclude")
    plan: dict[str, list[str]] = {}
    for column in table.columns:
        if column == config.label or column in config.exclude:
            continue
        if column in config.columns:
            plan[column] = list(dict.fromkeys(config.columns[column]))
        elif config.mode == "auto":
            ops = _auto_transforms(table[column], config)
            if ops:
                plan[column] = ops
    if config.label and config.label in config.columns:
        raise OperatorError(f"the label column {config.label!r} cannot be a feature", field="columns",
                            column=config.label)
    return plan


def _quantile_edges(x: np.ndarray, k: int) -> np.ndarray:
    if len(x) == 0:
        return np.empty(0)
    return np.unique(np.quantile(x, np.linspace(0.0, 1.0, k + 1)[1:-1]))


def _finite(value, default: float = 0.0) -> float:
    """A statistic as a finite float; None (no rows), NaN or infinity become `default`."""
    value = float(value) if value is not None else default
    return value if np.isfinite(value) else default


def fit_feature_state(table: pd.DataFrame, config: FeatureConfig, progress=None):
    """Fit the feature state on `table`. Returns (state, overrides) where overrides hold the out-of-fold
    target encodings of the training rows (block index -> values), which replace the full-data encoding at
    fit time only."""
    require_rows(table)
    plan = plan_columns(table, config)
    y, label_meta = _label_and_identifiers(table, config, plan)  # (row identifiers leave `plan` here)
    for cross in config.crosses:
        require_columns(table, cross, field="crosses")
    if not plan and not config.crosses:
        raise OperatorError("no feature columns: every column is excluded or has no transform", field="columns")

    inputs: dict[str, dict] = {}
    blocks: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    names: list[str] = []
    categorical: list[str] = []
    overrides: dict[int, np.ndarray] = {}

    def add_input(column: str, kind: str):
        known = inputs.get(column)
        if known and known["kind"] != kind:
            raise OperatorError(f"column {column!r} cannot be both numeric and categorical in one feature state",
                                field=f"columns.{column}", column=column)
        inputs[column] = {"name": column, "kind": kind, "nullable": bool(table[column].isna().any())}

    for n, (column, ops) in enumerate(plan.items()):
        series = table[column]
        numeric_ops = [op for op in ops if op in kernel.NUMERIC_OPS]
        category_ops = [op for op in ops if op in kernel.CATEGORICAL_OPS]
        if numeric_ops:
            if pd.api.types.is_datetime64_any_dtype(series):
                raise OperatorError(f"column {column!r} is a date/time; {numeric_ops[0]!r} needs numbers",
                                    field=f"columns.{column}", column=column)
            x = kernel.numeric_column(series.to_numpy(dtype=np.float64, na_value=np.nan)
                                      if _is_numeric(series) else series.to_numpy(dtype=object), column)
            add_input(column, "numeric")
            present = x[~np.isnan(x)]
            mean = _finite(present.mean()) if len(present) else 0.0
            for op in numeric_ops:
                block = {"op": op, "column": column}
                i = len(blocks)
                if op == "standardize":
                    scale = _finite(present.std(), 1.0) if len(present) else 1.0
                    block.update(fill=mean, mean=mean, scale=scale if scale > 0 else 1.0)
                    names.append(column)
                elif op == "minmax":
                    lo = _finite(present.min()) if len(present) else 0.0
                    hi = _finite(present.max()) if len(present) else 1.0
                    block.update(fill=mean, lo=lo, span=(hi - lo) if hi > lo else 1.0)
                    names.append(f"{column}:minmax")
                elif op == "log1p":
                    block.update(fill=mean)
                    names.append(f"{column}:log1p")
                elif op == "clip":
                    lo, hi = (np.quantile(present, [config.clip_lower, config.clip_upper]) if len(present)
                              else (0.0, 0.0))
                    block.update(fill=mean, lo=_finite(lo), hi=_finite(hi))
                    names.append(f"{column}:clip")
                elif op == "raw":
                    names.append(f"{column}:raw")
                elif op == "missing_indicator":
                    names.append(f"{column}:missing")
                elif op == "buckets":
                    granularities, seen = [], set()
                    levels = config.bucket_granularities or [
                        k for k in AUTO_GRANULARITIES
                        if len(np.unique(present)) > k and len(present) >= MIN_ROWS_PER_BUCKET * k] or [4]
                    for k in levels:
                        edges = _quantile_edges(present, k)
                        if len(edges) == 0 or tuple(edges) in seen:
                            continue
                        seen.add(tuple(edges))
                        arrays[f"b{i}.edges{len(granularities)}"] = edges
                        granularities.append(k)
                        names.extend(f"{column}:q{k}_{b}" for b in range(len(edges) + 1))
                        names.append(f"{column}:q{k}_missing")
                    if not granularities:
                        continue  # a constant column: nothing to bucket
                    block.update(granularities=granularities)
                blocks.append(block)
        if category_ops:
            codes, values = kernel.category_codes(categories(series))
            add_input(column, "categorical")
            counts = np.bincount(codes[codes >= 0], minlength=len(values))
            ranked = sorted(((v, int(c)) for v, c in zip(values, counts) if c), key=lambda kv: (-kv[1], kv[0]))
            n_rows = len(codes)
            n_missing = int((codes < 0).sum())
            for op in category_ops:
                block = {"op": op, "column": column}
                i = len(blocks)
                if op == "onehot":
                    vocab = [v for v, c in ranked if c >= config.min_frequency][:config.max_categories]
                    block["vocab"] = vocab
                    names.extend(f"{column}={v}" for v in vocab)
                    names.extend([f"{column}=__other__", f"{column}=__missing__"])
                elif op == "ordinal":
                    vocab = [v for v, c in ranked if c >= config.min_frequency][:config.max_categories]
                    block["vocab"] = vocab
                    names.append(column)
                    categorical.append(column)
                elif op == "hash":
                    block["n_dims"] = config.hash_dims
                    names.extend(f"{column}:hash{j}" for j in range(config.hash_dims))
                elif op == "frequency":
                    vocab = [v for v, _ in ranked]
                    block.update(vocab=vocab, missing_value=n_missing / n_rows)
                    arrays[f"b{i}.values"] = np.array([c for _, c in ranked], dtype=np.float64) / n_rows
                    names.append(f"{column}:freq")
                elif op == "target":
                    vocab, encoded, prior, missing_value, oof = _fit_target(codes, values, y, config)
                    block.update(vocab=vocab, prior=prior, missing_value=missing_value)
                    arrays[f"b{i}.values"] = encoded
                    overrides[i] = oof
                    names.append(f"{column}:target")
                blocks.append(block)
        unknown = [op for op in ops if op not in kernel.NUMERIC_OPS + kernel.CATEGORICAL_OPS]
        if unknown:
            raise OperatorError(f"unknown transform {unknown[0]!r} for column {column!r}",
                                field=f"columns.{column}", column=column)
        if progress:
            progress((n + 1) / (len(plan) + len(config.crosses) + 1))

    for c, cross in enumerate(config.crosses):
        parts = []
        i = len(blocks)
        for p, column in enumerate(cross):
            series = table[column]
            if _is_numeric(series) and inputs.get(column, {}).get("kind") != "categorical":
                x = series.to_numpy(dtype=np.float64, na_value=np.nan)
                arrays[f"b{i}.edges{p}"] = _quantile_edges(x[~np.isnan(x)], config.cross_buckets)
                add_input(column, "numeric")
                parts.append({"column": column, "kind": "buckets"})
            else:
                add_input(column, "categorical")
                parts.append({"column": column, "kind": "category"})
        blocks.append({"op": "cross", "parts": parts, "n_dims": config.cross_dims})
        names.extend(f"{'*'.join(cross)}:{j}" for j in range(config.cross_dims))

    meta = {"format": kernel.FORMAT, "label": config.label or None, "inputs": list(inputs.values()),
            "blocks": blocks, "names": names, "categorical": categorical, **label_meta}
    return Fitted("features", meta=meta, arrays=arrays), overrides


def _label_and_identifiers(table: pd.DataFrame, config: FeatureConfig, plan: dict[str, list[str]]):
    """The label as 0/1 with its classes (operators/labels.py), and the row identifiers that auto mode chose
    and that are left out of `plan` (operators/identifiers.py; a column listed in `columns` stays). Returns
    (y or None, the state's meta entries: label_classes, excluded_identifiers)."""
    meta: dict = {"excluded_identifiers": []}
    if config.mode == "auto":
        meta["excluded_identifiers"] = row_identifiers(table, [c for c in plan if c not in config.columns])
        for found in meta["excluded_identifiers"]:
            del plan[found["column"]]
    if not config.label:
        if any("target" in ops for ops in plan.values()):
            raise OperatorError("target encoding needs the label column", field="label")
        return None, meta
    y, classes = encode_label(table, config.label, config.positive)
    meta["label_classes"] = classes.to_json()
    return y, meta


def _fit_target(codes: np.ndarray, values: list[str], y: np.ndarray, config: FeatureConfig):
    """Smoothed mean of the label per category on all rows (for new rows), and out-of-fold for the
    training rows themselves. Missing values are one more category."""
    m, k = config.target_smoothing, len(values)
    prior = float(y.mean())
    keys = np.where(codes < 0, k, codes)  # k: missing

    def encode(rows: np.ndarray) -> np.ndarray:
        sums = np.bincount(keys[rows], weights=y[rows], minlength=k + 1)
        counts = np.bincount(keys[rows], minlength=k + 1)
        return (sums + prior * m) / (counts + m)

    full = encode(np.ones(len(keys), dtype=bool))
    seen = np.bincount(keys, minlength=k + 1) > 0
    folds = np.random.default_rng(config.seed).integers(0, config.target_folds, len(keys))
    oof = np.empty(len(keys), dtype=np.float64)
    for f in range(config.target_folds):
        held = folds == f
        if held.any():
            oof[held] = encode(~held)[keys[held]]  # a category absent from the other folds gets the prior
    order = sorted((j for j in range(k) if seen[j]), key=lambda j: values[j])
    vocab = [values[j] for j in order]
    return vocab, full[order], prior, float(full[k]) if seen[k] else prior, oof


def categories(series: pd.Series) -> kernel.Categories:
    """A pandas column dictionary-encoded for the kernel (one lookup per distinct value, not per row)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return kernel.Categories(codes, np.asarray(uniques, dtype=object))


def table_columns(table: pd.DataFrame, state: Fitted) -> dict[str, np.ndarray]:
    """The raw columns the kernel needs, as numpy arrays (plus the label when present)."""
    wanted = [c["name"] for c in state.meta["inputs"]]
    label = state.meta.get("label")
    require_columns(table, wanted, field="feature_state", port="table")
    columns = {}
    for spec in state.meta["inputs"]:
        series = table[spec["name"]]
        if spec["kind"] == "numeric":
            columns[spec["name"]] = (series.to_numpy(dtype=np.float64, na_value=np.nan) if _is_numeric(series)
                                     else series.to_numpy(dtype=object))
        else:
            columns[spec["name"]] = categories(series)
    if label and label in table.columns:
        columns[label] = table[label].to_numpy()
    return columns


def apply_state(table: pd.DataFrame, state: Fitted):
    """Transform a pandas table with a fitted state through the shared kernel."""
    return kernel.transform(state, table_columns(table, state), len(table))


class FeatureExtraction(Operator):
    """Learns a feature transform from a table and applies it. In `auto` mode numeric columns are standardized,
    get a missing indicator when they have gaps, and are bucketized by quantiles at several granularities;
    categorical columns are one-hot encoded (rare values share an 'other' bucket) or, with many distinct values,
    hashed and frequency-encoded. `columns` overrides the choice per column; `crosses` adds hashed combinations.
    The fitted state (JSON + arrays) is what `predict`, `apply_features` and a published model reuse on new rows.
    Target encoding is out-of-fold on the training rows."""

    name = "feature_extraction"
    category = "Feature engineering"
    description = "Turn table columns into a feature matrix by configuration (auto by column type)."
    inputs = (Port("table", PortType.TABLE, "Training rows"),)
    outputs = (Port("features", PortType.FEATURES, "The feature matrix of the training rows, with the label"),
               Port("feature_state", PortType.FEATURE_STATE, "The fitted transform, to apply to new rows"))
    Params = FeatureConfig

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        state, overrides = fit_feature_state(table, params, progress=lambda f: ctx.progress(0.8 * f))
        compiled = kernel.compiled(state)
        features = kernel._transform(compiled, table_columns(table, state), len(table), overrides)
        if params.label:
            features.label = binary_label(table, params.label, positive=params.positive)
        if state.meta["excluded_identifiers"]:
            ctx.log(log_line(state.meta["excluded_identifiers"]))
        ctx.log(f"{len(table):,} rows -> {len(features.names):,} features from {len(state.meta['inputs'])} columns")
        return {"features": features, "feature_state": state}


class ApplyFeatures(Operator):
    """Applies a fitted feature state to new rows (a validation or test table) with the same kernel that
    training and online scoring use. Unseen categories fall into the state's 'other' bucket."""

    name = "apply_features"
    category = "Feature engineering"
    description = "Apply a fitted feature state to new rows."
    inputs = (Port("feature_state", PortType.FEATURE_STATE, "A fitted feature state"),
              Port("table", PortType.TABLE, "Rows to transform"))
    outputs = (Port("features", PortType.FEATURES, "The feature matrix, with the label when the table has it"),)

    class Params(Params):
        pass

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        return {"features": apply_state(table, inputs["feature_state"])}

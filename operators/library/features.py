"""Feature extraction by configuration (Prophet's way): fit a feature state on a table, transform with the kernel.

The fit half lives here (pandas / numpy statistics); the transform half is `operators.kernels.features`, which
training, batch scoring, Spark and the online scorer all share. The state's JSON shape is documented there.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import Operator, Params, Port, PortType
from ..feature_state import (SAMPLED, FeatureConfig, FeatureMessages, Moments, TargetEncoding,
                             auto_categories, auto_transforms, build_feature_state, check_label_not_feature,
                             label_and_identifiers, left_out_times, mostly_numbers, not_numbers_log_line,
                             times_log_line, worth_counting)
from ..kernels import features as kernel
from ..identifiers import log_line, row_identifiers
from ..labels import encode_label
from ..tables import binary_label, require_columns, require_rows
from ..values import Fitted


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _is_time(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series) or isinstance(series.dtype, pd.PeriodDtype)


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
    check_label_not_feature(config)
    return plan


def _auto_transforms(series: pd.Series, config: FeatureConfig) -> list[str]:
    if _is_time(series):
        return []
    kind = "numeric" if _is_numeric(series) else "category"
    return auto_transforms(kind, bool(series.isna().any()), series.nunique(), config)


class PandasStatistics:
    """The fit's statistics of a pandas table (operators.feature_state.FeatureStatistics)."""

    def __init__(self, table: pd.DataFrame, config: FeatureConfig):
        self.table, self.config = table, config
        self.rows = len(table)
        self._present: dict[str, np.ndarray] = {}
        self._codes: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._label: np.ndarray | None = None

    def nullable(self, column: str) -> bool:
        return bool(self.table[column].isna().any())

    def is_numeric(self, column: str) -> bool:
        return _is_numeric(self.table[column])

    def is_time(self, column: str) -> bool:
        return pd.api.types.is_datetime64_any_dtype(self.table[column])

    def present(self, column: str) -> np.ndarray:
        """The column's present values as float64; kernel.numeric_column names a column that is not numeric."""
        if column not in self._present:
            series = self.table[column]
            x = kernel.numeric_column(series.to_numpy(dtype=np.float64, na_value=np.nan)
                                      if _is_numeric(series) else series.to_numpy(dtype=object), column)
            self._present[column] = x[~np.isnan(x)]
        return self._present[column]

    def moments(self, column: str, op: str) -> Moments:
        x = self.present(column)
        if not len(x):
            return Moments(0, None, None, None, None)
        return Moments(len(x), x.mean(), x.std(), x.min(), x.max())

    def distinct(self, column: str) -> int:
        return len(np.unique(self.present(column)))

    def quantiles(self, column: str, probabilities: list[float]) -> np.ndarray:
        return np.quantile(self.present(column), probabilities)

    def codes(self, column: str) -> tuple[np.ndarray, list[str]]:
        if column not in self._codes:
            self._codes[column] = kernel.category_codes(categories(self.table[column]))
        return self._codes[column]

    def category_counts(self, column: str) -> tuple[list[tuple[str, int]], int]:
        codes, values = self.codes(column)
        counts = np.bincount(codes[codes >= 0], minlength=len(values))
        ranked = sorted(((v, int(c)) for v, c in zip(values, counts, strict=True) if c),
                        key=lambda kv: (-kv[1], kv[0]))
        return ranked, int((codes < 0).sum())

    def target(self, column: str, block: int) -> TargetEncoding:
        if self._label is None:
            self._label = binary_label(self.table, self.config.label, positive=self.config.positive)
        codes, values = self.codes(column)
        return _fit_target(codes, values, self._label, self.config)


def not_numbers_lines(table: pd.DataFrame, state: Fitted, config: FeatureConfig,
                      columns: list[str] | None = None) -> list[str]:
    """The log's lines for the columns of numbers that auto mode took as categories because a few of their
    values are not numbers (operators.feature_state.mostly_numbers); of `columns` of them when given."""
    lines = []
    for column in auto_categories(state, config) if columns is None else columns:
        values = table[column].dropna()
        head = values.head(SAMPLED).astype(str).str.strip()
        if not worth_counting(int(pd.to_numeric(head, errors="coerce").isna().sum()), len(head)):
            continue  # text, not numbers: the common case, decided on a few values
        text = values.astype(str).str.strip()
        bad = text[pd.to_numeric(text, errors="coerce").isna()]
        if mostly_numbers(len(bad), len(values)):
            lines.append(not_numbers_log_line(str(column), len(bad), len(values), [bad.min(), bad.max()]))
    return lines


def fit_feature_state(table: pd.DataFrame, config: FeatureConfig, progress=None):
    """Fit the feature state on `table`. Returns (state, overrides) where overrides hold the out-of-fold
    target encodings of the training rows (block index -> values), which replace the full-data encoding at
    fit time only."""
    require_rows(table)
    plan = plan_columns(table, config)
    label_meta = label_and_identifiers(  # (row identifiers leave `plan` here)
        config, plan, lambda candidates: row_identifiers(table, candidates),
        lambda: encode_label(table, config.label, config.positive)[1])
    for cross in config.crosses:
        require_columns(table, cross, field="crosses")
    state, overrides = build_feature_state(plan, PandasStatistics(table, config), config, progress)
    state.meta.update(label_meta)
    return state, overrides


def _fit_target(codes: np.ndarray, values: list[str], y: np.ndarray, config: FeatureConfig) -> TargetEncoding:
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
    return TargetEncoding(vocab, full[order], prior, float(full[k]) if seen[k] else prior, oof)


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
    """Learns a feature transform from a table and applies it. In `auto` mode the state holds two views, one per
    model family (`model_family`): for logistic regression numeric columns are standardized, get a missing
    indicator when they have gaps, and are bucketized by quantiles at several granularities, and categorical
    columns are one-hot encoded (rare values share an 'other' bucket) or, with many distinct values, hashed and
    frequency-encoded; for GBDT numeric columns pass raw (missing stays missing) and categorical columns become
    LightGBM category codes (the vocabulary is in the state; unseen values score as missing). train_lr and
    train_gbdt each take their view; predict and publishing use the view the model was trained on. `columns`
    overrides the choice per column; `crosses` adds hashed combinations.
    The fitted state (JSON + arrays) is what `predict`, `apply_features` and a published model reuse on new rows.
    Target encoding is out-of-fold on the training rows."""

    name = "feature_extraction"
    spark = "operators.spark.features:feature_extraction"
    category = "Feature engineering"
    description = "Turn table columns into a feature matrix by configuration (auto by column type)."
    inputs = (Port("table", PortType.TABLE, "Training rows"),)
    outputs = (Port("features", PortType.FEATURES, "The feature matrix of the training rows, with the label"),
               Port("feature_state", PortType.FEATURE_STATE, "The fitted transform, to apply to new rows"))
    Params = FeatureConfig
    Messages = FeatureMessages

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        state, overrides = fit_feature_state(table, params, progress=lambda f: ctx.progress(0.8 * f))
        compiled = kernel.compiled(state)
        features = kernel.transform_compiled(compiled, table_columns(table, state), len(table), overrides)
        if params.label:
            features.label = binary_label(table, params.label, positive=params.positive)
        if state.meta["excluded_identifiers"]:
            ctx.log(log_line(state.meta["excluded_identifiers"]))
        if times := left_out_times(table.columns, lambda c: _is_time(table[c]), params):
            ctx.log(times_log_line(times))
            state.meta["left_out_times"] = times  # a published model says so (its Try it form)
        for line in not_numbers_lines(table, state, params):
            ctx.log(line)
        ctx.log(f"{len(table):,} rows -> {len(features.names):,} features from {len(state.meta['inputs'])} columns")
        return {"features": features, "feature_state": state}


class ApplyFeatures(Operator):
    """Applies a fitted feature state to new rows (a validation or test table) with the same kernel that
    training and online scoring use. Unseen categories fall into the state's 'other' bucket."""

    name = "apply_features"
    spark = "operators.spark.features:apply_features"
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

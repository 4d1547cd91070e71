"""The feature state's fit, once for both engines: `build_feature_state(plan, stats, config)`.

The fit turns a plan (column -> transforms) and a table's statistics into the state the kernel
(`operators.kernels.features`) applies. Block building, ordering, names and checks live here; where the numbers
come from is a `FeatureStatistics`: pandas/numpy in `operators.library.features`, Spark aggregations in
`operators.spark.features`. Adding a transform: one entry in `NUMERIC_BLOCKS` or `CATEGORY_BLOCKS` here (the
statistics it reads are the interface's), one compiler in the kernel's table, one name in `Transform`.

Imports numpy and pydantic only: no pandas, no pyspark.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field, field_validator

from .contract import Message, Messages, Params
from .kernels import features as kernel
from .labels import POSITIVE_RULE
from .values import Fitted

Transform = Literal["standardize", "minmax", "log1p", "clip", "raw", "missing_indicator", "buckets",
                    "onehot", "ordinal", "hash", "frequency", "target"]
View = Literal["lr", "gbdt"]
VIEWS = ("lr", "gbdt")
AUTO_GRANULARITIES = (4, 16, 64)
MIN_ROWS_PER_BUCKET = 20
ORDINAL_MAX_CATEGORIES = 1024


class FeatureConfig(Params):
    """Parameters shared by the operator and by `fit_feature_state` (usable from a notebook)."""

    label: str = Field("label", description="Binary label column; carried with the features, never a feature. "
                                            "Empty for unlabelled data")
    positive: str = Field("", max_length=200, description=POSITIVE_RULE[0].upper() + POSITIVE_RULE[1:])
    model_family: Literal["both", "lr", "gbdt"] = Field(
        "both", description="Which models auto mode prepares features for. both: one state with two views, "
                            "an LR view (standardised values, missing indicators, quantile buckets, one-hot) and a "
                            "GBDT view (raw numbers with missing kept, categories as LightGBM category codes, "
                            "unseen -> missing); train_lr and train_gbdt each take their own view")
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


class FeatureMessages(Messages):
    """feature_extraction's user-facing messages, raised by both engines' fits."""

    label_is_feature = Message("the label column {column!r} cannot be a feature")
    no_features = Message("no feature columns: every column is excluded or has no transform")
    unknown_transform = Message("unknown transform {op!r} for column {column!r}")
    date_not_number = Message("column {column!r} is a date/time; {op!r} needs numbers")
    not_a_number = Message("column {column!r} must be numeric for {op!r}")
    both_kinds = Message("column {column!r} cannot be both numeric and categorical in one feature state")
    target_needs_label = Message("target encoding needs the label column")


@dataclass(frozen=True)
class Moments:
    """A numeric column's statistics over its present (non-missing) values; None when there are none."""

    present: int
    mean: float | None
    std: float | None  # population standard deviation
    min: float | None
    max: float | None


@dataclass(frozen=True)
class TargetEncoding:
    """Smoothed label mean per category on all rows (`values`, in `vocab` order), and the engine's out-of-fold
    encoding of the training rows (`oof`: a numpy array locally, a column-adding function on Spark)."""

    vocab: list[str]
    values: np.ndarray
    prior: float
    missing_value: float
    oof: Any


class FeatureStatistics(Protocol):
    """What the fit asks of a table; one pandas and one Spark implementation."""

    rows: int

    def nullable(self, column: str) -> bool: ...

    def is_numeric(self, column: str) -> bool: ...

    def is_time(self, column: str) -> bool: ...

    def moments(self, column: str, op: str) -> Moments:
        """OperatorError naming the column and `op` when it is not numeric."""

    def distinct(self, column: str) -> int:
        """Distinct present values (exact wherever a decision compares it)."""

    def quantiles(self, column: str, probabilities: list[float]) -> np.ndarray:
        """numpy's linear-interpolation quantiles of the present values; only called when some are present."""

    def category_counts(self, column: str) -> tuple[list[tuple[str, int]], int]:
        """(canonical value, count) by count descending then value, and the count of missing values."""

    def target(self, column: str, block: int) -> TargetEncoding: ...


def finite(value, default: float = 0.0) -> float:
    """A statistic as a finite float; None (no rows), NaN or infinity become `default`."""
    value = float(value) if value is not None else default
    return value if np.isfinite(value) else default


def quantile_levels(k: int) -> list[float]:
    """The inner cut points of k quantile buckets."""
    return [float(p) for p in np.linspace(0.0, 1.0, k + 1)[1:-1]]


def bucket_levels(config: FeatureConfig, distinct: Callable[[], int], present: int) -> list[int]:
    """The granularities a `buckets` transform tries: the configured ones, or those the data can fill."""
    if config.bucket_granularities:
        return list(config.bucket_granularities)
    n_distinct = distinct()
    return [k for k in AUTO_GRANULARITIES if n_distinct > k and present >= MIN_ROWS_PER_BUCKET * k] or [4]


def auto_transforms(kind: str, has_missing: bool, distinct: int, config: FeatureConfig) -> list[str]:
    """The transforms auto mode gives a column of `kind` ("time", "numeric" or "category"); with both model
    families each transform is prefixed by the view it serves ("lr:onehot", "gbdt:raw"; no prefix: both)."""
    if kind == "time":
        return []
    many = kind == "category" and distinct > config.max_categories
    if kind == "numeric":
        lr = ["standardize"] + (["missing_indicator"] if has_missing else []) + (["buckets"] if distinct > 2 else [])
        gbdt = ["raw"]
    else:
        lr, gbdt = (["hash"], ["ordinal"]) if many else (["onehot"], ["ordinal"])
    shared = ["frequency"] if many else []
    if config.model_family == "lr":
        return lr + shared
    if config.model_family == "gbdt":
        return gbdt + shared
    return [f"lr:{op}" for op in lr] + shared + [f"gbdt:{op}" for op in gbdt]


def left_out_times(columns, is_time: Callable[[str], bool], config: FeatureConfig) -> list[str]:
    """The date / time columns auto mode leaves out (it makes no feature of a time): not the label, not excluded,
    not configured in `columns`. Empty outside auto mode, where only configured columns are features."""
    if config.mode != "auto":
        return []
    return [str(c) for c in columns
            if c != config.label and c not in config.exclude and c not in config.columns and is_time(c)]


def times_log_line(columns: list[str]) -> str:
    """The run log's line for left_out_times: which columns, and how to use one (a newcomer's date column was
    otherwise dropped without a word)."""
    listed = ", ".join(repr(c) for c in columns)
    example = columns[0]
    return (f"left out {listed} (a date/time: auto mode makes no feature of it); to use it, derive numbers from it "
            f"before this node with derive_column, e.g. month({example}) or year({example})")


NUMERIC_SHARE = 0.9  # a text column whose values are at least this share numbers is numbers but for a few cells
SAMPLED = 200  # the first values that decide whether a text column is worth counting (most are plain text)


def worth_counting(sample_not_numbers: int, sample: int) -> bool:
    """Whether a text column whose first `sample` (<= SAMPLED) values hold `sample_not_numbers` that are not
    numbers may be mostly numbers, so that counting all its values (`mostly_numbers`) is worth a pass."""
    return sample > 0 and sample_not_numbers <= 0.5 * sample


def mostly_numbers(not_numbers: int, present: int) -> bool:
    """Whether a text column with `not_numbers` of its `present` values not numbers is a column of numbers with a
    few stray cells ("n/a", "unknown", a typo such as "3O") that made the whole column text."""
    return 0 < not_numbers <= (1 - NUMERIC_SHARE) * present


def auto_categories(state, config: FeatureConfig) -> list[str]:
    """The columns auto mode made categories of (a configured column is the user's choice): those whose text
    `mostly_numbers` checks."""
    return [spec["name"] for spec in state.meta["inputs"]
            if spec["kind"] == "categorical" and spec["name"] not in config.columns]


def not_numbers_log_line(column: str, not_numbers: int, present: int, examples: list[str]) -> str:
    """The run log's line for a column of numbers that auto mode takes as a category because of a few cells that
    are not numbers (the Data page warns of it; a features node said nothing): which column, how many cells, a
    few of them (the smallest and the largest, on either engine), and the two ways to fix it."""
    shown = ", ".join(repr(e) for e in dict.fromkeys(examples))
    return (f"column {column!r} is used as a category, not numbers: {not_numbers:,} of its {present:,} values are "
            f"not numbers ({shown}); if they mean 'missing', add them to the import node's null values (cells "
            f"read as missing), or replace them with numbers in a derive_column node")


def split_op(op: str) -> tuple[str | None, str]:
    """A plan entry as (view or None, transform): "gbdt:raw" -> ("gbdt", "raw")."""
    view, sep, name = op.partition(":")
    return (view, name) if sep and view in VIEWS else (None, op)


def plain_ops(ops: list[str]) -> list[str]:
    """A plan's transforms without their view prefixes."""
    return [split_op(op)[1] for op in ops]


def check_label_not_feature(config: FeatureConfig) -> None:
    if config.label and config.label in config.columns:
        raise FeatureMessages.label_is_feature(field="columns", column=config.label)


def build_feature_state(plan: Mapping[str, list[str]], stats: FeatureStatistics, config: FeatureConfig,
                        progress: Callable[[float], None] | None = None) -> tuple[Fitted, dict[int, Any]]:
    """The fitted feature state of `plan` and the out-of-fold target encodings of the training rows (block
    index -> the engine's `TargetEncoding.oof`), which replace the full-data encoding at fit time only."""
    if not plan and not config.crosses:
        raise FeatureMessages.no_features(field="columns")
    builder = _Builder(stats, config)
    steps = len(plan) + len(config.crosses) + 1
    for n, (column, ops) in enumerate(plan.items()):
        builder.add_column(column, ops)
        if progress:
            progress((n + 1) / steps)
    # crosses serve LR (a tree finds interactions itself): in a state with views they are the LR view's
    cross_view = "lr" if any("view" in block for block in builder.blocks) else None
    for cross in config.crosses:
        builder.add_cross(cross, cross_view)
    meta = {"format": kernel.FORMAT, "label": config.label or None, "inputs": list(builder.inputs.values()),
            "blocks": builder.blocks, "names": builder.names, "categorical": builder.categorical}
    if any("view" in block for block in builder.blocks):
        meta["views"] = list(VIEWS)
    return Fitted("features", meta=meta, arrays=builder.arrays), builder.overrides


class _Builder:
    def __init__(self, stats: FeatureStatistics, config: FeatureConfig):
        self.stats, self.config = stats, config
        self.inputs: dict[str, dict] = {}
        self.blocks: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}
        self.names: list[str] = []
        self.categorical: list[str] = []
        self.overrides: dict[int, Any] = {}

    def add_input(self, column: str, kind: str) -> None:
        known = self.inputs.get(column)
        if known and known["kind"] != kind:
            raise FeatureMessages.both_kinds(field=f"columns.{column}", column=column)
        self.inputs[column] = {"name": column, "kind": kind, "nullable": self.stats.nullable(column)}

    def edges(self, column: str, k: int, present: int) -> np.ndarray:
        if present == 0:
            return np.empty(0)
        return np.unique(self.stats.quantiles(column, quantile_levels(k)))

    def add_column(self, column: str, ops: list[str]) -> None:
        tagged = [split_op(op) for op in ops]
        unknown = [op for _, op in tagged if op not in NUMERIC_BLOCKS and op not in CATEGORY_BLOCKS]
        if unknown:
            raise FeatureMessages.unknown_transform(op=unknown[0], field=f"columns.{column}", column=column)
        numeric_ops = [(view, op) for view, op in tagged if op in NUMERIC_BLOCKS]
        category_ops = [(view, op) for view, op in tagged if op in CATEGORY_BLOCKS]
        if numeric_ops:
            if self.stats.is_time(column):
                raise FeatureMessages.date_not_number(op=numeric_ops[0][1], field=f"columns.{column}", column=column)
            moments = self.stats.moments(column, numeric_ops[0][1])
            self.add_input(column, "numeric")
            for view, op in numeric_ops:
                self._add_block(op, column, view, NUMERIC_BLOCKS[op](self, column, len(self.blocks), moments))
        if category_ops:
            if any(op == "target" for _, op in category_ops) and not self.config.label:
                raise FeatureMessages.target_needs_label(field="label")
            self.add_input(column, "categorical")
            counts = self.stats.category_counts(column)
            for view, op in category_ops:
                self._add_block(op, column, view, CATEGORY_BLOCKS[op](self, column, len(self.blocks), counts))

    def _add_block(self, op: str, column: str, view: str | None, fields: dict | None) -> None:
        if fields is not None:  # None: the transform has nothing to add (a constant column's buckets)
            self.blocks.append({"op": op, "column": column, **fields, **({"view": view} if view else {})})

    def add_cross(self, cross: list[str], view: str | None = None) -> None:
        parts = []
        i = len(self.blocks)
        for p, column in enumerate(cross):
            if self.stats.is_numeric(column) and self.inputs.get(column, {}).get("kind") != "categorical":
                present = self.stats.moments(column, "cross").present
                self.arrays[f"b{i}.edges{p}"] = self.edges(column, self.config.cross_buckets, present)
                self.add_input(column, "numeric")
                parts.append({"column": column, "kind": "buckets"})
            else:
                self.add_input(column, "categorical")
                parts.append({"column": column, "kind": "category"})
        self.blocks.append({"op": "cross", "parts": parts, "n_dims": self.config.cross_dims,
                            **({"view": view} if view else {})})
        self.names.extend(f"{'*'.join(cross)}:{j}" for j in range(self.config.cross_dims))


# ------------------------------------------------------------------------------ numeric transforms
# Each takes (builder, column, block index, Moments), appends its output names and returns the block's fields.
def _mean(m: Moments) -> float:
    return finite(m.mean) if m.present else 0.0


def _standardize(b: _Builder, column: str, i: int, m: Moments) -> dict:
    scale = finite(m.std, 1.0) if m.present else 1.0
    b.names.append(column)
    return {"fill": _mean(m), "mean": _mean(m), "scale": scale if scale > 0 else 1.0}


def _minmax(b: _Builder, column: str, i: int, m: Moments) -> dict:
    lo = finite(m.min) if m.present else 0.0
    hi = finite(m.max) if m.present else 1.0
    b.names.append(f"{column}:minmax")
    return {"fill": _mean(m), "lo": lo, "span": (hi - lo) if hi > lo else 1.0}


def _log1p(b: _Builder, column: str, i: int, m: Moments) -> dict:
    b.names.append(f"{column}:log1p")
    return {"fill": _mean(m)}


def _clip(b: _Builder, column: str, i: int, m: Moments) -> dict:
    bounds = [b.config.clip_lower, b.config.clip_upper]
    lo, hi = b.stats.quantiles(column, bounds) if m.present else (0.0, 0.0)
    b.names.append(f"{column}:clip")
    return {"fill": _mean(m), "lo": finite(lo), "hi": finite(hi)}


def _raw(b: _Builder, column: str, i: int, m: Moments) -> dict:
    b.names.append(f"{column}:raw")
    return {}


def _missing_indicator(b: _Builder, column: str, i: int, m: Moments) -> dict:
    b.names.append(f"{column}:missing")
    return {}


def _buckets(b: _Builder, column: str, i: int, m: Moments) -> dict | None:
    granularities, seen = [], set()
    for k in bucket_levels(b.config, lambda: b.stats.distinct(column), m.present):
        edges = b.edges(column, k, m.present)
        if len(edges) == 0 or tuple(edges) in seen:
            continue
        seen.add(tuple(edges))
        b.arrays[f"b{i}.edges{len(granularities)}"] = edges
        granularities.append(k)
        b.names.extend(f"{column}:q{k}_{j}" for j in range(len(edges) + 1))
        b.names.append(f"{column}:q{k}_missing")
    return {"granularities": granularities} if granularities else None  # a constant column: nothing to bucket


NUMERIC_BLOCKS: dict[str, Callable[[_Builder, str, int, Moments], dict | None]] = {
    "standardize": _standardize, "minmax": _minmax, "log1p": _log1p, "clip": _clip, "raw": _raw,
    "missing_indicator": _missing_indicator, "buckets": _buckets,
}


# -------------------------------------------------------------------------- categorical transforms
# Each takes (builder, column, block index, (ranked counts, missing count)) like the numeric ones.
Counts = tuple[list[tuple[str, int]], int]


def _vocab(b: _Builder, ranked: list[tuple[str, int]]) -> list[str]:
    return [v for v, c in ranked if c >= b.config.min_frequency][:b.config.max_categories]


def _onehot(b: _Builder, column: str, i: int, counts: Counts) -> dict:
    vocab = _vocab(b, counts[0])
    b.names.extend(f"{column}={v}" for v in vocab)
    b.names.extend([f"{column}=__other__", f"{column}=__missing__"])
    return {"vocab": vocab}


def _ordinal(b: _Builder, column: str, i: int, counts: Counts) -> dict:
    """LightGBM category codes: one column, so the vocabulary is not capped by `max_categories` (a one-hot
    width) but by ORDINAL_MAX_CATEGORIES; rarer values than `min_frequency` score as missing."""
    b.names.append(column)
    b.categorical.append(column)
    return {"vocab": [v for v, c in counts[0] if c >= b.config.min_frequency][:ORDINAL_MAX_CATEGORIES]}


def _hash(b: _Builder, column: str, i: int, counts: Counts) -> dict:
    b.names.extend(f"{column}:hash{j}" for j in range(b.config.hash_dims))
    return {"n_dims": b.config.hash_dims}


def _frequency(b: _Builder, column: str, i: int, counts: Counts) -> dict:
    ranked, n_missing = counts
    rows = b.stats.rows
    b.arrays[f"b{i}.values"] = np.array([c for _, c in ranked], dtype=np.float64) / rows
    b.names.append(f"{column}:freq")
    return {"vocab": [v for v, _ in ranked], "missing_value": n_missing / rows}


def _target(b: _Builder, column: str, i: int, counts: Counts) -> dict:
    encoding = b.stats.target(column, i)
    b.arrays[f"b{i}.values"] = encoding.values
    b.overrides[i] = encoding.oof
    b.names.append(f"{column}:target")
    return {"vocab": encoding.vocab, "prior": encoding.prior, "missing_value": encoding.missing_value}


CATEGORY_BLOCKS: dict[str, Callable[[_Builder, str, int, Counts], dict]] = {
    "onehot": _onehot, "ordinal": _ordinal, "hash": _hash, "frequency": _frequency, "target": _target,
}


def label_and_identifiers(config: FeatureConfig, plan: dict[str, list[str]],
                          identifiers: Callable[[list[str]], list[dict]], label_classes: Callable[[], Any]) -> dict:
    """The state's meta entries `label_classes` (the label's two values, operators/labels.py) and
    `excluded_identifiers`: the row identifiers auto mode chose, which leave `plan` (operators/identifiers.py; a
    column listed in `columns` stays). The engine gives the two look-ups: `identifiers(candidates)` and
    `label_classes()`."""
    meta: dict = {"excluded_identifiers": []}
    if config.mode == "auto":
        meta["excluded_identifiers"] = identifiers([c for c in plan if c not in config.columns])
        for found in meta["excluded_identifiers"]:
            del plan[found["column"]]
    if config.label:
        meta["label_classes"] = label_classes().to_json()
    return meta

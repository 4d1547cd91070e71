"""Feature extraction on Spark: the fit computes the same feature state with Spark aggregations, and the
transform runs the one numpy kernel (operators.kernels.features) over Arrow batches through mapInArrow.

Fitted states match the local engine's within these tolerances (tests/spark/test_parity.py):
- means, standard deviations (population), minima, maxima, counts and frequencies: exact up to float
  summation order (relative 1e-9);
- vocabularies (one-hot, ordinal, frequency, target): identical;
- quantiles (bucket edges, clip bounds, cross buckets) of a numeric column the fit counted exactly (few
  distinct values): identical (numpy's quantile over the values rebuilt from the counts); of the others: the
  two order statistics numpy interpolates between, interpolated as numpy does, read from the column summary's
  quantile sketch (operators.spark.column_summary: within SKETCH_ERROR * n ranks, half of the bound below) or,
  for a column without one, from Spark's approxQuantile at relative error QUANTILE_RELATIVE_ERROR (1e-4). Spark
  bounds each order statistic's rank within ceil(n * 1e-4 + 0.5) rows of numpy's (n the values present): one row
  on up to 5,000 rows, so an edge may be interpolated from its neighbours' values (seen on a table of one
  partition), about 0.01% of the rows on big tables;
- distinct counts (which choose transforms and granularities in auto mode): exact wherever they decide (counted
  exactly up to the largest threshold, in the one summary pass);
- target encoding: the full-data encoding of new rows is identical; the out-of-fold encoding of the training
  rows draws its folds with Spark's seeded rand(), not numpy's, so it differs row by row (not in law).
The transform is the kernel itself, so features are identical for the same fitted state. Its output is the
kernel over a compact frame of the raw columns (`transform_on_spark`), which the engine caches instead of the
wide vectors; a model's view is computed from that frame in the model's own tasks.
"""
from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

from ..contract import OperatorError
from ..feature_state import (AUTO_GRANULARITIES, CATEGORY_BLOCKS, FeatureMessages, Moments, TargetEncoding,
                             auto_transforms, bucket_levels, build_feature_state, check_label_not_feature,
                             label_and_identifiers, left_out_times, plain_ops, quantile_levels, times_log_line)
from ..feature_state import SAMPLED, auto_categories, mostly_numbers, not_numbers_log_line, worth_counting
from ..identifiers import log_line
from ..kernels import features as kernel
from ..labels import LabelClasses, positive_text
from ..values import Fitted
from .frames import FEATURES, LABEL, Compact, SparkFeatures, features_schema, vector_array
from .labels import label_column

QUANTILE_RELATIVE_ERROR = 1e-4
NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double", "boolean")
INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")
OOF = "__studio_oof_{}"


def _is_numeric(dtype: str) -> bool:
    return dtype in NUMERIC_TYPES or dtype.startswith("decimal")


def _is_time(dtype: str) -> bool:
    return dtype in ("timestamp", "timestamp_ntz", "date")


def _require(table, columns, field):
    for column in columns:
        if column not in table.columns:
            raise OperatorError(f"column {column!r} (from {field}) is not in the 'table' input; columns are: "
                                f"{', '.join(table.columns[:20])}", field=field, column=column, port="table")


def _label_expr(table, label: str, positive: str = ""):
    """The label as a 0/1 double, after the checks of operators.tables.binary_label."""
    from .evaluate import binary_label_column

    return binary_label_column(table, label, positive)


def _column_profiles(table, columns: list[str], dtypes: dict[str, str], exact_below: int,
                     counted: tuple[str, ...] = ()) -> tuple[dict[str, dict], dict[str, list[tuple]]]:
    """Per column: rows, non-null count and distinct count; numeric: mean, std, min, max; and the value counts
    (`_value_counts`' pairs) of every column with fewer than `exact_below` distinct values, whose distinct count is
    then exact: the counts that choose transforms are exact. Columns in `counted` (the label) are profiled and
    counted with the others. Columns of the plain types (operators.spark.column_summary.SUMMARISED) are summarised
    in one mapInArrow pass; the others by Spark's aggregations (`_aggregated_profiles`). A column of more values
    gets `exact_below` as its distinct count: a lower bound, above every count a decision compares."""
    from .column_summary import SUMMARISED, column_summaries

    columns = list(dict.fromkeys([*columns, *counted]))
    summarised = [c for c in columns if dtypes[c] in SUMMARISED]
    others = [c for c in columns if c not in summarised]
    out: dict[str, dict] = {}
    counts: dict[str, list[tuple]] = {}
    if summarised:
        rows, summaries = column_summaries(table, summarised, dtypes, exact_below - 1)
        for c, summary in zip(summarised, summaries, strict=True):
            out[c] = summary.profile(rows, _is_numeric(dtypes[c]), dtypes[c] in INTEGER_TYPES)
            pairs = summary.pairs(rows)
            if pairs is None:
                out[c]["distinct"] = exact_below
                if summary.sketch is not None:  # its quantiles without an approxQuantile pass (Quantiles)
                    out[c]["sketch"] = summary.sketch
            else:
                counts[c] = pairs
                out[c].update(distinct=sum(1 for value, _ in pairs if value is not None), exact_distinct=True)
    if others:
        profiles, pairs = _aggregated_profiles(table, others, dtypes, exact_below)
        out.update(profiles)
        counts.update(pairs)
    return {c: out[c] for c in columns}, counts


def _aggregated_profiles(table, columns: list[str], dtypes: dict[str, str],
                         exact_below: int) -> tuple[dict[str, dict], dict[str, list[tuple]]]:
    """`_column_profiles` by Spark's aggregations, for columns of types that the one-pass summary does not take:
    one aggregation, distinct counts estimated (HyperLogLog++, 5% relative error) and counted exactly, from one
    grouped count, for every column whose estimate is below `exact_below`."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("__rows")]
    for i, c in enumerate(columns):
        col = F.col(c)
        if _is_numeric(dtypes[c]):
            col = col.cast("double")
            aggs += [F.mean(col).alias(f"mean{i}"), F.stddev_pop(col).alias(f"std{i}"),
                     F.min(col).alias(f"min{i}"), F.max(col).alias(f"max{i}")]
            if dtypes[c] in INTEGER_TYPES:  # exact, for the row-identifier check (operators.spark.identifiers)
                aggs += [F.min(F.col(c)).alias(f"imin{i}"), F.max(F.col(c)).alias(f"imax{i}")]
        aggs += [F.count(col).alias(f"present{i}"), F.approx_count_distinct(col, 0.05).alias(f"distinct{i}")]
    row = table.agg(*aggs).collect()[0]
    rows = row["__rows"]
    out = {}
    for i, c in enumerate(columns):
        profile = {"rows": rows, "present": row[f"present{i}"], "distinct": row[f"distinct{i}"]}
        if _is_numeric(dtypes[c]):
            profile.update(mean=row[f"mean{i}"], std=row[f"std{i}"], min=row[f"min{i}"], max=row[f"max{i}"])
        if dtypes[c] in INTEGER_TYPES:
            profile.update(imin=row[f"imin{i}"], imax=row[f"imax{i}"])
        out[c] = profile
    counts = _value_counts(table, [c for c in columns if out[c]["distinct"] < exact_below])
    for c, pairs in counts.items():  # count_distinct's count: the values present (NaN is one, null is none)
        out[c].update(distinct=sum(1 for value, _ in pairs if value is not None), exact_distinct=True)
    return out, counts


def _value_counts(table, columns: list[str]) -> dict[str, list[tuple]]:
    """Per column, its (value, count) pairs as `table.groupBy(column).count()` gives them (each value of the
    column's own type, null as None), for all `columns` from one grouped count: each row's values are stacked as
    (column index, value) structs with one value field per Spark type, so no value changes type on the way."""
    from pyspark.sql import functions as F

    if not columns:
        return {}
    schema = {field.name: field.dataType for field in table.schema.fields}
    types = list(dict.fromkeys(schema[c].simpleString() for c in columns))
    slot = {t: f"v{j}" for j, t in enumerate(types)}
    by_type = {schema[c].simpleString(): schema[c] for c in columns}

    def entry(i: int, column: str):
        own = schema[column].simpleString()
        return F.struct(F.lit(i).alias("c"), *[(F.col(column) if t == own else F.lit(None).cast(by_type[t]))
                                               .alias(slot[t]) for t in types])

    stacked = table.select(F.explode(F.array(*[entry(i, c) for i, c in enumerate(columns)])).alias("s"))
    out: dict[str, list[tuple]] = {c: [] for c in columns}
    for row in stacked.groupBy("s.c", *[f"s.{slot[t]}" for t in types]).count().collect():
        column = columns[row["c"]]
        out[column].append((row[slot[schema[column].simpleString()]], row["count"]))
    return out


class Quantiles:
    """Every quantile the fit needs: exactly, from the value counts, for the numeric columns the fit counted
    (`counted`: few distinct values); from the column summary's quantile sketch (`sketches`,
    operators.spark.column_summary.Sketch) for the others that have one, the order statistics numpy interpolates
    between read from it and interpolated as below; and by one approxQuantile pass over the rest.

    A counted column's present values are rebuilt on the driver from its (value, count) pairs and numpy's quantile
    runs over them, the very call of the local fit on the same values: the same doubles. Up to EXACT_ROWS values;
    a column with more goes to approxQuantile.
    numpy's quantile (the local fit) interpolates linearly between the order statistics at 0-based ranks
    k = floor((n - 1) q) and k + 1. This asks Spark for exactly those two order statistics (probability
    (k + 0.5) / n is rank k under Spark's ceil(p n) rule) and interpolates the same way. Spark returns a value
    whose rank is within its bound, floor((p - e) n) .. ceil((p + e) n), so each order statistic is within
    ceil(n e + 0.5) ranks of numpy's (see the module docstring); a quantile the plan did not foresee costs one
    more pass for its column."""

    EXACT_ROWS = 20_000_000  # 160 MB of float64 on the driver at most

    def __init__(self, table, requests: dict[str, set[float]], present: dict[str, int],
                 counted: dict[str, list[tuple]] | None = None, sketches: dict | None = None):
        self.table = table
        self.present = present
        self.values: dict[tuple[str, float], float] = {}
        self.counted = {c: pairs for c, pairs in (counted or {}).items()
                        if sum(n for value, n in pairs if value is not None) <= self.EXACT_ROWS}
        self.sketches = {c: sketch for c, sketch in (sketches or {}).items() if sketch.n}
        requests = {c: probs for c, probs in requests.items() if probs and present.get(c)}
        for column in [c for c in requests if c in self.counted]:
            self._exact(column, requests.pop(column))
        for column in [c for c in requests if c in self.sketches]:
            self._sketched(column, requests.pop(column))
        self._compute(requests)

    def _sketched(self, column: str, probabilities) -> None:
        sketch = self.sketches[column]
        n = sketch.n  # the values other than NaN, as numpy's quantile of the local fit counts them
        for q in set(probabilities):
            k, frac = _ranks(n, q)
            low, high = (float(v) for v in sketch.at([k, min(k + 1, n - 1)]))
            self.values[(column, _key(q))] = low + frac * (high - low) if frac else low

    def _exact(self, column: str, probabilities) -> None:
        pairs = [(float(value), n) for value, n in self.counted[column] if value is not None]
        values = np.asarray([v for v, _ in pairs], dtype=np.float64)
        counts = np.asarray([n for _, n in pairs], dtype=np.int64)
        x = np.repeat(values, counts)
        x = x[~np.isnan(x)]  # as the local fit's present values
        if not len(x):  # NaN only: Spark's present count counted them
            self._compute({column: set(probabilities)})
            return
        wanted = sorted(set(probabilities))  # as asked, unrounded: the local fit's very probabilities
        for q, value in zip(wanted, np.quantile(x, wanted), strict=True):
            self.values[(column, _key(q))] = float(value)

    def _compute(self, requests: dict[str, set[float]]) -> None:
        from pyspark.sql import functions as F

        if not requests:
            return
        columns = sorted(requests)
        wanted: dict[str, set[int]] = {}
        for c in columns:
            n = self.present[c]
            for q in requests[c]:
                k, frac = _ranks(self.present[c], q)
                wanted.setdefault(c, set()).update({k, min(k + 1, n - 1)} if frac else {k})
        probabilities = sorted({_key((k + 0.5) / self.present[c]) for c in columns for k in wanted[c]})
        frame = self.table.select(*[F.col(c).cast("double").alias(c) for c in columns])
        results = frame.approxQuantile(columns, probabilities, QUANTILE_RELATIVE_ERROR)  # nulls ignored
        at = {(c, p): v for c, values in zip(columns, results, strict=True)
              for p, v in zip(probabilities, values, strict=True)}
        for c in columns:
            n = self.present[c]
            for q in requests[c]:
                k, frac = _ranks(self.present[c], q)
                low = at[(c, _key((k + 0.5) / n))]
                value = low
                if frac:
                    high = at[(c, _key((min(k + 1, n - 1) + 0.5) / n))]
                    value = low + frac * (high - low)
                self.values[(c, _key(q))] = value

    def get(self, column: str, probabilities) -> np.ndarray:
        missing = {q for q in probabilities if (column, _key(q)) not in self.values}
        if missing and column in self.counted:
            self._exact(column, missing)
        elif missing and column in self.sketches:
            self._sketched(column, missing)
        elif missing:
            self._compute({column: missing})
        return np.asarray([self.values[(column, _key(q))] for q in probabilities], dtype=np.float64)


def _ranks(n: int, q: float) -> tuple[int, float]:
    """The order statistic (0-based rank k) numpy's linear quantile q of n values starts from, and the fraction of
    the way to rank k + 1 it interpolates."""
    h = (n - 1) * float(q)
    k = min(int(np.floor(h)), n - 1)
    return k, h - k


def _key(p: float) -> float:
    return round(float(p), 12)


def _category_counts(table, columns: list[str], counted: dict[str, list[tuple]]) -> dict[str, tuple[list, int]]:
    """Per column: (canonical value, count) sorted by count descending then value, and the missing count.
    The value counts come from the column profiles' grouped count (`counted`) where it counted the column, else
    from one more grouped count of the others together; values mapping to one canonical string (3 and 3.0) are
    merged as the kernel compares them."""
    raw = {**_value_counts(table, [c for c in columns if c not in counted]),
           **{c: counted[c] for c in columns if c in counted}}
    out = {}
    for column in columns:
        counts: dict[str, int] = {}
        missing = 0
        for value, count in raw[column]:
            key = kernel.canonical(value)
            if key is None:
                missing += count
            else:
                counts[key] = counts.get(key, 0) + count
        out[column] = (sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), missing)
    return out


def _auto_transforms(dtype: str, profile: dict, config) -> list[str]:
    kind = "time" if _is_time(dtype) else "numeric" if _is_numeric(dtype) else "category"
    return auto_transforms(kind, profile["present"] < profile["rows"], profile["distinct"], config)


class SparkStatistics:
    """The fit's statistics of a Spark table (operators.feature_state.FeatureStatistics): one aggregation for
    the column profiles, one grouped count for the exact distinct counts, the label's classes and the categorical
    columns' frequencies (`_column_profiles`), one approxQuantile pass for every quantile the plan needs."""

    def __init__(self, table, plan: dict[str, list[str]], config, dtypes: dict[str, str], profiles: dict[str, dict],
                 counted: dict[str, list[tuple]], label=None):
        self.table, self.config, self.dtypes, self.profiles = table, config, dtypes, profiles
        self.rows = next(iter(profiles.values()))["rows"]  # every profile counts the same rows
        present = {c: p["present"] for c, p in profiles.items()}
        numeric = {c: pairs for c, pairs in counted.items() if c in dtypes and dtypes[c] in NUMERIC_TYPES}
        sketches = {c: p["sketch"] for c, p in profiles.items() if p.get("sketch") is not None}
        self._quantiles = Quantiles(table, self._quantile_requests(plan), present, numeric, sketches)
        category_columns = [c for c, ops in plan.items() if any(op in CATEGORY_BLOCKS for op in plain_ops(ops))]
        self._categories = _category_counts(table, list(dict.fromkeys(category_columns)), counted)
        self._label = label  # the label as a 0/1 double column, from the classes the fit found

    def _quantile_requests(self, plan) -> dict[str, set[float]]:
        config, requests = self.config, {}
        for column, ops in plan.items():
            if not _is_numeric(self.dtypes[column]):
                continue
            ops = plain_ops(ops)
            profile = self.profiles[column]
            if "buckets" in ops:
                for k in bucket_levels(config, lambda p=profile: p["distinct"], profile["present"]):
                    requests.setdefault(column, set()).update(quantile_levels(k))
            if "clip" in ops:
                requests.setdefault(column, set()).update([config.clip_lower, config.clip_upper])
        for column in (c for cross in config.crosses for c in cross):
            if _is_numeric(self.dtypes[column]):
                requests.setdefault(column, set()).update(quantile_levels(config.cross_buckets))
        return requests

    def nullable(self, column: str) -> bool:
        return bool(self.profiles[column]["present"] < self.profiles[column]["rows"])

    def is_numeric(self, column: str) -> bool:
        return _is_numeric(self.dtypes[column])

    def is_time(self, column: str) -> bool:
        return _is_time(self.dtypes[column])

    def moments(self, column: str, op: str) -> Moments:
        if not _is_numeric(self.dtypes[column]):
            raise FeatureMessages.not_a_number(op=op, field=f"columns.{column}", column=column)
        p = self.profiles[column]
        return Moments(p["present"], p["mean"], p["std"], p["min"], p["max"])

    def distinct(self, column: str) -> int:
        return self.profiles[column]["distinct"]

    def quantiles(self, column: str, probabilities: list[float]) -> np.ndarray:
        return self._quantiles.get(column, probabilities)

    def category_counts(self, column: str) -> tuple[list[tuple[str, int]], int]:
        return self._categories[column]

    def target(self, column: str, block: int) -> TargetEncoding:
        if self._label is None:  # a target block without a label: the label check's error, as before
            self._label = _label_expr(self.table, self.config.label, self.config.positive)
        return _fit_target(self.table, column, self._label, self.config, block)


def fit_feature_state_spark(ctx, table, config):
    """The Spark twin of operators.library.features.fit_feature_state. Returns (state, table, oof) where oof maps
    a target block's index to the name of the column holding its out-of-fold encodings in the returned table."""
    return _fit(ctx, table, config)[:3]


def _label_counts(rows: int, classes, counts: list[tuple] | None) -> tuple[int, int] | None:
    """(rows, rows of the positive class) as a model's check of its training label counts them (models._label_counts),
    from the fit's own counts of the label's values; None when the fit did not count them."""
    if classes is None or counts is None:
        return None
    return rows, 0 if classes.positive is None else sum(n for value, n in counts if value == classes.positive)


def _fit(ctx, table, config):
    """fit_feature_state_spark, and (rows, positives) of the label (`_label_counts`) as a fourth value."""
    _require(table, config.columns, "columns")
    _require(table, config.exclude, "exclude")
    for cross in config.crosses:
        _require(table, cross, "crosses")
    if config.label:
        _require(table, [config.label], "label")
    check_label_not_feature(config)
    dtypes = dict(table.dtypes)
    candidates = [c for c in table.columns if c != config.label and c not in config.exclude
                  and (c in config.columns or config.mode == "auto")]
    crossed = [c for cross in config.crosses for c in cross]
    decisive = max(AUTO_GRANULARITIES + (config.max_categories,))  # the largest count a decision compares
    # the label is profiled and counted with the columns: its classes cost no job of their own
    profiles, counted = _column_profiles(table, list(dict.fromkeys(candidates + crossed)), dtypes,
                                         int(1.5 * decisive) + 10, (config.label,) if config.label else ())
    if (next(iter(profiles.values()))["rows"] if profiles else table.count()) == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    plan: dict[str, list[str]] = {}
    for column in candidates:
        if column in config.columns:
            plan[column] = list(dict.fromkeys(config.columns[column]))
        else:
            ops = _auto_transforms(dtypes[column], profiles[column], config)
            if ops:
                plan[column] = ops
    from .identifiers import spark_row_identifiers
    from .labels import spark_label

    label = spark_label(table, config.label, config.positive, counts=counted.get(config.label)) if config.label \
        else (None, None)
    label_meta = label_and_identifiers(config, plan,
                                       lambda candidates: spark_row_identifiers(table, candidates, profiles),
                                       lambda: label[1])
    stats = SparkStatistics(table, plan, config, dtypes, profiles, counted, label[0]) \
        if plan or config.crosses else None
    state, adders = build_feature_state(plan, stats, config, lambda f: ctx.progress(0.8 * f))
    state.meta.update(label_meta)
    for add_oof in adders.values():
        table = add_oof(table)
    rows = next(iter(profiles.values()))["rows"] if profiles else None
    return state, table, {i: OOF.format(i) for i in adders}, _label_counts(rows, label[1], counted.get(config.label))


def _fit_target(table, column: str, y, config, block: int) -> TargetEncoding:
    """Smoothed label mean per category on all rows (the state, for new rows), and a function adding the
    out-of-fold encoding of each training row: stats of the other folds = all rows minus the row's fold."""
    from pyspark.sql import functions as F

    m = config.target_smoothing
    key = F.coalesce(F.col(column).cast("string"), F.lit(kernel.MISSING_TOKEN))
    fold = F.floor(F.rand(config.seed) * config.target_folds).cast("int")
    per_fold = (table.select(key.alias("k"), y.alias("y"), fold.alias("fold"))
                .groupBy("k", "fold").agg(F.sum("y").alias("s"), F.count(F.lit(1)).alias("n"),
                                          F.count("y").alias("labelled")).collect())
    # the label's mean over all rows from the same groups: sums of 0/1 are exact in any order, so this is the
    # very double that mean(y) gives, without an aggregation of its own
    prior = float(sum(row["s"] or 0.0 for row in per_fold) / sum(row["labelled"] for row in per_fold))
    totals: dict[str, list[float]] = {}
    for row in per_fold:
        t = totals.setdefault(row["k"], [0.0, 0])
        t[0] += row["s"]
        t[1] += row["n"]
    full = {}
    for k, (s, n) in totals.items():
        name = kernel.MISSING_TOKEN if k == kernel.MISSING_TOKEN else kernel.canonical(k)
        acc = full.setdefault(name, [0.0, 0])
        acc[0] += s
        acc[1] += n
    encoding = {k: (s + prior * m) / (n + m) for k, (s, n) in full.items()}
    missing_value = float(encoding.pop(kernel.MISSING_TOKEN, prior))
    vocab = sorted(encoding)
    values = np.array([encoding[v] for v in vocab], dtype=np.float64)
    oof_rows = [(row["k"], row["fold"], (totals[row["k"]][0] - row["s"] + prior * m)
                 / (totals[row["k"]][1] - row["n"] + m)) for row in per_fold]
    name = OOF.format(block)

    def add_oof(frame):
        spark = frame.sparkSession
        lookup = spark.createDataFrame(oof_rows, "k string, fold int, v double")
        keyed = frame.withColumn("__k", key).withColumn("__fold", fold)
        joined = keyed.join(F.broadcast(lookup), (F.col("__k") == lookup.k) & (F.col("__fold") == lookup.fold),
                            "left")
        return joined.withColumn(name, F.coalesce(F.col("v"), F.lit(prior))).drop("__k", "__fold", "k", "fold", "v")

    return TargetEncoding(vocab, values, prior, missing_value, add_oof)


def arrow_columns(batch, state: Fitted) -> dict[str, np.ndarray]:
    """An Arrow batch's (or table's) raw columns as the kernel takes them: float64 with NaN; strings as
    `kernel.Categories` (Arrow's dictionary encoding: the kernel's per-value work runs once per distinct value);
    other values as objects with None."""
    columns = {}
    for spec in state.meta["inputs"]:
        name = spec["name"]
        if name not in batch.schema.names:
            continue  # the kernel names the missing column
        array = batch.column(batch.schema.get_field_index(name))
        if spec["kind"] == "numeric" and (array.type.num_fields == 0) and _arrow_numeric(array.type):
            columns[name] = array.to_numpy(zero_copy_only=False).astype(np.float64)
        elif spec["kind"] != "numeric" and _arrow_string(array.type):
            columns[name] = _categories(array)
        else:
            columns[name] = np.asarray(_one_time_form(array).to_numpy(zero_copy_only=False), dtype=object)
    label = state.meta.get("label")
    if label and label in batch.schema.names:
        columns[label] = batch.column(batch.schema.get_field_index(label)).to_numpy(zero_copy_only=False)
    return columns


def _one_time_form(array):
    """Times as naive UTC microseconds, whatever their unit and zone: a task gets Spark's UTC microseconds, a
    compact artifact read on the local engine the INT96 Spark wrote, naive nanoseconds, which numpy would hand the
    kernel as integers; both read as the same datetimes (the same categories). Other types as they are."""
    import pyarrow as pa

    if pa.types.is_timestamp(array.type) and (array.type.unit != "us" or array.type.tz is not None):
        return array.cast(pa.timestamp("us"), safe=False)
    return array


def _arrow_string(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _categories(array) -> kernel.Categories:
    """A string column as codes into its distinct values (-1: null), the kernel's dictionary-encoded input."""
    import pyarrow as pa

    encoded = array.dictionary_encode()
    if isinstance(encoded, pa.ChunkedArray):  # one dictionary for all chunks
        encoded = encoded.unify_dictionaries().combine_chunks() if encoded.num_chunks != 1 else encoded.chunk(0)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return kernel.Categories(codes, encoded.dictionary.to_pylist())


def _arrow_numeric(arrow_type) -> bool:
    import pyarrow as pa

    return (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)
            or pa.types.is_boolean(arrow_type) or pa.types.is_decimal(arrow_type))


def _transform_batches(batches, *, state: Fitted, label: str | None, oof: dict[int, str]):
    """mapInArrow body: each Arrow batch through the kernel, out as Spark ML vectors (and the label)."""
    import pyarrow as pa

    compiled = kernel.compiled(state)
    for batch in batches:
        if batch.num_rows == 0:
            continue
        matrix = compact_kernel(compiled, batch, state, oof)
        arrays, names = [vector_array(matrix.X)], [FEATURES]
        if label:
            y = batch.column(batch.schema.get_field_index(label)).to_numpy(zero_copy_only=False)
            arrays.append(pa.array(_label_values(y), type=pa.float64()))
            names.append(LABEL)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def compact_kernel(compiled, batch, state: Fitted, oof: dict[int, str]):
    """The kernel over an Arrow batch (or table) of a compact frame: its FeatureMatrix (X only), the out-of-fold
    columns standing in for their target blocks. The one transform of the mapInArrow tasks and of a compact
    features artifact read on the local engine (pipelines.store.FeaturesCodec)."""
    overrides = {i: batch.column(batch.schema.get_field_index(c)).to_numpy(zero_copy_only=False)
                 for i, c in oof.items()} or None
    return kernel.transform_compiled(compiled, arrow_columns(batch, state), batch.num_rows, overrides)


def compact_matrix(table, state: Fitted, label: str | None, oof: dict[int, str]):
    """A compact frame read as an Arrow table (a compact features artifact, on the local engine) through the
    kernel, as a FeatureMatrix equal to the wide vectors' (CSR, the label as 0/1 int8)."""
    from ..values import FeatureMatrix

    compiled = kernel.compiled(state)
    if table.num_rows:
        X = sp.csr_matrix(compact_kernel(compiled, table, state, oof).X)
    else:
        X = sp.csr_matrix((0, len(compiled.names)))
    y = None
    if label:
        y = _label_values(table.column(label).to_numpy(zero_copy_only=False)).astype(np.int8)
    return FeatureMatrix(X, list(compiled.names), y, None, list(compiled.categorical),
                         {k: [list(r) for r in v] for k, v in compiled.views.items()})


def _label_values(raw) -> np.ndarray:
    raw = np.asarray(raw)
    if raw.dtype.kind in "fiub":
        return raw.astype(np.float64)
    return np.array([1.0 if str(v).lower() in ("1", "true") else 0.0 for v in raw])


def transform_on_spark(table, state: Fitted, *, label: str | None = None, oof: dict[int, str] | None = None,
                       fitted_here: bool = False, label_counts: tuple[int, int] | None = None, source=None):
    """Apply a fitted feature state to a Spark table with the kernel: a SparkFeatures. `fitted_here`: `table` is
    the one the state was fitted on, so the label's classes are the state's, not counted again, and `label_counts`
    (rows, positives) the fit counted, which a model then need not count again (Compact.label_counts).

    Its vectors are the kernel over a compact frame (the state's input columns, the label as 0/1, the out-of-fold
    columns), and that frame is what the engine caches (operators.spark.tables.share_cache): a few raw columns
    rather than the wide vectors. The artifact writer stores that frame and the state (pipelines.store
    FeaturesCodec, layout "compact"), and a model computes just its view's blocks from the compact frame in its
    own tasks (`compact_view`, train_gbdt).

    When `source` (the table before the fit's out-of-fold columns joined it; `table` by default) reads again cheaply
    (a Parquet file read whole, a split's side filtering one, rows the driver holds, a cache), the compact frame is
    marked to be read again, not cached (operators.spark.tables.read_again): its few columns, the label expression
    and the out-of-fold join (seeded by partition, so every read draws the same folds) cost less to compute again in
    the model's task and the writer's than filling a cache with them: at 10M rows on local[2] the cache of the 8M
    training rows was the feature node's largest job."""
    from .tables import read_again, reads_again_cheaply, share_cache

    compiled = kernel.compiled(state)  # refuses a broken state on the driver, before any task runs
    inputs = [c["name"] for c in state.meta["inputs"]]
    _require(table, inputs, "feature_state")
    with_label = bool(label and label in table.columns)
    classes = LabelClasses.from_json(state.meta.get("label_classes")) if fitted_here else None
    if with_label:
        table = table.withColumn(label, label_column(label, classes) if classes is not None
                                 else _label_expr(table, label, positive_text(state.meta)))
    oof = dict(oof or {})
    compact = Compact(table.select(*dict.fromkeys(inputs + ([label] if with_label else []) + list(oof.values()))),
                      state, label if with_label else None, oof,
                      label_counts if with_label and fitted_here else None)
    if reads_again_cheaply(table if source is None else source):
        read_again(compact.frame)
    frame = compact_vectors(compact)
    share_cache(compact.frame, {"features": frame})
    return SparkFeatures(frame, list(compiled.names), compact.label, list(compiled.categorical),
                         {k: [list(r) for r in v] for k, v in compiled.views.items()}, compact)


def compact_vectors(compact: Compact, rows=None):
    """The vectors (and the label) of `rows` of a compact frame (all of it by default): the kernel of its state
    in a mapInArrow."""
    body = functools.partial(_transform_batches, state=compact.state, label=compact.label, oof=compact.oof)
    return (compact.frame if rows is None else rows).mapInArrow(body, features_schema(compact.label is not None))


def view_state(compact: Compact, view: str | None) -> tuple[Fitted, dict[int, str]]:
    """The plain feature state of `view`'s blocks (kernel.state_view; the state itself for None), and the
    out-of-fold columns of its target blocks under their indices in that state."""
    state = kernel.state_view(compact.state, view)
    if state is compact.state:
        return state, dict(compact.oof)
    kept = [i for i, block in enumerate(compact.state.meta["blocks"]) if block.get("view", view) == view]
    return state, {kept.index(i): column for i, column in compact.oof.items() if i in kept}


def compact_view(features: SparkFeatures, view: str, names: list[str], categorical: list[str]) -> SparkFeatures:
    """frames.spark_view of a compact SparkFeatures: the kernel of the view's blocks alone over the raw columns,
    the same vectors as the view's columns of the wide ones."""
    compact = features.compact
    state, oof = view_state(compact, view)
    if list(state.meta["names"]) != list(names):
        raise RuntimeError(f"the {view!r} view's state has other columns than the features' view")
    viewed = Compact(compact.frame, state, compact.label, oof, compact.label_counts)
    return SparkFeatures(compact_vectors(viewed), list(names), features.label_name, list(categorical),
                         compact=viewed)


def not_numbers_lines(table, state: Fitted, config) -> list[str]:
    """operators.library.features.not_numbers_lines on Spark: the text columns auto mode made categories of are
    judged on their first values (one small job), and those that may be numbers counted in one aggregation."""
    from pyspark.sql import functions as F

    from ..library.features import not_numbers_lines as on_pandas
    from .tables import held_rows

    dtypes = dict(table.dtypes)
    text = [c for c in auto_categories(state, config) if dtypes.get(c) == "string"]
    if not text:
        return []
    if (held := held_rows(table)) is not None:  # rows the driver holds (a split done on the driver): read them
        # there; a job would first ship them to the executors, 2.1 s at 1M rows for a 200-row sample (local[2])
        return on_pandas(held.select(text).to_pandas(), state, config, columns=text)

    def bad(c):  # a value present that is not a number (try_cast: Spark's ANSI mode would fail on it)
        return F.col(c).isNotNull() & F.trim(F.col(c)).try_cast("double").isNull()

    sample = table.select(*[F.struct(F.col(c).isNotNull().alias("p"), bad(c).alias("b")).alias(f"s{i}")
                            for i, c in enumerate(text)]).limit(SAMPLED).collect()
    shares = [(sum(r[f"s{i}"]["b"] for r in sample), sum(r[f"s{i}"]["p"] for r in sample)) for i in range(len(text))]
    counted = [c for c, (b, p) in zip(text, shares, strict=True) if worth_counting(b, p)]
    if not counted:
        return []
    aggs = []
    for i, c in enumerate(counted):
        aggs += [F.count(F.col(c)).alias(f"p{i}"), F.count(F.when(bad(c), 1)).alias(f"b{i}"),
                 F.min(F.when(bad(c), F.trim(F.col(c)))).alias(f"lo{i}"),
                 F.max(F.when(bad(c), F.trim(F.col(c)))).alias(f"hi{i}")]
    row = table.agg(*aggs).collect()[0]
    return [not_numbers_log_line(c, row[f"b{i}"], row[f"p{i}"], [row[f"lo{i}"], row[f"hi{i}"]])
            for i, c in enumerate(counted) if mostly_numbers(row[f"b{i}"], row[f"p{i}"])]


def feature_extraction(ctx, inputs, params):
    state, table, oof, label_counts = _fit(ctx, inputs["table"], params)
    features = transform_on_spark(table, state, label=params.label or None, oof=oof, fitted_here=True,
                                  label_counts=label_counts, source=inputs["table"])
    if state.meta["excluded_identifiers"]:
        ctx.log(log_line(state.meta["excluded_identifiers"]))
    dtypes = dict(inputs["table"].dtypes)
    if times := left_out_times(inputs["table"].columns, lambda c: _is_time(dtypes[c]), params):
        ctx.log(times_log_line(times))
        state.meta["left_out_times"] = times  # a published model says so (its Try it form)
    for line in not_numbers_lines(inputs["table"], state, params):
        ctx.log(line)
    ctx.log(f"{len(features.names):,} features from {len(state.meta['inputs'])} columns (fit on Spark)")
    return {"features": features, "feature_state": state}


def apply_features(ctx, inputs, params):
    state = inputs["feature_state"]
    return {"features": transform_on_spark(inputs["table"], state, label=state.meta.get("label"))}

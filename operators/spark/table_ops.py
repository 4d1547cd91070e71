"""The table utilities of operators.library.table_ops on Spark.

Each keeps the local operator's declaration and its errors (the same checks from operators.tables, the same
messages and fields); row expressions are the local engine's expression language itself, evaluated on each
Arrow batch in mapInArrow (DESIGN principle 1). Rows come out in Spark's order, not necessarily the local
engine's; where the rows themselves may differ (sample), the docstring says so.
"""
from __future__ import annotations

import functools

import numpy as np

from ..contract import OperatorError
from ..expressions import Expression
from ..library.table_ops import EXAMPLE_KEYS, UnmatchedKeys, join_keys, renamed_columns, summary, unmatched_keys_note
from ..tables import require_columns
from .profile import spark_table_profile
from .split import partition_offsets
from .tables import (col, columns_with_gaps, empty_frame, is_missing, is_numeric, pandas_batch, present_number,
                     without_nan)
from .tasks import carry_operator_errors


def select_columns(ctx, inputs, params):
    table = inputs["table"]
    require_columns(table, params.columns, field="columns")
    if params.mode == "keep":
        return {"table": table.select(*[col(c) for c in dict.fromkeys(params.columns)])}
    dropped = set(params.columns)
    return {"table": table.select(*[col(c) for c in table.columns if c not in dropped])}


def rename_columns(ctx, inputs, params):
    table = inputs["table"]
    renamed = renamed_columns(table, params.mapping)
    return {"table": table.select(*[col(c).alias(new) for c, new in zip(table.columns, renamed, strict=True)])}


# ------------------------------------------------------------------------------------------------ rows
def checked_expression(text: str, table, *, field: str = "expression") -> tuple[Expression, set[str]]:
    """The parsed expression, and which of its integer and boolean columns have gaps (`columns_with_gaps`),
    after a run on an empty frame of the table's types on the driver: a syntax error or a column the table
    lacks is the local engine's error before any job, a result that is not true/false before the tasks."""
    expression = Expression(text, field=field)
    used = expression.columns()
    gaps = columns_with_gaps(table, used) if set(used) <= set(table.columns) else set()
    expression.mask(empty_frame(table, gaps))
    return expression, gaps


def _mask_batches(batches, *, text: str, field: str, gaps: set[str], flag: str | None):
    """mapInArrow body: the expression's mask of each batch, over the pandas frame of the columns it reads.
    Without `flag` the batch is filtered; with it the mask is appended as a boolean column of that name."""
    import pyarrow as pa

    expression = Expression(text, field=field)
    columns = expression.columns()
    for batch in batches:
        mask = pa.array(expression.mask(pandas_batch(batch, columns, gaps)), type=pa.bool_())
        yield batch.filter(mask) if flag is None else batch.append_column(flag, mask)


def masked(table, checked: tuple[Expression, set[str]], flag: str | None = None):
    """The table filtered by a checked expression (or, with `flag`, with its mask as that column)."""
    from pyspark.sql.types import BooleanType, StructField, StructType

    expression, gaps = checked
    body = functools.partial(carry_operator_errors(_mask_batches), text=expression.text, field=expression.field,
                             gaps=gaps, flag=flag)
    schema = table.schema if flag is None else StructType(table.schema.fields + [StructField(flag, BooleanType())])
    return table.mapInArrow(body, schema)


def filter_rows(ctx, inputs, params):
    table = inputs["table"]
    return {"table": masked(table, checked_expression(params.expression, table))}


# ---------------------------------------------------------------------------------------------- fill
def _fill_value(spark, column: str, dtype: str, value):
    """strategy 'value': the fill as a Spark literal of the column's type, or the local engine's error."""
    from pyspark.sql import functions as F

    if is_numeric(dtype):
        if not isinstance(value, (int, float)):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise OperatorError(f"column {column!r} is numeric; {value!r} is not a number", field="value",
                                    column=column) from None
        return F.lit(float(value))
    if dtype == "string":
        return F.lit(str(value))  # pandas would mix a number into the text column; Spark's column holds text
    # a boolean, date or time column: Spark's own reading of the value, try_cast so ANSI mode cannot fail
    literal = F.lit(str(value).lower() if isinstance(value, bool) else str(value)).try_cast(dtype)
    if spark.range(1).select(literal.alias("v")).first()["v"] is None:
        raise OperatorError(f"column {column!r} holds {dtype} values; {value!r} is not one", field="value",
                            column=column)
    return literal


def fill_missing(ctx, inputs, params):
    """Statistics are Spark aggregations over the values present (null and NaN are missing, as in pandas):
    mean is exact up to the order of summation (relative 1e-12); median is Spark's `median`, the exact
    percentile interpolated as pandas' median (it keeps a count per distinct value, so a column of hundreds of
    millions of distinct values needs executor memory in proportion); most_frequent is Spark's deterministic
    `mode`, the lowest of the most frequent values, as pandas' mode().iloc[0]. An integer column that gets
    filled becomes a double column, as the local engine holds an integer column with gaps as float64."""
    from pyspark.sql import functions as F

    table = inputs["table"]
    require_columns(table, params.columns, field="columns")
    if params.strategy == "value" and params.value is None:
        raise OperatorError("strategy 'value' needs a value", field="value")
    dtypes = dict(table.dtypes)
    candidates = list(dict.fromkeys(params.columns)) or table.columns
    counts = table.agg(*[F.sum(is_missing(c, dtypes[c]).cast("long")).alias(f"m{i}")
                         for i, c in enumerate(candidates)]).first()
    gaps = [c for i, c in enumerate(candidates) if counts[f"m{i}"]]
    fills, statistics = {}, {}
    for column in gaps:
        dtype = dtypes[column]
        if params.strategy in ("mean", "median"):
            if not is_numeric(dtype):
                if params.columns:
                    raise OperatorError(f"column {column!r} is not numeric; {params.strategy} needs numbers",
                                        field="columns", column=column)
                continue  # filling every column: text columns are left for another strategy
            value = present_number(column, dtype)
            statistics[column] = F.mean(value) if params.strategy == "mean" else F.median(value)
        elif params.strategy == "most_frequent":
            value = present_number(column, dtype) if is_numeric(dtype) else col(column)
            statistics[column] = F.mode(value, deterministic=True)
        else:
            fills[column] = _fill_value(ctx.spark, column, dtype, params.value)
    if statistics:
        row = table.agg(*[s.alias(f"s{i}") for i, s in enumerate(statistics.values())]).first()
        for i, column in enumerate(statistics):
            if row[f"s{i}"] is not None:  # a column with no value at all keeps its gaps, as on the local engine
                fills[column] = F.lit(row[f"s{i}"])
    out = []
    for column in table.columns:
        dtype = dtypes[column]
        if column not in fills:
            out.append(col(column))
        elif is_numeric(dtype):
            out.append(F.when(is_missing(column, dtype), fills[column].cast("double"))
                       .otherwise(col(column).cast("double")).alias(column))
        else:
            out.append(F.coalesce(col(column), fills[column]).alias(column))
    return {"table": table.select(*out)}


# ---------------------------------------------------------------------------------------------- join
def join(ctx, inputs, params):
    """pandas' merge on Spark: missing keys match each other (null-safe equality; NaN made null first, as pandas
    holds both as one missing value), a key named alike on both sides becomes one column (its value from either
    side), other columns found on both sides get the suffixes `_left` / `_right`, left columns first. Row order
    is Spark's."""
    from pyspark.sql import functions as F

    left, right = without_nan(inputs["left"]), without_nan(inputs["right"])

    def numeric(table, column):  # pandas counts booleans as numeric
        dtype = dict(table.dtypes)[column]
        return is_numeric(dtype) or dtype == "boolean"

    right_on = join_keys(left, right, params, numeric)
    merged = {lk for lk, rk in zip(params.left_on, right_on, strict=True) if lk == rk}
    overlap = (set(left.columns) & set(right.columns)) - merged
    # private names on both sides, so no column reference is ambiguous whatever the tables share
    lname = {c: f"__left{i}" for i, c in enumerate(left.columns)}
    rname = {c: f"__right{i}" for i, c in enumerate(right.columns)}
    lframe = left.select(*[col(c).alias(lname[c]) for c in left.columns])
    rframe = right.select(*[col(c).alias(rname[c]) for c in right.columns])
    condition = functools.reduce(lambda a, b: a & b, [F.col(lname[lk]).eqNullSafe(F.col(rname[rk]))
                                                      for lk, rk in zip(params.left_on, right_on, strict=True)])
    joined = lframe.join(rframe, condition, {"outer": "full"}.get(params.how, params.how))
    out, names = [], []
    for c in left.columns:
        name = f"{c}_left" if c in overlap else c
        value = F.coalesce(F.col(lname[c]), F.col(rname[c])) if c in merged else F.col(lname[c])
        out.append(value.alias(name))
        names.append(name)
    for c in right.columns:
        if c not in merged:
            name = f"{c}_right" if c in overlap else c
            out.append(F.col(rname[c]).alias(name))
            names.append(name)
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise OperatorError(f"the joined table would have two columns named {duplicate!r}", column=duplicate)
    for side, found in zip(("left", "right"), unmatched_keys(left, params.left_on, right, right_on), strict=True):
        note = unmatched_keys_note(side, found)
        if note:
            ctx.log(note)
    return {"table": joined.select(*out)}


def _complete_keys(table, keys: list[str]):
    """The key columns of `table` as k0, k1, ... on rows whose every key part is present (not null, nor NaN)."""
    dtypes = dict(table.dtypes)
    present = functools.reduce(lambda a, b: a & b, [~is_missing(k, dtypes[k]) for k in keys])
    return table.where(present).select(*[col(k).alias(f"k{i}") for i, k in enumerate(keys)])


def _normalised(column):
    """operators.library.table_ops._normalised on Spark: text lowered and stripped of surrounding white space. Java's
    Unicode \\s is Unicode's White_Space; Python's str.strip() also takes the four information separators
    U+001C-U+001F, so they are stripped here too."""
    from pyspark.sql import functions as F

    return F.lower(F.regexp_replace(column, r"(?U)^[\s\x1c-\x1f]+|[\s\x1c-\x1f]+$", ""))


def unmatched_keys(left, left_on: list[str], right, right_on: list[str],
                   examples: int = EXAMPLE_KEYS) -> tuple[UnmatchedKeys, UnmatchedKeys]:
    """operators.library.table_ops.unmatched_keys of both sides from Spark aggregations: each side's complete keys
    counted per distinct key, the two outer-joined, and (for text keys) each key's lowered and stripped form looked
    up among the other side's, all counted in one aggregation; the smallest unmatched keys of a side in one more job
    only when it has some."""
    from pyspark.sql import functions as F

    names = [f"k{i}" for i in range(len(left_on))]
    counted = [_complete_keys(table, keys).groupBy(*names).agg(F.count(F.lit(1)).alias(f"__{side}"))
               for side, table, keys in (("l", left, left_on), ("r", right, right_on))]
    keys = counted[0].join(counted[1], names, "full")
    texts = [[k for k in on if dict(table.dtypes)[k] == "string"] for table, on in ((left, left_on), (right, right_on))]
    lost = {"l": F.col("__r").isNull(), "r": F.col("__l").isNull()}
    alike = {"l": F.lit(False), "r": F.lit(False)}
    if texts[0] or texts[1]:
        text = {f"k{i}" for i, (a, b) in enumerate(zip(left_on, right_on, strict=True))
                if a in texts[0] or b in texts[1]}
        norm = [_normalised(F.col(n)) if n in text else F.col(n) for n in names]
        normed = [f"n{i}" for i in range(len(names))]
        keys = keys.select("*", *[c.alias(n) for c, n in zip(norm, normed, strict=True)])
        for side in ("l", "r"):  # a side's keys in their normal form, marked as present there
            forms = keys.where(F.col(f"__{side}").isNotNull()).select(*normed).distinct()
            keys = keys.join(forms.withColumn(f"__{side}_form", F.lit(True)), normed, "left")
        alike = {"l": F.col("__r_form").isNotNull(), "r": F.col("__l_form").isNotNull()}
    total = keys.agg(*[agg for side in ("l", "r") for agg in (
        F.sum(f"__{side}").alias(f"{side}_rows"), F.sum(F.when(lost[side], F.col(f"__{side}"))).alias(f"{side}_lost"),
        F.sum(F.when(lost[side] & alike[side], F.col(f"__{side}"))).alias(f"{side}_alike"))]).first()
    found = []
    for side, text in (("l", texts[0]), ("r", texts[1])):
        shown = []
        if total[f"{side}_lost"]:
            shown = [tuple(r) for r in keys.where(F.col(f"__{side}").isNotNull() & lost[side]).select(*names)
                     .orderBy(*names).limit(examples).collect()]
        found.append(UnmatchedKeys(int(total[f"{side}_rows"] or 0), int(total[f"{side}_lost"] or 0), shown,
                                   int(total[f"{side}_alike"] or 0), text))
    return found[0], found[1]


# -------------------------------------------------------------------------------------------- sample
def _sample_partition(batches, *, picks, sizes, seed: int, replace: bool):
    """mapInArrow body: `picks[p]` rows of this partition's `sizes[p]`, drawn by a generator seeded with
    (seed, partition): without replacement a uniform subset, with replacement uniform draws (a row drawn
    twice appears twice)."""
    import pyarrow as pa
    from pyspark import TaskContext

    partition = TaskContext.get().partitionId()
    rows, wanted = int(sizes[partition]), int(picks[partition])
    times = np.zeros(rows, dtype=np.int64)
    if wanted:
        rng = np.random.default_rng([seed, partition])
        if replace:
            times = np.bincount(rng.integers(0, rows, wanted), minlength=rows)
        else:
            times[rng.choice(rows, wanted, replace=False)] = 1
    start = 0
    for batch in batches:
        chosen = np.repeat(np.arange(batch.num_rows), times[start:start + batch.num_rows])
        start += batch.num_rows
        if len(chosen):
            yield batch.take(pa.array(chosen))


def sample(ctx, inputs, params):
    """Exactly as many rows as the local engine: `rows`, or round(fraction * rows of the table) as pandas
    rounds. The rows themselves differ from pandas' sample with the same seed (pandas draws over the whole
    table in one generator; here the driver splits the count among the partitions, hypergeometrically
    without replacement or multinomially with it, and each task draws its share), so parity with the local
    engine is in the count, not in which rows. Seeded and repeatable while the input's partitions hold the
    same rows (a table read from the same Parquet); rows keep the table's order."""
    table = inputs["table"]
    offsets, total = partition_offsets(table)
    if total == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    if params.rows and params.rows > total and not params.replace:
        raise OperatorError(f"cannot draw {params.rows:,} rows from {total:,} without replacement", field="rows")
    wanted = params.rows or round(params.fraction * total)
    sizes = np.diff(np.append(offsets, total)).astype(np.int64)
    rng = np.random.default_rng(params.seed)
    picks = rng.multinomial(wanted, sizes / total) if params.replace else \
        rng.multivariate_hypergeometric(sizes, wanted)
    body = functools.partial(_sample_partition, picks=picks, sizes=sizes, seed=params.seed, replace=params.replace)
    return {"table": table.mapInArrow(body, table.schema)}


# ------------------------------------------------------------------------------------------ summarize
def summarize(ctx, inputs, params):
    """The Spark profile (operators.spark.profile): exact rows, missing values and min / max / mean; distinct
    counts, top values and histograms from a sample of at most SAMPLE_ROWS rows, as on the local engine."""
    return summary(spark_table_profile(inputs["table"]), params.max_histograms)

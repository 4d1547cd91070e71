"""The data-preparation operators (operators.library.prep, prep_tables) on Spark.

Row-wise operators (derive_column, recode_values, cast_columns) run the local engine's pandas kernels on each
Arrow batch in mapInArrow, so values are the local engine's; the type of a new column is declared before the
job (Spark needs the schema up front): numbers as double, true/false as boolean, times as timestamp, the rest
as text, and a batch whose values do not fit that type fails naming the column and the value. The others are
Spark aggregations and window functions with the local half's checks (the same errors, fields and columns).
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..contract import OperatorError
from ..library.prep import cast, derive, recode, recode_checks, value_kind, value_text
from ..library.prep_tables import (MISSING_SUFFIX, clean_candidates, clean_plan, clean_summary, constant_for,
                                   sort_directions, union_inputs)
from ..tables import require_columns
from .tables import (col, columns_with_gaps, empty_frame, is_missing, is_numeric, pandas_batch, present_number,
                     without_nan)
from .tasks import carry_operator_errors

SAMPLE_ROWS = 2000  # rows the driver runs a kernel on, to check it and to learn the type of what it makes


# ------------------------------------------------------------------------------------- row-wise kernels
def _sample_frame(table, gaps: set[str]) -> pd.DataFrame:
    """Up to SAMPLE_ROWS rows as the local engine's frame (the table's types when it has no rows)."""
    import pyarrow as pa

    arrow = table.limit(SAMPLE_ROWS).toArrow()
    if arrow.num_rows == 0:
        return empty_frame(table, gaps)
    return pandas_batch(pa.Table.from_batches(arrow.combine_chunks().to_batches()).to_batches()[0], gaps=gaps)


def spark_type_of(values: pd.Series) -> str:
    """The Spark type that holds a kernel's values: boolean, double, timestamp or string."""
    return {"boolean": "boolean", "number": "double", "datetime": "timestamp"}.get(value_kind(values), "string")


def _arrow_values(values: pd.Series, arrow_type, column: str):
    """A kernel's values as an Arrow array of the declared type; a value that does not fit names itself."""
    import pyarrow as pa

    def misfit(bad: pd.Series):
        raise OperatorError(f"column {column!r} gets values of more than one type; {bad.iloc[0]!r} is not "
                            f"{arrow_type} as the rows before it", column=column, field="expression")

    present = values.notna().to_numpy()
    if pa.types.is_string(arrow_type):
        return pa.array([value_text(v) if not isinstance(v, str) else v for v in values.astype(object)],
                        type=arrow_type)
    if pa.types.is_timestamp(arrow_type):
        times = pd.to_datetime(values, errors="coerce")
        if (present & times.isna().to_numpy()).any():
            misfit(values[present & times.isna().to_numpy()])
        return pa.array(times.dt.tz_localize("UTC") if times.dt.tz is None else times, type=arrow_type)
    if pa.types.is_boolean(arrow_type):
        if not pd.api.types.is_bool_dtype(values):
            wrong = values[present & ~values.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy()]
            if len(wrong):
                misfit(wrong)
        return pa.array(values.astype(object).where(values.notna(), None).tolist(), type=arrow_type)
    numbers = pd.to_numeric(values, errors="coerce") if not pd.api.types.is_bool_dtype(values) else values
    if (present & pd.isna(numbers).to_numpy()).any():
        misfit(values[present & pd.isna(numbers).to_numpy()])
    return pa.array(numbers, type=arrow_type, from_pandas=True)


def _map_batches(batches, *, kernel, gaps, schema_json: str, reads: list[str]):
    """mapInArrow body: each batch's columns that `kernel(frame) -> {name: values}` makes, set in (or added
    to) the batch, typed by the output schema. Only the columns the kernel `reads` become pandas; the others
    pass through as Arrow."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    schema = to_arrow_schema(StructType.fromJson(__import__("json").loads(schema_json)), timezone="UTC")
    for batch in batches:
        made = kernel(pandas_batch(batch, reads, gaps=gaps))
        arrays = [_arrow_values(made[f.name], f.type, f.name) if f.name in made else batch.column(f.name)
                  for f in schema]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def map_columns(table, kernel, made_types: dict[str, str], gaps: set[str], reads: list[str]):
    """The table with the columns `kernel` makes (name -> Spark type) from the columns it `reads`, replaced
    in place or appended."""
    from pyspark.sql.types import StructField, StructType, _parse_datatype_string

    fields = [StructField(f.name, _parse_datatype_string(made_types[f.name])) if f.name in made_types else f
              for f in table.schema.fields]
    fields += [StructField(name, _parse_datatype_string(kind)) for name, kind in made_types.items()
               if name not in table.columns]
    schema = StructType(fields)
    reads = [c for c in dict.fromkeys(reads) if c in table.columns] or table.columns[:1]  # a frame keeps its rows
    body = functools.partial(carry_operator_errors(_map_batches), kernel=kernel, gaps=gaps, schema_json=schema.json(),
                             reads=reads)
    return table.mapInArrow(body, schema)


def _derive_kernel(frame, *, params):
    return {params.column: derive(frame, params)[params.column]}


def derive_column(ctx, inputs, params):
    """The expression on each Arrow batch (the local engine's language); the new column's type is learnt from
    the first rows (a number is a double, as the local engine's integer column with gaps is float64)."""
    from ..expressions import Expression

    table = inputs["table"]
    used = [c for c in Expression(params.expression).columns() if c in table.columns]
    gaps = columns_with_gaps(table, used)
    sample = derive(_sample_frame(table, gaps), params)[params.column]  # the local errors, before any job
    kind = spark_type_of(sample)
    kernel = functools.partial(_derive_kernel, params=params)
    return {"table": map_columns(table, kernel, {params.column: kind}, gaps, used)}


def _recode_kernel(frame, *, params):
    out, _ = recode(frame, params)
    return {params.output or params.column: out[params.output or params.column]}


def recoded_type(params, column_type: str) -> str:
    """The type the recoded column holds on Spark: from the mapping's values, `other_value`, and (keeping the
    others) the column's own type."""
    values = [v for v in params.mapping.values() if v is not None]
    if params.others == "value":
        values.append(params.other_value)
    kinds = {spark_type_of(pd.Series([v], dtype=object)) for v in values}
    if params.others == "keep":
        kinds.add("double" if is_numeric(column_type) else "boolean" if column_type == "boolean" else
                  "timestamp" if column_type.startswith("timestamp") else "string")
    return kinds.pop() if len(kinds) == 1 else "string"


def recode_values(ctx, inputs, params):
    """The mapping on each Arrow batch, with the keys spelt as on the local engine (1.0 -> "1", true ->
    "true"). A recoded column of numbers is a double; values of mixed kinds (numbers kept beside text) are text
    here, where the local engine keeps a column of mixed objects."""
    table = inputs["table"]
    recode_checks(table.columns, params)
    gaps = columns_with_gaps(table, [params.column])
    kind = recoded_type(params, dict(table.dtypes)[params.column])
    kernel = functools.partial(_recode_kernel, params=params)
    return {"table": map_columns(table, kernel, {params.output or params.column: kind}, gaps, [params.column])}


CAST_TYPES = {"number": "double", "integer": "bigint", "string": "string", "category": "string",
              "boolean": "boolean", "datetime": "timestamp"}


def _cast_kernel(frame, *, params):
    out, _ = cast(frame, params)
    return {c: out[c].astype(object) if params.types[c] == "category" else out[c] for c in params.types}


def _cast_failures(batches, *, params, gaps, columns):
    """mapInArrow body: per batch and column, the values that did not cast and the first of them."""
    import pyarrow as pa

    for batch in batches:
        _, failures = cast(pandas_batch(batch, columns, gaps), params)
        names = list(failures)
        yield pa.RecordBatch.from_arrays(
            [pa.array(names, pa.string()), pa.array([failures[c][0] for c in names], pa.int64()),
             pa.array([failures[c][1] for c in names], pa.string())], names=["column", "failed", "example"])


def cast_columns(ctx, inputs, params):
    """The local casts on each Arrow batch; a category is text on Spark (Parquet has no category type). The
    counts of values that did not cast are a second pass over the batches (the first value as example)."""
    from pyspark.sql import functions as F

    table = inputs["table"]
    require_columns(table, params.types, field="types")
    columns = list(params.types)
    gaps = columns_with_gaps(table, columns)
    cast(_sample_frame(table, gaps), params)  # the local errors on the first rows, before any job
    counting = table.select(*[col(c) for c in columns]).mapInArrow(
        functools.partial(carry_operator_errors(_cast_failures), params=params, gaps=gaps, columns=columns),
        "column string, failed long, example string")
    rows = counting.groupBy("column").agg(F.sum("failed").alias("failed"),
                                          F.first("example", ignorenulls=True).alias("example")).collect()
    failed = {r["column"]: (int(r["failed"] or 0), r["example"]) for r in rows}
    for column in columns:
        count, example = failed.get(column, (0, None))
        if count:
            ctx.log(f"column {column!r}: {count:,} values did not cast to {params.types[column]}, e.g. "
                    f"{example!r}; they are missing now")
    out = map_columns(table, functools.partial(_cast_kernel, params=params),
                      {c: CAST_TYPES[params.types[c]] for c in columns}, gaps, columns)
    return {"table": out, "metrics": {f"not_cast.{c}": failed.get(c, (0, None))[0] for c in columns}}


# -------------------------------------------------------------------------------------- table operators
def drop_duplicates(ctx, inputs, params):
    """On all columns Spark's dropDuplicates (the rows kept are equal in every column, so which one does not
    matter); on chosen columns the first (or last) row of each key in the table's order, by a window over the
    row's position (monotonically_increasing_id follows the partitions' order)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    table = without_nan(inputs["table"])  # NaN is missing, as null: pandas sees one value where Spark sees two
    require_columns(table, params.columns, field="columns")
    keys = list(dict.fromkeys(params.columns))
    if not keys or set(keys) == set(table.columns):
        return {"table": table.dropDuplicates()}
    position = F.monotonically_increasing_id()
    order = F.col("__position").asc() if params.keep == "first" else F.col("__position").desc()
    ranked = table.withColumn("__position", position).withColumn(
        "__rank", F.row_number().over(Window.partitionBy(*[col(k) for k in keys]).orderBy(order)))
    return {"table": ranked.where(F.col("__rank") == 1).orderBy("__position").drop("__position", "__rank")}


def _spark_statistic(column: str, dtype: str, mode: str):
    from pyspark.sql import functions as F

    if mode == "mean":
        return F.mean(present_number(column, dtype))
    if mode == "median":
        return F.median(present_number(column, dtype))
    value = present_number(column, dtype) if is_numeric(dtype) else col(column)
    return F.mode(value, deterministic=True)


def clean_missing(ctx, inputs, params):
    """Missing counts and the statistics are one Spark aggregation each (null and NaN are missing, as in
    pandas): mean, median (Spark's exact median, interpolated as pandas'), mode (Spark's deterministic mode:
    the lowest of the most frequent values, as the local half). A filled numeric column is a double, as the
    local engine holds an integer column with gaps as float64."""
    from pyspark.sql import functions as F

    table = inputs["table"]
    dtypes = dict(table.dtypes)
    candidates = clean_candidates(table, params)
    counts = table.agg(F.count(F.lit(1)).alias("rows"), *[F.sum(is_missing(c, dtypes[c]).cast("long")).alias(f"m{i}")
                                                          for i, c in enumerate(candidates)]).first()
    missing = {c: int(counts[f"m{i}"] or 0) for i, c in enumerate(candidates)}
    plan = clean_plan(table.columns, counts["rows"], missing, params,
                      numeric=lambda c: is_numeric(dtypes[c]))
    statistics = {c: m for c, m in plan.items() if m in ("mean", "median", "mode")}
    values = table.agg(*[_spark_statistic(c, dtypes[c], m).alias(f"s{i}") for i, (c, m) in
                         enumerate(statistics.items())]).first() if statistics else {}
    fills = {c: values[f"s{i}"] for i, c in enumerate(statistics)}
    fills.update({c: constant_for(c, params.value, is_numeric(dtypes[c]), dtypes[c] == "string")
                  for c, m in plan.items() if m == "constant"})
    out = []
    for column in table.columns:
        dtype, mode = dtypes[column], plan.get(column)
        if mode == "drop_column":
            continue
        if column in fills and fills[column] is not None:
            value = F.lit(float(fills[column])) if is_numeric(dtype) else F.lit(fills[column]).cast(dtype)
            current = col(column).cast("double") if is_numeric(dtype) else col(column)
            out.append(F.when(is_missing(column, dtype), value).otherwise(current).alias(column))
        else:
            out.append(col(column))
    if params.indicator:
        out += [is_missing(c, dtypes[c]).cast("long").alias(c + MISSING_SUFFIX) for c in plan]
    dropping = [c for c, m in plan.items() if m == "drop_rows"]
    kept = table.where(~functools.reduce(lambda a, b: a | b, [is_missing(c, dtypes[c]) for c in dropping])) \
        if dropping else table
    ctx.log(clean_summary(plan, missing, counts["rows"]))
    return {"table": kept.select(*out)}


def sort_rows(ctx, inputs, params):
    """Spark's orderBy, NaN counted as missing (Spark would put NaN above every number). Rows that tie may come
    in another order than the local engine's stable sort."""
    from pyspark.sql import functions as F

    table = inputs["table"]
    descending = sort_directions(table, params)
    dtypes = dict(table.dtypes)
    keys = []
    for column, down in zip(params.columns, descending, strict=True):
        key = F.when(~F.isnan(col(column)), col(column)) if dtypes[column] in ("float", "double") else col(column)
        if params.missing == "last":
            keys.append(key.desc_nulls_last() if down else key.asc_nulls_last())
        else:
            keys.append(key.desc_nulls_first() if down else key.asc_nulls_first())
    return {"table": table.orderBy(*keys)}


def _spark_kind(table, column) -> str:
    dtype = dict(table.dtypes)[column]
    if dtype == "boolean":
        return "boolean"
    if is_numeric(dtype):
        return "number"
    if dtype.startswith("timestamp") or dtype == "date":
        return "datetime"
    return "empty" if dtype == "void" else "text"


def union_tables(ctx, inputs, params):
    """unionByName in the first table's column order; an integer column stacked on a double one is a double."""
    tables = union_inputs(inputs, kind=_spark_kind)
    first = next(iter(tables.values()))
    dtypes = [dict(t.dtypes) for t in tables.values()]
    widen = {c for c in first.columns if len({d[c] for d in dtypes}) > 1 and all(is_numeric(d[c]) for d in dtypes)}
    aligned = [t.select(*[col(c).cast("double").alias(c) if c in widen else col(c) for c in first.columns])
               for t in tables.values()]
    out = functools.reduce(lambda a, b: a.unionByName(b), aligned)
    return {"table": out.distinct() if params.distinct else out}

"""Spark tables as the local engine's checks and kernels see them.

The local engine's checks (operators.tables) and its pandas kernels (operators.expressions, the bundle's
scoring) are the single source of behaviour; these helpers let the Spark halves call them: column names
quoted for Spark, Spark types sorted as pandas sorts dtypes, and Arrow batches turned into the pandas frames
the local engine would read from the same Parquet.
"""
from __future__ import annotations

import pandas as pd

from ..contract import OperatorError

NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double")
FLOAT_TYPES = ("float", "double")
TIME_TYPES = ("timestamp", "timestamp_ntz", "date")


def quoted(name: str) -> str:
    """A column name as a Spark SQL identifier, whatever it holds: a name from a file's header is user input,
    and pasted into SQL unquoted it is SQL (`x` AS BIGINT) + reflect(...) + ...)."""
    return "`" + name.replace("`", "``") + "`"


def col(name: str):
    """A column by its exact name: F.col("a.b") would read field b of a struct a."""
    from pyspark.sql import functions as F

    return F.col(quoted(name))


def is_numeric(dtype: str) -> bool:
    """A Spark type the local engine holds as a number (booleans apart: pandas keeps a boolean column with
    gaps as objects, so the local operators treat it as text)."""
    return dtype in NUMERIC_TYPES or dtype.startswith("decimal")


def is_missing(name: str, dtype: str):
    """Null, and for floating columns NaN too: pandas' isna() counts both as missing."""
    from pyspark.sql import functions as F

    if dtype in FLOAT_TYPES:
        return col(name).isNull() | F.isnan(col(name))
    return col(name).isNull()


def present_number(name: str, dtype: str):
    """The column as a double, null where the local engine sees a missing value (null or NaN)."""
    from pyspark.sql import functions as F

    value = col(name).cast("double")
    return F.when(~F.isnan(value), value) if dtype in FLOAT_TYPES else value


def without_nan(df):
    """The table with NaN turned into null in its floating columns, its other columns untouched: the local engine
    holds both as one missing value (pandas' NaN), so rows that differ only there are the same rows."""
    from pyspark.sql import functions as F

    floating = {name for name, dtype in df.dtypes if dtype in FLOAT_TYPES}
    if not floating:
        return df
    return df.select(*[F.when(~F.isnan(col(name)), col(name)).alias(name) if name in floating else col(name)
                       for name in df.columns])


def require_rows(df, *, port: str = "table") -> None:
    """operators.tables.require_rows for a Spark DataFrame (a job that stops at the first row)."""
    if df.isEmpty():
        raise OperatorError(f"the {port!r} input has no rows", port=port)


def columns_with_gaps(df, columns) -> set[str]:
    """Which of the integer and boolean `columns` have missing values (one aggregation; none if no such
    column). pandas holds such a column as float64 or objects, not int64 or bool, and the local engine's
    kernels see it so; a batch with no gap of its own would otherwise arrive as int64 or bool."""
    from pyspark.sql import functions as F

    dtypes = dict(df.dtypes)
    typed = [c for c in dict.fromkeys(columns) if dtypes[c] in ("tinyint", "smallint", "int", "bigint", "boolean")]
    if not typed:
        return set()
    row = df.agg(*[F.count(F.when(col(c).isNull(), 1)).alias(f"g{i}") for i, c in enumerate(typed)]).first()
    return {c for i, c in enumerate(typed) if row[f"g{i}"]}


def pandas_batch(batch, columns: list[str] | None = None, gaps: set[str] = frozenset()) -> pd.DataFrame:
    """An Arrow batch from mapInArrow as the pandas frame the local engine reads from the same Parquet:
    columns in `gaps` (see `columns_with_gaps`) get the whole column's dtype, float64 or objects. Spark hands
    timestamps over as UTC instants; the local engine holds them as naive times, and the session's time zone
    is UTC (pipelines.engines), so they become naive UTC times."""
    if columns is not None:
        batch = batch.select(columns)
    frame = batch.to_pandas()
    for name in frame.columns:
        series = frame[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            frame[name] = series.dt.tz_convert("UTC").dt.tz_localize(None)
        elif name in gaps and pd.api.types.is_bool_dtype(series):
            frame[name] = series.astype(object)
        elif name in gaps and pd.api.types.is_integer_dtype(series):
            frame[name] = series.astype("float64")
    return frame


def empty_frame(df, gaps: set[str] = frozenset()) -> pd.DataFrame:
    """A pandas frame with no rows and the columns and dtypes of a Spark table: a kernel run on it on the
    driver raises the local engine's errors for a missing column or a result of the wrong type before any
    Spark job starts."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(df.schema, timezone="UTC")  # the session time zone (pipelines.engines)
    return pandas_batch(pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema),
                        gaps=gaps)


# ------------------------------------------------------------------------------------------ shared caches
SHARED_CACHE = "_studio_shared_cache"


def share_cache(frame, outputs: dict) -> dict:
    """Mark `outputs`, frames computed cheaply from `frame` (filters of it), as sharing one cache: the engine
    caches `frame` once for all of them (pipelines.engines.SparkEngine.handoff), so its lineage runs once, not
    once per output (a split's two sides, each filtering one flagged frame)."""
    for output in outputs.values():
        setattr(output, SHARED_CACHE, frame)
    return outputs


def cached_frame(frame):
    """The frame whose cache serves `frame`: the one it shares (`share_cache`), else itself."""
    return getattr(frame, SHARED_CACHE, None) or frame


def served_from_cache(frame) -> bool:
    """True when reading `frame` reads a cache rather than running its lineage."""
    return bool(cached_frame(frame).is_cached)


# ------------------------------------------------------------------------------------------ source files
SOURCE_FILE = "_studio_source_file"


def whole_file(frame, path) -> object:
    """Mark `frame` as every row and column of the Parquet file at `path`, as Spark reads it: the artifact store
    keeps a copy of the file's bytes as the table (pipelines.store.TableCodec) instead of writing and profiling
    it with Spark jobs, and the engine does not cache it (pipelines.engines.SparkEngine.handoff): reading the
    file again costs less than filling a cache with it."""
    setattr(frame, SOURCE_FILE, str(path))
    return frame


def source_file(frame) -> str | None:
    """The Parquet file `frame` reads whole (`whole_file`), or None."""
    return getattr(frame, SOURCE_FILE, None)


HELD = "_studio_held"


def held_on_driver(frame, data):
    """Mark `frame` as made from the Arrow table `data` the driver handed Spark (SparkSession.createDataFrame): its
    rows are in memory already, so the engine does not cache it (pipelines.engines.SparkEngine.handoff): reading it
    again costs less than filling a cache with it; and a pass over its rows in Python may run on the driver, over
    `data`, with no Spark job (operators.spark.column_summary). See operators.spark.split.split_on_driver."""
    setattr(frame, HELD, data)
    return frame


def held_rows(frame):
    """The Arrow table `frame` was made from (`held_on_driver`), or None."""
    return getattr(frame, HELD, None)


def hand_to_spark(spark, data, schema):
    """The Arrow table `data` as a Spark frame of `schema`, a partition per core, marked as held by the driver."""
    cores = max(1, int(spark.sparkContext.defaultParallelism))
    return held_on_driver(spark.createDataFrame(data, schema=schema).coalesce(cores), data)



READ_AGAIN = "_studio_read_again"


def read_again(frame):
    """Mark `frame` as a cheap lineage over a frame that needs no cache of its own (`needs_no_cache`, or cached
    already): a split's side filtering a Parquet file read whole by a flag computed from each row's position
    (operators.spark.split.split_random). The engine does not cache it: a reading node reads the file again (only
    the columns it needs) for less than filling a cache with it costs."""
    setattr(frame, READ_AGAIN, True)
    return frame


def reads_again_cheaply(frame) -> bool:
    """True when `frame` is cached, or its reads need no cache (`needs_no_cache`): reading it again reads the same
    rows in the same partitions in the same order, cheaply."""
    return bool(frame.is_cached) or needs_no_cache(frame)


def needs_no_cache(frame) -> bool:
    """True when reading `frame` again costs less than filling a cache: a Parquet file read whole (`whole_file`),
    rows the driver handed Spark (`held_on_driver`), or a cheap lineage over either (`read_again`)."""
    return source_file(frame) is not None or held_rows(frame) is not None or getattr(frame, READ_AGAIN, False)


def spark_scored_label(df) -> str | None:
    """The true label column a Spark table was scored against: predict marks it on a column's metadata
    (operators.tables.SCORED_LABEL), which Spark keeps in the Parquet it writes; the executor carries it on through
    the operators after predict that keep the label column (pipelines.store.carried_marks)."""
    from ..tables import SCORED_LABEL

    for field in df.schema.fields:
        value = (field.metadata or {}).get(SCORED_LABEL)
        if isinstance(value, str) and value:
            return value
    return None

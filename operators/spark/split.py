"""Splits on Spark: at random (seeded, optionally stratified), by a rule, or by time."""
from __future__ import annotations

import os

import numpy as np

from ..contract import OperatorError
from ..tables import require_columns
from .tables import (NUMERIC_TYPES, TIME_TYPES, col, is_missing, is_numeric, present_number, read_again,
                     reads_again_cheaply, require_rows, share_cache)

FLAG = "__studio_first"


def _sides(flagged) -> dict:
    """The rows flagged true to the first output, the others to the second: both filtered from `flagged`, which
    the engine caches once for the two (`share_cache`), so the flag is drawn in one pass, not once per side."""
    from pyspark.sql import functions as F

    return share_cache(flagged, {"first": flagged.filter(F.col(FLAG)).drop(FLAG),
                                 "second": flagged.filter(~F.col(FLAG)).drop(FLAG)})


def partition_offsets(df) -> tuple[list[int], int]:
    """The position of each partition's first row in the whole table, and the row count. A cached table (a node
    output) or a Parquet file read whole is counted in one job: its partition ids coalesced into one task, which
    the grouped count needs no shuffle after (an adaptive shuffle is a job of its own; the file's scan reads no
    column); another uncached lineage keeps its parallel tasks."""
    from pyspark.sql import functions as F

    from .tables import source_file

    ids = df.select(F.spark_partition_id().alias("p"))
    one_task = df.is_cached or source_file(df) is not None
    counts = dict((ids.coalesce(1) if one_task else ids).groupBy("p").count().collect())
    offsets, total = [], 0
    for partition in range(df.rdd.getNumPartitions()):
        offsets.append(total)
        total += counts.get(partition, 0)
    return offsets, total


ROW_BITS = 33  # monotonically_increasing_id(): the partition index above bit 33, the row within it below


def random_flag(ids: np.ndarray, *, offsets: np.ndarray, seed: int, ratio: float) -> np.ndarray:
    """The local engine's draw for rows given by their monotonically_increasing_id: a row's position in the table
    is its partition's offset plus its row within the partition, and it goes first when the position-th double of
    PCG64(seed) (numpy's default_rng, one double per row, as the local split draws) is below `ratio`. Each run of
    consecutive positions draws from one generator advanced to the run's first row."""
    ids = np.asarray(ids, dtype=np.int64)
    positions = offsets[ids >> ROW_BITS] + (ids & ((1 << ROW_BITS) - 1))
    flags = np.empty(len(ids), dtype=bool)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(positions) != 1) + 1, [len(ids)]])
    for start, stop in zip(starts[:-1], starts[1:], strict=True):
        if stop > start:
            bit_generator = np.random.PCG64(seed)
            bit_generator.advance(int(positions[start]))
            flags[start:stop] = np.random.Generator(bit_generator).random(stop - start) < ratio
    return flags


# Up to this many rows the flags are drawn on the driver (numpy's PCG64, as the local split) into a bitmap that a
# Spark expression looks up by row position: no Python worker starts and no row id travels to Python. 20M rows are
# a 2.9 MB literal in the plan (7 flags a byte); a bigger table draws its flags in an Arrow UDF of the row ids.
BITMAP_ROWS = 20_000_000
BITS = 7  # flags per bitmap byte: values 0..127, one ASCII character each, which ascii() reads back as a number
DRAW_CHUNK = 1 << 22  # doubles drawn at a time on the driver (32 MB)


def flag_bitmap(rows: int, *, seed: int, ratio: float) -> bytes:
    """The local engine's draw for `rows` rows (one double a row from PCG64(seed), first when below `ratio`), BITS
    flags a byte, the flag of position p in bit p % BITS of byte p // BITS."""
    generator = np.random.Generator(np.random.PCG64(seed))
    flags = np.zeros(-(-rows // BITS) * BITS, dtype=np.uint8)
    for start in range(0, rows, DRAW_CHUNK):  # the stream continues across calls: the same doubles as one draw
        stop = min(rows, start + DRAW_CHUNK)
        flags[start:stop] = generator.random(stop - start) < ratio
    weights = (1 << np.arange(BITS)).astype(np.uint8)
    return (flags.reshape(-1, BITS) * weights).sum(axis=1, dtype=np.uint8).tobytes()


def row_position(ids, offsets: list[int]):
    """A Spark expression of `ids` (monotonically_increasing_id): the row's position in the table, its partition's
    offset (`partition_offsets`) plus its row within the partition."""
    from pyspark.sql import functions as F

    starts = F.array(*[F.lit(int(o)).cast("long") for o in offsets])
    return (F.element_at(starts, (F.shiftright(ids, ROW_BITS) + 1).cast("int"))
            + ids.bitwiseAND((1 << ROW_BITS) - 1))


def bitmap_flag(ids, offsets: list[int], bitmap: bytes):
    """A Spark expression of `ids` (monotonically_increasing_id) looking the row's flag up in `bitmap`
    (`flag_bitmap`) at its position in the table: its partition's offset plus its row within the partition."""
    from pyspark.sql import functions as F

    position = row_position(ids, offsets)
    byte = F.substr(F.unhex(F.lit(bitmap.hex())), F.floor(position / BITS).cast("int") + 1, F.lit(1))
    value = F.ascii(byte.cast("string"))
    return value.bitwiseAND(F.pow(F.lit(2), position % BITS).cast("int")) != 0


ROW_ID = "__studio_row_id"


def spread_rows() -> int:
    """A table of at least this many rows in fewer partitions than the session has cores is spread over the
    cores by the random split (`spread`): STUDIO_SPARK_SPREAD_ROWS, default 200,000."""
    return int(os.environ.get("STUDIO_SPARK_SPREAD_ROWS", "200000"))


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def _mix(h1: int, k1: int) -> int:
    k1 = _rotl((k1 * 0xCC9E2D51) & 0xFFFFFFFF, 15) * 0x1B873593 & 0xFFFFFFFF
    return (_rotl(h1 ^ k1, 13) * 5 + 0xE6546B64) & 0xFFFFFFFF


def spark_hash_long(value: int, seed: int = 42) -> int:
    """Spark's hash() of a bigint (Murmur3 x86_32 of its low then high 32 bits, seed 42), which hash
    partitioning takes modulo the partition count: a signed 32-bit integer."""
    h1 = _mix(_mix(seed, value & 0xFFFFFFFF), (value >> 32) & 0xFFFFFFFF) ^ 8
    h1 = (h1 ^ (h1 >> 16)) * 0x85EBCA6B & 0xFFFFFFFF
    h1 = (h1 ^ (h1 >> 13)) * 0xC2B2AE35 & 0xFFFFFFFF
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 >= 1 << 31 else h1


def partition_keys(n: int) -> list[int]:
    """For each partition p of a hash repartition into `n`, a bigint key that lands in p."""
    keys: dict[int, int] = {}
    value = 0
    while len(keys) < n:
        keys.setdefault(spark_hash_long(value) % n, value)
        value += 1
    return [keys[p] for p in range(n)]


def spread(flagged, offsets: list[int], rows: int):
    """`flagged` (with its ROW_ID column) in as many contiguous, order-keeping partitions as the session has cores
    when it has many rows in fewer partitions that hold rows (a Parquet file of one row group): the split's
    sides and every node downstream then run a task per core, not one. The flags are drawn before, so the sides
    hold the same rows either way. One shuffle with no sampling job: the rows of the p-th of n equal position
    ranges get a key that hash partitioning sends to partition p (`partition_keys`), and each partition is
    sorted back into row order."""
    from pyspark.sql import functions as F

    n = max(1, int(flagged.sparkSession.sparkContext.defaultParallelism))
    # a file of one row group is read in several byte ranges when it is big, all but one of them empty
    holding = int(np.count_nonzero(np.diff(np.asarray([*offsets, rows])) > 0))
    if holding >= n or rows < max(spread_rows(), n):
        return flagged
    chunk = F.floor(row_position(F.col(ROW_ID), offsets) * n / rows).cast("int")
    key = F.element_at(F.array(*[F.lit(k).cast("long") for k in partition_keys(n)]), chunk + 1)
    return flagged.repartition(n, key).sortWithinPartitions(ROW_ID)


# A table read whole from one Parquet file (operators.spark.tables.whole_file) of at most this many cells (rows x
# columns, from the file's footer) is split on the driver (`split_on_driver`): 20M cells are about 190 MB in Arrow
# for the benchmark's credit table (1M rows x 13 columns: 126 MB; its footer says 24 MB, dictionary-encoded), held
# by the driver's Python and its JVM (2g by default) while the run lasts
DRIVER_SPLIT_CELLS = 20_000_000
DRIVER_SPLIT_TYPES = (*NUMERIC_TYPES, "boolean", "string", "timestamp", "date")


def driver_split_cells() -> int:
    """STUDIO_SPARK_DRIVER_SPLIT_CELLS, default DRIVER_SPLIT_CELLS; 0 turns the driver's split off."""
    return int(os.environ.get("STUDIO_SPARK_DRIVER_SPLIT_CELLS", str(DRIVER_SPLIT_CELLS)))


def _file_as_spark_reads(handle):
    """The Parquet file's rows in Arrow as the import's Spark frame holds them: pandas' nanosecond times as
    microseconds, truncated as the import's `div 1000` (operators.spark.io.import_parquet)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = handle.read()
    for i, field in enumerate(data.schema):
        if getattr(field.type, "unit", None) == "ns" and str(field.type).startswith("timestamp"):
            micros = pc.divide(data.column(i).cast(pa.int64()), 1000).cast(pa.timestamp("us"))
            data = data.set_column(i, pa.field(field.name, micros.type), micros)
    return data


def split_on_driver(table, params) -> dict | None:
    """The two sides of a table read whole from one small Parquet file (`whole_file`, at most
    `driver_split_cells()` cells, of plain column types), else None. The driver reads the file (pyarrow, as
    the local engine does), draws the local engine's flags (one double a row from default_rng(seed)) and hands
    Spark each side's rows (createDataFrame from Arrow, coalesced to a partition per core, in the local order).
    No Spark job runs, and the sides are not cached (`held_on_driver`): Spark read a file of one row group (pandas'
    default) in one task, so the split had to shuffle its rows over the cores and fill a cache, 6.5-9 s at 1M rows
    (local[2]) where the local split takes 0.3 s."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .tables import hand_to_spark, source_file

    path = source_file(table)
    if path is None or not os.path.isfile(path) or any(
            not (t in DRIVER_SPLIT_TYPES or t.startswith("decimal")) for _, t in table.dtypes):
        return None
    handle = pq.ParquetFile(path)
    footer = handle.metadata
    if footer.num_rows * footer.num_columns > driver_split_cells():
        return None
    if footer.num_rows == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    data = _file_as_spark_reads(handle)
    first = pa.array(np.random.default_rng(params.seed).random(data.num_rows) < params.ratio)
    return {side: hand_to_spark(table.sparkSession, data.filter(mask), table.schema)
            for side, mask in (("first", first), ("second", pc.invert(first)))}


def split_random(ctx, inputs, params):
    """The same rows go to each side as on the local engine when the table's partitions follow its row order
    (a table read from one file); otherwise a different split, as seeded and repeatable. Up to BITMAP_ROWS rows
    the flag is a Spark expression over a bitmap drawn on the driver (`bitmap_flag`); above, an Arrow UDF of the
    row ids, so only the ids travel to Python, not the rows. Each side filters on it."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    table = inputs["table"]
    if not getattr(params, "stratify", "") and (sides := split_on_driver(table, params)) is not None:
        return sides
    offsets, rows = partition_offsets(table)
    if rows == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    if getattr(params, "stratify", ""):
        return _stratified(table, params)
    seed, ratio = params.seed, params.ratio
    ids = F.col(ROW_ID)
    flagged = table.withColumn(ROW_ID, F.monotonically_increasing_id())
    if rows <= BITMAP_ROWS:
        flagged = flagged.withColumn(FLAG, bitmap_flag(ids, offsets, flag_bitmap(rows, seed=seed, ratio=ratio)))
    else:
        at = np.asarray(offsets, dtype=np.int64)

        def flag(batch_ids: pa.Array) -> pa.Array:
            return pa.array(random_flag(batch_ids.to_numpy(zero_copy_only=False), offsets=at, seed=seed,
                                        ratio=ratio), type=pa.bool_())

        flagged = flagged.withColumn(FLAG, F.arrow_udf(flag, "boolean", F.ArrowUDFType.SCALAR)(ids))
    spread_out = spread(flagged, offsets, rows)
    if spread_out is flagged and rows <= BITMAP_ROWS and reads_again_cheaply(table):
        return _filtered_sides(flagged.drop(ROW_ID))
    return _sides(spread_out.drop(ROW_ID))


def _filtered_sides(flagged) -> dict:
    """The two sides as filters of `flagged`, each marked to be read again rather than cached (`read_again`): the
    table under it is a Parquet file read whole, rows the driver holds or a cache, read again in the same
    partitions and order, so each read flags each row as the first did (the flag an expression of the row's
    position, `bitmap_flag`). The split runs no job but `partition_offsets`; each reading node reads the table
    again, only the columns it needs. Filling a cache of the whole flagged table instead cost 30-38 s of CPU at
    10M rows x 13 columns on local[2] (Spark's columnar cache builder), against 4.5-6.4 s for a pass over the
    file with the flag (2026-12-07)."""
    from pyspark.sql import functions as F

    return {"first": read_again(flagged.filter(F.col(FLAG)).drop(FLAG)),
            "second": read_again(flagged.filter(~F.col(FLAG)).drop(FLAG))}


def _stratified(table, params):
    """Each value of the stratify column (missing values, null or NaN, as one more) is split in the ratio: the
    round(ratio * count) rows with the smallest seeded random keys of that value go to the first output; rounded
    half to even (bround) as the local half's Python round(), so a group of one at ratio 0.5 sends no row."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    column = params.stratify
    if column not in table.columns:
        raise OperatorError(f"column {column!r} (from stratify) is not in the 'table' input; columns are: "
                            f"{', '.join(table.columns[:20])}", field="stratify", column=column, port="table")
    dtype = dict(table.dtypes)[column]
    group = F.when(is_missing(column, dtype), F.lit("\x00missing")).otherwise(col(column).cast("string"))
    keyed = table.withColumn("__group", group).withColumn("__key", F.rand(params.seed))
    by_group = Window.partitionBy("__group")
    ranked = (keyed.withColumn("__n", F.count(F.lit(1)).over(by_group))
              .withColumn("__rank", F.row_number().over(by_group.orderBy("__key"))))
    flagged = ranked.withColumn(FLAG, F.col("__rank") <= F.bround(F.col("__n") * params.ratio)).drop(
        "__group", "__key", "__n", "__rank")
    return _sides(flagged)


def split_rule(ctx, inputs, params):
    """The expression is the local engine's, evaluated on each Arrow batch (operators.spark.table_ops)."""
    from .table_ops import checked_expression, masked

    table = inputs["table"]
    checked = checked_expression(params.expression, table)
    require_rows(table)
    return _sides(masked(table, checked, flag=FLAG))


# ------------------------------------------------------------------------------------------------ time
RANK_WINDOW_ERROR = 1e-4  # relative error of the approxQuantile that narrows the search for a rank's value
KEY = "__studio_time"


def _time_key(column: str, dtype: str):
    """The split column as numbers that order as the local engine's times: numbers as they are (booleans as
    0 / 1, NaN as missing), times and dates as microseconds, text parsed by Spark's timestamp cast (null
    where it cannot be read; try_ so ANSI mode does not fail the job)."""
    from pyspark.sql import functions as F

    if dtype in ("float", "double"):
        return present_number(column, dtype)
    if is_numeric(dtype):
        return col(column)
    if dtype == "boolean":
        return col(column).cast("int")
    if dtype in TIME_TYPES:
        return F.unix_micros(col(column).cast("timestamp"))
    return F.unix_micros(F.try_to_timestamp(col(column).cast("string")))


def value_at_rank(keys, rank: int, rows: int):
    """The value at 0-based `rank` of column `k` (no nulls) in ascending order, exactly, without sorting the
    table or collecting it: approxQuantile narrows the search to a window of about 4 * RANK_WINDOW_ERROR of
    the rows around the rank, one aggregation counts the rows below and inside it, and the window's distinct
    values with their counts (at most about 4,000 for ten million rows) are walked on the driver. If the
    window misses the rank (approxQuantile's guarantee failing), the whole range is the window. (orderBy +
    offset + limit would be exact too, but Spark plans it as a top-k holding rank + 1 rows per task.)"""
    from pyspark.sql import functions as F

    q = (rank + 0.5) / rows
    lo, hi = keys.approxQuantile("k", [max(0.0, q - 2 * RANK_WINDOW_ERROR), min(1.0, q + 2 * RANK_WINDOW_ERROR)],
                                 RANK_WINDOW_ERROR)
    k = F.col("k")
    counts = keys.agg(F.sum((k < lo).cast("long")).alias("below"),
                      F.sum(k.between(lo, hi).cast("long")).alias("inside")).first()
    below, window = counts["below"] or 0, k.between(lo, hi)
    if not below <= rank < below + (counts["inside"] or 0):
        below, window = 0, F.lit(True)
    seen = below
    for row in keys.filter(window).groupBy("k").count().orderBy("k").toLocalIterator():
        seen += row["count"]
        if seen > rank:
            return row["k"]
    raise AssertionError(f"rank {rank} is beyond the {rows} rows")  # unreachable: rank < rows


def _cutoff_key(params, numeric: bool):
    """The cutoff as the local engine reads it (float(), or pandas.Timestamp as microseconds of UTC time)."""
    import pandas as pd

    try:
        if numeric:
            return float(params.cutoff)
        cutoff = pd.Timestamp(params.cutoff)
    except ValueError:
        raise OperatorError(f"cannot read {params.cutoff!r} as a time", field="cutoff") from None
    if cutoff.tzinfo is not None:
        cutoff = cutoff.tz_convert("UTC").tz_localize(None)
    return (cutoff - pd.Timestamp(0)) // pd.Timedelta(microseconds=1)


def split_time(ctx, inputs, params):
    """The same sides as the local engine. last_fraction: the boundary is the time at row rank
    n - round(fraction * n) in time order, found exactly from row counts (`value_at_rank`), and rows at or
    after it go to the second output. Text columns are read by Spark's timestamp cast (ISO 8601 forms):
    text that pandas.to_datetime(format="mixed") reads on the local engine but Spark does not ("Jan 5 2024")
    counts as unparseable, the error naming the column, never a different split."""
    from pyspark.sql import functions as F

    table = inputs["table"]
    require_columns(table, [params.column], field="column")
    dtype = dict(table.dtypes)[params.column]
    numeric = is_numeric(dtype) or dtype == "boolean"  # pandas counts booleans as numeric
    keyed = table.withColumn(KEY, _time_key(params.column, dtype))
    counts = keyed.agg(F.count(F.lit(1)).alias("rows"), F.count(KEY).alias("times")).first()
    rows, times = counts["rows"], counts["times"]
    if rows == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    if not numeric and times == 0:
        raise OperatorError(f"column {params.column!r} holds no dates or times", field="column",
                            column=params.column)
    if times < rows:
        raise OperatorError(f"column {params.column!r} has {rows - times} missing or unparseable times; fill or "
                            "filter them first", field="column", column=params.column)
    if params.mode == "cutoff":
        if not params.cutoff:
            raise OperatorError("mode 'cutoff' needs a cutoff", field="cutoff")
        boundary = _cutoff_key(params, numeric)
    else:
        n_second = int(round(params.last_fraction * rows))
        # rows tied with the boundary time all go to the second part, so no time lands on both sides
        boundary = value_at_rank(keyed.select(F.col(KEY).alias("k")), rows - n_second, rows) if n_second else None
    flag = F.lit(True) if boundary is None else F.col(KEY) < F.lit(boundary)
    return _sides(keyed.withColumn(FLAG, flag).drop(KEY))


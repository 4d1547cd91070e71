"""Splits on Spark."""
from __future__ import annotations

import functools

import numpy as np

from ..contract import OperatorError
from . import spark_operator

FLAG = "__studio_first"


def partition_offsets(df) -> tuple[list[int], int]:
    """The position of each partition's first row in the whole table, and the row count (one job)."""
    from pyspark.sql import functions as F

    counts = dict(df.groupBy(F.spark_partition_id().alias("p")).count().collect())
    offsets, total = [], 0
    for partition in range(df.rdd.getNumPartitions()):
        offsets.append(total)
        total += counts.get(partition, 0)
    return offsets, total


def _flag_rows(batches, *, offsets, seed, ratio):
    """Draw the local engine's random numbers for this partition's rows: the generator is PCG64 (numpy's
    default_rng), advanced to the partition's first row, one double per row, exactly as the local split."""
    import pyarrow as pa
    from pyspark import TaskContext

    bit_generator = np.random.PCG64(seed)
    bit_generator.advance(offsets[TaskContext.get().partitionId()])
    rng = np.random.Generator(bit_generator)
    for batch in batches:
        mask = rng.random(batch.num_rows) < ratio
        yield batch.append_column(FLAG, pa.array(mask, type=pa.bool_()))


@spark_operator("split_random")
def split_random(ctx, inputs, params):
    """The same rows go to each side as on the local engine when the table's partitions follow its row order
    (a table read from one file); otherwise a different split, as seeded and repeatable."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, StructField, StructType

    table = inputs["table"]
    offsets, rows = partition_offsets(table)
    if rows == 0:
        raise OperatorError("the 'table' input has no rows", port="table")
    if getattr(params, "stratify", ""):
        return _stratified(table, params)
    schema = StructType(table.schema.fields + [StructField(FLAG, BooleanType(), False)])
    flagged = table.mapInArrow(functools.partial(_flag_rows, offsets=offsets, seed=params.seed,
                                                 ratio=params.ratio), schema)
    return {"first": flagged.filter(F.col(FLAG)).drop(FLAG), "second": flagged.filter(~F.col(FLAG)).drop(FLAG)}


def _stratified(table, params):
    """Each value of the stratify column (missing values as one more) is split in the ratio: the
    round(ratio * count) rows with the smallest seeded random keys of that value go to the first output."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    column = params.stratify
    if column not in table.columns:
        raise OperatorError(f"column {column!r} (from stratify) is not in the 'table' input; columns are: "
                            f"{', '.join(table.columns[:20])}", field="stratify", column=column, port="table")
    group = F.coalesce(F.col(column).cast("string"), F.lit("\x00missing"))
    keyed = table.withColumn("__group", group).withColumn("__key", F.rand(params.seed))
    by_group = Window.partitionBy("__group")
    ranked = (keyed.withColumn("__n", F.count(F.lit(1)).over(by_group))
              .withColumn("__rank", F.row_number().over(by_group.orderBy("__key"))))
    flagged = ranked.withColumn(FLAG, F.col("__rank") <= F.round(F.col("__n") * params.ratio)).drop(
        "__group", "__key", "__n", "__rank")
    return {"first": flagged.filter(F.col(FLAG)).drop(FLAG), "second": flagged.filter(~F.col(FLAG)).drop(FLAG)}

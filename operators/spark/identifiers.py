"""The Spark half of operators/identifiers.py: names judged as there, integer columns' statistics from one
aggregation."""
from __future__ import annotations

from ..identifiers import IntegerStats, reason_by_name, reason_by_values


def spark_row_identifiers(df, candidates) -> list[dict]:
    from pyspark.sql import functions as F
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType

    reasons = {c: reason_by_name(c) for c in candidates}
    integers = [c for c in candidates if not reasons[c]
                and isinstance(df.schema[c].dataType, (ByteType, ShortType, IntegerType, LongType))]
    if integers:
        aggregates = [F.count(F.lit(1)).alias("rows")]
        for i, c in enumerate(integers):
            aggregates += [F.count(F.col(c)).alias(f"n{i}"), F.countDistinct(F.col(c)).alias(f"d{i}"),
                           F.min(F.col(c)).alias(f"lo{i}"), F.max(F.col(c)).alias(f"hi{i}")]
        row = df.agg(*aggregates).collect()[0]
        for i, c in enumerate(integers):
            if row[f"n{i}"]:
                reasons[c] = reason_by_values(IntegerStats(row["rows"], row["rows"] - row[f"n{i}"], row[f"d{i}"],
                                                           int(row[f"lo{i}"]), int(row[f"hi{i}"])))
    return [{"column": str(c), "reason": reasons[c]} for c in candidates if reasons[c]]

"""The Spark half of operators/identifiers.py: names judged as there, integer columns' statistics and the exact
distinct counts of id-named text columns from one aggregation."""
from __future__ import annotations

from ..identifiers import IntegerStats, TextStats, names_a_key, reason_by_name, reason_by_text, reason_by_values


def spark_row_identifiers(df, candidates, profiles: dict[str, dict] | None = None) -> list[dict]:
    """The row identifiers among `candidates`. `profiles` (operators.spark.features._column_profiles, when the fit
    has them) decide an integer column without a job when its rows, missing count and integer span rule it out,
    or when its distinct count is exact; only the other integer columns are aggregated, with the id-named text
    columns whose profile leaves their uniqueness open."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import ByteType, IntegerType, LongType, ShortType, StringType

    reasons = {c: reason_by_name(c) for c in candidates}
    integers = [c for c in candidates if not reasons[c]
                and isinstance(df.schema[c].dataType, (ByteType, ShortType, IntegerType, LongType))]
    known = {c: _profile_stats(profiles[c]) for c in integers if profiles and c in profiles}
    for c, stats in known.items():
        if stats is not None:
            reasons[c] = reason_by_values(stats) if stats.distinct >= 0 else None
    integers = [c for c in integers if c not in known or (known[c] is not None and known[c].distinct < 0)]
    texts = [c for c in candidates if not reasons[c] and names_a_key(c)
             and isinstance(df.schema[c].dataType, StringType) and _text_open(c, profiles, reasons)]
    if integers or texts:
        aggregates = [F.count(F.lit(1)).alias("rows")]
        for i, c in enumerate(integers):
            aggregates += [F.count(F.col(c)).alias(f"n{i}"), F.countDistinct(F.col(c)).alias(f"d{i}"),
                           F.min(F.col(c)).alias(f"lo{i}"), F.max(F.col(c)).alias(f"hi{i}")]
        for i, c in enumerate(texts):
            aggregates += [F.count(F.col(c)).alias(f"tn{i}"), F.countDistinct(F.col(c)).alias(f"td{i}")]
        row = df.agg(*aggregates).collect()[0]
        for i, c in enumerate(integers):
            if row[f"n{i}"]:
                reasons[c] = reason_by_values(IntegerStats(row["rows"], row["rows"] - row[f"n{i}"], row[f"d{i}"],
                                                           int(row[f"lo{i}"]), int(row[f"hi{i}"])))
        for i, c in enumerate(texts):
            reasons[c] = reason_by_text(c, TextStats(row["rows"], row["rows"] - row[f"tn{i}"], row[f"td{i}"]))
    return [{"column": str(c), "reason": reasons[c]} for c in candidates if reasons[c]]


def _profile_stats(profile: dict) -> IntegerStats | None:
    """An integer column's IntegerStats from its profile; None when it has no values; distinct -1 when only
    an estimate is known and the other statistics do not already rule the column out."""
    if not profile.get("present") or "imin" not in profile:
        return None
    stats = IntegerStats(profile["rows"], profile["rows"] - profile["present"], int(profile["distinct"]),
                         int(profile["imin"]), int(profile["imax"]))
    if profile.get("exact_distinct") or reason_by_values(IntegerStats(stats.rows, stats.missing, stats.rows,
                                                                      stats.minimum, stats.maximum)) is None:
        return stats  # exact, or not an identifier whatever its distinct count
    return IntegerStats(stats.rows, stats.missing, -1, stats.minimum, stats.maximum)


def _text_open(column, profiles: dict[str, dict] | None, reasons: dict) -> bool:
    """Whether an id-named text column needs the exact count: its profile (when the fit has one) decides it when
    its distinct count is exact or missing values rule it out."""
    profile = (profiles or {}).get(column)
    if profile is None:
        return True
    if profile.get("exact_distinct") or profile["present"] < profile["rows"]:
        reasons[column] = reason_by_text(column, TextStats(profile["rows"], profile["rows"] - profile["present"],
                                                           int(profile["distinct"])))
        return False
    return True  # an inexact distinct count is only a lower bound

"""A Spark table's profile, in the JSON shape of operators.profile.table_profile.

As on the local engine, counts of rows and nulls and min / max / mean are exact: one Spark aggregation over
the whole table. Distinct counts, top values and histograms come from `column_profile` itself, run on a
pandas sample of at most SAMPLE_ROWS rows (the whole table when it is no bigger; then `sampled` is false).
The sample is Spark's seeded Bernoulli sample, so its rows differ from the local engine's pandas sample of
the same table: on tables of more than SAMPLE_ROWS rows, distinct counts, top values and histograms are
estimates on both engines, not the same estimates.
"""
from __future__ import annotations

import pandas as pd

from ..profile import SAMPLE_ROWS, column_profile
from .tables import col, is_missing, is_numeric, present_number

SEED = 0


def _finite(name: str, dtype: str):
    """The column as a double, null unless finite: the local profile's min / max / mean skip NaN and infinity."""
    from pyspark.sql import functions as F

    value = present_number(name, dtype)
    return F.when(~value.isin(float("inf"), float("-inf")), value)


def _exact(df) -> tuple[int, dict[str, dict]]:
    """Rows, and per column its missing values and (numbers, times) min / max / mean, in one aggregation."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, (name, dtype) in enumerate(df.dtypes):
        aggs.append(F.sum(is_missing(name, dtype).cast("long")).alias(f"nulls{i}"))
        if is_numeric(dtype):
            value = _finite(name, dtype)
            aggs += [F.min(value).alias(f"min{i}"), F.max(value).alias(f"max{i}"), F.mean(value).alias(f"mean{i}")]
        elif dtype in ("timestamp", "timestamp_ntz"):
            # as microseconds, so no Python time zone gets between Spark's UTC times and the ISO text
            value = col(name).cast("timestamp")
            aggs += [F.unix_micros(F.min(value)).alias(f"min{i}"), F.unix_micros(F.max(value)).alias(f"max{i}")]
    row = df.agg(*aggs).first()
    stats = {}
    for i, (name, dtype) in enumerate(df.dtypes):
        entry = {"nulls": int(row[f"nulls{i}"] or 0)}
        if is_numeric(dtype):
            entry.update(min=row[f"min{i}"], max=row[f"max{i}"], mean=row[f"mean{i}"])
        elif dtype in ("timestamp", "timestamp_ntz"):
            entry.update({key: None if row[f"{key}{i}"] is None
                          else pd.Timestamp(row[f"{key}{i}"], unit="us").isoformat() for key in ("min", "max")})
        stats[name] = entry
    return int(row["rows"]), stats


def _as_local(series: pd.Series, has_nulls: bool) -> pd.Series:
    """The sample's column with the dtype the local engine gives the whole column: nanosecond times (Spark
    gives microseconds; column_profile reads a time's integer as nanoseconds), and float64 or objects for an
    integer or boolean column with gaps even when the sample missed them."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.astype("datetime64[ns]")
    if has_nulls and not series.isna().any():
        if pd.api.types.is_bool_dtype(series):
            return series.astype(object)
        if pd.api.types.is_integer_dtype(series):
            return series.astype("float64")
    return series


def spark_table_profile(df) -> dict:
    """The profile of a Spark table (see the module docstring): two jobs, the aggregation and the sample."""
    rows, exact = _exact(df)
    sampled = rows > SAMPLE_ROWS
    # Bernoulli at SAMPLE_ROWS / rows gives about SAMPLE_ROWS rows; the limit keeps the collected sample bounded
    frame = df.sample(withReplacement=False, fraction=SAMPLE_ROWS / rows, seed=SEED).limit(SAMPLE_ROWS) \
        if sampled else df
    sample = frame.toPandas()
    columns = []
    for name in df.columns:
        stats = exact[name]
        series = _as_local(sample[name], stats["nulls"] > 0)
        entry = column_profile(series, series)
        entry["nulls"] = stats["nulls"]
        for key in ("min", "max", "mean"):  # where the sample had values to describe, the exact ones
            if key in entry and key in stats:
                entry[key] = stats[key]
        columns.append(entry)
    return {"rows": rows, "sampled": sampled, "sample_rows": int(len(sample)), "columns": columns}

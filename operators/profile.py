"""A table's profile: per column type, nulls, distinct values, min / max / mean, top values, histogram.

Made by the artifact store when a table's profile is first asked for (a Spark table's is written with it).
Counts of rows and nulls and min / max / mean are exact; distinct counts, top values and histograms come from
a seeded sample of at most SAMPLE_ROWS rows on bigger tables (then `sampled` is true), so profiling a million
rows stays well under a second.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

SAMPLE_ROWS = 100_000
TOP_VALUES = 10
HISTOGRAM_BINS = 20


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "integer" if pd.api.types.is_integer_dtype(series) else "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "string"


def _scalar(value):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def column_profile(series: pd.Series, sample: pd.Series) -> dict:
    kind = _kind(series)
    nulls = int(series.isna().sum())
    entry = {"name": str(series.name), "dtype": str(series.dtype), "kind": kind, "nulls": nulls,
             "distinct": int(sample.nunique(dropna=True))}
    present = sample.dropna()
    if kind in ("integer", "number") and len(present):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = values[np.isfinite(values)]
        if len(finite):
            entry.update(min=_scalar(finite.min()), max=_scalar(finite.max()), mean=_scalar(finite.mean()))
            sample_values = present.to_numpy(dtype=np.float64)
            sample_values = sample_values[np.isfinite(sample_values)]
            counts, edges = np.histogram(sample_values, bins=HISTOGRAM_BINS)
            entry["histogram"] = {"edges": edges.tolist(), "counts": counts.tolist()}
    elif kind == "datetime" and len(present):
        entry.update(min=_scalar(series.min()), max=_scalar(series.max()))
        # microseconds whatever the column's unit: Spark's, and a span of centuries in nanoseconds overflows int64
        ticks = present.astype("datetime64[us]").astype("int64").to_numpy()
        base = int(ticks.min())  # relative to the first: times microseconds apart are too close for float bins
        counts, edges = np.histogram(ticks - base, bins=HISTOGRAM_BINS)
        entry["histogram"] = {"edges": [pd.Timestamp(base + int(e), unit="us").isoformat() for e in edges],
                              "counts": counts.tolist()}
    if kind in ("string", "boolean") or (kind == "integer" and entry["distinct"] <= TOP_VALUES):
        top = present.astype(str).value_counts().head(TOP_VALUES)
        entry["top"] = [{"value": str(v), "count": int(c)} for v, c in top.items()]
    return entry


def table_profile(df: pd.DataFrame) -> dict:
    sampled = len(df) > SAMPLE_ROWS
    sample = df.sample(SAMPLE_ROWS, random_state=0) if sampled else df
    return {"rows": int(len(df)), "sampled": sampled, "sample_rows": int(len(sample)),
            "columns": [column_profile(df[c], sample[c]) for c in df.columns]}


def parquet_profile(path) -> dict:
    """table_profile(pd.read_parquet(path)) of a Parquet table (a file, or a folder of Spark's part files), read
    one column at a time, so only one column is in memory: the same rows sampled (pandas' sample of a table of
    that length), the same numbers. Times are the naive times the local engine holds (Spark writes INT96, read
    as such; times written as microseconds in UTC are read as times in UTC, made naive here)."""
    import pyarrow.dataset as ds

    dataset = ds.dataset(path, format="parquet")
    rows = dataset.count_rows()
    sampled = rows > SAMPLE_ROWS
    positions = pd.Series(np.arange(rows)).sample(SAMPLE_ROWS, random_state=0).to_numpy() if sampled else None
    columns = []
    for name in dataset.schema.names:
        series = pd.read_parquet(path, columns=[name])[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype):  # Spark's times, if written as micros in UTC
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        columns.append(column_profile(series, series.iloc[positions] if sampled else series))
    return {"rows": int(rows), "sampled": sampled, "sample_rows": SAMPLE_ROWS if sampled else int(rows),
            "columns": columns}

"""The feature fit's column profiles in one pass: each Spark task summarises its rows in Python (mapInArrow) as a
small mergeable summary per column, and the driver merges the tasks' summaries (the mergeable-summary idea of
scikit-learn's partial_fit and Beam's combiners, see STYLE.md).

Per column a summary holds: the non-null count; for numbers (cast to double, as Spark's aggregations see them) the
NaN count and the count, mean, sum of squared deviations (Chan's parallel merge: exact up to summation order),
minimum and maximum of the other values; for integers the exact minimum and maximum; and the exact value counts
while the column has at most `limit` distinct values (a task or the merge that finds more drops them: the column
has "many" values). These give the statistics of one Spark aggregation (count, mean, stddev_pop, min, max) with
Spark's NaN rules (NaN is a value: it counts as present, makes the mean, deviation and maximum NaN, and is the
minimum only of a column of NaN alone), and `table.groupBy(column).count()`'s pairs for the counted columns: one
job, no shuffle, no HyperLogLog and no exploded grouped count.

Types summarised here (`SUMMARISED`): integers, float, double, boolean and string, whose values Arrow hands to Python
as groupBy's rows hold them; a column of another type (decimal, date, timestamp, binary, nested) is profiled by the
Spark aggregations of operators.spark.features instead.
"""
from __future__ import annotations

import json
import math

import numpy as np

INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")
SUMMARISED = INTEGER_TYPES + ("float", "double", "boolean", "string")


class Summary:
    """One column's summary over some rows (see the module docstring); `merge` adds another's."""

    __slots__ = ("present", "nan", "n", "mean", "m2", "low", "high", "ilow", "ihigh", "counts")

    def __init__(self):
        self.present = self.nan = self.n = 0
        self.mean = self.m2 = 0.0
        self.low = self.high = None  # of the values other than NaN, as doubles
        self.ilow = self.ihigh = None  # integers: exact
        self.counts: dict | None = {}  # value -> rows, NaN and null apart; None: more than the limit

    def add_numbers(self, x: np.ndarray) -> None:
        """Present values of a batch as float64, NaN included."""
        nan = np.isnan(x)
        k = int(nan.sum())
        if k:
            self.nan += k
            x = x[~nan]
        if not len(x):
            return
        self._merge_moments(len(x), float(x.mean()), float(((x - x.mean()) ** 2).sum()))
        low, high = float(x.min()), float(x.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def _merge_moments(self, n: int, mean: float, m2: float) -> None:
        total = self.n + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total

    def add_integers(self, low: int, high: int) -> None:
        self.ilow = low if self.ilow is None else min(self.ilow, low)
        self.ihigh = high if self.ihigh is None else max(self.ihigh, high)

    def add_counts(self, values: list, counts: list[int], limit: int) -> None:
        if self.counts is None:
            return
        for value, n in zip(values, counts, strict=True):
            self.counts[value] = self.counts.get(value, 0) + n
        if len(self.counts) > limit:
            self.counts = None

    def merge(self, other: Summary, limit: int) -> None:
        self.present += other.present
        self.nan += other.nan
        if other.n:
            self._merge_moments(other.n, other.mean, other.m2)
        for name, pick in (("low", min), ("high", max), ("ilow", min), ("ihigh", max)):
            theirs = getattr(other, name)
            if theirs is not None:
                mine = getattr(self, name)
                setattr(self, name, theirs if mine is None else pick(mine, theirs))
        if other.counts is None:
            self.counts = None
        else:
            self.add_counts(list(other.counts), list(other.counts.values()), limit)

    def to_json(self) -> list:
        counts = None if self.counts is None else [list(self.counts), list(self.counts.values())]
        return [self.present, self.nan, self.n, self.mean, self.m2, self.low, self.high, self.ilow, self.ihigh, counts]

    @classmethod
    def from_json(cls, data: list) -> Summary:
        s = cls()
        s.present, s.nan, s.n, s.mean, s.m2, s.low, s.high, s.ilow, s.ihigh, counts = data
        s.counts = None if counts is None else dict(zip(counts[0], counts[1], strict=True))
        return s

    def profile(self, rows: int, numeric: bool, integer: bool) -> dict:
        """The statistics `_column_profiles` reads from Spark's aggregation, by Spark's rules for NaN and for a
        column without values (None)."""
        out = {"rows": rows, "present": self.present}
        if numeric:
            nan = float("nan")
            if not self.present:
                out.update(mean=None, std=None, min=None, max=None)
            elif self.nan:
                out.update(mean=nan, std=nan, min=self.low if self.n else nan, max=nan)
            else:
                out.update(mean=self.mean, std=math.sqrt(max(self.m2, 0.0) / self.n), min=self.low, max=self.high)
        if integer:
            out.update(imin=self.ilow, imax=self.ihigh)
        return out

    def pairs(self, rows: int) -> list[tuple] | None:
        """groupBy(column).count()'s (value, rows) pairs: null as None, NaN as one value; None when not counted."""
        if self.counts is None:
            return None
        pairs = list(self.counts.items())
        if self.nan:
            pairs.append((float("nan"), self.nan))
        if rows > self.present:
            pairs.append((None, rows - self.present))
        return pairs


def _add_batch_column(summary: Summary, array, dtype: str, limit: int) -> None:
    """One Arrow column of a batch into its summary."""
    import pyarrow as pa
    import pyarrow.compute as pc

    present = array.drop_null() if array.null_count else array
    summary.present += len(present)
    if not len(present):
        return
    if dtype != "string":
        if dtype in INTEGER_TYPES:
            extremes = pc.min_max(present)
            summary.add_integers(extremes["min"].as_py(), extremes["max"].as_py())
        numbers = present.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)  # as Spark's cast
        summary.add_numbers(numbers)
        if dtype in ("float", "double"):  # groupBy's values: -0.0 is 0.0, NaN is counted apart (summary.nan)
            present = pc.add(present.filter(pc.invert(pc.is_nan(present))), pa.scalar(0.0, present.type))
    if summary.counts is None:
        return
    counted = pc.value_counts(present)
    if len(counted) > limit:  # more than the limit in this batch alone: its values need not come to Python
        summary.counts = None
        return
    summary.add_counts(counted.field(0).to_pylist(), counted.field(1).to_pylist(), limit)


def summarise_batches(batches, *, columns: list[str], dtypes: list[str], limit: int):
    """mapInArrow body: the summaries of a task's rows as one JSON row (rows, then each column's summary)."""
    import pyarrow as pa

    rows, summaries = 0, [Summary() for _ in columns]
    for batch in batches:
        rows += batch.num_rows
        for i, (summary, dtype) in enumerate(zip(summaries, dtypes, strict=True)):
            _add_batch_column(summary, batch.column(i), dtype, limit)
    text = json.dumps([rows, [s.to_json() for s in summaries]], allow_nan=True)
    yield pa.RecordBatch.from_arrays([pa.array([text], type=pa.string())], names=["summary"])


def column_summaries(table, columns: list[str], dtypes: dict[str, str], limit: int) -> tuple[int, list[Summary]]:
    """(rows, each column's merged Summary) of `table`, from one mapInArrow job over the columns."""
    import functools

    from .tables import col

    if not columns:
        return table.count(), []
    kinds = [dtypes[c] for c in columns]
    body = functools.partial(summarise_batches, columns=list(columns), dtypes=kinds, limit=limit)
    frame = table.select(*[col(c) for c in columns]).mapInArrow(body, "summary string")
    rows, merged = 0, [Summary() for _ in columns]
    for row in frame.collect():
        task_rows, parts = json.loads(row["summary"])
        rows += task_rows
        for summary, part in zip(merged, parts, strict=True):
            summary.merge(Summary.from_json(part), limit)
    return rows, merged

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

A number column of more values than `limit` gets a quantile sketch too (`Sketch`), so its quantiles need no
approxQuantile pass: each task sorts its values (other than NaN) in chunks of up to SKETCH_CHUNK values and keeps
every s-th of each chunk, s = floor(SKETCH_ERROR * the chunk's values); an order statistic read from the merged
samples is within the sum of the chunks' s, at most SKETCH_ERROR * n, ranks of the exact one (n the values), inside
approxQuantile's bound at QUANTILE_RELATIVE_ERROR (operators.spark.features). So a task of many rows keeps its
sketches (at 10M rows on local[2] a task had 4M rows of 8 number columns: held whole, they passed the task's budget,
and approxQuantile's pass over the 8M training rows cost 46 s of the feature node's 133 s, 2026-12-07). A column
still counted exactly when its chunk is full drops its held values rather than sort them (its counts are its
values); should it have many values after all, approxQuantile gives its quantiles. A task holds at most
SKETCH_TASK_VALUES values not yet chunked of all its columns; past that (a wide table), or in a table of more than
SKETCH_PARTITIONS partitions, no column has a sketch and approxQuantile runs.

Types summarised here (`SUMMARISED`): integers, float, double, boolean and string, whose values Arrow hands to Python
as groupBy's rows hold them; a column of another type (decimal, date, timestamp, binary, nested) is profiled by the
Spark aggregations of operators.spark.features instead.
"""
from __future__ import annotations

import base64
import json
import math

import numpy as np

INTEGER_TYPES = ("tinyint", "smallint", "int", "bigint")
SUMMARISED = INTEGER_TYPES + ("float", "double", "boolean", "string")
SKETCHED = INTEGER_TYPES + ("float", "double")
SKETCH_ERROR = 5e-5  # half of operators.spark.features.QUANTILE_RELATIVE_ERROR: 20,000 samples a task and column
SKETCH_CHUNK = 1_000_000  # values of a column a task holds (8 MB) before sorting them into samples (20,000)
SKETCH_TASK_VALUES = 16_000_000  # values not yet chunked of all columns one task holds (128 MB): a wide table's
# columns fall back to approxQuantile rather than fill a Python worker's memory
SKETCH_PARTITIONS = 100  # at most 2M samples a column on the driver


class Sketch:
    """Sorted samples of a column's values other than NaN, from each task: (values it had, step, every step-th of
    its sorted values from the smallest). `at` reads order statistics from them (see the module docstring)."""

    def __init__(self, parts: list[tuple[int, int, np.ndarray]]):
        self.parts = parts
        self.n = sum(n for n, _, _ in parts)
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def of(cls, values: list[np.ndarray]) -> Sketch:
        x = np.sort(np.concatenate(values)) if values else np.empty(0)
        if not len(x):
            return cls([])
        step = max(1, int(SKETCH_ERROR * len(x)))
        return cls([(len(x), step, x[::step].copy())])

    def merge(self, other: Sketch) -> None:
        self.parts += other.parts
        self.n += other.n
        self._sorted = None

    def at(self, ranks) -> np.ndarray:
        """The values at these 0-based ranks (0 .. n - 1) of the sorted values, within the sketch's bound."""
        if self._sorted is None:
            values = np.concatenate([samples for _, _, samples in self.parts])
            weights = np.concatenate([np.minimum(step, n - step * np.arange(len(samples)))
                                      for n, step, samples in self.parts])
            order = np.argsort(values, kind="stable")
            # ranks up to covered[i] - 1 fall to the i-th smallest sample
            self._sorted = values[order], np.cumsum(weights[order])
        values, covered = self._sorted
        index = np.searchsorted(covered, np.asarray(ranks, dtype=np.int64), side="right")
        return values[np.minimum(index, len(values) - 1)]

    def to_json(self) -> list:
        return [[n, step, base64.b64encode(samples.astype("<f8").tobytes()).decode()]
                for n, step, samples in self.parts]

    @classmethod
    def from_json(cls, data: list) -> Sketch:
        return cls([(n, step, np.frombuffer(base64.b64decode(text), dtype="<f8")) for n, step, text in data])


class Summary:
    """One column's summary over some rows (see the module docstring); `merge` adds another's."""

    __slots__ = ("present", "nan", "n", "mean", "m2", "low", "high", "ilow", "ihigh", "counts", "held", "held_n",
                 "parts", "sketch")

    def __init__(self, sketched: bool = False):
        self.present = self.nan = self.n = 0
        self.mean = self.m2 = 0.0
        self.low = self.high = None  # of the values other than NaN, as doubles
        self.ilow = self.ihigh = None  # integers: exact
        self.counts: dict | None = {}  # value -> rows, NaN and null apart; None: more than the limit
        self.held: list[np.ndarray] | None = [] if sketched else None  # a task's values for its sketch
        self.held_n = 0  # values in `held`, not yet chunked into `parts`
        self.parts: list[tuple[int, int, np.ndarray]] = []  # the task's chunks, sorted and sampled (Sketch.parts)
        self.sketch: Sketch | None = None  # None: no sketch (not a number column, or a task could not make one)

    def add_numbers(self, x: np.ndarray) -> None:
        """Present values of a batch as float64, NaN included."""
        nan = np.isnan(x)
        k = int(nan.sum())
        if k:
            self.nan += k
            x = x[~nan]
        if not len(x):
            return
        if self.held is not None:
            self.held.append(x)
            self.held_n += len(x)
            if self.held_n >= SKETCH_CHUNK:
                self.chunk()
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

    def chunk(self) -> None:
        """The held values sorted and sampled into one more part; a column still counted exactly drops them instead
        (no sort): it keeps no sketch, which a column of few values does not need."""
        if self.counts is not None:
            self.held, self.parts = None, []
        elif self.held:
            self.parts += Sketch.of(self.held).parts
            self.held = []
        self.held_n = 0

    def drop_held(self) -> None:
        self.held, self.held_n, self.parts = None, 0, []

    def finish(self) -> None:
        """At the end of a task: its sketch when the column has many values here (or none at all)."""
        if self.held is not None and (self.counts is None or not self.n):
            self.sketch = Sketch(self.parts + Sketch.of(self.held).parts)
        self.drop_held()

    def merge(self, other: Summary, limit: int, first: bool = False) -> None:
        if first:
            self.sketch = other.sketch
        elif self.sketch is not None and other.sketch is not None:
            self.sketch.merge(other.sketch)
        else:
            self.sketch = None
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
        sketch = None if self.sketch is None else self.sketch.to_json()
        return [self.present, self.nan, self.n, self.mean, self.m2, self.low, self.high, self.ilow, self.ihigh, counts,
                sketch]

    @classmethod
    def from_json(cls, data: list) -> Summary:
        s = cls()
        s.present, s.nan, s.n, s.mean, s.m2, s.low, s.high, s.ilow, s.ihigh, counts, sketch = data
        s.counts = None if counts is None else dict(zip(counts[0], counts[1], strict=True))
        s.sketch = None if sketch is None else Sketch.from_json(sketch)
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


def summarise_batches(batches, *, columns: list[str], dtypes: list[str], limit: int, sketches: bool = True,
                      budget: int = SKETCH_TASK_VALUES):
    """mapInArrow body: the summaries of a task's rows as one JSON row (rows, then each column's summary). Past
    `budget` values held (not yet chunked) for sketches in all, no column of the task keeps one (approxQuantile reads
    them)."""
    import pyarrow as pa

    rows, summaries = 0, [Summary(sketches and dtype in SKETCHED) for dtype in dtypes]
    for batch in batches:
        rows += batch.num_rows
        for i, (summary, dtype) in enumerate(zip(summaries, dtypes, strict=True)):
            _add_batch_column(summary, batch.column(i), dtype, limit)
        if sum(s.held_n for s in summaries if s.held is not None) > budget:
            for summary in summaries:
                summary.drop_held()
    for summary in summaries:
        summary.finish()
    text = json.dumps([rows, [s.to_json() for s in summaries]], allow_nan=True)
    yield pa.RecordBatch.from_arrays([pa.array([text], type=pa.string())], names=["summary"])


DRIVER_BATCH_ROWS = 10_000  # Spark's Arrow batches (spark.sql.execution.arrow.maxRecordsPerBatch)
DRIVER_TASK_ROWS = 1_000_000  # rows of a held table one driver "task" summarises (as a Spark task would)


def _task_summaries(table, columns: list[str], kinds: list[str], limit: int) -> list[str]:
    """Each task's summary (JSON) of `columns` of `table`: one mapInArrow job, or, when the driver holds the table's
    rows in Arrow (operators.spark.tables.held_rows, a split done on the driver), the same body run on the driver
    over them, DRIVER_TASK_ROWS rows a task, with no Spark job (no transfer of the rows to a Python worker)."""
    import functools

    from .tables import col, held_rows

    held = held_rows(table)
    if held is not None:
        held = held.select(columns)
        return [row for start in range(0, max(held.num_rows, 1), DRIVER_TASK_ROWS)
                for batch in summarise_batches(held.slice(start, DRIVER_TASK_ROWS).to_batches(DRIVER_BATCH_ROWS),
                                               columns=columns, dtypes=kinds, limit=limit)
                for row in batch.column(0).to_pylist()]
    selected = table.select(*[col(c) for c in columns])
    sketches = selected.rdd.getNumPartitions() <= SKETCH_PARTITIONS
    body = functools.partial(summarise_batches, columns=list(columns), dtypes=kinds, limit=limit, sketches=sketches)
    return [row["summary"] for row in selected.mapInArrow(body, "summary string").collect()]


def column_summaries(table, columns: list[str], dtypes: dict[str, str], limit: int) -> tuple[int, list[Summary]]:
    """(rows, each column's merged Summary) of `table`, from one mapInArrow job over the columns (or its body on
    the driver, `_task_summaries`)."""
    if not columns:
        return table.count(), []
    rows, merged = 0, [Summary() for _ in columns]
    for i, text in enumerate(_task_summaries(table, list(columns), [dtypes[c] for c in columns], limit)):
        task_rows, parts = json.loads(text)
        rows += task_rows
        for summary, part in zip(merged, parts, strict=True):
            summary.merge(Summary.from_json(part), limit, first=i == 0)
    return rows, merged

"""The feature fit's one-pass column summary (operators.spark.column_summary) against what it replaced, Spark's own
aggregations and grouped count (operators.spark.features._aggregated_profiles), and the fitted state it leads to
against the local engine's: nulls, NaN, -0.0, one value, many values, an integer row identifier, empty partitions."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from operators.feature_state import FeatureConfig
from operators.library.features import fit_feature_state
from operators.spark.features import _aggregated_profiles, _column_profiles, fit_feature_state_spark

from .jobs import QuietContext as Ctx

N = 3000
EXACT_BELOW = 100  # a column of more distinct values than this is "many"


def _table(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    score = rng.normal(10.0, 3.0, N).round(3)  # many values
    score[rng.random(N) < 0.1] = np.nan  # missing (null in Spark)
    signed = rng.choice([-1.5, 0.0, 2.5], N)
    return pd.DataFrame({
        "id": np.arange(1, N + 1),  # a row identifier
        "score": score,
        "count": rng.integers(0, 12, N),
        "count_gaps": pd.array(np.where(rng.random(N) < 0.2, None, rng.integers(0, 5, N)), dtype="Int64"),
        "constant": np.full(N, 7.25),
        "signed": signed,
        "flag": pd.array(np.where(rng.random(N) < 0.1, None, rng.random(N) < 0.3), dtype="boolean"),
        "city": np.where(rng.random(N) < 0.05, None, rng.choice(["a", "b", "c", "d"], N)).astype(object),
        "code": [f"c{i}" for i in rng.integers(0, 500, N)],  # many strings
        "label": (rng.random(N) < 0.3).astype(np.int64),
    })


@pytest.fixture(scope="module")
def frames(spark):
    from pyspark.sql import functions as F

    table = _table()
    # real NaN (not null) in Spark, and -0.0 beside 0.0, in more partitions than rows in some: empty partitions
    df = (spark.createDataFrame(table).repartition(7)
          .withColumn("nan_some", F.when(F.col("count") == 3, F.lit(float("nan"))).otherwise(F.col("signed")))
          .withColumn("nan_all", F.lit(float("nan")))
          .withColumn("negzero", F.when(F.col("count") < 11, F.lit(-0.0)).otherwise(F.lit(0.0)))  # -0.0 first
          .withColumn("empty", F.lit(None).cast("double")))
    tiny = spark.createDataFrame(table.head(5)).repartition(4).cache()  # most partitions empty
    for frame in (df, tiny):
        frame.count()  # filled here: the jobs counted are the fit's
    yield table, df, tiny
    df.unpersist()
    tiny.unpersist()


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def _pairs(pairs) -> list:
    """Comparable pairs: (type, value as text, count), NaN as "nan"."""
    return sorted((type(v).__name__, "nan" if isinstance(v, float) and math.isnan(v) else repr(v), n) for v, n in pairs)


def _assert_as_spark_aggregates(profiles, counts, expected, expected_counts) -> None:
    """The summary's profiles and value counts are Spark's aggregations and grouped counts (`_aggregated_profiles`)."""
    for column, want in expected.items():
        got = profiles[column]
        for key in ("rows", "present", "imin", "imax"):
            assert got.get(key) == want.get(key), (column, key)
        for key in ("mean", "std", "min", "max"):
            assert _same(got.get(key), want.get(key)), (column, key, got.get(key), want.get(key))
        if want.get("exact_distinct"):
            assert got["distinct"] == want["distinct"] and got["exact_distinct"], column
            assert _pairs(counts[column]) == _pairs(expected_counts[column]), column
        else:  # many values: a lower bound above every decisive count, and no pairs
            assert got["distinct"] == EXACT_BELOW and not got.get("exact_distinct") and column not in counts


@pytest.mark.parametrize("which", ["df", "tiny"])
def test_the_summary_gives_sparks_aggregations_and_grouped_counts(spark, frames, which):
    _, df, tiny = frames
    df = df if which == "df" else tiny
    columns = [c for c in df.columns if c != "label"]
    dtypes = dict(df.dtypes)
    profiles, counts = _column_profiles(df, columns, dtypes, EXACT_BELOW, ("label",))
    expected, expected_counts = _aggregated_profiles(df, [*columns, "label"], dtypes, EXACT_BELOW)
    assert list(profiles) == [*columns, "label"]
    _assert_as_spark_aggregates(profiles, counts, expected, expected_counts)
    if which == "df":
        assert {c for c, p in profiles.items() if not p.get("exact_distinct")} == {"id", "score", "code"}
        assert counts["negzero"] == [(0.0, N)] and math.copysign(1, counts["negzero"][0][0]) == 1  # -0.0 is 0.0
        assert "nan" in [p[1] for p in _pairs(counts["nan_some"])]


@pytest.mark.parametrize("task_rows", [1000, 1_000_000])
def test_a_table_the_driver_holds_is_summarised_on_the_driver_as_spark_aggregates_it(spark, task_rows, monkeypatch):
    """A table the driver handed Spark from Arrow (operators.spark.split.split_on_driver): its summary runs on the
    driver over the Arrow rows, in tasks of DRIVER_TASK_ROWS rows, with no Spark job, and gives Spark's statistics."""
    import pyarrow as pa

    from operators.spark import column_summary
    from operators.spark.tables import held_on_driver

    from .jobs import jobs_of

    monkeypatch.setattr(column_summary, "DRIVER_TASK_ROWS", task_rows)
    rows = pa.Table.from_pandas(_table(), preserve_index=False)
    df = spark.createDataFrame(rows)
    held = held_on_driver(spark.createDataFrame(rows), rows)
    columns = [c for c in df.columns if c != "label"]
    dtypes = dict(df.dtypes)
    out = []
    assert jobs_of(spark, lambda: out.append(_column_profiles(held, columns, dtypes, EXACT_BELOW, ("label",)))) == 0
    profiles, counts = out[0]
    expected, expected_counts = _aggregated_profiles(df, [*columns, "label"], dtypes, EXACT_BELOW)
    _assert_as_spark_aggregates(profiles, counts, expected, expected_counts)
    assert {c for c, p in profiles.items() if not p.get("exact_distinct")} == {"id", "score", "code"}
    assert profiles["score"]["sketch"].n == expected["score"]["present"]


def test_a_column_of_few_values_per_task_and_many_in_all_is_not_counted(spark):
    from operators.spark.column_summary import column_summaries

    df = spark.range(0, 4000, 1, 8).selectExpr("cast(floor(id / 50) as bigint) as v")  # 10 values per task, 80 in all
    rows, (summary,) = column_summaries(df, ["v"], {"v": "bigint"}, 40)
    assert rows == 4000 and summary.counts is None
    rows, (summary,) = column_summaries(df, ["v"], {"v": "bigint"}, 80)
    assert summary.counts == {v: 50 for v in range(80)}


@pytest.mark.parametrize("mode", ["auto", "manual"])
def test_fitted_states_equal_the_local_engines(spark, frames, mode):
    table, _, _ = frames
    df = spark.createDataFrame(table).repartition(3)
    columns = {"score": ["standardize", "buckets", "missing_indicator"], "count": ["buckets", "standardize"],
               "count_gaps": ["standardize", "missing_indicator", "buckets"], "constant": ["standardize", "buckets"],
               "flag": ["onehot"], "city": ["onehot", "frequency"], "code": ["onehot"], "signed": ["clip"]}
    config = FeatureConfig(label="label", mode=mode, columns=columns if mode == "manual" else {},
                           exclude=["id"] if mode == "manual" else [])
    state = fit_feature_state_spark(Ctx(), df, config)[0]
    local = fit_feature_state(table, config)[0]
    assert state.meta["names"] == local.meta["names"]
    assert state.meta["excluded_identifiers"] == local.meta["excluded_identifiers"]
    if mode == "auto":
        assert [e["column"] for e in state.meta["excluded_identifiers"]] == ["id"]
    assert state.meta["label_classes"] == local.meta["label_classes"]
    for a, b in zip(local.meta["blocks"], state.meta["blocks"], strict=True):
        assert set(a) == set(b), a["op"]
        for key, value in a.items():
            if isinstance(value, float):
                assert b[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (a["op"], a.get("column"), key)
            else:
                assert b[key] == value, (a["op"], a.get("column"), key)
    assert sorted(state.arrays) == sorted(local.arrays)
    for name, values in local.arrays.items():
        if ".edges" in name and "score" in str(local.meta["blocks"][int(name[1:name.index(".")])].get("column")):
            continue  # score's many values: approxQuantile's edges (tests/spark/test_parity.py bounds them)
        np.testing.assert_allclose(state.arrays[name], values, rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("parts", [1, 2, 7])
def test_a_merged_sketch_reads_order_statistics_within_its_bound(parts):
    from operators.spark.column_summary import SKETCH_ERROR, Sketch

    rng = np.random.default_rng(parts)
    x = np.concatenate([rng.lognormal(10, 1, 150_000).round(1), rng.integers(0, 50, 50_000).astype(float)])
    chunks = np.array_split(rng.permutation(x), parts)
    sketch = Sketch.of([chunks[0][:1000], chunks[0][1000:]])  # a task's batches
    for chunk in chunks[1:]:
        sketch.merge(Sketch.from_json(Sketch.of([chunk]).to_json()))
    assert sketch.n == len(x)
    ranks = np.unique(np.linspace(0, len(x) - 1, 400).astype(np.int64))
    got = sketch.at(ranks)
    s = np.sort(x)
    lo, hi = np.searchsorted(s, got, "left"), np.searchsorted(s, got, "right") - 1  # ranks of the value read
    gap = np.maximum(0, np.maximum(lo - ranks, ranks - hi))
    assert gap.max() <= SKETCH_ERROR * len(x)
    assert sketch.at([0])[0] == s[0]


def test_a_task_past_its_sketch_budget_keeps_no_sketch_and_the_same_statistics():
    """A wide table's task stops holding values for sketches past its budget (its columns' quantiles then come
    from approxQuantile); the other statistics do not change."""
    import json

    import pyarrow as pa

    from operators.spark.column_summary import Summary, summarise_batches

    rng = np.random.default_rng(3)
    batches = [pa.RecordBatch.from_arrays([pa.array(rng.normal(size=1000)), pa.array(rng.normal(size=1000))],
                                          names=["a", "b"]) for _ in range(3)]

    def summaries(budget):
        (out,) = summarise_batches(iter(batches), columns=["a", "b"], dtypes=["double", "double"], limit=10,
                                   budget=budget)
        rows, parts = json.loads(out.column(0)[0].as_py())
        return rows, [Summary.from_json(part) for part in parts]

    rows, roomy = summaries(6000)
    assert rows == 3000 and all(s.sketch is not None and s.sketch.n == 3000 for s in roomy)
    _, tight = summaries(5999)  # 2 columns x 3,000 values held by the last batch: one over
    assert all(s.sketch is None for s in tight)
    for a, b in zip(roomy, tight, strict=True):
        assert (a.present, a.n, a.mean, a.m2, a.low, a.high) == (b.present, b.n, b.mean, b.m2, b.low, b.high)


def test_a_task_of_many_rows_keeps_its_sketches_in_chunks_within_the_bound():
    """A task's values are sorted and sampled a chunk (SKETCH_CHUNK) at a time, so a task of more values than its
    budget keeps its sketches (at 10M rows on local[2] a task held 4M rows x 8 number columns, past the budget, and
    approxQuantile's pass cost the feature node 46 s); each order statistic stays within SKETCH_ERROR * n ranks. A
    column counted exactly (few values) drops its held values at its first chunk and keeps no sketch."""
    import json

    import pyarrow as pa

    from operators.spark.column_summary import SKETCH_CHUNK, SKETCH_ERROR, Summary, summarise_batches

    rng = np.random.default_rng(11)
    rows, batch = 3 * SKETCH_CHUNK, 10_000
    a, b = rng.lognormal(3, 1, rows), rng.normal(size=rows)
    few = rng.integers(0, 5, rows).astype(float)
    batches = [pa.RecordBatch.from_arrays([pa.array(a[i:i + batch]), pa.array(b[i:i + batch]),
                                           pa.array(few[i:i + batch])], names=["a", "b", "few"])
               for i in range(0, rows, batch)]
    (out,) = summarise_batches(iter(batches), columns=["a", "b", "few"], dtypes=["double"] * 3, limit=10,
                               budget=3 * SKETCH_CHUNK)  # 3 columns x 3M values in all, under 3M held at once
    task_rows, parts = json.loads(out.column(0)[0].as_py())
    summaries = [Summary.from_json(part) for part in parts]
    assert task_rows == rows
    for x, summary in zip((a, b), summaries[:2], strict=True):
        sketch = summary.sketch
        assert sketch is not None and sketch.n == rows and len(sketch.parts) == 3
        ranks = np.unique(np.linspace(0, rows - 1, 300).astype(np.int64))
        s = np.sort(x)
        got = sketch.at(ranks)
        lo, hi = np.searchsorted(s, got, "left"), np.searchsorted(s, got, "right") - 1
        assert np.maximum(0, np.maximum(lo - ranks, ranks - hi)).max() <= SKETCH_ERROR * rows
        assert summary.n == rows and summary.low == s[0] and summary.high == s[-1]
    assert summaries[2].sketch is None and sum(summaries[2].counts.values()) == rows


def test_without_sketches_the_quantiles_come_from_approxquantile_within_its_bound(spark, frames, monkeypatch):
    """A table of more partitions than SKETCH_PARTITIONS gets no sketch: its many-valued column's bucket edges then
    come from approxQuantile, each within ceil(n * 1e-4 + 0.5) ranks of the local fit's; with sketches (this table's
    tasks keep every value) they are the local fit's own."""
    from operators.spark import column_summary
    from operators.spark.features import QUANTILE_RELATIVE_ERROR

    table, _, _ = frames
    df = spark.createDataFrame(table).repartition(3)
    config = FeatureConfig(label="label", mode="manual", columns={"score": ["buckets"]})
    local = fit_feature_state(table, config)[0]
    names = [n for n in local.arrays if ".edges" in n]  # one array of edges per granularity
    assert len(names) == 3
    sketched = fit_feature_state_spark(Ctx(), df, config)[0]
    for name in names:
        np.testing.assert_array_equal(sketched.arrays[name], local.arrays[name], err_msg=name)
    monkeypatch.setattr(column_summary, "SKETCH_PARTITIONS", 0)
    approximated = fit_feature_state_spark(Ctx(), df, config)[0]
    x = np.sort(table["score"].dropna().to_numpy())
    bound = np.ceil(len(x) * QUANTILE_RELATIVE_ERROR + 0.5)
    for name in names:
        edges, other = local.arrays[name], approximated.arrays[name]
        lo_a, hi_a = np.searchsorted(x, edges, "left"), np.searchsorted(x, edges, "right")
        lo_b, hi_b = np.searchsorted(x, other, "left"), np.searchsorted(x, other, "right")
        assert np.maximum(0, np.maximum(lo_a - hi_b, lo_b - hi_a)).max() <= bound, name

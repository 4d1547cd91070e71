"""split_random on Spark flags each row by its position in the table: up to BITMAP_ROWS rows with a Spark expression
looking the flag up in a bitmap drawn on the driver (no Python worker), above with an Arrow UDF over the row ids
(operators.spark.split.random_flag; only the row ids travel to Python). Either way the same rows as the local
engine's split for a seed, on a table of many partitions, at the same Spark job count."""
from __future__ import annotations

import numpy as np
import pytest

import pipelines
from operators.library.split import SplitRandom
from operators.spark import split as spark_split
from operators.spark.split import flag_bitmap, random_flag, split_random
from pipelines.engines import jobs_per_node, last_job_id


@pytest.fixture()
def many_partitions(spark, tmp_path):
    """A 30,000-row Parquet file of many row groups, read in several partitions."""
    from operators.library.sample_data import credit_default_table

    table = credit_default_table(n_rows=30_000, seed=4)
    table.to_parquet(tmp_path / "t.parquet", index=False, row_group_size=4_000)
    saved = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "100k")
    try:
        df = spark.read.parquet(str(tmp_path / "t.parquet"))
        assert df.rdd.getNumPartitions() >= 3
        yield table, df
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", saved)


@pytest.fixture(params=["bitmap", "udf"])
def flag_path(request, monkeypatch):
    """Both ways of drawing the flag: the bitmap (the default at these sizes) and the Arrow UDF (BITMAP_ROWS 0)."""
    if request.param == "udf":
        monkeypatch.setattr(spark_split, "BITMAP_ROWS", 0)
    return request.param


def python_in(frame) -> list[str]:
    """The lines of `frame`'s optimised plan that run Python."""
    plan = frame._jdf.queryExecution().optimizedPlan().toString()
    return [line for line in plan.splitlines() if "ArrowEvalPython" in line or "MapInArrow" in line
            or "BatchEvalPython" in line]


@pytest.mark.parametrize("seed", [1, 77])
def test_the_split_sends_the_local_engines_rows_to_each_side_across_partitions(many_partitions, seed, flag_path):
    table, df = many_partitions
    params = SplitRandom.Params(ratio=0.6, seed=seed)
    sides = split_random(None, {"table": df}, params)
    first = np.asarray([r[0] for r in sides["first"].select("customer_id").collect()])
    second = np.asarray([r[0] for r in sides["second"].select("customer_id").collect()])
    local = SplitRandom().run(None, {"table": table}, params)
    assert sorted(first) == sorted(local["first"]["customer_id"])
    assert sorted(second) == sorted(local["second"]["customer_id"])
    # and again: the same rows (the draw is seeded, not taken from the time or the task)
    again = split_random(None, {"table": df}, params)["first"].select("customer_id").collect()
    assert sorted(r[0] for r in again) == sorted(first)


def test_random_flag_draws_by_position_whatever_the_batches(many_partitions):
    """Rows given in any order and in pieces get the flag of their position in the table."""
    offsets = np.array([0, 1_000, 5_000])
    positions = np.concatenate([np.arange(1_000), np.arange(4_000) + 1_000, np.arange(2_000) + 5_000])
    whole = np.random.default_rng(9).random(len(positions)) < 0.3
    ids = np.concatenate([np.arange(1_000), (1 << 33) + np.arange(4_000), (2 << 33) + np.arange(2_000)])
    order = np.random.default_rng(0).permutation(len(ids))
    assert np.array_equal(random_flag(ids[order], offsets=offsets, seed=9, ratio=0.3), whole[order])
    assert np.array_equal(random_flag(ids, offsets=offsets, seed=9, ratio=0.3), whole[positions])


def test_the_bitmap_holds_the_local_draw_seven_flags_a_byte():
    rows = 10_000_003  # more than one DRAW_CHUNK, and not a multiple of 7
    whole = np.random.default_rng(12).random(rows) < 0.35
    bitmap = np.frombuffer(flag_bitmap(rows, seed=12, ratio=0.35), dtype=np.uint8)
    assert bitmap.max() < 128 and len(bitmap) == -(-rows // 7)
    bits = (bitmap[:, None] >> np.arange(7)) & 1
    assert np.array_equal(bits.reshape(-1)[:rows].astype(bool), whole)
    assert not bits.reshape(-1)[rows:].any()


def test_no_python_runs_for_the_bitmap_flag(many_partitions):
    _, df = many_partitions
    sides = split_random(None, {"table": df}, SplitRandom.Params(ratio=0.5, seed=3))
    for side in sides.values():
        assert python_in(side) == [], side._jdf.queryExecution().optimizedPlan().toString()


def test_above_the_bitmap_bound_only_the_row_ids_travel_to_python(many_partitions, monkeypatch):
    _, df = many_partitions
    monkeypatch.setattr(spark_split, "BITMAP_ROWS", 29_999)  # one row fewer than the table
    sides = split_random(None, {"table": df}, SplitRandom.Params(ratio=0.5, seed=3))
    for side in sides.values():
        python = python_in(side)
        assert len(python) == 1 and "ArrowEvalPython" in python[0] and "flag(" in python[0], python
        # one input attribute (the row id column), the call's result, one output
        assert "flag(__studio_row_id#" in python[0] and python[0].count("#") == 3, python


def split_graph(path: str = "data/credit.parquet", seed: int = 5) -> dict:
    return {"format": "studio.pipeline/1", "name": "split", "nodes": [
        {"id": "import", "operator": "import_parquet", "params": {"path": path}},
        {"id": "split", "operator": "split_random", "params": {"ratio": 0.7, "seed": seed}}],
        "edges": [{"source": "import", "source_port": "table", "target": "split", "target_port": "table"}]}


def test_a_split_node_of_a_file_imported_whole_runs_one_offsets_job_and_caches_nothing(spark, credit_root,
                                                                                         tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_SPLIT_CELLS", "0")  # no split on the driver: Spark's own
    graph = split_graph()
    before = last_job_id(spark)
    result = pipelines.run(graph, store=pipelines.FileSystemStore(tmp_path / "store"), data_root=credit_root,
                           engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    # the partition offsets of the imported file (one task, no shuffle), and nothing else: the sides are filters of
    # the file, read again by each reader (main before: a second job filling a cache of the whole flagged table)
    assert jobs_per_node(spark, before)["split"]["jobs"] == 1
    local = pipelines.run(graph, store=pipelines.FileSystemStore(tmp_path / "local"), data_root=credit_root)
    for side in ("first", "second"):
        assert sorted(result.output("split", side)["customer_id"]) == sorted(local.output("split", side)["customer_id"])


def assert_same_rows(side, local_side):
    """`side` (Spark) holds `local_side`'s rows, read whole and read a column at a time: each read flags each row
    as any other (a filter read again must not draw other rows when a reader prunes columns)."""
    whole = side.toPandas().sort_values("customer_id", ignore_index=True)
    expected = local_side.sort_values("customer_id", ignore_index=True)
    assert list(whole["customer_id"]) == list(expected["customer_id"])
    assert list(whole["income"].fillna(-1)) == list(expected["income"].fillna(-1))
    assert list(whole["region"]) == list(expected["region"])
    for column in ("customer_id", "income"):
        assert sorted(side.select(column).toPandas()[column].fillna(-1)) == sorted(expected[column].fillna(-1))
    assert side.count() == len(expected)


def test_a_file_imported_whole_is_split_by_two_filters_read_again_not_cached(spark, many_partitions, tmp_path,
                                                                             monkeypatch):
    """Above the driver's bound a file imported whole is split by two filters of it, each flagging a row by its
    position (the bitmap): nothing is cached, no shuffle, the local engine's rows on each side."""
    from operators import PortType
    from pipelines.engines import SparkEngine

    from .jobs import jobs_of

    table, _ = many_partitions
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_SPLIT_CELLS", "0")
    imported = imported_whole(tmp_path / "t.parquet")
    assert imported.rdd.getNumPartitions() >= 3
    params = SplitRandom.Params(ratio=0.6, seed=5)
    sides = split_random(None, {"table": imported}, params)
    engine = SparkEngine()
    assert jobs_of(spark, lambda: [engine.handoff(PortType.TABLE, side) for side in sides.values()]) == 0
    local = SplitRandom().run(None, {"table": table}, params)
    for name, side in sides.items():
        assert not side.is_cached and getattr(side, "_studio_shared_cache", None) is None
        plan = side._jdf.queryExecution().executedPlan().toString()
        assert "InMemoryRelation" not in plan and "Exchange" not in plan, plan
        assert_same_rows(side, local[name])


def test_a_cached_table_is_split_by_two_filters_of_its_cache(spark, many_partitions):
    """A node's cached output is split by two filters of that cache: no second cache of the flagged rows."""
    from operators import PortType
    from pipelines.engines import SparkEngine

    from .jobs import jobs_of

    table, df = many_partitions
    engine = SparkEngine()
    cached = []
    assert jobs_of(spark, lambda: cached.append(engine.handoff(PortType.TABLE, df))) == 1  # as a node's output
    cached = cached[0]
    params = SplitRandom.Params(ratio=0.6, seed=2)
    sides = split_random(None, {"table": cached}, params)
    assert jobs_of(spark, lambda: [engine.handoff(PortType.TABLE, side) for side in sides.values()]) == 0
    local = SplitRandom().run(None, {"table": table}, params)
    for name, side in sides.items():
        assert not side.is_cached
        plan = side.select("customer_id")._jdf.queryExecution().executedPlan().toString()
        above_cache = plan.split("InMemoryRelation")[0]  # what runs on reading the side: the flag over the cache
        assert "InMemoryTableScan" in above_cache and "monotonically_increasing_id" in above_cache, plan
        assert_same_rows(side, local[name])
    engine.release(cached)


def test_both_sides_of_another_lineage_read_one_cache_and_the_run_releases_it(spark, many_partitions):
    """A table neither cached nor a file read whole (its lineage may cost more than a cache): the flagged rows are
    cached once for both sides."""
    from operators import PortType
    from pipelines.engines import SparkEngine

    from .jobs import jobs_of

    _, df = many_partitions
    engine = SparkEngine()
    sides = split_random(None, {"table": df}, SplitRandom.Params(ratio=0.6, seed=2))
    assert jobs_of(spark, lambda: [engine.handoff(PortType.TABLE, side) for side in sides.values()]) == 1
    for side in sides.values():
        plan = side.select("customer_id")._jdf.queryExecution().executedPlan().toString()
        above_cache = plan.split("InMemoryRelation")[0]  # what runs on reading the side; below: the cache's lineage
        assert "InMemoryTableScan" in above_cache and "monotonically_increasing_id" not in above_cache, plan  # read
    assert sides["first"].count() + sides["second"].count() == df.count()
    shared = sides["first"]._studio_shared_cache
    assert shared is sides["second"]._studio_shared_cache and shared.is_cached
    for side in sides.values():
        engine.release(side)
    assert not shared.is_cached


def test_spark_hash_long_is_sparks_hash_of_a_bigint(spark):
    from pyspark.sql import functions as F

    values = [0, 1, 2, 7, -1, 123_456_789_012, -(1 << 40)]
    spark_hashes = [r[0] for r in spark.createDataFrame([(v,) for v in values], "v bigint")
                    .select(F.hash("v")).collect()]
    assert [spark_split.spark_hash_long(v) for v in values] == spark_hashes


@pytest.fixture()
def one_row_group(spark, tmp_path, monkeypatch):
    """A 30,000-row Parquet file of one row group (pandas' default up to ~1M rows): Spark reads it as one partition.
    The spreading threshold lowered to 10,000 rows, so this small table is spread as a big one would be."""
    from operators.library.sample_data import credit_default_table

    table = credit_default_table(n_rows=30_000, seed=6)
    table.to_parquet(tmp_path / "one.parquet", index=False)
    table.attrs["path"] = tmp_path / "one.parquet"
    df = spark.read.parquet(str(tmp_path / "one.parquet"))
    assert df.rdd.getNumPartitions() == 1
    monkeypatch.setenv("STUDIO_SPARK_SPREAD_ROWS", "10000")
    return table, df


def test_a_one_row_group_table_is_split_in_order_over_the_cores_as_the_local_engine(spark, one_row_group, flag_path):
    table, df = one_row_group
    params = SplitRandom.Params(ratio=0.7, seed=8)
    sides = split_random(None, {"table": df}, params)
    local = SplitRandom().run(None, {"table": table}, params)
    for side in ("first", "second"):
        assert sides[side].rdd.getNumPartitions() == spark.sparkContext.defaultParallelism >= 2
        per_partition = sides[side].select("customer_id").rdd.glom().map(len).collect()
        assert all(per_partition), per_partition  # every core has rows to work on
        # the same rows, in the local engine's order, not only the same set
        assert [r[0] for r in sides[side].select("customer_id").collect()] == list(local[side]["customer_id"])
        assert "__studio_row_id" not in sides[side].columns


def test_a_one_row_group_file_read_in_byte_ranges_is_spread_too(spark, one_row_group):
    """A big file of one row group is read in several partitions (byte ranges), all but one of them empty."""
    table, _ = one_row_group
    saved = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "100k")
    try:
        df = spark.read.parquet(str(table.attrs["path"]))
        assert df.rdd.getNumPartitions() >= 2
        assert sorted(df.rdd.glom().map(len).collect())[-2] == 0  # only one partition holds rows
        params = SplitRandom.Params(ratio=0.7, seed=8)
        first = split_random(None, {"table": df}, params)["first"]
        assert all(first.select("customer_id").rdd.glom().map(len).collect())
        local = SplitRandom().run(None, {"table": table}, params)["first"]
        assert [r[0] for r in first.select("customer_id").collect()] == list(local["customer_id"])
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", saved)


def test_below_the_row_threshold_a_one_partition_table_stays_one_partition(spark, one_row_group, monkeypatch):
    _, df = one_row_group
    monkeypatch.setenv("STUDIO_SPARK_SPREAD_ROWS", "30001")
    sides = split_random(None, {"table": df}, SplitRandom.Params(ratio=0.7, seed=8))
    assert sides["first"].rdd.getNumPartitions() == 1


def test_a_small_parquet_file_imported_whole_is_split_on_the_driver_with_no_job_in_the_local_order(
        spark, one_row_group, tmp_path):
    """The driver reads the file, draws the local flags and hands Spark each side (split_on_driver): no Spark job in
    the split node, no cache, a partition per core, the local engine's rows in its order, times as the import's."""
    from operators import PortType
    from pipelines.engines import SparkEngine

    table, _ = one_row_group
    graph = split_graph(table.attrs["path"].name, seed=8)
    before = last_job_id(spark)
    result = pipelines.run(graph, store=pipelines.FileSystemStore(tmp_path / "store"),
                           data_root=table.attrs["path"].parent, engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    assert jobs_per_node(spark, before).get("split", {}).get("jobs", 0) == 0
    local = SplitRandom().run(None, {"table": table}, SplitRandom.Params(ratio=0.7, seed=8))
    for side in ("first", "second"):
        stored = result.output("split", side)
        assert list(stored["customer_id"]) == list(local[side]["customer_id"])
        assert list(stored["application_date"].dt.tz_localize(None)) == list(local[side]["application_date"])
    imported = imported_whole(table.attrs["path"])
    sides = split_random(None, {"table": imported}, SplitRandom.Params(ratio=0.7, seed=8))
    engine = SparkEngine()
    for side in sides.values():
        assert side.rdd.getNumPartitions() == spark.sparkContext.defaultParallelism
        engine.handoff(PortType.TABLE, side)
        assert not side.is_cached  # its rows are in memory already
    assert sides["first"].union(sides["second"]).exceptAll(imported).count() == 0
    assert sides["first"].count() + sides["second"].count() == imported.count()


def imported_whole(path):
    """The Spark import node's table of the Parquet file at `path`, read whole (operators.spark.io.import_parquet)."""
    from operators.library.io_files import ImportParquet
    from operators.spark.io import import_parquet
    from pipelines.engines import spark_session

    class Ctx:
        spark = spark_session()

        @staticmethod
        def resolve_path(name):
            return path.parent / name

    return import_parquet(Ctx(), {}, ImportParquet.Params(path=path.name))["table"]


def test_the_driver_split_reads_times_as_the_spark_import_does(spark, tmp_path):
    """Nanosecond times (pandas' own) with a sub-microsecond part, before 1970 too, and missing ones: the driver's
    Arrow read truncates them to microseconds as the import's `div 1000` does."""
    import pandas as pd

    times = pd.to_datetime(["1969-12-31 23:59:59.999999999", "2024-01-05 10:00:00.000000500", None,
                            "1900-06-01 00:00:00.000001001"] * 5)
    pd.DataFrame({"id": range(20), "t": times, "x": [1.5, None, 2.0, -3.0] * 5}).to_parquet(tmp_path / "t.parquet")
    imported = imported_whole(tmp_path / "t.parquet")
    sides = split_random(None, {"table": imported}, SplitRandom.Params(ratio=0.5, seed=3))
    assert all(getattr(side, "_studio_held", False) for side in sides.values())  # the driver's split ran
    both = sides["first"].union(sides["second"]).orderBy("id").collect()
    assert both == imported.orderBy("id").collect()


def test_a_file_of_more_cells_than_the_bound_is_split_by_spark(spark, one_row_group, monkeypatch):
    """The driver holds a split file's rows twice (its Python and its JVM) while the run lasts: only up to
    STUDIO_SPARK_DRIVER_SPLIT_CELLS rows x columns."""
    table, _ = one_row_group
    imported = imported_whole(table.attrs["path"])
    params = SplitRandom.Params(ratio=0.7, seed=8)
    cells = len(table) * len(table.columns)
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_SPLIT_CELLS", str(cells - 1))
    assert not hasattr(split_random(None, {"table": imported}, params)["first"], "_studio_held")
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_SPLIT_CELLS", str(cells))
    assert hasattr(split_random(None, {"table": imported}, params)["first"], "_studio_held")

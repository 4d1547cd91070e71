"""split_random on Spark draws its flag with an Arrow UDF over the row ids (operators.spark.split.random_flag):
the same rows as the local engine's split for a seed, on a table of many partitions, and only the row ids travel
to Python (the rows stay in the JVM), at the same Spark job count."""
from __future__ import annotations

import numpy as np
import pytest

import pipelines
from operators.library.split import SplitRandom
from operators.spark.split import random_flag, split_random
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


@pytest.mark.parametrize("seed", [1, 77])
def test_the_split_sends_the_local_engines_rows_to_each_side_across_partitions(many_partitions, seed):
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


def test_only_the_row_ids_travel_to_python(many_partitions):
    _, df = many_partitions
    sides = split_random(None, {"table": df}, SplitRandom.Params(ratio=0.5, seed=3))
    for side in sides.values():
        plan = side._jdf.queryExecution().optimizedPlan().toString()
        assert "MapInArrow" not in plan, plan
        python = [line for line in plan.splitlines() if "ArrowEvalPython" in line]
        assert len(python) == 1 and "flag(" in python[0], plan
        assert python[0].count("#") == 2, python  # one input attribute (the row id), one output


def test_a_split_node_runs_its_offsets_job_and_one_caching_job_per_side(spark, credit_root, tmp_path):
    graph = {"format": "studio.pipeline/1", "name": "split", "nodes": [
        {"id": "import", "operator": "import_parquet", "params": {"path": "data/credit.parquet"}},
        {"id": "split", "operator": "split_random", "params": {"ratio": 0.7, "seed": 5}}],
        "edges": [{"source": "import", "source_port": "table", "target": "split", "target_port": "table"}]}
    before = last_job_id(spark)
    result = pipelines.run(graph, store=pipelines.FileSystemStore(tmp_path / "store"), data_root=credit_root,
                           engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    # the partition offsets (an adaptive aggregation: its map stage and its result), and per side the one job
    # filling its cache (SparkEngine.handoff)
    assert jobs_per_node(spark, before)["split"]["jobs"] == 4

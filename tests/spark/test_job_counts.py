"""What a Spark node output's caching costs in Spark jobs (issue 19 item 4), counted from Spark's status store
(pipelines.engines.jobs_per_node), not timed: one job fills the cache."""
from __future__ import annotations

from operators import PortType
from pipelines.engines import SparkEngine

from .jobs import jobs_of


def test_handoff_fills_a_node_outputs_cache_with_one_job(spark, credit_root):
    from pyspark.sql import functions as F

    engine = SparkEngine()
    read = spark.read.parquet(str(credit_root / "data" / "credit.parquet"))
    computed = read.filter(F.col("age") > 30)
    computed._jdf.queryExecution().optimizedPlan()  # its own plan fixed before the persist, as an action would
    assert jobs_of(spark, lambda: engine.handoff(PortType.TABLE, computed)) == 1  # the job filling the cache
    assert computed.is_cached
    filled = spark.sparkContext._jsc.sc().getRDDStorageInfo()
    assert any(info.numCachedPartitions() > 0 for info in filled)  # filled, not only marked
    assert "InMemoryTableScan" in computed.select("age")._jdf.queryExecution().executedPlan().toString()
    assert computed.count() == read.filter(F.col("age") > 30).count()
    engine.release(computed)
    assert not computed.is_cached

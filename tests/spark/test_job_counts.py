"""What each node of a Spark run costs in Spark jobs (issue 19 item 4), counted from Spark's status store
(pipelines.engines.jobs_per_node), not timed: an import of Parquet is handed on without a caching job."""
from __future__ import annotations

import pipelines
from operators import PortType
from pipelines.engines import SparkEngine, jobs_per_node, last_job_id, reads_parquet_only

from .graphs import credit_pipeline
from .jobs import jobs_of


def test_only_plain_parquet_reads_count_as_reading_parquet_only(spark, credit_root):
    from pyspark.sql import functions as F

    df = spark.read.parquet(str(credit_root / "data" / "credit.parquet"))
    assert reads_parquet_only(df)
    assert reads_parquet_only(df.select("age", (F.col("income") * 2).alias("twice")))  # projections
    assert not reads_parquet_only(df.filter(F.col("age") > 30))
    assert not reads_parquet_only(df.limit(10))
    assert not reads_parquet_only(df.withColumn("r", F.rand(1)))  # a second read would draw other numbers
    assert not reads_parquet_only(df.groupBy("region").count())
    assert not reads_parquet_only(df.mapInArrow(lambda batches: batches, df.schema))
    assert not reads_parquet_only(spark.read.csv(str(credit_root / "data" / "credit.csv"), header=True))


def test_handoff_caches_computed_frames_but_not_parquet_reads(spark, credit_root):
    from pyspark.sql import functions as F

    engine = SparkEngine()
    read = spark.read.parquet(str(credit_root / "data" / "credit.parquet"))
    assert jobs_of(spark, lambda: engine.handoff(PortType.TABLE, read)) == 0
    assert not read.is_cached
    computed = read.filter(F.col("age") > 30)
    assert jobs_of(spark, lambda: engine.handoff(PortType.TABLE, computed)) == 1  # the job filling the cache
    assert computed.is_cached
    # looking at its plan before caching it did not fix the frame's own plan: its own actions read the cache
    assert "InMemoryTableScan" in computed._jdf.queryExecution().executedPlan().toString()
    assert jobs_of(spark, computed.count) >= 1 and spark.sparkContext._jsc.getPersistentRDDs().size() == 1
    assert computed.count() == read.filter(F.col("age") > 30).count()
    engine.release(computed)
    assert not computed.is_cached


def test_a_parquet_import_node_runs_no_spark_job(spark, credit_root, tmp_path):
    before = last_job_id(spark)
    result = pipelines.run(credit_pipeline(trees=5), store=pipelines.FileSystemStore(tmp_path / "store"),
                           data_root=credit_root, engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    jobs = jobs_per_node(spark, before)
    # the import runs what reading the file's schema runs, and no caching job
    schema_jobs = jobs_of(spark, lambda: spark.read.parquet(str(credit_root / "data" / "credit.parquet")))
    assert jobs.get("import", {}).get("jobs", 0) == schema_jobs <= 1, jobs
    assert jobs["split"]["jobs"] >= 1 and jobs["features"]["jobs"] >= 1, jobs
    # and the import's table is stored whole, from the file
    stored = pipelines.FileSystemStore(tmp_path / "store").meta(result.nodes["import"].outputs["table"])
    assert stored["rows"] == 8_000

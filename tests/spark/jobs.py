"""Counting the Spark jobs a block of work runs (pipelines.engines.jobs_per_node), for tests that count jobs
rather than time them."""
from __future__ import annotations

from pipelines.engines import SparkEngine, jobs_per_node, last_job_id


class _Ctx:
    node_id, cancelled = "probe", False

    def __init__(self, spark):
        self.spark = spark

    def spark_progress(self, *args):
        pass


def jobs_of(spark, block) -> int:
    """The Spark jobs `block()` runs, under a job group of its own (a node's SparkJobScope)."""
    before = last_job_id(spark)
    with SparkEngine().node_scope(_Ctx(spark)):
        block()
    return jobs_per_node(spark, before).get("probe", {}).get("jobs", 0)

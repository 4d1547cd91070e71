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


class QuietContext:
    """An operator context for calling a Spark half directly: progress and log lines go nowhere."""

    def progress(self, *args):
        pass

    def log(self, message):
        pass


def jobs_of(spark, block) -> int:
    """The Spark jobs `block()` runs, under a job group of its own (a node's SparkJobScope)."""
    before = last_job_id(spark)
    with SparkEngine().node_scope(_Ctx(spark)):
        block()
    return jobs_per_node(spark, before).get("probe", {}).get("jobs", 0)


def stages_of(spark, node: str, after_job: int) -> list[dict]:
    """The completed stages of the Spark jobs node `node` ran (its job group, SparkJobScope) with an id above
    `after_job`: each stage's task count and shuffle bytes written, from Spark's status store."""
    prefix = f"studio-{node}-"
    store = spark.sparkContext._jsc.sc().statusStore()
    jobs = store.jobsList(None)
    stage_ids = set()
    for i in range(jobs.size()):
        job = jobs.apply(i)
        group = job.jobGroup()
        if job.jobId() > after_job and group.isDefined() and group.get().startswith(prefix):
            ids = job.stageIds()
            stage_ids.update(ids.apply(k) for k in range(ids.size()))
    stages = []
    for stage_id in sorted(stage_ids):
        try:
            stage = store.lastStageAttempt(stage_id)
        except Exception:  # noqa: BLE001 - a skipped stage (its shuffle output reused) has no attempt
            continue
        if stage.status().toString() == "COMPLETE":
            stages.append({"tasks": stage.numTasks(), "shuffle_write": stage.shuffleWriteBytes()})
    return stages

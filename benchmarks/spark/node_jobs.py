"""Where a Spark node's time goes: the benchmark's pipeline (benchmarks/spark/engines_local_vs_spark.py) in a warmed
session, then every Spark job of the chosen nodes with its call site, wall seconds, tasks, and its stages' summed
executor run and CPU seconds, and the node's time outside its jobs (driver work). One process, local[2] unless
STUDIO_SPARK_MASTER says otherwise.

    STUDIO_SPARK_MASTER='local[2]' .venv/bin/python benchmarks/spark/node_jobs.py --rows 1000000 --nodes features
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _stage(store, stage_id: int) -> tuple[float, float, str]:
    """A stage's (executor run seconds, executor CPU seconds, "name: first Python/Scala frame of its details"), of
    its last attempt. The details name what ran the job when the job's call site is a JVM thread (a broadcast, a
    subquery: `CompletableFuture...`)."""
    try:
        s = store.lastStageAttempt(stage_id)
    except Exception:  # skipped (its shuffle output reused) or gone
        return 0.0, 0.0, f"stage {stage_id} skipped"
    details = [line.strip() for line in str(s.details()).splitlines() if line.strip()]
    where = next((d for d in details if "/work/" in d or ".py:" in d), details[0] if details else "")
    return s.executorRunTime() / 1e3, s.executorCpuTime() / 1e9, f"stage {stage_id} {s.name()} [{where}]"


def node_jobs(spark, after_job: int) -> dict[str, list[dict]]:
    """Per node, its jobs after `after_job` in the order they ran: call site, seconds, tasks, executor seconds."""
    store = spark.sparkContext._jsc.sc().statusStore()
    jobs = store.jobsList(None)
    out: dict[str, list[dict]] = {}
    for i in range(jobs.size()):
        job = jobs.apply(i)
        group = job.jobGroup()
        if job.jobId() <= after_job or not group.isDefined() or not group.get().startswith("studio-"):
            continue
        seconds = 0.0
        if job.submissionTime().isDefined() and job.completionTime().isDefined():
            seconds = (job.completionTime().get().getTime() - job.submissionTime().get().getTime()) / 1e3
        ids = [job.stageIds().apply(k) for k in range(job.stageIds().size())]
        times = [_stage(store, s) for s in ids]
        run, cpu = sum(t[0] for t in times), sum(t[1] for t in times)
        description = job.description()
        out.setdefault(group.get()[len("studio-"):-9], []).append(
            {"id": job.jobId(), "name": job.name(), "seconds": seconds, "tasks": job.numTasks(),
             "run": run, "cpu": cpu, "stages": [t[2] for t in times],
             "description": description.get() if description.isDefined() else "",
             "start": job.submissionTime().get().getTime() / 1e3
             if job.submissionTime().isDefined() else 0.0})
    for entries in out.values():
        entries.sort(key=lambda e: e["id"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--nodes", nargs="+", default=["features"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("STUDIO_SPARK_MASTER", "local[2]")
    import pipelines
    from benchmarks.spark.engines_local_vs_spark import pipeline
    from operators.library.sample_data import credit_default_table
    from pipelines.engines import last_job_id, spark_session
    from pipelines.warmup import warm_up

    root = Path(tempfile.mkdtemp(prefix="bench-data-"))
    credit_default_table(n_rows=args.rows, seed=3).to_parquet(root / "credit.parquet", index=False)
    spark = spark_session()
    print(f"warm-up {warm_up()['seconds']:.1f} s", flush=True)
    for round_ in range(args.repeat):
        first = last_job_id(spark)
        started = time.perf_counter()
        result = pipelines.run(pipeline(), store_root=tempfile.mkdtemp(prefix="bench-store-"), data_root=str(root),
                               engine="spark")
        print(f"round {round_ + 1}: {result.status} in {time.perf_counter() - started:.1f} s, "
              f"AUC {result.metrics.get('evaluate', {}).get('auc')}, nodes "
              f"{ {n: round(r.duration or 0, 2) for n, r in result.nodes.items()} }", flush=True)
        per_node = node_jobs(spark, first)
        for node in args.nodes:
            entries = per_node.get(node, [])
            total = result.nodes[node].duration or 0.0
            in_jobs = sum(e["seconds"] for e in entries)
            print(f"  {node}: {total:.2f} s, {len(entries)} jobs {in_jobs:.2f} s, outside jobs {total - in_jobs:.2f} s")
            origin = entries[0]["start"] if entries else 0.0
            for e in entries:
                print(f"    job {e['id']:>4} +{e['start'] - origin:6.2f} s  {e['seconds']:6.2f} s"
                      f"  {e['tasks']:>3} tasks  executor run {e['run']:6.2f} s cpu {e['cpu']:6.2f} s  {e['name']}"
                      f"  {e['description']}")
                for stage in e["stages"]:
                    print(f"        {stage}")


if __name__ == "__main__":
    main()

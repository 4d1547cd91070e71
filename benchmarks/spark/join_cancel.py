"""How long after a cancel an exploding Spark join keeps the session's cores (sql_transform's equi-join bound).

One case per run, in its own local[2] session (a runaway JVM is killed at the end):

    .venv/bin/python benchmarks/spark/join_cancel.py --case bhj3 --mode count

Cases are joins of t1 (100,000 cached rows, a 0/1 `flag`) on that flag: bhj2 (a JOIN b, 5e9 rows), bhj3 (a JOIN b
JOIN c, 5e14 rows) as broadcast hash joins, smj2 / smj3 as sort-merge joins (broadcast off), shj3 as shuffled
hash joins. `--mode count` runs count(*) of the join, `--mode persist` materialises it as sql_transform does
(persist, count). The job group is cancelled `--after` seconds after the job starts; the script reports, every
second, the running tasks of the session and the JVM's CPU use, until no task runs or `--wait` seconds pass.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SQL = {
    2: "SELECT a.id AS x, b.id AS y FROM t1 a JOIN t1 b ON a.flag = b.flag",
    3: "SELECT a.id AS x, b.id AS y, c.id AS z FROM t1 a JOIN t1 b ON a.flag = b.flag JOIN t1 c ON b.flag = c.flag",
}


def task_threads_cpu(pid: int) -> float:
    """CPU seconds of the JVM's task threads (the local executor's "Executor task launch worker" threads)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            if (task / "comm").read_text().startswith("Executor task"):
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass  # a thread that ended
    return total


def running_tasks(sc) -> int:
    """The tasks the scheduler counts as running (a cancelled stage's tasks leave it at once, working or not)."""
    tracker = sc.statusTracker()
    return sum(info.numActiveTasks for info in map(tracker.getStageInfo, tracker.getActiveStageIds()) if info)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", required=True, choices=["bhj2", "bhj3", "smj2", "smj3", "shj3"])
    parser.add_argument("--mode", default="count", choices=["count", "persist"])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--after", type=float, default=5.0)
    parser.add_argument("--wait", type=float, default=120.0)
    args = parser.parse_args()
    os.environ.update({"STUDIO_SPARK_MASTER": "local[2]", "STUDIO_SPARK_DRIVER_MEMORY": "2g",
                       "STUDIO_SPARK_SHUFFLE_PARTITIONS": "4"})
    from pipelines.engines import spark_session

    spark = spark_session()
    sc = spark.sparkContext
    jvm_pid = sc._gateway.proc.pid
    if args.case.startswith(("smj", "shj")):
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    if args.case == "shj3":
        spark.conf.set("spark.sql.join.preferSortMergeJoin", "false")
    t1 = spark.range(args.rows).selectExpr("id", "id % 2 AS flag").cache()
    t1.count()
    t1.createOrReplaceTempView("t1")
    frame = spark.sql(SQL[int(args.case[-1])])
    if args.mode == "count":
        action = frame.count
    else:
        frame = frame.persist()
        action = frame.count
    print(frame._jdf.queryExecution().executedPlan().toString().splitlines()[0:12], flush=True)
    outcome = {}

    def run():
        sc.setJobGroup("join-cancel", "join cancel", interruptOnCancel=True)
        try:
            outcome["rows"] = action()
        except Exception as exc:  # noqa: BLE001 - the cancel's error, reported
            outcome["error"] = str(exc).splitlines()[0][:160]

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while not sc.statusTracker().getActiveStageIds() and worker.is_alive():
        time.sleep(0.1)
    time.sleep(max(args.after - 1, 0))
    cpu = task_threads_cpu(jvm_pid)
    time.sleep(1)
    print(f"  before the cancel: running tasks {running_tasks(sc)}, stages "
          f"{sorted(sc.statusTracker().getActiveStageIds())}, task threads' cores "
          f"{task_threads_cpu(jvm_pid) - cpu:.2f}", flush=True)
    load = os.getloadavg()
    cancelled, cpu = time.monotonic(), task_threads_cpu(jvm_pid)
    sc.cancelJobGroup("join-cancel")
    print(f"case={args.case} mode={args.mode} cancelled after {args.after:g} s, load {load}", flush=True)
    freed = None
    while time.monotonic() - cancelled < args.wait:
        time.sleep(1.0)
        now, tasks = task_threads_cpu(jvm_pid), running_tasks(sc)
        print(f"  +{time.monotonic() - cancelled:5.1f} s: running tasks {tasks}, task threads' cores {now - cpu:.2f}",
              flush=True)
        if tasks == 0 and not worker.is_alive() and now - cpu < 0.05:
            freed = time.monotonic() - cancelled
            break
        cpu = now
    freed_after = f"{freed:.1f} s" if freed is not None else f"NOT within {args.wait:g} s"
    print(f"RESULT case={args.case} mode={args.mode} freed_after={freed_after} outcome={outcome}", flush=True)
    os.kill(jvm_pid, signal.SIGKILL)  # a task that does not stop would hold the session's stop
    os._exit(0)


if __name__ == "__main__":
    main()

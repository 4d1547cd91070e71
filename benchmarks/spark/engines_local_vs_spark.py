"""The same pipeline (Parquet import -> split -> features (auto) -> GBDT, 100 trees -> predict -> evaluate) on
the local engine and on the Spark engine (local[2]) in fresh processes, at the given sizes: wall time and peak
memory of the whole process tree (Python, the JVM and Spark's Python workers), and the CPU seconds of the tree
during the run alone. Spark runs twice: "spark", the first run in a fresh session (cold), and "spark-warm", a run in
a session warmed first by the worker's own warm-up (pipelines.warmup), the state a studio worker's first Spark run
finds. Session start and warm-up are reported apart. Goal (issue 19): Spark within 2x of local at 1M rows, 1.5x at
10M rows.

    .venv/bin/python benchmarks/spark/engines_local_vs_spark.py --rows 1000000
    # A/B in one run: this checkout and another one's Spark engine (a worktree of main), alternating, 3 rounds
    .venv/bin/python benchmarks/spark/engines_local_vs_spark.py --rows 1000000 --against ../main-wt --repeat 3
    # settings A/B within this checkout: each --variant runs this checkout's Spark runs again with its environment
    .venv/bin/python benchmarks/spark/engines_local_vs_spark.py --rows 1000000 --engines spark-warm --repeat 2 \
        --variant c1 "STUDIO_SPARK_JAVA_OPTIONS=-XX:TieredStopAtLevel=1"
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def pipeline() -> dict:
    from pipelines.warmup import warmup_graph  # the worker's warm-up pipeline, at full size

    return {**warmup_graph("credit.parquet", trees=100), "name": "bench"}


def tree_usage(root: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (user + system, with the waited-for children's) of a process and all its
    descendants, from /proc. CPU time is steadier than wall time on a shared, loaded machine."""
    children: dict[int, list[int]] = {}
    usage: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        usage[int(entry.name)] = (pages * os.sysconf("SC_PAGE_SIZE"), sum(int(f) for f in fields[11:15]) / tick)
    rss, cpu, stack = 0, 0.0, [root]
    while stack:
        pid = stack.pop()
        rss += usage.get(pid, (0, 0.0))[0]
        cpu += usage.get(pid, (0, 0.0))[1]
        stack.extend(children.get(pid, []))
    return rss, cpu


def child(engine: str, data_root: str) -> None:
    """One run of the pipeline in this fresh process. "spark": the first run in a fresh session (its start reported
    apart); "spark-warm": a run in a session warmed first by the worker's warm-up (pipelines.warmup.warm_up), the
    state a studio worker's first Spark run finds."""
    import pipelines

    session, warmup, spark = 0.0, 0.0, None
    if engine.startswith("spark"):  # a worker keeps its session across runs: start it first, report it apart
        from pipelines.engines import last_job_id, spark_session

        started = time.perf_counter()
        spark = spark_session()
        session = time.perf_counter() - started
        if engine == "spark-warm":
            from pipelines.warmup import warm_up

            outcome = warm_up()
            warmup = outcome["seconds"]
            if outcome["status"] != "succeeded":
                print(f"warm-up {outcome['status']}: {outcome['error']}", file=sys.stderr)
        first_job = last_job_id(spark)
    cpu, started = tree_usage(os.getpid())[1], time.perf_counter()
    result = pipelines.run(pipeline(), store_root=tempfile.mkdtemp(prefix="bench-store-"), data_root=data_root,
                           engine="spark" if spark is not None else engine)
    seconds, cpu = time.perf_counter() - started, tree_usage(os.getpid())[1] - cpu
    jobs = {}
    if spark is not None:  # per node: Spark jobs and their summed seconds (writes in the background are not a node's)
        from pipelines.engines import jobs_per_node

        jobs = {n: f"{j['jobs']} in {j['seconds']:.1f} s" for n, j in jobs_per_node(spark, first_job).items()}
    for name, node in result.nodes.items():  # a failed run says which node and why (its traceback on stderr)
        if node.error:
            print(f"node {name}: {node.error.get('message')}\n{node.error.get('traceback', '')}", file=sys.stderr)
    print(json.dumps({"status": result.status, "seconds": seconds, "session": session, "warmup": warmup, "run_cpu": cpu,
                      "auc": result.metrics.get("evaluate", {}).get("auc"),
                      "nodes": {n: round(r.duration or 0, 1) for n, r in result.nodes.items()}, "jobs": jobs}))


def measure(engine: str, data_root: Path, repo: Path = REPO, extra_env: dict[str, str] | None = None) -> dict:
    """One fresh process running the pipeline on `engine` with the code of the checkout at `repo` (and
    `extra_env` in its environment: a settings variant, e.g. STUDIO_SPARK_CONF)."""
    # the checkout's own interpreter when it has one: an editable install of the studio in this checkout's
    # virtual environment would otherwise give Spark's Python workers this checkout's modules, not the other's
    python = repo / ".venv" / "bin" / "python"
    python = str(python) if python.is_file() else sys.executable
    env = {**os.environ, "PYTHONPATH": str(repo), "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python,
           "STUDIO_SPARK_MASTER": os.environ.get("STUDIO_SPARK_MASTER", "local[2]"), **(extra_env or {})}
    script = repo / "benchmarks" / "spark" / Path(__file__).name
    with tempfile.TemporaryFile(mode="w+") as errors:  # kept, so that a failed run says why
        # run in the checkout: Spark's Python workers put their working directory first on sys.path, so from
        # another checkout they imported its modules beside the driver's (AttributeError on unpickled states)
        proc = subprocess.Popen([python, str(script), "--child", engine, str(data_root)], env=env, cwd=repo,
                                stdout=subprocess.PIPE, stderr=errors, text=True)
        peak, cpu = [0], [0.0]

        def sample():
            while proc.poll() is None:
                rss, seconds = tree_usage(proc.pid)
                peak[0], cpu[0] = max(peak[0], rss), max(cpu[0], seconds)
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        sampler.join()
        lines = out.strip().splitlines()
        result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {
            "status": f"crashed ({proc.returncode})", "seconds": float("nan"), "session": 0.0, "warmup": 0.0,
            "auc": None, "nodes": {}}
        if result["status"] != "succeeded":
            errors.seek(0)
            print("".join(errors.readlines()[-30:]), file=sys.stderr, flush=True)
    result["peak_gib"], result["cpu"] = peak[0] / 2**30, cpu[0]
    return result


def report(rows: int, label: str, r: dict) -> None:
    warm = f" +{r['warmup']:.1f} s warm-up" if r.get("warmup") else ""
    print(f"{rows:>11,} rows  {label:<13}  {r['status']:<9}  {r['seconds']:7.1f} s (+{r['session']:.1f} s "
          f"session start{warm})  CPU {r.get('run_cpu', float('nan')):6.1f} s run (tree), {r['cpu']:6.1f} s with "
          f"start  peak {r['peak_gib']:5.2f} GiB  AUC {r['auc'] or float('nan'):.4f}  nodes {r['nodes']}"
          + (f"  Spark jobs {r['jobs']}" if r.get("jobs") else ""), flush=True)


KINDS = {"spark": "cold: the first run in a fresh session",
         "spark-warm": "warm: a run in a session warmed by pipelines.warmup, a worker's state"}


def summary(rows: int, seconds: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Min and median per engine (and checkout) over the rounds, and the ratios to the local engine."""
    for label, values in seconds.items():
        print(f"{rows:>11,} rows  {label:<13}  min {min(values):7.1f} s  median {statistics.median(values):7.1f} s"
              f"  run CPU median {statistics.median(cpu[label]):7.1f} s  ({len(values)} runs)", flush=True)
    if "local" in seconds:
        local = statistics.median(seconds["local"])
        for label in (k for k in seconds if k != "local"):
            kind = KINDS.get(label.split("@")[0].split("+")[0], "")
            print(f"{rows:>11,} rows  {label} / local time (medians): {statistics.median(seconds[label]) / local:.2f}x"
                  f" ({kind}; goal <= 2x at 1M rows, <= 1.5x at 10M)", flush=True)


def variants(args) -> list[tuple[str, str, Path, dict]]:
    """(label, engine, checkout, extra environment) of every run of one round."""
    runs = [(engine, engine, REPO, {}) for engine in args.engines]
    if args.against:
        other = args.against.resolve()
        if "spark" in args.engines or "spark-warm" not in args.engines:  # the cold run only when asked for
            runs.append(("spark@against", "spark", other, {}))
        if "spark-warm" in args.engines and (other / "pipelines" / "warmup.py").is_file():
            runs.append(("spark-warm@against", "spark-warm", other, {}))
    engine = "spark-warm" if "spark-warm" in args.engines else "spark"  # variants: the worker's state if asked
    for name, *pairs in args.variant or []:
        runs.append((f"{engine}+{name}", engine, REPO, dict(pair.split("=", 1) for pair in pairs)))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--engines", nargs="+", default=["local", "spark", "spark-warm"],
                        help="local, spark (cold: a fresh session), spark-warm (a session warmed by the warm-up)")
    parser.add_argument("--against", type=Path, help="another checkout (e.g. a worktree of main) whose Spark engine "
                                                    "runs too, alternating with this one's, in the same run")
    parser.add_argument("--variant", nargs="+", action="append", metavar=("NAME", "ENV=VALUE"),
                        help="this checkout's spark-warm run (else spark) again with these environment settings, "
                             "e.g. --variant parallelgc STUDIO_SPARK_JAVA_OPTIONS=-XX:+UseParallelGC (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each runs every engine once")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "DATA_ROOT"))
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    from operators.library.sample_data import credit_default_table

    runs = variants(args)
    for rows in args.rows:
        root = Path(tempfile.mkdtemp(prefix="bench-data-"))
        credit_default_table(n_rows=rows, seed=3).to_parquet(root / "credit.parquet", index=False)
        seconds: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        for round_ in range(args.repeat):
            order = runs if round_ % 2 == 0 else runs[::-1]  # alternate, so neither side always runs first
            for label, engine, repo, env in order:
                r = measure(engine, root, repo, env)
                report(rows, label, r)
                seconds.setdefault(label, []).append(r["seconds"])
                cpu.setdefault(label, []).append(r.get("run_cpu", r["cpu"]))
        summary(rows, seconds, cpu)


if __name__ == "__main__":
    main()

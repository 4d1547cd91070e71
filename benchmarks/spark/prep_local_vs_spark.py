"""derive_column and sql_transform on a generated table, local engine (pandas kernels, DuckDB) against Spark
(local[2]: the same kernels on Arrow batches, Spark SQL), in one process per engine. Prints each node's own
duration (the executor's measure: the operator's run and the writing of its output to the artifact store, the
Parquet import apart) and the rows per second, each node run alone, twice: the second run ("warm", forced) is
the figure, the first (Spark's Python workers starting) is shown beside it.

    .venv/bin/python benchmarks/spark/prep_local_vs_spark.py --rows 1000000
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

DERIVE = 'if(income > 0, round(log(income) * 2, 3), 0) + coalesce(score, 0) * 0.5'
TEXT = 'upper(substring(strip(city), 1, 3))'
SQL = ("SELECT city, n, count(*) AS rows, sum(income) AS income, avg(score) AS score, max(id) AS last_id "
       "FROM t1 WHERE income > 1000 GROUP BY city, n")
JOIN = "SELECT a.id, a.income, b.region FROM t1 AS a JOIN t2 AS b ON a.n = b.n"


def graph() -> dict:
    def node(i, operator, params):
        return {"id": i, "operator": operator, "params": params}

    def edge(s, t, port="table"):
        return {"source": s, "source_port": "table", "target": t, "target_port": port}

    return {"format": "studio.pipeline/1", "name": "bench-prep", "nodes": [
        node("import", "import_parquet", {"path": "bench.parquet"}),
        node("regions", "import_parquet", {"path": "regions.parquet"}),
        node("derive_number", "derive_column", {"column": "x", "expression": DERIVE}),
        node("derive_text", "derive_column", {"column": "c", "expression": TEXT}),
        node("sql_group_by", "sql_transform", {"sql": SQL}),
        node("sql_join", "sql_transform", {"sql": JOIN})],
        "edges": [edge("import", "derive_number"), edge("import", "derive_text"), edge("import", "sql_group_by", "t1"),
                  edge("import", "sql_join", "t1"), edge("regions", "sql_join", "t2")]}


def make_data(root: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    pd.DataFrame({"id": np.arange(rows), "n": rng.integers(0, 100, rows),
                  "income": np.where(rng.random(rows) < 0.05, np.nan, rng.gamma(2, 2000, rows)),
                  "score": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(50, 10, rows)),
                  "city": rng.choice([" berlin", "paris ", "rome", "oslo"], rows)}).to_parquet(root / "bench.parquet")
    pd.DataFrame({"n": np.arange(100), "region": [f"r{i % 7}" for i in range(100)]}).to_parquet(
        root / "regions.parquet")


def one_engine(engine: str, root: str) -> dict:
    """Each operator node alone (the imports cached in the same store, the Spark session warm), one at a
    time, so no node shares the cores with another."""
    import pipelines

    full, times = graph(), {}
    with tempfile.TemporaryDirectory() as store:
        for target in ("import", "derive_number", "derive_text", "sql_group_by", "sql_join"):
            for attempt in ("first", "warm"):  # warm: Spark's Python workers already started
                result = pipelines.run(full, store_root=store, data_root=root, engine=engine, until=target,
                                       force=attempt == "warm")
                failed = {k: v.error for k, v in result.nodes.items() if v.error}
                assert result.status == "succeeded", failed
                times[f"{target}/{attempt}"] = result.nodes[target].duration
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "ROOT"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_engine(*args.child)))
        return
    with tempfile.TemporaryDirectory() as root:
        make_data(Path(root), args.rows)
        env = {**os.environ, "STUDIO_SPARK_MASTER": os.environ.get("STUDIO_SPARK_MASTER", "local[2]")}
        times = {engine: json.loads(subprocess.run([sys.executable, __file__, "--child", engine, root], env=env,
                                                   check=True, capture_output=True, text=True).stdout.splitlines()[-1])
                 for engine in ("local", "spark")}
    print(f"{args.rows:,} rows; node durations (s) and rows/s, local vs Spark ({env['STUDIO_SPARK_MASTER']})")
    for name in ("derive_number", "derive_text", "sql_group_by", "sql_join"):
        local, spark = times["local"][f"{name}/warm"], times["spark"][f"{name}/warm"]
        print(f"  {name:14s} local {local:7.2f} s ({args.rows / local:>12,.0f} rows/s)   "
              f"spark {spark:7.2f} s ({args.rows / spark:>12,.0f} rows/s)   spark/local {spark / local:5.2f}x   "
              f"(first run: local {times['local'][name + '/first']:.2f} s, "
              f"spark {times['spark'][name + '/first']:.2f} s)")


if __name__ == "__main__":
    main()

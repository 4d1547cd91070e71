"""What counting an equi-join before it runs costs sql_transform on Spark (check_joins' equi-join bound).

    .venv/bin/python benchmarks/spark/equijoin_count_cost.py --rows 1000000 --repeat 3

A lookup of t1's 300 rows (250 keys) by `--rows` rows of t2 (both Parquet files, as a run reads them): its bound
(300 x rows) is over 1e8, so check_joins looks at it (one job over the 300 rows, at most 2 per key) before the
statement is materialised. Printed per repeat, alternating: the check's seconds and the materialisation's
(persist, count), and their ratio; local[2].
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

SQL = "SELECT a.id, a.n, b.v FROM t2 b JOIN t1 a ON b.k = a.id"


def main() -> None:
    import numpy as np
    import pandas as pd

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update({"STUDIO_SPARK_MASTER": "local[2]", "STUDIO_SPARK_SHUFFLE_PARTITIONS": "4"})
    from operators.spark.sql import check_joins, materialised_within
    from pipelines.engines import spark_session, stop_spark_session

    spark = spark_session()
    with tempfile.TemporaryDirectory() as folder:
        pd.DataFrame({"id": np.arange(300) % 250, "n": np.arange(300) % 5}).to_parquet(f"{folder}/t1.parquet")
        big = pd.DataFrame({"k": np.arange(args.rows) % 250, "v": np.arange(args.rows) % 7})
        big.to_parquet(f"{folder}/t2.parquet")
        spark.read.parquet(f"{folder}/t1.parquet").createOrReplaceTempView("t1")
        spark.read.parquet(f"{folder}/t2.parquet").createOrReplaceTempView("t2")
        for k in range(args.repeat):
            frame = spark.sql(SQL)
            start = time.perf_counter()
            check_joins(frame, 300)
            checked = time.perf_counter() - start
            result = materialised_within(frame, 300)
            ran = time.perf_counter() - start - checked
            result.unpersist()
            print(f"repeat {k}: check {checked:.2f} s, materialise {ran:.2f} s, check/materialise "
                  f"{checked / ran:.2f}, load {os.getloadavg()}", flush=True)
    stop_spark_session()


if __name__ == "__main__":
    main()

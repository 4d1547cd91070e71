"""LightGBM on Spark (barrier tasks, operators.spark.models) against pyspark.ml's GBTClassifier at matched
trees and depth, on a synthetic table written as Parquet, on local[2]. Prints time and test AUC of each and
the ratio (goal: LightGBM >= 8x faster at equal or better AUC).

    STUDIO_SPARK_MASTER=local[2] .venv/bin/python benchmarks/spark/gbdt_lightgbm_vs_spark_ml.py --rows 1000000

The table and its train / test split are seeded, so `--skip-spark-ml` reruns only the LightGBM side on the
same rows (to try `--learning-rate 0.2`, the step that matches Spark ML's, without another hour of GBT).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def write_table(path: Path, rows: int, features: int, seed: int = 0) -> None:
    """rows x features standard normals with a nonlinear planted signal, in 1M-row Parquet row groups."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, rows, 1_000_000):
        n = min(1_000_000, rows - start)
        X = rng.standard_normal((n, features))
        logit = X[:, 0] + 0.8 * X[:, 1] * X[:, 2] - 0.6 * np.abs(X[:, 3]) + 0.5 * (X[:, 4] > 0.5)
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float64)
        table = pa.table({**{f"x{j}": X[:, j] for j in range(features)}, "label": y})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=0.1,
                        help="LightGBM's learning rate; GBTClassifier's stepSize stays 0.1 (see below)")
    parser.add_argument("--skip-spark-ml", action="store_true",
                        help="time LightGBM on Spark only (GBTClassifier takes most of an hour at 10M rows)")
    args = parser.parse_args()
    os.environ.setdefault("STUDIO_SPARK_MASTER", "local[2]")

    from pyspark.ml.feature import VectorAssembler

    from operators.spark.evaluate import binned_scores
    from operators.spark.frames import FEATURES, LABEL, SparkFeatures
    from operators.spark.models import _score_vectors, train_lightgbm_on_spark
    from operators.values import Fitted
    from pipelines.engines import spark_session

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    started = time.perf_counter()
    write_table(work / "table.parquet", args.rows, args.features)
    print(f"table: {args.rows:,} rows x {args.features} features as Parquet in {time.perf_counter() - started:.1f} s")
    spark = spark_session()
    table = spark.read.parquet(str(work / "table.parquet"))
    names = [f"x{j}" for j in range(args.features)]
    assembled = VectorAssembler(inputCols=names, outputCol=FEATURES).transform(table).select(FEATURES, LABEL)
    train, test = assembled.randomSplit([0.8, 0.2], seed=1)
    train.write.parquet(str(work / "train"))
    test.write.parquet(str(work / "test"))
    train, test = spark.read.parquet(str(work / "train")), spark.read.parquet(str(work / "test"))

    # LightGBM on Spark: depth-limited trees with as many leaves as a depth-5 tree may have
    # Spark ML's log loss works on a margin of 2F and fits plain gradients (4y / (1 + exp(2yF)), y = +-1) where
    # LightGBM takes Newton steps on F: at p = 0.5 one stepSize-0.1 tree moves Spark's margin about twice as far
    # as a learning_rate-0.1 LightGBM tree, so --learning-rate 0.2 matches the step as well as trees and depth.
    params = {"objective": "binary", "num_leaves": 2 ** args.depth, "max_depth": args.depth,
              "learning_rate": args.learning_rate,
              "min_data_in_leaf": 20, "max_bin": 255, "verbosity": -1, "seed": 1}
    started = time.perf_counter()
    trained = train_lightgbm_on_spark(SparkFeatures(train, names, "label"), params, args.trees, record_train=False)
    text, tasks = trained.text, trained.tasks
    lgbm_time = time.perf_counter() - started
    import functools

    model = Fitted("lightgbm", meta={"feature_names": names}, texts={"model": text})
    scored = test.mapInArrow(functools.partial(_score_vectors, model=model, width=len(names)),
                             f"{LABEL} double, p double")
    lgbm_auc = binned_scores(scored, LABEL, "p").auc()
    print(f"LightGBM on Spark ({tasks} task(s), learning rate {args.learning_rate}): {lgbm_time:.1f} s, "
          f"test AUC {lgbm_auc:.4f}")
    if args.skip_spark_ml:
        return

    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.functions import vector_to_array

    started = time.perf_counter()
    gbt = GBTClassifier(featuresCol=FEATURES, labelCol=LABEL, maxIter=args.trees, maxDepth=args.depth,
                        stepSize=0.1, seed=1).fit(train)
    gbt_time = time.perf_counter() - started
    gbt_scored = gbt.transform(test).select(LABEL, vector_to_array("probability")[1].alias("p"))
    gbt_auc = binned_scores(gbt_scored, LABEL, "p").auc()
    print(f"pyspark.ml GBTClassifier: {gbt_time:.1f} s, test AUC {gbt_auc:.4f}")
    print(f"speed-up {gbt_time / lgbm_time:.1f}x (goal >= 8x), AUC difference {lgbm_auc - gbt_auc:+.4f} "
          f"(goal >= 0)")


if __name__ == "__main__":
    main()

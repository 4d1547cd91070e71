"""A table the driver holds in Arrow (operators.spark.split.split_on_driver: a random split of a small Parquet file
imported whole) is scored on the driver by predict (operators.spark.models._predict_held): no Spark job, the same
table as the Arrow UDF gives on the same rows handed to Spark otherwise."""
from __future__ import annotations

import pandas as pd
import pytest

import pipelines
from pipelines.engines import jobs_per_node, last_job_id
from pipelines.warmup import warmup_graph


def _run(spark, root, store):
    before = last_job_id(spark)
    result = pipelines.run({**warmup_graph("data/credit.parquet", trees=5), "name": "held"}, store_root=store,
                           data_root=root, engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    return result, jobs_per_node(spark, before)


def test_predict_scores_a_held_table_on_the_driver_as_the_udf_does(spark, credit_root, tmp_path, monkeypatch):
    held, jobs = _run(spark, credit_root, tmp_path / "held")
    assert jobs.get("predict", {}).get("jobs", 0) == 0 and jobs.get("split", {}).get("jobs", 0) == 0
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_SPLIT_CELLS", "0")  # the split by Spark: predict's Arrow UDF
    udf, jobs = _run(spark, credit_root, tmp_path / "udf")
    assert jobs["predict"]["jobs"] >= 1
    got, expected = held.output("predict", "table"), udf.output("predict", "table")
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True), check_exact=True)
    a, b = held.metrics["evaluate"], udf.metrics["evaluate"]
    assert set(a) == set(b) and a["auc"] == b["auc"] and a["tp"] == b["tp"] and a["fp"] == b["fp"]
    assert a["logloss"] == pytest.approx(b["logloss"], rel=1e-12)  # summed in other partitions

"""A label that came as words ("yes" / "no"): predict on either engine writes predicted_label in those words, the
same rows alike, as the published bundle answers; evaluate downstream reads the predicted table on both engines;
batch scoring with the bundle on Spark declares the words' type too (it declared 64-bit integers)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.spark.both import assert_same_rows, graph, one_operator, run_both, run_local_then_spark_from

DEPLOYMENT = "churn-words"


@pytest.fixture(scope="module")
def worded_root(credit_root, tmp_path_factory):
    """3,000 rows of the credit table with its 0/1 label `default` as "yes" / "no"."""
    root = tmp_path_factory.mktemp("worded")
    (root / "data").mkdir()
    table = pd.read_parquet(credit_root / "data" / "credit.parquet").head(3_000)
    table = table.drop(columns=["customer_id", "application_date"])
    table.assign(default=np.where(table["default"] == 1, "yes", "no")).to_parquet(root / "data" / "churn.parquet",
                                                                                 index=False)
    return root


@pytest.fixture(scope="module")
def both(spark, worded_root, tmp_path_factory):
    """import -> split -> features -> LR -> predict -> evaluate, and publish_model, run locally; then predict
    and evaluate run again on Spark from a copy of that store (force, from predict): the same model, feature
    state and rows on both engines."""

    g = graph([("import", "import_parquet", {"path": "data/churn.parquet"}),
               ("split", "split_random", {"ratio": 0.7, "seed": 5}),
               ("features", "feature_extraction", {"label": "default"}),
               ("train", "train_lr", {"C": 0.5}),
               ("predict", "predict", {"threshold": 0.3}),
               ("evaluate", "evaluate_binary", {"label": "default"}),
               ("publish", "publish_model", {"deployment": DEPLOYMENT, "threshold": 0.3})],
              [("import", "table", "split", "table"), ("split", "first", "features", "table"),
               ("features", "features", "train", "features"), ("train", "model", "predict", "model"),
               ("features", "feature_state", "predict", "feature_state"), ("split", "second", "predict", "table"),
               ("predict", "table", "evaluate", "table"), ("train", "model", "publish", "model"),
               ("features", "feature_state", "publish", "feature_state"), ("split", "second", "publish", "table")])
    tmp = tmp_path_factory.mktemp("both")
    local, on_spark = run_local_then_spark_from(g, worded_root, tmp, "predict")
    assert on_spark.nodes["predict"].cached is False and on_spark.nodes["train"].cached is True
    return local, on_spark


def test_local_and_spark_predict_in_the_labels_values_and_evaluate_reads_them(both):
    from pipelines.bundle import load_bundle

    local, on_spark = both
    expected, got = local.output("predict", "table"), on_spark.output("predict", "table")
    assert set(expected["predicted_label"]) == {"yes", "no"}
    assert expected["predicted_label"].tolist() == np.where(expected["probability"] >= 0.3, "yes", "no").tolist()
    assert_same_rows(expected, got, rtol=1e-12)  # the one kernel: the same numbers and the same words
    for result in both:
        metrics = result.metrics["evaluate"]
        assert (metrics["positive_class"], metrics["negative_class"]) == ("yes", "no") and metrics["auc"] > 0.6
    assert on_spark.metrics["evaluate"]["auc"] == pytest.approx(local.metrics["evaluate"]["auc"], abs=1e-3)
    bundle = load_bundle(Path(local.output("publish", "deployment")["bundle"]))  # what the deployment answers
    assert bundle.score_table(expected)["label"].tolist() == expected["predicted_label"].tolist()


def test_score_with_deployment_on_spark_answers_in_words(both, worded_root, tmp_path):
    published = Path(both[0].output("publish", "deployment")["bundle"])
    for engine in ("local", "spark"):
        shutil.copytree(published, tmp_path / engine / "bundles" / DEPLOYMENT / published.name)
    local, on_spark = run_both(one_operator("score_with_deployment", {"deployment": DEPLOYMENT},
                                            {"table": "data/churn.parquet"}), worded_root, tmp_path)
    assert on_spark.status == "succeeded", on_spark.nodes["n"].error
    expected, got = local.output("n", "table"), on_spark.output("n", "table")
    assert set(got["predicted_label"]) == {"yes", "no"}
    assert_same_rows(expected, got, rtol=0)

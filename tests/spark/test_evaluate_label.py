"""evaluate_binary left at its defaults, on both engines: the true label is the one the model was trained on
("churned" here, not "label"), read from the mark predict leaves on the table it scored (Spark: the probability
column's metadata, kept in the Parquet Spark writes; across engines, in the table artifact's meta), so a
person's pipeline evaluates without a word in evaluate's form; the same metrics on both engines."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from tests.spark.both import graph, run_local_then_spark_from


@pytest.fixture(scope="module")
def churn_root(credit_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("churned")
    (root / "data").mkdir()
    table = pd.read_parquet(credit_root / "data" / "credit.parquet").head(3_000)
    table = table.drop(columns=["customer_id", "application_date"]).rename(columns={"default": "churned"})
    table.assign(churned=np.where(table["churned"] == 1, "yes", "no")).to_parquet(root / "data" / "churn.parquet",
                                                                                  index=False)
    return root


def test_evaluate_reads_the_models_label_on_both_engines(spark, churn_root, tmp_path):
    import pipelines

    g = graph([("import", "import_parquet", {"path": "data/churn.parquet"}),
               ("split", "split_random", {"ratio": 0.7, "seed": 5}),
               ("features", "feature_extraction", {"label": "churned"}),
               ("train", "train_lr", {"C": 0.5}),
               ("predict", "predict", {}),
               ("evaluate", "evaluate_binary", {})],  # no label, no model input: predict's table says which
              [("import", "table", "split", "table"), ("split", "first", "features", "table"),
               ("features", "features", "train", "features"), ("train", "model", "predict", "model"),
               ("features", "feature_state", "predict", "feature_state"), ("split", "second", "predict", "table"),
               ("predict", "table", "evaluate", "table")])
    local, on_spark = run_local_then_spark_from(g, churn_root, tmp_path, "predict")
    # evaluate alone again on each engine: predict's stored table (the Parquet each engine wrote) carries the mark
    again = [pipelines.run(g, store_root=tmp_path / engine, data_root=churn_root, engine=engine,
                           from_node="evaluate", force=True) for engine in ("local", "spark")]
    for result in (local, on_spark, *again):
        assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
        metrics = result.metrics["evaluate"]
        assert (metrics["positive_class"], metrics["negative_class"]) == ("yes", "no") and metrics["auc"] > 0.6
        assert metrics["auc"] == pytest.approx(local.metrics["evaluate"]["auc"], abs=1e-3)
    assert again[1].nodes["predict"].cached is True
    # and across engines: each engine's evaluate over the table the other engine wrote (a cached predict of a local
    # run feeding a Spark run, and back): the mark travels in the table's meta
    shutil.copytree(tmp_path / "local", tmp_path / "local-then-spark")
    shutil.copytree(tmp_path / "spark", tmp_path / "spark-then-local")
    crossed = [pipelines.run(g, store_root=tmp_path / store, data_root=churn_root, engine=engine,
                             from_node="evaluate", force=True)
               for store, engine in (("local-then-spark", "spark"), ("spark-then-local", "local"))]
    for result in crossed:
        assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
        assert result.nodes["predict"].cached is True
        assert result.metrics["evaluate"]["auc"] == pytest.approx(local.metrics["evaluate"]["auc"], abs=1e-3)


def test_the_mark_survives_table_operators_on_both_engines(spark, churn_root, tmp_path, monkeypatch):
    """import -> split -> features -> GBDT -> predict -> a table operator -> evaluate (no label): on both engines
    the evaluate of each operator that keeps the label column reads it, and of each that renames or drops it asks
    for it; and on Spark over a table the local engine scored (its mark on the first column, which a select drops)."""
    import pipelines

    from tests.operators.test_evaluate_label import RIGHT_TABLE, check_marks, mark_kept, MARK_LOST
    from tests.spark.both import run_both
    from tests.spark.graphs import scored_then

    monkeypatch.setenv("STUDIO_ALLOW_SCRIPTS", "1")
    data = tmp_path / "root"
    shutil.copytree(churn_root, data)
    regions = pd.read_parquet(data / "data" / "churn.parquet")["region"].unique()
    pd.DataFrame({"region": regions, "k": range(len(regions))}).to_parquet(data / "data" / "right.parquet")
    kept = mark_kept(first="age", key="region")
    g = scored_then(kept + MARK_LOST, extra=RIGHT_TABLE)
    local, on_spark = run_both(g, data, tmp_path)
    for result in (local, on_spark):
        check_marks(result, kept)
    # the filtered rows' evaluate: the same figures on both engines
    assert on_spark.metrics["ev_filter"]["auc"] == pytest.approx(local.metrics["ev_filter"]["auc"], abs=1e-3)
    shutil.copytree(tmp_path / "local", tmp_path / "mixed")
    mixed = pipelines.run(g, store_root=tmp_path / "mixed", data_root=data, engine="spark", from_node="drop_columns",
                          force=True)
    assert mixed.nodes["predict"].cached is True
    check_marks(mixed, [b for b in kept if b[0] == "drop_columns"], [])

"""The model-aware views, automl_gbdt / automl_lr and auto_cross on the Spark engine: train_gbdt's Spark half takes
the GBDT view, AutoML's trials run on a driver sample (and say so), auto_cross's crosses reach the state, and a
published AutoML model passes the bundle's parity check."""
from __future__ import annotations

import pipelines
from pipelines.bundle import load_bundle
from tests.operators.test_auto_cross import planted
from tests.spark.both import graph


def test_views_automl_and_auto_cross_on_spark(spark, tmp_path):
    planted(6000).to_parquet(tmp_path / "planted.parquet", index=False)
    g = graph([("import", "import_parquet", {"path": "planted.parquet"}),
               ("split", "split_random", {"ratio": 0.7, "seed": 5}),
               ("features", "auto_cross", {"label": "label", "cross_budget": 30, "max_crosses": 1}),
               ("gbdt", "train_gbdt", {"n_estimators": 20}),
               ("automl", "automl_gbdt", {"time_budget": 60, "n_trials": 3, "spark_sample_rows": 2000}),
               ("automl_lr", "automl_lr", {"time_budget": 60, "n_trials": 3, "spark_sample_rows": 2000}),
               ("publish", "publish_model", {"deployment": "automl-spark"})],
              [("import", "table", "split", "table"), ("split", "first", "features", "table"),
               ("features", "features", "gbdt", "features"), ("features", "features", "automl", "features"),
               ("features", "features", "automl_lr", "features"),
               ("automl", "model", "publish", "model"), ("features", "feature_state", "publish", "feature_state"),
               ("split", "second", "publish", "table")])
    events = []
    result = pipelines.run(g, store_root=tmp_path / "store", data_root=tmp_path, engine="spark",
                           on_event=events.append)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    state = result.output("features", "feature_state")
    assert [sorted(c["columns"]) for c in state.meta["auto_crosses"]] == [["A", "B"]]
    assert result.output("features", "report").tables["crosses"][0]["columns"] in ("A, B", "B, A")
    gbdt = result.output("gbdt", "model")
    assert gbdt.meta["engine"] == "spark" and gbdt.meta["feature_view"] == "gbdt"
    assert not any(name.endswith(("_0", "=__other__")) or "*" in name for name in gbdt.meta["feature_names"])
    assert result.output("automl_lr", "model").meta["feature_view"] == "lr"
    logs = [e.data.get("message", "") for e in events if e.type == "node_log" and e.node == "automl"]
    assert any("over 2,000 of" in m and "sample" in m for m in logs), logs
    bundle = load_bundle(result.output("publish", "deployment")["bundle"])  # replays its rows to 1e-9
    assert {b["op"] for b in bundle.feature_state.meta["blocks"]} == {"raw", "ordinal"}

"""The demo pipeline's shape: import -> split -> feature extraction (auto) -> GBDT and LR in parallel -> predict
-> one evaluate comparing both."""
from __future__ import annotations

import json

import plotly.io

import pipelines
from tests.conftest import DEMO_PIPELINE


def test_demo_compares_gbdt_and_lr_trained_on_auto_features(tmp_path, data_root):
    graph = json.loads(DEMO_PIPELINE.read_text())
    operators_by_id = {n["id"]: n["operator"] for n in graph["nodes"]}
    edges = {(e["source"], e["target"], e["target_port"]) for e in graph["edges"]}
    assert operators_by_id["features"] == "feature_extraction"
    assert next(n for n in graph["nodes"] if n["id"] == "features")["params"]["mode"] == "auto"
    assert {("features", "train_gbdt", "features"), ("features", "train_lr", "features"),
            ("predict_gbdt", "evaluate", "table"), ("predict_lr", "evaluate", "table_b")} <= edges

    result = pipelines.run(graph, store_root=tmp_path / "store", data_root=data_root)
    assert result.status == "succeeded"
    metrics = result.metrics["evaluate"]
    assert metrics["model"] == "GBDT" and metrics["model_b"] == "LR"
    assert metrics["auc"] > 0.7 and metrics["b_auc"] > 0.7
    report = result.output("evaluate", "report")
    roc = plotly.io.from_json(json.dumps(report.figures["roc"]))
    assert [t.name.split(" ")[0] for t in roc.data] == ["GBDT", "LR", "chance"]
    assert "iterations" in report.figures and "importance" in report.figures
    assert result.output("features", "feature_state").kind == "features"

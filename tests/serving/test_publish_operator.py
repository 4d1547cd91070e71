"""The publish operator on the canvas: through ctx.publish it writes a bundle that verifies, from a pipeline run
with no studio (a script or the CLI)."""
from __future__ import annotations

import numpy as np

import operators
import pipelines
from operators import Operator, Params, Port, PortType
from operators.values import Fitted
from pipelines.bundle import load_bundle, table_to_columns


@operators.register
class TrainLightGBMForTests(Operator):
    """A minimal GBDT trainer (the library's own lives in operators.library), so this test depends only on the
    feature kernel and the publish operator."""

    name = "test_train_lightgbm"
    category = "Testing"
    description = "LightGBM on a feature matrix (tests only)."
    inputs = (Port("features", PortType.FEATURES),)
    outputs = (Port("model", PortType.MODEL),)

    class Params(Params):
        trees: int = 30

    def run(self, ctx, inputs, params):
        import lightgbm as lgb

        features = inputs["features"]
        booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 2},
                            lgb.Dataset(features.X, features.label), params.trees)
        return {"model": Fitted("lightgbm", {"feature_names": list(features.names)},
                                texts={"model": booster.model_to_string()})}


GRAPH = {
    "format": "studio.pipeline/1",
    "name": "publish test",
    "nodes": [
        {"id": "data", "operator": "sample_credit_default", "params": {"n_rows": 3000, "seed": 11}},
        {"id": "split", "operator": "split_random", "params": {"ratio": 0.7, "seed": 1}},
        {"id": "features", "operator": "feature_extraction",
         "params": {"label": "default", "exclude": ["customer_id", "application_date"]}},
        {"id": "gbdt", "operator": "test_train_lightgbm", "params": {}},
        {"id": "publish", "operator": "publish_model", "params": {"deployment": "credit-risk", "threshold": 0.3}},
    ],
    "edges": [
        {"source": "data", "source_port": "table", "target": "split", "target_port": "table"},
        {"source": "split", "source_port": "first", "target": "features", "target_port": "table"},
        {"source": "features", "source_port": "features", "target": "gbdt", "target_port": "features"},
        {"source": "gbdt", "source_port": "model", "target": "publish", "target_port": "model"},
        {"source": "features", "source_port": "feature_state", "target": "publish", "target_port": "feature_state"},
        {"source": "split", "source_port": "second", "target": "publish", "target_port": "table"},
    ],
}


def test_publish_operator_writes_a_verified_bundle(tmp_path):
    result = pipelines.run(GRAPH, store_root=tmp_path / "store", data_root=tmp_path)
    assert result.status == "succeeded", result.summary()
    info = result.output("publish", "deployment")
    assert info["deployment"] == "credit-risk" and info["live"] is False  # no studio: written, not registered
    bundle = load_bundle(info["bundle"])
    assert bundle.threshold == 0.3 and bundle.manifest["source"] == {"node": "publish"}

    # the bundle scores new rows exactly as the run's own feature state and model do
    test_rows = result.output("split", "second")
    state = result.output("features", "feature_state")
    model = result.output("gbdt", "model")
    from operators.kernels.features import transform
    from operators.kernels.models import load_scorer

    columns = table_to_columns(test_rows, bundle.input_spec)
    expected = load_scorer(model).predict_proba(transform(state, columns, len(test_rows)).X)
    assert np.max(np.abs(bundle.predict(columns, len(test_rows))["probability"] - expected)) <= 1e-12

    # publishing is a side effect: a second run publishes again instead of reusing the cached output
    again = pipelines.run(GRAPH, store_root=tmp_path / "store", data_root=tmp_path)
    assert again.nodes["publish"].cached is False and again.nodes["gbdt"].cached is True
    assert again.output("publish", "deployment")["bundle"] != info["bundle"]


def test_demo_pipeline_bundle_scores_equal_its_predict_operator(tmp_path, demo_csv):
    """On the demo pipeline (library GBDT, auto features with a cross), the published bundle scores the test rows
    exactly as the pipeline's own predict node does: online (tested equal to the bundle) = batch."""
    import json

    from tests.conftest import DEMO_PIPELINE

    graph = json.loads(DEMO_PIPELINE.read_text())
    graph["nodes"].append({"id": "publish", "operator": "publish_model", "params": {"deployment": "credit"}})
    graph["edges"] += [
        {"source": "train_gbdt", "source_port": "model", "target": "publish", "target_port": "model"},
        {"source": "features", "source_port": "feature_state", "target": "publish", "target_port": "feature_state"},
        {"source": "split", "source_port": "second", "target": "publish", "target_port": "table"}]
    result = pipelines.run(graph, store_root=tmp_path / "store", data_root=demo_csv.parent.parent)
    assert result.status == "succeeded", result.summary()
    bundle = load_bundle(result.output("publish", "deployment")["bundle"])
    predicted = result.output("predict_gbdt", "table")
    scores = bundle.score_table(result.output("split", "second"))
    assert np.max(np.abs(scores["probability"] - predicted["probability"].to_numpy())) <= 1e-9


def test_score_with_deployment_operator_uses_the_published_bundle(tmp_path):
    result = pipelines.run(GRAPH, store_root=tmp_path / "store", data_root=tmp_path)
    bundle = load_bundle(result.output("publish", "deployment")["bundle"])
    scoring = {
        "format": "studio.pipeline/1", "name": "batch scoring",
        "nodes": [{"id": "data", "operator": "sample_credit_default", "params": {"n_rows": 500, "seed": 4}},
                  {"id": "score", "operator": "score_with_deployment", "params": {"deployment": "credit-risk"}},
                  {"id": "missing", "operator": "score_with_deployment", "params": {"deployment": "nope"}}],
        "edges": [{"source": "data", "source_port": "table", "target": "score", "target_port": "table"},
                  {"source": "data", "source_port": "table", "target": "missing", "target_port": "table"}],
    }
    scored = pipelines.run(scoring, store_root=tmp_path / "store", data_root=tmp_path)
    table = scored.output("score", "table")
    expected = bundle.score_table(scored.output("data", "table"))
    assert np.array_equal(table["probability"].to_numpy(), expected["probability"])
    assert np.array_equal(table["predicted_label"].to_numpy(), expected["label"])
    assert scored.nodes["missing"].status == "failed"
    assert scored.nodes["missing"].error == {"message": "no deployment 'nope'", "field": "deployment"}

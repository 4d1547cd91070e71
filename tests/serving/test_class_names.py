"""A model trained on a label that came as words answers with those words (issue 14 item 2): the bundle keeps
the label's classes from the feature state, verifies its held-out labels as those values, and the serving
process answers `label: "yes"` beside the probability (v1 and v2), while 0/1 labels stay integers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from operators.values import Fitted
from pipelines.bundle import BundleRefused, load_bundle, table_to_columns, write_bundle, write_registry

from .conftest import registry_models, serving_process, v2_json


def with_classes(state: Fitted, classes) -> Fitted:
    return Fitted(state.kind, {**state.meta, "label_classes": classes}, state.arrays, state.texts)


@pytest.fixture(scope="module")
def worded(tmp_path_factory, trained, scoring_table):
    state, model = trained
    return write_bundle(tmp_path_factory.mktemp("worded") / "churn-1", name="churn", version="1", model=model,
                        feature_state=with_classes(state, ["no", "yes"]), holdout=scoring_table.tail(500))


def test_the_bundle_answers_with_the_labels_values(worded, bundles, scoring_table, tmp_path, trained):
    bundle = load_bundle(worded)  # the held-out rows replay, labels compared as "yes" / "no"
    assert bundle.manifest["classes"] == ["no", "yes"]
    assert {"name": "label", "datatype": "BYTES", "shape": [-1]} in bundle.manifest["outputs"]
    out = bundle.score_table(scoring_table.head(200))
    assert out["label"].tolist() == ["yes" if p >= 0.5 else "no" for p in out["probability"]]
    assert {"yes", "no"} == set(out["label"].tolist())
    plain = load_bundle(bundles["1"])  # a 0/1 label: integers as before
    assert plain.manifest["classes"] == [0, 1]
    assert {"name": "label", "datatype": "INT64", "shape": [-1]} in plain.manifest["outputs"]
    labels = plain.score_table(scoring_table.head(200))["label"]
    assert labels.dtype == np.int64 and set(labels.tolist()) == {0, 1}
    state, model = trained
    numbers = load_bundle(write_bundle(tmp_path / "n", name="n", model=model, holdout=scoring_table.tail(100),
                                       feature_state=with_classes(state, [2, 1])))
    assert numbers.score_table(scoring_table.head(50))["label"].dtype == np.int64
    assert set(numbers.score_table(scoring_table.head(200))["label"].tolist()) == {1, 2}


def test_a_tampered_class_is_refused(worded, tmp_path):
    import hashlib
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(worded, copy)
    holdout = json.loads((copy / "holdout.json").read_text())
    holdout["label"] = [1 - v for v in holdout["label"]]
    (copy / "holdout.json").write_text(json.dumps(holdout))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["holdout.json"] = hashlib.sha256((copy / "holdout.json").read_bytes()).hexdigest()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleRefused, match="gets label '(yes|no)', the batch label was '(yes|no)'"):
        load_bundle(copy)


def test_served_answers_carry_the_class_names(tmp_path, worded, scoring_table):
    write_registry(tmp_path / "var" / "serving" / "registry.json", registry_models({"1": worded}, "1", "churn"))
    rows = scoring_table.head(20)
    with serving_process(tmp_path) as server:
        server.wait_for(lambda: server.get("/v2/models/churn/ready")[0] == 200, what="model churn ready")
        bundle = load_bundle(worded)
        records = json.loads(rows[[s["name"] for s in bundle.input_spec]].to_json(orient="records"))
        status, answer = server.post_json("/v1/models/churn:predict", {"instances": records})
        assert status == 200, answer
        assert [p["label"] for p in answer["predictions"]] == [
            "yes" if p["probability"] >= 0.5 else "no" for p in answer["predictions"]]
        status, answer = server.post_json("/v2/models/churn/infer", v2_json(
            table_to_columns(rows, bundle.input_spec), bundle.input_spec))
        assert status == 200, answer
        label = next(o for o in answer["outputs"] if o["name"] == "label")
        assert label["datatype"] == "BYTES" and set(label["data"]) <= {"yes", "no"} and len(label["data"]) == 20

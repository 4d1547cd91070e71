"""Model-aware auto features: one feature_extraction node serves LR (standardised, buckets, one-hot) and GBDT (raw
numbers with missing kept, LightGBM category codes), each model trains on and is published with its own view."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import pipelines
from operators.kernels.features import state_view
from pipelines.bundle import load_bundle
from tests.operators.conftest import planted_table


def _graph() -> dict:
    """One feature node feeding train_lr and train_gbdt, each predicted and published."""
    nodes = [
        {"id": "import", "operator": "import_csv", "params": {"path": "table.csv"}},
        {"id": "split", "operator": "split_random", "params": {"ratio": 0.7, "seed": 3}},
        {"id": "features", "operator": "feature_extraction", "params": {"label": "label"}},
        {"id": "gbdt", "operator": "train_gbdt", "params": {"n_estimators": 60, "min_data_in_leaf": 10}},
        {"id": "lr", "operator": "train_lr", "params": {"C": 0.5}},
    ]
    edges = [
        {"source": "import", "source_port": "table", "target": "split", "target_port": "table"},
        {"source": "split", "source_port": "first", "target": "features", "target_port": "table"},
        {"source": "features", "source_port": "features", "target": "gbdt", "target_port": "features"},
        {"source": "features", "source_port": "features", "target": "lr", "target_port": "features"},
    ]
    for model in ("gbdt", "lr"):
        nodes += [{"id": f"predict_{model}", "operator": "predict", "params": {}},
                  {"id": f"publish_{model}", "operator": "publish_model", "params": {"deployment": f"d-{model}"}}]
        for target in (f"predict_{model}", f"publish_{model}"):
            edges += [{"source": model, "source_port": "model", "target": target, "target_port": "model"},
                      {"source": "features", "source_port": "feature_state", "target": target,
                       "target_port": "feature_state"},
                      {"source": "split", "source_port": "second", "target": target, "target_port": "table"}]
    return {"nodes": nodes, "edges": edges}


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("views")
    df = planted_table(4000, seed=2)
    df.to_csv(tmp / "table.csv", index=False)
    out = pipelines.run(_graph(), store_root=tmp / "store", data_root=tmp)
    assert out.status == "succeeded", out.summary()
    return out, df


def _feature_infos(model_text: str) -> list[str]:
    return re.search(r"^feature_infos=(.*)$", model_text, re.M).group(1).split(" ")


def test_gbdt_gets_raw_numbers_and_lightgbm_category_codes(result):
    out, df = result
    model = out.output("gbdt", "model")
    assert model.meta["feature_view"] == "gbdt"
    assert model.meta["feature_names"] == ["x1:raw", "x2:raw", "color", "shape"]
    assert model.meta["categorical"] == ["color", "shape"]
    text = model.texts["model"]
    assert "[categorical_feature: 2,3]" in text  # LightGBM's native categorical columns
    infos = _feature_infos(text)
    train = out.output("split", "first")
    # numeric columns reach LightGBM as the raw values: its recorded [min:max] is the data's, not standardised
    for j, column in enumerate(["x1", "x2"]):
        lo, hi = (float(v) for v in infos[j].strip("[]").split(":"))
        assert lo == pytest.approx(train[column].min()) and hi == pytest.approx(train[column].max())
    # categoricals are the vocabulary's codes (rare values below min_frequency score as missing)
    state = out.output("features", "feature_state")
    vocab = next(b["vocab"] for b in state.meta["blocks"] if b["op"] == "ordinal" and b["column"] == "color")
    codes = sorted(int(c) for c in infos[2].split(":"))
    assert [c for c in codes if c >= 0] == list(range(len(vocab)))  # LightGBM lists missing as -1
    assert set(vocab) == {"red", "green", "blue"}
    # missing values stay missing for the trees (no fill): the raw block keeps NaN
    gbdt_state = state_view(state, "gbdt")
    assert [b["op"] for b in gbdt_state.meta["blocks"]] == ["raw", "raw", "ordinal", "ordinal"]


def test_lr_keeps_todays_view_from_the_same_feature_node(result):
    out, _ = result
    model = out.output("lr", "model")
    assert model.meta["feature_view"] == "lr"
    lr_state = state_view(out.output("features", "feature_state"), "lr")
    assert {b["op"] for b in lr_state.meta["blocks"]} == {"standardize", "missing_indicator", "buckets", "onehot"}
    assert model.meta["feature_names"] == lr_state.meta["names"]
    assert not any(name.endswith(":raw") for name in model.meta["feature_names"])


def test_published_bundles_carry_the_models_view_and_score_like_batch(result):
    out, _ = result
    for model in ("gbdt", "lr"):
        bundle = load_bundle(out.output(f"publish_{model}", "deployment")["bundle"])  # replays rows to 1e-9
        ops = {b["op"] for b in bundle.feature_state.meta["blocks"]}
        assert ops == ({"raw", "ordinal"} if model == "gbdt" else {"standardize", "missing_indicator", "buckets",
                                                                     "onehot"})
        scored = out.output(f"predict_{model}", "table")
        online = bundle.score_table(scored)["probability"]
        assert np.max(np.abs(online - scored["probability"].to_numpy())) <= 1e-9


def test_an_unseen_category_scores_online_like_a_missing_one(result):
    out, df = result
    bundle = load_bundle(out.output("publish_gbdt", "deployment")["bundle"])
    rows = pd.DataFrame({"x1": [0.3, -1.0], "x2": [4.0, 7.5], "shape": ["square", "circle"]})
    unseen = bundle.score_table(rows.assign(color=["purple", "never-seen"]))["probability"]
    missing = bundle.score_table(rows.assign(color=[None, None]))["probability"]
    known = bundle.score_table(rows.assign(color=["red", "red"]))["probability"]
    assert np.array_equal(unseen, missing)
    assert not np.array_equal(known, missing)  # the column matters, so the equality above is not vacuous

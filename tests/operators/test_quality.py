"""Quality: the GBDT pipeline scores as well as a hand-written pandas + LightGBM script with the same params.

Both run inside the test, on scikit-learn's breast_cancer data (bundled with scikit-learn, no download) and on a
generated table with planted interactions; the AUCs must agree within 0.002.
"""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

import pipelines

GBDT = {"num_leaves": 15, "learning_rate": 0.05, "n_estimators": 150, "min_data_in_leaf": 20,
        "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0, "seed": 7}
RATIO, SEED = 0.7, 11


def breast_cancer() -> pd.DataFrame:
    data = load_breast_cancer(as_frame=True)
    return data.frame.rename(columns={"target": "label"})


def interactions(n: int = 12_000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=n), rng.normal(size=n), rng.uniform(0, 1, n)
    noise = rng.normal(size=(n, 3))
    segment = rng.choice(["a", "b", "c", "d"], n)
    channel = rng.choice(["web", "shop", "phone"], n, p=[0.5, 0.3, 0.2])
    logit = (1.5 * np.sign(x1 * x2) + 2.0 * ((segment == "b") & (x3 > 0.5)) - 1.2 * ((channel == "phone") & (x1 > 0))
             + 0.8 * np.sin(3 * x3) - 0.5)
    df = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "n1": noise[:, 0], "n2": noise[:, 1], "n3": noise[:, 2],
                       "segment": segment, "channel": channel})
    df["label"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df.loc[rng.random(n) < 0.03, "x2"] = np.nan
    return df


def pipeline_auc(csv_name: str, columns: dict, tmp_path, data_root) -> float:
    graph = {
        "nodes": [
            {"id": "import", "operator": "import_csv", "params": {"path": csv_name}},
            {"id": "split", "operator": "split_random", "params": {"ratio": RATIO, "seed": SEED}},
            {"id": "features", "operator": "feature_extraction",
             "params": {"label": "label", "mode": "manual", "columns": columns}},
            {"id": "gbdt", "operator": "train_gbdt", "params": GBDT},
            {"id": "predict", "operator": "predict", "params": {}},
            {"id": "evaluate", "operator": "evaluate_binary", "params": {"label": "label"}},
        ],
        "edges": [
            {"source": "import", "source_port": "table", "target": "split", "target_port": "table"},
            {"source": "split", "source_port": "first", "target": "features", "target_port": "table"},
            {"source": "features", "source_port": "features", "target": "gbdt", "target_port": "features"},
            {"source": "gbdt", "source_port": "model", "target": "predict", "target_port": "model"},
            {"source": "features", "source_port": "feature_state", "target": "predict", "target_port": "feature_state"},
            {"source": "split", "source_port": "second", "target": "predict", "target_port": "table"},
            {"source": "predict", "source_port": "table", "target": "evaluate", "target_port": "table"},
        ],
    }
    result = pipelines.run(graph, store_root=tmp_path / "store", data_root=data_root)
    assert result.status == "succeeded", {k: v.error for k, v in result.nodes.items() if v.error}
    return result.metrics["evaluate"]["auc"]


def script_auc(csv_path, categorical: list[str]) -> float:
    """What a data scientist writes by hand: pandas, a seeded split, LightGBM with the same parameters."""
    df = pd.read_csv(csv_path)
    for column in categorical:
        df[column] = df[column].astype("category")
    train_mask = np.random.default_rng(SEED).random(len(df)) < RATIO
    train, test = df[train_mask], df[~train_mask]
    features = [c for c in df.columns if c != "label"]
    params = {"objective": "binary", "verbosity": -1, "num_leaves": GBDT["num_leaves"],
              "learning_rate": GBDT["learning_rate"], "min_data_in_leaf": GBDT["min_data_in_leaf"],
              "feature_fraction": GBDT["feature_fraction"], "bagging_fraction": GBDT["bagging_fraction"],
              "bagging_freq": GBDT["bagging_freq"], "lambda_l2": GBDT["lambda_l2"], "seed": GBDT["seed"]}
    booster = lgb.train(params, lgb.Dataset(train[features], label=train["label"]),
                        num_boost_round=GBDT["n_estimators"])
    return float(roc_auc_score(test["label"], booster.predict(test[features])))


@pytest.mark.parametrize("dataset", ["breast_cancer", "interactions"])
def test_gbdt_pipeline_matches_a_hand_written_lightgbm_script(dataset, tmp_path):
    data_root = tmp_path / "data"
    data_root.mkdir()
    df = breast_cancer() if dataset == "breast_cancer" else interactions()
    df.to_csv(data_root / "table.csv", index=False)
    categorical = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    columns = {c: (["ordinal"] if c in categorical else ["raw"]) for c in df.columns if c != "label"}
    ours = pipeline_auc("table.csv", columns, tmp_path, data_root)
    theirs = script_auc(data_root / "table.csv", categorical)
    print(f"{dataset}: pipeline AUC {ours:.5f}, hand-written script AUC {theirs:.5f}")
    assert ours > (0.97 if dataset == "breast_cancer" else 0.75)
    assert abs(ours - theirs) <= 0.002

"""Model quality on real data sets shipped inside installed packages (nothing is downloaded): a hand-written pandas
+ LightGBM script against the studio's pipeline with the script's parameters, the studio's defaults, and AutoML.

    .venv/bin/python benchmarks/quality.py [--budget 10] [--datasets breast_cancer,fair,anes96,gapminder]

Data sets (binary label, recoded to 0/1):
  breast_cancer  scikit-learn's copy (569 rows, 30 numeric columns), label: benign
  fair           statsmodels' affairs survey (6,366 rows), label: affairs > 0
  anes96         statsmodels' 1996 US election survey (944 rows), label: vote (Dole)
  gapminder      plotly's gapminder (1,704 rows; country and continent as strings), label: life expectancy > 60

Each data set gets one stratified 70/30 split (seed 42), written as two CSV files; every contender trains on the
first and is scored on the second. The script reads the CSV with pandas, makes string columns `category` and
trains LightGBM with 200 trees, learning rate 0.05, 31 leaves. The studio runs import_csv ->
feature_extraction (auto) -> train_gbdt -> predict -> evaluate_binary through the executor, once with the
script's parameters and once with train_gbdt's defaults; AutoML replaces train_gbdt by automl_gbdt (k-fold on the
training rows, a time budget). Prints AUC and wall time per data set and contender.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SCRIPT = {"n_estimators": 200, "learning_rate": 0.05, "num_leaves": 31}
SEED = 42


def breast_cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})


def fair() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.fair.load_pandas().data
    return df.assign(label=(df.pop("affairs") > 0).astype(int))


def anes96() -> pd.DataFrame:
    import statsmodels.api as sm

    df = sm.datasets.anes96.load_pandas().data
    return df.assign(label=df.pop("vote").astype(int))


def gapminder() -> pd.DataFrame:
    import plotly.data

    df = plotly.data.gapminder()[["country", "continent", "year", "pop", "gdpPercap", "lifeExp"]]
    df = df.astype({"country": object, "continent": object})
    return df.assign(label=(df.pop("lifeExp") > 60).astype(int))


DATASETS = {"breast_cancer": breast_cancer, "fair": fair, "anes96": anes96, "gapminder": gapminder}


def script_auc(train_csv: Path, test_csv: Path) -> float:
    """What a careful data scientist writes by hand."""
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score

    train, test = pd.read_csv(train_csv), pd.read_csv(test_csv)
    features = [c for c in train.columns if c != "label"]
    for column in features:
        if not pd.api.types.is_numeric_dtype(train[column]):
            kind = pd.CategoricalDtype(sorted(train[column].dropna().unique()))
            train[column], test[column] = train[column].astype(kind), test[column].astype(kind)
    params = {"objective": "binary", "verbosity": -1, "num_leaves": SCRIPT["num_leaves"],
              "learning_rate": SCRIPT["learning_rate"], "seed": SEED}
    booster = lgb.train(params, lgb.Dataset(train[features], label=train["label"]),
                        num_boost_round=SCRIPT["n_estimators"])
    return float(roc_auc_score(test["label"], booster.predict(test[features])))


def studio_auc(folder: Path, trainer: str, params: dict) -> float:
    import pipelines

    nodes = [
        {"id": "train", "operator": "import_csv", "params": {"path": "train.csv"}},
        {"id": "test", "operator": "import_csv", "params": {"path": "test.csv"}},
        {"id": "features", "operator": "feature_extraction", "params": {"label": "label"}},
        {"id": "model", "operator": trainer, "params": params},
        {"id": "predict", "operator": "predict", "params": {}},
        {"id": "evaluate", "operator": "evaluate_binary", "params": {"label": "label"}},
    ]
    edges = [("train", "table", "features", "table"), ("features", "features", "model", "features"),
             ("model", "model", "predict", "model"), ("features", "feature_state", "predict", "feature_state"),
             ("test", "table", "predict", "table"), ("predict", "table", "evaluate", "table")]
    graph = {"nodes": nodes, "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp}
                                       for s, sp, t, tp in edges]}
    with tempfile.TemporaryDirectory() as store:
        result = pipelines.run(graph, store_root=store, data_root=folder)
    if result.status != "succeeded":
        raise RuntimeError(result.summary())
    return float(result.metrics["evaluate"]["auc"])


def timed(fn, *args) -> tuple[float, float]:
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=10.0, help="AutoML time budget per data set, seconds")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--no-automl", action="store_true")
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    rows = []
    for name in args.datasets.split(","):
        df = DATASETS[name]()
        train, test = train_test_split(df, test_size=0.3, stratify=df["label"], random_state=SEED)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            train.to_csv(folder / "train.csv", index=False)
            test.to_csv(folder / "test.csv", index=False)
            row = {"data set": name, "rows": len(df)}
            row["script"], row["script s"] = timed(script_auc, folder / "train.csv", folder / "test.csv")
            row["studio(script params)"], row["studio(script params) s"] = timed(
                studio_auc, folder, "train_gbdt", {**SCRIPT, "seed": SEED})
            row["studio defaults"], row["studio defaults s"] = timed(studio_auc, folder, "train_gbdt", {})
            if not args.no_automl:
                row["automl_gbdt"], row["automl_gbdt s"] = timed(
                    studio_auc, folder, "automl_gbdt", {"time_budget": args.budget, "seed": SEED})
        rows.append(row)
        print(f"{name}: " + ", ".join(f"{k} {v:.4f}" for k, v in row.items() if isinstance(v, float)), flush=True)
    table = pd.DataFrame(rows).set_index("data set")
    aucs = [c for c in table.columns if c != "rows" and not c.endswith(" s")]
    print("\nAUC on the held-out 30% (time in seconds)")
    print(pd.DataFrame({c: [f"{a:.4f} ({t:.1f}s)" for a, t in zip(table[c], table[c + " s"], strict=True)]
                        for c in aucs}, index=table.index).to_string())
    print("\nstudio(script params) - script: " + ", ".join(
        f"{n} {d:+.4f}" for n, d in (table["studio(script params)"] - table["script"]).items()))
    if "automl_gbdt" in table:
        print("automl_gbdt - script: " + ", ".join(
            f"{n} {d:+.4f}" for n, d in (table["automl_gbdt"] - table["script"]).items()))
    return 0 if np.isfinite(table[aucs].to_numpy(dtype=float)).all() else 1


if __name__ == "__main__":
    sys.exit(main())

"""Optuna (the studio's automl_gbdt: TPE + median pruning over its own trainer) against FLAML's LightGBM tuner, same
data, same split, same time budget: the measurement behind choosing Optuna for automl_gbdt / automl_lr.

    .venv/bin/python benchmarks/automl_choice.py [--budget 10]

Uses benchmarks/quality.py's four data sets and stratified split. FLAML gets the raw pandas columns (strings as
`category`) and `estimator_list=["lgbm"]`, metric roc_auc, its own holdout; the studio runs import ->
feature_extraction (auto) -> automl_gbdt (3 folds) -> predict -> evaluate. Prints test AUC and wall time.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality import DATASETS, SEED, studio_auc  # noqa: E402


def flaml_auc(train: pd.DataFrame, test: pd.DataFrame, budget: float) -> float:
    from flaml import AutoML
    from sklearn.metrics import roc_auc_score

    features = [c for c in train.columns if c != "label"]
    X, Xt = train[features].copy(), test[features].copy()
    for column in features:
        if not pd.api.types.is_numeric_dtype(X[column]):
            kind = pd.CategoricalDtype(sorted(X[column].dropna().unique()))
            X[column], Xt[column] = X[column].astype(kind), Xt[column].astype(kind)
    automl = AutoML()
    automl.fit(X, train["label"], task="classification", metric="roc_auc", estimator_list=["lgbm"],
               time_budget=budget, seed=SEED, verbose=0)
    return float(roc_auc_score(test["label"], automl.predict_proba(Xt)[:, 1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=10.0)
    args = parser.parse_args()
    from sklearn.model_selection import train_test_split

    print(f"{'data set':14} {'optuna (automl_gbdt)':>24} {'flaml (lgbm)':>20}")
    for name, load in DATASETS.items():
        df = load()
        train, test = train_test_split(df, test_size=0.3, stratify=df["label"], random_state=SEED)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            train.to_csv(folder / "train.csv", index=False)
            test.to_csv(folder / "test.csv", index=False)
            start = time.perf_counter()
            ours = studio_auc(folder, "automl_gbdt", {"time_budget": args.budget, "seed": SEED})
            ours_s = time.perf_counter() - start
            start = time.perf_counter()
            theirs = flaml_auc(pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "test.csv"), args.budget)
            theirs_s = time.perf_counter() - start
        print(f"{name:14} {ours:>15.4f} ({ours_s:4.1f}s) {theirs:>11.4f} ({theirs_s:4.1f}s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

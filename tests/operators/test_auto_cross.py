"""auto_cross: the greedy forward search finds a planted A x B interaction, keeps it in the fitted state (so predict
and publishing carry it) and lifts a logistic regression's held-out AUC by at least 0.05."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from operators import PortType
from operators.kernels.features import model_view, state_view
from operators.kernels.models import load_scorer
from operators.library.features import apply_state


def planted(n: int = 8000, seed: int = 7) -> pd.DataFrame:
    """A and B matter only together (a random effect per (A, B) pair, no main effect); C and x are noise-ish."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 5, n), rng.integers(0, 5, n)
    effect = rng.normal(0, 1, (5, 5))
    effect -= effect.mean(axis=0, keepdims=True) + effect.mean(axis=1, keepdims=True) - effect.mean()  # no margins
    x = rng.normal(size=n)
    logit = 2.5 * effect[a, b] + 0.5 * x
    return pd.DataFrame({"A": [f"a{v}" for v in a], "B": [f"b{v}" for v in b],
                         "C": rng.choice(["u", "v", "w"], n), "x": x,
                         "label": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)})


def lr_auc(run, out, test) -> float:
    model = run("train_lr", {"features": out["features"]})["model"]
    X = apply_state(test, state_view(out["feature_state"], model_view(model))).X
    return float(roc_auc_score(test["label"], load_scorer(model).predict_proba(X)))


def test_auto_cross_finds_the_planted_interaction_and_lifts_lr_auc(run):
    df = planted()
    train, test = df.iloc[:6000].reset_index(drop=True), df.iloc[6000:].reset_index(drop=True)
    plain = run("feature_extraction", {"table": train}, label="label")
    crossed = run("auto_cross", {"table": train}, label="label", cross_budget=20, max_crosses=2, seed=1)
    state = run.roundtrip(PortType.FEATURE_STATE, crossed["feature_state"])
    found = state.meta["auto_crosses"]
    assert sorted(found[0]["columns"]) == ["A", "B"] and found[0]["gain"] > 0.05
    # the cross is a block of the fitted state's LR view, so a published LR model carries it
    crosses = [b for b in state_view(state, "lr").meta["blocks"] if b["op"] == "cross"]
    assert sorted(p["column"] for p in crosses[0]["parts"]) == ["A", "B"]
    assert not any(b["op"] == "cross" for b in state_view(state, "gbdt").meta["blocks"])
    report = crossed["report"]
    assert report.tables["crosses"][0]["gain"] == found[0]["gain"]
    assert report.figures["crosses"]["data"][0]["x"][0] in ("A*B", "B*A")
    assert lr_auc(run, crossed, test) >= lr_auc(run, plain, test) + 0.05

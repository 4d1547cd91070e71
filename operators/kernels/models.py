"""Model scoring kernel: a fitted model (LR coefficients or LightGBM text) -> probabilities and contributions.

Imports numpy, scipy and lightgbm only; training lives in `operators.library.models_lr` / `models_gbdt`.

    scorer = load_scorer(model)          # once per model; cheap to call afterwards
    scorer.predict_proba(X)              # P(class 1), shape (n_rows,)
    scorer.contributions(X)              # (n_rows, n_features + 1), last column the bias

Model states (`operators.values.Fitted`):

    kind "lr":       meta {"feature_names": [...], "label": ...}, arrays {"coef": (n_features,), "intercept": (1,)}
                     P = 1 / (1 + exp(-(X @ coef + intercept))); contributions coef * x, bias = intercept
    kind "lightgbm": meta {"feature_names": [...], "categorical": [...], "best_iteration": int, "evals": {...}},
                     texts {"model": LightGBM model text}; contributions are LightGBM's pred_contrib (SHAP)

X is what `operators.kernels.features.transform` produces: a dense float64 array or a scipy CSR matrix,
columns in `feature_names` order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..contract import OperatorError
from ..lazy import lazy_module
from ..values import Fitted

sp = lazy_module("scipy.sparse")  # see operators.lazy


def _check_width(X, feature_names: list[str]) -> None:
    if X.shape[1] != len(feature_names):
        raise OperatorError(f"the feature matrix has {X.shape[1]} columns but the model expects "
                            f"{len(feature_names)}; was it made with the same feature state?", port="features")


class LRScorer:
    def __init__(self, model: Fitted):
        self.feature_names = list(model.meta["feature_names"])
        self.coef = np.asarray(model.arrays["coef"], dtype=np.float64).reshape(-1)
        self.intercept = float(np.asarray(model.arrays["intercept"]).reshape(-1)[0])
        if len(self.coef) != len(self.feature_names):
            raise OperatorError("LR model is inconsistent: coefficients and feature names differ in length",
                                port="model")

    def decision(self, X) -> np.ndarray:
        _check_width(X, self.feature_names)
        z = X @ self.coef
        return np.asarray(z, dtype=np.float64).reshape(-1) + self.intercept

    def predict_proba(self, X) -> np.ndarray:
        z = self.decision(X)
        return 1.0 / (1.0 + np.exp(-z))

    def contributions(self, X) -> np.ndarray:
        _check_width(X, self.feature_names)
        terms = X.multiply(self.coef).toarray() if sp.issparse(X) else np.asarray(X) * self.coef
        return np.hstack([terms, np.full((X.shape[0], 1), self.intercept)])


class LightGBMScorer:
    SMALL_BATCH = 256  # below this many rows one thread is faster than a thread pool

    def __init__(self, model: Fitted):
        import lightgbm as lgb

        self.feature_names = list(model.meta["feature_names"])
        self.booster = lgb.Booster(model_str=model.texts["model"])
        best = model.meta.get("best_iteration")
        self.num_iteration = int(best) if best else None
        if self.booster.num_feature() != len(self.feature_names):
            raise OperatorError("LightGBM model is inconsistent with its feature names", port="model")

    def _threads(self, X) -> dict:
        return {"num_threads": 1} if X.shape[0] < self.SMALL_BATCH else {}

    def predict_proba(self, X) -> np.ndarray:
        _check_width(X, self.feature_names)
        return np.asarray(self.booster.predict(X, num_iteration=self.num_iteration, **self._threads(X)),
                          dtype=np.float64).reshape(-1)

    def contributions(self, X) -> np.ndarray:
        _check_width(X, self.feature_names)
        out = self.booster.predict(X, num_iteration=self.num_iteration, pred_contrib=True, **self._threads(X))
        return out.toarray() if sp.issparse(out) else np.asarray(out, dtype=np.float64)


def load_scorer(model: Fitted) -> Any:
    """A scorer for a fitted model; an OperatorError for a state that is not a model."""
    if model.kind == "lr":
        return LRScorer(model)
    if model.kind == "lightgbm":
        return LightGBMScorer(model)
    raise OperatorError(f"model kind {model.kind!r} cannot be scored (expected 'lr' or 'lightgbm')", port="model")

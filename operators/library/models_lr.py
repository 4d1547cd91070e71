"""Logistic regression (scikit-learn) on a feature matrix, stored as coefficients, never a pickled estimator."""
from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..contract import Message, Messages, Operator, OperatorError, Params, Port, PortType
from ..kernels.features import matrix_view
from ..values import FeatureMatrix, Fitted


class TrainingMessages(Messages):
    """What the trainers (train_lr, train_gbdt) say about their label, on either engine."""

    no_label = Message("the {port!r} input has no label; set `label` on the feature extraction node")
    no_rows = Message("the {port!r} input has no rows")
    one_class = Message("the label of the {port!r} input holds one class only; a classifier needs both")


def require_label(features: FeatureMatrix, port: str = "features") -> np.ndarray:
    """The 0/1 label of a feature matrix, with an error naming the port when it is missing or one-class."""
    if features.label is None:
        raise TrainingMessages.no_label(port=port)
    y = np.asarray(features.label)
    if features.n_rows == 0:
        raise TrainingMessages.no_rows(port=port)
    if len(np.unique(y)) < 2:
        raise TrainingMessages.one_class(port=port, column=features.label_name)
    return y


def require_finite(features: FeatureMatrix, port: str = "features") -> None:
    import scipy.sparse as sp

    values = features.X.data if sp.issparse(features.X) else np.asarray(features.X)
    if not np.isfinite(values).all():
        bad = np.where(~np.isfinite(features.X.toarray() if sp.issparse(features.X) else values))[1][0]
        raise OperatorError(f"feature {features.names[bad]!r} has missing or infinite values; logistic regression "
                            "needs them filled (use standardize, not raw)", port=port, column=features.names[bad])


class TrainLR(Operator):
    """Fits a binary logistic regression on a (sparse, high-dimensional) feature matrix with scikit-learn:
    L2 (lbfgs), L1 (liblinear) or elastic net (saga), optionally with balanced class weights. The model is
    stored as coefficients, intercept and feature names (JSON + npz)."""

    name = "train_lr"
    spark = "operators.spark.models:train_lr"
    category = "Model training"
    version = "2"
    description = "Train a logistic regression (L1 / L2 / elastic net) on a feature matrix."
    inputs = (Port("features", PortType.FEATURES, "Training feature matrix with a binary label"),
              Port("valid_features", PortType.FEATURES, "Optional validation features: logloss and AUC are logged",
                   optional=True))
    outputs = (Port("model", PortType.MODEL, "Coefficients, intercept and feature names"),)

    Messages = TrainingMessages

    class Params(Params):
        penalty: Literal["l2", "l1", "elasticnet", "none"] = Field("l2", description="Regularisation")
        C: float = Field(1.0, gt=0, description="Inverse regularisation strength (smaller is stronger)")
        l1_ratio: float = Field(0.5, ge=0, le=1, description="Elastic net: share of L1 in the penalty")
        class_weight: Literal["none", "balanced"] = Field("none", description="balanced: weight classes by "
                                                                               "inverse frequency")
        max_iter: int = Field(500, ge=1, le=100_000, description="Maximum solver iterations")
        tol: float = Field(1e-4, gt=0, description="Stopping tolerance of the solver")

    def run(self, ctx, inputs, params):
        features, view = matrix_view(inputs["features"], "lr")
        y = require_label(features)
        require_finite(features)
        ctx.progress(0.1, f"fitting on {features.n_rows:,} rows x {len(features.names):,} features")
        estimator, converged = fit_lr(features.X, y, params)
        if not converged:
            ctx.log(f"the solver did not converge in {params.max_iter} iterations; raise max_iter")
        model = lr_model(estimator, features, view, params)
        valid = inputs.get("valid_features")
        if valid is not None:
            from sklearn.metrics import log_loss, roc_auc_score

            from ..kernels.models import load_scorer

            valid = matrix_view(valid, "lr")[0]
            yv = require_label(valid, "valid_features")
            p = load_scorer(model).predict_proba(valid.X)
            model.meta["valid"] = {"auc": float(roc_auc_score(yv, p)), "logloss": float(log_loss(yv, p, labels=[0, 1]))}
            ctx.log(f"validation AUC {model.meta['valid']['auc']:.4f}, logloss {model.meta['valid']['logloss']:.4f}")
        return {"model": model}


def fit_lr(X, y: np.ndarray, params) -> tuple[object, bool]:
    """A fitted scikit-learn LogisticRegression for train_lr's params (penalty, C, l1_ratio, class_weight,
    max_iter, tol), and whether the solver converged. automl_lr calls it once per trial."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    solver, l1_ratio, C = {"l2": ("lbfgs", 0.0, params.C), "l1": ("liblinear", 1.0, params.C),
                           "elasticnet": ("saga", params.l1_ratio, params.C),
                           "none": ("lbfgs", 0.0, np.inf)}[params.penalty]
    estimator = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, max_iter=params.max_iter, tol=params.tol,
                                   class_weight=None if params.class_weight == "none" else "balanced",
                                   random_state=0)  # liblinear and saga shuffle: the same rows give the same model
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    return estimator, not any(issubclass(w.category, ConvergenceWarning) for w in caught)


def lr_model(estimator, features: FeatureMatrix, view: str | None, params) -> Fitted:
    """The model port's value for a fitted LogisticRegression (train_lr and automl_lr)."""
    return Fitted("lr", meta={"feature_names": list(features.names), "label": features.label_name,
                              "penalty": params.penalty, "C": params.C, "n_iter": int(np.max(estimator.n_iter_)),
                              "feature_view": view},
                  arrays={"coef": estimator.coef_[0].astype(np.float64),
                          "intercept": np.asarray(estimator.intercept_, dtype=np.float64)})

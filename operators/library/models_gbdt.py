"""Gradient-boosted trees (LightGBM) on a feature matrix, stored as LightGBM's model text."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..contract import Cancelled, Operator, OperatorError, Params, Port, PortType
from ..kernels.features import matrix_view
from ..values import Fitted
from .models_lr import TrainingMessages, require_label


class GBDTParams(Params):
    num_leaves: int = Field(31, ge=2, le=131072, description="Maximum leaves per tree")
    learning_rate: float = Field(0.1, gt=0, le=1, description="Shrinkage of each tree")
    n_estimators: int = Field(100, ge=1, le=100_000, description="Boosting iterations (trees)")
    max_depth: int = Field(-1, ge=-1, description="Maximum tree depth; -1 is unlimited")
    feature_fraction: float = Field(1.0, gt=0, le=1, description="Share of features tried per tree")
    bagging_fraction: float = Field(1.0, gt=0, le=1, description="Share of rows sampled per tree")
    bagging_freq: int = Field(0, ge=0, description="Resample rows every k iterations; 0 disables bagging")
    min_data_in_leaf: int = Field(20, ge=1, description="Minimum rows in a leaf")
    lambda_l1: float = Field(0.0, ge=0, description="L1 regularisation of leaf values")
    lambda_l2: float = Field(0.0, ge=0, description="L2 regularisation of leaf values")
    max_bin: int = Field(255, ge=2, le=65535, description="Histogram bins per feature")
    is_unbalance: bool = Field(False, description="Reweight the classes by their frequency")
    early_stopping_rounds: int = Field(0, ge=0, description="Stop when the validation logloss has not improved "
                                                            "for this many rounds (needs valid_features); 0 = off")
    record_train_metrics: bool = Field(True, description="Record training logloss and AUC at every iteration")
    seed: int = Field(42, description="Random seed (bagging, feature sampling)")
    num_threads: int = Field(0, ge=0, description="Threads; 0 lets LightGBM choose")


def lightgbm_params(params: GBDTParams) -> dict:
    """The LightGBM parameter dict; the quality test's hand-written script uses the same names."""
    return {"objective": "binary", "metric": ["binary_logloss", "auc"], "num_leaves": params.num_leaves,
            "learning_rate": params.learning_rate, "max_depth": params.max_depth,
            "feature_fraction": params.feature_fraction, "bagging_fraction": params.bagging_fraction,
            "bagging_freq": params.bagging_freq, "min_data_in_leaf": params.min_data_in_leaf,
            "lambda_l1": params.lambda_l1, "lambda_l2": params.lambda_l2, "max_bin": params.max_bin,
            "is_unbalance": params.is_unbalance, "seed": params.seed, "num_threads": params.num_threads,
            "verbosity": -1}


class TrainGBDT(Operator):
    """Trains gradient-boosted decision trees with LightGBM on a feature matrix. Columns that hold category
    codes (the `ordinal` transform) use LightGBM's native categorical splits. With `valid_features` connected,
    validation logloss and AUC are recorded per iteration and early stopping can pick the best iteration. The
    model is stored as LightGBM's own text format, with the per-iteration metrics and feature importances."""

    name = "train_gbdt"
    spark = "operators.spark.models:train_gbdt"
    category = "Model training"
    description = "Train gradient-boosted trees (LightGBM) on a feature matrix."
    inputs = (Port("features", PortType.FEATURES, "Training feature matrix with a binary label"),
              Port("valid_features", PortType.FEATURES, "Optional validation features for per-iteration metrics "
                   "and early stopping", optional=True))
    outputs = (Port("model", PortType.MODEL, "LightGBM model text, per-iteration metrics, importances"),)
    Params = GBDTParams
    Messages = TrainingMessages

    def run(self, ctx, inputs, params):
        import lightgbm as lgb

        features, view = matrix_view(inputs["features"], "gbdt")
        valid = inputs.get("valid_features")
        valid = matrix_view(valid, "gbdt")[0] if valid is not None else None
        y = require_label(features)
        if params.early_stopping_rounds and valid is None:
            raise OperatorError("early stopping needs the valid_features input connected",
                                field="early_stopping_rounds")
        names = list(features.names)
        categorical = [names.index(c) for c in features.categorical if c in names]
        safe_names = [f"f{j}" for j in range(len(names))]  # LightGBM refuses ':' and '=' in feature names
        train = lgb.Dataset(features.X, label=y, feature_name=safe_names, categorical_feature=categorical,
                            params={"max_bin": params.max_bin, "verbosity": -1}, free_raw_data=True)
        valid_sets, valid_names = [], []
        if params.record_train_metrics:
            valid_sets.append(train)
            valid_names.append("train")
        if valid is not None:
            yv = require_label(valid, "valid_features")
            if list(valid.names) != names:
                raise OperatorError("valid_features were made with a different feature state than features",
                                    port="valid_features")
            valid_sets.append(lgb.Dataset(valid.X, label=yv, reference=train))
            valid_names.append("valid")
        evals: dict = {}

        def report(env):
            if ctx.cancelled:
                raise Cancelled(f"node {ctx.node_id!r} was cancelled")
            ctx.progress((env.iteration + 1) / env.end_iteration, f"tree {env.iteration + 1}/{env.end_iteration}")

        callbacks = [lgb.record_evaluation(evals), report]
        if params.early_stopping_rounds:
            callbacks.append(lgb.early_stopping(params.early_stopping_rounds, first_metric_only=True, verbose=False))
        booster = lgb.train(lightgbm_params(params), train, num_boost_round=params.n_estimators,
                            valid_sets=valid_sets, valid_names=valid_names, callbacks=callbacks)
        best = int(booster.best_iteration or 0) if params.early_stopping_rounds else 0
        ctx.log(f"{booster.num_trees()} trees" + (f", best iteration {best}" if best else ""))
        return {"model": lightgbm_model(booster, features, view, params.model_dump(mode="json"), evals, best)}


def lightgbm_model(booster, features, view: str | None, params: dict, evals: dict, best: int = 0) -> Fitted:
    """The model port's value for a trained LightGBM booster (train_gbdt and automl_gbdt)."""
    evals_json = {part: {metric: [float(v) for v in values] for metric, values in metrics.items()}
                  for part, metrics in evals.items()}
    return Fitted("lightgbm",
                  meta={"feature_names": list(features.names), "categorical": list(features.categorical),
                        "label": features.label_name, "best_iteration": best or None, "evals": evals_json,
                        "params": params, "feature_view": view},
                  arrays={"importance_gain": booster.feature_importance("gain").astype(np.float64),
                          "importance_split": booster.feature_importance("split").astype(np.float64)},
                  texts={"model": booster.model_to_string(num_iteration=best or None)})

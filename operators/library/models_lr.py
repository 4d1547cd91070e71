"""Logistic regression (scikit-learn), stored as coefficients, never as a pickled estimator."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..tables import binary_label, require_columns, require_rows
from ..values import Fitted


def numeric_matrix(model: Fitted, table: pd.DataFrame) -> np.ndarray:
    """The transform kernel of the skeleton's LR: the model's columns, missing values filled with the
    training medians, standardised with the training means and scales."""
    columns = model.meta["columns"]
    require_columns(table, columns, field="table", port="table")
    X = np.empty((len(table), len(columns)), dtype=np.float64)
    for j, column in enumerate(columns):
        try:
            X[:, j] = pd.to_numeric(table[column], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            raise OperatorError(f"column {column!r} must be numeric", column=column, port="table")
    X = np.where(np.isnan(X), model.arrays["fill"], X)
    return (X - model.arrays["mean"]) / model.arrays["scale"]


def lr_probability(model: Fitted, table: pd.DataFrame) -> np.ndarray:
    z = numeric_matrix(model, table) @ model.arrays["coef"] + float(model.arrays["intercept"][0])
    return 1.0 / (1.0 + np.exp(-z))


class TrainLR(Operator):
    """Fits a binary logistic regression on the numeric columns of a table. Missing values are filled with
    the training median and columns are standardised; both are part of the stored model."""

    name = "train_lr"
    category = "Model training"
    description = "Train a logistic regression (scikit-learn) on numeric columns."
    inputs = (Port("table", PortType.TABLE, "Training rows with a binary label"),)
    outputs = (Port("model", PortType.MODEL, "Coefficients, intercept and feature names"),)

    class Params(Params):
        label: str = Field("label", min_length=1, description="Name of the binary label column")
        columns: list[str] = Field(default_factory=list,
                                   description="Feature columns; empty means every numeric column but the label")
        C: float = Field(1.0, gt=0, description="Inverse regularisation strength")
        max_iter: int = Field(200, ge=1, le=100_000, description="Maximum solver iterations")

    def run(self, ctx, inputs, params):
        from sklearn.linear_model import LogisticRegression

        table = inputs["table"]
        require_rows(table)
        y = binary_label(table, params.label)
        columns = params.columns or [c for c in table.columns
                                     if c != params.label and pd.api.types.is_numeric_dtype(table[c])]
        if not columns:
            raise OperatorError("the table has no numeric feature columns", field="columns")
        require_columns(table, columns, field="columns")
        raw = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        fill = np.nan_to_num(np.nanmedian(raw, axis=0))
        filled = np.where(np.isnan(raw), fill, raw)
        mean, scale = filled.mean(axis=0), filled.std(axis=0)
        scale[scale == 0] = 1.0
        state = Fitted("lr", meta={"columns": list(columns), "label": params.label},
                       arrays={"fill": fill, "mean": mean, "scale": scale})
        ctx.progress(0.2, f"fitting on {len(table):,} rows x {len(columns)} columns")
        estimator = LogisticRegression(C=params.C, max_iter=params.max_iter)
        estimator.fit(numeric_matrix(state, table), y)
        state.arrays["coef"] = estimator.coef_[0].astype(np.float64)
        state.arrays["intercept"] = estimator.intercept_.astype(np.float64)
        return {"model": state}


class Predict(Operator):
    """Scores a table with a trained model: adds a probability column and a 0/1 label at a threshold."""

    name = "predict"
    category = "Model scoring"
    description = "Score rows with a model: probability and label at a threshold."
    inputs = (Port("model", PortType.MODEL, "A trained model"),
              Port("table", PortType.TABLE, "Rows to score"))
    outputs = (Port("table", PortType.TABLE, "The input rows plus probability and predicted label"),)

    class Params(Params):
        threshold: float = Field(0.5, ge=0, le=1, description="Probability at or above which the label is 1")
        probability_column: str = Field("probability", min_length=1, description="Name of the output column")

    def run(self, ctx, inputs, params):
        model, table = inputs["model"], inputs["table"]
        if model.kind != "lr":
            raise OperatorError(f"model kind {model.kind!r} cannot be scored by this operator", port="model")
        out = table.copy()
        out[params.probability_column] = lr_probability(model, table)
        out["predicted_label"] = (out[params.probability_column] >= params.threshold).astype(np.int8)
        return {"table": out}

"""Score a table with a model and the feature state it was trained on."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..kernels.features import model_view, state_view
from ..kernels.models import load_scorer
from ..tables import require_rows
from .features import apply_state


class Predict(Operator):
    """Scores rows: the feature state turns the table's columns into features with the shared kernel (unseen
    categories fall into the state's 'other' bucket), the model gives the probability of class 1, and the label
    is 1 where the probability reaches the threshold. A column the feature state needs but the table lacks is
    an error naming the column."""

    name = "predict"
    spark = "operators.spark.models:predict"
    category = "Model scoring"
    version = "2"
    description = "Score rows with a model and its feature state: probability and label at a threshold."
    inputs = (Port("model", PortType.MODEL, "A trained model (LR or GBDT)"),
              Port("feature_state", PortType.FEATURE_STATE, "The feature state the model was trained on"),
              Port("table", PortType.TABLE, "Rows to score"))
    outputs = (Port("table", PortType.TABLE, "The input rows plus probability and predicted label"),)

    class Params(Params):
        threshold: float = Field(0.5, ge=0, le=1, description="Probability at or above which the label is 1")
        probability_column: str = Field("probability", min_length=1, description="Name of the probability column")
        label_column: str = Field("predicted_label", min_length=1, description="Name of the predicted label column")

    def run(self, ctx, inputs, params):
        model, state, table = inputs["model"], inputs["feature_state"], inputs["table"]
        require_rows(table)
        state = state_view(state, model_view(model))
        scorer = load_scorer(model)
        if list(state.meta["names"]) != scorer.feature_names:
            raise OperatorError("the model was trained on a different feature state than the one connected",
                                port="feature_state")
        features = apply_state(table, state)
        out = table.copy()
        out[params.probability_column] = scorer.predict_proba(features.X)
        out[params.label_column] = (out[params.probability_column].to_numpy() >= params.threshold).astype(np.int8)
        ctx.log(f"scored {len(out):,} rows; mean probability {out[params.probability_column].mean():.4f}")
        return {"table": out}

"""Score a table with a model and the feature state it was trained on."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..kernels.features import model_view, state_view
from ..kernels.models import load_scorer
from ..labels import THRESHOLD_HINT, predicted_values
from ..tables import mark_scored_label, require_rows
from .features import apply_state


class Predict(Operator):
    """Scores rows: the feature state turns the table's columns into features with the shared kernel (unseen
    categories fall into the state's 'other' bucket), the model gives the probability of the positive class, and
    the predicted label is the positive class where the probability reaches the threshold, in the label's own
    values ("yes" / "no") as the feature state keeps them and as a published deployment answers (0/1 labels stay
    0/1; operators/labels.py's predicted_values). A column the feature state needs but the table lacks is an
    error naming the column."""

    name = "predict"
    spark = "operators.spark.models:predict"
    category = "Model scoring"
    version = "3"  # 3: predicted labels in the label's own values
    accepts_versions = ("2",)  # saved pipelines pin "2": the same ports and params, now the label's values
    description = "Score rows with a model and its feature state: probability and label at a threshold."
    inputs = (Port("model", PortType.MODEL, "A trained model (LR or GBDT)"),
              Port("feature_state", PortType.FEATURE_STATE, "The feature state the model was trained on"),
              Port("table", PortType.TABLE, "Rows to score"))
    outputs = (Port("table", PortType.TABLE, "The input rows plus probability and predicted label"),)

    class Params(Params):
        threshold: float = Field(0.5, ge=0, le=1, description=THRESHOLD_HINT)
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
        positive = out[params.probability_column].to_numpy() >= params.threshold
        out[params.label_column] = predicted_values(positive, state.meta.get("label_classes"), zero_one=np.int8)
        mark_scored_label(out, state.meta.get("label"))  # evaluate's true label when its own is left empty
        ctx.log(f"scored {len(out):,} rows; mean probability {out[params.probability_column].mean():.4f}")
        return {"table": out}

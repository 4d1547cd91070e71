"""Evaluate binary classification scores."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..tables import binary_label, require_columns, require_rows
from ..values import Report


class EvaluateBinary(Operator):
    """Computes AUC and logloss of scored rows and draws the ROC curve."""

    name = "evaluate_binary"
    category = "Model evaluation"
    description = "AUC, logloss and ROC of a binary classifier's scores."
    inputs = (Port("table", PortType.TABLE, "Scored rows: a label and a probability column"),)
    outputs = (Port("metrics", PortType.METRICS, "AUC, logloss, row count"),
               Port("report", PortType.REPORT, "ROC curve"))

    class Params(Params):
        label: str = Field("label", min_length=1, description="Name of the true label column")
        probability_column: str = Field("probability", min_length=1, description="Name of the score column")

    def run(self, ctx, inputs, params):
        from sklearn.metrics import log_loss, roc_auc_score, roc_curve

        table = inputs["table"]
        require_rows(table)
        y = binary_label(table, params.label)
        require_columns(table, [params.probability_column], field="probability_column")
        p = table[params.probability_column].to_numpy(dtype=np.float64)
        if len(np.unique(y)) < 2:
            raise OperatorError(f"label column {params.label!r} holds one class only; AUC is undefined",
                                field="label", column=params.label)
        auc = float(roc_auc_score(y, p))
        metrics = {"auc": auc, "logloss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15))), "rows": int(len(y))}
        fpr, tpr, _ = roc_curve(y, p)
        figure = {
            "data": [{"type": "scatter", "mode": "lines", "name": f"ROC (AUC {auc:.3f})",
                      "x": fpr.tolist(), "y": tpr.tolist()},
                     {"type": "scatter", "mode": "lines", "name": "chance", "x": [0, 1], "y": [0, 1],
                      "line": {"dash": "dash"}}],
            "layout": {"title": {"text": "ROC"}, "xaxis": {"title": {"text": "False positive rate"}},
                       "yaxis": {"title": {"text": "True positive rate"}}},
        }
        return {"metrics": metrics, "report": Report(figures={"roc": figure})}

"""Evaluate binary classification scores: metrics (scikit-learn for the math) and plotly figure JSON."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from pydantic import Field

from ..contract import Message, Messages, Operator, OperatorError, Params, Port, PortType
from ..labels import POSITIVE_RULE, LabelClasses, encode_label, plain
from ..tables import require_columns, require_rows, scored_label, true_label
from ..values import Fitted, Report

MAX_POINTS = 400  # points per curve sent to the browser
COLORS = ("#1f77b4", "#d62728")


def thin_curve(*arrays: np.ndarray, limit: int = MAX_POINTS):
    """Keep at most `limit` points of a curve, always the first and the last."""
    n = len(arrays[0])
    if n <= limit:
        return arrays
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return tuple(a[keep] for a in arrays)


class Curves(NamedTuple):
    """The ROC and precision-recall curves of one scored set (scikit-learn's, thresholds dropped)."""

    fpr: np.ndarray
    tpr: np.ndarray
    precision: np.ndarray
    recall: np.ndarray


def binary_curves(y: np.ndarray, p: np.ndarray) -> Curves:
    """Each curve sorts every score: made once per scored set and shared by the metrics and the charts (AUC, KS
    and PR-AUC were computing them again, five sorts where two do)."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    return Curves(fpr, tpr, precision, recall)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0  # scikit-learn's zero_division=0


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float, curves: Curves | None = None) -> dict:
    """scikit-learn's metrics, bit for bit: AUC and PR-AUC integrate the shared curves as roc_auc_score and
    average_precision_score do, and the threshold metrics come from one confusion count."""
    from sklearn.metrics import auc, brier_score_loss, log_loss

    fpr, tpr, precision, recall = curves if curves is not None else binary_curves(y, p)
    predicted, positive = p >= threshold, y == 1
    tp = int(np.count_nonzero(predicted & positive))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(positive)) - tp
    tn = len(y) - tp - fp - fn
    return {
        "auc": float(auc(fpr, tpr)),
        "logloss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "ks": float(np.max(tpr - fpr)),
        "pr_auc": float(max(0.0, -np.sum(np.diff(recall) * precision[:-1]))),
        "brier": float(brier_score_loss(y, p)),
        "accuracy": (tp + tn) / len(y),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2.0 * tp, 1.0 * (tp + fn) + (tp + fp)),
        "threshold": float(threshold),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "rows": int(len(y)), "positive_rate": float(np.mean(y)),
    }


def line_trace(name, x, y, color, **extra) -> dict:
    return {"type": "scatter", "mode": "lines", "name": name, "x": np.asarray(x).tolist(),
            "y": np.asarray(y).tolist(), "line": {"color": color, **extra.pop("line", {})}, **extra}


def ks_traces(name, cut, neg, pos, color) -> list[dict]:
    """The KS chart's traces for one model: each class's cumulative share below each threshold `cut`, and a
    marker at the widest gap (the KS statistic)."""
    gap = np.abs(neg - pos)
    k = int(np.argmax(gap))
    return [line_trace(f"{name}: negatives", cut, neg, color),
            line_trace(f"{name}: positives", cut, pos, color, line={"dash": "dot"}),
            {"type": "scatter", "mode": "markers+text", "name": f"{name}: KS {gap[k]:.3f}",
             "x": [float(cut[k]), float(cut[k])], "y": [float(neg[k]), float(pos[k])], "marker": {"color": color}}]


# The legend in a row at the bottom of the figure, below the x axis's title: plotly's default place for a
# horizontal legend (just under the plot area) drew it over that title ("False positive rate", "Score").
LEGEND = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0, "xanchor": "left"}


def _layout(title, x, y, **extra) -> dict:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": y}},
            "legend": dict(LEGEND), **extra}


def fit_categories(figure: dict, row_px: int = 18, room_px: int = 170) -> None:
    """A horizontal bar chart tall enough for a label on every bar, every category named (plotly skipped every
    other label when two models' top features shared 520 px, so the longest bar had no name)."""
    names = {name for trace in figure["data"] for name in trace["y"]}
    figure["layout"]["height"] = max(360, row_px * len(names) + room_px)
    figure["layout"]["yaxis"].update({"dtick": 1, "automargin": True})


def curve_figures(scored: list[tuple[str, np.ndarray, np.ndarray, Curves]]) -> dict[str, dict]:
    """ROC, PR, KS, cumulative gain / lift, calibration and score distribution of one or two scored sets, each
    (name, labels, scores, its binary_curves)."""
    from sklearn.calibration import calibration_curve

    figs = {k: {"data": [], "layout": {}} for k in ("roc", "pr", "ks", "gain", "lift", "calibration",
                                                  "score_distribution")}
    for (name, y, p, (fpr, tpr, precision, recall)), color in zip(scored, COLORS, strict=False):
        auc = float(np.trapezoid(tpr, fpr))
        x, t = thin_curve(fpr, tpr)
        figs["roc"]["data"].append(line_trace(f"{name} (AUC {auc:.3f})", x, t, color))
        r, pr = thin_curve(recall[::-1], precision[::-1])
        figs["pr"]["data"].append(line_trace(name, r, pr, color))
        # KS: cumulative share of each class below a score threshold
        cut = np.linspace(0, 1, 201)
        neg = np.searchsorted(np.sort(p[y == 0]), cut, side="right") / max(1, int((y == 0).sum()))
        pos = np.searchsorted(np.sort(p[y == 1]), cut, side="right") / max(1, int((y == 1).sum()))
        figs["ks"]["data"] += ks_traces(name, cut, neg, pos, color)
        # gain and lift by population share, highest scores first
        ranked = y[np.argsort(-p, kind="stable")]
        share = np.arange(1, len(ranked) + 1) / len(ranked)
        gain = np.cumsum(ranked) / max(1, ranked.sum())
        s, g = thin_curve(share, gain)
        figs["gain"]["data"].append(line_trace(name, np.r_[0, s], np.r_[0, g], color))
        deciles = np.arange(1, 11) / 10
        at = np.clip((deciles * len(ranked)).astype(int) - 1, 0, len(ranked) - 1)
        figs["lift"]["data"].append({"type": "bar", "name": name, "x": (deciles * 100).tolist(),
                                     "y": (gain[at] / deciles).tolist(), "marker": {"color": color}})
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
        figs["calibration"]["data"].append({"type": "scatter", "mode": "lines+markers", "name": name,
                                            "x": prob_pred.tolist(), "y": prob_true.tolist(),
                                            "line": {"color": color}})
        bins = np.linspace(0, 1, 51)
        for cls, dash in ((0, 0.35), (1, 0.75)):
            counts, _ = np.histogram(p[y == cls], bins=bins)
            figs["score_distribution"]["data"].append(
                {"type": "bar", "name": f"{name}: class {cls}", "x": ((bins[:-1] + bins[1:]) / 2).tolist(),
                 "y": counts.tolist(), "opacity": dash + 0.2, "marker": {"color": color}})
    return finish_curve_figures(figs)


def finish_curve_figures(figs: dict[str, dict]) -> dict[str, dict]:
    """Reference lines and layouts of the curve charts; shared by the local and the Spark evaluate."""
    diagonal = {"type": "scatter", "mode": "lines", "name": "chance", "x": [0, 1], "y": [0, 1],
                "line": {"dash": "dash", "color": "#999"}}
    figs["roc"]["data"].append(diagonal)
    figs["gain"]["data"].append({**diagonal, "name": "random"})
    figs["calibration"]["data"].append({**diagonal, "name": "perfect"})
    figs["roc"]["layout"] = _layout("ROC", "False positive rate", "True positive rate")
    figs["pr"]["layout"] = _layout("Precision-recall", "Recall", "Precision")
    figs["ks"]["layout"] = _layout("KS: cumulative share by score", "Score", "Cumulative share")
    figs["gain"]["layout"] = _layout("Cumulative gain", "Share of rows, highest scores first",
                                     "Share of positives")
    figs["lift"]["layout"] = _layout("Lift by decile", "Top % of rows", "Lift", barmode="group")
    figs["calibration"]["layout"] = _layout("Calibration", "Mean predicted probability", "Observed positive rate")
    figs["score_distribution"]["layout"] = _layout("Score distribution by class", "Probability", "Rows",
                                                   barmode="overlay")
    return figs


def evaluate_inputs(inputs, params, score):
    """What evaluate does alike on both engines: pair each scored table with its optional model, name them,
    collect metrics (the second model's prefixed b_) and confusion tables. `score(table, port, label)` is the
    engine's part: it returns (binary metrics, the entry its curve charts take, the label column it read);
    `label` is the node's, else the label the connected model was trained on, else None (the engine asks
    true_label, which reads predict's mark on the table)."""
    scored, models, metrics, tables, labels = [], [], {}, {}, []
    for suffix, default in (("", "model"), ("_b", "model B")):
        table = inputs.get(f"table{suffix}")
        if table is None:
            if inputs.get(f"model{suffix}") is not None:
                raise OperatorError(f"model{suffix} is connected but table{suffix} is not", port=f"table{suffix}")
            continue
        model = inputs.get(f"model{suffix}")
        name = getattr(params, f"name{suffix}") or (model.kind if model is not None else default)
        if scored and name == scored[0][0]:
            name = f"{name} (B)"
        label = params.label or (model.meta.get("label") if model is not None else None) or None
        values, entry, label = score(table, f"table{suffix}", label)
        labels.append(label)
        prefix = "b_" if suffix else ""
        metrics.update({prefix + k: v for k, v in values.items()})
        tables[f"confusion{suffix}"] = [
            {"actual": "1", "predicted 1": values["tp"], "predicted 0": values["fn"]},
            {"actual": "0", "predicted 1": values["fp"], "predicted 0": values["tn"]}]
        scored.append((name, entry))
        if model is not None:
            models.append((name, model))
    metrics["model"] = scored[0][0]
    positive = metrics.get("positive_class")
    if len(scored) == 2:
        metrics["model_b"] = scored[1][0]
    text = "; ".join(f"{name}: AUC {metrics[('b_' if i else '') + 'auc']:.4f}" for i, (name, _) in enumerate(scored))
    if not params.label:
        text += "; true label: column " + " and ".join(repr(c) for c in dict.fromkeys(labels))
    if positive is not None:
        how = "as asked" if params.positive else "by the rule: 1, true, yes, else the minority class"
        text += f"; positive class: {positive!r} ({how}), negative: {metrics.get('negative_class')!r}"
    return metrics, tables, scored, models, text


def class_metrics(classes: LabelClasses | None) -> dict:
    """The label's values beside the metrics, so the report says which class the curves are about."""
    if classes is None:
        return {}
    return {"positive_class": plain(classes.positive), "negative_class": plain(classes.negative)}


def model_figures(models: list[tuple[str, Fitted]], top: int = 20) -> dict[str, dict]:
    """Logloss and AUC by boosting iteration (LightGBM models) and feature importance (both kinds)."""
    figs = {}
    iteration = {"data": [], "layout": _layout("Logloss and AUC by iteration", "Iteration", "Logloss",
                                               yaxis2={"title": {"text": "AUC"}, "overlaying": "y",
                                                       "side": "right"})}
    importance = {"data": [], "layout": _layout(f"Feature importance (top {top})", "Importance (normalised)", "",
                                                barmode="group")}
    for (name, model), color in zip(models, COLORS, strict=False):
        names = model.meta.get("feature_names", [])
        if model.kind == "lightgbm":
            for part, metrics in model.meta.get("evals", {}).items():
                dash = "solid" if part == "valid" else "dot"
                for metric, axis in (("binary_logloss", "y"), ("auc", "y2")):
                    values = metrics.get(metric)
                    if values:
                        iteration["data"].append(line_trace(f"{name}: {part} {metric.replace('binary_', '')}",
                                                            np.arange(1, len(values) + 1), values, color,
                                                            line={"dash": dash}, yaxis=axis))
            weight = np.asarray(model.arrays.get("importance_gain", np.zeros(len(names))), dtype=np.float64)
        else:
            weight = np.abs(np.asarray(model.arrays["coef"], dtype=np.float64))
        if len(names) and weight.sum() > 0:
            best = np.argsort(-weight, kind="stable")[:top][::-1]
            importance["data"].append({"type": "bar", "orientation": "h", "name": name,
                                       "x": (weight[best] / weight.sum()).tolist(),
                                       "y": [names[j] for j in best], "marker": {"color": color}})
    if iteration["data"]:
        figs["iterations"] = iteration
    if importance["data"]:
        fit_categories(importance)
        figs["importance"] = importance
    return figs


class EvaluateMessages(Messages):
    """evaluate_binary's messages, on either engine."""

    one_class = Message("label column {column!r} holds one class only; AUC is undefined")


class EvaluateBinary(Operator):
    """Evaluates a binary classifier's scores: AUC, logloss, KS, PR-AUC, Brier, and accuracy / precision /
    recall / F1 and the confusion matrix at a threshold. Charts: ROC, precision-recall, KS, cumulative gain,
    lift, calibration, score distribution by class; with a model connected, logloss and AUC by boosting
    iteration and feature importance. A second scored table (and model) puts two models on the same charts;
    its metrics carry the prefix `b_`."""

    name = "evaluate_binary"
    spark = "operators.spark.evaluate:evaluate_binary"
    category = "Model evaluation"
    version = "2"
    description = "Metrics and charts (ROC, PR, KS, lift, calibration) of one or two binary classifiers."
    inputs = (Port("table", PortType.TABLE, "Scored rows: the true label and a probability column"),
              Port("table_b", PortType.TABLE, "Optional second scored table, compared on the same charts",
                   optional=True),
              Port("model", PortType.MODEL, "Optional: the model behind `table`, for iteration and importance "
                   "charts", optional=True),
              Port("model_b", PortType.MODEL, "Optional: the model behind `table_b`", optional=True))
    outputs = (Port("metrics", PortType.METRICS, "AUC, logloss, KS, PR-AUC, Brier, threshold metrics"),
               Port("report", PortType.REPORT, "Plotly charts and the confusion matrices"))

    Messages = EvaluateMessages

    class Params(Params):
        label: str = Field("", description="Name of the true label column (any two values); empty: the label "
                           "the model was trained on (from the model input, or the table predict scored)")
        positive: str = Field("", max_length=200, description=POSITIVE_RULE[0].upper() + POSITIVE_RULE[1:])
        probability_column: str = Field("probability", min_length=1, description="Name of the score column")
        threshold: float = Field(0.5, ge=0, le=1, description="Threshold for accuracy, precision, recall, F1")
        name: str = Field("", description="Name of the first model on the charts; empty uses the model's kind")
        name_b: str = Field("", description="Name of the second model; empty uses the model's kind")

    def _scored(self, table, params, port, label):
        require_rows(table, port=port)
        label = true_label(label, scored_label(table), list(table.columns), port=port)
        y, classes = encode_label(table, label, params.positive, port=port)
        require_columns(table, [params.probability_column], field="probability_column", port=port)
        column = table[params.probability_column]
        try:
            p = column.to_numpy(dtype=np.float64)
        except (TypeError, ValueError):
            raise OperatorError(f"column {params.probability_column!r} must hold numbers", port=port,
                                field="probability_column", column=params.probability_column) from None
        if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
            raise OperatorError(f"column {params.probability_column!r} must hold probabilities in [0, 1] with no "
                                "missing values", field="probability_column", column=params.probability_column,
                                port=port)
        if len(np.unique(y)) < 2:
            raise EvaluateMessages.one_class(field="label", column=label, port=port)
        return y, p, classes, label

    def run(self, ctx, inputs, params):
        def score(table, port, label):
            y, p, classes, label = self._scored(table, params, port, label)
            curves = binary_curves(y, p)
            metrics = {**binary_metrics(y, p, params.threshold, curves), **class_metrics(classes)}
            return metrics, (y, p, curves), label

        metrics, tables, scored, models, text = evaluate_inputs(inputs, params, score)
        figures = curve_figures([(name, *entry) for name, entry in scored])
        figures.update(model_figures(models))
        ctx.log(text)
        return {"metrics": metrics, "report": Report(figures=figures, tables=tables, text=text)}

"""Evaluation on Spark: metrics and curves from a binned aggregation; no row travels to the driver.

Scores are cut into BINS equal-width bins on [0, 1]; one aggregation counts positives and negatives per
bin, and sums the exact logloss and Brier terms. AUC from the bins treats scores within one bin as ties,
so it differs from the exact AUC by at most half the share of positive-negative pairs that share a bin
(below 1e-4 on real score distributions at 10,000 bins); logloss, Brier and counts are exact.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..contract import OperatorError
from ..labels import LabelClasses
from ..values import Report

BINS = 10_000
EPS = 1e-15


@dataclass
class BinnedScores:
    positives: np.ndarray  # per bin, lowest scores first
    negatives: np.ndarray
    score_sums: np.ndarray  # sum of the scores in each bin (calibration)
    logloss_sum: float
    brier_sum: float
    confusion: dict[str, int] = field(default_factory=dict)  # tp, fp, tn, fn at the threshold, exact
    classes: LabelClasses | None = None  # the label's values, negative and positive

    @property
    def rows(self) -> int:
        return int(self.positives.sum() + self.negatives.sum())

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """False and true positive rates, thresholds from the highest bin down, starting at (0, 0)."""
        tp = np.concatenate([[0.0], np.cumsum(self.positives[::-1])])
        fp = np.concatenate([[0.0], np.cumsum(self.negatives[::-1])])
        return fp / max(fp[-1], 1.0), tp / max(tp[-1], 1.0)

    def auc(self) -> float:
        fpr, tpr = self.roc()
        return float(np.trapezoid(tpr, fpr))

    def ks(self) -> float:
        fpr, tpr = self.roc()
        return float(np.max(tpr - fpr))

    def pr(self) -> tuple[np.ndarray, np.ndarray]:
        """Recall and precision at each bin threshold, highest scores first."""
        tp = np.cumsum(self.positives[::-1])
        predicted = tp + np.cumsum(self.negatives[::-1])
        keep = predicted > 0
        return tp[keep] / max(tp[-1], 1.0), tp[keep] / predicted[keep]

    def average_precision(self) -> float:
        recall, precision = self.pr()
        return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def binary_label_column(df, label: str, positive: str = ""):
    """The label as a 0/1 double column (1: the positive class, by operators/labels.py's rule)."""
    from .labels import spark_label

    return spark_label(df, label, positive)[0]


def binned_scores(df, label: str, probability: str, threshold: float = 0.5, port: str = "table",
                  positive: str = "") -> BinnedScores:
    """The bins of one scored table from one aggregation grouped by (label value, score bin): the label's value
    counts (which decide its classes, operators/labels.py) are the groups' counts, so the classes cost no job of
    their own; each group's sums are split into the y = 1 and y = 0 terms once the classes are known."""
    import pyarrow.compute as pc
    from pyspark.sql import functions as F

    from ..labels import choose_classes
    from .labels import spark_label

    if label not in df.columns:
        spark_label(df, label, positive, port=port)  # raises the error naming the column
    if probability not in df.columns:
        raise OperatorError(f"column {probability!r} (from probability_column) is not in the {port!r} input",
                            field="probability_column", column=probability, port=port)
    if dict(df.dtypes)[probability] in ("string", "boolean", "date", "timestamp"):
        raise OperatorError(f"column {probability!r} must hold numbers", port=port, field="probability_column",
                            column=probability)
    p = F.col("p")
    clipped = F.least(F.greatest(p, F.lit(EPS)), F.lit(1 - EPS))
    scored = df.select(F.col(label).alias("label"), F.col(probability).cast("double").alias("p"))
    groups = (scored.groupBy("label", F.least(F.greatest(F.floor(p * BINS), F.lit(0)), F.lit(BINS - 1))
                             .cast("int").alias("bin"))
              .agg(F.count(F.lit(1)).alias("n"), F.sum(p).alias("ps"), F.sum(F.log(clipped)).alias("log_p"),
                   F.sum(F.log(1 - clipped)).alias("log_q"), F.sum(p * p).alias("brier0"),
                   F.sum((1 - p) ** 2).alias("brier1"), F.sum((p >= threshold).cast("long")).alias("above"),
                   F.sum(F.when(F.isnan(p) | F.isnull(p) | (p < 0) | (p > 1), 1).otherwise(0)).alias("bad"))
              .limit(2 * BINS + 1).toArrow())  # columns, not 20,000 Row objects
    if not groups.num_rows:
        raise OperatorError(f"the {port!r} input has no rows", port=port)
    if groups.num_rows > 2 * BINS:  # more than two label values: spark_label counts them for its error
        spark_label(df, label, positive, port=port)
    labels = groups.column("label").to_pylist()
    counts: dict = {}
    for value, n in zip(labels, groups.column("n").to_pylist(), strict=True):
        counts[value] = counts.get(value, 0) + n
    classes = choose_classes({v: n for v, n in counts.items() if v is not None}, counts.get(None, 0), label,
                             positive, port=port)
    if pc.sum(groups.column("bad")).as_py():
        raise OperatorError(f"column {probability!r} must hold probabilities in [0, 1] with no missing values",
                            field="probability_column", column=probability, port=port)
    return _bins(groups, labels, classes)


def _bins(groups, labels: list, classes) -> BinnedScores:
    """BinnedScores from the (label value, bin) groups (an Arrow table; `labels` its label values), y = 1 for the
    positive class."""
    def column(name):
        return groups.column(name).to_numpy(zero_copy_only=False)

    positive = np.array([classes.positive is not None and v == classes.positive for v in labels], dtype=bool)
    bins, n, above = column("bin"), column("n").astype(np.float64), column("above")
    positives = np.bincount(bins[positive], weights=n[positive], minlength=BINS)
    negatives = np.bincount(bins[~positive], weights=n[~positive], minlength=BINS)
    sums = np.bincount(bins, weights=column("ps"), minlength=BINS)
    logloss = -(float(column("log_p")[positive].sum()) + float(column("log_q")[~positive].sum()))
    brier = float(column("brier1")[positive].sum()) + float(column("brier0")[~positive].sum())
    tp, fp = int(above[positive].sum()), int(above[~positive].sum())
    confusion = {"tp": tp, "fp": fp, "fn": int(positives.sum()) - tp, "tn": int(negatives.sum()) - fp}
    return BinnedScores(positives, negatives, sums, logloss, brier, confusion, classes)


def binned_metrics(b: BinnedScores, threshold: float) -> dict:
    """The metrics of operators.library.evaluate.binary_metrics, from the bins."""
    tp, fp, tn, fn = (b.confusion[k] for k in ("tp", "fp", "tn", "fn"))
    rows = b.rows
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"auc": b.auc(), "logloss": b.logloss_sum / rows, "ks": b.ks(), "pr_auc": b.average_precision(),
            "brier": b.brier_sum / rows, "accuracy": (tp + tn) / rows, "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "threshold": float(threshold), "tp": tp, "fp": fp, "tn": tn, "fn": fn, "rows": rows,
            "positive_rate": float(b.positives.sum() / rows), "auc_bins": BINS}


def binned_figures(scored: list[tuple[str, BinnedScores]]) -> dict[str, dict]:
    """The charts of operators.library.evaluate.curve_figures, drawn from the bins."""
    from ..library.evaluate import COLORS, line_trace, thin_curve, finish_curve_figures, ks_traces

    figs = {k: {"data": [], "layout": {}} for k in ("roc", "pr", "ks", "gain", "lift", "calibration",
                                                  "score_distribution")}
    edges = np.arange(1, BINS + 1) / BINS  # upper edge of each bin
    for (name, b), color in zip(scored, COLORS, strict=False):
        fpr, tpr = b.roc()
        x, t = thin_curve(fpr, tpr)
        figs["roc"]["data"].append(line_trace(f"{name} (AUC {b.auc():.3f})", x, t, color))
        recall, precision = b.pr()
        r, pr = thin_curve(recall, precision)
        figs["pr"]["data"].append(line_trace(name, r, pr, color))
        cut = np.linspace(0, 1, 201)
        at = np.clip(np.searchsorted(edges, cut, side="left"), 0, BINS - 1)
        neg = np.cumsum(b.negatives)[at] / max(1.0, b.negatives.sum())
        pos = np.cumsum(b.positives)[at] / max(1.0, b.positives.sum())
        figs["ks"]["data"] += ks_traces(name, cut, neg, pos, color)
        counts = (b.positives + b.negatives)[::-1]
        share = np.cumsum(counts) / b.rows
        gain = np.cumsum(b.positives[::-1]) / max(1.0, b.positives.sum())
        nonempty = counts > 0
        s, g = thin_curve(share[nonempty], gain[nonempty])
        figs["gain"]["data"].append(line_trace(name, np.r_[0, s], np.r_[0, g], color))
        deciles = np.arange(1, 11) / 10
        lift = np.interp(deciles, np.r_[0, share[nonempty]], np.r_[0, gain[nonempty]]) / deciles
        figs["lift"]["data"].append({"type": "bar", "name": name, "x": (deciles * 100).tolist(),
                                     "y": lift.tolist(), "marker": {"color": color}})
        group = np.minimum((np.cumsum(b.positives + b.negatives) / b.rows * 10).astype(int), 9)
        totals = np.bincount(group, weights=b.positives + b.negatives, minlength=10)
        keep = totals > 0
        predicted = np.bincount(group, weights=b.score_sums, minlength=10)[keep] / totals[keep]
        observed = np.bincount(group, weights=b.positives, minlength=10)[keep] / totals[keep]
        figs["calibration"]["data"].append({"type": "scatter", "mode": "lines+markers", "name": name,
                                            "x": predicted.tolist(), "y": observed.tolist(),
                                            "line": {"color": color}})
        coarse = np.linspace(0, 1, 51)
        for cls, counts_of, opacity in ((0, b.negatives, 0.35), (1, b.positives, 0.75)):
            histogram = counts_of.reshape(50, BINS // 50).sum(axis=1)
            figs["score_distribution"]["data"].append(
                {"type": "bar", "name": f"{name}: class {cls}", "x": ((coarse[:-1] + coarse[1:]) / 2).tolist(),
                 "y": histogram.astype(int).tolist(), "opacity": opacity + 0.2, "marker": {"color": color}})
    return finish_curve_figures(figs)


def evaluate_binary(ctx, inputs, params):
    """The local operator's metrics, tables and charts, from one binned aggregation per scored table."""
    from ..library.evaluate import EvaluateMessages, class_metrics, evaluate_inputs, model_figures
    from ..tables import true_label
    from .tables import spark_scored_label

    def score(table, port, label):
        label = true_label(label, spark_scored_label(table), list(table.columns), port=port)
        binned = binned_scores(table, label, params.probability_column, params.threshold, port, params.positive)
        if binned.positives.sum() == 0 or binned.negatives.sum() == 0:
            raise EvaluateMessages.one_class(field="label", column=label, port=port)
        return {**binned_metrics(binned, params.threshold), **class_metrics(binned.classes)}, binned, label

    metrics, tables, scored, models, text = evaluate_inputs(inputs, params, score)
    figures = binned_figures(scored)
    figures.update(model_figures(models))
    ctx.log(text + f" (Spark, {BINS:,} score bins)")
    return {"metrics": metrics, "report": Report(figures=figures, tables=tables, text=text)}

"""evaluate_binary on Spark reads the label's classes from its binned aggregation, grouped by (label value, score
bin): one aggregation (its adaptive map stage and its result, 2 jobs; 4 with a separate label count), the
metrics of the exact computation, and the label rule's errors as before."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from operators import OperatorError
from operators.spark.evaluate import binned_metrics, binned_scores

from .jobs import jobs_of


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(0)
    p = rng.random(20_000)
    return pd.DataFrame({"y": np.where(rng.random(20_000) < p, "yes", "no"), "prob": p})


def test_one_aggregation_gives_the_classes_and_the_exact_metrics(spark, scored):
    df = spark.createDataFrame(scored)
    out = []
    assert jobs_of(spark, lambda: out.append(binned_scores(df, "y", "prob"))) == 2
    binned = out[0]
    assert (binned.classes.positive, binned.classes.negative) == ("yes", "no")
    metrics = binned_metrics(binned, 0.5)
    y = (scored["y"] == "yes").to_numpy()
    assert metrics["logloss"] == pytest.approx(log_loss(y, scored["prob"]), rel=1e-9)
    assert metrics["brier"] == pytest.approx(brier_score_loss(y, scored["prob"]), rel=1e-9)
    assert metrics["auc"] == pytest.approx(roc_auc_score(y, scored["prob"]), abs=1e-4)
    predicted = scored["prob"].to_numpy() >= 0.5
    assert (metrics["tp"], metrics["fp"]) == (int((predicted & y).sum()), int((predicted & ~y).sum()))
    # the positive value named: the other class's rows are the positives
    named = binned_metrics(binned_scores(df, "y", "prob", positive="no"), 0.5)
    assert named["positive_rate"] == pytest.approx(1 - metrics["positive_rate"])
    assert named["logloss"] == pytest.approx(log_loss(~y, scored["prob"]), rel=1e-9)


def test_label_errors_are_the_label_rules(spark, scored):
    three = scored.assign(y=np.where(np.arange(len(scored)) % 3 == 0, "maybe", scored["y"]))
    with pytest.raises(OperatorError, match=r"must hold two values; it holds 3") as error:
        binned_scores(spark.createDataFrame(three), "y", "prob")
    assert (error.value.field, error.value.column) == ("label", "y")
    missing = scored.assign(y=scored["y"].where(np.arange(len(scored)) % 7 != 0, None))
    with pytest.raises(OperatorError, match="missing values"):
        binned_scores(spark.createDataFrame(missing), "y", "prob")
    with pytest.raises(OperatorError, match="'nope'"):
        binned_scores(spark.createDataFrame(scored), "nope", "prob")

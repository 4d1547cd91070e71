"""Training (LR, GBDT), predict and evaluate on small generated data, including bad input."""
from __future__ import annotations

import json

import numpy as np
import plotly.io
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import (accuracy_score, average_precision_score, brier_score_loss, confusion_matrix, f1_score,
                             log_loss, precision_score, recall_score, roc_auc_score, roc_curve)

import operators
from operators import OperatorError, PortType
from operators.kernels.features import matrix_view, model_view, state_view
from operators.kernels.models import load_scorer
from operators.library.features import apply_state
from tests.operators.conftest import planted_table


@pytest.fixture(scope="module")
def data():
    df = planted_table(5000, seed=1)
    return df.iloc[:3500].reset_index(drop=True), df.iloc[3500:].reset_index(drop=True)


@pytest.fixture
def fitted(run, data):
    train, _ = data
    return run("feature_extraction", {"table": train}, label="label", crosses=[["color", "shape"]], cross_dims=64)


@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", "none"])
def test_train_lr_penalties_store_coefficients_and_score_through_the_kernel(run, data, fitted, penalty):
    _, test = data
    model = run("train_lr", {"features": fitted["features"]}, penalty=penalty, C=0.5, max_iter=300)["model"]
    model = run.roundtrip(PortType.MODEL, model)
    lr_view = matrix_view(fitted["features"], "lr")[0]  # auto mode's state serves LR and GBDT: LR takes its view
    assert model.kind == "lr" and model.meta["feature_view"] == "lr" and len(model.arrays["coef"]) == len(lr_view.names)
    if penalty == "l1":
        assert (model.arrays["coef"] == 0).sum() > 0  # L1 zeroes some weights
    X = apply_state(test, state_view(fitted["feature_state"], model_view(model))).X
    scorer = load_scorer(model)
    p = scorer.predict_proba(X)
    assert roc_auc_score(test["label"], p) > 0.75
    contributions = scorer.contributions(X[:5])
    logit = np.log(p[:5] / (1 - p[:5]))
    assert np.allclose(contributions.sum(axis=1), logit)


def test_class_weights_raise_the_predicted_rate_of_the_rare_class(run, fitted):
    plain = run("train_lr", {"features": fitted["features"]})["model"]
    balanced = run("train_lr", {"features": fitted["features"]}, class_weight="balanced")["model"]
    X = matrix_view(fitted["features"], "lr")[0].X
    minority = 0 if fitted["features"].label.mean() > 0.5 else 1
    rate = lambda m: np.mean((load_scorer(m).predict_proba(X) >= 0.5) == minority)  # noqa: E731
    assert rate(balanced) > rate(plain)


def test_train_gbdt_records_iterations_stops_early_and_uses_native_categories(run, data):
    train, test = data
    fitted = run("feature_extraction", {"table": train}, label="label", mode="manual",
                 columns={"x1": ["raw"], "x2": ["raw"], "color": ["ordinal"], "shape": ["ordinal"]})
    valid = run("apply_features", {"feature_state": fitted["feature_state"], "table": test})["features"]
    model = run("train_gbdt", {"features": fitted["features"], "valid_features": valid}, n_estimators=400,
                learning_rate=0.3, early_stopping_rounds=10)["model"]
    model = run.roundtrip(PortType.MODEL, model)
    evals = model.meta["evals"]
    assert set(evals) == {"train", "valid"} and set(evals["valid"]) == {"binary_logloss", "auc"}
    assert 1 <= model.meta["best_iteration"] < 400  # stopped early
    assert model.meta["categorical"] == ["color", "shape"]
    assert "[categorical_feature: 2,3]" in model.texts["model"] and "cat_threshold" in model.texts["model"]
    scorer = load_scorer(model)
    p = scorer.predict_proba(valid.X)
    assert roc_auc_score(valid.label, p) > 0.75
    contributions = scorer.contributions(valid.X[:4])
    assert contributions.shape == (4, len(valid.names) + 1)
    assert np.allclose(contributions.sum(axis=1), np.log(p[:4] / (1 - p[:4])))


def test_training_refuses_bad_input(run, data, fitted):
    train, _ = data
    with pytest.raises(OperatorError, match="valid_features"):
        run("train_gbdt", {"features": fitted["features"]}, early_stopping_rounds=5)
    unlabelled = run("feature_extraction", {"table": train.drop(columns="label")}, label="")["features"]
    with pytest.raises(OperatorError, match="no label") as err:
        run("train_lr", {"features": unlabelled})
    assert err.value.port == "features"
    one_class = run("feature_extraction", {"table": train.assign(label=0)}, label="label")["features"]
    with pytest.raises(OperatorError, match="one class"):
        run("train_gbdt", {"features": one_class})
    raw = run("feature_extraction", {"table": train}, label="label", mode="manual", columns={"x1": ["raw"]})
    with pytest.raises(OperatorError) as err:
        run("train_lr", {"features": raw["features"]})
    assert err.value.column == "x1:raw"
    with pytest.raises(OperatorError, match="must hold two values; it holds 3"):  # any two values, not three
        run("feature_extraction", {"table": train.assign(label=[("a", "b", "c")[i % 3] for i in range(len(train))])},
            label="label")


def test_predict_answers_in_the_labels_own_values_and_evaluate_still_reads_the_table(run, data, tmp_path):
    """A yes/no label: predicted_label is "yes" / "no" as a published bundle answers (the same rule); evaluate
    downstream scores the true label and the probability as for the 0/1 label."""
    from pipelines.bundle import load_bundle, write_bundle

    train, test = (t.assign(label=np.where(t["label"] == 1, "yes", "no")) for t in data)
    fitted = run("feature_extraction", {"table": train}, label="label")
    assert fitted["feature_state"].meta["label_classes"] == ["no", "yes"]
    model = run("train_gbdt", {"features": fitted["features"]}, n_estimators=20)["model"]
    scored = run("predict", {"model": model, "feature_state": fitted["feature_state"], "table": test},
                 threshold=0.4)["table"]
    assert scored["predicted_label"].tolist() == ["yes" if p >= 0.4 else "no" for p in scored["probability"]]
    assert set(scored["predicted_label"]) == {"yes", "no"}
    bundle = load_bundle(write_bundle(tmp_path / "churn", name="churn", model=model, threshold=0.4,
                                      feature_state=fitted["feature_state"], holdout=test.drop(columns="label")))
    assert bundle.score_table(test)["label"].tolist() == scored["predicted_label"].tolist()
    evaluated = run("evaluate_binary", {"table": scored})["metrics"]
    as_numbers = run("evaluate_binary", {"table": scored.assign(label=(scored["label"] == "yes").astype(int))})
    assert evaluated["positive_class"] == "yes" and evaluated["auc"] == as_numbers["metrics"]["auc"] > 0.7


def test_predict_adds_probability_and_label_and_names_a_missing_column(run, data, fitted):
    _, test = data
    model = run("train_gbdt", {"features": fitted["features"]}, n_estimators=30)["model"]
    scored = run("predict", {"model": model, "feature_state": fitted["feature_state"], "table": test},
                 threshold=0.4)["table"]
    assert list(scored.columns[-2:]) == ["probability", "predicted_label"]
    assert ((scored["probability"] >= 0.4) == (scored["predicted_label"] == 1)).all()
    assert scored.drop(columns=["probability", "predicted_label"]).equals(test)
    with pytest.raises(OperatorError) as err:
        run("predict", {"model": model, "feature_state": fitted["feature_state"], "table": test.drop(columns="shape")})
    assert err.value.column == "shape"
    other_state = run("feature_extraction", {"table": test}, label="label", mode="manual",
                      columns={"x1": ["standardize"]})["feature_state"]
    with pytest.raises(OperatorError, match="different feature state"):
        run("predict", {"model": model, "feature_state": other_state, "table": test})
    with pytest.raises(OperatorError, match="no rows"):
        run("predict", {"model": model, "feature_state": fitted["feature_state"], "table": test.iloc[:0]})


EXPECTED_FIGURES = {"roc", "pr", "ks", "gain", "lift", "calibration", "score_distribution", "iterations", "importance"}


def test_evaluate_metrics_match_scikit_learn_and_every_chart_loads_in_plotly(run, data, fitted):
    _, test = data
    state = fitted["feature_state"]
    gbdt = run("train_gbdt", {"features": fitted["features"]}, n_estimators=40)["model"]
    lr = run("train_lr", {"features": fitted["features"]})["model"]
    a = run("predict", {"model": gbdt, "feature_state": state, "table": test})["table"]
    b = run("predict", {"model": lr, "feature_state": state, "table": test})["table"]
    out = run("evaluate_binary", {"table": a, "table_b": b, "model": gbdt, "model_b": lr}, name="GBDT", name_b="LR")
    m = out["metrics"]
    y, p = test["label"].to_numpy(), a["probability"].to_numpy()
    assert m["auc"] == roc_auc_score(y, p)  # to the last bit: the curves are shared, not approximated
    assert m["b_auc"] == roc_auc_score(y, b["probability"])
    assert m["logloss"] == pytest.approx(log_loss(y, p))
    assert m["pr_auc"] == average_precision_score(y, p)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    predicted = p >= 0.5
    assert m["tp"] == int((predicted & (y == 1)).sum()) and m["tp"] + m["fp"] + m["tn"] + m["fn"] == len(y)
    assert m["accuracy"] == accuracy_score(y, predicted)
    assert m["precision"] == precision_score(y, predicted)
    assert m["recall"] == recall_score(y, predicted)
    assert m["f1"] == f1_score(y, predicted)
    # KS: the largest gap between the score distributions of the two classes
    assert m["ks"] == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic)
    assert m["model"] == "GBDT" and m["model_b"] == "LR"
    report = run.roundtrip(PortType.REPORT, out["report"])
    assert set(report.figures) == EXPECTED_FIGURES
    for name, figure in report.figures.items():
        fig = plotly.io.from_json(json.dumps(figure))
        traces = [t.name for t in fig.data]
        assert any(t and t.startswith("GBDT") for t in traces), (name, traces)
        if name != "iterations":  # only boosting has iterations
            assert any(t and t.startswith("LR") for t in traces), (name, traces)
    # Legends sit in a row at the figure's bottom, below the x axis's title (they were drawn over it); the
    # importance chart names every bar of both models' top features (plotly skipped every other name at 520 px).
    for name, figure in report.figures.items():
        legend = plotly.io.from_json(json.dumps(figure)).layout.legend
        assert (legend.yref, legend.y, legend.yanchor) == ("container", 0, "bottom"), name
    importance = report.figures["importance"]
    bars = {feature for trace in importance["data"] for feature in trace["y"]}
    assert len(bars) > 20 and importance["layout"]["yaxis"]["dtick"] == 1
    assert importance["layout"]["height"] >= 18 * len(bars) + 170
    roc = plotly.io.from_json(json.dumps(report.figures["roc"]))
    assert [t.type for t in roc.data] == ["scatter"] * 3 and roc.data[0].x[0] == 0 and roc.data[0].y[-1] == 1
    iterations = plotly.io.from_json(json.dumps(report.figures["iterations"]))
    assert {t.name for t in iterations.data} == {"GBDT: train logloss", "GBDT: train auc"}
    assert len(iterations.data[0].x) == 40
    assert report.tables["confusion"][0]["predicted 1"] == m["tp"]


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 1.0])
def test_evaluate_metrics_equal_scikit_learn_to_the_last_bit(threshold):
    """Scores with many ties (rounded) and thresholds where nothing or everything is predicted positive (where
    scikit-learn's zero_division=0 applies): every metric is scikit-learn's own number, bit for bit."""
    from operators.library.evaluate import binary_curves, binary_metrics

    rng = np.random.default_rng(7)
    y = (rng.random(20_000) < 0.3).astype(np.int8)
    p = np.clip(rng.normal(0.3 + 0.25 * y, 0.2), 0, 1).round(3)
    p[:50] = 1.0 if threshold == 1.0 else p[:50]
    m = binary_metrics(y, p, threshold, binary_curves(y, p))
    predicted = (p >= threshold).astype(np.int8)
    expected = {"auc": roc_auc_score(y, p), "pr_auc": average_precision_score(y, p),
                "logloss": log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]), "brier": brier_score_loss(y, p),
                "accuracy": accuracy_score(y, predicted), "precision": precision_score(y, predicted, zero_division=0),
                "recall": recall_score(y, predicted, zero_division=0), "f1": f1_score(y, predicted, zero_division=0)}
    fpr, tpr, _ = roc_curve(y, p)
    expected["ks"] = np.max(tpr - fpr)
    assert {k: m[k] for k in expected} == {k: float(v) for k, v in expected.items()}
    tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (tp, fp, tn, fn)


def test_evaluate_refuses_bad_input(run, data):
    _, test = data
    scored = test.assign(probability=0.3)
    with pytest.raises(OperatorError) as err:
        run("evaluate_binary", {"table": scored.drop(columns="probability")})
    assert err.value.field == "probability_column" and err.value.column == "probability"
    with pytest.raises(OperatorError) as err:
        run("evaluate_binary", {"table": scored.assign(probability=1.7)})
    assert err.value.column == "probability"
    with pytest.raises(OperatorError) as err:
        run("evaluate_binary", {"table": scored.assign(label=1)})
    assert err.value.column == "label" and "one class" in err.value.message
    with pytest.raises(OperatorError, match="no rows"):
        run("evaluate_binary", {"table": scored.iloc[:0]})
    with pytest.raises(OperatorError) as err:
        run("evaluate_binary", {"table": scored}, label="nope")
    assert err.value.column == "nope"


def test_gbdt_training_stops_when_the_run_is_cancelled(run, fitted):
    ctx = run.context("gbdt")
    progress = ctx.progress

    def cancel_after_first_tree(fraction, message=None):
        progress(fraction, message)
        ctx._token.cancel()  # what the executor's cancel does from another thread

    ctx.progress = cancel_after_first_tree
    cls = operators.get("train_gbdt")
    with pytest.raises(operators.Cancelled):
        cls().run(ctx, {"features": fitted["features"]}, cls.Params(n_estimators=500))

"""automl_gbdt and automl_lr: at least the defaults' validation AUC, the time budget honoured (by the operator's own
trial timestamps), reproducible for a trial budget, live progress per trial, and a model that predict and publish
take unchanged (the bundle's parity check replays it)."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

import pipelines
from operators import Cancelled, OperatorError, PortType
from operators.kernels.features import matrix_view
from operators.kernels.models import load_scorer
from pipelines.bundle import load_bundle
from pipelines.executor import CancelToken
from tests.operators.test_quality import interactions


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame.rename(columns={"target": "label"})


def split(df: pd.DataFrame, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    first = np.random.default_rng(seed).random(len(df)) < 0.7
    return df[first].reset_index(drop=True), df[~first].reset_index(drop=True)


def features(run, df):
    train, valid = split(df)
    fitted = run("feature_extraction", {"table": train}, label="label")
    held = run("apply_features", {"feature_state": fitted["feature_state"], "table": valid})["features"]
    return fitted["features"], held


def valid_auc(model, valid) -> float:
    view = matrix_view(valid, model.meta["feature_view"])[0]
    return float(roc_auc_score(view.label, load_scorer(model).predict_proba(view.X)))


@pytest.mark.parametrize("dataset", ["breast_cancer", "interactions"])
@pytest.mark.parametrize("family", ["gbdt", "lr"])
def test_automl_reaches_the_defaults_validation_auc(run, dataset, family):
    train, valid = features(run, breast_cancer() if dataset == "breast_cancer" else interactions(4000))
    default = run(f"train_{family}", {"features": train})["model"]
    out = run(f"automl_{family}", {"features": train, "valid_features": valid}, time_budget=600, n_trials=4, seed=1)
    model = run.roundtrip(PortType.MODEL, out["model"])
    assert model.kind == ("lightgbm" if family == "gbdt" else "lr") and model.meta["feature_view"] == family
    assert out["best_params"]["auc"] >= valid_auc(default, valid) - 0.001
    assert valid_auc(model, valid) == pytest.approx(out["best_params"]["auc"], abs=1e-9)
    report = out["report"]
    history = report.figures["optimisation_history"]["data"]
    assert len(history[0]["x"]) == out["best_params"]["completed"] >= 2
    assert report.figures["parameter_importance"]["data"][0]["type"] == "bar"
    assert report.tables["trials"][0]["trial"] == 0  # trial 0: the trainer's defaults


@pytest.mark.parametrize("family", ["gbdt", "lr"])
def test_the_time_budget_is_honoured_within_ten_percent(run, family):
    train, _ = features(run, interactions(2000))
    budget = 5.0
    out = run(f"automl_{family}", {"features": train}, time_budget=budget, n_trials=10_000, folds=3)
    trials = out["report"].tables["trials"]
    assert len(trials) < 10_000  # the time budget, not the trial budget, ended the search
    assert max(t["finished_s"] for t in trials) <= 1.1 * budget
    assert all(t["started_s"] <= budget for t in trials)
    assert out["best_params"]["search_seconds"] <= 1.1 * budget


@pytest.mark.parametrize("family", ["gbdt", "lr"])
def test_a_trial_budget_is_reproducible(run, family):
    train, _ = features(run, breast_cancer())
    runs = [run(f"automl_{family}", {"features": train}, time_budget=600, n_trials=6, seed=3) for _ in range(2)]
    trials = [[(t["trial"], t["state"], t["auc"], *sorted((k, v) for k, v in t.items() if k not in
                                                           ("trial", "state", "auc", "started_s", "finished_s")))
               for t in r["report"].tables["trials"]] for r in runs]
    assert len(trials[0]) == 6 and trials[0] == trials[1]
    a, b = (r["model"] for r in runs)
    assert a.texts == b.texts and all(np.array_equal(a.arrays[k], b.arrays[k]) for k in a.arrays)


def test_published_automl_model_passes_the_bundle_parity_check_with_live_trial_progress(tmp_path):
    df = interactions(3000)
    train, test = split(df)
    train.to_csv(tmp_path / "train.csv", index=False)
    test.to_csv(tmp_path / "test.csv", index=False)
    nodes = [{"id": "train", "operator": "import_csv", "params": {"path": "train.csv"}},
             {"id": "test", "operator": "import_csv", "params": {"path": "test.csv"}},
             {"id": "features", "operator": "feature_extraction", "params": {"label": "label"}},
             {"id": "automl", "operator": "automl_gbdt", "params": {"time_budget": 300, "n_trials": 3}},
             {"id": "predict", "operator": "predict", "params": {}},
             {"id": "publish", "operator": "publish_model", "params": {"deployment": "automl"}}]
    edges = [("train", "table", "features", "table"), ("features", "features", "automl", "features"),
             ("automl", "model", "predict", "model"), ("features", "feature_state", "predict", "feature_state"),
             ("test", "table", "predict", "table"), ("automl", "model", "publish", "model"),
             ("features", "feature_state", "publish", "feature_state"), ("test", "table", "publish", "table")]
    events = []
    result = pipelines.run({"nodes": nodes, "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp}
                                                      for s, sp, t, tp in edges]},
                           store_root=tmp_path / "store", data_root=tmp_path, on_event=events.append)
    assert result.status == "succeeded", result.summary()
    bundle = load_bundle(result.output("publish", "deployment")["bundle"])  # replays its rows to 1e-9 or refuses
    assert {b["op"] for b in bundle.feature_state.meta["blocks"]} == {"raw", "ordinal"}  # the GBDT view
    scored = result.output("predict", "table")
    assert np.max(np.abs(bundle.score_table(scored)["probability"] - scored["probability"].to_numpy())) <= 1e-9
    messages = [e.data.get("message", "") for e in events if e.type == "node_progress" and e.node == "automl"]
    assert any(m.startswith("trial 1 of 3") for m in messages), messages
    assert any("best AUC" in m for m in messages)
    # the last message says how the search ended, not whichever trial's progress got through the throttle
    assert messages[-1].startswith("best validation AUC ") and " of 3 (" in messages[-1], messages


def test_budgets_a_user_types_are_bounded_and_named_in_the_error():
    from pipelines.graph import from_json
    from pipelines.validation import validate

    graph = from_json({"nodes": [
        {"id": "search", "operator": "automl_gbdt", "params": {"time_budget": 10 ** 9, "n_trials": 10 ** 7}},
        {"id": "crosses", "operator": "auto_cross", "params": {"cross_budget": 10 ** 6, "max_order": 50}},
        {"id": "lr", "operator": "automl_lr", "params": {"folds": 1000}}], "edges": []})
    errors = {(e.node, e.field) for e in validate(graph) if e.code == "invalid_params"}
    assert {("search", "time_budget"), ("search", "n_trials"), ("crosses", "cross_budget"),
            ("crosses", "max_order"), ("lr", "folds")} <= errors



def _search(run, objective, **params):
    """automl's search loop on its own, through a real NodeContext, with `objective` as the trial body; returns
    the run's cancel token, the search and a call that runs it."""
    from operators.library.automl import AutoMLParams, Search

    token = CancelToken()
    ctx = run.context("search", token)
    search = Search(ctx, AutoMLParams(**{"time_budget": 1, "n_trials": 50, **params}), lambda trial: {}, {})
    return token, search, lambda: search.run(lambda trial, chosen, step: objective(search, trial))


def test_a_trial_without_an_auc_is_never_the_best_and_none_at_all_is_a_clear_error(run):
    """A validation part of one class has no AUC (NaN): the walk's automl_lr on 30 rows and 10 folds took trial
    0's NaN as the best, published NaN as the AUC and the run's final event could not be stored. Now such a trial
    is recorded as unscored; when no trial has an AUC, the node fails naming `folds`."""
    _, search, go = _search(run, lambda search, trial: (float("nan") if trial.number == 0 else 0.6, {}), n_trials=3)
    go()
    assert search.best[0] == 0.6
    assert [r["state"] for r in search.records] == ["no AUC: a validation part holds one class", "complete",
                                                    "complete"]
    _, search, go = _search(run, lambda search, trial: (float("nan"), {}), n_trials=3)
    with pytest.raises(OperatorError, match="no trial could be scored: a validation part holds rows of one class") as e:
        go()
    assert e.value.field == "folds"


def test_a_fit_still_running_at_the_deadline_is_abandoned_and_the_search_ends_without_it(run):
    """The LR objective's fit runs through Search.within_deadline: a fit far slower than the ones before it (here
    one that waits for the test) is cut at the deadline; the search returns while it still runs, with the
    trials that finished. Shown by event order: the fit is released only after the search has returned."""
    release, finished = threading.Event(), threading.Event()

    def slow_fit():
        release.wait(120)
        finished.set()
        return 0.9, {}

    def objective(search, trial):
        return (0.6, {}) if trial.number == 0 else search.within_deadline(slow_fit)

    _, search, go = _search(run, objective)
    go()
    assert not finished.is_set()  # the search ended without waiting for the fit
    release.set()
    assert [r["state"] for r in search.records] == ["complete", "cut by the time budget"]
    assert search.best[0] == 0.6
    assert finished.wait(30)


def test_a_cancel_reaches_a_fit_that_cannot_be_stopped_midway(run):
    """With time to spare, a cancel during such a fit ends the node (Cancelled) before the fit returns."""
    release = threading.Event()
    token, search, go = _search(run, lambda search, trial: search.within_deadline(lambda: release.wait(120)),
                                time_budget=600)
    threading.Timer(0.3, token.cancel).start()
    with pytest.raises(Cancelled):
        go()
    assert not release.is_set()
    release.set()


def test_a_node_saved_at_version_1_still_validates_and_its_v1_outputs_are_not_reused(run):
    """Version 2 never takes a trial without an AUC as the best: a node saved at version 1 runs as version 2, and
    its v1 outputs (which may hold AUC NaN) are a cache miss (the fingerprint holds the version)."""
    from pipelines.graph import from_json
    from pipelines.validation import validate

    import operators

    for name in ("automl_gbdt", "automl_lr"):
        assert operators.get(name).version == "2"
        graph = from_json({"nodes": [{"id": "search", "operator": name, "version": "1", "params": {}}], "edges": []})
        assert not [e for e in validate(graph) if e.node == "search" and e.code != "missing_input"], name

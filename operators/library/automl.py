"""AutoML for the two model families: Optuna's TPE sampler with median pruning searches train_gbdt's and
train_lr's parameters under a time and trial budget, and outputs the best model on the same model port.

Why Optuna and not FLAML, measured by benchmarks/automl_choice.py (10 s per data set, the quality benchmark's four
data sets and split, test AUC): Optuna 0.9926 / 0.7441 / 0.9822 / 0.9824 and FLAML's LightGBM tuner 0.9934 /
0.7331 / 0.9840 / 0.9891 on breast_cancer / fair / anes96 / gapminder: the same mean (0.9253 vs 0.9249), each
ahead somewhere. Quality does not decide it; the rest does: Optuna drives the studio's own trainers (the LR / GBDT
feature views, LightGBM's native categories, the model's JSON form that publishing verifies), so trial 0 can be
exactly the trainer's defaults (never worse than them on the validation rows); it prunes per trial, is seeded
and reproducible for a trial budget and gives parameter importance as plain data; and FLAML's AutoML extra pulls
XGBoost with its CUDA libraries (hundreds of MB) into every image. One search loop serves both operators.

The budget: the search stops starting trials at `time_budget` seconds or after `n_trials` trials, and a running
trial is cut at the deadline (LightGBM checks it every round; an LR fit is not started when the slowest fit so
far would overrun it, and one still running at the deadline is abandoned), so the search ends within the
budget. The report's trials table records each trial's start and end in seconds since the search started.
Reproducible: the same data, seed and trial budget (with time to spare) give the same trials.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from ..contract import Cancelled, Operator, OperatorError, Params, Port, PortType
from ..kernels.features import matrix_view
from ..values import FeatureMatrix, Report
from .models_gbdt import GBDTParams, lightgbm_model, lightgbm_params
from .models_lr import TrainingMessages, TrainLR, fit_lr, lr_model, require_finite, require_label


class AutoMLParams(Params):
    time_budget: float = Field(60.0, ge=1, le=86_400, description="Seconds the search may take (trials stop "
                                                                   "at the deadline)")
    n_trials: int = Field(50, ge=1, le=10_000, description="Most trials to run; the first is the defaults")
    folds: int = Field(3, ge=2, le=10, description="Without valid_features: stratified folds of the training rows "
                                                   "each trial is scored on (mean AUC)")
    seed: int = Field(42, description="Seed of the sampler, the folds and the models")
    spark_sample_rows: int = Field(200_000, ge=1_000, le=10_000_000, description="Spark engine: the trials and "
                                   "the final model run on the driver over a seeded sample of this many rows")


class AutoGBDTParams(AutoMLParams):
    max_rounds: int = Field(1000, ge=10, le=100_000, description="Most boosting rounds of a trial")
    early_stopping_rounds: int = Field(30, ge=1, le=1000, description="A trial stops when its validation AUC has "
                                                                       "not improved for this many rounds")


class AutoLRParams(AutoMLParams):
    max_iter: int = Field(500, ge=10, le=100_000, description="Most solver iterations of a fit")


class _Deadline(Exception):
    """A trial cut by the time budget."""


# ----------------------------------------------------------------------------------------------- search
UNSCORED = "no AUC: a validation part holds one class"


class Search:
    """One Optuna study: `objective(trial, params, step)` scores one parameter set (maximised), calling
    `step(k, value)` with intermediate scores for pruning; trial 0 scores `defaults`."""

    def __init__(self, ctx, params: AutoMLParams, space: Callable[[Any], dict], defaults: dict):
        self.ctx, self.params, self.space, self.defaults = ctx, params, space, defaults
        self.records: list[dict] = []
        self.best: tuple[float, Any] | None = None  # (value, the objective's payload)
        self.start = 0.0

    def remaining(self) -> float:
        return self.start + self.params.time_budget - time.monotonic()

    def run(self, objective: Callable[[Any, dict, Callable[[int, float], None]], tuple[float, Any]]):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        p = self.params
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=p.seed, n_startup_trials=8),
                                    pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
        self.start = time.monotonic()

        def trial_objective(trial):
            started = self._now()
            if self.remaining() <= 0:  # the deadline passed while the last trial ended: this one never starts
                trial.study.stop()
                raise optuna.TrialPruned()
            chosen = dict(self.defaults) if trial.number == 0 else self.space(trial)
            record = {"trial": trial.number, "started_s": started, "params": chosen}
            self.records.append(record)

            def step(k: int, value: float) -> None:
                if self.ctx.cancelled:
                    raise Cancelled(f"node {self.ctx.node_id!r} was cancelled")
                if self.remaining() <= 0:
                    raise _Deadline()
                trial.report(value, k)
                if trial.number and trial.should_prune():
                    raise optuna.TrialPruned()

            try:
                value, payload = objective(trial, chosen, step)
            except _Deadline:
                record.update(state="cut by the time budget", finished_s=self._now())
                raise optuna.TrialPruned() from None
            except optuna.TrialPruned:
                record.update(state="pruned", finished_s=self._now())
                raise
            if not np.isfinite(value):  # a validation part with one class has no AUC: never the best trial
                record.update(state=UNSCORED, finished_s=self._now())
                raise optuna.TrialPruned()
            record.update(state="complete", value=float(value), finished_s=self._now())
            if self.best is None or value > self.best[0]:
                self.best = (float(value), payload)
            return value

        def progress(study, trial):
            best = f", best AUC {self.best[0]:.4f}" if self.best else ""
            fraction = max((trial.number + 1) / p.n_trials, min(1.0, (time.monotonic() - self.start) / p.time_budget))
            self.ctx.progress(0.05 + 0.85 * fraction, f"trial {trial.number + 1} of {p.n_trials}{best}")
            if self.remaining() <= 0:
                study.stop()

        study.optimize(trial_objective, n_trials=p.n_trials, timeout=p.time_budget, callbacks=[progress],
                       catch=())
        if self.best is None and any(r.get("state") == UNSCORED for r in self.records):
            raise OperatorError("no trial could be scored: a validation part holds rows of one class only (AUC "
                                "needs both); use fewer folds, more rows, or a valid_features input with both "
                                "classes", field="folds")
        if self.best is None:
            raise OperatorError(f"no trial finished within the time budget of {p.time_budget:g} s; raise "
                                "time_budget", field="time_budget")
        return study

    def _now(self) -> float:
        return round(time.monotonic() - self.start, 4)

    def within_deadline(self, work: Callable[[], Any]) -> Any:
        """`work()` on a thread, cut at the deadline or on cancel: a solver that cannot be stopped midway (a
        scikit-learn fit) is abandoned there, its thread left to finish in the background and its result
        dropped, so the search still ends within the budget when a fit runs far slower than the ones before
        it (another penalty's solver, a loaded machine)."""
        outcome: dict[str, Any] = {}

        def run():
            try:
                outcome["value"] = work()
            except BaseException as error:  # handed to the search's thread below
                outcome["error"] = error

        worker = threading.Thread(target=run, name=f"automl-{self.ctx.node_id}", daemon=True)
        worker.start()
        while worker.is_alive():
            if self.ctx.cancelled:
                raise Cancelled(f"node {self.ctx.node_id!r} was cancelled")
            if self.remaining() <= 0:
                raise _Deadline()
            worker.join(min(0.1, max(self.remaining(), 0.001)))
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def outputs(self, study, model, family: str) -> dict:
        value, _ = self.best
        best_record = max((r for r in self.records if r.get("state") == "complete"), key=lambda r: r["value"])
        states = [r.get("state") for r in self.records]
        best_params = {"auc": value, "best_trial": best_record["trial"], "trials": len(self.records),
                       "completed": states.count("complete"), "pruned": states.count("pruned"),
                       "cut_by_budget": states.count("cut by the time budget"),
                       "search_seconds": max(r.get("finished_s", 0.0) for r in self.records),
                       "time_budget": self.params.time_budget,
                       **{k: v for k, v in best_record["params"].items()}}
        figures = {"optimisation_history": history_figure(self.records),
                   "parameter_importance": importance_figure(study)}
        table = [{"trial": r["trial"], "state": r.get("state", ""), "auc": r.get("value"),
                  "started_s": r["started_s"], "finished_s": r.get("finished_s"),
                  **{k: v for k, v in r["params"].items()}} for r in self.records]
        summary = (f"best validation AUC {value:.4f} at trial {best_record['trial']} of {len(self.records)} "
                   f"({best_params['pruned']} pruned) in {best_params['search_seconds']:.1f} s")
        text = f"{family}: {summary}"
        self.ctx.log(text)
        # The node's last word: progress is sent at most every PROGRESS_INTERVAL, so the node otherwise kept
        # whichever trial's message got through ("trial 5 of 8" on a node that ran all 8).
        self.ctx.progress(1.0, summary)
        return {"model": model, "best_params": best_params,
                "report": Report(figures=figures, tables={"trials": table}, text=text)}


def history_figure(records: list[dict]) -> dict:
    done = [r for r in records if r.get("state") == "complete"]
    best, running = [], -np.inf
    for r in done:
        running = max(running, r["value"])
        best.append(running)
    return {"data": [{"type": "scatter", "mode": "markers", "name": "trial AUC", "x": [r["trial"] for r in done],
                      "y": [r["value"] for r in done]},
                     {"type": "scatter", "mode": "lines", "name": "best so far", "x": [r["trial"] for r in done],
                      "y": best, "line": {"shape": "hv"}}],
            "layout": {"title": {"text": "Optimisation history"}, "xaxis": {"title": {"text": "Trial"}},
                       "yaxis": {"title": {"text": "Validation AUC"}}}}


def importance_figure(study) -> dict:
    import optuna

    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "few trials in some regimes": the chart is what there is
            importance = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):  # too few finished trials with parameters to compare
        importance = {}
    names = list(importance)[::-1]
    return {"data": [{"type": "bar", "orientation": "h", "x": [float(importance[n]) for n in names], "y": names}],
            "layout": {"title": {"text": "Parameter importance"},
                       "xaxis": {"title": {"text": "Share of the AUC's variance"}}}}


def _inputs(inputs, view: str) -> tuple[FeatureMatrix, str | None, FeatureMatrix | None]:
    features, chosen = matrix_view(inputs["features"], view)
    require_label(features)
    valid = inputs.get("valid_features")
    if valid is not None:
        valid = matrix_view(valid, view)[0]
        require_label(valid, "valid_features")
        if list(valid.names) != list(features.names):
            raise OperatorError("valid_features were made with a different feature state than features",
                                port="valid_features")
    return features, chosen, valid


# ------------------------------------------------------------------------------------------------- GBDT
GBDT_DEFAULTS = {"learning_rate": 0.1, "num_leaves": 31, "min_data_in_leaf": 20, "lambda_l1": 0.0, "lambda_l2": 0.0,
                 "feature_fraction": 1.0, "bagging_fraction": 1.0, "n_estimators": 100}


def gbdt_space(trial) -> dict:
    return {"learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 256, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 2, 200, log=True),
            "lambda_l1": trial.suggest_float("lambda_l1", 1e-8, 10.0, log=True),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-8, 10.0, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.4, 1.0),
            "bagging_fraction": trial.suggest_float("bagging_fraction", 0.4, 1.0)}


def _gbdt_params(chosen: dict, seed: int) -> GBDTParams:
    fields = {k: v for k, v in chosen.items() if k != "n_estimators"}
    return GBDTParams(**fields, bagging_freq=1 if chosen["bagging_fraction"] < 1 else 0, seed=seed,
                      record_train_metrics=False)


def _lgb_params(chosen: dict, seed: int) -> dict:
    out = lightgbm_params(_gbdt_params(chosen, seed))
    out.update(metric="auc", deterministic=True, force_row_wise=True, feature_pre_filter=False)
    return out


class _Rounds:
    """A LightGBM callback: the deadline every round, the trial's AUC every `every` rounds to the search
    (pruning, cancel)."""

    def __init__(self, search: Search, step, every: int = 10):
        self.search, self.step, self.every = search, step, every

    def __call__(self, env):
        if self.search.remaining() <= 0:
            raise _Deadline()
        if (env.iteration + 1) % self.every == 0:
            self.step(env.iteration + 1, float(env.evaluation_result_list[0][2]))


def gbdt_objective(search: Search, features: FeatureMatrix, valid: FeatureMatrix | None, p: AutoGBDTParams):
    import lightgbm as lgb

    names = list(features.names)
    categorical = [names.index(c) for c in features.categorical if c in names]
    train = lgb.Dataset(features.X, label=np.asarray(features.label), categorical_feature=categorical,
                        params={"verbosity": -1, "feature_pre_filter": False}, free_raw_data=False)
    valid_set = (lgb.Dataset(valid.X, label=np.asarray(valid.label), reference=train, free_raw_data=False)
                 if valid is not None else None)

    def objective(trial, chosen: dict, step) -> tuple[float, Any]:
        params = _lgb_params(chosen, p.seed)
        defaults = trial.number == 0
        rounds = chosen["n_estimators"] if defaults else p.max_rounds
        callbacks = [_Rounds(search, step)]
        if not defaults:
            callbacks.append(lgb.early_stopping(p.early_stopping_rounds, first_metric_only=True, verbose=False))
        if valid_set is not None:
            evals: dict = {}
            booster = lgb.train(params, train, num_boost_round=rounds, valid_sets=[valid_set], valid_names=["valid"],
                                callbacks=[*callbacks, lgb.record_evaluation(evals)])
            history = evals["valid"]["auc"]
            best = len(history) if defaults else int(booster.best_iteration or len(history))
            return float(history[best - 1]), {"booster": booster, "rounds": best, "chosen": chosen, "evals": evals}
        result = lgb.cv(params, train, num_boost_round=rounds, nfold=p.folds, stratified=True, seed=p.seed,
                        callbacks=callbacks)
        history = result["valid auc-mean"]
        best = len(history) if defaults else int(np.argmax(history)) + 1
        return float(history[best - 1]), {"booster": None, "rounds": best, "chosen": chosen}

    return objective, train


class AutoGBDT(Operator):
    """Searches LightGBM's learning rate, leaves, minimum rows per leaf, L1 / L2 and feature / row sampling with
    Optuna (TPE sampler, median pruning) within a time budget and a trial budget, each trial early-stopped on
    the validation AUC: on `valid_features` when connected, else on stratified folds of the training rows. Trial
    0 is train_gbdt's defaults, so the best model never scores below them on the validation rows. Outputs the
    best model on the same port as train_gbdt (predict, evaluate and publish take it unchanged), the best
    parameters, and a report with the optimisation history and the parameters' importance. Live progress shows
    the trial and the best AUC so far. With folds the final model is refit on all training rows with the best
    parameters and the folds' best round count. On the Spark engine the trials and the final model run on the
    driver over a seeded sample of `spark_sample_rows` rows."""

    name = "automl_gbdt"
    spark = "operators.spark.automl:automl_gbdt"
    category = "Model training"
    version = "2"  # 2: a trial without an AUC is never the best (a cached v1 output may hold AUC NaN)
    accepts_versions = ("1",)
    description = "AutoML for gradient-boosted trees: the best LightGBM parameters within a time budget."
    inputs = (Port("features", PortType.FEATURES, "Training feature matrix with a binary label"),
              Port("valid_features", PortType.FEATURES, "Optional validation features; without them each trial "
                   "is scored on folds of the training rows", optional=True))
    outputs = (Port("model", PortType.MODEL, "The best LightGBM model (as train_gbdt's)"),
               Port("best_params", PortType.METRICS, "The best parameters and their validation AUC"),
               Port("report", PortType.REPORT, "Optimisation history, parameter importance and every trial"))
    Params = AutoGBDTParams
    Messages = TrainingMessages

    def run(self, ctx, inputs, params):
        import lightgbm as lgb

        features, view, valid = _inputs(inputs, "gbdt")
        search = Search(ctx, params, gbdt_space, GBDT_DEFAULTS)
        objective, train = gbdt_objective(search, features, valid, params)
        study = search.run(objective)
        payload = search.best[1]
        chosen, rounds = payload["chosen"], payload["rounds"]
        model_params = _gbdt_params(chosen, params.seed).model_dump(mode="json") | {"n_estimators": rounds}
        if payload["booster"] is not None:  # validation rows: the best trial's own model
            booster, evals = payload["booster"], payload["evals"]
        else:  # folds: refit on every training row
            ctx.progress(0.92, f"refitting the best parameters on all {features.n_rows:,} rows ({rounds} rounds)")
            booster, evals = lgb.train(_lgb_params(chosen, params.seed), train, num_boost_round=rounds), {}
        model = lightgbm_model(booster, features, view, model_params, evals, rounds)
        return search.outputs(study, model, "automl_gbdt")


# --------------------------------------------------------------------------------------------------- LR
LR_DEFAULTS = {"penalty": "l2", "C": 1.0, "l1_ratio": 0.5, "class_weight": "none"}


def lr_space(trial) -> dict:
    penalty = trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet"])
    return {"penalty": penalty, "C": trial.suggest_float("C", 1e-4, 100.0, log=True),
            "l1_ratio": trial.suggest_float("l1_ratio", 0.0, 1.0) if penalty == "elasticnet" else 0.5,
            "class_weight": trial.suggest_categorical("class_weight", ["none", "balanced"])}


def _lr_params(chosen: dict, max_iter: int):
    return TrainLR.Params(**chosen, max_iter=max_iter)


def lr_objective(search: Search, features: FeatureMatrix, valid: FeatureMatrix | None, p: AutoLRParams):
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from ..kernels.models import load_scorer

    y = np.asarray(features.label)
    folds = None if valid is not None else list(StratifiedKFold(p.folds, shuffle=True, random_state=p.seed)
                                                 .split(np.zeros(len(y)), y))

    slowest = [0.0]  # the longest fit so far: one that cannot finish before the deadline is not started

    def fit(X, target, lr):
        if search.remaining() < slowest[0]:
            raise _Deadline()
        started = time.monotonic()
        estimator, _ = search.within_deadline(lambda: fit_lr(X, target, lr))
        slowest[0] = max(slowest[0], time.monotonic() - started)
        return estimator

    def objective(trial, chosen: dict, step) -> tuple[float, Any]:
        lr = _lr_params(chosen, p.max_iter)
        if valid is not None:
            estimator = fit(features.X, y, lr)
            model = lr_model(estimator, features, None, lr)
            return (float(roc_auc_score(valid.label, load_scorer(model).predict_proba(valid.X))),
                    {"chosen": chosen, "estimator": estimator})
        scores = []
        for k, (fit_rows, held_rows) in enumerate(folds):
            estimator = fit(features.X[fit_rows], y[fit_rows], lr)
            scores.append(float(roc_auc_score(y[held_rows], estimator.decision_function(features.X[held_rows]))))
            step(k + 1, float(np.mean(scores)))
        return float(np.mean(scores)), {"chosen": chosen}

    return objective


class AutoLR(Operator):
    """Searches logistic regression's penalty (L2, L1, elastic net), its strength C, the elastic net's L1 share
    and class weights with Optuna (TPE sampler, median pruning over folds) within a time budget and a trial
    budget, scored by AUC on `valid_features` when connected, else on stratified folds of the training rows.
    Trial 0 is train_lr's defaults. The best parameters are refit on all training rows and output on the same
    model port as train_lr, with the best parameters and a report (optimisation history, parameter importance,
    every trial). On the Spark engine the trials and the final fit run on the driver over a seeded sample."""

    name = "automl_lr"
    spark = "operators.spark.automl:automl_lr"
    category = "Model training"
    version = "2"  # as automl_gbdt's
    accepts_versions = ("1",)
    description = "AutoML for logistic regression: the best penalty, C and class weights within a time budget."
    inputs = AutoGBDT.inputs
    outputs = (Port("model", PortType.MODEL, "The best logistic regression (as train_lr's)"),
               AutoGBDT.outputs[1], AutoGBDT.outputs[2])
    Params = AutoLRParams
    Messages = TrainingMessages

    def run(self, ctx, inputs, params):
        features, view, valid = _inputs(inputs, "lr")
        require_finite(features)
        search = Search(ctx, params, lr_space, LR_DEFAULTS)
        study = search.run(lr_objective(search, features, valid, params))
        chosen, estimator = search.best[1]["chosen"], search.best[1].get("estimator")
        lr = _lr_params(chosen, params.max_iter)
        if estimator is None:  # folds: refit on every training row (with validation rows: the best trial's own)
            ctx.progress(0.92, f"refitting the best parameters on all {features.n_rows:,} rows")
            estimator, _ = fit_lr(features.X, np.asarray(features.label), lr)
        return search.outputs(study, lr_model(estimator, features, view, lr), "automl_lr")


"""The closed loop: served rows read back from the prediction log with the labels that arrived later
(import_prediction_log), and a champion/challenger publish that only replaces the live model with a better
one (publish_if_better)."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..kernels.models import load_scorer
from ..labels import (THRESHOLD_HINT, answered_classes, answered_positive, encode_label, flipped, is_zero_one,
                      known_classes, positive_text, predicted_values, same_values, text_of, values_dtype)
from ..prediction_log import INPUT_PREFIX, read_log, window
from ..tables import require_rows
from .features import apply_state

DEPLOYMENT = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="Deployment name")
LOG_COLUMNS = ["request_id", "row", "version", "time"]


class ImportPredictionLog(Operator):
    """Reads back the rows a deployment served (from the serving process's prediction log) within a time
    window: the request id and row, the version that scored it, when, its raw inputs under their own names,
    the served probability and label, and, where it has arrived through the feedback endpoint, the true label.
    Both labels are in the deployment's own values ("yes" / "no", from its live bundle's classes), so a model
    retrained on these rows answers in them too; a deployment without class values keeps 0 / 1. Each row is read
    through the version that served it: a stored label is the value it was posted as, whichever value that version
    called positive; a version answering another pair (0 / 1 before "no" / "yes") is read by role. With
    `labeled_only` only rows with a label are kept, ready for retraining. Runs every time (the log grows)."""

    name = "import_prediction_log"

    spark = "operators.spark.feedback:import_prediction_log"
    category = "Deployment"
    description = "Served rows of a deployment with their scores and, where it arrived, the true label."
    outputs = (Port("table", PortType.TABLE, "Served rows: inputs, served_probability, served_label, label"),)
    cacheable = False

    class Params(Params):
        deployment: str = DEPLOYMENT
        last_days: float = Field(0.0, ge=0, le=3660, description="Only rows of the last N days (0: all)")
        until: str = Field("", max_length=40, description="End of the window: an ISO date or date-time (UTC "
                                                          "unless it says otherwise); empty for now")
        version: str = Field("", max_length=20, description="Only rows this version scored; empty for all")
        labeled_only: bool = Field(False, description="Keep only rows whose label has arrived")
        label_column: str = Field("label", min_length=1, max_length=100, description="Name of the label column")

    def run(self, ctx, inputs, params):
        found = ctx.prediction_log(params.deployment)
        served = served_rows(found["directory"], params)
        classes = found.get("classes")
        versions = found.get("version_classes")
        labels = label_values(found["labels"](), classes, versions)
        table = with_labels(served.to_pandas(), labels, params, classes, versions)
        ctx.log(f"{len(table):,} served rows of {params.deployment}, {int(table[params.label_column].notna().sum()):,}"
                " labeled")
        return {"table": table}


def log_window(params) -> tuple[float | None, float | None]:
    try:
        return window(params.last_days, params.until)
    except ValueError:
        raise OperatorError(f"until {params.until!r} is not an ISO date or date-time", field="until") from None


def no_rows(params) -> OperatorError:
    return OperatorError(f"deployment {params.deployment!r} served no rows in the window"
                         + (f" (version {params.version})" if params.version else ""), field="deployment")


def served_rows(directory, params):
    """The log's rows for the window and version of `params` (a pyarrow table); OperatorError when none."""
    since, until = log_window(params)
    table = read_log(directory, params.deployment, since=since, until=until, version=params.version or None)
    if table.num_rows == 0:
        raise no_rows(params)
    return table


def label_values(labels: pd.DataFrame, classes, version_classes: dict | None = None) -> pd.DataFrame:
    """The stored labels (0 / 1 each against the classes of the version that served its row, `version_classes`:
    version -> [negative, positive], as the feedback endpoint keeps them) in the deployment's own values
    (`classes`: [negative, positive] from its live bundle); 0 / 1 when it has none. A version with the same two
    values reads its rows by value ("yes" stays "yes" when it called "no" positive); one of another pair (0 / 1
    against "no" / "yes") by role, positive to positive, as served_values reads its served labels."""
    known = known_classes(classes)
    positive = labels["label"].to_numpy() == 1
    turned = [v for v, own in (version_classes or {}).items() if flipped(own, known)]
    if turned and "version" in labels.columns:
        positive = positive ^ labels["version"].astype(object).isin(turned).to_numpy()
    labels = labels[["request_id", "row", "label"]]
    if is_zero_one(known):
        return labels.assign(label=positive.astype(np.int64))
    return labels.assign(label=predicted_values(positive, known))


def served_words(classes) -> dict | None:
    """How a served label becomes the deployment's words or true / false, or None to keep it as served: a version
    that answered 0 / 1 (an older bundle without class values) logged 1 for the positive class, read back as text
    ("1") when another version logged words (operators.prediction_log.conflicting_types). Labels that are
    numbers themselves (1 / 2) can't be told from 0 / 1 and stay as served."""
    known = known_classes(classes)
    if is_zero_one(known) or values_dtype(known).kind not in "bO":
        return None
    words = {"0": known.negative, "1": known.positive, "false": known.negative, "true": known.positive}
    return {**words, text_of(known.negative): known.negative, text_of(known.positive): known.positive}


def served_values(served: pd.Series, classes, versions=None, version_classes: dict | None = None) -> pd.Series:
    """The served label in the deployment's values (served_words; a deployment answering numbers, 0 / 1 when it has
    no classes, reads the text of its values back as them): 0 / 1 integers by their positive class, text by its
    word (a text that is no word: as served for a deployment answering words, missing for one answering true /
    false, whose column holds no text), anything else as served; the rows of a version of another pair of values
    (`versions`: each row's, `version_classes`: version -> [negative, positive]) by role, through that version's
    own classes (role_versions), as label_values reads its stored labels."""
    out = _served_in_words(served, classes)
    turned = role_versions(classes, version_classes)
    if versions is not None and turned:
        versions = pd.Series(np.asarray(versions, dtype=object), index=served.index).astype(str)
        for version, own in turned.items():
            rows = (versions == version).to_numpy()
            if not rows.any():
                continue
            values = served[rows]
            positive = answered_positive(values.to_numpy(dtype=object), own)
            turned_values = pd.Series(predicted_values(positive, classes), index=values.index, dtype=object)
            out = out.astype(object)
            out[rows] = turned_values.where(values.notna(), None)
    return _in_live_type(out, classes)


def _in_live_type(served: pd.Series, classes) -> pd.Series:
    """Served labels held as objects (rows read by role beside text) in the numpy type of the deployment's values
    (int64 for 0 / 1 or other integers, bool, float64) once every one is such a value; else as they are."""
    dtype = values_dtype(classes)
    if served.dtype != object or dtype.kind == "O" or served.isna().any():
        return served
    kinds = (bool, np.bool_) if dtype.kind == "b" else (int, float, np.integer, np.floating)
    found = pd.unique(served)
    if not all(isinstance(v, kinds) and (dtype.kind == "b" or not isinstance(v, (bool, np.bool_))) for v in found):
        return served
    return served.astype(dtype)


def role_versions(classes, version_classes: dict | None) -> dict:
    """The versions whose served labels are read by role: those of another pair of values than the deployment's
    (answered_classes: a version or a deployment without classes answers 0 / 1), so "yes" / "no" or 1 / 2 before a
    live 0 / 1, 0 / 1 before a live 1 / 2. For a deployment answering in words or true / false, versions answering
    0 / 1 are left to served_words, which reads their 1 as the positive word."""
    target, worded = answered_classes(classes), served_words(classes) is not None
    out = {}
    for version, own in (version_classes or {}).items():
        own = answered_classes(own)
        if (worded and is_zero_one(own)) or same_values(own, target):
            continue
        out[str(version)] = own
    return out


def live_texts(classes) -> dict | None:
    """Text of a value -> the value, for a deployment answering numbers (0 / 1 when it has no classes): how its own
    answers read back when the log's files disagree on the label's type ("1", "2" beside "yes"); None for one
    answering words or true / false (served_words)."""
    known = answered_classes(classes)
    if values_dtype(classes).kind not in "iuf":
        return None
    return {text_of(known.negative): known.negative, text_of(known.positive): known.positive}


def _served_in_words(served: pd.Series, classes) -> pd.Series:
    words = served_words(classes)
    if words is None:
        texts = live_texts(classes)
        if texts is None or served.dtype.kind in "biuf":
            return served
        found = pd.unique(served.dropna())
        return served.map({v: texts.get(v) for v in found}).astype(object).where(served.notna(), None)
    if pd.api.types.is_bool_dtype(served):
        return served
    if pd.api.types.is_integer_dtype(served):
        return pd.Series(predicted_values(served.to_numpy() == 1, classes), index=served.index)
    if pd.api.types.is_float_dtype(served):
        return served
    found = pd.unique(served.dropna())  # a few values however many rows: map those, not every row
    # a text that is no word of the deployment stays text when its values are words; true / false can't hold it, so
    # it is missing, as on Spark (a boolean column), rather than text beside booleans that no table can store
    other = (lambda v: v) if values_dtype(classes).kind == "O" else (lambda v: None)
    mapping = {v: words.get(v, other(v)) if isinstance(v, str) else v for v in found}
    if all(type(mapping[v]) is type(v) and mapping[v] == v for v in found):
        return served  # already the deployment's words (a version that answers with them)
    return served.map(mapping).astype(object).where(served.notna(), None)


def served_frame(frame: pd.DataFrame, label_column: str, classes=None, version_classes=None) -> pd.DataFrame:
    """The log's columns under the names a user sees: inputs without their prefix, the served outputs named
    apart from the true label, time as UTC timestamps."""
    inputs = [c for c in frame.columns if c.startswith(INPUT_PREFIX)]
    names = [c[len(INPUT_PREFIX):] for c in inputs]
    if label_column in names or label_column in LOG_COLUMNS:
        raise OperatorError(f"label_column {label_column!r} is also a column of the served rows; choose another "
                            "name", field="label_column")
    out = frame[LOG_COLUMNS].copy()
    # to the microsecond, truncated, as Spark's timestamp_seconds does (so both engines give the same times)
    out["time"] = pd.to_datetime((out["time"].to_numpy(dtype=np.float64) * 1_000_000).astype(np.int64), unit="us",
                                 utc=True)
    for column, name in zip(inputs, names, strict=True):
        out[name] = frame[column]
    out["served_probability"] = frame["probability"].astype(np.float64)
    # as the bundle answered it, in the label's values (through the classes of the version that answered)
    out["served_label"] = served_values(frame["label"], classes, frame["version"], version_classes)
    return out


def with_labels(frame: pd.DataFrame, labels: pd.DataFrame, params, classes=None, version_classes=None) -> pd.DataFrame:
    out = served_frame(frame, params.label_column, classes, version_classes)
    labels = labels.rename(columns={"label": params.label_column})
    out = out.merge(labels, on=["request_id", "row"], how="left", validate="one_to_one")
    column, dtype = params.label_column, values_dtype(classes)
    if params.labeled_only:
        out = out[out[column].notna()]
        if len(out) == 0:
            raise OperatorError(f"no label has arrived for the served rows of {params.deployment!r} in the window",
                                field="labeled_only")
        out[column] = out[column].astype(dtype)
    elif dtype.kind in "iuf":
        out[column] = out[column].astype("float64")  # NaN where none arrived yet
    else:  # words or true / false: None where none arrived yet (as Spark's nulls read back)
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out.sort_values(["time", "request_id", "row"], kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------- publish if better
HIGHER_IS_BETTER = {"auc": True, "ks": True, "logloss": False}


def score(metric: str, y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import log_loss, roc_auc_score, roc_curve

    if metric == "logloss":
        return float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]))
    if len(np.unique(y)) < 2:
        raise OperatorError(f"the holdout's label has one class only; {metric} needs both", field="label_column")
    if metric == "auc":
        return float(roc_auc_score(y, p))
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def decide(metric: str, margin: float, champion: float | None, challenger: float) -> tuple[bool, str]:
    """(publish?, why): the challenger goes live only when it beats the champion by at least `margin`."""
    if champion is None:
        return True, "no live version to compare with: the challenger goes live"
    gain = (challenger - champion) if HIGHER_IS_BETTER[metric] else (champion - challenger)
    direction = "higher" if HIGHER_IS_BETTER[metric] else "lower"
    if gain >= margin and gain > 0:
        return True, (f"challenger {metric} {challenger:.4f} beats champion {champion:.4f} by {gain:.4f} "
                      f"({direction} is better; margin {margin})")
    return False, (f"challenger {metric} {challenger:.4f} does not beat champion {champion:.4f} by the margin "
                   f"{margin} ({direction} is better; gain {gain:.4f}): the champion stays live")


class PublishIfBetter(Operator):
    """Champion / challenger: scores the deployment's live version (the champion) and the connected model
    (the challenger) on the same held-out rows, and publishes the challenger as the new live version only when
    it wins on the metric by at least the margin. Outputs the decision (both scores, the reason, the new
    version), which the run and the deployment page show. With no live version the challenger goes live."""

    name = "publish_if_better"

    spark = "operators.spark.feedback:publish_if_better"
    category = "Deployment"
    description = "Publish the model only if it beats the live version on held-out rows."
    inputs = (Port("model", PortType.MODEL, "The challenger: a trained model"),
              Port("feature_state", PortType.FEATURE_STATE, "The feature state the challenger was trained on"),
              Port("table", PortType.TABLE, "Held-out rows with the label, scored by both models"))
    outputs = (Port("decision", PortType.METRICS, "Both scores, whether the challenger went live, and why"),)
    cacheable = False

    class Params(Params):
        deployment: str = DEPLOYMENT
        metric: Literal["auc", "logloss", "ks"] = Field("auc", description="What the two models are compared on")
        min_margin: float = Field(0.0, ge=0, le=1, description="How much better the challenger must be")
        label_column: str = Field("label", min_length=1, description="The holdout's label column")
        threshold: float = Field(0.5, ge=0, le=1, description=THRESHOLD_HINT)

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        if hasattr(table, "toPandas"):  # a Spark DataFrame: hold-out rows are few enough to score here
            table = table.limit(200_000).toPandas()
        require_rows(table)
        y = holdout_label(table, params.label_column, inputs["feature_state"])
        challenger = score(params.metric, y, challenger_scores(inputs["model"], inputs["feature_state"], table))
        champion_version, champion, no_champion = None, None, ""
        try:
            bundle = ctx.deployment_bundle(params.deployment)
        except OperatorError as exc:  # nothing live yet, or its bundle refused to load: say which
            bundle, no_champion = None, exc.message
        if bundle is not None:
            try:
                probability = champion_probability(bundle, inputs["feature_state"], table)
            except ValueError as exc:  # the holdout lacks an input of the champion
                raise OperatorError(f"the champion cannot score the holdout: {exc}", port="table") from None
            champion = score(params.metric, y, probability)
            champion_version = bundle.version
        publish, reason = decide(params.metric, params.min_margin, champion, challenger)
        if no_champion:
            reason += f" ({no_champion})"
        decision = {"deployment": params.deployment, "metric": params.metric, "champion_version": champion_version,
                    "champion_score": champion, "challenger_score": challenger, "margin": params.min_margin,
                    "rows": len(table), "published": publish, "version": None, "reason": reason}
        if publish:
            info = ctx.publish(params.deployment, model=inputs["model"], feature_state=inputs["feature_state"],
                               holdout=table, threshold=params.threshold)
            decision["version"] = info.get("version") or None
        ctx.record_decision(params.deployment, decision)
        ctx.log(reason)
        return {"decision": {k: ("" if v is None else v) for k, v in decision.items()}}


def holdout_label(table: pd.DataFrame, column: str, feature_state) -> np.ndarray:
    """The holdout's label as 0 / 1 with the challenger's positive class (its feature state's label values), the
    class both models' probabilities are of, so champion and challenger are scored on the same labels whatever
    values the label holds ("yes" / "no" read back by import_prediction_log, or 0 / 1)."""
    positive = positive_text(feature_state.meta)
    try:
        return encode_label(table, column, positive, field="label_column")[0]
    except OperatorError as exc:
        if not positive or exc.field != "positive":
            raise
    # no row holds the positive value: all are the other class (once the column is checked: two values, no gaps)
    encode_label(table, column, field="label_column")
    return np.zeros(len(table), dtype=np.int8)


def champion_probability(bundle, feature_state, table: pd.DataFrame) -> np.ndarray:
    """The champion's (the live bundle's) probability of the challenger's positive class: its own when both call
    the same value positive, else 1 - its own (labels such as "churned" / "stayed", whose positive the rule picks
    as the minority class, which a retrain can flip), so both models are scored on the same labels. Stored labels
    keep their meaning either way: each is kept against the version that served its row."""
    probability = np.asarray(bundle.score_table(table)["probability"], dtype=np.float64)
    if flipped(getattr(bundle, "classes", None), feature_state.meta.get("label_classes")):
        return 1.0 - probability
    return probability


def challenger_scores(model, feature_state, table: pd.DataFrame) -> np.ndarray:
    from ..kernels.features import model_view, state_view

    feature_state = state_view(feature_state, model_view(model))
    scorer = load_scorer(model)
    if list(feature_state.meta["names"]) != scorer.feature_names:
        raise OperatorError("the model was trained on a different feature state than the one connected",
                            port="feature_state")
    return scorer.predict_proba(apply_state(table, feature_state).X)

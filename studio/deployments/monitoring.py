"""What the deployment page shows of the closed loop: the drift of served inputs (operators.kernels.drift, the
numbers the serving /metrics and check_drift give), labels received per day, live AUC / logloss per day from
the labeled served rows, and the champion / challenger decisions."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from django.db.models import Count
from django.db.models.functions import TruncDate

from operators.labels import answered_positive, flipped, is_zero_one, known_classes
from operators.library.drift import ALERT, MIN_ROWS, WARN, drift_figure
from operators.prediction_log import read_log, recent_requests, served_drift

from studio.serving.predlog import SHADOW_DIR

from .feedback import deployment_classes, labels_frame, prediction_log_dir, version_classes
from .models import Deployment

MAX_DAYS = 366


def drift(deployment: Deployment, days: float, number: int | None = None) -> dict:
    """The drift report of a version (the live one by default) over its rows served in the last `days`."""
    version = (deployment.versions.filter(number=number).first() if number is not None
               else deployment.live_version)
    if version is None:
        return {"available": False, "reason": "no live version" if number is None else f"no version {number}"}
    statistics_file = Path(version.bundle) / "statistics.json"
    if not statistics_file.is_file():
        return {"available": False, "version": version.number,
                "reason": f"version {version.number} was published before drift statistics were kept"}
    statistics = json.loads(statistics_file.read_text())
    started = time.perf_counter()
    report = served_drift(prediction_log_dir(), deployment.name, statistics, since=time.time() - days * 86400,
                          version=str(version.number))
    report.update(available=True, version=version.number, days=days, warn=WARN, alert=ALERT, min_rows=MIN_ROWS,
                  seconds=round(time.perf_counter() - started, 3), figure=drift_figure(report))
    return report


def feedback_per_day(deployment: Deployment) -> list[dict]:
    rows = (deployment.labels.annotate(day=TruncDate("received_at")).values("day").annotate(labels=Count("id"))
            .order_by("day"))
    return [{"day": row["day"].isoformat(), "labels": row["labels"]} for row in rows]


def live_metrics_per_day(deployment: Deployment, days: float) -> list[dict]:
    """AUC and logloss per day (the day a row was served) over the served rows whose label has arrived."""
    from sklearn.metrics import log_loss, roc_auc_score

    labels = labels_frame(deployment)
    if labels.empty:
        return []
    served = read_log(prediction_log_dir(), deployment.name, since=time.time() - days * 86400,
                      request_ids=labels["request_id"].unique().tolist(),
                      columns=["request_id", "row", "time", "probability", "version"])
    if served.num_rows == 0:
        return []
    joined = served.to_pandas().merge(labels, on=["request_id", "row"], suffixes=("_served", ""))
    # a label is of the positive class of its version, a probability of the serving version's: both in the
    # deployment's one form (its live version's positive class) before versions are pooled
    classes, target = version_classes(deployment), deployment_classes(deployment)
    joined["label"] = joined["label"].to_numpy() ^ flipped_rows(joined["version"], classes, target)
    joined["probability"] = probability_in_one_form(joined["version_served"], joined["probability"], classes, target)
    joined["day"] = [datetime.fromtimestamp(t, UTC).date().isoformat() for t in joined["time"]]
    out = []
    for day, rows in joined.groupby("day", sort=True):
        y, p = rows["label"].to_numpy(), np.clip(rows["probability"].to_numpy(dtype=np.float64), 1e-15, 1 - 1e-15)
        both = len(np.unique(y)) == 2
        out.append({"day": day, "labeled": len(rows), "auc": float(roc_auc_score(y, p)) if both else None,
                    "logloss": float(log_loss(y, p, labels=[0, 1]))})
    return out


def flipped_rows(versions, classes: dict, target) -> np.ndarray:
    """Per row, whether the version that served it (`versions`, as the log names them) calls the other of the
    deployment's two values positive (operators.labels.flipped): its 0 / 1 and probability are then turned."""
    turned = {v for v, own in classes.items() if flipped(own, target)}
    return np.array([str(v) in turned for v in versions], dtype=bool)


def probability_in_one_form(versions, probability, classes: dict, target) -> np.ndarray:
    """Each row's served probability as that of the deployment's positive class (turned where its version's
    positive class is the other value)."""
    probability = np.asarray(probability, dtype=np.float64)
    return np.where(flipped_rows(versions, classes, target), 1 - probability, probability)


def in_one_form(versions, labels, probability, classes: dict, target) -> tuple[np.ndarray, np.ndarray]:
    """Served labels and probabilities of rows of several versions (answering 0 / 1, "no" / "yes", or "yes" / "no"
    with "no" positive) as the deployment's one form: whether each answer is the positive class of `target` (the
    live version's classes; a version of another pair by role, positive to positive) and the probability of it."""
    versions = np.asarray(versions, dtype=object)
    labels = np.asarray(labels, dtype=object)
    positive = np.zeros(len(labels), dtype=bool)
    for version in set(versions.tolist()):
        rows = versions == version
        positive[rows] = answered_positive(labels[rows], classes.get(str(version)))
    return (positive ^ flipped_rows(versions, classes, target),
            probability_in_one_form(versions, probability, classes, target))


def decisions(deployment: Deployment) -> list[dict]:
    return [{"at": d.at.isoformat(), "run": d.run_id, "node": d.node, "metric": d.metric,
             "champion_version": d.champion_version, "champion_score": d.champion_score,
             "challenger_score": d.challenger_score, "margin": d.margin, "published": d.published,
             "version": d.version, "rows": d.rows, "reason": d.reason}
            for d in deployment.decisions.order_by("-id")[:100]]


MAX_SERVED = 100  # requests the deployment page lists at most


def served_requests(deployment: Deployment, limit: int) -> list[dict]:
    """The last `limit` requests the prediction log kept for the deployment, newest first, for the feedback loop: a
    label file names a request by the id its answer carried (request_id, row, label). Each with its time (ISO, UTC),
    version, rows, and its first rows' answers in the version's own label values ("yes" / "no")."""
    classes = version_classes(deployment)
    requests = recent_requests(prediction_log_dir(), deployment.name, limit)
    for request in requests:
        request["time"] = datetime.fromtimestamp(request["time"], UTC).isoformat() if request["time"] else None
        answered = classes.get(str(request["version"]))
        for answer in request["answers"]:
            if answered and answer["label"] in (0, 1):
                answer["label"] = answered[int(answer["label"])]
    return requests


def monitoring(deployment: Deployment, days: float) -> dict:
    return {"feedback": {"total": deployment.labels.count(), "per_day": feedback_per_day(deployment)},
            "live": live_metrics_per_day(deployment, days), "decisions": decisions(deployment)}


DIFFERENCE_EDGES = [-1.0, -0.5, -0.2, -0.1, -0.05, -0.01, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0]


def shadow_comparison(deployment: Deployment, days: float, now: float | None = None) -> dict:
    """Live vs shadow answers to the same requests in the last `days` (the rows both logged): how often the
    labels agree, and how the shadow's probability differs from the live one (shadow - live). Both sides in one
    form, `compared_as` (the live version's [negative, positive]): a version answering 0 / 1 agrees with one
    answering "no" / "yes" when it said 0 and the other "no", and one calling "no" positive has its probability
    turned into that of "yes" before the difference is taken."""
    root = prediction_log_dir()
    since = (now or time.time()) - days * 86400
    shadow = read_log(root / SHADOW_DIR, deployment.name, since=since,
                      columns=["request_id", "row", "version", "probability", "label"])
    if shadow.num_rows == 0:  # say why: a newcomer clicking "Compare live and shadow" has often set none
        reason = (f"no request was logged with shadow v{deployment.shadow_version} in the last {days:g} days yet"
                  if deployment.shadow_version else
                  "no shadow version is set: choose one (Shadow version), and the requests it sees are compared here")
        return {"available": False, "reason": reason}
    live = read_log(root, deployment.name, since=since, request_ids=shadow.column("request_id").to_pylist(),
                    columns=["request_id", "row", "version", "probability", "label"])
    if live.num_rows == 0:
        return {"available": False, "reason": "no live rows of the shadowed requests were logged"}
    joined = live.join(shadow, keys=["request_id", "row"], right_suffix="_shadow", join_type="inner")
    classes, target = version_classes(deployment), deployment_classes(deployment)
    live_l, live_p = in_one_form(joined.column("version").to_pylist(), joined.column("label").to_pylist(),
                                 joined.column("probability").to_numpy(zero_copy_only=False), classes, target)
    shadow_versions = joined.column("version_shadow").to_pylist()
    shadow_l, shadow_p = in_one_form(shadow_versions, joined.column("label_shadow").to_pylist(),
                                     joined.column("probability_shadow").to_numpy(zero_copy_only=False), classes,
                                     target)
    versions = {}
    for version in sorted(set(shadow_versions)):
        mask = np.array([v == version for v in shadow_versions])
        difference = shadow_p[mask] - live_p[mask]
        counts, _ = np.histogram(np.clip(difference, -1, 1), bins=DIFFERENCE_EDGES)
        versions[version] = {
            "rows": int(mask.sum()), "agreement": float(np.mean(live_l[mask] == shadow_l[mask])),
            "mean_abs_difference": float(np.mean(np.abs(difference))),
            "live_versions": sorted({str(v) for v in np.asarray(joined.column("version").to_pylist())[mask]}),
            "difference_histogram": {"edges": DIFFERENCE_EDGES, "counts": counts.tolist()},
        }
    known = known_classes(target)
    return {"available": True, "days": days, "versions": versions,
            "compared_as": [0, 1] if is_zero_one(known) else known.to_json()}

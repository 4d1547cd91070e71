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

from operators.library.drift import ALERT, WARN, drift_figure
from operators.prediction_log import read_log, served_drift

from .feedback import labels_frame, prediction_log_dir
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
    report.update(available=True, version=version.number, days=days, warn=WARN, alert=ALERT,
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
                      columns=["request_id", "row", "time", "probability"])
    if served.num_rows == 0:
        return []
    joined = served.to_pandas().merge(labels, on=["request_id", "row"])
    joined["day"] = [datetime.fromtimestamp(t, UTC).date().isoformat() for t in joined["time"]]
    out = []
    for day, rows in joined.groupby("day", sort=True):
        y, p = rows["label"].to_numpy(), np.clip(rows["probability"].to_numpy(dtype=np.float64), 1e-15, 1 - 1e-15)
        both = len(np.unique(y)) == 2
        out.append({"day": day, "labeled": len(rows), "auc": float(roc_auc_score(y, p)) if both else None,
                    "logloss": float(log_loss(y, p, labels=[0, 1]))})
    return out


def decisions(deployment: Deployment) -> list[dict]:
    return [{"at": d.at.isoformat(), "run": d.run_id, "node": d.node, "metric": d.metric,
             "champion_version": d.champion_version, "champion_score": d.champion_score,
             "challenger_score": d.challenger_score, "margin": d.margin, "published": d.published,
             "version": d.version, "rows": d.rows, "reason": d.reason}
            for d in deployment.decisions.order_by("-id")[:100]]


def monitoring(deployment: Deployment, days: float) -> dict:
    return {"feedback": {"total": deployment.labels.count(), "per_day": feedback_per_day(deployment)},
            "live": live_metrics_per_day(deployment, days), "decisions": decisions(deployment)}

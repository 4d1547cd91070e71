"""Drift gauges on the serving /metrics: per live model, the PSI of each input and of the score and each
input's share of missing values over the last window of the prediction log, against the statistics its bundle
keeps (the same numbers as the deployment page and check_drift: operators.kernels.drift).

A background thread recomputes them every `refresh` seconds; a scrape only reads the last figures, so a big log
never holds up the event loop.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily

from operators.prediction_log import served_drift

log = logging.getLogger("studio.serving.drift")


class DriftGauges:
    """A Prometheus collector; register it on the app's registry."""

    def __init__(self, repository, log_dir: str | Path, *, window_hours: float = 24.0, refresh: float = 60.0):
        self.repository = repository
        self.log_dir = Path(log_dir)
        self.window = window_hours * 3600
        self.refresh = refresh
        self.reports: dict[tuple[str, str], dict] = {}  # (model, version) -> the last report, replaced whole
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, repository, log_dir: str | Path) -> DriftGauges:
        """SERVING_DRIFT_WINDOW_HOURS (default 24) and SERVING_DRIFT_REFRESH_SECONDS (default 60)."""
        return cls(repository, log_dir, window_hours=float(os.environ.get("SERVING_DRIFT_WINDOW_HOURS", "24")),
                   refresh=float(os.environ.get("SERVING_DRIFT_REFRESH_SECONDS", "60")))

    def compute(self) -> None:
        reports = {}
        since = time.time() - self.window
        for name, model in list(self.repository.models.items()):
            served = model.live_version()
            statistics = getattr(served, "statistics", None)
            if served is None or statistics is None:
                continue
            try:
                reports[(name, served.version)] = served_drift(self.log_dir, name, statistics, since=since,
                                                               version=served.version)
            except Exception:  # one unreadable log must not take the others' gauges away
                log.exception("cannot compute the drift of %s", name)
        self.reports = reports

    def _run(self) -> None:
        while True:
            try:
                self.compute()
            except Exception:
                log.exception("drift gauges")
            time.sleep(self.refresh)

    def describe(self):
        return []  # no sample at registration: the first scrape starts the thread

    def collect(self):
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="drift-gauges", daemon=True)
                self._thread.start()
        psi = GaugeMetricFamily("serving_input_psi", "Population stability index of a served input against "
                                "the rows the version was published with", labels=["model", "version", "input"])
        missing = GaugeMetricFamily("serving_input_missing_share", "Share of served rows missing the input",
                                    labels=["model", "version", "input"])
        score = GaugeMetricFamily("serving_score_psi", "Population stability index of the served score",
                                  labels=["model", "version"])
        rows = GaugeMetricFamily("serving_drift_rows", "Served rows the drift figures cover",
                                 labels=["model", "version"])
        for (name, version), report in self.reports.items():
            rows.add_metric([name, version], report["rows"])
            if report["score"] is not None:
                score.add_metric([name, version], report["score"]["psi"])
            for feature in report["features"]:
                psi.add_metric([name, version, feature["name"]], feature["psi"])
                missing.add_metric([name, version, feature["name"]], feature["missing_share"])
        yield from (psi, missing, score, rows)

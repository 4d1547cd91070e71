"""The Spark engine's warm-up: a tiny built-in pipeline run once through a fresh session, so that the first user run
finds the driver JVM's JIT, Spark's generated code and the Python workers (with numpy, pandas, LightGBM imported)
warm instead of paying for them itself.

The pipeline is the shape of a training run (Parquet import -> split -> features -> GBDT -> predict -> evaluate) on
generated data (operators.library.sample_data, STUDIO_SPARK_WARMUP_ROWS rows, default 10,000), in a temporary
data root and artifact store that are deleted afterwards: nothing of it reaches a user's store, and the engine
releases its cached frames when the run ends. A failure is logged, never raised: a worker whose warm-up failed
runs its users' pipelines as it would have without one.

`start()` warms in a thread of its own, once per process (the studio's run worker calls it at start, see
studio.runs.tasks); `wait()` lets the first Spark run wait for it; `warm_up()` is the same work in the calling
thread (benchmarks/spark/engines_local_vs_spark.py measures a run in a session warmed by it).
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROWS = 10_000


def warmup_rows() -> int:
    return int(os.environ.get("STUDIO_SPARK_WARMUP_ROWS", str(ROWS)))


def warmup_graph(path: str = "warmup.parquet", trees: int = 10) -> dict:
    """The warm-up pipeline: every Spark half a training run uses, on the credit table at `path` (the Spark benchmark
    runs the same graph with 100 trees)."""
    def node(id, operator, params=None):
        return {"id": id, "operator": operator, "params": params or {}}

    def edge(s, sp, t, tp):
        return {"source": s, "source_port": sp, "target": t, "target_port": tp}

    return {"format": "studio.pipeline/1", "name": "spark-warm-up", "nodes": [
        node("import", "import_parquet", {"path": path}),
        node("split", "split_random", {"ratio": 0.8, "seed": 1}),
        node("features", "feature_extraction", {"label": "default", "exclude": ["customer_id", "application_date"]}),
        node("gbdt", "train_gbdt", {"n_estimators": trees, "record_train_metrics": False}),
        node("predict", "predict"),
        node("evaluate", "evaluate_binary", {"label": "default"})],
        "edges": [edge("import", "table", "split", "table"), edge("split", "first", "features", "table"),
                  edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "predict", "model"),
                  edge("features", "feature_state", "predict", "feature_state"),
                  edge("split", "second", "predict", "table"), edge("predict", "table", "evaluate", "table")]}


def warm_up(rows: int | None = None, graph: dict | None = None) -> dict:
    """Start the process's Spark session (if it is not yet) and run the warm-up pipeline (or `graph`, with the
    generated table as warmup.parquet in its data root) through it. Returns {"status", "seconds", "session",
    "error"}; never raises."""
    from .engines import spark_session

    started = time.perf_counter()
    outcome = {"status": "failed", "seconds": 0.0, "session": 0.0, "error": None}
    try:
        spark_session()
        outcome["session"] = time.perf_counter() - started
        log.info("Spark session started in %.1f s", outcome["session"])
        outcome.update(_run(rows if rows is not None else warmup_rows(), graph or warmup_graph()))
    except Exception as exc:  # a broken warm-up must leave the worker as it would be without one
        outcome["error"] = f"{type(exc).__name__}: {exc}"
    outcome["seconds"] = time.perf_counter() - started
    if outcome["status"] == "succeeded":
        log.info("Spark warm-up finished in %.1f s", outcome["seconds"])
    else:
        log.warning("Spark warm-up failed after %.1f s (the worker runs on, unwarmed): %s", outcome["seconds"],
                    outcome["error"])
    return outcome


def _run(rows: int, graph: dict) -> dict:
    from operators.library.sample_data import credit_default_table

    from . import run
    from .store import FileSystemStore

    with tempfile.TemporaryDirectory(prefix="studio-spark-warm-up-") as folder:
        data = Path(folder) / "data"
        data.mkdir()
        credit_default_table(n_rows=rows, seed=5).to_parquet(data / "warmup.parquet", index=False)
        result = run(graph, store=FileSystemStore(Path(folder) / "store"), data_root=data, engine="spark")
    errors = [f"node {name!r}: {node.error.get('message')}" for name, node in result.nodes.items() if node.error]
    return {"status": result.status, "error": "; ".join(errors) or None}


class WarmUp:
    """One warm-up in a daemon thread of its own, started once (`start`), waited for by the runs (`wait`)."""

    def __init__(self, rows: int | None = None, graph: dict | None = None):
        self.rows, self.graph = rows, graph
        self.outcome: dict = {}
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        """Start warming up, unless it was started already; the thread either way."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="spark-warm-up", daemon=True)
                self._thread.start()
            return self._thread

    def _work(self) -> None:
        try:
            self.outcome.update(warm_up(self.rows, self.graph), finished_at=time.time())
        finally:
            self._done.set()

    def pending(self) -> bool:
        """True while the warm-up runs."""
        return self._thread is not None and not self._done.is_set()

    def wait(self, timeout: float | None = None) -> dict | None:
        """The outcome once the warm-up has finished (waiting up to `timeout` seconds for it); None if it was never
        started or is still running."""
        if self._thread is None or not self._done.wait(timeout):
            return None
        return dict(self.outcome)


_worker = WarmUp()  # the process's own: a worker warms up once


def start() -> threading.Thread:
    return _worker.start()


def pending() -> bool:
    return _worker.pending()


def wait(timeout: float | None = None) -> dict | None:
    return _worker.wait(timeout)

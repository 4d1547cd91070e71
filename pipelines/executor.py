"""The executor: runs a validated graph in topological order, independent branches side by side.

Every output is addressed by a fingerprint of (operator, version, canonical params, input fingerprints,
source content hash); an output already in the store is not computed again (DESIGN principle 3). Each
step is reported to an event sink as it happens: queued, running (progress, logs), succeeded, cached,
failed, skipped, cancelled. Knows nothing of Django: the studio's worker passes a sink that stores events.
"""
from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

import networkx as nx

import operators
from operators import Cancelled, OperatorError, PortType
from operators.isolation import memory_error_message

from .graph import Graph, canonical_json, resolve_params, with_builtins
from .store import ArtifactStore
from .validation import check, params_errors

# Node statuses
QUEUED, RUNNING, SUCCEEDED, CACHED, FAILED, SKIPPED, CANCELLED = (
    "queued", "running", "succeeded", "cached", "failed", "skipped", "cancelled")
FINISHED = {SUCCEEDED, CACHED, FAILED, SKIPPED, CANCELLED}


@dataclass
class Event:
    """One step of a run. `type` is run_started, node_queued, node_running, node_progress, node_log,
    node_succeeded, node_cached, node_failed, node_skipped, node_cancelled or run_finished."""

    type: str
    node: str | None = None
    data: dict = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def as_json(self) -> dict:
        return {"type": self.type, "node": self.node, "data": self.data, "time": self.time}


@dataclass
class NodeResult:
    status: str = "pending"
    cached: bool = False
    duration: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)  # port -> fingerprint
    error: dict | None = None

    def as_json(self) -> dict:
        data = {"status": self.status, "cached": self.cached, "duration": self.duration, "outputs": self.outputs}
        if self.error:
            data["error"] = {k: v for k, v in self.error.items() if k != "traceback"}
        return data


@dataclass
class RunResult:
    status: str
    nodes: dict[str, NodeResult]
    duration: float
    metrics: dict[str, dict] = field(default_factory=dict)
    store: ArtifactStore | None = None

    def output(self, node: str, port: str) -> Any:
        """Load one node output from the store."""
        return self.store.load(self.nodes[node].outputs[port])

    def summary(self) -> dict:
        return {"status": self.status, "duration": round(self.duration, 4),
                "nodes": {nid: r.as_json() for nid, r in self.nodes.items()}, "metrics": self.metrics}


class CancelToken:
    """Set from any thread (or a signal handler) to cancel a run."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class NodeContext:
    """What an operator sees while it runs (satisfies operators.OperatorContext)."""

    PROGRESS_INTERVAL = 0.2  # seconds between progress events from one node, so a tight loop can't flood

    def __init__(self, node_id: str, executor: Executor, token: CancelToken,
                 abandoned: set[str] | frozenset = frozenset()):
        self.node_id = node_id
        self.engine = executor.engine
        self.data_root = executor.data_root
        self.store = executor.store
        self._executor = executor
        self._token = token
        self._abandoned = abandoned  # nodes the run gave up on after a cancel; they may report nothing more
        self._scratch: Path | None = None
        self._last_progress = 0.0

    def emit(self, event: Event) -> None:
        """Report an event of this node, unless the run has given up on it: an operator that ignored a cancel
        and wakes up later must not add events after the run has finished."""
        if self.node_id not in self._abandoned:
            self._executor.emit(event)

    def progress(self, fraction: float, message: str | None = None) -> None:
        now = time.monotonic()
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction < 1.0 and now - self._last_progress < self.PROGRESS_INTERVAL:
            return
        self._last_progress = now
        data = {"progress": round(fraction, 4)}
        if message:
            data["message"] = message
        self.emit(Event("node_progress", self.node_id, data))

    def log(self, message: str) -> None:
        self.emit(Event("node_log", self.node_id, {"message": str(message)}))

    @property
    def spark(self):
        """The process's SparkSession (engine "spark"), created on first use; see pipelines.engines."""
        from .engines import spark_session

        return spark_session()

    def spark_progress(self, fraction: float, message: str, detail: dict) -> None:
        """Progress of this node's Spark jobs and stages (from the status tracker), as a progress event."""
        self.emit(Event("node_progress", self.node_id,
                        {"progress": round(min(max(fraction, 0.0), 1.0), 4), "message": message,
                          "spark": detail}))

    @property
    def cancelled(self) -> bool:
        return self._token.cancelled

    def check_cancelled(self) -> None:
        if self._token.cancelled:
            raise Cancelled(f"node {self.node_id!r} was cancelled")

    def scratch_dir(self) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix=f"node-{self.node_id}-"))
        return self._scratch

    def cleanup(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def resolve_path(self, path: str) -> Path:
        root = self.data_root.resolve()
        candidate = (root / path).resolve()
        if candidate != root and root not in candidate.parents:
            raise OperatorError(f"path {path!r} is outside the data root", field="path")
        return candidate

    def connection_url(self, name: str) -> str:
        try:
            return self._executor.connections[name]
        except KeyError:
            raise OperatorError(f"no connection named {name!r}", field="connection") from None

    def upload_path(self, upload_id: str) -> Path:
        try:
            return Path(self._executor.uploads[upload_id])
        except KeyError:
            raise OperatorError(f"no uploaded file with id {upload_id!r}", field="upload") from None

    def publish(self, name: str, *, model, feature_state, holdout, threshold: float = 0.5) -> dict:
        """Publish a model with its feature state as a deployment (pipelines.bundle). The studio's worker passes
        a publisher that registers a live version; without one (a script, the CLI) the verified bundle is
        written under the artifact store's bundles/ folder and its path returned."""
        publisher = self._executor.publisher
        if publisher is None:
            from .bundle import publish_to_folder

            publisher = publish_to_folder(Path(getattr(self._executor.store, "root", self.data_root)) / "bundles")
        return publisher(node=self.node_id, name=name, model=model, feature_state=feature_state,
                         holdout=holdout, threshold=threshold)

    def deployment_bundle(self, deployment: str, version: str | None = None):
        """A deployment's bundle, found by the executor's `bundles` resolver (the studio's deployments), else
        among the bundles this store's publish nodes wrote (newest first; `version` is then the bundle id)."""
        from .bundle import BundleRefused, load_bundle

        resolve = self._executor.bundles
        if resolve is not None:
            path = resolve(deployment, version)
        else:
            root = Path(getattr(self._executor.store, "root", self.data_root)) / "bundles" / deployment
            found = sorted(root.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True) if root.is_dir() else []
            found = [p for p in found if version is None or p.name == version]
            path = found[0] if found else None
        if path is None:
            raise OperatorError(f"no deployment {deployment!r}" + (f" version {version!r}" if version else ""),
                                field="deployment")
        try:
            return load_bundle(path)
        except BundleRefused as exc:
            raise OperatorError(f"deployment {deployment!r}: {exc}", field="deployment") from None


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:40]


class Executor:
    """Runs graphs against one artifact store. Thread-based: operators spend their time in numpy,
    LightGBM and Arrow, which release the GIL, and on Spark the work is in the JVM anyway."""

    def __init__(self, store: ArtifactStore, *, engine: str = "local", max_parallel: int = 4,
                 data_root: str | Path = ".", connections: Mapping[str, str] | None = None,
                 uploads: Mapping[str, str | Path] | None = None,
                 on_event: Callable[[Event], None] | None = None, cancel_grace: float = 1.5,
                 publisher: Callable[..., dict] | None = None,
                 bundles: Callable[[str, str | None], str | Path | None] | None = None):
        from .engines import ENGINES

        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.store = store
        self.engine = engine
        self.max_parallel = max(1, int(max_parallel))
        self.data_root = Path(data_root)
        # name -> URL; a Mapping, so the studio may check each URL when a node asks for it
        self.connections = connections if connections is not None else {}
        # upload id -> file path; a Mapping, so the studio may pass a lazy resolver over its uploads table
        self.uploads = uploads if uploads is not None else {}
        self.on_event = on_event
        # seconds a running operator gets to notice a cancel before the run gives up on it and ends, so a
        # cancel answers within 2 s even when an operator sits in a library call that never checks
        self.cancel_grace = cancel_grace
        self.publisher = publisher  # what ctx.publish calls; see NodeContext.publish
        self.bundles = bundles  # (deployment, version) -> bundle path; see NodeContext.deployment_bundle
        self._emit_lock = threading.Lock()

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            with self._emit_lock:
                self.on_event(event)

    # ---------------------------------------------------------------------------------------- planning
    def _selection(self, dag: nx.DiGraph, *, from_node, only, until) -> tuple[set[str], set[str]]:
        """(targets, required): targets are the nodes asked for; required adds the ancestors they need."""
        for name, node_id in (("from_node", from_node), ("only", only), ("until", until)):
            if node_id is not None and node_id not in dag:
                raise ValueError(f"{name}: no node {node_id!r} in the pipeline")
        if only is not None:
            targets = {only}
        elif from_node is not None:
            targets = {from_node} | nx.descendants(dag, from_node)
        elif until is not None:
            targets = {until} | nx.ancestors(dag, until)
        else:
            targets = set(dag.nodes)
        required = set(targets)
        for node_id in targets:
            required |= nx.ancestors(dag, node_id)
        return targets, required

    def run(self, graph: Graph, *, from_node: str | None = None, only: str | None = None,
            until: str | None = None, force: bool = False, params: dict[str, Any] | None = None,
            cancel: CancelToken | None = None) -> RunResult:
        params = with_builtins(params)  # one run_date / fire_time for every node of the run
        check(graph, params)
        started = time.monotonic()
        token = cancel or CancelToken()
        nodes = {n.id: n for n in graph.nodes}
        dag = nx.DiGraph()
        dag.add_nodes_from(nodes)
        dag.add_edges_from((e.source, e.target) for e in graph.edges)
        targets, required = self._selection(dag, from_node=from_node, only=only, until=until)
        order = [n for n in nx.topological_sort(dag) if n in required]
        incoming = {nid: {e.target_port: e for e in graph.edges if e.target == nid} for nid in order}

        results = {nid: NodeResult() for nid in order}
        classes = {nid: operators.get(nodes[nid].operator) for nid in order}
        validated = {}
        for nid in order:
            validated[nid], errs = params_errors(nid, classes[nid], resolve_params(nodes[nid], graph.parameters,
                                                                                   params))
            assert not errs, errs  # check() above already refused invalid params
        self.emit(Event("run_started", None, {"nodes": order, "engine": self.engine, "force": force}))

        # Fingerprints, in topological order: each node's key folds in its inputs' output fingerprints.
        out_fp: dict[tuple[str, str], str] = {}
        plan_errors: dict[str, dict] = {}
        for nid in order:
            cls = classes[nid]
            source = None
            if any((e.source, e.source_port) not in out_fp for e in incoming[nid].values()):
                continue  # an upstream could not be planned; this node will be skipped
            try:
                source = cls().source_fingerprint(NodeContext(nid, self, token), validated[nid])
            except OperatorError as exc:
                plan_errors[nid] = _error_json(exc)
                continue
            if not cls.cacheable:
                source = uuid.uuid4().hex
            key = fingerprint(cls.name, cls.version, validated[nid].model_dump(mode="json"),
                              {port: out_fp[(e.source, e.source_port)] for port, e in sorted(incoming[nid].items())},
                              source)
            for port in cls.outputs:
                out_fp[(nid, port.name)] = fingerprint(key, port.name)

        # How many pending consumers each output has, so values nobody needs any more are freed.
        consumers: dict[tuple[str, str], int] = {}
        for nid in order:
            for e in incoming[nid].values():
                consumers[(e.source, e.source_port)] = consumers.get((e.source, e.source_port), 0) + 1
        values: dict[tuple[str, str], Any] = {}

        def outputs_of(nid):
            return {p.name: out_fp[(nid, p.name)] for p in classes[nid].outputs}

        for nid in order:
            self.emit(Event("node_queued", nid))

        pending = list(order)
        running: dict[Future, str] = {}
        pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="node")
        cancelled_at = None
        abandoned: set[str] = set()
        try:
            while pending or running:
                if token.cancelled and cancelled_at is None:
                    cancelled_at = time.monotonic()
                    for nid in pending:
                        results[nid].status = CANCELLED
                        self.emit(Event("node_cancelled", nid, {"reason": "run cancelled before the node started"}))
                    pending = []
                progressed = True
                while progressed and not token.cancelled:
                    progressed = False
                    for nid in list(pending):
                        upstream = [e.source for e in incoming[nid].values()]
                        states = [results[u].status for u in upstream]
                        if any(s not in FINISHED for s in states):
                            continue
                        pending.remove(nid)
                        progressed = True
                        if any(s in (FAILED, SKIPPED, CANCELLED) for s in states) or nid in plan_errors:
                            if nid in plan_errors:
                                self._fail(nid, results[nid], plan_errors[nid], 0.0)
                            else:
                                bad = [u for u in upstream if results[u].status in (FAILED, SKIPPED, CANCELLED)]
                                results[nid].status = SKIPPED
                                self.emit(Event("node_skipped", nid, {"reason": f"upstream {bad[0]!r} did not "
                                                                     "succeed", "upstream": bad}))
                            self._release(nid, incoming, consumers, values)
                            continue
                        fps = outputs_of(nid)
                        reuse = not (force and nid in targets)
                        if reuse and all(self.store.exists(fp) for fp in fps.values()):
                            results[nid] = NodeResult(CACHED, True, 0.0, fps)
                            self.emit(Event("node_cached", nid, {"outputs": fps}))
                            self._release(nid, incoming, consumers, values)
                            continue
                        inputs = {port: _shared(self._value(e, out_fp, values))
                                  for port, e in incoming[nid].items()}
                        results[nid].status = RUNNING
                        future = pool.submit(self._run_node, nid, classes[nid], validated[nid], inputs, fps,
                                             token, force and nid in targets, abandoned)
                        running[future] = nid
                if not running:
                    continue
                if cancelled_at is not None and time.monotonic() - cancelled_at > self.cancel_grace:
                    for future, nid in running.items():  # the operator ignored cancellation: abandon it
                        abandoned.add(nid)
                        results[nid].status = CANCELLED
                        self.emit(Event("node_cancelled", nid, {"reason": "did not stop within the grace period"}))
                    running.clear()
                    break
                done, _ = wait(running, timeout=0.05, return_when=FIRST_COMPLETED)
                for future in done:
                    nid = running.pop(future)
                    results[nid], produced = future.result()
                    if results[nid].status == SUCCEEDED:
                        for port, value in produced.items():
                            if consumers.get((nid, port)):
                                values[(nid, port)] = value
                    self._release(nid, incoming, consumers, values)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

        statuses = [r.status for r in results.values()]
        if token.cancelled:
            status = CANCELLED
        elif any(s in (FAILED, SKIPPED) for s in statuses):
            status = FAILED
        else:
            status = SUCCEEDED
        metrics = {}
        for nid in order:
            for port in classes[nid].outputs:
                if port.type == PortType.METRICS and results[nid].status in (SUCCEEDED, CACHED):
                    metrics[nid] = self.store.load(results[nid].outputs[port.name])
        result = RunResult(status, results, time.monotonic() - started, metrics, self.store)
        failed = [nid for nid in order if results[nid].status == FAILED]
        self.emit(Event("run_finished", None, {"status": status, "duration": result.duration,
                                               "failed_nodes": failed}))
        return result

    # ---------------------------------------------------------------------------------------- running
    def _value(self, edge, out_fp, values):
        key = (edge.source, edge.source_port)
        if key not in values:
            values[key] = self.store.load(out_fp[key], engine=self.engine)
        return values[key]

    @staticmethod
    def _release(nid, incoming, consumers, values):
        for e in incoming[nid].values():
            key = (e.source, e.source_port)
            consumers[key] -= 1
            if consumers[key] == 0:
                values.pop(key, None)

    def _fail(self, nid: str, result: NodeResult, error: dict, duration: float, emit=None) -> None:
        result.status, result.error, result.duration = FAILED, error, duration
        (emit or self.emit)(Event("node_failed", nid, {"error": error, "duration": duration}))

    def _engine_scope(self, ctx):
        if self.engine == "spark":
            from .engines import spark_node_scope

            return spark_node_scope(ctx)
        return contextlib.nullcontext()

    def _invoke(self, ctx, cls, inputs, params):
        if self.engine == "spark":  # the operator's Spark implementation, or an explicit local fallback
            from .engines import run_on_spark

            return run_on_spark(ctx, cls, inputs, params)
        return cls().run(ctx, inputs, params)

    def _run_node(self, nid, cls, params, inputs, fps, token, overwrite, abandoned) -> tuple[NodeResult, dict]:
        result = NodeResult(RUNNING)
        ctx = NodeContext(nid, self, token, abandoned)
        started = time.monotonic()
        ctx.emit(Event("node_running", nid, {"progress": 0.0}))
        try:
            ctx.check_cancelled()
            with self._engine_scope(ctx):  # on Spark: the node's job group, its progress and cancellation
                produced = self._invoke(ctx, cls, inputs, params)
                missing = [p.name for p in cls.outputs if p.name not in (produced or {})]
                if missing:
                    raise RuntimeError(f"operator {cls.name!r} did not produce output {missing[0]!r}")
                ctx.check_cancelled()
                for port in cls.outputs:
                    if overwrite:
                        _discard(self.store, fps[port.name])
                    self.store.save(fps[port.name], port.type, produced[port.name])
                    if self.engine == "spark" and port.type in (PortType.TABLE, PortType.FEATURES):
                        # downstream reads the Parquet just written, not the lineage again
                        produced[port.name] = self.store.load(fps[port.name], engine="spark")
        except Cancelled:
            result.status, result.duration = CANCELLED, time.monotonic() - started
            ctx.emit(Event("node_cancelled", nid, {"reason": "cancelled while running"}))
            return result, {}
        except OperatorError as exc:
            self._fail(nid, result, _error_json(exc), time.monotonic() - started, ctx.emit)
            return result, {}
        except MemoryError as exc:  # over the process's memory ceiling: this node fails, the process goes on
            self._fail(nid, result, {"message": memory_error_message(exc)}, time.monotonic() - started, ctx.emit)
            return result, {}
        except Exception as exc:  # an operator bug: keep the traceback for the log
            error = {"message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            self._fail(nid, result, error, time.monotonic() - started, ctx.emit)
            return result, {}
        finally:
            ctx.cleanup()
        result.status, result.duration, result.outputs = SUCCEEDED, time.monotonic() - started, fps
        ctx.emit(Event("node_succeeded", nid, {"duration": result.duration, "outputs": fps}))
        return result, {port.name: produced[port.name] for port in cls.outputs}


def _shared(value):
    """What a node receives of an upstream output: a pandas table as its own shallow copy, so that an operator
    that changes its input in place (under pandas' copy-on-write) cannot change what a sibling node sees."""
    import pandas as pd

    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value


def _discard(store, fp: str) -> None:
    path = getattr(store, "path", None)
    if path is not None and store.exists(fp):
        shutil.rmtree(path(fp), ignore_errors=True)


def _error_json(exc: OperatorError) -> dict:
    error = {"message": exc.message}
    for key in ("field", "column", "port"):
        if getattr(exc, key):
            error[key] = getattr(exc, key)
    return error

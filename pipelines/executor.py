"""The executor: runs a validated graph, each node as soon as its last input is ready, independent branches
side by side.

Every output is addressed by a fingerprint (pipelines.cache); an output already in the store is not computed
again (DESIGN principle 3), and one that fails verification when it is read is computed again (principle 9).
Engine-specific work goes to an engine object (pipelines.engines). Each step is reported to an event sink as
it happens: queued, running (progress, logs), succeeded, cached, failed, skipped, cancelled. Knows nothing of
Django: the studio's worker passes a sink that stores events.
"""
from __future__ import annotations

import heapq
import logging
import queue
import shutil
import tempfile
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from operators import Cancelled, OperatorError, PortType

from . import cache
from .graph import Graph
from .store import ArtifactCorrupt, ArtifactStore, ArtifactUnavailable
from .validation import check

log = logging.getLogger(__name__)

# Node statuses
PENDING, QUEUED, RUNNING, SUCCEEDED, CACHED, FAILED, SKIPPED, CANCELLED = (
    "pending", "queued", "running", "succeeded", "cached", "failed", "skipped", "cancelled")
FINISHED = {SUCCEEDED, CACHED, FAILED, SKIPPED, CANCELLED}
DID_NOT_SUCCEED = {FAILED, SKIPPED, CANCELLED}


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
    status: str = PENDING
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
        self._listeners: list[Callable[[], None]] = []

    def cancel(self) -> None:
        self._event.set()
        for listener in tuple(self._listeners):
            listener()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def on_cancel(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the token is cancelled (at once if it is already); returns what removes it.
        A listener may run inside a signal handler: it must not take a lock (queue.SimpleQueue.put is safe)."""
        self._listeners.append(listener)
        if self.cancelled:
            listener()
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None


class NodeContext:
    """What an operator sees while it runs (satisfies operators.OperatorContext)."""

    PROGRESS_INTERVAL = 0.2  # seconds between progress events from one node, so a tight loop can't flood

    def __init__(self, node_id: str, executor: Executor, token: CancelToken,
                 abandoned: set[str] | frozenset = frozenset()):
        self.node_id = node_id
        self.engine = executor.engine.name
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

            publisher = publish_to_folder(self._executor.bundle_root)
        return publisher(node=self.node_id, name=name, model=model, feature_state=feature_state,
                         holdout=holdout, threshold=threshold)

    def deployment_bundle(self, deployment: str, version: str | None = None):
        """A deployment's bundle, found by the executor's `bundles` resolver (the studio's deployments), else
        among the bundles this store's publish nodes wrote (pipelines.bundle.bundles_in_folder)."""
        from .bundle import BundleRefused, bundles_in_folder, load_bundle

        resolve = self._executor.bundles or bundles_in_folder(self._executor.bundle_root)
        path = resolve(deployment, version)
        if path is None:
            raise OperatorError(f"no deployment {deployment!r}" + (f" version {version!r}" if version else ""),
                                field="deployment")
        try:
            return load_bundle(path)
        except BundleRefused as exc:
            raise OperatorError(f"deployment {deployment!r}: {exc}", field="deployment") from None


@dataclass
class NodeOutcome:
    """What a node's thread hands back: its result, and its output values for downstream nodes."""

    result: NodeResult
    values: dict[str, Any] = field(default_factory=dict)


class Executor:
    """Runs graphs against one artifact store. Thread-based: operators spend their time in numpy,
    LightGBM and Arrow, which release the GIL, and on Spark the work is in the JVM anyway."""

    def __init__(self, store: ArtifactStore, *, engine: Any = "local", max_parallel: int = 4,
                 data_root: str | Path = ".", connections: Mapping[str, str] | None = None,
                 uploads: Mapping[str, str | Path] | None = None,
                 on_event: Callable[[Event], None] | None = None, cancel_grace: float = 1.5,
                 publisher: Callable[..., dict] | None = None,
                 bundles: Callable[[str, str | None], str | Path | None] | None = None):
        from .engines import engine_named

        self.store = store
        self.engine = engine_named(engine)  # "local", "spark" or an engine object (pipelines.engines)
        self.max_parallel = max(1, int(max_parallel))
        self.data_root = Path(data_root)
        self.connections = dict(connections or {})
        # upload id -> file path; a Mapping, so the studio may pass a lazy resolver over its uploads table
        self.uploads = uploads if uploads is not None else {}
        self.on_event = on_event
        # seconds a running operator gets to notice a cancel before the run gives up on it and ends, so a
        # cancel answers within 2 s even when an operator sits in a library call that never checks
        self.cancel_grace = cancel_grace
        self.publisher = publisher  # what ctx.publish calls; see NodeContext.publish
        self.bundles = bundles  # (deployment, version) -> bundle path; see NodeContext.deployment_bundle
        self._emit_lock = threading.Lock()

    @property
    def bundle_root(self) -> Path:
        """Where a run without a studio publishes bundles and looks them up: the store's bundles/ folder."""
        return Path(getattr(self.store, "root", self.data_root)) / "bundles"

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            with self._emit_lock:
                self.on_event(event)

    def run(self, graph: Graph, *, from_node: str | None = None, only: str | None = None,
            until: str | None = None, force: bool = False, params: dict[str, Any] | None = None,
            cancel: CancelToken | None = None) -> RunResult:
        check(graph, params)
        started = time.monotonic()
        token = cancel or CancelToken()
        plan = cache.plan(graph, params=params, from_node=from_node, only=only, until=until)
        self.emit(Event("run_started", None, {"nodes": plan.order, "engine": self.engine.name, "force": force}))
        cache.assign_fingerprints(plan, lambda nid: NodeContext(nid, self, token))
        for nid in plan.order:
            self.emit(Event("node_queued", nid))
        schedule = Schedule(self, plan, token, force)
        schedule.run()
        results = schedule.results
        if token.cancelled:
            status = CANCELLED
        elif any(r.status in (FAILED, SKIPPED) for r in results.values()):
            status = FAILED
        else:
            status = SUCCEEDED
        result = RunResult(status, results, time.monotonic() - started, schedule.metrics(), self.store)
        failed = [nid for nid in plan.order if results[nid].status == FAILED]
        self.emit(Event("run_finished", None, {"status": status, "duration": result.duration,
                                               "failed_nodes": failed}))
        return result

    def fail(self, nid: str, result: NodeResult, error: dict, duration: float, emit=None) -> None:
        result.status, result.error, result.duration = FAILED, error, duration
        (emit or self.emit)(Event("node_failed", nid, {"error": error, "duration": duration}))

    def run_node(self, nid: str, cls, params, inputs: dict[str, Any], fps: dict[str, str], token: CancelToken,
                 overwrite: bool, abandoned: set[str]) -> NodeOutcome:
        """Run one node in a pool thread: the operator on the engine, then its outputs into the store."""
        result = NodeResult(RUNNING)
        ctx = NodeContext(nid, self, token, abandoned)
        started = time.monotonic()
        ctx.emit(Event("node_running", nid, {"progress": 0.0}))
        try:
            ctx.check_cancelled()
            with self.engine.node_scope(ctx):  # on Spark: the node's job group, its progress and cancellation
                produced = self._produce(ctx, cls, params, inputs, fps, overwrite)
        except Cancelled:
            result.status, result.duration = CANCELLED, time.monotonic() - started
            ctx.emit(Event("node_cancelled", nid, {"reason": "cancelled while running"}))
            return NodeOutcome(result)
        except OperatorError as exc:
            self.fail(nid, result, error_json(exc), time.monotonic() - started, ctx.emit)
            return NodeOutcome(result)
        except Exception as exc:  # an operator bug: keep the traceback for the log
            error = {"message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            self.fail(nid, result, error, time.monotonic() - started, ctx.emit)
            return NodeOutcome(result)
        finally:
            ctx.cleanup()
        result.status, result.duration, result.outputs = SUCCEEDED, time.monotonic() - started, fps
        ctx.emit(Event("node_succeeded", nid, {"duration": result.duration, "outputs": fps}))
        return NodeOutcome(result, produced)

    def _produce(self, ctx: NodeContext, cls, params, inputs, fps: dict[str, str], overwrite: bool) -> dict:
        produced = self.engine.run(ctx, cls, inputs, params)
        missing = [p.name for p in cls.outputs if p.name not in (produced or {})]
        if missing:
            raise RuntimeError(f"operator {cls.name!r} did not produce output {missing[0]!r}")
        ctx.check_cancelled()
        values = {}
        for port in cls.outputs:
            fp = fps[port.name]
            if overwrite:  # forced, or the stored artifact failed verification: replace it
                self.store.discard(fp)
            self.store.save(fp, port.type, produced[port.name])
            values[port.name] = self.engine.stored_value(self.store, fp, port.type, produced[port.name])
        return values


class _InputUnreadable(Exception):
    def __init__(self, edge, error: ArtifactUnavailable):
        super().__init__(error.reason)
        self.edge, self.error = edge, error


_WAKE = object()  # put on a schedule's inbox by a cancel


class Schedule:
    """One run's scheduling: a ready queue (in topological order) that takes a node when the last of its
    upstream nodes finishes. The loop sleeps on an inbox that node completions and a cancel write to, so
    nothing is rescanned on a timer. Output values are kept while a consumer still needs them.

    A cached node's metrics are read (and so verified) when it is found cached; its other outputs are verified
    when a node that runs reads them. One that fails verification is a cache miss: its producer runs again
    (once per run) and the reader waits for it."""

    def __init__(self, executor: Executor, plan: cache.Plan, token: CancelToken, force: bool):
        self.executor, self.store, self.plan, self.token = executor, executor.store, plan, token
        self.results = {nid: NodeResult() for nid in plan.order}
        self.overwrite = set(plan.targets) if force else set()
        self.waiting = {nid: set(plan.upstream(nid)) for nid in plan.order}
        self.consumers = Counter((e.source, e.source_port) for nid in plan.order
                                 for e in plan.incoming[nid].values())
        self.values: dict[tuple[str, str], Any] = {}
        self.cached_metrics: dict[str, dict] = {}
        self.position = {nid: i for i, nid in enumerate(plan.order)}
        self.ready: list[tuple[int, str]] = []
        self.running: dict[Future, str] = {}
        self.abandoned: set[str] = set()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        for nid in plan.order:
            if not self.waiting[nid]:
                heapq.heappush(self.ready, (self.position[nid], nid))

    def run(self) -> None:
        pool = ThreadPoolExecutor(max_workers=self.executor.max_parallel, thread_name_prefix="node")
        stop_listening = self.token.on_cancel(lambda: self.inbox.put(_WAKE))
        try:
            self._start_ready(pool)
            while self.running and not self.token.cancelled:
                item = self.inbox.get()
                if item is not _WAKE:
                    self._collect(item)
                    self._start_ready(pool)
            if self.token.cancelled:
                self._cancel()
        finally:
            stop_listening()
            pool.shutdown(wait=False, cancel_futures=True)

    def metrics(self) -> dict[str, dict]:
        """Each succeeded or cached node's metrics output, in topological order."""
        metrics = {}
        for nid in self.plan.order:
            result = self.results[nid]
            if result.status not in (SUCCEEDED, CACHED):
                continue
            for port in self.plan.classes[nid].outputs:
                if port.type != PortType.METRICS:
                    continue
                if nid in self.cached_metrics:
                    metrics[nid] = self.cached_metrics[nid][port.name]
                    continue
                try:
                    metrics[nid] = self.store.load(result.outputs[port.name])
                except ArtifactUnavailable as exc:  # changed since this run wrote it: report none rather than it
                    log.warning("metrics %s.%s cannot be read: %s", nid, port.name, exc.reason)
        return metrics

    # ------------------------------------------------------------------------------------------- the loop
    def _start_ready(self, pool: ThreadPoolExecutor) -> None:
        while self.ready and not self.token.cancelled:
            _, nid = heapq.heappop(self.ready)
            if self.results[nid].status == PENDING and not self.waiting[nid]:
                self._start(nid, pool)

    def _start(self, nid: str, pool: ThreadPoolExecutor) -> None:
        """Settle a node whose upstream nodes all finished: fail, skip, cached, or submitted to the pool."""
        bad = [u for u in self.plan.upstream(nid) if self.results[u].status in DID_NOT_SUCCEED]
        if nid in self.plan.errors:
            self.executor.fail(nid, self.results[nid], error_json(self.plan.errors[nid]), 0.0)
        elif bad:
            self.results[nid].status = SKIPPED
            self.executor.emit(Event("node_skipped", nid, {"reason": f"upstream {bad[0]!r} did not succeed",
                                                           "upstream": bad}))
        elif not self._cached(nid):
            try:
                inputs = {port: _shared(self._value(e)) for port, e in self.plan.incoming[nid].items()}
            except _InputUnreadable as exc:
                self._rerun_producer(exc.edge, exc.error)
                return
            self.results[nid].status = RUNNING
            future = pool.submit(self.executor.run_node, nid, self.plan.classes[nid], self.plan.params[nid],
                                 inputs, self.plan.outputs[nid], self.token, nid in self.overwrite, self.abandoned)
            self.running[future] = nid
            future.add_done_callback(self.inbox.put)
            return
        self._finished(nid)

    def _cached(self, nid: str) -> bool:
        fps = self.plan.outputs[nid]
        if nid in self.overwrite or not all(self.store.exists(fp) for fp in fps.values()):
            return False
        metrics = {}
        for port in self.plan.classes[nid].outputs:
            if port.type == PortType.METRICS:  # read now, as the run's result will: verified, or a miss
                try:
                    metrics[port.name] = self.store.load(fps[port.name])
                except ArtifactUnavailable as exc:
                    self._distrust(nid, port.name, exc)
                    return False
        if metrics:
            self.cached_metrics[nid] = metrics
        self.results[nid] = NodeResult(CACHED, True, 0.0, fps)
        self.executor.emit(Event("node_cached", nid, {"outputs": fps}))
        return True

    def _value(self, edge) -> Any:
        key = (edge.source, edge.source_port)
        if key not in self.values:
            try:
                self.values[key] = self.store.load(self.plan.outputs[edge.source][edge.source_port],
                                                   engine=self.executor.engine)
            except ArtifactUnavailable as exc:
                raise _InputUnreadable(edge, exc) from None
        return self.values[key]

    def _collect(self, future: Future) -> None:
        nid = self.running.pop(future, None)
        if nid is None:  # cancelled before it started (see _cancel)
            return
        outcome: NodeOutcome = future.result()
        self.results[nid] = outcome.result
        if outcome.result.status == SUCCEEDED:
            for port, value in outcome.values.items():
                if self.consumers[(nid, port)]:
                    self.values[(nid, port)] = value
        self._finished(nid)

    def _finished(self, nid: str) -> None:
        """Free the inputs nothing else needs, and queue the downstream nodes this was the last input of."""
        for e in self.plan.incoming[nid].values():
            key = (e.source, e.source_port)
            self.consumers[key] -= 1
            if self.consumers[key] == 0:
                self.values.pop(key, None)
        for consumer in self.plan.downstream[nid]:
            waiting = self.waiting[consumer]
            waiting.discard(nid)
            if not waiting and self.results[consumer].status == PENDING:
                heapq.heappush(self.ready, (self.position[consumer], consumer))

    # ------------------------------------------------------------------------------- failed verification
    def _distrust(self, nid: str, port: str, error: ArtifactUnavailable) -> None:
        what = "failed verification" if isinstance(error, ArtifactCorrupt) else "is gone"
        message = f"stored output {port!r} {what} ({error.reason}): running the node again"
        log.warning("node %s: %s", nid, message)
        self.executor.emit(Event("node_log", nid, {"message": message}))
        self.overwrite.add(nid)

    def _rerun_producer(self, edge, error: ArtifactUnavailable) -> None:
        """An input of a node failed verification: run its producer again and let the node (and any other
        consumer not started yet) wait for it. The producer's value then stays in memory for them, so this
        happens at most once per producer and run."""
        producer = edge.source
        self._distrust(producer, edge.source_port, error)
        self.results[producer] = NodeResult()
        for e in self.plan.incoming[producer].values():
            self.consumers[(e.source, e.source_port)] += 1
        self.waiting[producer] = {u for u in self.plan.upstream(producer) if self.results[u].status not in FINISHED}
        for node in self.plan.downstream[producer]:
            if self.results[node].status == PENDING:
                self.waiting[node].add(producer)
        if not self.waiting[producer]:
            heapq.heappush(self.ready, (self.position[producer], producer))

    # ------------------------------------------------------------------------------------------ cancelling
    def _cancel(self) -> None:
        """Cancel what has not started; give running nodes `cancel_grace` seconds to stop, then abandon them."""
        for future, nid in list(self.running.items()):
            if future.cancel():  # submitted, but waiting for a free thread of the pool: it never starts
                del self.running[future]
                self.results[nid].status = PENDING
        for nid in self.plan.order:
            if self.results[nid].status == PENDING:
                self.results[nid].status = CANCELLED
                self.executor.emit(Event("node_cancelled", nid, {"reason": "run cancelled before the node started"}))
        deadline = time.monotonic() + self.executor.cancel_grace
        while self.running:
            try:
                item = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is not _WAKE:
                self._collect(item)
        for nid in self.running.values():  # the operator ignored cancellation: abandon it
            self.abandoned.add(nid)
            self.results[nid].status = CANCELLED
            self.executor.emit(Event("node_cancelled", nid, {"reason": "did not stop within the grace period"}))
        self.running.clear()


def _shared(value):
    """What a node receives of an upstream output: a pandas table as its own shallow copy, so that an operator
    that changes its input in place (under pandas' copy-on-write) cannot change what a sibling node sees."""
    import pandas as pd

    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value


def error_json(exc: OperatorError) -> dict:
    error = {"message": exc.message}
    for key in ("field", "column", "port"):
        if getattr(exc, key):
            error[key] = getattr(exc, key)
    return error

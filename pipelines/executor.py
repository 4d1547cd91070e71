"""The executor: runs a validated graph, each node as soon as its last input is ready, independent branches
side by side.

Every output is addressed by a fingerprint (pipelines.cache); an output already in the store is not computed
again (DESIGN principle 3), and one that fails verification when it is read is computed again (principle 9).
The order nodes start in is pipelines.schedule's; engine-specific work goes to an engine object
(pipelines.engines); what a run reports is in pipelines.results. Each step is reported to an event sink as
it happens: queued, running (progress, logs), succeeded, cached, failed, skipped, cancelled. Knows nothing of
Django: the studio's worker passes a sink that stores events.
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Mapping

from operators import Cancelled, OperatorError, PortType
from operators.isolation import memory_error_message

from . import cache
from .components import Resolver, event_names, expand, library_of
from .graph import Graph, with_builtins, with_node_params
from .results import (CANCELLED, FAILED, RUNNING, SKIPPED, SUCCEEDED, CancelToken, Event, NodeOutcome, NodeResult,
                      PersistFailed, RunResult, error_json)
from .schedule import Schedule
from .store import ArtifactStore, carried_marks
from .validation import check

if TYPE_CHECKING:
    from .engines import Engine

__all__ = ["CancelToken", "Event", "Executor", "NodeContext", "NodeResult", "RunResult"]


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
        try:
            candidate = (root / path).resolve()
        except (ValueError, OSError, RuntimeError) as exc:  # a NUL byte, a symlink loop: a bad path, not a crash
            raise OperatorError(f"path {path!r} is not a usable file path: {exc}", field="path") from None
        if candidate != root and root not in candidate.parents:
            raise OperatorError(f"path {path!r} is outside the data root", field="path")
        return candidate

    def connection_url(self, name: str) -> str:
        try:
            return self._executor.connections[name]
        except KeyError:
            known = sorted(self._executor.connections)
            also = f"; the connections defined are {', '.join(map(repr, known))}" if known else "; none is defined"
            raise OperatorError(f"no connection named {name!r}{also}", field="connection") from None

    def upload_path(self, upload_id: str) -> Path:
        try:
            return Path(self._executor.uploads[upload_id])
        except KeyError:
            name = self._executor.deleted_uploads.get(upload_id)
            if name is not None:  # the caller knows which file it was: named as the person knew it, not by id
                raise OperatorError(f"the uploaded file {name!r} was deleted: pick a file for this node again, or "
                                    "upload it again", field="upload") from None
            # Said the same for an id never known and another project's: a newcomer learns what to do, an attacker
            # learns nothing about the id.
            raise OperatorError(f"no uploaded file with id {upload_id!r}: it was deleted, or is not in this "
                                "project; pick a file for this node again", field="upload") from None

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


    def prediction_log(self, deployment: str) -> dict:
        """Where a deployment's served rows and their labels are: {"directory": the prediction log's root,
        "labels": () -> pandas table (request_id, row, label: 0 / 1, 1 the positive class), and optionally
        "classes": the deployment's label values [negative, positive] the labels become}, from the executor's
        `prediction_logs` resolver (the studio's deployments of the run's project). OperatorError when there is
        none."""
        found = self._executor.prediction_logs(deployment) if self._executor.prediction_logs else None
        if found is None:
            raise OperatorError(f"no deployment {deployment!r} with a prediction log", field="deployment")
        return found

    def record_decision(self, deployment: str, decision: dict) -> None:
        """Keep a champion/challenger decision where the deployment's page shows it (the studio's `decisions`
        recorder); a run with no studio keeps it only in the node's output."""
        if self._executor.decisions is not None:
            self._executor.decisions(node=self.node_id, deployment=deployment, decision=decision)


class Executor:
    """Runs graphs against one artifact store. Thread-based: operators spend their time in numpy,
    LightGBM and Arrow, which release the GIL, and on Spark the work is in the JVM anyway."""

    def __init__(self, store: ArtifactStore, *, engine: str | Engine = "local", max_parallel: int = 4,
                 data_root: str | Path = ".", connections: Mapping[str, str] | None = None,
                 uploads: Mapping[str, str | Path] | None = None,
                 deleted_uploads: Mapping[str, str] | None = None,
                 on_event: Callable[[Event], None] | None = None, cancel_grace: float = 1.5,
                 publisher: Callable[..., dict] | None = None,
                 bundles: Callable[[str, str | None], str | Path | None] | None = None,
                 prediction_logs: Callable[[str], dict | None] | None = None,
                 decisions: Callable[..., None] | None = None, components: Resolver | None = None):
        from .engines import engine_named

        self.store = store
        self.engine = engine_named(engine)  # "local", "spark" or an engine object (pipelines.engines)
        self.max_parallel = max(1, int(max_parallel))
        self.data_root = Path(data_root)
        # name -> URL; a Mapping, so the studio may check each URL when a node asks for it
        self.connections = connections if connections is not None else {}
        # upload id -> file path; a Mapping, so the studio may pass a lazy resolver over its uploads table
        self.uploads = uploads if uploads is not None else {}
        # upload id -> the file name of an upload that was deleted, for the error of an import that still names it
        self.deleted_uploads = deleted_uploads if deleted_uploads is not None else {}
        self.on_event = on_event
        # seconds a running operator gets to notice a cancel before the run gives up on it and ends, so a
        # cancel answers within 2 s even when an operator sits in a library call that never checks
        self.cancel_grace = cancel_grace
        self.publisher = publisher  # what ctx.publish calls; see NodeContext.publish
        self.bundles = bundles  # (deployment, version) -> bundle path; see NodeContext.deployment_bundle
        self.prediction_logs = prediction_logs  # deployment -> its log and labels; see NodeContext.prediction_log
        self.decisions = decisions  # see NodeContext.record_decision
        self.components = components  # (name, version or None) -> (version, graph JSON); see pipelines.components
        self._origins: dict[str, tuple[str, str]] = {}  # expanded node id -> (component node, inner node)
        self._emit_lock = threading.Lock()

    @property
    def bundle_root(self) -> Path:
        """Where a run without a studio publishes bundles and looks them up: the store's bundles/ folder."""
        return Path(getattr(self.store, "root", self.data_root)) / "bundles"

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            names = event_names(self._origins, event.node)
            if names:  # a node inside a component: its event names the component node and the inner node too
                event.data = {**event.data, **names}
            with self._emit_lock:
                self.on_event(event)

    def run(self, graph: Graph, *, from_node: str | None = None, only: str | None = None,
            until: str | None = None, force: bool = False, params: dict[str, Any] | None = None,
            cancel: CancelToken | None = None, node_params: Mapping[str, Mapping[str, Any]] | None = None
            ) -> RunResult:
        """`node_params`: params merged into nodes by id (an inner node of a component by its expanded id,
        "component.inner"), fixed by the caller for this run, such as the upload a file import reads."""
        params = with_builtins(params)  # one run_date / fire_time for every node of the run
        resolver = self.components or library_of(graph)
        check(graph, params, resolver, from_node=from_node, only=only, until=until)
        expansion = expand(graph, resolver)  # component nodes become their inner nodes: the rest is unchanged
        graph, used = with_node_params(expansion.graph, node_params), expansion.used
        self._origins.update(expansion.origins)
        started = time.monotonic()
        token = cancel or CancelToken()
        plan = cache.plan(graph, params=params, from_node=from_node, only=only, until=until)
        self.emit(Event("run_started", None, {"nodes": plan.order, "engine": self.engine.name, "force": force,
                                               **({"components": used} if used else {})}))
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
        """Run one node in a pool thread: the operator on the engine, then its outputs into the store, unless
        they are to be written in the background (`writes_in_background`): then the outcome carries the values
        still to be written, and `persist` writes them while downstream nodes start from the values in memory."""
        result = NodeResult(RUNNING)
        ctx = NodeContext(nid, self, token, abandoned)
        started = time.monotonic()
        ctx.emit(Event("node_running", nid, {"progress": 0.0}))
        later = self.writes_in_background(cls)
        try:
            ctx.check_cancelled()
            with self.engine.node_scope(ctx):  # on Spark: the node's job group, its progress and cancellation
                produced = self._produce(ctx, cls, params, inputs, fps, overwrite, later)
        except Cancelled:
            result.status, result.duration = CANCELLED, time.monotonic() - started
            ctx.emit(Event("node_cancelled", nid, {"reason": "cancelled while running"}))
            return NodeOutcome(result)
        except OperatorError as exc:
            self.fail(nid, result, error_json(exc), time.monotonic() - started, ctx.emit)
            return NodeOutcome(result)
        except MemoryError as exc:  # over the process's memory ceiling: this node fails, the process goes on
            self.fail(nid, result, {"message": memory_error_message(exc)}, time.monotonic() - started, ctx.emit)
            return NodeOutcome(result)
        except Exception as exc:  # an operator bug: keep the traceback for the log
            error = {"message": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            self.fail(nid, result, error, time.monotonic() - started, ctx.emit)
            return NodeOutcome(result)
        finally:
            ctx.cleanup()
        result.status, result.duration, result.outputs = SUCCEEDED, time.monotonic() - started, fps
        if later:  # succeeded once its outputs are in the store (Schedule reports it then)
            return NodeOutcome(result, produced, unwritten=produced)
        ctx.emit(Event("node_succeeded", nid, {"duration": result.duration, "outputs": fps}))
        return NodeOutcome(result, produced)

    def writes_in_background(self, cls) -> bool:
        """Whether a node of operator class `cls` has its outputs written off the critical path: when the
        engine hands downstream nodes the values in memory (`engine.background_writes`) and the node makes a
        table or a feature matrix, whose Parquet / npz writes (and a table's profile) take long enough to matter.
        Small outputs (metrics, models, states) are written in the node's thread, as they always were."""
        return bool(getattr(self.engine, "background_writes", False)) and any(
            p.type in (PortType.TABLE, PortType.FEATURES) for p in cls.outputs)

    def _produce(self, ctx: NodeContext, cls, params, inputs, fps: dict[str, str], overwrite: bool,
                 later: bool = False) -> dict:
        produced = self.engine.run(ctx, cls, inputs, params)
        missing = [p.name for p in cls.outputs if p.name not in (produced or {})]
        if missing:
            raise RuntimeError(f"operator {cls.name!r} did not produce output {missing[0]!r}")
        # marks (predict's true label) go on through any operator that keeps their column: here, not in each one
        tables = [inputs.get(p.name) for p in cls.inputs if p.type == PortType.TABLE]
        produced = {name: carried_marks(tables, value) if getattr(cls.output_port(name), "type", None) == PortType.TABLE
                    else value for name, value in produced.items()}
        ctx.check_cancelled()
        if later:  # what downstream nodes start from while the writer thread stores it (in node_scope: on Spark
            # the caching job is the node's, with its progress, its cancellation and its errors)
            return {port.name: self.engine.handoff(port.type, produced[port.name]) for port in cls.outputs}
        values = {}
        for port in cls.outputs:
            self._save(fps[port.name], port.type, produced[port.name], overwrite)
            values[port.name] = self.engine.stored_value(self.store, fps[port.name], port.type, produced[port.name])
        return values

    def _save(self, fp: str, port_type, value, overwrite: bool) -> None:
        if overwrite:  # forced, or the stored artifact failed verification: replace it
            self.store.discard(fp)
        self.store.save(fp, port_type, value)

    def persist(self, nid: str, cls, values: dict[str, Any], fps: dict[str, str], overwrite: bool) -> float:
        """Write a node's outputs (in the run's writer thread; see Schedule). Each artifact is written under the
        store's tmp folder and renamed into place whole, so a reader, or the cache of a later run, never sees
        half of one. Raises PersistFailed naming the node and the output; returns the seconds it took."""
        started = time.monotonic()
        with self.engine.persist_scope():  # on Spark: the writes' own scheduler pool
            for port in cls.outputs:
                try:
                    self._save(fps[port.name], port.type, values[port.name], overwrite)
                except Exception as exc:
                    raise PersistFailed(nid, port.name, exc) from exc
        return time.monotonic() - started


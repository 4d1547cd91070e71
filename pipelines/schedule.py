"""One run's scheduling: a ready queue that starts a node when the last of its inputs finishes, and what a
run does when a stored output fails verification or the run is cancelled. ComfyUI keeps its execution list
(comfy_execution/graph.py) apart from the executor in the same way."""
from __future__ import annotations

import heapq
import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from operators import PortType

from . import cache
from .results import (CACHED, CANCELLED, DID_NOT_SUCCEED, FINISHED, PENDING, RUNNING, SKIPPED, SUCCEEDED,
                      CancelToken, Event, NodeOutcome, NodeResult, PersistFailed, error_json)
from .store import ArtifactCorrupt, ArtifactUnavailable

if TYPE_CHECKING:
    from .executor import Executor

log = logging.getLogger(__name__)

# How much nicer than the run's node threads the writer thread is. Writes only have to be done when the run ends;
# GBDT's threads and the next node's kernel are what the run waits for meanwhile (pipeline_vs_script, issue 19).
WRITER_NICENESS = 5


def _lower_priority() -> None:
    """Make the calling thread (the writer) nicer by WRITER_NICENESS. Linux gives each thread its own nice value
    (setpriority on the thread id); elsewhere, or when refused, the writer keeps the process's priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WRITER_NICENESS)
    except (AttributeError, OSError):
        pass


class _InputUnreadable(Exception):
    def __init__(self, edge, error: ArtifactUnavailable):
        super().__init__(error.reason)
        self.edge, self.error = edge, error


_WAKE = object()  # put on a schedule's inbox by a cancel
_WRITTEN = "written"  # (_WRITTEN, future) on the inbox: a node's outputs are in the store, or failed to be


class Schedule:
    """One run's scheduling: a ready queue (in topological order) that takes a node when the last of its
    upstream nodes finishes. The loop sleeps on an inbox that node completions and a cancel write to, so
    nothing is rescanned on a timer. Output values are kept while a consumer still needs them.

    A cached node's metrics are read (and so verified) when it is found cached; its other outputs are verified
    when a node that runs reads them. One that fails verification is a cache miss: its producer runs again
    (once per run) and the reader waits for it.

    Outputs an engine writes in the background (Executor.writes_in_background) go to one writer thread when
    their node's operator returns: downstream nodes start at once from the values in memory, the node is
    reported succeeded when its writes are in the store (or failed, naming the output that could not be
    written), and the run ends only when every write has finished."""

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
        self.writing: dict[Future, str] = {}  # a node's background writes -> the node
        self.handed_off: list[Any] = []  # the values of those nodes, for the engine to release at the end
        self.abandoned: set[str] = set()
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        for nid in plan.order:
            if not self.waiting[nid]:
                heapq.heappush(self.ready, (self.position[nid], nid))

    def run(self) -> None:
        pool = ThreadPoolExecutor(max_workers=self.executor.max_parallel, thread_name_prefix="node")
        # one thread: writes overlap the next nodes' work without taking more than one core from them, and at a
        # lower priority (WRITER_NICENESS), so on a busy machine the node on the critical path gets the cores first
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="write", initializer=_lower_priority)
        stop_listening = self.token.on_cancel(lambda: self.inbox.put(_WAKE))
        try:
            self._start_ready(pool)
            while (self.running or self.writing) and not self.token.cancelled:
                item = self.inbox.get()
                if item is not _WAKE:
                    self._take(item)
                    self._start_ready(pool)
            if self.token.cancelled:
                self._cancel()
        finally:
            stop_listening()
            pool.shutdown(wait=False, cancel_futures=True)
            self.writer.shutdown(wait=False)
            self._release()

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

    def _take(self, item) -> None:
        if isinstance(item, tuple) and item[0] == _WRITTEN:
            self._written(item[1])
        else:
            self._collect(item)

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
            if outcome.unwritten is not None:
                self._write(nid, outcome.unwritten)
        self._finished(nid)

    def _write(self, nid: str, values: dict[str, Any]) -> None:
        """Hand a node's outputs to the writer thread; the node stays `running` until they are stored."""
        self.handed_off += values.values()
        self.results[nid].status = RUNNING
        future = self.writer.submit(self.executor.persist, nid, self.plan.classes[nid], values,
                                    self.plan.outputs[nid], nid in self.overwrite)
        self.writing[future] = nid
        future.add_done_callback(lambda done: self.inbox.put((_WRITTEN, done)))

    def _release(self) -> None:
        """The run is over: let the engine free what it kept for the values it handed downstream (Spark's cache).
        A write still going on after a cancel reads the lineage again rather than the cache."""
        for value in self.handed_off:
            try:
                self.executor.engine.release(value)
            except Exception:  # a session stopped under us: nothing is cached any more
                log.warning("could not release a node output", exc_info=True)
        self.handed_off.clear()

    def _written(self, future: Future) -> None:
        nid = self.writing.pop(future, None)
        if nid is None:  # given up on after a cancel (see _cancel)
            return
        result = self.results[nid]
        try:
            seconds = future.result()
        except PersistFailed as exc:  # the run fails, naming the node; a consumer not started yet is skipped
            log.warning("node %s: %s", nid, exc.error["message"])
            result.outputs = {}
            self.executor.fail(nid, result, exc.error, result.duration or 0.0)
            return
        result.status = SUCCEEDED
        self.executor.emit(Event("node_succeeded", nid, {"duration": result.duration, "outputs": result.outputs,
                                                         "write_seconds": round(seconds, 4)}))

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
        self._drain_while(lambda: self.running, deadline)
        self._drain_while(lambda: self.writing, deadline)  # computed before the cancel: their writes get the same grace
        for nid in self.running.values():  # the operator ignored cancellation: abandon it
            self.abandoned.add(nid)
            self.results[nid].status = CANCELLED
            self.executor.emit(Event("node_cancelled", nid, {"reason": "did not stop within the grace period"}))
        self.running.clear()
        for nid in self.writing.values():  # its write goes on, whole or not at all, but is not waited for
            self.results[nid].status = CANCELLED
            self.results[nid].outputs = {}
            self.executor.emit(Event("node_cancelled", nid, {"reason": "cancelled while its outputs were written"}))
        self.writing.clear()

    def _drain_while(self, pending: Callable[[], object], deadline: float) -> None:
        """Take the inbox's results while `pending()` holds, until the deadline."""
        while pending():
            try:
                item = self.inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is not _WAKE:
                self._take(item)


def _shared(value):
    """What a node receives of an upstream output: a pandas table as its own shallow copy, so that an operator
    that changes its input in place (under pandas' copy-on-write) cannot change what a sibling node sees."""
    import pandas as pd

    return value.copy(deep=False) if isinstance(value, pd.DataFrame) else value

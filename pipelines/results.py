"""The records of a run: node statuses, the events a run reports, node and run results, the cancel token."""
from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from operators import OperatorError

from .store import ArtifactStore

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


@dataclass
class NodeOutcome:
    """What a node's thread hands back: its result, and its output values for downstream nodes."""

    result: NodeResult
    values: dict[str, Any] = field(default_factory=dict)
    unwritten: dict[str, Any] | None = None  # outputs still to be written to the store (Executor.persist)


def error_json(exc: OperatorError) -> dict:
    error = {"message": exc.message}
    for key in ("field", "column", "port"):
        if getattr(exc, key):
            error[key] = getattr(exc, key)
    return error


class PersistFailed(Exception):
    """A node's output could not be written to the artifact store."""

    def __init__(self, node: str, port: str, error: Exception):
        self.node, self.port = node, port
        self.error = {"message": f"node {node!r}: its output {port!r} could not be written to the artifact store "
                                 f"({type(error).__name__}: {error})", "port": port,
                      "traceback": traceback.format_exc()}
        super().__init__(self.error["message"])

"""The worker side of a run: claim it, execute its graph with pipelines.Executor, record every event, honour
cancel requests made by the web process, and recover runs whose worker died.

One run = two threads. The executor runs in a helper thread (it never touches the database); the calling
thread is the run's only database writer: it drains the executor's events into RunEvent rows, writes a
heartbeat, and polls `cancel_requested`, setting the executor's CancelToken when the web process asked.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

import pipelines
from studio.core.shared import local_uploads
from studio.datasets.follow import describe, upload_params
from studio.datasets.guard import RunConnections
from studio.workflows.components import preloaded

from . import events
from .models import PRIORITY_FULL, Run, RunMode, RunStatus

log = logging.getLogger(__name__)

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
CHECK_SECONDS = 0.25  # how often the run loop looks at cancel_requested
HEARTBEAT_SECONDS = 5.0
_DONE = object()


def artifact_store() -> pipelines.FileSystemStore:
    """The shared object store when STUDIO_ARTIFACTS is an s3:// URL (local copies in ARTIFACT_DIR), else the
    folder ARTIFACT_DIR."""
    from pipelines.objects import open_artifact_store

    return open_artifact_store(settings.ARTIFACTS_URL or settings.ARTIFACT_DIR, settings.ARTIFACT_DIR)


def executor_for(run: Run, sink, graph: pipelines.Graph | None = None) -> pipelines.Executor:
    from studio.deployments.services import (bundle_resolver_for, decision_recorder_for, prediction_logs_for,
                                             publisher_for)

    project = run.project
    project.data_root.mkdir(parents=True, exist_ok=True)
    local_uploads(project)  # uploads another machine received, from the shared store
    return pipelines.Executor(
        artifact_store(), engine=run.engine, data_root=project.data_root, on_event=sink,
        connections=RunConnections(project),  # each URL checked again when a node asks for it
        uploads={str(u.pk): u.file for u in project.uploads.all()},  # ctx.upload_path(upload_id)
        deleted_uploads={str(pk): name for pk, name in project.deleted_uploads.values_list("upload_id", "name")},
        publisher=publisher_for(run),  # the publish operator's ctx.publish
        bundles=bundle_resolver_for(run),  # ctx.deployment_bundle, for batch scoring
        prediction_logs=prediction_logs_for(run),  # ctx.prediction_log: served rows and their labels
        decisions=decision_recorder_for(run),  # ctx.record_decision: publish_if_better's history
        components=preloaded(project, graph or run.version.as_graph()))  # component nodes, read here


def operators_of(graph: pipelines.Graph, components) -> dict[str, str]:
    """Node id -> operator, for the nodes a run reports: a component node's inner nodes included."""
    from pipelines.components import expand

    nodes = {n.id: n.operator for n in graph.nodes}
    nodes.update({n.id: n.operator for n in expand(graph, components).graph.nodes})
    return nodes


def claim(run_id: int) -> bool:
    now = timezone.now()
    return bool(Run.objects.filter(pk=run_id, status=RunStatus.QUEUED, cancel_requested=False).update(
        status=RunStatus.RUNNING, worker=WORKER_ID, heartbeat_at=now, started_at=now, attempts=F("attempts") + 1))


def execute(run_id: int) -> str | None:
    """Run one queued run to its end; returns its final status, or None when another worker had it. A Spark run
    waits (queued) for this worker's Spark warm-up, if it is still running (studio.runs.tasks.warm_up_spark)."""
    from pipelines import warmup

    if warmup.pending() and Run.objects.filter(pk=run_id, engine="spark").exists():
        warmup.wait(settings.SPARK_WARMUP_WAIT_SECONDS)
    if not claim(run_id):
        return None
    run = Run.objects.select_related("project", "version").get(pk=run_id)
    token = pipelines.CancelToken()
    inbox: queue.Queue = queue.Queue()
    outcome: dict = {}
    graph = run.version.as_graph()
    executor = executor_for(run, inbox.put, graph)  # reads the database: here, not in the executor's thread

    def work():
        try:
            outcome["result"] = executor.run(
                graph, from_node=run.node if run.mode == RunMode.FROM else None,
                only=run.node if run.mode == RunMode.ONLY else None,
                until=run.node if run.mode == RunMode.UNTIL else None,
                force=run.force, params=run.params or None, cancel=token,
                node_params=upload_params(run.uploads))  # the uploads chosen when the run started
        except BaseException as exc:  # invalid graph, unknown node, a store failure: the run fails with it
            outcome["error"] = exc
        finally:
            inbox.put(_DONE)

    thread = threading.Thread(target=work, name=f"run-{run_id}", daemon=True)
    thread.start()
    try:
        finished = _record(run_id, inbox, token, operators_of(graph, executor.components),
                           {node: describe(read) for node, read in run.uploads.items()})
    except BaseException:
        # Events can no longer be recorded (the database went away, or the worker is stopping): stop the
        # executor too. The run stays "running" until recovery re-queues it (dead pid or stale heartbeat).
        token.cancel()
        thread.join(timeout=30)
        raise
    thread.join()
    events.append(run_id, [_final_event(finished, outcome)])
    return Run.objects.values_list("status", flat=True).get(pk=run_id)


def _record(run_id: int, inbox: queue.Queue, token: pipelines.CancelToken, operators_of: dict,
            reads: dict[str, str] | None = None) -> dict | None:
    """The run's only database writer while the executor works: store its events in batches, pass on a cancel
    request, beat the heartbeat. Returns the run_finished event, held back until the result's metrics. `reads`
    (node -> which upload it reads) goes into those nodes' logs right after run_started."""
    last_check = last_beat = time.monotonic()
    finished = None
    done = False
    while not done:
        batch, done = _next_batch(inbox)
        rows = []
        for event in batch:
            row = event.as_json()
            if event.type == "run_started":
                row["operators"] = operators_of
                rows.append(row)
                rows += [{"type": "node_log", "node": node, "time": row["time"], "data": {"message": text}}
                         for node, text in (reads or {}).items() if node in row["data"].get("nodes", [])]
                continue
            if event.type == "run_finished":
                finished = row  # written after the executor returns, with the metrics of its result
                continue
            rows.append(row)
        events.append(run_id, rows)
        now = time.monotonic()
        if now - last_check >= CHECK_SECONDS and not token.cancelled:
            last_check = now
            if Run.objects.filter(pk=run_id, cancel_requested=True).exists():
                token.cancel()
        if now - last_beat >= HEARTBEAT_SECONDS:
            last_beat = now
            Run.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
    return finished


def _next_batch(inbox: queue.Queue) -> tuple[list, bool]:
    """Up to 200 waiting events (waiting CHECK_SECONDS for the first), and whether the executor is done."""
    batch = []
    try:
        item = inbox.get(timeout=CHECK_SECONDS)
        while True:
            if item is _DONE:
                return batch, True
            batch.append(item)
            if len(batch) >= 200:
                break
            item = inbox.get_nowait()
    except queue.Empty:
        pass
    return batch, False


def _final_event(finished: dict | None, outcome: dict) -> dict:
    result = outcome.get("result")
    if finished is not None and result is not None:
        return {**finished, "data": {**finished["data"], "metrics": json_safe(result.metrics)}}
    if finished is not None:
        return finished
    error = outcome.get("error")
    reason = _describe(error) if error else "the executor ended without a result"
    return {"type": "run_finished", "node": None, "time": time.time(),
            "data": {"status": RunStatus.FAILED, "reason": reason}}


def json_safe(value):
    """numpy scalars and the like turned into plain JSON values; NaN and the infinities (an AUC over one class)
    become null: JSON has no word for them, and the database's JSON column refuses the run's final event else."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)),
                      parse_constant=lambda _: None)


def _describe(error: BaseException) -> str:
    if isinstance(error, pipelines.PipelineInvalid):
        return "the pipeline is invalid: " + "; ".join(e.message for e in error.errors)
    return f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------------------------------- recovery
def _alive(worker: str) -> bool:
    """Whether the worker process that claimed a run still exists (only decidable on this host)."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine: the heartbeat decides
    pid = int(pid)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"huey" in handle.read()  # the pid was reused by something that is not a worker
    except OSError:
        return True


def recover(requeue_queued: bool = False) -> list[int]:
    """Runs left "running" by a dead worker (gone from this host, or silent for WORKER_STALE_SECONDS) are
    queued again, or failed with the reason once they used RUN_MAX_ATTEMPTS. With `requeue_queued`, queued
    runs are put on the queue again too (a claim is atomic, so a duplicate does no harm). Returns the run
    ids that were put on the queue."""
    stale_before = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    from .tasks import enqueue_run, on_training_queue

    runs = Run.objects.all()
    if on_training_queue():  # its queue is the only one it can put runs on: previews are the light workers'
        runs = runs.filter(priority__lte=PRIORITY_FULL)
    enqueue = []
    for run in runs.filter(status=RunStatus.RUNNING).only("id", "worker", "heartbeat_at", "attempts",
                                                                 "priority", "cancel_requested"):
        if _alive(run.worker) and run.heartbeat_at and run.heartbeat_at > stale_before:
            continue
        reason = f"worker {run.worker} stopped while running it (attempt {run.attempts})"
        if run.attempts < settings.RUN_MAX_ATTEMPTS and not run.cancel_requested:
            if Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=run.worker).update(
                    status=RunStatus.QUEUED, worker="", heartbeat_at=None):
                events.append(run.pk, [{"type": "run_requeued", "node": None, "time": time.time(),
                                        "data": {"reason": reason}}])
                enqueue.append(run)
        elif Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, worker=run.worker).exists():
            status = RunStatus.CANCELLED if run.cancel_requested else RunStatus.FAILED
            events.append(run.pk, [{"type": "run_finished", "node": None, "time": time.time(),
                                    "data": {"status": status, "reason": reason + ("; cancelled" if status ==
                                                                                   RunStatus.CANCELLED else
                                                                                   "; no attempts left")}}])
    if requeue_queued:
        enqueue += list(runs.filter(status=RunStatus.QUEUED).only("id", "priority"))

    for run in {r.pk: r for r in enqueue}.values():
        enqueue_run(run.pk, run.priority)
    if enqueue:
        log.info("recovery put runs %s on the queue", sorted(r.pk for r in enqueue))
    return [r.pk for r in enqueue]


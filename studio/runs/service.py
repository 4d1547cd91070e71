"""Starting and cancelling runs: what the API (and the demo, and later the scheduler) call."""
from __future__ import annotations

import time

from django.db import transaction

from studio.core.errors import ApiError
from studio.workflows.graphs import error_entries
from studio.workflows.models import Pipeline, PipelineVersion

from . import events
from .models import PRIORITY_FULL, PRIORITY_INTERACTIVE, Run, RunMode, RunStatus

MAX_PARAMS_BYTES = 65536  # a run's (or a schedule's) parameter overrides as JSON: kept with the run, shown in lists


def start_run(pipeline: Pipeline, *, user=None, version: PipelineVersion | None = None, mode: str = RunMode.ALL,
              node: str = "", force: bool = False, params: dict | None = None, engine: str = "local",
              priority: int | None = None) -> Run:
    """Check the version can run, save a queued Run, and enqueue it once the transaction commits."""
    import pipelines

    version = version or pipeline.latest_version()
    if version is None:
        raise ApiError(400, "no_version", [{"path": "pipeline", "message": "the pipeline has no graph yet",
                                            "code": "no_version"}])
    graph = version.as_graph()
    if mode != RunMode.ALL and graph.node(node) is None:
        raise ApiError(400, "unknown_node", [{"path": "node", "code": "unknown_node",
                                              "message": f"version {version.number} has no node {node!r}"}])
    from pipelines.components import COMPONENT

    from studio.workflows.components import resolver_for

    if mode != RunMode.ALL and graph.node(node).operator == COMPONENT:
        raise ApiError(400, "component_node", [{"path": "node", "code": "component_node", "message": (
            f"node {node!r} is a component node: it runs as a whole, with the pipeline or a node after it")}])

    scope = {"from_node": node if mode == RunMode.FROM else None, "only": node if mode == RunMode.ONLY else None,
             "until": node if mode == RunMode.UNTIL else None}
    # one resolver for the checks and the uploads: each component is read once, the same version for both
    components = resolver_for(version.pipeline.project_id)
    errors = pipelines.validate(graph, params or None, components=components, **scope)  # the nodes this run needs
    if errors:
        raise ApiError(400, "invalid_pipeline", error_entries(graph, errors, prefix="graph"),
                       message=f"version {version.number} cannot run: " + "; ".join(e.message for e in errors))
    from studio.datasets.follow import run_uploads

    # which upload each import node this run needs reads, fixed now: it may follow the newest of a name
    reads = run_uploads(pipeline.project, graph, components, scope, params)
    if priority is None:
        priority = PRIORITY_FULL if mode in (RunMode.ALL, RunMode.FROM) else PRIORITY_INTERACTIVE
    with transaction.atomic():
        run = Run.objects.create(project=pipeline.project, pipeline=pipeline, version=version, engine=engine,
                                 mode=mode, node=node if mode != RunMode.ALL else "", force=force,
                                 params=params or {}, priority=priority, uploads=reads,
                                 requested_by=user if user and user.is_authenticated else None)
        events.append(run.pk, [{"type": "run_queued", "node": None, "time": time.time(),
                                "data": {"version": version.number, "mode": mode, "node": run.node or None,
                                         "engine": engine, "priority": priority}}])
        from .tasks import enqueue_run

        transaction.on_commit(lambda: enqueue_run(run.pk, priority))
    return run


def cancel_run(run: Run) -> Run:
    """A queued run is cancelled at once; a running one is marked, and its worker stops it within a second
    or two (the executor's cancel grace). Cancelling a finished run changes nothing."""
    with transaction.atomic():
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(cancel_requested=True):
            events.append(run.pk, [{"type": "run_finished", "node": None, "time": time.time(),
                                    "data": {"status": RunStatus.CANCELLED, "reason": "cancelled before it started"}}])
        elif Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, cancel_requested=False).update(
                cancel_requested=True):
            events.append(run.pk, [{"type": "run_cancel_requested", "node": None, "time": time.time(), "data": {}}])
    run.refresh_from_db()
    return run


def executed_graph(run):
    """The graph `run` executed, its component nodes replaced by their inner nodes (ids "node.inner", as the run's
    node rows name them) at the versions the run used (its run_started event records them), and each component
    node's output ports -> the (inner node, port) behind them."""
    from dataclasses import replace

    from pipelines.components import COMPONENT, expand, has_components
    from studio.workflows.components import resolver_for

    graph = run.version.as_graph()
    if not has_components(graph):
        return graph, {}
    started = run.events.filter(type="run_started").values_list("data", flat=True).first() or {}
    used = started.get("components") or {}
    pinned = [replace(n, version=str(used[n.id]["version"])) if n.operator == COMPONENT and n.id in used else n
              for n in graph.nodes]
    expansion = expand(replace(graph, nodes=pinned), resolver_for(run.project))
    return expansion.graph, expansion.outputs

"""Find what to publish among a finished run's node outputs: the model, the feature state, and a table of
held-out rows. Each can be named (`model_node`, `feature_state_node`, `holdout_node` / `holdout_port`);
unnamed, the run must have exactly one model and one feature state, and the held-out rows default to the
test side of a split (an output port named "second")."""
from __future__ import annotations

from pipelines.store import ArtifactCorrupt

from .services import DeploymentError


def outputs_of_run(run, data: dict):
    from studio.runs.worker import artifact_store

    store = artifact_store()
    found: dict[str, list[tuple[str, str, str]]] = {"model": [], "feature_state": [], "table": []}
    for node_run in run.nodes.all():
        for port, fingerprint in (node_run.outputs or {}).items():
            if not store.exists(fingerprint):
                continue
            try:
                kind = store.meta(fingerprint).get("type")
            except ArtifactCorrupt:
                continue  # unreadable: as good as gone
            if kind in found:
                found[kind].append((node_run.node, port, fingerprint))
    if not any(found.values()):
        raise DeploymentError(f"run {run.pk} has no stored outputs; run the pipeline to the end first", "run")

    def pick(kind: str, node_field: str, port: str | None = None):
        candidates = found[kind]
        node = data.get(node_field)
        if node:
            candidates = [c for c in candidates if c[0] == node and (port is None or c[1] == port)]
            if not candidates:
                raise DeploymentError(f"node {node!r} of run {run.pk} has no {kind.replace('_', ' ')} output"
                                      + (f" named {port!r}" if port else ""), node_field)
        if len(candidates) != 1:
            nodes = ", ".join(sorted({c[0] for c in candidates})) or "none"
            raise DeploymentError(f"run {run.pk} has {len(candidates)} {kind.replace('_', ' ')} outputs "
                                  f"(nodes: {nodes}); name one with {node_field}", node_field)
        return candidates[0]

    def load(chosen: tuple[str, str, str], field: str):
        node, port, fingerprint = chosen
        try:
            return store.load(fingerprint)
        except ArtifactCorrupt as exc:  # changed on disk since the run: never publish it
            raise DeploymentError(f"the output {node}.{port} of run {run.pk} failed verification ({exc.reason}); "
                                  f"run node {node!r} again with force", field, status=409) from None

    model = pick("model", "model_node")
    state = pick("feature_state", "feature_state_node")
    if data.get("holdout_node"):
        table = pick("table", "holdout_node", data.get("holdout_port"))
    else:
        tests = [c for c in found["table"] if c[1] == "second"]
        if len(tests) != 1:
            raise DeploymentError(f"cannot tell which table holds held-out rows in run {run.pk}; name it with "
                                  "holdout_node (and holdout_port)", "holdout_node")
        table = tests[0]
    return (load(model, "model_node"), load(state, "feature_state_node"), load(table, "holdout_node"),
            model[0])


def choice_for_node(run, node_id: str) -> dict:
    """What to publish when a canvas node is asked: a node with a model output publishes that model; an
    evaluate node (a `model` input) publishes the model it evaluated. The feature state is the nearest
    upstream feature-state output of the model, the held-out rows the table a predict node scored with it."""
    import operators
    from operators import PortType

    from studio.runs.service import executed_graph

    graph, component_outputs = executed_graph(run)
    if node_id in component_outputs:  # a component node on the canvas: the model among its outputs
        node_id = _component_model(graph, node_id, component_outputs[node_id])
    node = graph.node(node_id)
    if node is None:
        raise DeploymentError(f"run {run.pk} has no node {node_id!r}", "node")
    cls = operators.get(node.operator)
    into = {(e.target, e.target_port): e for e in graph.edges}
    if cls is not None and any(p.type == PortType.MODEL for p in cls.outputs):
        model_node = node_id
    elif cls is not None and any(p.name == "model" and p.type == PortType.MODEL for p in cls.inputs):
        edge = into.get((node_id, "model"))
        if edge is None:
            raise DeploymentError(f"node {node_id!r} has no model connected to its input 'model'", "node")
        model_node = edge.source
    else:
        raise DeploymentError(f"node {node_id!r} ({node.operator}) neither trains a model nor evaluates one; "
                              "publish a training or an evaluate node", "node")
    choice = {"model_node": model_node}
    state = _upstream_with(graph, model_node, PortType.FEATURE_STATE)
    if state is not None:
        choice["feature_state_node"] = state
    scored = next((e.target for e in graph.edges if e.source == model_node and e.target_port == "model"
                   and (e.target, "table") in into and (e.target, "feature_state") in into), None)
    if scored is not None:
        table = into[(scored, "table")]
        choice["holdout_node"], choice["holdout_port"] = table.source, table.source_port
    return choice


def _component_model(graph, node_id: str, outputs: dict) -> str:
    """The inner node behind a component node's one model output."""
    import operators
    from operators import PortType

    def is_model(inner: str, port: str) -> bool:
        cls = operators.get(getattr(graph.node(inner), "operator", ""))
        return cls is not None and any(p.name == port and p.type == PortType.MODEL for p in cls.outputs)

    models = sorted({inner for inner, port in outputs.values() if is_model(inner, port)})
    if len(models) != 1:
        raise DeploymentError(f"component node {node_id!r} has {len(models) or 'no'} model outputs"
                              + (f" ({', '.join(models)}); publish one of those nodes" if models else
                                 "; publish a training or an evaluate node"), "node")
    return models[0]


def _upstream_with(graph, start: str, port_type) -> str | None:
    """The nearest ancestor of `start` (breadth first) with an output of `port_type`."""
    import operators

    kinds = {n.id: operators.get(n.operator) for n in graph.nodes}
    seen, frontier = {start}, [start]
    while frontier:
        parents = [e.source for e in graph.edges if e.target in frontier and e.source not in seen]
        for parent in dict.fromkeys(parents):
            cls = kinds.get(parent)
            if cls is not None and any(p.type == port_type for p in cls.outputs):
                return parent
        seen.update(parents)
        frontier = list(dict.fromkeys(parents))
    return None

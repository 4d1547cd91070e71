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

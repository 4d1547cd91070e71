"""Fingerprint planning: which nodes a run needs, in what order, and the address of every output they make.

A node's key folds in its operator, its version, its validated params, its inputs' output fingerprints and its
source content hash (an import's file digest), so a node runs again only when something upstream changed
(DESIGN principle 3); a node that is not cacheable gets a fresh key on every run. An output's fingerprint is
its node's key and its port's name. As ComfyUI's caching.py stands beside its executor, this module knows
nothing of running: the executor asks for a Plan, then looks its fingerprints up in the artifact store.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

import operators
from operators import OperatorError

from .dag import Dag
from .graph import Edge, Graph, canonical_json, resolve_params
from .validation import params_errors


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(canonical_json(list(parts)).encode()).hexdigest()[:40]


@dataclass
class Plan:
    order: list[str]  # the nodes the run needs, in topological order
    targets: set[str]  # the nodes asked for (a forced run reruns these, not their cached ancestors)
    classes: dict[str, type]  # node -> operator class
    params: dict[str, Any]  # node -> validated params
    incoming: dict[str, dict[str, Edge]]  # node -> input port -> edge
    downstream: dict[str, list[str]]  # node -> the needed nodes that take one of its outputs
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # node -> port -> fingerprint
    errors: dict[str, OperatorError] = field(default_factory=dict)  # node -> why its key could not be made

    def upstream(self, node_id: str) -> list[str]:
        return [edge.source for edge in self.incoming[node_id].values()]


def select(dag: Dag, *, from_node: str | None, only: str | None,
           until: str | None) -> tuple[set[str], set[str]]:
    """(targets, required): targets are the nodes asked for; required adds the ancestors they need."""
    for name, node_id in (("from_node", from_node), ("only", only), ("until", until)):
        if node_id is not None and node_id not in dag:
            raise ValueError(f"{name}: no node {node_id!r} in the pipeline")
    if only is not None:
        targets = {only}
    elif from_node is not None:
        targets = {from_node} | dag.descendants(from_node)
    elif until is not None:
        targets = {until} | dag.ancestors(until)
    else:
        targets = set(dag.nodes)
    required = set(targets)
    for node_id in targets:
        required |= dag.ancestors(node_id)
    return targets, required


def plan(graph: Graph, *, params: dict[str, Any] | None = None, from_node: str | None = None,
         only: str | None = None, until: str | None = None) -> Plan:
    """The nodes a run needs and their validated params; `graph` must have passed validation.check."""
    nodes = {n.id: n for n in graph.nodes}
    dag = Dag(nodes, ((e.source, e.target) for e in graph.edges))
    targets, required = select(dag, from_node=from_node, only=only, until=until)
    order = [n for n in dag.topological_order() or () if n in required]
    incoming = {nid: {e.target_port: e for e in graph.edges if e.target == nid} for nid in order}
    downstream: dict[str, list[str]] = {nid: [] for nid in order}
    for nid in order:
        for source in dict.fromkeys(e.source for e in incoming[nid].values()):
            downstream[source].append(nid)
    classes = {nid: operators.get(nodes[nid].operator) for nid in order}
    validated = {}
    for nid in order:
        validated[nid], errors = params_errors(nid, classes[nid], resolve_params(nodes[nid], graph.parameters,
                                                                                 params))
        assert not errors, errors  # validation.check already refused invalid params
    return Plan(order, targets, classes, validated, incoming, downstream)


def assign_fingerprints(plan: Plan, context: Callable[[str], Any]) -> None:
    """Fill `plan.outputs`, in topological order: each node's key folds in its inputs' output fingerprints.
    `context(node_id)` is the OperatorContext a source fingerprint is computed with. A node whose source
    fingerprint fails gets its error in `plan.errors`; it and what is below it get no fingerprints."""
    for nid in plan.order:
        cls, incoming = plan.classes[nid], plan.incoming[nid]
        inputs = {port: plan.outputs.get(e.source, {}).get(e.source_port) for port, e in sorted(incoming.items())}
        if None in inputs.values():
            continue  # an upstream could not be planned; this node will be skipped
        try:
            source = cls().source_fingerprint(context(nid), plan.params[nid])
        except OperatorError as exc:
            plan.errors[nid] = exc
            continue
        if not cls.cacheable:
            source = uuid.uuid4().hex
        key = fingerprint(cls.name, cls.version, plan.params[nid].model_dump(mode="json"), inputs, source)
        plan.outputs[nid] = {port.name: fingerprint(key, port.name) for port in cls.outputs}

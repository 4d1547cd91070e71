"""Whole-graph validation before anything runs: every error at once, each naming its node and field or port."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pydantic

import operators

from .components import Resolver, expand, has_components, library_of, name_errors
from .dag import Dag
from .graph import BUILTIN_PARAMETERS, Graph, param_references, resolve_params


@dataclass(frozen=True)
class ValidationError:
    code: str  # unknown_operator, invalid_params, missing_input, type_mismatch, cycle, ...
    message: str
    node: str | None = None
    field: str | None = None  # a dotted path into the node's params
    port: str | None = None
    inner_node: str | None = None  # an error inside a component: `node` is the component node, this the inner one

    def as_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


class PipelineInvalid(ValueError):
    def __init__(self, errors: list[ValidationError]):
        self.errors = errors
        super().__init__("pipeline is invalid:\n" + "\n".join(f"  - {e.message}" for e in errors))


def field_path(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def params_errors(node_id: str, operator_cls, params: dict) -> tuple[Any, list[ValidationError]]:
    """Validate a node's resolved params against its operator's model; pydantic errors mapped to fields."""
    try:
        return operator_cls.Params.model_validate(params), []
    except pydantic.ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            path = field_path(err["loc"])
            errors.append(ValidationError("invalid_params", f"node {node_id!r}: parameter {path!r}: {err['msg']}",
                                          node=node_id, field=path))
        return None, errors


def validate(graph: Graph, overrides: dict[str, Any] | None = None, components: Resolver | None = None, *,
             from_node: str | None = None, only: str | None = None,
             until: str | None = None) -> list[ValidationError]:
    """Every error of `graph`; its component nodes are expanded first with `components` (else with the
    components an exported graph carries), and errors inside them name the component node and the inner node.
    With from_node / only / until, only the errors of the nodes that run would need (the asked nodes and their
    ancestors) and of the graph as a whole, so a valid node runs while a node it does not need is invalid (as
    KNIME runs any node whose inputs are ready)."""
    scope = {"from_node": from_node, "only": only, "until": until}
    if not has_components(graph):
        return _in_scope(graph, _all_errors(graph, overrides), scope)
    expansion = expand(graph, components or library_of(graph))
    errors = _in_scope(expansion.graph, _all_errors(expansion.graph, overrides), scope)
    errors = name_errors(errors, expansion.origins, expansion.used)
    if expansion.errors:  # a component that could not be expanded leaves its neighbours unconnected: not news
        errors = [e for e in errors if e.code not in ("missing_input", "unknown_node")]
    return expansion.errors + errors


def _in_scope(graph: Graph, errors: list[ValidationError], scope: dict[str, str | None]) -> list[ValidationError]:
    needed = run_scope(graph, **scope)
    if needed is None:
        return errors
    return [e for e in errors if e.node is None or e.node in needed]


def run_scope(graph: Graph, *, from_node: str | None = None, only: str | None = None,
              until: str | None = None) -> set[str] | None:
    """The node ids a run of this mode needs (None: all of them); an unknown node id needs all."""
    if from_node is None and only is None and until is None:
        return None
    from .cache import select

    dag = Dag([n.id for n in graph.nodes], ((e.source, e.target) for e in graph.edges))
    try:
        return select(dag, from_node=from_node, only=only, until=until)[1]
    except ValueError:
        return None


def _all_errors(graph: Graph, overrides: dict[str, Any] | None) -> list[ValidationError]:
    errors: list[ValidationError] = []
    seen: set[str] = set()
    for node in graph.nodes:
        if node.id in seen:
            errors.append(ValidationError("duplicate_node", f"node id {node.id!r} is used twice", node=node.id))
        seen.add(node.id)
    errors += _parameter_errors(graph, overrides)
    classes: dict[str, type] = {}  # node id -> operator class, for the nodes whose operator exists
    for node in graph.nodes:
        errors += _node_errors(graph, node, overrides, classes)
    connected: dict[tuple[str, str], int] = {}
    for edge in graph.edges:
        errors += _edge_errors(edge, seen, classes, connected)
    for node_id, cls in classes.items():
        for port in cls.inputs:
            if not port.optional and (node_id, port.name) not in connected:
                errors.append(ValidationError("missing_input", f"node {node_id!r}: required input port "
                                              f"{port.name!r} is not connected", node=node_id, port=port.name))
    return errors + _cycle_errors(graph, seen)


def _parameter_errors(graph: Graph, overrides: dict[str, Any] | None) -> list[ValidationError]:
    errors = []
    for name, spec in graph.parameters.items():
        if "default" not in spec:
            errors.append(ValidationError("invalid_parameter", f"pipeline parameter {name!r} has no default",
                                          field=f"parameters.{name}"))
    for name in overrides or {}:
        if name not in graph.parameters and name not in BUILTIN_PARAMETERS:
            errors.append(ValidationError("unknown_parameter", f"run parameter {name!r} is not declared by the "
                                          "pipeline", field=f"parameters.{name}"))
    return errors


def _node_errors(graph: Graph, node, overrides: dict[str, Any] | None, classes: dict) -> list[ValidationError]:
    """A node's operator, its version and its params; records the node's class in `classes`."""
    cls = operators.get(node.operator)
    if cls is None:
        return [ValidationError("unknown_operator", f"node {node.id!r}: unknown operator {node.operator!r}",
                                node=node.id, field="operator")]
    classes[node.id] = cls
    errors = []
    if node.version is not None and node.version != cls.version and node.version not in cls.accepts_versions:
        errors.append(ValidationError(
            "operator_version", f"node {node.id!r}: operator {node.operator!r} version {node.version!r} is not "
            f"available (this studio has version {cls.version!r})", node=node.id, field="version"))
    for ref in param_references(node.params):
        if ref not in graph.parameters and ref not in BUILTIN_PARAMETERS:
            errors.append(ValidationError("unknown_parameter", f"node {node.id!r}: parameter reference "
                                          f"{ref!r} names no pipeline parameter", node=node.id, field="params"))
    return errors + params_errors(node.id, cls, resolve_params(node, graph.parameters, overrides))[1]


def _edge_errors(edge, seen: set[str], classes: dict, connected: dict) -> list[ValidationError]:
    """An edge's ends, ports and types; counts the edges into each input port in `connected`."""
    errors = [ValidationError("unknown_node", f"edge {edge.source}.{edge.source_port} -> {edge.target}."
                              f"{edge.target_port}: {end} node {node_id!r} does not exist", node=node_id)
              for end, node_id in (("source", edge.source), ("target", edge.target)) if node_id not in seen]
    if errors:
        return errors
    src_cls, dst_cls = classes.get(edge.source), classes.get(edge.target)
    src_port = src_cls.output_port(edge.source_port) if src_cls else None
    dst_port = dst_cls.input_port(edge.target_port) if dst_cls else None
    if src_cls and src_port is None:
        errors.append(ValidationError("unknown_port", f"node {edge.source!r} has no output port "
                                      f"{edge.source_port!r}", node=edge.source, port=edge.source_port))
    if dst_cls and dst_port is None:
        errors.append(ValidationError("unknown_port", f"node {edge.target!r} has no input port "
                                      f"{edge.target_port!r}", node=edge.target, port=edge.target_port))
    if src_port and dst_port and src_port.type != dst_port.type:
        errors.append(ValidationError(
            "type_mismatch", f"node {edge.target!r}: input port {edge.target_port!r} takes "
            f"{dst_port.type.value}, but {edge.source}.{edge.source_port} gives {src_port.type.value}",
            node=edge.target, port=edge.target_port))
    key = (edge.target, edge.target_port)
    connected[key] = connected.get(key, 0) + 1
    if connected[key] == 2:
        errors.append(ValidationError("duplicate_input", f"node {edge.target!r}: input port "
                                      f"{edge.target_port!r} has more than one incoming edge",
                                      node=edge.target, port=edge.target_port))
    return errors


def _cycle_errors(graph: Graph, seen: set[str]) -> list[ValidationError]:
    edges = [(e.source, e.target) for e in graph.edges if e.source in seen and e.target in seen]
    if Dag(seen, edges).topological_order() is not None:
        return []  # acyclic, the usual case: no networkx to import (see pipelines.dag)
    import networkx as nx

    digraph = nx.DiGraph()
    digraph.add_nodes_from(seen)
    digraph.add_edges_from((e.source, e.target) for e in graph.edges if e.source in seen and e.target in seen)
    for cycle in nx.simple_cycles(digraph):
        path = " -> ".join(cycle + [cycle[0]])
        return [ValidationError("cycle", f"the graph has a cycle: {path}", node=cycle[0])]
    return []


def check(graph: Graph, overrides: dict[str, Any] | None = None, components: Resolver | None = None,
          **scope: str | None) -> None:
    """Raise PipelineInvalid with every error of the nodes a run needs (scope: from_node / only / until)."""
    errors = validate(graph, overrides, components, **scope)
    if errors:
        raise PipelineInvalid(errors)

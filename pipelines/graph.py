"""The pipeline graph: plain data, read from and written to JSON (schema in pipelines/schema/).

A node names an operator and holds its parameters; an edge joins one node's output port to another's
input port. A parameter value may be `{"$param": "name"}`, a reference to a pipeline-level parameter
that a run may override, or to one of the BUILTIN_PARAMETERS every run has (a schedule fills them per fire).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from collections.abc import Mapping

FORMAT = "studio.pipeline/1"


@dataclass
class Node:
    id: str
    operator: str
    version: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    position: dict[str, float] = field(default_factory=lambda: {"x": 0.0, "y": 0.0})
    label: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    source_port: str
    target: str
    target_port: str


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    name: str = ""
    # Canvas-only data (sticky notes, viewport) kept verbatim so a round trip loses nothing.
    extra: dict[str, Any] = field(default_factory=dict)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def to_json(self) -> dict:
        data = {
            "format": FORMAT,
            "name": self.name,
            "parameters": self.parameters,
            "nodes": [_drop_none({"id": n.id, "operator": n.operator, "version": n.version, "params": n.params,
                                  "position": n.position, "label": n.label}) for n in self.nodes],
            "edges": [{"source": e.source, "source_port": e.source_port, "target": e.target,
                       "target_port": e.target_port} for e in self.edges],
        }
        data.update(self.extra)
        return data

    def digest(self) -> str:
        """A content hash of the graph: equal graphs (key order aside) have equal digests."""
        return hashlib.sha256(canonical_json(self.to_json()).encode()).hexdigest()


class GraphFormatError(ValueError):
    """The JSON is not a pipeline graph at all; `errors` are (path, message) pairs."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" if path else message for path, message in errors))


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _drop_none(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


_KNOWN_KEYS = {"format", "name", "parameters", "nodes", "edges"}
MAX_ID_LENGTH = 100  # node ids, operator names and port names: they become file names, log lines, table keys


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


def from_json(data: Any) -> Graph:
    """Build a Graph from parsed JSON, collecting every shape error (not the semantic ones: see validation)."""
    errors: list[tuple[str, str]] = []
    if not isinstance(data, dict):
        raise GraphFormatError([("", "a pipeline must be a JSON object with 'nodes' and 'edges'")])
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        errors.append(("format", f"unsupported format {fmt!r}; expected {FORMAT!r}"))
    nodes, edges = [], []
    raw_nodes = data.get("nodes", [])
    if not isinstance(raw_nodes, list):
        errors.append(("nodes", "must be a list"))
        raw_nodes = []
    for i, raw in enumerate(raw_nodes):
        where = f"nodes[{i}]"
        if not isinstance(raw, dict):
            errors.append((where, "must be an object"))
            continue
        node_id, operator = raw.get("id"), raw.get("operator")
        if not _is_id(node_id):
            errors.append((f"{where}.id", f"must be a string of 1 to {MAX_ID_LENGTH} characters"))
            continue
        if not _is_id(operator):
            errors.append((f"{where}.operator", f"must be a string of 1 to {MAX_ID_LENGTH} characters"))
            continue
        params = raw.get("params", {})
        if not isinstance(params, dict):
            errors.append((f"{where}.params", "must be an object"))
            continue
        position = raw.get("position") or {"x": 0.0, "y": 0.0}
        if not (isinstance(position, dict) and all(isinstance(position.get(k), (int, float)) for k in ("x", "y"))):
            errors.append((f"{where}.position", "must be an object with numeric x and y"))
            continue
        version = raw.get("version")
        label = raw.get("label")
        nodes.append(Node(node_id, operator, None if version is None else str(version), params,
                          {"x": float(position["x"]), "y": float(position["y"])},
                          label if isinstance(label, str) else None))
    raw_edges = data.get("edges", [])
    if not isinstance(raw_edges, list):
        errors.append(("edges", "must be a list"))
        raw_edges = []
    for i, raw in enumerate(raw_edges):
        keys = ("source", "source_port", "target", "target_port")
        if not isinstance(raw, dict) or not all(_is_id(raw.get(k)) for k in keys):
            errors.append((f"edges[{i}]", "must be an object with string source, source_port, target, target_port "
                                          f"of 1 to {MAX_ID_LENGTH} characters"))
            continue
        edges.append(Edge(*(raw[k] for k in keys)))
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict) or not all(isinstance(v, dict) for v in parameters.values()):
        errors.append(("parameters", "must map names to objects with a 'default'"))
        parameters = {}
    errors += [(f"parameters.{name[:40]}...", f"a parameter name is 1 to {MAX_ID_LENGTH} characters")
               for name in parameters if not _is_id(name)]
    name = data.get("name", "")
    if errors:
        raise GraphFormatError(errors)
    extra = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
    return Graph(nodes, edges, parameters, name if isinstance(name, str) else "", extra)


def load(path: str | Path) -> Graph:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise GraphFormatError([("", f"{path} is not valid JSON: {exc}")]) from None
    return from_json(data)


# Parameters every run has without declaring them: a scheduled run gets its fire's values; any other run
# gets its own start time's (with_builtins), unless it sets them, as a backfill does.
BUILTIN_PARAMETERS = {
    "run_date": "The run's date (a scheduled run: the fire time's date in the schedule's zone), ISO 8601",
    "fire_time": "The scheduled instant, ISO 8601 in UTC",
    "data_interval_start": "Start of the run's data interval (the previous fire time), ISO 8601 in UTC",
    "data_interval_end": "End of the run's data interval (this fire time), ISO 8601 in UTC",
}


def with_builtins(overrides: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any]:
    """Run parameters with the built-in ones a run did not set taken from `now` (default: this moment)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    text = stamp.isoformat().replace("+00:00", "Z")
    values = {"run_date": stamp.date().isoformat(), "fire_time": text, "data_interval_start": text,
              "data_interval_end": text}
    return {**values, **(overrides or {})}


def with_node_params(graph: Graph, node_params: Mapping[str, Mapping[str, Any]] | None) -> Graph:
    """`graph` with `node_params` (node id -> params) merged into those nodes' params. PipelineInvalid when one
    names no node: what the caller fixed for a node must not be dropped silently."""
    if not node_params:
        return graph
    from .validation import PipelineInvalid, ValidationError

    missing = sorted(set(node_params) - {n.id for n in graph.nodes})
    if missing:
        raise PipelineInvalid([ValidationError("unknown_node", f"node {nid!r} is not in the pipeline (its "
                                               "params were fixed when the run started)", node=nid)
                               for nid in missing])
    nodes = [dataclasses.replace(n, params={**n.params, **node_params[n.id]}) if n.id in node_params else n
             for n in graph.nodes]
    return dataclasses.replace(graph, nodes=nodes)


def resolve_params(node: Node, parameters: dict[str, dict], overrides: dict[str, Any] | None = None) -> dict:
    """The node's params with every {"$param": name} replaced by the run's value or the default."""
    overrides = overrides or {}

    def resolve(value):
        if isinstance(value, dict):
            if set(value) == {"$param"}:
                name = value["$param"]
                if name in overrides:
                    return overrides[name]
                if name not in parameters and name in BUILTIN_PARAMETERS:
                    return with_builtins(None)[name]
                return parameters.get(name, {}).get("default")
            return {k: resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        return value

    return resolve(node.params)


def param_references(value: Any) -> list[str]:
    if isinstance(value, dict):
        if set(value) == {"$param"}:
            return [value["$param"]]
        return [name for v in value.values() for name in param_references(v)]
    if isinstance(value, list):
        return [name for v in value for name in param_references(v)]
    return []

"""Components: reusable sub-pipelines, expanded into plain nodes before anything runs.

A component is a pipeline graph with typed, named ports (its "ports" key) and parameters the author exposed
(its "parameters"; inner nodes refer to them with {"$param": name}). A pipeline uses one through a node whose
operator is "component":

    {"id": "c1", "operator": "component", "version": "2",          # pinned; no "version": follow the latest
     "params": {"component": "clean", "params": {"k": 5}}}          # which component, exposed param values

    ports: {"inputs":  [{"name": "data", "type": "dataset", "targets": [{"node": "split", "port": "data"}]}],
            "outputs": [{"name": "train", "type": "dataset", "node": "split", "port": "train"}]}

`expand` replaces every component node by its graph, inner node ids prefixed by the component node's id
("c1.split"), recursively, so caching, events, cancellation and both engines see ordinary nodes. It knows
nothing of where components are stored: a resolver `(name, version or None) -> (version, graph JSON) | None`
is passed in (the studio reads its tables; an exported pipeline carries its components under "components").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .graph import BUILTIN_PARAMETERS, Edge, Graph, GraphFormatError, Node, from_json, param_references

COMPONENT = "component"  # the operator name of a component node
SEPARATOR = "."  # between a component node's id and an inner node's id
MAX_DEPTH = 8  # components inside components, at most this deep
MAX_NODES = 5000  # nodes after expansion: a component used twice inside one used twice ... stays bounded
MAX_ERRORS = 1000  # errors of one expansion: past them it stops
LIBRARY_KEY = "components"  # where an exported pipeline carries the components it uses

Resolver = Callable[[str, "int | None"], "tuple[int, dict] | None"]


@dataclass
class Expansion:
    graph: Graph  # only operator nodes
    origins: dict[str, tuple[str, str]] = field(default_factory=dict)  # expanded id -> (component node, inner id)
    used: dict[str, dict] = field(default_factory=dict)  # component node id -> {"component", "version"}
    errors: list = field(default_factory=list)  # ValidationError, naming the component node
    # component node -> port -> the expanded (node, port) pairs behind it, so a port of an outer component may
    # name a port of a component inside it
    inputs: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)
    outputs: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def has_components(graph: Graph) -> bool:
    return any(n.operator == COMPONENT for n in graph.nodes)


def library_resolver(library: Mapping[str, Any]) -> Resolver:
    """A resolver over {name: {"latest": n, "versions": {"n": graph JSON}}}, the shape an export carries."""

    def resolve(name: str, version: int | None):
        entry = library.get(name) if isinstance(library, Mapping) else None
        if not isinstance(entry, Mapping) or not isinstance(entry.get("versions"), Mapping):
            return None
        versions = entry["versions"]
        if version is None:
            numbers = [int(k) for k in versions if _whole_number(k)]
            version = int(entry.get("latest") or max(numbers, default=0))
        data = versions.get(str(version))
        return (version, data) if isinstance(data, Mapping) else None

    return resolve


def _whole_number(value) -> bool:
    """ASCII digits only: str.isdigit() is also true of "²", which int() refuses (a component version "²" was a
    500 when its pipeline was saved)."""
    text = str(value)
    return text.isascii() and text.isdigit()


def library_of(graph: Graph) -> Resolver | None:
    """The resolver over the components an exported pipeline carries, if it carries any."""
    library = graph.extra.get(LIBRARY_KEY)
    return library_resolver(library) if isinstance(library, Mapping) else None


def component_ref(node: Node) -> tuple[Any, int | None, Any]:
    """(component name, pinned version or None, exposed param values) of a component node, unchecked."""
    pinned = int(node.version) if node.version is not None and _whole_number(node.version) else node.version
    return node.params.get("component"), pinned, node.params.get("params", {})


def ports(data: Mapping) -> tuple[list[dict], list[dict], list[str]]:
    """(inputs, outputs, shape errors) of a component graph's "ports"."""
    raw = data.get("ports") if isinstance(data, Mapping) else None
    raw = raw if isinstance(raw, Mapping) else {}
    inputs, outputs, errors = raw.get("inputs", []), raw.get("outputs", []), []
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        return [], [], ["ports.inputs and ports.outputs must be lists"]
    for i, port in enumerate(inputs):
        targets = port.get("targets") if isinstance(port, Mapping) else None
        if not (isinstance(port, Mapping) and isinstance(port.get("name"), str) and isinstance(targets, list)
                and targets and all(isinstance(t, Mapping) and isinstance(t.get("node"), str)
                                    and isinstance(t.get("port"), str) for t in targets)):
            errors.append(f"ports.inputs[{i}] needs a name and targets [{{node, port}}, ...]")
    for i, port in enumerate(outputs):
        if not (isinstance(port, Mapping) and all(isinstance(port.get(k), str) for k in ("name", "node", "port"))):
            errors.append(f"ports.outputs[{i}] needs a name, a node and a port")
    names = [p.get("name") for p in inputs + outputs if isinstance(p, Mapping)]
    errors += [f"port name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})]
    return inputs, outputs, errors


def expand(graph: Graph, resolver: Resolver | None, _stack: tuple[str, ...] = ()) -> Expansion:
    """`graph` with its component nodes replaced by their (expanded) graphs; errors instead of raising."""
    from .validation import ValidationError

    if not has_components(graph):
        return Expansion(graph)
    out = Expansion(Graph([], [], graph.parameters, graph.name, {k: v for k, v in graph.extra.items()
                                                                if k != LIBRARY_KEY}))
    inputs, outputs = out.inputs, out.outputs
    failed: set[str] = set()
    for node in graph.nodes:
        if len(out.graph.nodes) > MAX_NODES or len(out.errors) > MAX_ERRORS:  # stop before the work multiplies
            out.errors.append(ValidationError("too_large", f"the pipeline has more than {MAX_NODES} nodes (or "
                                              f"{MAX_ERRORS} errors) once its components are expanded"))
            return out
        if node.operator != COMPONENT:
            out.graph.nodes.append(node)
            continue
        inlined = _inline(node, resolver, _stack, out)
        if inlined is None:
            failed.add(node.id)
        else:
            inputs[node.id], outputs[node.id] = inlined
    for edge in graph.edges:
        if edge.source in failed or edge.target in failed:
            continue
        out.graph.edges += _rewire(edge, inputs, outputs, out.errors, ValidationError)
    if len(out.graph.nodes) > MAX_NODES and not any(e.code == "too_large" for e in out.errors):
        out.errors.append(ValidationError("too_large", f"the pipeline has more than {MAX_NODES} nodes once its "
                                          "components are expanded"))
    return out


def _inline(node: Node, resolver: Resolver | None, stack: tuple[str, ...], out: Expansion):
    """Add a component node's inner nodes and edges to `out`; its port map, or None after an error."""
    from .validation import ValidationError

    def error(code, message, field_=None):
        out.errors.append(ValidationError(code, f"component node {node.id!r}: {message}", node=node.id,
                                          field=field_))

    found = _resolve(node, resolver, stack, error)
    if found is None:
        return None
    name, version, data, inner, values = found
    where = f"component {name!r} v{version}"
    port_in, port_out, _ = ports(data)
    sub = expand(inner, resolver, (*stack, name))
    for e in sub.errors:  # an error inside a nested component: this node is the one on the outer canvas
        inner_id = e.node if e.inner_node is None else f"{e.node}{SEPARATOR}{e.inner_node}"
        out.errors.append(replace(e, node=node.id, inner_node=inner_id,
                                  message=f"component node {node.id!r} ({where}), {e.message}"))
    bound = {k: values.get(k, spec.get("default")) for k, spec in inner.parameters.items()}
    prefix = f"{node.id}{SEPARATOR}"
    out.used[node.id] = {"component": name, "version": version}
    out.used.update({prefix + k: v for k, v in sub.used.items()})
    for child in sub.graph.nodes:
        for ref in param_references(child.params):
            if ref not in inner.parameters and ref not in BUILTIN_PARAMETERS:
                out.errors.append(ValidationError(
                    "unknown_parameter", f"component node {node.id!r} ({where}), inner node {child.id!r}: "
                    f"parameter reference {ref!r} names no parameter of the component", node=node.id,
                    inner_node=child.id, field="params"))
        out.graph.nodes.append(replace(child, id=prefix + child.id, params=_bind(child.params, bound),
                                       label=f"{node.label or node.id} / {child.label or child.id}"))
        out.origins[prefix + child.id] = (node.id, child.id)
    out.graph.edges += [Edge(prefix + e.source, e.source_port, prefix + e.target, e.target_port)
                        for e in sub.graph.edges]
    inner_in = {p["name"]: [pair for t in p["targets"] for pair in sub.inputs.get(t["node"], {}).get(
        t["port"], [(t["node"], t["port"])])] for p in port_in}
    inner_out = {p["name"]: sub.outputs.get(p["node"], {}).get(p["port"], (p["node"], p["port"])) for p in port_out}
    return ({name: [(prefix + n, port) for n, port in pairs] for name, pairs in inner_in.items()},
            {name: (prefix + n, port) for name, (n, port) in inner_out.items()})


def _resolve(node: Node, resolver: Resolver | None, stack: tuple[str, ...], error):
    """(name, version, graph JSON, Graph, exposed values) of a component node, or None after `error(...)`."""
    name, pinned, values = component_ref(node)
    if not isinstance(name, str) or not name:
        return error("invalid_component", "params.component must name a component", "component")
    if pinned is not None and not isinstance(pinned, int):
        return error("invalid_component", f"version {pinned!r} is not a version number", "version")
    if name in stack:
        chain = " contains ".join(repr(n) for n in (*stack, name))
        return error("component_cycle", f"component {name!r} contains itself: {chain}", "component")
    if len(stack) >= MAX_DEPTH:
        return error("component_depth", f"components nest more than {MAX_DEPTH} deep", "component")
    found = resolver(name, pinned) if resolver is not None else None
    if found is None:
        return error("unknown_component", f"no component {name!r}" + (f" version {pinned}" if pinned else ""),
                     "component")
    version, data = found
    where = f"component {name!r} v{version}"
    try:
        inner = from_json(dict(data))
    except (GraphFormatError, TypeError, ValueError) as exc:
        return error("invalid_component", f"{where} is not a graph: {exc}")
    shape = ports(data)[2]
    for message in shape:
        error("invalid_component", f"{where}: {message}")
    if not isinstance(values, Mapping):
        return error("invalid_params", "params.params must be an object", "params")
    for key in values:
        if key not in inner.parameters:
            error("invalid_params", f"{where} exposes no parameter {key!r}", f"params.{key}")
    return None if shape else (name, version, data, inner, values)


def _bind(value: Any, bound: dict[str, Any]) -> Any:
    """Params with each reference to an exposed parameter replaced by the component node's value for it (which
    may itself be a reference to a parameter of the pipeline around it)."""
    if isinstance(value, dict):
        if set(value) == {"$param"} and value["$param"] in bound:
            return bound[value["$param"]]
        return {k: _bind(v, bound) for k, v in value.items()}
    if isinstance(value, list):
        return [_bind(v, bound) for v in value]
    return value


def _rewire(edge: Edge, inputs: dict, outputs: dict, errors: list, error_cls) -> list[Edge]:
    """An outer edge, its component ends replaced by the inner nodes behind the ports."""
    outputs_as_lists = {node: {port: [pair] for port, pair in ports.items()} for node, ports in outputs.items()}
    ends = []
    for side, (node_id, port), ports in (("output", (edge.source, edge.source_port), outputs_as_lists),
                                         ("input", (edge.target, edge.target_port), inputs)):
        found = ports[node_id].get(port) if node_id in ports else [(node_id, port)]
        if found is None:
            errors.append(error_cls("unknown_port", f"component node {node_id!r} has no {side} port {port!r}",
                                    node=node_id, port=port))
            return []
        ends.append(found)
    return [Edge(s, sp, t, tp) for s, sp in ends[0] for t, tp in ends[1]]


def name_errors(errors: list, origins: dict[str, tuple[str, str]], used: dict[str, dict]) -> list:
    """Validation errors of an expanded graph named by the component node on the canvas and the inner node."""
    named = []
    for e in errors:
        if e.node not in origins:
            named.append(e)
            continue
        outer, inner = origins[e.node]
        info = used.get(outer, {})
        named.append(replace(e, node=outer, inner_node=inner, message=(
            f"component node {outer!r} (component {info.get('component')!r} v{info.get('version')}), inner node "
            f"{inner!r}: {e.message}")))
    return named


def event_names(origins: dict[str, tuple[str, str]], node_id: str | None) -> dict:
    """What a run event of an expanded node adds: the component node it belongs to and its inner id."""
    if node_id is None or node_id not in origins:
        return {}
    outer, inner = origins[node_id]
    return {"component_node": outer, "inner_node": inner}


def port_types(data: Mapping, resolver: Resolver | None) -> dict[str, str | None]:
    """Each port of a component graph's type, from the operators behind it (None where none is found)."""
    import operators

    name = "\0candidate"  # the candidate itself, under a name no stored component has
    expansion = expand(Graph([Node("c", COMPONENT, params={"component": name})]),
                       lambda n, v: (0, data) if n == name else (resolver(n, v) if resolver else None))
    nodes = {n.id: n for n in expansion.graph.nodes}

    def type_of(node_id: str, port: str, outputs: bool) -> str | None:
        cls = operators.get(nodes[node_id].operator) if node_id in nodes else None
        found = (cls.output_port(port) if outputs else cls.input_port(port)) if cls else None
        return found.type.value if found else None

    types: dict[str, str | None] = {}
    for port, pairs in expansion.inputs.get("c", {}).items():
        found = {type_of(n, p, False) for n, p in pairs}
        types[port] = found.pop() if len(found) == 1 else None
    for port, (n, p) in expansion.outputs.get("c", {}).items():
        types[port] = type_of(n, p, True)
    return types


def _unique(name: str, taken: set[str]) -> str:
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name}_{i}", i + 1
    taken.add(candidate)
    return candidate


def extract(graph: Graph, node_ids: list[str], name: str, resolver: Resolver | None = None) -> tuple[dict, Graph]:
    """"Make component": the selected nodes become a component graph (what crosses the selection's border, and
    each required input left unconnected, becomes a port; the pipeline parameters they use become parameters of
    the component) and the pipeline holds one component node in their place. Returns (component JSON, new
    pipeline graph). ValueError naming the node when the selection is not a set of the graph's nodes."""
    import operators

    selected = [n for n in graph.nodes if n.id in set(node_ids)]
    missing = sorted(set(node_ids) - {n.id for n in selected})
    if missing or not selected:
        raise ValueError(f"no node {missing[0]!r} in the pipeline" if missing else "select at least one node")
    ids = {n.id for n in selected}
    inside = [e for e in graph.edges if e.source in ids and e.target in ids]
    entering = [e for e in graph.edges if e.source not in ids and e.target in ids]
    leaving = [e for e in graph.edges if e.source in ids and e.target not in ids]
    taken: set[str] = set()
    inputs: dict[tuple[str, str], dict] = {}  # outer (node, port) or ("", inner node.port) -> port
    for e in entering:
        port = inputs.setdefault((e.source, e.source_port), {"name": _unique(e.target_port, taken), "targets": []})
        port["targets"].append({"node": e.target, "port": e.target_port})
    fed = {(e.target, e.target_port) for e in inside + entering}
    for n in selected:
        cls = operators.get(n.operator)
        for p in cls.inputs if cls else ():
            if not p.optional and (n.id, p.name) not in fed:
                inputs[("", f"{n.id}.{p.name}")] = {"name": _unique(p.name, taken),
                                                     "targets": [{"node": n.id, "port": p.name}]}
    outputs: dict[tuple[str, str], dict] = {}
    for e in leaving:
        outputs.setdefault((e.source, e.source_port),
                           {"name": _unique(e.source_port, taken), "node": e.source, "port": e.source_port})
    used = {(e.source, e.source_port) for e in inside + leaving}
    for n in selected:
        cls = operators.get(n.operator)
        for p in cls.outputs if cls else ():
            if (n.id, p.name) not in used:
                outputs[(n.id, p.name)] = {"name": _unique(p.name, taken), "node": n.id, "port": p.name}
    refs = sorted({r for n in selected for r in param_references(n.params) if r in graph.parameters})
    left = min(n.position.get("x", 0.0) for n in selected)
    top = min(n.position.get("y", 0.0) for n in selected)
    component = Graph([replace(n, position={"x": n.position["x"] - left, "y": n.position["y"] - top})
                       for n in selected], inside, {r: dict(graph.parameters[r]) for r in refs}, name).to_json()
    component["ports"] = {"inputs": list(inputs.values()), "outputs": list(outputs.values())}
    types = port_types(component, resolver)
    for port in component["ports"]["inputs"] + component["ports"]["outputs"]:
        port["type"] = types.get(port["name"])
    slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")[:40] or "component"
    node_id = _unique(slug, {n.id for n in graph.nodes})
    node = Node(node_id, COMPONENT, None, {"component": name, "params": {r: {"$param": r} for r in refs}},
                {"x": left, "y": top}, name)
    edges = [e for e in graph.edges if e.source not in ids and e.target not in ids]
    edges += [Edge(e.source, e.source_port, node_id, inputs[(e.source, e.source_port)]["name"]) for e in entering]
    edges += [Edge(node_id, outputs[(e.source, e.source_port)]["name"], e.target, e.target_port) for e in leaving]
    edges = list(dict.fromkeys(edges))  # one external output feeding two inner nodes is one edge to the port
    rest = [n for n in graph.nodes if n.id not in ids] + [node]
    return component, Graph(rest, edges, graph.parameters, graph.name, graph.extra)


def rename_ports(component: dict, graph: Graph, node_id: str, names: Mapping[str, str]) -> None:
    """Rename ports of a just-made component (`names`: old -> new), in the component and in the edges of the
    pipeline's component node `node_id`. ValueError naming the port when a name is unknown, empty or taken."""
    declared = component["ports"]["inputs"] + component["ports"]["outputs"]
    current = {p["name"] for p in declared}
    for old, new in names.items():
        if old not in current:
            raise ValueError(f"the component has no port {old!r}")
        if not isinstance(new, str) or not 0 < len(new) <= 100:
            raise ValueError(f"port {old!r}: a name is 1 to 100 characters")
    final = [names.get(p["name"], p["name"]) for p in declared]
    taken = sorted({n for n in final if final.count(n) > 1})
    if taken:
        raise ValueError(f"port name {taken[0]!r} would be used twice")
    for port in declared:
        port["name"] = names.get(port["name"], port["name"])
    graph.edges = [Edge(e.source, names.get(e.source_port, e.source_port) if e.source == node_id else e.source_port,
                        e.target, names.get(e.target_port, e.target_port) if e.target == node_id else e.target_port)
                   for e in graph.edges]

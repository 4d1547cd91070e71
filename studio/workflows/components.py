"""Components in the studio: the resolver a run and a validation expand component nodes with, the checks a new
component version passes, where a component is used, and the components an export carries."""
from __future__ import annotations

import copy
import json
from typing import Any

import pipelines
from pipelines.components import (COMPONENT, LIBRARY_KEY, expand, has_components, library_resolver, port_types,
                                  ports)

from studio.core.errors import ApiError
from studio.core.parsers import whole_number

MAX_GRAPH_BYTES = 2_000_000  # a component graph as JSON
MAX_NODES = 500  # nodes in one component version (before its own components expand)
MAX_IMPORTED_VERSIONS = 200  # component versions one imported pipeline may carry


def resolver_for(project, pending: dict[str, dict] | None = None):
    """(name, version or None) -> (version, graph) over the project's components, read once per (name, version)
    and kept: a run resolves every component in the web or worker thread that builds it, and "latest" stays what
    it was when the run started. `pending` maps a name to a graph not yet stored (the version being saved)."""
    from .models import ComponentVersion

    seen: dict[tuple[str, int | None], tuple[int, dict] | None] = {}

    def resolve(name: str, version: int | None):
        if pending and name in pending and version is None:
            return 0, pending[name]
        key = (name, version)
        if key not in seen:
            versions = ComponentVersion.objects.filter(component__project=project, component__name=name)
            found = versions.filter(number=version).first() if version else versions.order_by("-number").first()
            seen[key] = (found.number, found.graph) if found else None
        return seen[key]

    return resolve


def preloaded(project, graph: pipelines.Graph):
    """A resolver with every component `graph` uses already read, so the executor's thread touches no database."""
    resolve = resolver_for(project)
    if has_components(graph):
        expand(graph, resolve)
    return resolve


def checked_graph(project, name: str, data: Any) -> tuple[dict, list[dict]]:
    """A component graph ready to store: its shape checked (400 naming the path), a cycle through other
    components refused (400 naming both), its port types read from the operators; with the validation errors
    kept with the version (an input fed by a port is connected)."""
    if not isinstance(data, dict) or len(json.dumps(data, default=str)) > MAX_GRAPH_BYTES:
        raise ApiError(400, "invalid_graph", [{"path": "graph", "message": "must be a graph object of at most "
                                               f"{MAX_GRAPH_BYTES} bytes", "code": "invalid_graph"}])
    from .graphs import parse_graph

    graph = parse_graph(data)
    if len(graph.nodes) > MAX_NODES:
        raise ApiError(400, "invalid_graph", [{"path": "graph.nodes", "message": f"at most {MAX_NODES} nodes",
                                               "code": "invalid_graph"}])
    shape = ports(data)[2] or ([] if isinstance(data.get("ports", {}), dict) else ["ports must be an object"])
    if shape:
        raise ApiError(400, "invalid_ports", [{"path": "graph.ports", "message": m, "code": "invalid_ports"}
                                              for m in shape])
    data = copy.deepcopy(graph.to_json())
    data["ports"] = {"inputs": data.get("ports", {}).get("inputs", []),
                     "outputs": data.get("ports", {}).get("outputs", [])}
    resolve = resolver_for(project, {name: data})
    wrapper = pipelines.Graph([pipelines.Node("component", COMPONENT, params={"component": name})])
    expansion = expand(wrapper, resolve)
    cycles = [e for e in expansion.errors if e.code == "component_cycle"]
    if cycles:
        raise ApiError(400, "component_cycle", [{"path": "graph", "message": e.message, "code": e.code}
                                                for e in cycles])
    types = port_types(data, resolve)
    for port in data["ports"]["inputs"] + data["ports"]["outputs"]:
        port["type"] = types.get(port["name"])
    fed = {(n.removeprefix("component."), p) for pairs in expansion.inputs.get("component", {}).values()
           for n, p in pairs}
    errors = [e.as_json() for e in pipelines.validate(wrapper, components=resolve)
              if not (e.code == "missing_input" and (e.inner_node, e.port) in fed)]
    return data, [{**e, "node": e.get("inner_node", e.get("node")), "message": _own_words(e["message"], name)}
                  for e in errors]


def _own_words(message: str, name: str) -> str:
    """A component version's error in its own terms: "node 'features': parameter 'mode': ...", without the
    wrapper node it was validated in ("component node 'component' (component 'prep' v0), inner node 'features':
    node 'component.features': ...")."""
    message = message.removeprefix(f"component node 'component' (component {name!r} v0), ")
    if message.startswith("inner node ") and ": " in message:
        message = message.split(": ", 1)[1]
    return message.replace("node 'component.", "node '")


def component_nodes(graph: dict, name: str) -> list[dict]:
    """The nodes of a graph JSON that use component `name`: id and pinned version (None: follows the latest)."""
    found = []
    for node in graph.get("nodes", []):
        if node.get("operator") == COMPONENT and (node.get("params") or {}).get("component") == name:
            version = node.get("version")
            found.append({"id": node["id"], "pinned": int(version) if whole_number(version) else None})
    return found


def where_used(component) -> dict:
    """The pipelines (their latest versions) and other components (their latest versions) using `component`."""
    from .models import Component, Pipeline

    used = {"pipelines": [], "components": []}
    for pipeline in Pipeline.objects.filter(project=component.project_id).order_by("id"):
        latest = pipeline.latest_version()
        nodes = component_nodes(latest.graph, component.name) if latest else []
        if nodes:
            used["pipelines"].append({"id": pipeline.pk, "name": pipeline.name, "version": latest.number,
                                      "nodes": nodes, "follows": any(n["pinned"] is None for n in nodes)})
    for other in Component.objects.filter(project=component.project_id).exclude(pk=component.pk):
        latest = other.latest_version()
        nodes = component_nodes(latest.graph, component.name) if latest else []
        if nodes:
            used["components"].append({"id": other.pk, "name": other.name, "version": latest.number,
                                       "nodes": nodes, "follows": any(n["pinned"] is None for n in nodes)})
    return used


def move_pins(component, pipeline_ids: list[int], number: int, user) -> list[dict]:
    """Pin the nodes using `component` in these pipelines (of its project) to version `number`, each pipeline
    as a new version; the pipelines that changed."""
    from .models import Pipeline

    moved = []
    for pipeline in Pipeline.objects.filter(project=component.project_id, pk__in=pipeline_ids).order_by("id"):
        latest = pipeline.latest_version()
        if latest is None:
            continue
        graph = copy.deepcopy(latest.graph)
        for node in graph.get("nodes", []):
            if node.get("operator") == COMPONENT and (node.get("params") or {}).get("component") == component.name:
                node["version"] = str(number)
        version, created = pipeline.save_graph(pipelines.from_json(graph), user,
                                               f"component {component.name!r} moved to v{number}")
        if created:
            moved.append({"id": pipeline.pk, "name": pipeline.name, "version": version.number})
    return moved


def export_library(project, graph: dict) -> dict:
    """{name: {"description", "latest", "versions": {n: graph}}}: every component version `graph` uses,
    directly or inside another component, as an export carries them."""
    from .models import Component

    resolve = resolver_for(project)
    expansion = expand(pipelines.from_json(graph), resolve)
    library: dict[str, dict] = {}
    for ref in expansion.used.values():
        name, number = ref["component"], ref["version"]
        entry = library.get(name)
        if entry is None:
            component = Component.objects.filter(project=project, name=name).first()
            latest = component.latest_version() if component else None
            entry = library[name] = {"description": component.description if component else "",
                                     "latest": latest.number if latest else number, "versions": {}}
        entry["versions"][str(number)] = resolve(name, number)[1]
    return library


def import_library(project, graph: pipelines.Graph, user) -> pipelines.Graph:
    """Store the components an imported graph carries in `project` (a version equal to one already there is
    reused) and return the graph with its pins renumbered to the project's versions, without the library."""
    from .models import Component

    library = graph.extra.get(LIBRARY_KEY)
    if not isinstance(library, dict):
        return graph
    numbers: dict[tuple[str, int], int] = {}
    carried = sum(len(e.get("versions") or {}) for e in library.values() if isinstance(e, dict))
    if carried > MAX_IMPORTED_VERSIONS:
        raise ApiError(400, "invalid_graph", [{"path": f"graph.{LIBRARY_KEY}", "code": "invalid_graph",
                                               "message": f"at most {MAX_IMPORTED_VERSIONS} component versions"}])
    for name, entry in library.items():
        versions = entry.get("versions") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not 0 < len(name) <= 100 or not isinstance(versions, dict):
            raise ApiError(400, "invalid_graph", [{"path": f"graph.{LIBRARY_KEY}", "code": "invalid_graph",
                                                   "message": "must map component names to their versions"}])
        component, _ = Component.objects.get_or_create(
            project=project, name=name, defaults={"description": str(entry.get("description", ""))[:2000],
                                                  "created_by": user})
        for number in sorted(versions, key=lambda k: int(k) if whole_number(k) else 0):
            data, errors = checked_graph(project, name, versions[number])
            # equal to any version the project has, not only its latest: an older export must not become the
            # latest (and move every pipeline following the component back to it)
            digest = pipelines.from_json(data).digest()
            version = component.versions.filter(digest=digest).order_by("-number").first() or \
                component.save_graph(data, errors, user, "imported")[0]
            numbers[(name, int(number) if whole_number(number) else 0)] = version.number
    resolve = library_resolver(library)
    for node in graph.nodes:
        if node.operator == COMPONENT and node.version is not None:
            name = node.params.get("component")
            found = resolve(name, int(node.version)) if whole_number(node.version) else None
            if found and (name, found[0]) in numbers:
                node.version = str(numbers[(name, found[0])])
    return pipelines.Graph(graph.nodes, graph.edges, graph.parameters, graph.name,
                           {k: v for k, v in graph.extra.items() if k != LIBRARY_KEY})

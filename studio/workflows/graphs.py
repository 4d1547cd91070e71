"""Graph JSON in the API: parsing with field paths, validation entries, diffs and the Python script export."""
from __future__ import annotations

import json
from typing import Any


import pipelines
from pipelines.validation import ValidationError

from studio.core.errors import ApiError


def parse_graph(data: Any, prefix: str = "graph") -> pipelines.Graph:
    """A Graph from request JSON; 400 with every shape error and every unknown operator, each with its path."""
    try:
        graph = pipelines.from_json(data)
    except pipelines.GraphFormatError as exc:
        raise ApiError(400, "invalid_graph", [
            {"path": f"{prefix}.{path}" if path else prefix, "message": message, "code": "invalid_graph"}
            for path, message in exc.errors]) from exc
    unknown = [e for e in pipelines.validate(graph) if e.code == "unknown_operator"]
    if unknown:
        raise ApiError(400, "unknown_operator", error_entries(graph, unknown, prefix))
    return graph


def error_entries(graph: pipelines.Graph, errors: list[ValidationError] | list[dict],
                  prefix: str = "graph") -> list[dict]:
    """Validation errors as API error entries: the node's index in the submitted list gives the path."""
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    entries = []
    for error in errors:
        e = error if isinstance(error, dict) else error.as_json()
        path = prefix
        node, field, port = e.get("node"), e.get("field"), e.get("port")
        if node in index:
            path += f".nodes[{index[node]}]"
            if e.get("inner_node"):  # inside a component: the component node, then the inner node's path
                path += f".component.{e['inner_node']}"
            if field in ("operator", "version"):
                path += f".{field}"
            elif field:
                path += f".params.{field}"
            elif port:
                path += f".ports.{port}"
        elif field:
            path += f".{field}"
        entry = {"path": path, "message": e["message"], "code": e["code"]}
        entry.update({k: v for k, v in (("node", node), ("inner_node", e.get("inner_node")), ("field", field),
                                        ("port", port)) if v})
        entries.append(entry)
    return entries


def diff(old: dict, new: dict) -> dict:
    """What changed from graph `old` to graph `new`: nodes, edges and pipeline parameters."""
    old_nodes = {n["id"]: n for n in old.get("nodes", [])}
    new_nodes = {n["id"]: n for n in new.get("nodes", [])}
    changed = []
    for node_id in sorted(old_nodes.keys() & new_nodes.keys()):
        a, b = old_nodes[node_id], new_nodes[node_id]
        fields = {}
        for key in sorted(set(a) | set(b)):
            if key == "params":
                pa, pb = a.get("params", {}), b.get("params", {})
                params = {k: {"old": pa.get(k), "new": pb.get(k)} for k in sorted(set(pa) | set(pb))
                          if pa.get(k) != pb.get(k)}
                if params:
                    fields["params"] = params
            elif a.get(key) != b.get(key) and key != "position":
                fields[key] = {"old": a.get(key), "new": b.get(key)}
        moved = a.get("position") != b.get("position")
        if fields or moved:
            changed.append({"id": node_id, "changes": fields, "moved": moved})

    def edge_key(e):
        return f"{e['source']}.{e['source_port']} -> {e['target']}.{e['target_port']}"

    old_edges = {edge_key(e) for e in old.get("edges", [])}
    new_edges = {edge_key(e) for e in new.get("edges", [])}
    pa, pb = old.get("parameters", {}), new.get("parameters", {})
    return {
        "nodes": {"added": sorted(new_nodes.keys() - old_nodes.keys()),
                  "removed": sorted(old_nodes.keys() - new_nodes.keys()), "changed": changed},
        "edges": {"added": sorted(new_edges - old_edges), "removed": sorted(old_edges - new_edges)},
        "parameters": {"added": sorted(pb.keys() - pa.keys()), "removed": sorted(pa.keys() - pb.keys()),
                       "changed": sorted(k for k in pa.keys() & pb.keys() if pa[k] != pb[k])},
    }


SCRIPT = '''"""{title}

Exported from the studio (pipeline {pipeline_id}, version {version}). It needs only this project's Python
packages, no server and no database:

    python {filename} --data-root DIR [--store .artifacts] [--param name=value ...]

DIR is the folder the pipeline's file paths are relative to (in the studio: the project's data folder).
"""
import argparse
import json
import sys

import pipelines

GRAPH = json.loads({graph_json})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=".", help="folder the pipeline's file paths are relative to")
    parser.add_argument("--store", default=".artifacts", help="artifact store folder (the cache)")
    parser.add_argument("--param", action="append", default=[], help="pipeline parameter, name=JSON value")
    args = parser.parse_args(argv)
    params = {{}}
    for item in args.param:
        name, _, value = item.partition("=")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    result = pipelines.run(GRAPH, data_root=args.data_root, store_root=args.store, params=params or None)
    print(json.dumps(result.summary(), default=str))
    return 0 if result.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
'''


def python_script(version, graph: dict | None = None) -> str:
    """The script of a version; `graph` is its graph with the component nodes expanded (default: as stored)."""
    name = version.pipeline.name or "pipeline"
    return SCRIPT.format(title=f"Pipeline {name!r}, version {version.number}.".replace('"""', "'''"),
                         pipeline_id=version.pipeline_id, version=version.number,
                         filename=script_filename(version),
                         graph_json=repr(json.dumps(graph or version.graph, sort_keys=True)))


def script_filename(version) -> str:
    safe = "".join(c if c.isalnum() else "_" for c in version.pipeline.name.lower()).strip("_") or "pipeline"
    return f"{safe}_v{version.number}.py"



"""Pipelines: the graph format, validation, the executor, the artifact store. Imports `operators` and
networkx; never Django. A pipeline runs from a script or a notebook:

    import pipelines
    result = pipelines.run("examples/credit_default.json", store_root=".artifacts", data_root="examples/data")
    print(result.status, result.metrics)

The executor and validation (networkx, the operator registry) load on first use of one of their names, not on
`import pipelines`: the serving process imports `pipelines.bundle`, which runs this file, and must not load
them (DESIGN: the online scorer imports only the bundle loader and the transform kernels).
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from collections.abc import Callable

from .graph import Edge, Graph, GraphFormatError, Node, from_json, load
from .store import ArtifactStore, FileSystemStore

if TYPE_CHECKING:
    from .executor import CancelToken, Event, Executor, NodeResult, RunResult
    from .validation import PipelineInvalid, ValidationError, validate

DEFAULT_STORE = ".artifacts"

_LAZY = {name: ".executor" for name in ("CancelToken", "Event", "Executor", "NodeResult", "RunResult")}
_LAZY.update({name: ".validation" for name in ("PipelineInvalid", "ValidationError", "validate")})


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def run(graph: Graph | dict | str | Path, *, store: ArtifactStore | None = None,
        store_root: str | Path | None = None, data_root: str | Path | None = None, engine: str = "local",
        from_node: str | None = None, only: str | None = None, until: str | None = None, force: bool = False,
        params: dict[str, Any] | None = None, max_parallel: int = 4, connections: dict[str, str] | None = None,
        uploads: dict[str, str | Path] | None = None,
        on_event: Callable[[Event], None] | None = None, cancel: CancelToken | None = None,
        components: Callable[[str, int | None], tuple[int, dict] | None] | None = None) -> RunResult:
    """Run a pipeline (a Graph, its JSON as a dict, or a path to the JSON file) and return the result.

    `data_root` defaults to $STUDIO_DATA_ROOT, else the pipeline file's folder, else the current folder;
    `store_root` to $STUDIO_ARTIFACTS, else `.artifacts`; an s3:// URL there is a shared object store (see
    pipelines.objects), with local copies under $STUDIO_ARTIFACT_CACHE, else `.artifacts`.
    """
    from .executor import Executor

    base = Path(".")
    if isinstance(graph, (str, Path)):
        base = Path(graph).resolve().parent
        graph = load(graph)
    elif isinstance(graph, dict):
        graph = from_json(graph)
    if store is None:
        from .objects import open_artifact_store

        store = open_artifact_store(store_root or os.environ.get("STUDIO_ARTIFACTS", DEFAULT_STORE),
                                    os.environ.get("STUDIO_ARTIFACT_CACHE", DEFAULT_STORE))
    data_root = data_root or os.environ.get("STUDIO_DATA_ROOT") or base
    executor = Executor(store, engine=engine, max_parallel=max_parallel, data_root=data_root,
                        connections=connections, uploads=uploads, on_event=on_event,
                        components=components)
    return executor.run(graph, from_node=from_node, only=only, until=until, force=force, params=params,
                        cancel=cancel)


__all__ = ["ArtifactStore", "CancelToken", "Edge", "Event", "Executor", "FileSystemStore", "Graph",
           "GraphFormatError", "Node", "NodeResult", "PipelineInvalid", "RunResult", "ValidationError", "from_json",
           "load", "run", "validate"]

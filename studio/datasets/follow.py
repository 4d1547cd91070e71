"""Which upload a file import node reads in a run: the one it names (`upload_version` "pinned", the default), or
the newest upload of that name in the run's project ("newest"), so that a scheduled retrain reads the file an
analyst uploaded again under its name. The studio resolves this when a run starts and keeps the answer with the
run (Run.uploads), and the worker hands the executor the upload chosen for each import node (its `node_params`,
an import inside a component by the inner node's expanded id): the executor and the operators know nothing of
versions, and the cache keys on the upload read (its id and sha256).

Versions are the project's uploads of one name in upload order (by id), as the Data page numbers them; another
project's uploads never count."""
from __future__ import annotations

import dataclasses
import unicodedata

import pipelines
from pipelines.graph import resolve_params

from studio.core.errors import ApiError
from studio.core.parsers import whole_number

PINNED, NEWEST = "pinned", "newest"


class UploadGone(Exception):
    """A node follows the newest upload of a name, and no upload of that name is left in the project."""

    def __init__(self, node: pipelines.Node, message: str):
        super().__init__(message)
        self.node, self.message = node, message

    def api_error(self, path: str, node: str) -> ApiError:
        """The 400: `path` to the node's upload field, `node` the one the canvas shows (a component node)."""
        return ApiError(400, "upload_gone", [{"path": path, "message": self.message, "code": "upload_gone",
                                              "node": node}], message=self.message)


def is_file_import(operator: str) -> bool:
    from operators import registry
    from operators.library.io_files import FileSource

    cls = registry.get(operator)
    return cls is not None and issubclass(getattr(cls, "Params", object), FileSource)


def _literal(value) -> str | None:
    """An upload id as the node names it (its pipeline parameters resolved), or None (empty, or not an id)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or value == "":
        return None
    return str(value)


def upload_rows(project) -> list[dict]:
    """The project's uploads as uploads_read reads them, in upload order."""
    return list(project.uploads.order_by("id").values("id", "name", "sha256"))


def uploads_read(project, graph: pipelines.Graph, needed: set[str] | None = None,
                 params: dict | None = None, *, rows: list[dict] | None = None,
                 strict: bool = True) -> dict[str, dict]:
    """Node id -> the upload that file import node will read: {"upload", "name", "version", "of", "sha256",
    "follows"}; for every import node naming an upload by an id, of the nodes the run needs (`needed`, None: all).
    A node's fields bound to pipeline parameters read the run's values (`params`) or the defaults, as the run
    would. Raises UploadGone naming the node when it follows the newest of a name that has no upload left (unless
    not `strict`: that node is left out). A pinned node's upload that is gone is left out (the run fails at that
    node, as before). `rows`: the project's upload_rows, when the caller has them."""
    resolved = {n.id: resolve_params(n, graph.parameters, params) for n in graph.nodes
                if (needed is None or n.id in needed) and is_file_import(n.operator)}
    nodes = [dataclasses.replace(n, params=resolved[n.id]) for n in graph.nodes
             if n.id in resolved and _literal(resolved[n.id].get("upload"))]
    if not nodes:
        return {}
    rows = upload_rows(project) if rows is None else rows
    by_id = {str(r["id"]): r for r in rows}
    by_name: dict[str, list[dict]] = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    out = {}
    for node in nodes:
        named = _literal(node.params.get("upload"))
        follows = NEWEST if node.params.get("upload_version") == NEWEST else PINNED
        if follows == PINNED:
            chosen = by_id.get(named)
            if chosen is None:
                continue
        else:
            followed = node.params.get("upload_name")
            # composed, as upload names are: a graph saved with a decomposed name still finds its file
            name = (unicodedata.normalize("NFC", followed) if isinstance(followed, str) and followed
                    else (by_id.get(named) or {}).get("name") or deleted_name(project, named))
            label = f"node {node.id!r}" + (f" ({node.label})" if node.label and node.label != node.id else "")
            if not strict and not by_name.get(name):
                continue
            if not name:
                raise UploadGone(node, f"{label} follows the newest version of upload {named}, which was "
                                              "deleted, and names no file: pick a file for it again")
            if not by_name.get(name):
                raise UploadGone(node, f"{label} follows the newest version of {name!r}, and no file of that "
                                              "name is left in the project: upload it again or pick another file")
            chosen = by_name[name][-1]
        versions = by_name[chosen["name"]]
        out[node.id] = {"upload": chosen["id"], "name": chosen["name"], "version": versions.index(chosen) + 1,
                        "of": len(versions), "sha256": chosen["sha256"], "follows": follows}
    return out


def deleted_name(project, upload_id: str) -> str | None:
    """The name a deleted upload of `project` had (its DeletedUpload), or None: never another project's."""
    if not (whole_number(upload_id) and len(upload_id) <= 18):
        return None
    return project.deleted_uploads.filter(upload_id=int(upload_id)).values_list("name", flat=True).first()


def upload_params(reads: dict[str, dict]) -> dict[str, dict]:
    """What the worker fixes for the executor (its `node_params`): each import node, a component's inner ones by
    their expanded id, naming the upload `reads` chose for it."""
    return {nid: {"upload": str(read["upload"])} for nid, read in reads.items() if read.get("upload") is not None}


def describe(read: dict) -> str:
    """One line of a node's log: which upload it reads, and why that one."""
    which = "the newest of its name, followed" if read["follows"] == NEWEST else "pinned by the node"
    return (f"reads upload {read['upload']}: {read['name']}, version {read['version']} of {read['of']} ({which}), "
            f"sha256 {read['sha256'][:12]}")


def run_uploads(project, graph: pipelines.Graph, components, scope: dict,
                params: dict | None = None) -> dict[str, dict]:
    """uploads_read over the nodes a run needs, a component's inner import nodes included (keyed by their
    expanded id, "component.inner": a component's graph is shared, what its import reads is fixed per run), with
    the run's parameter values `params`. The 400 of UploadGone names the component node and the inner node's
    path."""
    from pipelines.components import SEPARATOR, expand
    from pipelines.validation import run_scope

    expansion = expand(graph, components)
    try:
        return uploads_read(project, expansion.graph, run_scope(expansion.graph, **scope), params)
    except UploadGone as gone:
        index = {n.id: i for i, n in enumerate(graph.nodes)}
        outer, inner = expansion.origins.get(gone.node.id, (gone.node.id, None))
        path = (f"graph.nodes[{index[outer]}]" + (f".component{SEPARATOR}{inner}" if inner else "")
                + ".params.upload")
        raise gone.api_error(path, outer) from None

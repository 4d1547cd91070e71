"""Which pipelines and schedules of a project read an upload: what the Data page names before a file is deleted
("Used by: churn model, weekly retrain"), as Azure ML designer and KNIME do, and why a plain DELETE of a file in
use answers 409.

A pipeline reads the uploads its latest version's import nodes would read if it ran now (follow.uploads_read:
a pinned upload, or the newest of a followed name), its components' inner imports included; a schedule reads what
the version it fires reads (its pinned version, else its pipeline's latest). Only the upload's own project is
looked at: an id of another project's upload in a graph reads nothing (the executor is given this project's
uploads only), so another project's pipeline names never show up here."""
from __future__ import annotations

from collections import defaultdict

import pipelines
from pipelines.components import expand
from pipelines.graph import GraphFormatError

from .follow import upload_rows, uploads_read


def readers_by_upload(project) -> dict[int, list[dict]]:
    """Upload id -> [{"kind": "pipeline" | "schedule", "id", "name"}]: the project's pipelines, then its schedules,
    each by name, whose runs read that upload now."""
    from django.db.models import OuterRef, Subquery

    from studio.workflows.components import resolver_for
    from studio.workflows.models import PipelineVersion

    newest = PipelineVersion.objects.filter(pipeline=OuterRef("pk")).order_by("-number").values("pk")[:1]
    pipes = list(project.pipelines.annotate(latest=Subquery(newest)).order_by("name", "id")
                 .values("id", "name", "latest"))
    schedules = list(project.schedules.order_by("name", "id").values("id", "name", "pipeline_id", "version_id"))
    latest = {p["id"]: p["latest"] for p in pipes}
    fired = {s["id"]: s["version_id"] or latest.get(s["pipeline_id"]) for s in schedules}
    wanted = ({p["latest"] for p in pipes} | set(fired.values())) - {None}
    rows, resolve = upload_rows(project), resolver_for(project)
    reads = {pk: _uploads_of(project, graph, resolve, rows)
             for pk, graph in PipelineVersion.objects.filter(pk__in=wanted).values_list("pk", "graph")}
    out: dict[int, list[dict]] = defaultdict(list)
    for kind, found, version_of in (("pipeline", pipes, lambda p: p["latest"]),
                                    ("schedule", schedules, lambda s: fired[s["id"]])):
        for thing in found:
            for upload in sorted(reads.get(version_of(thing), ())):
                out[upload].append({"kind": kind, "id": thing["id"], "name": thing["name"]})
    return dict(out)


def _uploads_of(project, data: dict, resolve, rows: list[dict]) -> set[int]:
    """The upload ids a stored graph's import nodes read now; none for a graph that no longer parses."""
    try:
        graph = expand(pipelines.from_json(data), resolve).graph
    except (GraphFormatError, TypeError, ValueError):
        return set()
    return {read["upload"] for read in uploads_read(project, graph, rows=rows, strict=False).values()}


def in_use(upload, readers: list[dict]) -> Exception:
    """The 409 of a plain DELETE of an upload that `readers` read: each one named, and what to do."""
    from studio.core.errors import ApiError

    entries = [{"path": "", "code": f"used_by_{r['kind']}", "message": f"{r['kind']} {r['name']!r}"}
               for r in readers]
    return ApiError(409, "in_use", entries, f"the file {upload.name!r} is read by "
                    f"{', '.join(e['message'] for e in entries)}; pick another file in them first, or send "
                    "?force=true to delete it anyway (their runs then fail at the import)")

"""Deleting a pipeline or a project that other things depend on (issue 12, item 7).

Runs keep the pipeline version they ran (PROTECT), schedules fire a pipeline, deployments serve a project's
models: a plain DELETE of a pipeline or project that has any of these answers 409 and lists them. The project's
owner may send ?force=true to delete them with it (deleted deployments leave the serving registry at once,
and the project's files go too). Runs still queued or running block even a forced delete: the worker is writing
their rows; cancel them first.
"""
from __future__ import annotations

import shutil

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from studio.core.errors import ApiError

from .models import Project, Role
from .permissions import require_role


FORCE_PARAM = OpenApiParameter("force", bool, description="Also delete what depends on it (runs, schedules, "
                                                           "deployments); needs the owner role")


class ForceQuerySerializer(serializers.Serializer):
    force = serializers.BooleanField(default=False)

    @classmethod
    def read(cls, request) -> bool:
        query = cls(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data["force"]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _dependents(project: Project | None = None, pipeline=None) -> dict:
    from studio.deployments.models import Deployment
    from studio.runs.models import Run
    from studio.schedules.models import Schedule

    scope = {"pipeline": pipeline} if pipeline is not None else {"project": project}
    found = {"runs": Run.objects.filter(**scope), "schedules": Schedule.objects.filter(**scope)}
    if pipeline is None:
        found["deployments"] = Deployment.objects.filter(project=project)
    return found


def _refuse(what: str, entries: list[dict], hint: str) -> ApiError:
    listing = ", ".join(e["message"] for e in entries)
    return ApiError(409, "in_use", entries, f"{what} has {listing}; {hint}")


def _check(what: str, found: dict, force: bool) -> None:
    from studio.runs.models import FINISHED

    if force:
        active = found["runs"].exclude(status__in=FINISHED).count()
        if active:
            raise _refuse(what, [{"path": "", "code": "active_runs", "message": _plural(active, "active run")}],
                          "cancel them first (a forced delete waits for no worker)")
        return
    entries = []
    for kind, queryset in found.items():
        count = queryset.count()
        if count:
            entries.append({"path": "", "code": f"has_{kind}", "message": _plural(count, kind[:-1])})
    if entries:
        raise _refuse(what, entries, "delete them first, or, as the project's owner, send ?force=true to delete "
                                     "them with it")


def _delete_dependents(found: dict) -> bool:
    """Schedules and runs first (they protect the pipeline versions), then deployments. True when a
    deployment was deleted (the serving registry must be rewritten)."""
    found["schedules"].delete()
    found["runs"].delete()
    deployments = found.get("deployments")
    if deployments is None:
        return False
    names = list(deployments.values_list("name", flat=True))
    if names:  # their served rows go too: the next deployment of the name, maybe another project's, starts empty
        from studio.deployments.feedback import forget_prediction_log

        transaction.on_commit(lambda: [forget_prediction_log(name) for name in names])
    return bool(deployments.delete()[0])


def _delete(obj, what: str) -> None:
    try:
        obj.delete()
    except (ProtectedError, RestrictedError) as exc:  # something new came to depend on it meanwhile
        objects = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
        blockers = sorted({str(type(o)._meta.verbose_name_plural) for o in objects}) or ["other objects"]
        raise _refuse(what, [{"path": "", "code": "in_use", "message": ", ".join(blockers)}],
                      "try again, or delete them first") from None


def delete_pipeline(pipeline, user, force: bool = False) -> None:
    if force:
        require_role(user, pipeline.project_id, Role.OWNER)
    with transaction.atomic():
        found = _dependents(pipeline=pipeline)
        _check(f"pipeline {pipeline.name!r}", found, force)
        _delete_dependents(found)
        _delete(pipeline, f"pipeline {pipeline.name!r}")


def delete_project(project: Project, user, force: bool = False) -> None:
    require_role(user, project, Role.OWNER)
    files = project.data_root
    with transaction.atomic():
        found = _dependents(project=project)
        _check(f"project {project.name!r}", found, force)
        served = _delete_dependents(found)
        _delete(project, f"project {project.name!r}")
        transaction.on_commit(lambda: shutil.rmtree(files, ignore_errors=True))  # its uploads go with it
    if served:
        from studio.deployments.services import sync_registry

        sync_registry()  # the serving process stops answering for the deleted deployments

"""Object permissions by project membership: the one place that decides who sees and changes what.

Every project-scoped object (pipelines, uploads, connections, runs, and deployments in studio/deployments)
reaches its project through a field path, e.g. "project" or "pipeline__project". Use:

    visible(queryset, user, "project")        # what the user may read; everything else answers 404
    require_role(user, project, Role.EDITOR)  # 404 when not a member, 403 when the role is too low
    ProjectScopedMixin                        # for viewsets: both of the above wired into DRF

Superusers count as owners of every project. A non-member never learns that an object exists (404).
"""
from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import exceptions, permissions

from studio.core.parsers import whole_number

from .models import ROLE_RANK, Membership, Project, Role

ID_PATTERN = r"[0-9]{1,18}"


def role_of(user, project: Project | int) -> str | None:
    if not user or not user.is_authenticated:
        return None
    project_id = project.pk if isinstance(project, Project) else project
    if user.is_superuser:
        return Role.OWNER if Project.objects.filter(pk=project_id).exists() else None
    return Membership.objects.filter(project_id=project_id, user=user).values_list("role", flat=True).first()


def has_role(user, project: Project | int, role: str) -> bool:
    actual = role_of(user, project)
    return actual is not None and ROLE_RANK[actual] >= ROLE_RANK[role]


def require_role(user, project: Project | int, role: str = Role.VIEWER) -> None:
    actual = role_of(user, project)
    if actual is None:
        raise exceptions.NotFound()
    if ROLE_RANK[actual] < ROLE_RANK[role]:
        raise exceptions.PermissionDenied(f"this needs the {role} role in the project; you are {actual}")


def visible_projects(user) -> QuerySet[Project]:
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def visible(queryset: QuerySet, user, project_path: str = "project") -> QuerySet:
    """The part of `queryset` whose project (reached through `project_path`) the user is a member of."""
    if not user or not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(**{f"{project_path}__memberships__user": user})


def project_of(obj, project_path: str) -> Project:
    for part in project_path.split("__"):
        obj = getattr(obj, part)
    return obj


class ProjectRolePermission(permissions.BasePermission):
    """Reads need the viewer role, writes the editor role (owner for deleting a project or managing members:
    set `write_role` on the view)."""

    def has_object_permission(self, request, view, obj):
        project = project_of(obj, view.project_path) if view.project_path else obj
        needed = Role.VIEWER if request.method in permissions.SAFE_METHODS else getattr(view, "write_role",
                                                                                         Role.EDITOR)
        require_role(request.user, project, needed)
        return True


class ProjectScopedMixin:
    """For a viewset over a model that belongs to a project. Lists and lookups only see the user's
    projects (so other projects' objects are 404); writes need the editor role."""

    project_path = "project"
    write_role = Role.EDITOR
    lookup_value_regex = ID_PATTERN  # ids fit a 64-bit integer; anything else is a 404 before the database
    permission_classes = [permissions.IsAuthenticated, ProjectRolePermission]

    def get_queryset(self):
        queryset = visible(super().get_queryset(), self.request.user, self.project_path) \
            if self.project_path else visible_projects(self.request.user)
        project = self.request.query_params.get("project")
        if project and self.project_path:
            if not whole_number(project) or len(project) > 18:
                raise exceptions.ValidationError({"project": ["must be a project id"]})
            queryset = queryset.filter(**{f"{self.project_path}__id": int(project)})
        return queryset

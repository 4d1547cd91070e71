from __future__ import annotations

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, viewsets

from studio.core.errors import ErrorSerializer

from ..deletion import FORCE_PARAM, ForceQuerySerializer, delete_project
from ..models import Membership, Project, Role
from ..permissions import ID_PATTERN, ProjectScopedMixin, require_role
from .serializers import MembershipSerializer, MembershipUpdateSerializer, ProjectSerializer


class ProjectViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Projects you are a member of. Creating one makes you its owner; editing needs owner."""

    queryset = Project.objects.all()
    serializer_class = ProjectSerializer
    project_path = ""
    write_role = Role.OWNER

    @transaction.atomic
    def perform_create(self, serializer):
        project = serializer.save(created_by=self.request.user)
        Membership.objects.create(project=project, user=self.request.user, role=Role.OWNER)

    @extend_schema(parameters=[FORCE_PARAM], responses={204: None, 409: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete a project (owner). 409 when it has runs, schedules or deployments (listed), unless
        ?force=true: then they are deleted with it, and its deployments stop being served."""
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        delete_project(instance, self.request.user, ForceQuerySerializer.read(self.request))


class MembershipViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                        mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Members of one project and their roles. Members may read the list; owners change it."""

    serializer_class = MembershipSerializer
    queryset = Membership.objects.none()
    lookup_value_regex = ID_PATTERN

    def get_serializer_class(self):
        return MembershipUpdateSerializer if self.action in ("update", "partial_update") else MembershipSerializer

    def _project_id(self) -> int:
        return int(self.kwargs["project_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        require_role(self.request.user, self._project_id(), Role.VIEWER)
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            require_role(self.request.user, self._project_id(), Role.OWNER)
        return Membership.objects.filter(project_id=self._project_id()).select_related("user")

    def perform_create(self, serializer):
        self.get_queryset()
        user = serializer.validated_data["user"]
        if Membership.objects.filter(project_id=self._project_id(), user=user).exists():
            raise exceptions.ValidationError({"username": [f"{user.username!r} is already a member"]})
        serializer.save(project_id=self._project_id())

    def perform_update(self, serializer):
        self._keep_an_owner(serializer.instance, serializer.validated_data.get("role"))
        serializer.save()

    def perform_destroy(self, instance):
        self._keep_an_owner(instance, None)
        instance.delete()

    def _keep_an_owner(self, membership, new_role):
        if membership.role == Role.OWNER and new_role != Role.OWNER:
            owners = Membership.objects.filter(project_id=membership.project_id, role=Role.OWNER).count()
            if owners <= 1:
                raise exceptions.ValidationError({"role": ["a project keeps at least one owner"]})

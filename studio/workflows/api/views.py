from __future__ import annotations

import pipelines
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pipelines.components import COMPONENT, LIBRARY_KEY, expand, extract, rename_ports

from studio.core.errors import ApiError, ErrorSerializer
from studio.projects.deletion import FORCE_PARAM, ForceQuerySerializer, delete_pipeline
from studio.projects.models import Role
from studio.projects.permissions import ProjectScopedMixin, require_role, visible

from ..components import checked_graph, export_library, import_library, move_pins, resolver_for, where_used
from ..graphs import diff, error_entries, parse_graph, python_script, script_filename
from ..models import Component, Pipeline, PipelineVersion
from .serializers import (ComponentSerializer, ComponentVersionSerializer, DiffResultSerializer, DiffSerializer,
                          GraphInputSerializer, ImportSerializer,
                          PipelineSerializer, PipelineVersionSerializer, ValidationResultSerializer,
                          MakeComponentSerializer, MoveSerializer, VersionQuerySerializer)

VERSION_PARAM = OpenApiParameter("version", int, description="Version number (default: the latest)")


class PipelineViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Pipelines of your projects. Saving a changed `graph` makes a new immutable version; an unchanged graph
    makes none. Graphs with unknown operators or a broken shape are refused (400, with field paths); other
    validation errors are kept with the version and block runs."""

    queryset = Pipeline.objects.select_related("project")
    serializer_class = PipelineSerializer

    def perform_create(self, serializer):
        graph = serializer.validated_data.pop("graph", None)
        message = serializer.validated_data.pop("message", "")
        parsed = parse_graph(graph) if graph is not None else pipelines.Graph(name=serializer.validated_data["name"])
        pipeline = serializer.save(created_by=self.request.user)
        pipeline._version_created = pipeline.save_graph(parsed, self.request.user, message)[1]

    def perform_update(self, serializer):
        graph = serializer.validated_data.pop("graph", None)
        message = serializer.validated_data.pop("message", "")
        parsed = parse_graph(graph) if graph is not None else None
        pipeline = serializer.save()
        if parsed is not None:
            pipeline._version_created = pipeline.save_graph(parsed, self.request.user, message)[1]

    @extend_schema(parameters=[FORCE_PARAM], responses={204: None, 409: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete a pipeline. 409 when it has runs or schedules (listed), unless the project's owner sends
        ?force=true: then they are deleted with it."""
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        delete_pipeline(instance, self.request.user, ForceQuerySerializer.read(self.request))

    def _version(self, pipeline, number=None) -> PipelineVersion:
        query = VersionQuerySerializer(data={"version": number} if number is not None else {})
        query.is_valid(raise_exception=True)
        number = query.validated_data.get("version")
        versions = pipeline.versions.all()
        version = versions.filter(number=number).first() if number else versions.order_by("-number").first()
        if version is None:
            raise exceptions.NotFound(f"pipeline {pipeline.pk} has no version {number}")
        return version

    @extend_schema(responses=PipelineVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """Every version, newest first (graphs included)."""
        pipeline = self.get_object()
        return Response(PipelineVersionSerializer(pipeline.versions.order_by("-number"), many=True).data)

    @extend_schema(responses=PipelineVersionSerializer)
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def version(self, request, pk=None, number=None):
        """One version, with its graph and validation result."""
        return Response(PipelineVersionSerializer(self._version(self.get_object(), int(number))).data)

    @extend_schema(request=None, responses=PipelineSerializer)
    @action(detail=True, methods=["post"], url_path=r"versions/(?P<number>[0-9]{1,9})/restore")
    def restore(self, request, pk=None, number=None):
        """Make an old version the latest again (as a new version, so history is kept)."""
        pipeline = self.get_object()
        old = self._version(pipeline, int(number))
        pipeline._version_created = pipeline.save_graph(old.as_graph(), request.user, f"restored v{old.number}")[1]
        return Response(self.get_serializer(pipeline).data)

    @extend_schema(request=GraphInputSerializer, responses=ValidationResultSerializer)
    @action(detail=False, methods=["post"])
    def validate(self, request):
        """Validate a graph without saving it: every error at once, each with its node, field or port."""
        body = GraphInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            graph = pipelines.from_json(body.validated_data["graph"])
        except pipelines.GraphFormatError as exc:
            errors = [{"path": f"graph.{p}" if p else "graph", "message": m, "code": "invalid_graph"}
                      for p, m in exc.errors]
            return Response({"valid": False, "errors": errors})
        project = body.validated_data.get("project")
        if project is not None:
            require_role(request.user, project, Role.VIEWER)  # another project's components stay unseen (404)
        resolver = resolver_for(project) if project is not None else None
        errors = error_entries(graph, pipelines.validate(graph, body.validated_data.get("params"), resolver))
        return Response({"valid": not errors, "errors": errors})

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        """The graph JSON of a version, as a file to download (import it with POST /api/pipelines/import/)."""
        version = self._version(self.get_object(), request.query_params.get("version"))
        library = export_library(version.pipeline.project, version.graph)
        response = Response({**version.graph, LIBRARY_KEY: library} if library else version.graph)
        response["Content-Disposition"] = f'attachment; filename="{script_filename(version)[:-3]}.json"'
        return response

    @extend_schema(parameters=[VERSION_PARAM], responses={(200, "text/x-python"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def script(self, request, pk=None):
        """A runnable Python script that calls pipelines.run on this version's graph (no server needed)."""
        version = self._version(self.get_object(), request.query_params.get("version"))
        graph = expand(version.as_graph(), resolver_for(version.pipeline.project)).graph.to_json()
        response = HttpResponse(python_script(version, graph), content_type="text/x-python; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{script_filename(version)}"'
        return response

    @extend_schema(parameters=[OpenApiParameter("a", int, required=True), OpenApiParameter("b", int, required=True)],
                   responses=DiffResultSerializer)
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """What changed between versions a and b: nodes added / removed / changed (params), edges, parameters."""
        query = DiffSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        pipeline = self.get_object()
        a = self._version(pipeline, query.validated_data["a"])
        b = self._version(pipeline, query.validated_data["b"])
        return Response({"a": a.number, "b": b.number, **diff(a.graph, b.graph)})

    @extend_schema(request=ImportSerializer, responses={201: PipelineSerializer})
    @action(detail=False, methods=["post"], url_path="import")
    def import_graph(self, request):
        """A new pipeline from exported graph JSON."""
        body = ImportSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        graph = parse_graph(body.validated_data["graph"])
        project = body.validated_data["project"]
        require_role(request.user, project, Role.EDITOR)
        with transaction.atomic():  # the components it carries, then the pipeline using them
            graph = import_library(project, graph, request.user)
            pipeline = self._import(project, graph, body.validated_data.get("name"))
        return Response(self.get_serializer(pipeline).data, status=status.HTTP_201_CREATED)

    def _import(self, project, graph, name) -> Pipeline:
        request = self.request
        pipeline = Pipeline.objects.create(project=project, name=name or graph.name or "Imported pipeline",
                                           created_by=request.user)
        pipeline._version_created = pipeline.save_graph(graph, request.user, "imported")[1]
        return pipeline




class ComponentViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Components of your projects: reusable sub-pipelines with typed ports, used in pipelines through component
    nodes ({"operator": "component", "params": {"component": name}}, "version" pinned or absent to follow the
    latest). Saving a changed `graph` makes a new version; a cycle through other components is refused."""

    queryset = Component.objects.select_related("project")
    serializer_class = ComponentSerializer

    def _save_graph(self, component, graph, message):
        data, errors = checked_graph(component.project, component.name, graph)
        component._version_created = component.save_graph(data, errors, self.request.user, message)[1]

    def perform_create(self, serializer):
        graph = serializer.validated_data.pop("graph")
        message = serializer.validated_data.pop("message", "")
        with transaction.atomic():
            checked_graph(serializer.validated_data["project"], serializer.validated_data["name"], graph)
            self._save_graph(serializer.save(created_by=self.request.user), graph, message)

    def perform_update(self, serializer):
        graph = serializer.validated_data.pop("graph", None)
        message = serializer.validated_data.pop("message", "")
        with transaction.atomic():
            component = serializer.save()
            if graph is not None:
                self._save_graph(component, graph, message)

    @extend_schema(responses={204: None, 409: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        """Delete a component; 409 while a pipeline or another component uses it (they are listed)."""
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        used = where_used(instance)
        users = [f"pipeline {p['name']!r}" for p in used["pipelines"]] + [
            f"component {c['name']!r}" for c in used["components"]]
        if users:
            raise ApiError(409, "in_use", [{"path": "", "code": "in_use",
                                            "message": f"component {instance.name!r} is used by " + ", ".join(users)}])
        instance.delete()

    @extend_schema(responses=ComponentVersionSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def versions(self, request, pk=None):
        """Every version, newest first."""
        return Response(ComponentVersionSerializer(self.get_object().versions.order_by("-number"), many=True).data)

    @extend_schema(responses=ComponentVersionSerializer)
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>[0-9]{1,9})")
    def version(self, request, pk=None, number=None):
        found = self.get_object().versions.filter(number=int(number)).first()
        if found is None:
            raise exceptions.NotFound(f"component {pk} has no version {number}")
        return Response(ComponentVersionSerializer(found).data)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="where-used")
    def where_used(self, request, pk=None):
        """The pipelines and components whose latest version uses this one, each node pinned or following (a
        follower takes a new version at its next run)."""
        component = self.get_object()
        latest = component.latest_version()
        return Response({"latest": latest.number if latest else None, **where_used(component)})

    @extend_schema(request=MoveSerializer, responses={(200, "application/json"): OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Pin this component's nodes in the given pipelines to a version (default the latest): one new version
        of each pipeline that changed."""
        component = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        latest = component.latest_version()
        number = body.validated_data.get("version") or (latest.number if latest else 1)
        if not component.versions.filter(number=number).exists():
            raise ApiError(400, "unknown_version", [{"path": "version", "code": "unknown_version",
                                                     "message": f"component has no version {number}"}])
        return Response({"moved": move_pins(component, body.validated_data["pipelines"], number, request.user)})

    @extend_schema(request=MakeComponentSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def make(self, request):
        """Make a component from selected nodes of a pipeline: the selection becomes the component's first
        version (ports from what crosses the selection's border) and the pipeline a new version holding one
        component node in its place. Returns {component, pipeline}."""
        body = MakeComponentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        pipeline = visible(Pipeline.objects.all(), request.user).filter(pk=body.validated_data["pipeline"]).first()
        if pipeline is None:
            raise exceptions.NotFound("no such pipeline")
        require_role(request.user, pipeline.project, Role.EDITOR)
        latest = pipeline.latest_version()
        raw = body.validated_data.get("graph") or (latest.graph if latest else {})
        name = body.validated_data["name"]
        if Component.objects.filter(project=pipeline.project, name=name).exists():
            raise ApiError(400, "invalid", [{"path": "name", "code": "unique",
                                             "message": "the project has a component with this name"}])
        try:
            data, graph = extract(parse_graph(raw), body.validated_data["nodes"], name,
                                  resolver_for(pipeline.project))
        except ValueError as exc:
            raise ApiError(400, "invalid", [{"path": "nodes", "code": "invalid", "message": str(exc)}]) from None
        node_id = next(n.id for n in graph.nodes if n.operator == COMPONENT and n.params.get("component") == name)
        try:
            rename_ports(data, graph, node_id, body.validated_data.get("port_names", {}))
        except ValueError as exc:
            raise ApiError(400, "invalid", [{"path": "port_names", "code": "invalid", "message": str(exc)}]) from None
        with transaction.atomic():
            component = Component.objects.create(project=pipeline.project, name=name, created_by=request.user,
                                                 description=body.validated_data.get("description", ""))
            self._save_graph(component, data, "made from a selection")
            pipeline.save_graph(graph, request.user, f"nodes made into component {name!r}")
        return Response({"component": ComponentSerializer(component, context={"request": request}).data,
                         "pipeline": PipelineSerializer(pipeline, context={"request": request}).data},
                        status=status.HTTP_201_CREATED)

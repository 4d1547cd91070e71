from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from pipelines.store import ArtifactCorrupt, ArtifactMissing
from studio.core.errors import ApiError, ErrorSerializer
from studio.core.parsers import whole_number
from studio.projects.models import Role
from studio.projects.permissions import ProjectScopedMixin, require_role

from ..models import Run, RunStatus
from ..outputs import describe
from ..service import cancel_run, executed_graph, start_run
from ..worker import artifact_store
from .serializers import (EventsQuerySerializer, OutputQuerySerializer, OutputSerializer, RunCreateSerializer,
                          RunEventSerializer, RunSerializer)


class RunViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 viewsets.GenericViewSet):
    """Runs of your projects' pipelines. Start one (all nodes, from a node, one node, or until a node), follow it
    live at ws /ws/runs/<id>/?after=<seq> (or poll /events/), cancel it, read its nodes' outputs."""

    queryset = Run.objects.select_related("version", "requested_by", "fire__schedule").prefetch_related("nodes")
    serializer_class = RunSerializer

    def get_queryset(self):
        queryset = super().get_queryset()
        for name in ("pipeline", "status"):
            value = self.request.query_params.get(name)
            if value:
                if name == "pipeline" and (not whole_number(value) or len(value) > 18):
                    raise exceptions.ValidationError({"pipeline": ["must be a pipeline id"]})
                if name == "status" and value not in RunStatus.values:  # (a NUL here was a 500 on PostgreSQL)
                    raise exceptions.ValidationError({"status": [f"must be one of {', '.join(RunStatus.values)}"]})
                queryset = queryset.filter(**{name: value})
        return queryset

    @extend_schema(parameters=[OpenApiParameter("project", int), OpenApiParameter("pipeline", int),
                               OpenApiParameter("status", str, enum=["queued", "running", "succeeded", "failed",
                                                                     "cancelled"])])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RunCreateSerializer, responses={201: RunSerializer})
    def create(self, request):
        body = RunCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        pipeline = data["pipeline"]
        version = None
        if data.get("version"):
            version = pipeline.versions.filter(number=data["version"]).first()
            if version is None:
                message = f"pipeline {pipeline.pk} has no version {data['version']}"
                raise ApiError(400, "invalid", [{"path": "version", "code": "not_found", "message": message}])
        run = start_run(pipeline, user=request.user, version=version, mode=data["mode"], node=data.get("node", ""),
                        force=data["force"], params=data.get("params") or None, engine=data["engine"])
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: a queued run at once; a running one within a couple of seconds. Idempotent."""
        run = self.get_object()
        require_role(request.user, run.project_id, Role.EDITOR)
        cancel_run(run)
        return Response(RunSerializer(self.get_queryset().get(pk=run.pk)).data)

    @extend_schema(parameters=[EventsQuerySerializer], responses=RunEventSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def events(self, request, pk=None):
        """The run's events with seq > after, in order (the WebSocket's replay, for clients that poll)."""
        run = self.get_object()
        query = EventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = run.events.filter(seq__gt=query.validated_data["after"]).order_by("seq")[:query.validated_data["limit"]]
        return Response([row.as_json() for row in rows])

    @extend_schema(parameters=[OutputQuerySerializer], responses={200: OutputSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["get"], url_path=r"outputs/(?P<node>[^/]+)/(?P<port>[^/]+)")
    def output(self, request, pk=None, node=None, port=None):
        """One node output: a page of a table (view=data) or its column profile (view=profile), metrics,
        report figures (plotly JSON), a model's state summary. 409 when the stored output fails verification."""
        run = self.get_object()
        query = OutputQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        # No node id holds a NUL (every body refuses one), and PostgreSQL refuses it in a query: a 500 before.
        node_run = run.nodes.filter(node=node).first() if "\x00" not in node else None
        inner_port = port
        component_ports = executed_graph(run)[1].get(node) if node_run is None else None
        if component_ports is not None:  # a component node: each of its output ports is an inner node's
            inner, inner_port = component_ports.get(port, (None, port))
            node_run = run.nodes.filter(node=inner).first() if inner else None
            if node_run is None:
                raise exceptions.NotFound(f"node {node!r} has no output {port!r} in run {run.pk}")
        if node_run is None:
            raise exceptions.NotFound(f"run {run.pk} has no node {node!r}")
        fingerprint = (node_run.outputs or {}).get(inner_port)
        if fingerprint is None:
            raise exceptions.NotFound(f"node {node!r} has no output {port!r} in run {run.pk} (status "
                                      f"{node_run.status})")
        try:
            value = artifact_store().load(fingerprint)
        except ArtifactMissing:
            raise exceptions.NotFound(f"the output {node}.{port} is no longer in the artifact store") from None
        except ArtifactCorrupt as exc:  # edited or damaged on disk: say so, never serve it
            raise ApiError(409, "artifact_corrupt", [{
                "path": "", "code": "artifact_corrupt", "node": node, "port": port,
                "message": f"the output {node}.{port} failed verification ({exc.reason}); run node {node!r} "
                           "again with force to recompute it"}]) from None
        q = query.validated_data
        body = describe(value, q["view"], q["offset"], q["limit"])
        return Response({**body, "node": node, "port": port, "fingerprint": fingerprint})

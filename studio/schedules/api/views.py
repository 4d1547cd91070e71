"""Schedules API: schedules of your projects' pipelines, their next fire times, their fires (history), run now,
backfill; and each project's failure webhook. Viewers read, editors write; other projects' objects are 404."""
from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from studio.core.parsers import whole_number
from studio.projects.permissions import ProjectScopedMixin
from studio.runs.models import NodeRun, RunStatus

from .. import service, timing
from ..models import Fire, ProjectWebhook, Schedule
from .serializers import (BackfillResultSerializer, BackfillSerializer, FireSerializer, FireTimeSerializer,
                          NextQuerySerializer, PreviewQuerySerializer, ProjectWebhookSerializer, ScheduleSerializer)


def _fire_times(cron: str, zone_name: str, n: int, start_at=None, end_at=None) -> list[dict]:
    zone = timing.parse_zone(zone_name)
    after = max(timezone.now(), start_at) if start_at else timezone.now()
    return [{"local": t.astimezone(zone).isoformat(), "utc": timing.iso_utc(t)}
            for t in timing.fire_times(timing.parse_cron(cron), zone, after, end_at, limit=n)]


def _with_runs(fires):
    """Fires with their runs and their runs' failed nodes (the reasons FireSerializer shows), in three queries."""
    failed = NodeRun.objects.filter(status=RunStatus.FAILED)
    return fires.select_related("run").prefetch_related(Prefetch("run__nodes", queryset=failed))


def _with_last_fire(queryset):
    last = Fire.objects.filter(schedule=OuterRef("pk")).order_by("-fire_time", "-attempt")
    return queryset.annotate(last_fire_time=Subquery(last.values("fire_time")[:1]),
                             last_fire_status=Subquery(last.values("status")[:1]),
                             last_run=Subquery(last.values("run")[:1]),
                             last_run_status=Subquery(last.values("run__status")[:1]))


class ScheduleViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Cron schedules of your projects' pipelines. Each fire time fires once (whatever number of schedulers run),
    as an ordinary run with the built-in parameters run_date, fire_time, data_interval_start / _end."""

    queryset = Schedule.objects.select_related("version").prefetch_related("notify")
    serializer_class = ScheduleSerializer

    def get_queryset(self):
        queryset = _with_last_fire(super().get_queryset())
        pipeline = self.request.query_params.get("pipeline")
        if pipeline:
            if not whole_number(pipeline) or len(pipeline) > 18:
                raise exceptions.ValidationError({"pipeline": ["must be a pipeline id"]})
            queryset = queryset.filter(pipeline_id=int(pipeline))
        return queryset

    @extend_schema(parameters=[OpenApiParameter("project", int), OpenApiParameter("pipeline", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _answer(self, schedule, code=status.HTTP_200_OK):
        return Response(self.get_serializer(self.get_queryset().get(pk=schedule.pk)).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(serializer.save(), status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        return self._answer(serializer.save())

    @extend_schema(parameters=[NextQuerySerializer], responses=FireTimeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def next(self, request, pk=None):
        """The next `n` fire times (at most 100), in the schedule's zone and in UTC."""
        schedule = self.get_object()
        query = NextQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(_fire_times(schedule.cron, schedule.timezone, query.validated_data["n"],
                                    schedule.start_at, schedule.end_at))

    @extend_schema(parameters=[PreviewQuerySerializer], responses=FireTimeSerializer(many=True))
    @action(detail=False, methods=["get"], pagination_class=None)
    def preview(self, request):
        """The next `n` fire times of a cron expression in a zone, before it is saved (the editor's preview)."""
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return Response(_fire_times(data["cron"], data["timezone"], data["n"]))

    @extend_schema(responses=FireSerializer(many=True))
    @action(detail=True, methods=["get"])
    def fires(self, request, pk=None):
        """The schedule's fires, newest first: each fire time, attempt, status and run."""
        schedule = self.get_object()
        page = self.paginate_queryset(_with_runs(schedule.fires.all()))
        return self.get_paginated_response(FireSerializer(page, many=True).data)

    @extend_schema(request=None, responses={201: FireSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Run now: a manual fire at this second, with its built-in parameters (retries apply)."""
        fire = service.run_now(self.get_object(), request.user, timezone.now())
        return Response(FireSerializer(_with_runs(Fire.objects).get(pk=fire.pk)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=BackfillSerializer, responses={201: BackfillResultSerializer})
    @action(detail=True, methods=["post"])
    def backfill(self, request, pk=None):
        """Fire each of the schedule's fire times between two past dates once; again, the same range makes
        nothing new. At most 500 fire times per request."""
        schedule = self.get_object()
        body = BackfillSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        made, existing = service.backfill(schedule, body.validated_data["start"], body.validated_data["end"],
                                          request.user, timezone.now())
        fires = _with_runs(Fire.objects).filter(pk__in=[f.pk for f in made]).order_by("fire_time")
        return Response({"created": FireSerializer(fires, many=True).data, "existing": existing},
                        status=status.HTTP_201_CREATED)


class ProjectWebhookViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """A project's failure webhook: scheduled runs that fail after their last retry are POSTed there as JSON
    (schedule, pipeline, run, status, failed node, error). One per project; internal addresses are refused
    unless the administrator allows them (STUDIO_WEBHOOK_ALLOW)."""

    queryset = ProjectWebhook.objects.all()
    serializer_class = ProjectWebhookSerializer

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

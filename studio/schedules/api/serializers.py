from __future__ import annotations

import json
from datetime import date

import pipelines
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from pipelines.graph import BUILTIN_PARAMETERS
from rest_framework import serializers

from studio.core.serializers import IdentityFieldsMixin, StrictQuerySerializer
from studio.projects.models import Membership, Role
from studio.projects.permissions import require_role, visible
from studio.runs.models import RunStatus
from studio.runs.service import MAX_PARAMS_BYTES
from studio.workflows.api.serializers import ProjectField
from studio.workflows.models import Pipeline

from .. import notify, service, timing
from ..models import Fire, ProjectWebhook, Schedule

MAX_NEXT = 100


@extend_schema_field({"type": "integer", "description": "Pipeline id (you need the editor role in its project)"})
class PipelineField(serializers.PrimaryKeyRelatedField):
    """A pipeline of a project the requesting user may edit (others are 'does not exist', like a 404)."""

    def get_queryset(self):
        return visible(Pipeline.objects.select_related("project"), self.context["request"].user)

    def to_internal_value(self, data):
        pipeline = super().to_internal_value(data)
        require_role(self.context["request"].user, pipeline.project, Role.EDITOR)
        return pipeline


class VersionNumberField(serializers.IntegerField):
    """A pipeline version, read and written as its number (the serializer finds the version)."""

    def to_representation(self, value):
        return value.number


class FireSerializer(serializers.ModelSerializer):
    run_status = serializers.CharField(source="run.status", read_only=True, default=None,
                                       help_text="Status of the fire's run (null when no run was made)")
    run_reasons = serializers.SerializerMethodField(
        help_text="Why the fire's run failed, in its failed nodes' own words (\"node: message\"); empty unless "
                  "the run failed")

    class Meta:
        model = Fire
        fields = ["id", "schedule", "fire_time", "attempt", "kind", "status", "message", "run", "run_status",
                  "run_reasons", "created_at", "retry_at"]
        read_only_fields = fields

    def get_run_reasons(self, fire) -> list[str]:
        run = fire.run
        if run is None or run.status != RunStatus.FAILED:
            return []
        reasons = []
        for node in run.nodes.all():  # prefetched by the views
            error = node.error if node.status == RunStatus.FAILED else None
            message = error.get("message") if isinstance(error, dict) else error
            if isinstance(message, str) and message:
                reasons.append(f"{node.node}: {message}")
        return reasons


class LastFireSerializer(serializers.Serializer):
    fire_time = serializers.DateTimeField()
    status = serializers.CharField(help_text="The run's status, or the fire's when it made no run")
    run = serializers.IntegerField(allow_null=True)


class MemberNamesField(serializers.ListField):
    """User names in, user names out (of a many-to-many of users); which names may be given is the
    serializer's check (project members only)."""

    def to_representation(self, data):
        return [user.username for user in data.all()]


class ScheduleSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    identity_fields = ("project", "pipeline")  # a schedule runs one pipeline of one project
    project = serializers.IntegerField(source="project_id", read_only=True,
                                       help_text="The pipeline's project (fixed at creation)")
    pipeline = PipelineField(help_text="The pipeline to run (fixed at creation)")
    version = VersionNumberField(required=False, allow_null=True, min_value=1, max_value=2 ** 31 - 1,
                                       help_text="A pinned version number; null: the latest saved version at "
                                                 "fire time")
    params = serializers.DictField(required=False, default=dict,
                                   help_text="Run parameters; each must be declared by the pipeline")
    notify = MemberNamesField(required=False, max_length=100, child=serializers.CharField(max_length=150),
                              help_text="User names of project members e-mailed on a final failure")
    catchup_limit = serializers.IntegerField(required=False, min_value=0, max_value=1000)
    retries = serializers.IntegerField(required=False, min_value=0, max_value=20)
    retry_delay = serializers.IntegerField(required=False, min_value=1, max_value=86400,
                                           help_text="Seconds before the first retry; doubles per retry")
    retry_delay_max = serializers.IntegerField(required=False, min_value=1, max_value=7 * 86400,
                                               help_text="Cap on the delay between retries, in seconds")
    last_fire = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ["id", "project", "pipeline", "name", "cron", "timezone", "enabled", "engine", "version", "params",
                  "catchup", "catchup_limit", "concurrency", "retries", "retry_delay", "retry_delay_max",
                  "start_at", "end_at", "notify", "next_fire_at", "last_fire", "created_at", "updated_at"]
        read_only_fields = ["id", "project", "next_fire_at", "created_at", "updated_at"]
        extra_kwargs = {"engine": {"help_text": "local or spark"}}

    def get_fields(self):
        fields = super().get_fields()
        fields["engine"] = serializers.ChoiceField(choices=["local", "spark"], default="local")
        return fields

    @extend_schema_field(LastFireSerializer(allow_null=True))
    def get_last_fire(self, schedule):
        if getattr(schedule, "last_fire_time", None) is None:
            return None
        return {"fire_time": schedule.last_fire_time, "run": schedule.last_run,
                "status": schedule.last_run_status or schedule.last_fire_status}

    def validate_cron(self, value):
        try:
            timing.parse_cron(value)
        except timing.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return " ".join(value.split())

    def validate_timezone(self, value):
        try:
            timing.parse_zone(value)
        except timing.CronError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    def validate(self, data):
        data = super().validate(data)
        merged = {f: getattr(self.instance, f) for f in ("pipeline", "cron", "timezone", "start_at", "end_at",
                                                         "retry_delay", "retry_delay_max")} if self.instance else {}
        merged.update(data)
        pipeline = merged["pipeline"]
        if merged.get("start_at") and merged.get("end_at") and merged["end_at"] <= merged["start_at"]:
            raise serializers.ValidationError({"end_at": ["must be after start_at"]})
        if merged.get("retry_delay_max", 3600) < merged.get("retry_delay", 60):
            raise serializers.ValidationError({"retry_delay_max": ["must be at least retry_delay"]})
        if "version" in data:
            data["version"] = self._version(pipeline, data["version"])
        version = data["version"] if "version" in data else getattr(self.instance, "version", None)
        if "params" in data or "version" in data or self.instance is None:
            params = data.get("params", getattr(self.instance, "params", {}))
            self._check_params(version or pipeline.latest_version(), params)
        zone = timing.parse_zone(merged.get("timezone", "UTC"))
        if ("cron" in data or "timezone" in data) and not timing.fire_times(
                timing.parse_cron(merged["cron"]), zone, timezone.now(), limit=1):
            raise serializers.ValidationError({"cron": ["this expression never fires"]})
        if "notify" in data:
            data["notify"] = self._members(pipeline.project, data["notify"])
        return data

    @staticmethod
    def _members(project, names: list[str]) -> list:
        """The project's members of these user names. A name that is no user and one of a user outside the
        project get the same answer, so that the field tells no one which user names exist."""
        found = {m.user.username: m.user for m in Membership.objects.filter(
            project=project, user__username__in=names, user__is_active=True).select_related("user")}
        outsiders = [name for name in names if name not in found]
        if outsiders:
            raise serializers.ValidationError({"notify": [f"not members of the project: {outsiders}"]})
        return [found[name] for name in dict.fromkeys(names)]

    @staticmethod
    def _version(pipeline, number):
        if number is None:
            return None
        version = pipeline.versions.filter(number=number).first()
        if version is None:
            raise serializers.ValidationError({"version": [f"pipeline {pipeline.pk} has no version {number}"]})
        return version

    @staticmethod
    def _check_params(version, params: dict) -> None:
        if version is None:
            raise serializers.ValidationError({"pipeline": ["the pipeline has no saved graph yet"]})
        if len(json.dumps(params)) > MAX_PARAMS_BYTES:
            raise serializers.ValidationError({"params": [f"at most {MAX_PARAMS_BYTES} bytes of JSON"]})
        graph = version.as_graph()
        errors = {}
        for name in params:
            if name in BUILTIN_PARAMETERS and name not in graph.parameters:
                errors[f"params.{name}"] = [f"{name!r} is built in: each fire sets it"]
            elif name not in graph.parameters:
                errors[f"params.{name}"] = [f"the pipeline (version {version.number}) declares no parameter "
                                            f"{name!r}; it declares {sorted(graph.parameters) or 'none'}"]
        if not errors:
            from studio.workflows.components import resolver_for

            for error in pipelines.validate(graph, params, components=resolver_for(version.pipeline.project_id)):
                if error.code == "invalid_params":
                    errors.setdefault("params", []).append(error.message)
        if errors:
            raise serializers.ValidationError(errors)

    def create(self, validated):
        notify_users = validated.pop("notify", [])
        pipeline = validated["pipeline"]
        with transaction.atomic():
            schedule = Schedule(project=pipeline.project, created_by=self.context["request"].user, **validated)
            schedule.next_fire_at = service.next_fire_time(schedule, timezone.now())
            schedule.save()
            schedule.notify.set(notify_users)
        return schedule

    def update(self, instance, validated):
        timing_changed = any(f in validated and validated[f] != getattr(instance, f)
                             for f in ("cron", "timezone", "start_at", "end_at", "enabled"))
        schedule = super().update(instance, validated)
        if timing_changed:  # from now on: a changed or re-enabled schedule does not catch up on the past
            schedule.next_fire_at = service.next_fire_time(schedule, timezone.now())
            Schedule.objects.filter(pk=schedule.pk).update(next_fire_at=schedule.next_fire_at)
        return schedule


class NextQuerySerializer(StrictQuerySerializer):
    n = serializers.IntegerField(min_value=1, max_value=MAX_NEXT, default=5, help_text="How many fire times")


class PreviewQuerySerializer(NextQuerySerializer):
    cron = serializers.CharField(max_length=timing.MAX_CRON_LENGTH)
    timezone = serializers.CharField(max_length=64, default="UTC")

    validate_cron = ScheduleSerializer.validate_cron
    validate_timezone = ScheduleSerializer.validate_timezone


class FireTimeSerializer(serializers.Serializer):
    local = serializers.CharField(help_text="ISO 8601 in the schedule's zone, with its offset")
    utc = serializers.CharField(help_text="ISO 8601 in UTC")


# Backfill dates before this are refused: time zones' rules do not reach further back, and year 1 has no day
# before it for the range's bounds.
EARLIEST_BACKFILL = date(1900, 1, 1)


class BackfillSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="First date (in the schedule's zone)")
    end = serializers.DateField(help_text="Last date, inclusive; not in the future")

    def validate(self, data):
        if data["start"] < EARLIEST_BACKFILL:
            raise serializers.ValidationError({"start": [f"must be on or after {EARLIEST_BACKFILL}"]})
        if data["end"] < data["start"]:
            raise serializers.ValidationError({"end": ["must not be before start"]})
        return data


class BackfillResultSerializer(serializers.Serializer):
    created = FireSerializer(many=True, help_text="Fires made by this request, each with its run")
    existing = serializers.IntegerField(help_text="Fire times in the range that had a fire already")


class ProjectWebhookSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    identity_fields = ("project",)
    project = ProjectField()

    class Meta:
        model = ProjectWebhook
        fields = ["id", "project", "url", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"url": {"help_text": "http(s) URL that gets a JSON POST when a scheduled run fails "
                                             "after its last retry"}}

    def validate_url(self, value):
        try:
            notify.check_url(value)
        except notify.WebhookRefused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value.strip()

    def validate_project(self, project):
        if ProjectWebhook.objects.filter(project=project).exists():
            raise serializers.ValidationError("the project has a webhook already; change that one")
        return project

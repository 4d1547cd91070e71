from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.pagination import MAX_OFFSET
from studio.core.serializers import StrictQuerySerializer
from studio.projects.models import Role
from studio.projects.permissions import require_role, visible
from studio.workflows.models import ENGINES, Pipeline

from ..models import NodeRun, Run, RunEvent, RunMode
from ..service import MAX_PARAMS_BYTES


class NodeRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = NodeRun
        fields = ["node", "operator", "status", "progress", "message", "cached", "started_at", "finished_at",
                  "duration", "error", "outputs"]
        read_only_fields = fields


class TriggerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["manual", "schedule"])
    schedule = serializers.IntegerField(required=False, help_text="The schedule (type schedule)")
    schedule_name = serializers.CharField(required=False)
    fire_time = serializers.DateTimeField(required=False, help_text="The fire time the run is for (UTC)")
    kind = serializers.CharField(required=False, help_text="scheduled, catch_up, backfill or manual (run now)")
    attempt = serializers.IntegerField(required=False, help_text="0 for the first run of a fire, then retries")


class RunSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    nodes = NodeRunSerializer(many=True, read_only=True)
    trigger = serializers.SerializerMethodField(help_text="What started the run: a user, or a schedule's fire")

    class Meta:
        model = Run
        fields = ["id", "project", "pipeline", "version", "engine", "mode", "node", "force", "params", "priority",
                  "status", "error", "requested_by", "trigger", "created_at", "started_at", "finished_at",
                  "cancel_requested", "attempts", "last_seq", "metrics", "uploads", "nodes"]
        read_only_fields = fields

    @extend_schema_field(TriggerSerializer)
    def get_trigger(self, run) -> dict:
        fire = getattr(run, "fire", None)  # studio.schedules.Fire.run (one-to-one), when a schedule made it
        if fire is None:
            return {"type": "manual"}
        return {"type": "schedule", "schedule": fire.schedule_id, "schedule_name": fire.schedule.name,
                "fire_time": serializers.DateTimeField().to_representation(fire.fire_time), "kind": fire.kind,
                "attempt": fire.attempt}


class RunCreateSerializer(serializers.Serializer):
    pipeline = serializers.PrimaryKeyRelatedField(queryset=Pipeline.objects.all())
    version = serializers.IntegerField(required=False, min_value=1, help_text="Version number (default: latest)")
    mode = serializers.ChoiceField(choices=RunMode.choices, default=RunMode.ALL,
                                   help_text="all; from a node (and downstream); only one node (from cached "
                                             "inputs); until a node (a preview)")
    node = serializers.CharField(required=False, allow_blank=True, default="", max_length=200,
                                 help_text="The node for from / only / until")
    force = serializers.BooleanField(default=False, help_text="Recompute the selected nodes even when cached")
    params = serializers.DictField(required=False, default=dict, help_text="Pipeline parameter overrides")
    engine = serializers.ChoiceField(choices=ENGINES, default="local")

    def validate_pipeline(self, pipeline):
        user = self.context["request"].user
        if not visible(Pipeline.objects.filter(pk=pipeline.pk), user).exists():
            raise serializers.ValidationError(f'Invalid pk "{pipeline.pk}" - object does not exist.')
        require_role(user, pipeline.project, Role.EDITOR)
        return pipeline

    def validate_params(self, params):
        if len(json.dumps(params)) > MAX_PARAMS_BYTES:
            raise serializers.ValidationError(f"at most {MAX_PARAMS_BYTES} bytes of JSON")
        return params

    def validate(self, data):
        if data["mode"] != RunMode.ALL and not data.get("node"):
            raise serializers.ValidationError({"node": [f"mode {data['mode']!r} needs a node"]})
        return data


class RunEventSerializer(serializers.ModelSerializer):
    node = serializers.CharField(allow_null=True)

    class Meta:
        model = RunEvent
        fields = ["seq", "type", "node", "data", "time"]
        read_only_fields = fields

    def to_representation(self, instance):
        return instance.as_json()


class OutputQuerySerializer(StrictQuerySerializer):
    view = serializers.ChoiceField(choices=["data", "profile"], default="data",
                                   help_text="For tables: a page of rows (data) or per-column statistics")
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)


class OutputSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="table, profile, metrics, report, model or features")
    node = serializers.CharField()
    port = serializers.CharField()
    fingerprint = serializers.CharField()


class EventsQuerySerializer(StrictQuerySerializer):
    after = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)
    limit = serializers.IntegerField(min_value=1, max_value=5000, default=1000)

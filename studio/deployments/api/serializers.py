from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.serializers import IdentityFieldsMixin

from ..models import Deployment, DeploymentEvent, DeploymentVersion
from ..services import serving_url


class DeploymentVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    live = serializers.SerializerMethodField()

    class Meta:
        model = DeploymentVersion
        fields = ["number", "live", "created_at", "created_by", "source_run", "source_node", "manifest"]
        read_only_fields = fields

    def get_live(self, version) -> bool:
        return version.deployment.live_version_id == version.pk


class DeploymentEventSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DeploymentEvent
        fields = ["action", "version", "detail", "user", "at"]
        read_only_fields = fields


class LeftOutInputSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="A column of the training rows")
    reason = serializers.CharField(help_text="Why the model makes no feature of it")


class DeploymentSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    """A deployment's project and name are its identity (the serving URL is its name): set by publish, never
    changed here."""

    identity_fields = ("project", "name")
    status = serializers.CharField(read_only=True, help_text="live, unpublished (has versions) or empty")
    live_version = serializers.SerializerMethodField()
    endpoints = serializers.SerializerMethodField()
    input_spec = serializers.SerializerMethodField()
    left_out_inputs = serializers.SerializerMethodField(
        help_text="Columns of the training rows the model makes no feature of ([{name, reason}]: a date the "
                  "features left out, a row identifier): sent, they change nothing")
    target = serializers.SerializerMethodField(
        help_text="The label column the model was trained on (\"renewed\"): a labels CSV may name its label column "
                  "so; null when the bundle does not say")
    versions = DeploymentVersionSerializer(many=True, read_only=True)
    history = DeploymentEventSerializer(source="events", many=True, read_only=True)
    traffic = serializers.SerializerMethodField(help_text="Live versions and their percent of traffic")
    keys = serializers.SerializerMethodField(help_text="Whether each key is set, and its last characters (the "
                                                       "key itself is shown once, when it is made)")
    rate_limit_rps = serializers.FloatField(required=False, allow_null=True, min_value=0.1, max_value=1_000_000,
                                            help_text="Requests per second per key; null: unlimited")
    rate_limit_burst = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1_000_000)
    log_share = serializers.FloatField(required=False, min_value=0.0, max_value=1.0,
                                       help_text="Share of requests written to the prediction log, 0-1")
    log_exclude = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                        max_length=500, help_text="Inputs never written to the prediction log")
    description = serializers.CharField(required=False, allow_blank=True, max_length=10_000)  # as publish's

    class Meta:
        model = Deployment
        fields = ["id", "project", "name", "description", "status", "live_version", "traffic", "shadow_version",
                  "keys", "rate_limit_rps", "rate_limit_burst", "log_share", "log_exclude", "endpoints",
                  "input_spec", "left_out_inputs", "target", "versions", "history", "created_at", "updated_at"]
        read_only_fields = ["project", "name", "status", "live_version", "traffic", "shadow_version", "keys",
                            "endpoints", "input_spec", "left_out_inputs", "target", "versions", "history",
                            "created_at", "updated_at"]

    def get_target(self, deployment) -> str | None:
        from ..feedback import deployment_target

        return deployment_target(deployment)

    def get_traffic(self, deployment) -> dict:
        return deployment.weights()

    def get_keys(self, deployment) -> dict:
        return {which: {"set": bool(getattr(deployment, f"{which}_key_hash")),
                        "hint": getattr(deployment, f"{which}_key_hint")} for which in ("primary", "secondary")}

    def get_live_version(self, deployment) -> int | None:
        return deployment.live_version.number if deployment.live_version_id else None

    def get_endpoints(self, deployment) -> dict:
        base = serving_url()
        return {"infer": f"{base}/v2/models/{deployment.name}/infer",
                "metadata": f"{base}/v2/models/{deployment.name}",
                "predict": f"{base}/v1/models/{deployment.name}:predict",
                "metrics": f"{base}/metrics"}

    def get_input_spec(self, deployment) -> list[dict]:
        """The raw input columns of the live (else the latest) version: what the "try it" form asks for."""
        return _manifest_list(deployment, "inputs")

    @extend_schema_field(LeftOutInputSerializer(many=True))
    def get_left_out_inputs(self, deployment) -> list[dict]:
        """The live (else the latest) version's columns left out of its features: the "try it" form says so."""
        return _manifest_list(deployment, "left_out")


def _manifest_list(deployment, key: str) -> list[dict]:
    """A list of the live (else the latest) version's manifest, as the deployment page shows it."""
    version = deployment.live_version or deployment.versions.order_by("-number").first()
    return [dict(s) for s in version.manifest.get(key, [])] if version else []


class PublishSerializer(serializers.Serializer):
    run = serializers.IntegerField(help_text="A finished run whose outputs hold a model and a feature state")
    name = serializers.SlugField(max_length=100, help_text="Deployment name; created in the run's project if new")
    node = serializers.CharField(required=False, max_length=200,
                                 help_text="A canvas node of the run: a training node publishes its model, an "
                                           "evaluate node the model it evaluated; the feature state and the "
                                           "held-out rows are found from the graph (other *_node fields win)")
    model_node = serializers.CharField(required=False, max_length=200,
                                       help_text="Node whose model output to publish "
                                                 "(needed only when the run has several models)")
    feature_state_node = serializers.CharField(required=False, max_length=200,
                                               help_text="Node whose feature state to publish")
    holdout_node = serializers.CharField(required=False, max_length=200,
                                         help_text="Node whose table output supplies the 100 "
                                                   "held-out rows (default: a split's test rows)")
    holdout_port = serializers.CharField(required=False, max_length=200)
    threshold = serializers.FloatField(required=False, default=0.5, min_value=0.0, max_value=1.0)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    canary = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=99,
                                      help_text="Publish as a canary taking this percent of traffic (the live "
                                                "version keeps the rest) instead of replacing the live version")
    shadow = serializers.BooleanField(required=False, default=False,
                                      help_text="Publish as a shadow: it scores a copy of every request and "
                                                "answers none")

    def validate(self, attrs):
        if attrs.get("canary") and attrs.get("shadow"):
            raise serializers.ValidationError({"canary": ["a version is published as a canary or as a shadow, "
                                                          "not both"]})
        return attrs


class RollbackSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_000_000_000)


class KeySerializer(serializers.Serializer):
    which = serializers.ChoiceField(choices=["primary", "secondary"])


class TrafficSerializer(serializers.Serializer):
    weights = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=100),
                                    help_text='{version: percent}, adding up to 100, e.g. {"1": 90, "2": 10}')


class CanarySerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_000_000_000)
    percent = serializers.IntegerField(min_value=1, max_value=99)


class ShadowSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2_000_000_000, allow_null=True,
                                       help_text="The version to shadow the live traffic; null: no shadow")


class TrySerializer(serializers.Serializer):
    instances = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000,
                                      help_text="Rows as {column: value}; sent to the serving process as is")
    explain = serializers.BooleanField(required=False, default=False)
    key = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                help_text="The deployment's key, sent to the serving process as a Bearer token")

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.serializers import IdentityFieldsMixin
from studio.projects.models import Role
from studio.projects.permissions import require_role, visible_projects

from ..models import Component, ComponentVersion, Pipeline, PipelineVersion


# A graph saved through the API, bounded well past any real one (KNIME or Azure ML designer graphs have
# hundreds of nodes): every changed save stores a version, and the canvas draws all of it.
MAX_GRAPH_NODES = 2000
MAX_GRAPH_EDGES = 10_000
MAX_NODE_PARAMS_BYTES = 256_000  # one node's params as JSON (python_script's code is at most 100,000 characters)
MAX_NODE_PARAMS_DEPTH = 16  # objects and lists inside one node's params


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "A pipeline graph (format studio.pipeline/1: nodes, edges, parameters); "
                                     "schema in pipelines/schema/pipeline.schema.json"})
class GraphField(serializers.JSONField):
    """A graph as JSON, with its size bounded (nodes, edges, each node's params); the rest of its shape is the
    graph format's check (pipelines.from_json), which names every error."""

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if isinstance(data, dict):
            check_graph_size(data)
        return data


def check_graph_size(data: dict) -> None:
    nodes, edges = data.get("nodes"), data.get("edges")
    for key, items, limit in (("nodes", nodes, MAX_GRAPH_NODES), ("edges", edges, MAX_GRAPH_EDGES)):
        if isinstance(items, list) and len(items) > limit:
            raise serializers.ValidationError({key: [f"at most {limit:,} {key} in one graph, not {len(items):,}"]})
    for i, node in enumerate(nodes if isinstance(nodes, list) else []):
        params = node.get("params") if isinstance(node, dict) else None
        if params is None:
            continue
        where = f"nodes[{i}].params"
        if _depth(params) > MAX_NODE_PARAMS_DEPTH:
            raise serializers.ValidationError({where: [f"nested more than {MAX_NODE_PARAMS_DEPTH} levels deep"]})
        if len(json.dumps(params)) > MAX_NODE_PARAMS_BYTES:
            raise serializers.ValidationError({where: [f"at most {MAX_NODE_PARAMS_BYTES:,} bytes of JSON"]})


def _depth(value) -> int:
    """How deep objects and lists nest in `value` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_NODE_PARAMS_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


@extend_schema_field({"type": "integer", "description": "Project id (you need the editor role in it)"})
class ProjectField(serializers.PrimaryKeyRelatedField):
    """A project the requesting user may edit (others are 'does not exist', like a 404)."""

    def get_queryset(self):
        return visible_projects(self.context["request"].user)

    def to_internal_value(self, data):
        project = super().to_internal_value(data)
        require_role(self.context["request"].user, project, Role.EDITOR)
        return project


class PipelineVersionSerializer(serializers.ModelSerializer):
    graph = GraphField(read_only=True)
    errors = serializers.ListField(child=serializers.DictField(), read_only=True,
                                   help_text="Validation errors (node, field, port, message) of this version")

    class Meta:
        model = PipelineVersion
        fields = ["id", "number", "digest", "valid", "errors", "message", "created_at", "graph"]
        read_only_fields = fields


class PipelineSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    identity_fields = ("project",)  # a pipeline does not move between projects
    project = ProjectField()
    graph = GraphField(required=False, write_only=True,
                       help_text="The graph to save; a new version is made only when it differs from the latest")
    message = serializers.CharField(required=False, write_only=True, allow_blank=True, max_length=500,
                                    help_text="What changed (kept with the new version)")
    latest = serializers.SerializerMethodField(help_text="The latest version, with its graph and validation")
    version_created = serializers.SerializerMethodField(
        help_text="Whether this request saved a new version (false when the graph was unchanged)")

    class Meta:
        model = Pipeline
        fields = ["id", "project", "name", "description", "engine", "created_at", "updated_at", "graph",
                  "message", "latest", "version_created"]
        read_only_fields = ["id", "created_at", "updated_at"]

    @extend_schema_field(PipelineVersionSerializer(allow_null=True))
    def get_latest(self, pipeline):
        version = pipeline.latest_version()
        return PipelineVersionSerializer(version).data if version else None

    def get_version_created(self, pipeline) -> bool:
        return bool(getattr(pipeline, "_version_created", False))

    def update(self, instance, validated_data):
        """The Engine picker's choice alone is a run setting, not an edit: it is saved without touching the
        pipeline's changed time (`updated_at`, the pipelines list's "Changed"), which moves when its graph, name or
        description does."""
        if validated_data and set(validated_data) <= RUN_SETTINGS:
            for name, value in validated_data.items():
                setattr(instance, name, value)
            instance.save(update_fields=list(validated_data))
            return instance
        return super().update(instance, validated_data)


RUN_SETTINGS = {"engine"}  # fields of a pipeline that say how it runs, not what it is


class GraphInputSerializer(serializers.Serializer):
    graph = GraphField(help_text="A pipeline graph")
    project = serializers.IntegerField(required=False, min_value=1,
                                       help_text="The project whose components the graph's component nodes name")
    params = serializers.DictField(required=False, help_text="Run parameter overrides to validate with")


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = serializers.ListField(child=serializers.DictField(),
                                   help_text="Every error at once: code, message, node, field, port, path")


class ImportSerializer(serializers.Serializer):
    project = ProjectField()
    name = serializers.CharField(required=False, max_length=200,
                                 help_text="Defaults to the graph's own name")
    graph = GraphField(help_text="A graph as exported by /export")


class DiffSerializer(serializers.Serializer):
    a = serializers.IntegerField(min_value=1, help_text="Old version number")
    b = serializers.IntegerField(min_value=1, help_text="New version number")


class VersionQuerySerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False, help_text="Version number (default: latest)")


class DiffResultSerializer(serializers.Serializer):
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    nodes = serializers.DictField()
    edges = serializers.DictField()
    parameters = serializers.DictField()




class ComponentVersionSerializer(serializers.ModelSerializer):
    graph = GraphField(read_only=True)
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = ComponentVersion
        fields = ["id", "number", "digest", "valid", "errors", "message", "created_at", "graph"]
        read_only_fields = fields


class ComponentSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    identity_fields = ("project", "name")  # component nodes name it; it never moves between projects
    project = ProjectField()
    name = serializers.CharField(max_length=100, help_text="What component nodes name it by; never changes")
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    graph = GraphField(required=False, write_only=True,
                       help_text="The component's graph with its 'ports'; a new version when it differs")
    message = serializers.CharField(required=False, write_only=True, allow_blank=True, max_length=500)
    latest = serializers.SerializerMethodField()
    version_created = serializers.SerializerMethodField()

    class Meta:
        model = Component
        fields = ["id", "project", "name", "description", "created_at", "updated_at", "graph", "message",
                  "latest", "version_created"]
        read_only_fields = ["id", "created_at", "updated_at"]
        validators = []  # the unique name is checked in validate(), with the error on `name`

    def validate(self, data):
        data = super().validate(data)
        if self.instance is None:
            if Component.objects.filter(project=data["project"], name=data["name"]).exists():
                raise serializers.ValidationError({"name": ["the project has a component with this name"]})
            if "graph" not in data:
                raise serializers.ValidationError({"graph": ["a component is made with its graph"]})
        return data

    @extend_schema_field(ComponentVersionSerializer(allow_null=True))
    def get_latest(self, component):
        version = component.latest_version()
        return ComponentVersionSerializer(version).data if version else None

    def get_version_created(self, component) -> bool:
        return bool(getattr(component, "_version_created", False))


class MakeComponentSerializer(serializers.Serializer):
    pipeline = serializers.IntegerField(min_value=1, help_text="The pipeline the selection is in")
    graph = GraphField(required=False, help_text="The canvas's graph (default: the pipeline's latest version)")
    nodes = serializers.ListField(child=serializers.CharField(max_length=100), min_length=1, max_length=500,
                                  help_text="The selected node ids")
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    port_names = serializers.DictField(child=serializers.CharField(max_length=100), required=False,
                                       help_text="Port renames, proposed name -> chosen name")

    def validate_port_names(self, value):
        if len(value) > 200:
            raise serializers.ValidationError("at most 200 ports")
        return value


class MoveSerializer(serializers.Serializer):
    pipelines = serializers.ListField(child=serializers.IntegerField(min_value=1), max_length=1000)
    version = serializers.IntegerField(min_value=1, required=False, help_text="Default: the latest version")

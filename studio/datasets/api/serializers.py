from __future__ import annotations

from rest_framework import serializers

from studio.workflows.api.serializers import ProjectField

from ..models import Connection, Upload


class UploadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Upload
        fields = ["id", "project", "name", "path", "size", "sha256", "content_type", "created_at"]
        read_only_fields = fields


class UploadCreateSerializer(serializers.Serializer):
    project = ProjectField()
    file = serializers.FileField(help_text="CSV, TSV, JSON (lines) or Parquet; the content decides, not the name")
    name = serializers.CharField(required=False, max_length=200,
                                 help_text="File name to store it under (default: the uploaded file's name)")


class ConnectionSerializer(serializers.ModelSerializer):
    project = ProjectField()
    url = serializers.CharField(write_only=True, help_text="SQLAlchemy URL, e.g. postgresql://user:pw@host/db. "
                                                           "Write-only: never returned")
    display_url = serializers.CharField(read_only=True, help_text="The URL with its password masked")
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = Connection
        fields = ["id", "project", "name", "url", "display_url", "kind", "created_at"]
        read_only_fields = ["id", "created_at", "display_url", "kind"]
        validators = []  # the unique name is checked in validate(), with the error on `name`

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list):
            fields["project"].read_only = True
            fields["url"].required = False
        return fields

    def validate_url(self, url: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise serializers.ValidationError(f"not a database URL: {exc}") from None
        if parsed.get_backend_name() not in ("postgresql", "postgres", "mysql", "mariadb", "sqlite"):
            raise serializers.ValidationError(f"unsupported database {parsed.get_backend_name()!r}; use "
                                              "postgresql, mysql / mariadb or sqlite")
        return url

    def validate(self, data):
        project = data.get("project") or getattr(self.instance, "project", None)
        name = data.get("name")
        if name and Connection.objects.filter(project=project, name=name).exclude(
                pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError({"name": [f"the project already has a connection named {name!r}"]})
        return data

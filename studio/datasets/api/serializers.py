from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from studio.core.serializers import IdentityFieldsMixin
from studio.projects.models import Role
from studio.projects.permissions import require_role
from studio.workflows.api.serializers import ProjectField

from .. import guard
from ..sniff import known_encoding
from ..models import Connection, Upload
from ..readers import readers_by_upload


class NotNumberSerializer(serializers.Serializer):
    value = serializers.CharField()
    line = serializers.IntegerField(help_text="Line in the file (1 is the header)")


class NotNumbersSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Cells in the sampled rows that are not numbers")
    examples = NotNumberSerializer(many=True, help_text="The first few of them")


class LookAlikeSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The rare value")
    rows = serializers.IntegerField(help_text="Its cells in the sampled rows")
    line = serializers.IntegerField(help_text="Its first line in the file (1 is the header)")
    like = serializers.CharField(help_text="The common value it looks like")
    like_rows = serializers.IntegerField(help_text="That value's cells in the sampled rows")


class LookAlikesSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Cells in the sampled rows that look like a typo of a common value")
    examples = LookAlikeSerializer(many=True, help_text="The first few such values")


class PreviewColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.ChoiceField(["number", "integer", "string", "boolean", "datetime"])
    missing = serializers.IntegerField(help_text="Missing cells in the sampled rows")
    distinct = serializers.IntegerField(help_text="Distinct values in the sampled rows")
    not_numbers = NotNumbersSerializer(
        required=False, help_text="A text column whose cells are numbers but for a few (a typo): those few")
    look_alikes = LookAlikesSerializer(
        required=False, help_text="A category column where a rare value looks like a common one (a typo): those values")


class UploadPreviewSerializer(serializers.Serializer):
    kind = serializers.CharField()
    delimiter = serializers.CharField(required=False, help_text="Sniffed field separator of a CSV / TSV file")
    columns = PreviewColumnSerializer(many=True)
    rows = serializers.ListField(child=serializers.ListField(child=serializers.JSONField()),
                                 help_text="The first rows, cells in column order")
    sampled_rows = serializers.IntegerField(help_text="Rows the counts were taken over (the file's first ones)")
    sample_limit = serializers.IntegerField()


class UploadReaderSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(["pipeline", "schedule"])
    id = serializers.IntegerField()
    name = serializers.CharField()


class UploadSerializer(serializers.ModelSerializer):
    preview = serializers.SerializerMethodField()
    used_by = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "project", "name", "path", "size", "sha256", "content_type", "created_at", "preview",
                  "used_by"]
        read_only_fields = fields

    @extend_schema_field(UploadPreviewSerializer(allow_null=True))  # null: uploaded before previews
    def get_preview(self, upload):
        return upload.preview or None

    @extend_schema_field(UploadReaderSerializer(many=True, help_text=(
        "The pipelines (their latest versions) and schedules of the upload's project whose runs read this file "
        "now, by name: deleting it makes them fail at the import (a plain DELETE answers 409 naming them)")))
    def get_used_by(self, upload):
        per_project = self.context.setdefault("readers", {})  # once per project for a whole list
        if upload.project_id not in per_project:
            per_project[upload.project_id] = readers_by_upload(upload.project)
        return per_project[upload.project_id].get(upload.pk, [])


class UploadRenameSerializer(IdentityFieldsMixin, serializers.Serializer):
    """A rename; the upload's project is fixed (sending another one is a 400, as for every identity field)."""

    identity_fields = ("project",)
    name = serializers.CharField(max_length=1000, trim_whitespace=False,  # 200: check_file_name says so
                                 help_text="The new name (the file itself stays where it is)")


class UploadCreateSerializer(serializers.Serializer):
    project = ProjectField()
    file = serializers.FileField(help_text="CSV, TSV, JSON (lines) or Parquet; the content decides, not the name")
    name = serializers.CharField(required=False, max_length=200,
                                 help_text="File name to store it under (default: the uploaded file's name)")
    encoding = serializers.CharField(required=False, max_length=40,
                                     help_text="Text encoding of a CSV / TSV / JSON file, e.g. latin-1 (default: "
                                               "UTF-8, else detected); import_csv's `encoding` reads it the same")

    def validate_encoding(self, value: str) -> str:
        name = known_encoding(value)
        if name is None:
            raise serializers.ValidationError(f"unknown text encoding {value!r}")
        return name


class OwnedProjectField(ProjectField):
    """A project the requesting user owns: connections reach outside the studio, so they are the owner's."""

    def to_internal_value(self, data):
        project = super().to_internal_value(data)
        require_role(self.context["request"].user, project, Role.OWNER)
        return project


class ConnectionSerializer(IdentityFieldsMixin, serializers.ModelSerializer):
    identity_fields = ("project",)
    project = OwnedProjectField()
    url = serializers.CharField(write_only=True, max_length=guard.MAX_URL_LENGTH, trim_whitespace=False,
                                help_text="SQLAlchemy URL: postgresql://user:pw@host:5432/db, mysql://..., or "
                                          "sqlite:////absolute/path.db. Write-only: never returned. It may not "
                                          "reach the studio's own database, nor (unless an administrator allows "
                                          "it) this machine or a SQLite file")
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
            fields["url"].required = False
        return fields

    def _staff(self) -> bool:
        user = self.context["request"].user
        return bool(user.is_staff or user.is_superuser)

    def validate_url(self, url: str) -> str:
        try:
            guard.check(url, trusted=self._staff())
        except guard.Refused as exc:
            raise serializers.ValidationError(str(exc)) from None
        return url

    def validate(self, data):
        data = super().validate(data)
        project = data.get("project") or getattr(self.instance, "project", None)
        name = data.get("name")
        if name and Connection.objects.filter(project=project, name=name).exclude(
                pk=getattr(self.instance, "pk", None)).exists():
            raise serializers.ValidationError({"name": [f"the project already has a connection named {name!r}"]})
        if "url" in data:  # whoever sets the URL vouches for it: a staff user's approval goes with the old URL
            data["approved_by"] = self.context["request"].user if self._staff() else None
        return data

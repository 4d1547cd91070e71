from __future__ import annotations

import hashlib
import shutil
import unicodedata
import uuid
from pathlib import Path

from django.conf import settings
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from studio.core.errors import ApiError
from studio.core.shared import forget_upload, share_upload
from studio.projects.models import Role
from studio.projects.permissions import ProjectScopedMixin

from ..models import Connection, Upload
from ..sniff import KINDS_BY_EXTENSION, sniff
from .serializers import ConnectionSerializer, UploadCreateSerializer, UploadSerializer


class _RawNameParser(DjangoMultiPartParser):
    """Django strips folders from uploaded file names ("../x.csv" becomes "x.csv"); we refuse such a name
    with a clear error instead of silently storing the file under another name."""

    def sanitize_file_name(self, file_name):
        check_file_name(file_name or "")
        return super().sanitize_file_name(file_name)


class MultiPartKeepNameParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _RawNameParser(meta, stream, request.upload_handlers, parser_context.get("encoding")
                                    or settings.DEFAULT_CHARSET)
            data, files = parser.parse()
            return parsers.DataAndFiles(data, files)
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc


def check_file_name(name: str) -> str:
    """The name to store a file under; 400 for anything that could leave its folder or hide."""
    problems = []
    if "/" in name or "\\" in name:
        problems.append("must not contain '/' or '\\' (no folders)")
    if name in (".", "..") or name.startswith("."):
        problems.append("must not start with '.'")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        problems.append("must not contain control characters")
    if not name.strip() or len(name) > 200:
        problems.append("must be 1 to 200 characters")
    if problems:
        raise ApiError(400, "invalid_file_name", [{"path": "file", "message": f"file name {name!r} " + p,
                                                   "code": "invalid_file_name"} for p in problems])
    return name


def too_large(size: int) -> ApiError:
    limit = settings.UPLOAD_MAX_BYTES
    return ApiError(413, "too_large", [{"path": "file", "code": "too_large",
                                        "message": f"the file is {size:,} bytes; the limit is {limit:,} bytes"}])


class UploadViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                    viewsets.GenericViewSet):
    """Data files of your projects. Upload with multipart/form-data (`project`, `file`); the returned `path`
    is what a file import node's `path` parameter takes."""

    queryset = Upload.objects.select_related("project")
    serializer_class = UploadSerializer
    parser_classes = [MultiPartKeepNameParser]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.UPLOAD_MAX_BYTES + 64 * 1024:  # refuse before reading the body
                raise too_large(length)

    @extend_schema(request={"multipart/form-data": UploadCreateSerializer}, responses={201: UploadSerializer})
    def create(self, request):
        body = UploadCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        incoming = body.validated_data["file"]
        name = check_file_name(body.validated_data.get("name") or incoming.name or "")
        if incoming.size > settings.UPLOAD_MAX_BYTES:
            raise too_large(incoming.size)
        head = next(incoming.chunks(64 * 1024), b"")
        encoding = body.validated_data.get("encoding")
        kind = sniff(head[:64 * 1024], encoding)
        allowed = KINDS_BY_EXTENSION.get(Path(name).suffix.lower())
        if kind is None or (allowed is not None and kind not in allowed):
            found = kind or "not a CSV, TSV, JSON or Parquet file" + (f" in {encoding}" if encoding else "")
            raise ApiError(415, "unsupported_content", [{
                "path": "file", "code": "unsupported_content",
                "message": f"{name!r}: the content is {found}" + (f", which does not match its extension "
                                                                    f"{Path(name).suffix!r}" if kind else "")}])
        project = body.validated_data["project"]
        relative = Path("uploads") / uuid.uuid4().hex / name
        target = project.data_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with open(target, "wb") as out:
                for chunk in incoming.chunks():
                    digest.update(chunk)
                    out.write(chunk)
            upload = Upload.objects.create(project=project, name=name, path=relative.as_posix(), size=incoming.size,
                                           sha256=digest.hexdigest(), content_type=kind, created_by=request.user)
            share_upload(upload)  # every worker reads it (STUDIO_ARTIFACTS=s3://...)
        except BaseException:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        folder = instance.file.parent
        forget_upload(instance)
        instance.delete()
        if folder.parent.name == "uploads":
            shutil.rmtree(folder, ignore_errors=True)


class ConnectionViewSet(ProjectScopedMixin, viewsets.ModelViewSet):
    """Database connections for SQL imports, by name. The URL is write-only; `display_url` masks the password.
    Creating, changing and deleting one needs the project's owner role; the URL may not reach the studio's own
    database, nor, unless an administrator allows it (STUDIO_CONNECTION_ALLOW) or a staff user saves it, an
    address of this machine or a SQLite file. Imports read through it read-only."""

    queryset = Connection.objects.select_related("project")
    serializer_class = ConnectionSerializer
    write_role = Role.OWNER

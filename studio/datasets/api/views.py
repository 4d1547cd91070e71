from __future__ import annotations

import shutil
import unicodedata
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http.multipartparser import MultiPartParser as DjangoMultiPartParser
from django.http.multipartparser import MultiPartParserError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.response import Response

from studio.core.errors import ApiError
from studio.core.parsers import too_deep
from studio.core.shared import forget_upload, share_upload
from studio.projects.deletion import ForceQuerySerializer
from studio.projects.models import Role
from studio.projects.permissions import ProjectScopedMixin

from ..models import Connection, DeletedUpload, Upload
from ..preview import PreviewError, preview
from ..readers import in_use, readers_by_upload
from ..sniff import KINDS_BY_EXTENSION, decode_head, sniff
from ..staging import StagedFile, StagingUploadHandler, TooLarge
from .serializers import (ConnectionSerializer, UploadCreateSerializer, UploadPreviewSerializer,
                          UploadRenameSerializer, UploadSerializer)


class _RawNameParser(DjangoMultiPartParser):
    """Django strips folders from uploaded file names ("../x.csv" becomes "x.csv"); we refuse such a name
    with a clear error instead of silently storing the file under another name."""

    def sanitize_file_name(self, file_name):
        check_file_name(file_name or "")
        return super().sanitize_file_name(file_name)


class MultiPartKeepNameParser(parsers.MultiPartParser):
    """Multipart with the file streamed to the staging folder (staging.py), never held in memory."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = parser_context["request"]
        meta = request.META.copy()
        meta["CONTENT_TYPE"] = media_type
        try:
            parser = _RawNameParser(meta, stream, [StagingUploadHandler(request)], parser_context.get("encoding")
                                    or settings.DEFAULT_CHARSET)
            data, files = parser.parse()
            return parsers.DataAndFiles(data, files)
        except MultiPartParserError as exc:
            raise ParseError(f"Multipart form parse error - {exc}") from exc
        except TooLarge as exc:
            raise too_large(exc.size, received=True) from None


def check_file_name(name: str, path: str = "file") -> str:
    """The name to store a file under, in Unicode's composed form (NFC); 400 for anything that could leave its
    folder or hide. Composed, so that "café.csv" uploaded again from a Mac, whose browser may send the name
    decomposed (e + a combining accent), is the same name: a version of the file, which a following import reads."""
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
        raise ApiError(400, "invalid_file_name", [{"path": path, "message": f"file name {name!r} " + p,
                                                   "code": "invalid_file_name"} for p in problems])
    return unicodedata.normalize("NFC", name)


def refuse_deep_json(name: str, head: bytes, encoding: str | None) -> None:
    """400 for JSON nested deeper than the API takes (JSON_MAX_DEPTH): no table's rows are that deep, and
    reading it to tell what it is would recurse until Python gives up (a 500)."""
    text, _ = decode_head(head, encoding)
    if text is None or text.lstrip()[:1] not in ("{", "["):
        return
    limit = settings.JSON_MAX_DEPTH
    path = too_deep(text, limit)
    if path is not None:
        raise ApiError(400, "too_deep", [{"path": "file", "code": "too_deep",
                                          "message": f"{name!r}: JSON nested deeper than {limit} levels (at "
                                                     f"{path[:200]}); a table's rows are not that deep"}])


def too_large(size: int, received: bool = False) -> ApiError:
    limit = settings.UPLOAD_MAX_BYTES
    told = f"more than {limit:,} bytes arrived" if received else f"the file is {size:,} bytes"
    return ApiError(413, "too_large", [{"path": "file", "code": "too_large",
                                        "message": f"{told}; the limit is {limit:,} bytes ({limit / 2**20:,.0f} "
                                                   "MB): split the file, or ask an administrator to raise "
                                                   "STUDIO_UPLOAD_MAX_BYTES"}])


def unsupported(name: str, kind: str | None, encoding: str | None = None) -> ApiError:
    found = kind or "not a CSV, TSV, JSON or Parquet file" + (f" in {encoding}" if encoding else "")
    return ApiError(415, "unsupported_content", [{
        "path": "file", "code": "unsupported_content",
        "message": f"{name!r}: the content is {found}" + (f", which does not match its extension "
                                                            f"{Path(name).suffix!r}" if kind else "")}])


def unchanged_upload(project, name: str, sha256: str) -> Upload | None:
    """The project's newest upload of `name` when it holds the same bytes (sha256) and its file is still there:
    dropping the same file again is then not a new version (a following import would read the same rows, and the
    list would show "version 2 of 2" of a file nobody changed). A file equal to an older version is a new
    version: uploading it again is how someone goes back to it."""
    newest = Upload.objects.filter(project=project, name=name).order_by("-id").first()
    if newest is not None and newest.sha256 == sha256 and newest.file.is_file():
        return newest
    return None


class UploadViewSet(ProjectScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                    viewsets.GenericViewSet):
    """Data files of your projects. Upload with multipart/form-data (`project`, `file`): the file streams to disk
    and the answer carries its `preview` (first rows, delimiter, column types, missing / distinct counts): 201 for
    a new upload (a new version when the name is taken), 200 with the newest upload of that name when the bytes
    are the same (nothing new is stored). A
    file import node names it by `upload` (its id) or by `path`. PATCH renames it (`name`; the file stays
    where it is, so imports keep reading it)."""

    queryset = Upload.objects.select_related("project")
    serializer_class = UploadSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_parsers(self):
        if getattr(self.request, "method", "") == "PATCH":
            return [parsers.JSONParser()]
        return [MultiPartKeepNameParser()]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.UPLOAD_MAX_BYTES + 64 * 1024:  # refuse before reading the body
                raise too_large(length)

    @extend_schema(request={"multipart/form-data": UploadCreateSerializer},
                   responses={201: UploadSerializer, 200: UploadSerializer})
    def create(self, request):
        body = UploadCreateSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        incoming = body.validated_data["file"]
        name = check_file_name(body.validated_data.get("name") or incoming.name or "")
        if not isinstance(incoming, StagedFile):  # (only the staging parser reaches here; say so if not)
            raise ParseError("the file must be sent as multipart/form-data")
        encoding = body.validated_data.get("encoding")
        refuse_deep_json(name, incoming.head, encoding)
        kind = sniff(incoming.head, encoding)
        allowed = KINDS_BY_EXTENSION.get(Path(name).suffix.lower())
        if kind is None or (allowed is not None and kind not in allowed):
            raise unsupported(name, kind, encoding)
        try:
            shown = preview(incoming.path, kind, incoming.head, encoding)
        except PreviewError as exc:
            raise ApiError(400, "unreadable", [{"path": "file", "code": "unreadable",
                                                "message": f"{name!r}: {exc}"}]) from None
        project = body.validated_data["project"]
        if (same := unchanged_upload(project, name, incoming.sha256)) is not None:
            return Response(UploadSerializer(same).data, status=status.HTTP_200_OK)  # the staged copy is dropped
        relative = Path("uploads") / uuid.uuid4().hex / name
        target = project.data_root / relative
        try:
            incoming.move_to(target)
            upload = Upload.objects.create(project=project, name=name, path=relative.as_posix(), size=incoming.size,
                                           sha256=incoming.sha256, content_type=kind, created_by=request.user,
                                           preview=shown)
            share_upload(upload)  # every worker reads it (STUDIO_ARTIFACTS=s3://...)
        except BaseException:
            shutil.rmtree(target.parent, ignore_errors=True)
            raise
        return Response(UploadSerializer(upload).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UploadRenameSerializer, responses={200: UploadSerializer})
    def partial_update(self, request, pk=None):
        upload = self.get_object()
        body = UploadRenameSerializer(upload, data=request.data)
        body.is_valid(raise_exception=True)
        name = check_file_name(body.validated_data["name"], path="name")
        kinds = KINDS_BY_EXTENSION.get(Path(name).suffix.lower())
        if kinds is not None and upload.content_type not in kinds:
            raise ApiError(400, "invalid_file_name", [{
                "path": "name", "code": "invalid_file_name",
                "message": f"{name!r}: the extension {Path(name).suffix!r} does not fit its content "
                           f"({upload.content_type})"}])
        upload.name = name
        upload.save(update_fields=["name"])
        return Response(UploadSerializer(upload).data)

    @extend_schema(responses={200: UploadPreviewSerializer})
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The upload's preview, made again from its file when it has none (uploaded before previews)."""
        upload = self.get_object()
        if not upload.preview:
            if not upload.file.is_file():
                raise ApiError(409, "file_missing", [{"path": "file", "code": "file_missing",
                                                      "message": f"the file of upload {upload.name!r} is gone"}])
            with open(upload.file, "rb") as handle:
                head = handle.read(64 * 1024)
            try:
                upload.preview = preview(upload.file, upload.content_type, head)
            except PreviewError as exc:
                raise ApiError(409, "unreadable", [{"path": "file", "code": "unreadable",
                                                    "message": f"{upload.name!r}: {exc}"}]) from None
            upload.save(update_fields=["preview"])
        return Response(upload.preview)

    @extend_schema(parameters=[OpenApiParameter("force", bool, description=(
        "Delete it even though pipelines or schedules read it (their runs then fail at the import); without it, "
        "such a delete answers 409 naming them"))])
    def destroy(self, request, *args, **kwargs):
        """Delete the file. 409 naming the pipelines and schedules that read it (`used_by`) unless ?force=true:
        a script or a second tab deleting a file a nightly retrain reads learns it before it breaks."""
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        if not ForceQuerySerializer.read(self.request):
            readers = readers_by_upload(instance.project).get(instance.pk)
            if readers:
                raise in_use(instance, readers)
        folder = instance.file.parent
        forget_upload(instance)
        with transaction.atomic():  # the name stays known to the runs that still name the id (DeletedUpload)
            DeletedUpload.objects.get_or_create(project=instance.project, upload_id=instance.pk,
                                                defaults={"name": instance.name})
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

"""One error shape for the whole API, with field paths:

    {"code": "invalid", "message": "graph.nodes[1].operator: unknown operator 'nope'",
     "errors": [{"path": "graph.nodes[1].operator", "message": "...", "code": "unknown_operator",
                 "node": "split", "field": null, "port": null}]}

DRF's nested validation details are flattened to dotted paths; views raise `ApiError` for anything else.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    """An error with explicit field entries: ApiError(400, "invalid", [{"path": ..., "message": ...}])."""

    def __init__(self, status_code: int, code: str, errors: list[dict], message: str | None = None):
        self.status_code = status_code
        self.code = code
        self.errors = errors
        self.message = message or "; ".join(_line(e) for e in errors) or code
        super().__init__(self.message, code)


def _line(entry: dict) -> str:
    return f"{entry['path']}: {entry['message']}" if entry.get("path") else entry["message"]


def flatten(detail, path: str = "") -> list[dict]:
    """DRF error detail (dicts of lists of ErrorDetail) -> [{"path", "message", "code"}]."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            key = "" if key in ("non_field_errors", "detail") else str(key)
            out += flatten(value, f"{path}.{key}" if path and key else (path or key))
        return out
    if isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            return [{"path": path, "message": str(d), "code": getattr(d, "code", "invalid")} for d in detail]
        out = []
        for i, value in enumerate(detail):
            if value:
                out += flatten(value, f"{path}[{i}]")
        return out
    return [{"path": path, "message": str(detail), "code": getattr(detail, "code", "invalid")}]


def error_body(code: str, errors: list[dict], message: str | None = None) -> dict:
    return {"code": code, "message": message or "; ".join(_line(e) for e in errors) or code, "errors": errors}


def refused_request(exc: Exception) -> ApiError:
    """Django's refusals of a request (too big, too many fields, a bad multipart), in the API's shape."""
    if isinstance(exc, RequestDataTooBig):
        from django.conf import settings

        return ApiError(413, "too_large", [{"path": "", "code": "too_large", "message": "the request body is "
                                            f"over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes"}])
    return ApiError(400, "bad_request", [{"path": "", "code": "bad_request", "message": str(exc) or
                                          type(exc).__name__}])


def exception_handler(exc, context):
    if isinstance(exc, SuspiciousOperation):
        exc = refused_request(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, ApiError):
        return Response(error_body(exc.code, exc.errors, exc.message), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django's 500 handler logs it
    if isinstance(exc, exceptions.ValidationError):
        code, errors = "invalid", flatten(exc.detail)
    else:
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else "error"
        errors = [{"path": "", "message": str(exc.detail), "code": code}]
    response.data = error_body(code, errors)
    return response


class ErrorEntrySerializer(serializers.Serializer):
    path = serializers.CharField(help_text="Dotted path of the field in the request, e.g. graph.nodes[1].params.ratio; "
                                           "empty for the request as a whole")
    message = serializers.CharField()
    code = serializers.CharField()
    node = serializers.CharField(required=False, help_text="Pipeline node id, for graph errors")
    field = serializers.CharField(required=False, help_text="Parameter path inside the node")
    port = serializers.CharField(required=False, help_text="Port name, for wiring errors")


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    errors = ErrorEntrySerializer(many=True)


_ERROR_STATUSES = {"400": "Bad request: see `errors` for the field paths", "401": "Not logged in",
                   "403": "Logged in, but the project role does not allow this",
                   "404": "No such object, or not in one of your projects", "405": "Method not allowed",
                   "406": "Not acceptable", "413": "Request body too large", "415": "Unsupported media type"}


def add_error_responses(result, generator, request, public):
    """drf-spectacular hook: every operation documents the error statuses it can answer with, as `Error`."""

    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorEntry", {
        "type": "object", "required": ["path", "message", "code"],
        "properties": {"path": {"type": "string"}, "message": {"type": "string"}, "code": {"type": "string"},
                       "node": {"type": "string"}, "field": {"type": "string"}, "port": {"type": "string"}}})
    schemas.setdefault("Error", {
        "type": "object", "required": ["code", "message", "errors"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorEntry"}}}})
    ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, text in _ERROR_STATUSES.items():
                if code != "413" or "requestBody" in operation:  # a body over the limit needs a body
                    responses.setdefault(code, {"description": text, "content": ref})
            if path.endswith(("/auth/login/", "/auth/token/")):
                responses.setdefault("429", {"description": "Too many wrong logins: wait and try again",
                                             "content": ref})
    return result

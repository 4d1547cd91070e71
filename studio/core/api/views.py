from __future__ import annotations

import platform

from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response


def engine_versions() -> dict[str, str]:
    """Versions of what runs pipelines, read from package metadata so pyspark's JVM is not started."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("django", "numpy", "pandas", "pyarrow", "scikit-learn", "lightgbm", "pyspark"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


@extend_schema(responses=inline_serializer("Health", {"status": serializers.CharField(),
                                                      "engines": serializers.DictField(child=serializers.CharField())}))
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request):
    """Liveness: answers without a login, with the versions of the engines."""
    return Response({"status": "ok", "engines": engine_versions()})


@csrf_exempt  # a 404 is the answer whatever the method; CSRF would turn it into a 403
def not_found(request, *args, **kwargs):
    """404 in the API's error shape for every path under /api/ that names nothing."""
    from django.http import JsonResponse

    from studio.core.errors import error_body

    return JsonResponse(error_body("not_found", [{"path": "", "message": f"no API endpoint at {request.path}",
                                                  "code": "not_found"}]), status=404)


def csrf_failure(request, reason=""):
    """CSRF refusals in the API's error shape (settings.CSRF_FAILURE_VIEW)."""
    from django.http import JsonResponse

    from studio.core.errors import error_body

    return JsonResponse(error_body("csrf_failed", [{"path": "", "code": "csrf_failed", "message":
                                                    f"CSRF check failed: {reason}. Send the csrftoken cookie's "
                                                    "value as the X-CSRFToken header"}]), status=403)



def bad_request(request, exception=None):
    """Django's 400 (settings' handler400: a SuspiciousOperation raised outside DRF, such as a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE) in the API's error shape under /api/, Django's page elsewhere."""
    from django.http import JsonResponse
    from django.views import defaults

    from studio.core.errors import error_body, refused_request

    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    error = refused_request(exception or ValueError("bad request"))
    return JsonResponse(error_body(error.code, error.errors, error.message), status=error.status_code)

from __future__ import annotations

import platform

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

"""The operator catalogue, straight from the operators' declarations (operators.catalogue())."""
from __future__ import annotations

import operators
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView


class PortSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="table, features, model, metrics, report, ...")
    description = serializers.CharField(allow_blank=True)
    optional = serializers.BooleanField()


class OperatorSerializer(serializers.Serializer):
    name = serializers.CharField()
    category = serializers.CharField()
    version = serializers.CharField()
    description = serializers.CharField()
    docs = serializers.CharField(allow_blank=True)
    cacheable = serializers.BooleanField()
    inputs = PortSerializer(many=True)
    outputs = PortSerializer(many=True)
    params_schema = serializers.DictField(help_text="JSON Schema of the parameters (pydantic)")


class OperatorListView(APIView):
    """Every operator: name, category, version, ports and the JSON Schema of its parameters."""

    @extend_schema(responses=OperatorSerializer(many=True))
    def get(self, request):
        return Response(operators.catalogue())


class OperatorDetailView(APIView):
    @extend_schema(responses=OperatorSerializer)
    def get(self, request, name):
        cls = operators.get(name)
        if cls is None:
            raise exceptions.NotFound(f"no operator named {name!r}")
        return Response(cls.as_json())

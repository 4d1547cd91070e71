"""Logging in: a session for the browser (CSRF on), a token for API clients."""
from __future__ import annotations

from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.core.errors import ApiError


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    is_staff = serializers.BooleanField()


class SessionSerializer(serializers.Serializer):
    user = UserSerializer(allow_null=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


def _user(user):
    return {"id": user.pk, "username": user.username, "is_staff": user.is_staff} if user.is_authenticated else None


def _check(request):
    body = CredentialsSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    user = authenticate(request, **body.validated_data)
    if user is None:
        raise ApiError(400, "invalid_credentials", [{"path": "password", "code": "invalid_credentials",
                                                     "message": "wrong user name or password"}])
    return user


class SessionView(APIView):
    """Who is logged in (null when nobody); also sets the csrftoken cookie the browser sends back."""

    permission_classes = [AllowAny]

    @extend_schema(responses=SessionSerializer)
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response({"user": _user(request.user)})


@method_decorator(csrf_protect, name="dispatch")
class LoginView(APIView):
    """Session login for the browser (send the csrftoken cookie's value as X-CSRFToken)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses=SessionSerializer)
    def post(self, request):
        user = _check(request)
        login(request._request, user)
        return Response({"user": _user(user)})


class LogoutView(APIView):
    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request):
        logout(request._request)
        return Response({"user": None})


class TokenView(APIView):
    """An API token for scripts: send it as `Authorization: Token <token>` (and `?token=` on WebSockets)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses=TokenSerializer)
    def post(self, request):
        user = _check(request)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})

"""Logging in: a session for the browser (CSRF on), a token for API clients, and single-use tickets for
WebSockets. Wrong passwords are throttled per user name from one address, per address and per user name over
all addresses (LOGIN_FAILURES_* settings): after that many failures in the window every attempt they count
against answers 429, a right password included, until the window passes; a successful login clears the count of
its user name from its address."""
from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.core.cache import cache
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from studio.core.errors import ApiError
from studio.core.models import WsTicket
from studio.core.tokens import fresh_token


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
    expires_in = serializers.IntegerField(help_text="Seconds until the token stops working")


class TicketSerializer(serializers.Serializer):
    ticket = serializers.CharField(help_text="Pass as ?ticket= when opening the WebSocket; works once")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid")


def _user(user):
    return {"id": user.pk, "username": user.username, "is_staff": user.is_staff} if user.is_authenticated else None


def _failure_keys(request, username: str) -> list[tuple[str, int]]:
    """Cache keys of the failure counts this attempt adds to, each with its limit: the user name from this
    address (so someone else's wrong guesses do not lock the user out), this address over all user names, and
    the user name over all addresses (a distributed guess; high, since reaching it does lock the user out)."""
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    address = request.META.get("REMOTE_ADDR", "")
    return [(f"login-failures:user:{name}:addr:{address}", settings.LOGIN_FAILURES_PER_USER),
            (f"login-failures:addr:{address}", settings.LOGIN_FAILURES_PER_ADDRESS),
            (f"login-failures:user:{name}", settings.LOGIN_FAILURES_PER_USER_ANY_ADDRESS)]


def _throttle(keys: list[tuple[str, int]]) -> None:
    if any((cache.get(key) or 0) >= limit for key, limit in keys):
        raise exceptions.Throttled(wait=settings.LOGIN_FAILURES_WINDOW_SECONDS,
                                   detail="too many wrong logins; try again later")


def _count_failure(keys: list[tuple[str, int]]) -> None:
    for key, _ in keys:
        if not cache.add(key, 1, settings.LOGIN_FAILURES_WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, settings.LOGIN_FAILURES_WINDOW_SECONDS)


def _check(request):
    body = CredentialsSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    keys = _failure_keys(request, body.validated_data["username"])
    _throttle(keys)
    user = authenticate(request, **body.validated_data)
    if user is None:
        _count_failure(keys)
        raise ApiError(400, "invalid_credentials", [{"path": "password", "code": "invalid_credentials",
                                                     "message": "wrong user name or password"}])
    cache.delete(keys[0][0])
    return user


class SessionView(APIView):
    """Who is logged in (null when nobody); also sets the csrftoken cookie the browser sends back."""

    permission_classes = [AllowAny]

    @extend_schema(responses=SessionSerializer)
    @method_decorator(ensure_csrf_cookie)
    def get(self, request):
        return Response({"user": _user(request.user)})


class LoginView(APIView):
    """Session login for the browser (send the csrftoken cookie's value as X-CSRFToken)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses=SessionSerializer)
    def post(self, request):
        # CSRF here, not around dispatch: a method the view does not have is a 405 before any CSRF question.
        SessionAuthentication().enforce_csrf(request)
        user = _check(request)
        login(request._request, user)
        return Response({"user": _user(user)})


class LogoutView(APIView):
    """Ends the session and revokes the user's API token (scripts then need a new one)."""

    @extend_schema(request=None, responses=SessionSerializer)
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        logout(request._request)
        return Response({"user": None})


class TokenView(APIView):
    """An API token for scripts: send it as `Authorization: Token <token>`. It expires after `expires_in`
    seconds (then ask again) and is revoked by logging out. WebSockets take a ticket (auth/ws-ticket/)."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=CredentialsSerializer, responses=TokenSerializer)
    def post(self, request):
        from studio.core.tokens import expires_in

        token = fresh_token(_check(request))
        return Response({"token": token.key, "expires_in": expires_in(token)})


class WsTicketView(APIView):
    """A single-use ticket for opening one WebSocket (ws /ws/runs/<id>/?ticket=<ticket>), valid for
    `expires_in` seconds, so no long-lived credential is ever put in a URL."""

    @extend_schema(request=None, responses={201: TicketSerializer})
    def post(self, request):
        ticket, seconds = WsTicket.issue(request.user)
        return Response({"ticket": ticket, "expires_in": seconds}, status=201)

"""API tokens that expire (issue 12, item 4): a token older than TOKEN_TTL_SECONDS is refused everywhere (REST
and WebSocket), and logging out deletes the user's token. POST /api/auth/token/ gives a fresh one."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def expired(token: Token) -> bool:
    return token.created < timezone.now() - timedelta(seconds=settings.TOKEN_TTL_SECONDS)


def expires_in(token: Token) -> int:
    left = token.created + timedelta(seconds=settings.TOKEN_TTL_SECONDS) - timezone.now()
    return max(0, int(left.total_seconds()))


def user_for_key(key: str):
    """The active user a valid, unexpired token belongs to; None otherwise."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or expired(token) or not token.user.is_active:
        return None
    return token.user


def fresh_token(user) -> Token:
    """The user's token, replaced by a new one when it has expired."""
    token = Token.objects.filter(user=user).first()
    if token is not None and expired(token):
        token.delete()
        token = None
    return token or Token.objects.create(user=user)


class ExpiringTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused (401) once the token is older than TOKEN_TTL_SECONDS."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if expired(token):
            raise exceptions.AuthenticationFailed("token expired; ask POST /api/auth/token/ for a new one")
        return user, token

"""WebSocket authentication: the browser's session cookie (from an allowed Origin only, the WebSocket
equivalent of CSRF), or an API token for other clients: `Authorization: Token <key>` or `?token=<key>`."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host


@database_sync_to_async
def _user_for_token(key: str):
    from rest_framework.authtoken.models import Token

    token = Token.objects.select_related("user").filter(key=key).first()
    return token.user if token and token.user.is_active else AnonymousUser()


def _token(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            kind, _, key = value.decode("latin-1").partition(" ")
            if kind.lower() == "token" and key:
                return key.strip()
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("token")


def _origin_allowed(scope) -> bool:
    origin = dict(scope.get("headers", [])).get(b"origin")
    if origin is None:
        return False
    host = urlsplit(origin.decode("latin-1")).hostname or ""
    return validate_host(host, settings.ALLOWED_HOSTS)


class TokenOrSessionAuth:
    def __init__(self, inner):
        self.inner = inner
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        key = _token(scope)
        if key:
            return await self.inner({**scope, "user": await _user_for_token(key)}, receive, send)
        if _origin_allowed(scope):
            return await self.session_stack(scope, receive, send)
        return await self.inner({**scope, "user": AnonymousUser()}, receive, send)

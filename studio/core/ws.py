"""WebSocket authentication, in this order:

- `?ticket=<ticket>`: a single-use ticket from POST /api/auth/ws-ticket/, valid WS_TICKET_SECONDS (the canvas
  uses this; a ticket in an access log is worthless a moment later);
- `Authorization: Token <key>` for clients that can set headers (the token never goes in the URL);
- the browser's session cookie, only from the studio's own origin (scheme, host and port all equal, the
  WebSocket equivalent of CSRF) or one listed in CSRF_TRUSTED_ORIGINS.
Anything else is anonymous; the consumer then closes with 4404."""
from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


@database_sync_to_async
def _user_for_token(key: str):
    from .tokens import user_for_key

    return user_for_key(key) or AnonymousUser()


@database_sync_to_async
def _user_for_ticket(ticket: str):
    from .models import WsTicket

    return WsTicket.redeem(ticket) or AnonymousUser()


def _header(scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return value.decode("latin-1")
    return None


def _token(scope) -> str | None:
    kind, _, key = (_header(scope, b"authorization") or "").partition(" ")
    return key.strip() if kind.lower() == "token" and key.strip() else None


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, with the scheme's default port filled in."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


def origin_allowed(scope) -> bool:
    """The Origin header names this very server (scheme, host and port), or a trusted origin."""
    origin = _origin(_header(scope, b"origin") or "")
    host = _header(scope, b"host") or ""
    if origin is None or not host:
        return False
    if not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return False
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    if origin == _origin(f"{scheme}://{host}"):
        return True
    return any(origin == _origin(trusted) for trusted in settings.CSRF_TRUSTED_ORIGINS)


class TokenOrSessionAuth:
    def __init__(self, inner):
        self.inner = inner
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        ticket = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))).get("ticket")
        if ticket:
            return await self.inner({**scope, "user": await _user_for_ticket(ticket)}, receive, send)
        key = _token(scope)
        if key:
            return await self.inner({**scope, "user": await _user_for_token(key)}, receive, send)
        if origin_allowed(scope):
            return await self.session_stack(scope, receive, send)
        return await self.inner({**scope, "user": AnonymousUser()}, receive, send)

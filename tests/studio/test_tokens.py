"""Credentials (issue 12, item 4): WebSocket tickets that work once and expire, tokens that expire and are
revoked by logout, the WebSocket's Origin check (scheme, host and port), and throttled logins."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from studio.core.ws import origin_allowed


def _run(coroutine_function):
    """Run an async test body, then close the database connection its database_sync_to_async thread opened
    (PostgreSQL would otherwise keep the test database busy at teardown)."""
    from asgiref.sync import sync_to_async
    from django.db import connections

    async def body():
        try:
            return await coroutine_function()
        finally:
            await sync_to_async(connections.close_all)()

    return asyncio.run(body())


def _ws_user(query: str = "", headers=()):
    """Which user the WebSocket auth middleware hands the consumer."""
    from studio.core.ws import TokenOrSessionAuth

    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["user"])

    scope = {"type": "websocket", "path": "/ws/runs/1/", "query_string": query.encode(),
             "headers": [(b"host", b"testserver"), *headers], "scheme": "ws"}
    _run(lambda: TokenOrSessionAuth(inner)(scope, None, None))
    return seen[0]


@pytest.mark.django_db(transaction=True)
def test_a_ticket_works_once(world):
    response = world.as_alice.post("/api/auth/ws-ticket/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["expires_in"] == 30
    assert _ws_user(f"ticket={body['ticket']}") == world.alice
    assert not _ws_user(f"ticket={body['ticket']}").is_authenticated  # twice: refused


@pytest.mark.django_db(transaction=True)
def test_an_expired_or_unknown_ticket_is_refused(world):
    from studio.core.models import WsTicket

    ticket = world.as_alice.post("/api/auth/ws-ticket/").json()["ticket"]
    WsTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not _ws_user(f"ticket={ticket}").is_authenticated
    assert not _ws_user("ticket=made-up").is_authenticated
    assert not WsTicket.objects.exists()  # an expired ticket is gone once tried


def test_only_a_digest_of_the_ticket_is_stored(world):
    from studio.core.models import WsTicket

    ticket = world.as_alice.post("/api/auth/ws-ticket/").json()["ticket"]
    assert not WsTicket.objects.filter(digest=ticket).exists()
    assert WsTicket.objects.get().user == world.alice


def test_a_ticket_needs_a_login(db):
    from rest_framework.test import APIClient

    assert APIClient().post("/api/auth/ws-ticket/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_token_in_the_url_is_not_accepted_but_the_header_is(world):
    from rest_framework.authtoken.models import Token

    key = Token.objects.get(user=world.alice).key
    assert not _ws_user(f"token={key}").is_authenticated
    assert _ws_user(headers=[(b"authorization", f"Token {key}".encode())]) == world.alice


@pytest.mark.django_db(transaction=True)
def test_bobs_ticket_does_not_open_alices_run(world):
    """The attacker's ticket authenticates him, and the consumer still answers 4404 for a run he cannot see."""
    from channels.testing import WebsocketCommunicator

    from studio.asgi import application
    from studio.runs.models import Run
    from studio.runs.service import start_run

    run = start_run(world.pipeline, user=world.alice, mode="until", node="import")
    ticket = world.as_bob.post("/api/auth/ws-ticket/").json()["ticket"]

    async def connect():
        communicator = WebsocketCommunicator(application, f"/ws/runs/{run.pk}/?ticket={ticket}",
                                             headers=[(b"host", b"testserver")])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    assert _run(connect) == (False, 4404)
    assert Run.objects.filter(pk=run.pk).exists()


def test_an_expired_token_is_refused_and_a_new_one_issued(world, settings):
    from rest_framework.authtoken.models import Token

    assert world.as_alice.get("/api/projects/").status_code == 200
    old_key = Token.objects.get(user=world.alice).key
    Token.objects.filter(user=world.alice).update(created=timezone.now() - timedelta(
        seconds=settings.TOKEN_TTL_SECONDS + 1))
    response = world.as_alice.get("/api/projects/")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]
    from rest_framework.test import APIClient

    fresh = APIClient().post("/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json")
    assert fresh.status_code == 200
    assert fresh.json()["expires_in"] > settings.TOKEN_TTL_SECONDS - 60
    assert fresh.json()["token"] != old_key
    old = world.as_alice.get("/api/projects/")
    assert old.status_code == 401  # the old key is gone, not revived


def test_logout_revokes_the_token(world):
    assert world.as_alice.post("/api/auth/logout/").status_code == 200
    assert world.as_alice.get("/api/projects/").status_code == 401
    assert world.as_carol.get("/api/projects/").status_code == 200  # others keep theirs


def _login(client, password, username="alice", path="/api/auth/token/"):
    return client.post(path, {"username": username, "password": password}, format="json")


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/auth/login/"])
def test_five_wrong_logins_in_a_row_are_throttled(world, path):
    from rest_framework.test import APIClient

    client = APIClient()
    for _ in range(5):
        assert _login(client, "wrong", path=path).status_code == 400
    throttled = _login(client, "pw-alice", path=path)  # even the right password now
    assert throttled.status_code == 429, throttled.content
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert _login(client, "pw-bob", username="bob", path=path).status_code == 200  # another user is not locked


def test_an_attackers_wrong_logins_do_not_lock_the_user_out(world):
    """bob guesses alice's password from his address until he is throttled; alice, from hers, still logs in."""
    from rest_framework.test import APIClient

    attacker, user = APIClient(REMOTE_ADDR="10.0.0.66"), APIClient(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        assert _login(attacker, "guess").status_code == 400
    assert _login(attacker, "pw-alice").status_code == 429
    assert _login(user, "pw-alice").status_code == 200


def test_many_addresses_guessing_one_user_are_throttled(world, settings):
    from rest_framework.test import APIClient

    settings.LOGIN_FAILURES_PER_USER_ANY_ADDRESS = 12
    for i in range(4):
        client = APIClient(REMOTE_ADDR=f"10.0.1.{i}")
        for _ in range(3):
            assert _login(client, "guess").status_code == 400
    assert _login(APIClient(REMOTE_ADDR="10.0.2.1"), "pw-alice").status_code == 429


def test_a_right_login_clears_the_count(world):
    from rest_framework.test import APIClient

    client = APIClient()
    for _ in range(4):
        assert _login(client, "wrong").status_code == 400
    assert _login(client, "pw-alice").status_code == 200
    for _ in range(4):
        assert _login(client, "wrong").status_code == 400
    assert _login(client, "pw-alice").status_code == 200


def test_one_address_guessing_many_users_is_throttled(world, settings):
    from rest_framework.test import APIClient

    client = APIClient()
    for i in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        assert _login(client, "wrong", username=f"user{i}").status_code == 400
    assert _login(client, "pw-bob", username="bob").status_code == 429


@pytest.mark.parametrize(("origin", "scheme", "allowed"), [
    ("http://testserver", "ws", True),
    ("https://testserver", "ws", False),  # scheme differs
    ("http://testserver:8080", "ws", False),  # port differs
    ("http://evil.example", "ws", False),
    ("https://testserver", "wss", True),
    ("https://testserver:443", "wss", True),
    ("null", "ws", False),
])
def test_origin_check_compares_scheme_host_and_port(origin, scheme, allowed):
    scope = {"headers": [(b"host", b"testserver"), (b"origin", origin.encode())], "scheme": scheme}
    assert origin_allowed(scope) is allowed


def test_a_trusted_origin_passes(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://studio.example"]
    scope = {"headers": [(b"host", b"testserver"), (b"origin", b"https://studio.example")], "scheme": "ws"}
    assert origin_allowed(scope)
    scope["headers"][1] = (b"origin", b"https://studio.example:8443")
    assert not origin_allowed(scope)

"""Limits at the edge (issue 12, item 5): the request body's size, checked before Django reads it.

Django's ASGI handler reads the whole body into a temporary file before any view runs, so a limit checked
in a view comes after the upload. `BodyLimit` wraps the Django application: a Content-Length over the limit is
answered 413 at once, without reading a byte of the body; a body that grows past the limit while it streams
(chunked, or longer than it said) is cut off with the same 413, and Django sees a disconnect and stops.
Uploads (POST /api/uploads/) may be as large as UPLOAD_MAX_BYTES; every other request REQUEST_MAX_BYTES.
"""
from __future__ import annotations

import json

from django.conf import settings

from .errors import error_body

UPLOAD_PATH = "/api/uploads/"
MULTIPART_SLACK = 1024 * 1024  # the form's boundaries and other fields around the file


def body_limit(path: str) -> int:
    if path.rstrip("/") + "/" == UPLOAD_PATH:
        return settings.UPLOAD_MAX_BYTES + MULTIPART_SLACK
    return settings.REQUEST_MAX_BYTES


def too_large_body(size: int, limit: int, path: str) -> dict:
    field = "file" if path.startswith(UPLOAD_PATH) else ""
    what = "the upload" if field else "the request body"
    return error_body("too_large", [{"path": field, "code": "too_large",
                                     "message": f"{what} is {size:,} bytes or more; the limit is {limit:,} bytes"}])


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _answer_413(send, body: dict) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = body_limit(path)
        length = _content_length(scope)
        if length is not None and length > limit:
            return await _answer_413(send, too_large_body(length, limit, path))
        received = 0
        answered = False

        async def capped_receive():
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request" and not answered:
                received += len(message.get("body", b""))
                if received > limit:
                    answered = True
                    await _answer_413(send, too_large_body(received, limit, path))
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def guarded_send(message):
            if not answered:
                await send(message)

        return await self.app(scope, capped_receive, guarded_send)

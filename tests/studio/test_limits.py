"""Limits at the edge (issue 12, item 5): an oversized body is answered 413 in the API's error shape before it
is read; JSON nested too deep is a 400 naming the path; node ids are bounded."""
from __future__ import annotations

import asyncio
import json

import pytest


def _asgi(scope_headers, chunks, path="/api/uploads/", method="POST"):
    """Call the studio's ASGI application with `chunks` as the body. A None chunk means the client has sent
    nothing more yet: receive() then waits forever, so an answer proves the server did not wait for the body."""
    from studio.asgi import application

    sent, asked = [], []

    async def receive():
        asked.append(len(asked))
        chunk = chunks.pop(0) if chunks else None
        if chunk is None:
            await asyncio.Event().wait()  # the body never comes
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "headers": scope_headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}

    async def call():
        await asyncio.wait_for(application(scope, receive, send), timeout=60)

    asyncio.run(call())
    return sent, asked


def test_600_mb_content_length_is_answered_413_before_the_body_is_read(settings):
    settings.UPLOAD_MAX_BYTES = 500 * 1024 * 1024
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"multipart/form-data; boundary=x"),
               (b"content-length", str(600 * 1024 * 1024).encode())]
    sent, asked = _asgi(headers, [None])
    assert asked == []  # not one read of the body
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    body = json.loads(sent[1]["body"])
    assert body["code"] == "too_large" and body["errors"][0]["path"] == "file"
    assert "629,145,600 bytes" in body["message"]


def test_any_other_request_has_its_own_smaller_limit(settings):
    settings.REQUEST_MAX_BYTES = 1000
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", b"5000")]
    sent, asked = _asgi(headers, [None], path="/api/pipelines/")
    assert asked == [] and sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["errors"][0]["path"] == ""


def test_a_streamed_body_is_cut_off_at_the_limit(settings, db):
    """No Content-Length (chunked): the cap counts bytes as they arrive and answers once, Django nothing."""
    settings.REQUEST_MAX_BYTES = 1000
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json")]
    sent, asked = _asgi(headers, [b"[" + b"1," * 300, b"1," * 300, None], path="/api/pipelines/")
    assert len(asked) == 2  # the third chunk was never asked for
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert [m["status"] for m in starts] == [413]
    assert json.loads(sent[1]["body"])["code"] == "too_large"


def test_a_body_within_the_limit_reaches_django(settings, db):
    headers = [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", b"2")]
    sent, _ = _asgi(headers, [b"{}"], path="/api/pipelines/")
    assert sent[0]["status"] == 401  # Django answered: not logged in


def test_body_over_djangos_limit_is_the_api_shape(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = world.as_alice.post("/api/pipelines/validate/", {"graph": {"nodes": [], "edges": []},
                                                                "pad": "x" * 5000}, format="json")
    assert response.status_code == 413, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_large"


def test_params_10000_deep_are_400_naming_the_path(world):
    deep = '{"a":' * 10_000 + "1" + "}" * 10_000  # json.dumps itself cannot write it: it recurses
    body = ('{"graph":{"nodes":[{"id":"split","operator":"split_random","params":{"ratio":0.5,"x":' + deep
            + '}}],"edges":[]}}')
    response = world.as_alice.generic("PATCH", f"/api/pipelines/{world.pipeline.pk}/", body,
                                      content_type="application/json")
    assert response.status_code == 400, response.content[:500]
    error = response.json()["errors"][0]
    assert error["code"] == "too_deep"
    assert error["path"].startswith("graph.nodes[0].params.x.a.a.a")
    assert "64 levels" in error["message"]


def test_depth_path_names_list_indexes_and_escaped_keys():
    from studio.core.parsers import too_deep

    assert too_deep('{"a": [1, {"b": 2}, [[[3]]]]}', 3) == "a[2][0]"
    assert too_deep('{"we\\"ird": {"x": {"y": 1}}}', 2) == 'we"ird.x'
    assert too_deep('{"s": "[[[[[[[[[[", "t": [1]}', 2) is None  # brackets inside strings do not count
    assert too_deep('{"a": {"b": 1}}', 2) is None
    for depth in range(1, 9):  # the fast path (regex rounds) and the slow one (the path) agree at the boundary
        text = '{"k": ' * depth + '"}]{["' + "}" * depth
        assert (too_deep(text, 4) is None) == (depth <= 4), depth


def test_malformed_json_is_400_not_500(world):
    for body in ("{", "[" * 5000, '{"graph": NaN}', "\xff"):
        response = world.as_alice.generic("POST", "/api/pipelines/validate/", body.encode("latin-1"),
                                          content_type="application/json")
        assert response.status_code == 400, (body[:20], response.content[:300])
        assert response.json()["code"] in ("parse_error", "too_deep")


@pytest.mark.parametrize("field", ["id", "operator"])
def test_node_ids_are_bounded(world, field):
    graph = {"nodes": [{"id": "split", "operator": "split_random", field: "n" * 101}], "edges": []}
    response = world.as_alice.patch(f"/api/pipelines/{world.pipeline.pk}/", {"graph": graph}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["path"] == f"graph.nodes[0].{field}"
    assert "1 to 100 characters" in response.json()["message"]


def test_names_are_bounded(world):
    response = world.as_alice.post("/api/projects/", {"name": "p" * 201}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "name"
    response = world.as_alice.post("/api/runs/", {"pipeline": world.pipeline.pk, "mode": "until",
                                                  "node": "n" * 201}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "node"


def test_djangos_own_400_is_the_api_shape_under_api(db, client):
    """A refusal Django makes before any view (here a Host not allowed) answers JSON under /api/."""
    response = client.get("/api/health", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "bad_request"
    page = client.get("/", HTTP_HOST="evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


def test_pipeline_parameter_names_are_bounded(world):
    graph = {"nodes": [], "edges": [], "parameters": {"p" * 101: {"default": 1}}}
    response = world.as_alice.patch(f"/api/pipelines/{world.pipeline.pk}/", {"graph": graph}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["path"].startswith("graph.parameters.ppp")

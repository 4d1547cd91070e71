"""An infer request's headers (studio.serving.app.InferRequest): looked up by one dict built once per request
instead of a scan of the list per lookup (and a caught KeyError per absent header), with Starlette's answers:
names in any case, the first of repeated names, None or the default for an absent one."""
from __future__ import annotations

from starlette.datastructures import Headers

from studio.serving.app import InferRequest, LookupHeaders

RAW = [(b"content-length", b"48673"), (b"x-request-id", b"first"), (b"authorization", b"Bearer k1"),
       (b"x-request-id", b"second"), (b"inference-header-content-length", b"673")]


def test_lookups_answer_as_starlettes_headers():
    ours, theirs = LookupHeaders({"headers": list(RAW)}), Headers(scope={"headers": list(RAW)})
    for name in ("content-length", "X-Request-Id", "AUTHORIZATION", "Inference-Header-Content-Length", "api-key",
                 "x-missing"):
        assert ours.get(name) == theirs.get(name), name
        assert ours.get(name, "default") == theirs.get(name, "default"), name
    assert ours.get("x-request-id") == "first"
    assert ours["x-request-id"] == theirs["x-request-id"] and ours.getlist("x-request-id") == ["first", "second"]


def test_an_infer_request_builds_its_headers_once():
    request = InferRequest({"type": "http", "method": "POST", "path": "/v2/models/m/infer", "headers": list(RAW)})
    assert isinstance(request.headers, LookupHeaders) and request.headers is request.headers
    assert request.headers.get("authorization") == "Bearer k1"

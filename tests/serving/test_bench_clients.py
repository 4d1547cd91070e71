"""The serving benchmark's wrk load generator (benchmarks/serving/bench.py: wrk_load, the 1,000-row phase's
`--client wrk`): against a real HTTP server, every request carries the body file and the headers as hey sends
them, and answered / failed requests are counted as hey's figures count them."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.serving.bench import ensure_tool, wrk_load


class _Recorder(BaseHTTPRequestHandler):
    seen: list  # (method, path, headers, body) of every request
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((self.command, self.path, dict(self.headers), body))
        answer = b'{"ok": true}'
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # wrk closes its connections mid-request when its time is up


@pytest.fixture
def recorder():
    def start(status: int):
        handler = type("Handler", (_Recorder,), {"seen": [], "status": status})
        server = _Server(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, handler

    servers: list = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_wrk_sends_the_body_file_with_the_headers_and_counts_answers(recorder, tmp_path):
    server, handler = recorder(200)
    body = tmp_path / "k.bin"
    body.write_bytes(b'{"inputs": []}' + bytes(range(256)) * 40)  # binary after a JSON header, NUL bytes included
    result = wrk_load(ensure_tool("wrk"), f"http://127.0.0.1:{server.server_port}/v2/models/m/infer", body,
                      seconds=1, concurrency=2, content_type="application/octet-stream",
                      headers={"Inference-Header-Content-Length": "14"})
    assert result["ok"] > 0 and result["failed"] == 0
    assert len(handler.seen) >= result["ok"]  # (a request answered as wrk stopped is not counted by it)
    for method, path, headers, got in handler.seen:
        assert (method, path, got) == ("POST", "/v2/models/m/infer", body.read_bytes())
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Inference-Header-Content-Length"] == "14"
    assert result["rps"] > 0 and 0 < result["p50_ms"] <= result["p99_ms"]


def test_wrk_counts_error_answers_as_failed_not_answered(recorder, tmp_path):
    server, handler = recorder(400)
    body = tmp_path / "k.json"
    body.write_text('{"inputs": []}')
    result = wrk_load(ensure_tool("wrk"), f"http://127.0.0.1:{server.server_port}/x", body, seconds=1,
                      concurrency=2)
    assert result["ok"] == 0 and result["failed"] > 0 and handler.seen
    assert all(headers["Content-Type"] == "application/json" for _, _, headers, _ in handler.seen)

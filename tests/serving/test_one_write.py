"""A response leaves the serving process in one write (issue 19): under uvicorn's httptools protocol, which
python -m studio.serving runs, uvloop sends every transport.write at once, so a status line and headers written
apart from the body went as two writes and two TCP segments, waking the client twice per request. Driven here
through uvicorn's own protocol object, with a transport that records what reaches it."""
from __future__ import annotations

import asyncio
import json

import numpy as np
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from pipelines.bundle import load_bundle, table_to_columns

from .conftest import v2_binary
from .test_binary_fast_path import make_app


class RecordingTransport(asyncio.Transport):
    """What the protocol hands to the socket: one entry per write (a writelines is one writev, so one entry)."""

    def __init__(self):
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def writelines(self, parts) -> None:
        self.writes.append(b"".join(parts))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8001)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def http_request(path: str, body: bytes, headers: dict, *, close: bool = False) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in headers.items()), *(["Connection: close"] if close else [])]
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def split_response(raw: bytes) -> tuple[int, dict, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    return int(status_line.split()[1]), headers, body


async def exchange(app, requests: list[bytes]) -> RecordingTransport:
    """Each request in turn on one keep-alive connection, the next sent when the previous one was answered."""
    protocol = HttpToolsProtocol(config=Config(app=app, http="httptools", lifespan="off", log_level="warning"),
                                 server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    for answered, request in enumerate(requests, start=1):
        protocol.data_received(request)
        for _ in range(2000):
            if protocol.server_state.total_requests >= answered and transport.writes:
                break
            await asyncio.sleep(0.005)
    protocol.connection_lost(None)
    return transport


def test_a_binary_answer_is_one_write_of_headers_and_body_and_keep_alive_still_works(tmp_path, bundles,
                                                                                     scoring_table):
    app = make_app(tmp_path, bundles, require_keys=False)
    repository = app.state.repository
    repository.start()
    try:
        spec = load_bundle(bundles["1"]).input_spec
        columns = table_to_columns(scoring_table.head(1000), spec)
        body, headers = v2_binary(columns, spec)
        request = http_request("/v2/models/credit/infer", body, headers)
        last = http_request("/v2/models/credit/infer", body, headers, close=True)
        transport = asyncio.run(exchange(app, [request, request, last]))
    finally:
        repository.stop()
    assert len(transport.writes) == 3  # one write per answer: before, two (headers, then body)
    expected = load_bundle(bundles["1"]).predict(columns, 1000)["probability"]
    for raw in transport.writes:
        status, answer_headers, content = split_response(raw)
        assert status == 200 and int(answer_headers["content-length"]) == len(content)
        length = int(answer_headers["inference-header-content-length"])
        probability = json.loads(content[:length])["outputs"][0]
        assert probability["name"] == "probability"
        values = np.frombuffer(content[length:length + probability["parameters"]["binary_data_size"]], "<f8")
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-9)
    assert transport.closed  # Connection: close still closes, after its answer was written


def test_an_error_answer_is_one_write_too(tmp_path, bundles):
    app = make_app(tmp_path, bundles, require_keys=False)
    repository = app.state.repository
    repository.start()
    try:
        transport = asyncio.run(exchange(app, [http_request("/v2/models/credit/infer", b"{not json",
                                                            {"Content-Type": "application/json"})]))
    finally:
        repository.stop()
    assert len(transport.writes) == 1
    status, _, content = split_response(transport.writes[0])
    assert status == 400 and "not valid JSON" in json.loads(content)["error"]

"""Limits at the edge, measured on a real web process (uvicorn, as `make run` starts it):

- how long after its headers a 600 MB upload is answered 413 (the body is never sent);
- what the JSON depth check costs on a large graph body, in-process (studio/core/parsers.py).

    .venv/bin/python benchmarks/edge_limits.py [REPEATS]
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from tests.studio.live import LiveStudio  # noqa: E402


def time_to_413(studio: LiveStudio) -> float:
    head = (f"POST /api/uploads/ HTTP/1.1\r\nHost: 127.0.0.1:{studio.port}\r\nAuthorization: Token {studio.token}\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 629145600\r\n\r\n")
    with socket.create_connection(("127.0.0.1", studio.port), timeout=60) as sock:
        started = time.perf_counter()
        sock.sendall(head.encode())
        first = sock.recv(65536)
        elapsed = time.perf_counter() - started
    assert first.startswith(b"HTTP/1.1 413"), first[:200]
    return elapsed


def depth_check_cost(nodes: int) -> tuple[int, float]:
    import django

    django.setup()
    from studio.core.parsers import too_deep

    params = {"ratio": 0.5, "note": "x" * 200, "nested": {"a": [1, 2]}}
    graph = {"nodes": [{"id": f"n{i}", "operator": "split_random", "params": {**params, "seed": i},
                        "position": {"x": i, "y": i}} for i in range(nodes)], "edges": []}
    text = json.dumps({"graph": graph})
    started = time.perf_counter()
    assert too_deep(text, 64) is None
    return len(text), time.perf_counter() - started


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as root:
        studio = LiveStudio(Path(root))
        try:
            times = [time_to_413(studio) for _ in range(repeats)]
        finally:
            studio.close()
    print(f"600 MB Content-Length -> 413, headers to answer: median {statistics.median(times) * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms over {repeats} requests (no body byte sent)")
    for nodes in (100, 10_000):
        size, seconds = depth_check_cost(nodes)
        print(f"JSON depth check on a {nodes:,}-node graph body ({size / 1e6:.1f} MB): {seconds * 1000:.1f} ms")


if __name__ == "__main__":
    main()

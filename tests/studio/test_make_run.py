"""`make run` starts a studio whose health endpoint answers 200 with the engines' versions."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_make_run_serves_health(tmp_path):
    port = free_port()
    env = {**os.environ, "STUDIO_DATA_DIR": str(tmp_path / "var")}
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    assert response.status == 200
                    body = json.loads(response.read())
                    break
            except OSError:
                time.sleep(0.5)
        assert body is not None, proc.stdout.read().decode() if proc.poll() is not None else "no answer in 120 s"
        assert body["status"] == "ok"
        assert body["engines"]["lightgbm"][0].isdigit() and body["engines"]["pandas"][0].isdigit()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)

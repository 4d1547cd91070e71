"""`make run` starts web, worker and serving on embedded defaults: health answers 200 with the engines' versions,
the demo admin can log in, the demo project holds the example pipeline and its data, a run goes through the
worker, and the serving process answers its health checks on PORT + 1. SIGTERM to the process group stops
everything."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from tests.conftest import REPO
from tests.studio.live import free_port


def call(port: int, path: str, body=None, token: str | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="POST" if body is not None else "GET",
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Token {token}"} if token else {})})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)
        return json.loads(response.read())


def free_port_pair() -> int:
    """A free port whose successor is free too: `make run` puts serving on PORT + 1 unless told otherwise."""
    while True:
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port


def test_make_run_serves_health(tmp_path):
    port = free_port_pair()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "SERVING_PORT")}  # embedded defaults, the Makefile's port
    env["STUDIO_DATA_DIR"] = str(tmp_path / "var")
    with open(tmp_path / "make-run.log", "wb") as log:  # the child keeps its own descriptor of the log
        proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=REPO, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                body = call(port, "/api/health")
                break
            except OSError:
                time.sleep(0.5)
        output = (tmp_path / "make-run.log").read_text()
        assert body is not None, output[-4000:]
        assert body["status"] == "ok"
        assert body["engines"]["lightgbm"][0].isdigit() and body["engines"]["pandas"][0].isdigit()
        password = (tmp_path / "var" / "demo_admin_password").read_text().strip()
        assert f"as 'admin', password: {password}" in output  # told how to log in
        token = call(port, "/api/auth/token/", {"username": "admin", "password": password})["token"]
        demo = call(port, "/api/pipelines/", token=token)["results"]
        assert len(demo) == 1 and demo[0]["latest"]["valid"], demo
        run = call(port, "/api/runs/", {"pipeline": demo[0]["id"], "mode": "only", "node": "import"}, token=token)
        while time.monotonic() < deadline and run["status"] in ("queued", "running"):
            time.sleep(0.3)
            run = call(port, f"/api/runs/{run['id']}/", token=token)
        assert run["status"] == "succeeded", (run, (tmp_path / "make-run.log").read_text()[-4000:])

        serving = port + 1  # the Makefile's SERVING_PORT = PORT + 1
        assert f"Published models on http://127.0.0.1:{serving}/v2/models/" in output
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = call(serving, "/v2/health/ready")
            except OSError:
                time.sleep(0.3)
        assert ready == {"ready": True}, (tmp_path / "make-run.log").read_text()[-4000:]
        assert call(serving, "/v2/health/live") == {"live": True}
        assert call(serving, "/v2")["name"] == "studio-serving"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("make run did not stop on SIGTERM within 30 s") from None

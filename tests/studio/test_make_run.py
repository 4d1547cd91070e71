"""`make run` starts web, worker and serving on embedded defaults under supervisord: health answers 200 with the
engines' versions, the demo admin can log in, the demo project holds the example pipeline and its data, a run goes
through the worker, and the serving process answers its health checks on PORT + 1. A process killed with -9 comes
back alone while the others keep answering, and a run the killed worker had in flight completes. SIGTERM to the
process group stops everything."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.studio.conftest import edge, node
from tests.studio.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.backend_independent]  # `make run`'s embedded defaults, always


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


def descendants(pid: int) -> dict[int, str]:
    """Every process below `pid`, with its command line (from /proc)."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = commands.get(child, "")
                frontier.append(child)
    return found


class MakeRun:
    def __init__(self, root: Path):
        self.root = root
        self.port = free_port_pair()
        self.serving = self.port + 1  # the Makefile's SERVING_PORT = PORT + 1
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "SERVING_PORT")}  # embedded defaults, the Makefile's port
        # The test operators (a slow node to kill the worker under) in web and worker.
        env.update(STUDIO_DATA_DIR=str(root / "var"), STUDIO_OPERATOR_MODULES="tests.pipelines.testing_operators")
        self.log = root / "make-run.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["make", "run", f"PORT={self.port}"], cwd=REPO, env=env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, port: int, path: str, timeout: float = 180):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()[-4000:]
            try:
                return call(port, path)
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"{path} on {port} did not answer in {timeout} s\n" + self.output()[-4000:])

    def process(self, marker: str) -> int:
        """The pid of the one supervised process whose command line holds `marker`."""
        pids = [pid for pid, command in descendants(self.proc.pid).items() if marker in command
                and "supervisord" not in command and not command.startswith(("/bin/sh", "sh "))]
        assert len(pids) == 1, (marker, descendants(self.proc.pid))
        return pids[0]

    def stop(self) -> None:
        """SIGTERM to the process group, as a terminal's Ctrl-C or a service manager would: all stop."""
        children = descendants(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=60)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError("make run did not stop on SIGTERM within 60 s") from None
        time.sleep(0.5)
        left = {pid: command for pid, command in children.items() if Path(f"/proc/{pid}").exists()
                and "<defunct>" not in command}
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"left running after make run stopped: {left}"


class Poller:
    """Health checks every 0.1 s in a thread: (time, path, ok) for each."""

    def __init__(self, *targets: tuple[int, str]):
        self.targets, self.checks = targets, []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self):
        while not self.stopped.is_set():
            for port, path in self.targets:
                try:
                    call(port, path)
                    self.checks.append((time.monotonic(), path, True))
                except OSError as exc:
                    self.checks.append((time.monotonic(), path, repr(exc)))
            time.sleep(0.1)

    def stop(self) -> list:
        self.stopped.set()
        self.thread.join(timeout=30)
        return self.checks


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    studio = MakeRun(tmp_path_factory.mktemp("make-run"))
    try:
        studio.wait_for(studio.port, "/api/health")
        password = (studio.root / "var" / "demo_admin_password").read_text().strip()
        studio.token = call(studio.port, "/api/auth/token/", {"username": "admin", "password": password})["token"]
        yield studio
    finally:
        studio.stop()


def wait_run(studio: MakeRun, run_id: int, until, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        run = call(studio.port, f"/api/runs/{run_id}/", token=studio.token)
        if until(run):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} did not get there: {run}\n" + studio.output()[-4000:])


def test_make_run_serves_health(studio):
    body = call(studio.port, "/api/health")
    assert body["status"] == "ok"
    assert body["engines"]["lightgbm"][0].isdigit() and body["engines"]["pandas"][0].isdigit()
    output = studio.output()
    password = (studio.root / "var" / "demo_admin_password").read_text().strip()
    assert f"as 'admin', password: {password}" in output  # told how to log in
    demo = [p for p in call(studio.port, "/api/pipelines/", token=studio.token)["results"]
            if p["latest"]["graph"]["nodes"][0]["operator"] == "import_csv"]
    assert len(demo) == 1 and demo[0]["latest"]["valid"], demo
    run = call(studio.port, "/api/runs/", {"pipeline": demo[0]["id"], "mode": "only", "node": "import"},
               token=studio.token)
    run = wait_run(studio, run["id"], lambda r: r["status"] not in ("queued", "running"))
    assert run["status"] == "succeeded", (run, studio.output()[-4000:])

    assert f"Published models on http://127.0.0.1:{studio.serving}/v2/models/" in output
    assert studio.wait_for(studio.serving, "/v2/health/ready") == {"ready": True}
    assert call(studio.serving, "/v2/health/live") == {"live": True}
    assert call(studio.serving, "/v2")["name"] == "studio-serving"
    with pytest.raises(urllib.error.HTTPError) as refused:  # keys are on by default: no key, no index
        call(studio.serving, "/v2/repository/index")
    assert refused.value.code == 401


def test_a_killed_worker_is_restarted_alone_and_its_run_completes(studio):
    project = call(studio.port, "/api/projects/", token=studio.token)["results"][0]["id"]
    graph = {"name": "kill", "nodes": [node("emit", "test_emit", value=1), node("add", "test_add_one", sleep=5.0)],
             "edges": [edge("emit", "out", "add", "in")]}
    pipeline = call(studio.port, "/api/pipelines/", {"project": project, "name": "kill", "graph": graph},
                    token=studio.token)["id"]
    run = call(studio.port, "/api/runs/", {"pipeline": pipeline, "force": True}, token=studio.token)
    wait_run(studio, run["id"], lambda r: any(n["node"] == "add" and n["status"] == "running" for n in r["nodes"]))
    web, serving, worker = studio.process("uvicorn"), studio.process("studio.serving"), studio.process("run_huey")
    poller = Poller((studio.port, "/api/health"), (studio.serving, "/v2/health/live"))
    time.sleep(1)
    killed_at = time.monotonic()
    os.kill(worker, signal.SIGKILL)
    done = wait_run(studio, run["id"], lambda r: r["status"] not in ("queued", "running"))
    finished_at = time.monotonic()
    time.sleep(1)
    checks = poller.stop()
    assert done["status"] == "succeeded" and done["attempts"] == 2, (done, studio.output()[-4000:])
    assert done["metrics"]["add"] == {"value": 2}
    events = call(studio.port, f"/api/runs/{run['id']}/events/", token=studio.token)
    requeued = [e for e in events if e["type"] == "run_requeued"]
    assert len(requeued) == 1 and f":{worker} stopped while running it" in requeued[0]["data"]["reason"]
    # The worker came back as a new process; web and serving are the same processes, and answered throughout.
    assert studio.process("run_huey") != worker
    assert (studio.process("uvicorn"), studio.process("studio.serving")) == (web, serving)
    assert [c for c in checks if c[2] is not True] == []
    for path in ("/api/health", "/v2/health/live"):
        during = [c for c in checks if c[1] == path and killed_at < c[0] < finished_at]
        assert len(during) >= 5, checks
    assert "exited: worker (terminated by SIGKILL; not expected)" in studio.output()


def test_serving_keeps_answering_while_the_web_process_restarts(studio):
    web, worker, serving = studio.process("uvicorn"), studio.process("run_huey"), studio.process("studio.serving")
    poller = Poller((studio.serving, "/v2/health/live"), (studio.serving, "/v2/health/ready"))
    time.sleep(1)
    killed_at = time.monotonic()
    os.kill(web, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:  # until the web process answers again (a new one: the old was killed)
        try:
            call(studio.port, "/api/health")
            break
        except OSError:
            assert time.monotonic() < deadline, studio.output()[-4000:]
            time.sleep(0.2)
    back_at = time.monotonic()
    checks = poller.stop()
    assert studio.process("uvicorn") != web
    assert (studio.process("run_huey"), studio.process("studio.serving")) == (worker, serving)
    assert [c for c in checks if c[2] is not True] == []
    assert len([c for c in checks if killed_at < c[0] < back_at]) >= 4, checks
    assert "exited: web (terminated by SIGKILL; not expected)" in studio.output()

"""A real studio for the live tests: its own data dir (and its own PostgreSQL database and Redis key prefix
when DATABASE_URL / REDIS_URL point there), migrated once, with web (uvicorn) and worker (manage.py run_huey)
processes that tests start, kill and restart."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.conftest import REPO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveStudio:
    def __init__(self, root: Path, *, embedded: bool = False, **env: str):
        """`embedded`: SQLite and the embedded queue whatever DATABASE_URL / REDIS_URL say (for a test whose
        assertions cannot depend on the backend, so both passes of `make test` would run the same thing)."""
        self.root = root
        self.name = f"studio_live_{uuid.uuid4().hex[:10]}"
        self.env = {**os.environ, "STUDIO_DATA_DIR": str(root / "var"), "PYTHONPATH": str(REPO),
                    "STUDIO_OPERATOR_MODULES": "tests.pipelines.testing_operators", "STUDIO_WORKER_THREADS": "1",
                    "STUDIO_QUEUE_NAME": self.name, "STUDIO_CHANNEL_PREFIX": self.name, "SECRET_KEY": "live-tests",
                    "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONUNBUFFERED": "1", **env}
        if embedded:
            self.env["REDIS_URL"] = ""
        self.database = "" if embedded else os.environ.get("DATABASE_URL", "")
        if self.database.startswith("postgres"):
            self._postgres("CREATE DATABASE {}")
            parts = urlsplit(self.database)
            self.env["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", "", ""))
        else:
            self.env.pop("DATABASE_URL", None)
        self.redis = self.env.get("REDIS_URL", "")
        self.procs: list[subprocess.Popen] = []
        self.port: int | None = None
        self.web: subprocess.Popen | None = None
        # One process for the set-up (each start of Django costs seconds on a busy machine).
        self.manage("shell", "-c", "from django.core.management import call_command; "
                                   "call_command('migrate', interactive=False, verbosity=0); "
                                   "call_command('studio_demo'); "
                                   "from django.contrib.auth.models import User; "
                                   "User.objects.create_user('bob', password='pw-bob')")
        password = (root / "var" / "demo_admin_password").read_text().strip()
        self.start_web()
        self.token = self.post("/api/auth/token/", {"username": "admin", "password": password})["token"]
        self.bob_token = httpx.post(self.url("/api/auth/token/"), json={"username": "bob", "password": "pw-bob"}
                                    ).json()["token"]

    def _postgres(self, statement: str) -> None:
        import psycopg

        parts = urlsplit(self.database)
        admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(statement.format(self.name))

    # ------------------------------------------------------------------------------------ processes
    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def _spawn(self, args: list[str], log: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.root / log, "ab") as handle:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(args, cwd=REPO, env={**self.env, **(env or {})}, stdout=handle,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start_web(self) -> None:
        self.port = free_port()
        self.web = self._spawn([sys.executable, "-m", "uvicorn", "studio.asgi:application", "--host", "127.0.0.1",
                                "--port", str(self.port), "--lifespan", "off", "--ws", "websockets"], "web.log")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.web.poll() is None, (self.root / "web.log").read_text()[-3000:]
            try:
                if httpx.get(self.url("/api/health"), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the web server did not answer in 90 s")

    def start_worker(self, **env: str) -> subprocess.Popen:
        """A worker (`manage.py run_huey`), with `env` added to the studio's environment."""
        return self._spawn([sys.executable, "manage.py", "run_huey"], "worker.log", env)

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def close(self) -> None:
        for proc in self.procs:
            self.stop(proc)
        if self.database.startswith("postgres"):
            self._postgres("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        if self.redis:
            import redis

            client = redis.Redis.from_url(self.redis)
            for key in client.scan_iter(f"*{self.name}*"):
                client.delete(key)

    # ------------------------------------------------------------------------------------------ API
    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ticket(self, token: str | None = None) -> str:
        """A single-use WebSocket ticket for the user of `token` (the admin's by default)."""
        response = httpx.post(self.url("/api/auth/ws-ticket/"), timeout=30,
                              headers={"Authorization": f"Token {token or self.token}"})
        assert response.status_code == 201, response.text
        return response.json()["ticket"]

    def ws_url(self, run_id: int, token: str | None = None, after: int | None = None, ticket: str | None = None) -> str:
        query = f"?ticket={ticket or self.ticket(token)}" + (f"&after={after}" if after is not None else "")
        return f"ws://127.0.0.1:{self.port}/ws/runs/{run_id}/{query}"

    def _call(self, method: str, path: str, body=None):
        headers = {"Authorization": f"Token {self.token}"} if getattr(self, "token", None) else {}
        response = httpx.request(method, self.url(path), json=body, headers=headers, timeout=30)
        assert response.status_code < 300, (method, path, response.status_code, response.text)
        return response.json()

    def get(self, path: str):
        return self._call("GET", path)

    def post(self, path: str, body=None):
        return self._call("POST", path, body)

    def wait_run(self, run_id: int, until=lambda run: run["status"] in ("succeeded", "failed", "cancelled"),
                 timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.get(f"/api/runs/{run_id}/")
            if until(run):
                return run
            time.sleep(0.2)
        raise AssertionError(f"run {run_id} did not get there in {timeout} s: {json.dumps(run)[:2000]}\n"
                             + self.logs())

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.root.glob("*.log")))

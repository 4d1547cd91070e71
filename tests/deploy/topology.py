"""The processes of docker/compose.yaml, started on this machine with no containers: each "machine" is a data dir
of its own; what compose shares (PostgreSQL, Redis, the S3 bucket, the data root volume, the Spark cluster)
is shared the same way. Every process is started in its own session and stopped by its id at the end."""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import REPO, free_port

NGINX = "/usr/sbin/nginx"
SPARK_MASTER = "org.apache.spark.deploy.master.Master"
SPARK_WORKER = "org.apache.spark.deploy.worker.Worker"


def wait_until(predicate, timeout: float, what: str, logs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.2)
    tails = "\n".join(f"--- {p}\n{Path(p).read_text(errors='replace')[-3000:]}" for p in logs if Path(p).exists())
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s\n{tails}")


def http_json(method: str, url: str, payload=None, token: str | None = None, timeout: float = 30):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class Topology:
    def __init__(self, root: Path, env: dict):
        self.root, self.env = root, env
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.spark_env: dict | None = None
        self.spark_started: list[tuple[str, int]] = []

    # ------------------------------------------------------------------------------------------ processes
    def machine(self, name: str, **extra) -> dict:
        """The environment of one machine: the shared settings and a data dir of its own."""
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        return {**os.environ, **self.env, "STUDIO_DATA_DIR": str(data_dir), **extra}

    def run(self, name: str, command: list[str], env: dict) -> str:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = self.root / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs[name], self.logs[name] = proc, log
        return proc

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)
        self.stop_spark()

    # ------------------------------------------------------------------------------------------ services
    def python(self, *args: str) -> list[str]:
        return [sys.executable, *args]

    def start_web(self, env: dict) -> str:
        port = free_port()
        self.start("web", [str(Path(sys.executable).parent / "uvicorn"), "studio.asgi:application", "--host",
                           "127.0.0.1", "--port", str(port), "--lifespan", "off"], env)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_json("GET", f"{url}/api/health")[0] == 200, 60, "web healthy",
                   [self.logs["web"]])
        return url

    def start_serving(self, name: str, env: dict, port: int | None = None) -> int:
        port = port or free_port()
        # this test is about the cluster, not keys (tests/serving/test_serving_access.py is): off, explicitly
        env = {"SERVING_REQUIRE_KEYS": "0", **env}
        self.start(name, self.python("-m", "studio.serving", "--host", "127.0.0.1", "--port", str(port)), env)
        wait_until(lambda: http_json("GET", f"http://127.0.0.1:{port}/v2/health/ready")[0] == 200, 60,
                   f"{name} ready", [self.logs[name]])
        return port

    def start_nginx(self, ports: list[int]) -> int:
        """nginx with docker/nginx/serving.conf, its upstream's server line repeated for each replica."""
        port = free_port()
        snippet = (REPO / "docker" / "nginx" / "serving.conf").read_text()
        server_line = re.search(r"^\s*server serving:8001(.*);$", snippet, flags=re.M)
        assert server_line, "docker/nginx/serving.conf has no `server serving:8001 ...;` line"
        servers = "\n".join(f"    server 127.0.0.1:{p}{server_line.group(1)};" for p in ports)
        snippet = snippet.replace(server_line.group(0), servers).replace("listen 8001;", f"listen 127.0.0.1:{port};")
        prefix = self.root / "nginx"
        prefix.mkdir(exist_ok=True)
        (prefix / "serving.conf").write_text(snippet)
        temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                            "uwsgi", "scgi"))
        (prefix / "nginx.conf").write_text(
            f"daemon off; worker_processes 1; pid {prefix / 'nginx.pid'}; error_log {prefix / 'error.log'} warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{ access_log {prefix / 'access.log'}; {temp}\n include {prefix / 'serving.conf'}; }}\n")
        self.start("nginx", [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c",
                             str(prefix / "nginx.conf")], dict(os.environ))
        wait_until(lambda: http_json("GET", f"http://127.0.0.1:{port}/v2/health/ready")[0] == 200, 30,
                   "nginx answering", [self.logs["nginx"], prefix / "error.log"])
        return port

    # ------------------------------------------------------------------------------------------ Spark
    def start_spark(self, workers: int = 2) -> str:
        """A standalone master and `workers` workers on 127.0.0.1 from pyspark's sbin scripts."""
        import pyspark

        spark_home = Path(pyspark.__file__).parent
        daemon = spark_home / "sbin" / "spark-daemon.sh"
        self.spark_env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1",
                          "SPARK_LOG_DIR": str(self.root / "spark-logs"), "SPARK_PID_DIR": str(self.root / "spark"),
                          "SPARK_WORKER_DIR": str(self.root / "spark-work"), "PYSPARK_PYTHON": sys.executable,
                          "SPARK_IDENT_STRING": f"studio-topology-{os.getpid()}"}
        port, ui = free_port(), free_port()
        daemons = [(SPARK_MASTER, 1, ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui)])]
        daemons += [(SPARK_WORKER, i, [f"spark://127.0.0.1:{port}", "--host", "127.0.0.1", "--port",
                                       str(free_port()), "--webui-port", str(free_port()), "--cores", "1",
                                       "--memory", "1g"]) for i in range(1, workers + 1)]
        for cls, instance, args in daemons:
            done = subprocess.run(["bash", str(daemon), "start", cls, str(instance), *args], env=self.spark_env,
                                  capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            self.spark_started.append((cls, instance))

        def registered():
            with urllib.request.urlopen(f"http://127.0.0.1:{ui}/json/", timeout=2) as answer:
                return json.load(answer).get("aliveworkers", 0) == workers

        wait_until(registered, 120, f"{workers} Spark workers registered",
                   list((self.root / "spark-logs").glob("*.out")))
        self.spark_ui = ui
        return f"spark://127.0.0.1:{port}"

    def spark_applications(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.spark_ui}/json/", timeout=5) as answer:
            state = json.load(answer)
        return state.get("activeapps", []) + state.get("completedapps", [])

    def stop_spark(self) -> None:
        import pyspark

        daemon = Path(pyspark.__file__).parent / "sbin" / "spark-daemon.sh"
        for cls, instance in reversed(self.spark_started):
            subprocess.run(["bash", str(daemon), "stop", cls, str(instance)], env=self.spark_env,
                           capture_output=True, timeout=60)
        self.spark_started.clear()

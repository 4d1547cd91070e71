"""A Spark standalone cluster from the pyspark distribution (a master and one worker on 127.0.0.1), the demo
pipeline run on it from the CLI, and both daemons stopped whatever happens."""
from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DEMO_PIPELINE, REPO

MASTER = "org.apache.spark.deploy.master.Master"
WORKER = "org.apache.spark.deploy.worker.Worker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.fixture
def standalone_cluster(tmp_path):
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    daemon = spark_home / "sbin" / "spark-daemon.sh"
    port = 7077 if _port_is_free(7077) else _free_port()
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(tmp_path / "logs"), "SPARK_PID_DIR": str(tmp_path / "pids"),
           "SPARK_WORKER_DIR": str(tmp_path / "work"), "SPARK_IDENT_STRING": f"studio-test-{os.getpid()}",
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": ""}
    env.pop("SPARK_NO_DAEMONIZE")
    master_ui = _free_port()
    started = []

    def stop():
        for cls in reversed(started):
            subprocess.run(["bash", str(daemon), "stop", cls, "1"], env=env, capture_output=True, timeout=60)
        started.clear()

    atexit.register(stop)
    try:
        for cls, args in ((MASTER, ["--host", "127.0.0.1", "--port", str(port), "--webui-port", str(master_ui)]),
                          (WORKER, [f"spark://127.0.0.1:{port}", "--host", "127.0.0.1", "--port", str(_free_port()),
                                    "--webui-port", str(_free_port()), "--cores", "2", "--memory", "2g"])):
            proc = subprocess.run(["bash", str(daemon), "start", cls, "1", *args], env=env, capture_output=True,
                                  text=True, timeout=120)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            started.append(cls)
        deadline = time.monotonic() + 120
        workers = 0
        while time.monotonic() < deadline:
            try:
                state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{master_ui}/json/", timeout=2))
                workers = state.get("aliveworkers", 0)
                if workers:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        logs = "\n".join(p.read_text()[-2000:] for p in (tmp_path / "logs").glob("*.out"))
        assert workers == 1, f"the worker did not register with the master:\n{logs}"
        yield f"spark://127.0.0.1:{port}", master_ui
    finally:
        stop()
        atexit.unregister(stop)


# the worst case of each step's own timeout: two daemon starts (120 s each), the worker's registration
# (120 s), the CLI run (600 s) and two daemon stops (60 s each), beyond the suite's 300 s default
@pytest.mark.timeout(120 + 120 + 120 + 600 + 60 + 60)
def test_demo_pipeline_runs_on_a_standalone_cluster(standalone_cluster, data_root, tmp_path):
    master, master_ui = standalone_cluster
    env = {**os.environ, "PYTHONPATH": str(REPO), "STUDIO_SPARK_MASTER": master,
           "STUDIO_SPARK_EXECUTOR_MEMORY": "1g", "STUDIO_SPARK_EXECUTOR_CORES": "2",
           "STUDIO_SPARK_DRIVER_MEMORY": "1g", "STUDIO_SPARK_SHUFFLE_PARTITIONS": "4"}
    proc = subprocess.run([sys.executable, "-m", "pipelines", "run", str(DEMO_PIPELINE), "--engine", "spark",
                           "--store", str(tmp_path / "store"), "--data-root", str(data_root)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    summary = json.loads(lines[-1])
    assert summary["status"] == "succeeded"
    assert all(n["status"] == "succeeded" for n in summary["nodes"].values())
    assert summary["metrics"]["evaluate"]["auc"] > 0.7 and summary["metrics"]["evaluate"]["b_auc"] > 0.7
    # the application really ran on the cluster's executors
    state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{master_ui}/json/", timeout=5))
    assert [app["name"] for app in state.get("completedapps", []) + state.get("activeapps", [])] == ["studio"]

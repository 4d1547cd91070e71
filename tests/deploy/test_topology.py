"""docker/compose.yaml's topology as real processes on this machine, no containers: PostgreSQL and Redis, an S3
server (moto's server mode, standing in for MinIO), a Spark standalone master with two workers, the web
process, a worker on the training queue and one on the light queue, and two serving replicas behind nginx
(Debian's, with docker/nginx/serving.conf). Each process is a machine of its own data dir and data root: they
share the database, Redis, the bucket and the Spark cluster, and not even the data volume compose gives web
and the workers (the demo's upload reaches the workers through the bucket).

The demo pipeline runs on the cluster through the training worker, a preview through the light worker; the
model is published through the web process and served by both replicas from the bucket. Under bounded load
on loopback through nginx, every request is answered: when a replica is killed, and when a new version is
published, which both replicas then serve."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import threading
import time

import pytest

from .topology import NGINX, Topology, http_json, wait_until

pytestmark = pytest.mark.slow

PG = "postgresql://postgres@127.0.0.1:5432/"
REDIS = "redis://127.0.0.1:6379/9"


@pytest.fixture
def database():
    import psycopg

    name = f"studio_topology_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG + "postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield PG + name
    with psycopg.connect(PG + "postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topology(tmp_path, database, s3_url):
    import redis

    assert os.path.exists(NGINX), "nginx is missing: run `make deploy-tools`"
    prefix = f"topology-{os.getpid()}-{secrets.token_hex(3)}"
    env = {
        "DATABASE_URL": database, "REDIS_URL": REDIS, "SECRET_KEY": secrets.token_urlsafe(40),
        "STUDIO_ARTIFACTS": s3_url, "STUDIO_S3_ENDPOINT": os.environ["STUDIO_S3_ENDPOINT"],
        "STUDIO_QUEUE_NAME": prefix, "STUDIO_TRAINING_QUEUE": f"{prefix}-training",
        "STUDIO_CHANNEL_PREFIX": prefix, "STUDIO_WORKER_THREADS": "1",
        "STUDIO_SPARK_DRIVER_MEMORY": "1g", "STUDIO_SPARK_EXECUTOR_MEMORY": "768m",
        "STUDIO_SPARK_EXECUTOR_CORES": "1", "STUDIO_WORKER_MEMORY_LIMIT": "off", "LOG_LEVEL": "WARNING",
    }
    world = Topology(tmp_path, env)
    try:
        yield world
    finally:
        world.stop()
        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


class Load:
    """Bounded load through nginx on keep-alive connections: every answer recorded, a failure is any answer
    that is not 200 or a connection error."""

    def __init__(self, port: int, payload: bytes, threads: int = 3):
        self.port, self.payload = port, payload
        self.answers: list[tuple[float, str]] = []
        self.failures: list = []
        self.stop_flag = threading.Event()
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop_flag.is_set():
            try:
                connection.request("POST", "/v2/models/credit/infer", self.payload,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                body = response.read()
                if response.status != 200:
                    self.failures.append((response.status, body[:300]))
                    continue
                self.answers.append((time.monotonic(), json.loads(body)["model_version"]))
            except Exception as exc:  # a dropped connection is a failed request too
                self.failures.append(("exception", repr(exc)))
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            time.sleep(0.005)  # bounded: a few hundred requests a second at most on the loopback
        connection.close()

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_for_more(self, count: int, what: str, timeout: float = 60):
        start = len(self.answers)
        wait_until(lambda: len(self.answers) >= start + count, timeout, what)


def served_requests(port: int) -> dict[str, float]:
    """version -> successful inference requests a replica answered (its Prometheus counter)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("serving_requests_total{") and 'model="credit"' in line and 'code="200"' in line:
            version = line.split('version="')[1].split('"')[0]
            counts[version] = counts.get(version, 0) + float(line.rsplit(" ", 1)[1])
    return counts


def run_status(web: str, token: str, run_id: int) -> dict:
    return http_json("GET", f"{web}/api/runs/{run_id}/", token=token)[1]


# a whole topology stood up and torn down (each process given 20 s to stop); its training worker now warms its
# Spark session on the cluster before the run (pipelines.warmup): at load 15 test and teardown passed 300 s
@pytest.mark.timeout(600)
def test_a_pipeline_trained_on_the_cluster_is_served_by_two_replicas_through_nginx_with_no_failed_request(
        topology, database):
    import psycopg

    world = topology
    world.env["STUDIO_SPARK_MASTER"] = world.start_spark(workers=2)

    replicas = {name: world.start_serving(name, world.machine(name)) for name in ("serving-a", "serving-b")}
    lb = world.start_nginx(list(replicas.values()))

    web_env = world.machine("web", SERVING_URL=f"http://127.0.0.1:{lb}")
    world.run("migrate", world.python("manage.py", "migrate", "--noinput"), web_env)
    world.run("demo", world.python("manage.py", "studio_demo"), web_env)
    token = world.run("token", world.python("manage.py", "drf_create_token", "admin"), web_env).split()[2]
    web = world.start_web(web_env)
    train = world.start("worker-train", world.python("manage.py", "run_huey"),
                        world.machine("worker-train", STUDIO_QUEUE_NAME=world.env["STUDIO_TRAINING_QUEUE"]))
    light = world.start("worker-light", world.python("manage.py", "run_huey"), world.machine("worker-light"))

    [pipeline] = http_json("GET", f"{web}/api/pipelines/", token=token)[1]["results"]
    status, full = http_json("POST", f"{web}/api/runs/", {"pipeline": pipeline["id"], "engine": "spark"}, token)
    assert status == 201, full
    status, preview = http_json("POST", f"{web}/api/runs/", {"pipeline": pipeline["id"], "mode": "until",
                                                             "node": "split"}, token)
    assert status == 201, preview
    logs = [world.logs["worker-train"], world.logs["worker-light"], world.logs["web"]]
    wait_until(lambda: run_status(web, token, full["id"])["status"] in ("succeeded", "failed"), 240,
               "the Spark run finished", logs)
    assert run_status(web, token, full["id"])["status"] == "succeeded", run_status(web, token, full["id"])
    wait_until(lambda: run_status(web, token, preview["id"])["status"] == "succeeded", 120, "the preview", logs)
    with psycopg.connect(database) as connection:
        ran_by = dict(connection.execute("SELECT id, worker FROM runs_run").fetchall())
    assert ran_by[full["id"]].endswith(f":{train.pid}") and ran_by[preview["id"]].endswith(f":{light.pid}")
    assert any(app["name"] for app in world.spark_applications())  # the training worker's driver on the cluster

    status, deployment = http_json("POST", f"{web}/api/deployments/publish/", {
        "run": full["id"], "name": "credit", "model_node": "train_gbdt"}, token)
    assert status == 201, deployment
    for name, port in replicas.items():
        wait_until(lambda p=port: http_json("GET", f"http://127.0.0.1:{p}/v2/models/credit")[0] == 200, 30,
                   f"{name} serving version 1", [world.logs[name]])

    row = {"inputs": [{"name": s["name"], "datatype": s["datatype"], "shape": [1],
                       "data": [0.0 if s["datatype"] == "FP64" else "x"]} for s in deployment["input_spec"]]}
    before = {name: served_requests(port) for name, port in replicas.items()}
    with Load(lb, json.dumps(row).encode()) as load:
        load.wait_for_more(200, "load through nginx")
        spread = {name: sum(served_requests(port).values()) - sum(before[name].values())
                  for name, port in replicas.items()}
        assert all(count > 0 for count in spread.values()), spread  # both replicas answer

        world.kill("serving-a")  # mid-load, without warning
        load.wait_for_more(300, "load after a replica was killed")
        assert load.failures == []

        world.start_serving("serving-a", world.machine("serving-a"), port=replicas["serving-a"])
        status, _ = http_json("POST", f"{web}/api/deployments/publish/", {
            "run": full["id"], "name": "credit", "model_node": "train_gbdt"}, token)  # version 2, mid-load
        assert status == 201
        wait_until(lambda: all(served_requests(p).get("2", 0) > 0 for p in replicas.values()), 60,
                   "version 2 answering on both replicas", [world.logs["serving-a"], world.logs["serving-b"]])
        both_on_2 = time.monotonic()
        load.wait_for_more(100, "load on version 2")
    assert load.failures == [], load.failures[:5]
    versions = [version for at, version in load.answers]
    assert versions[0] == "1" and versions[-1] == "2"
    assert {v for at, v in load.answers if at > both_on_2} == {"2"}  # every answer once both replicas swapped
    print(f"\n{len(load.answers)} requests through nginx, 0 failed; per replica before the kill: {spread}")

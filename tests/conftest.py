from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_PIPELINE = REPO / "examples" / "credit_default.json"


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory) -> Path:
    """The demo's generated CSV, written once per test session into a data root of its own."""
    from operators.library.sample_data import credit_default_table

    root = tmp_path_factory.mktemp("data-root")
    (root / "data").mkdir()
    credit_default_table().to_csv(root / "data" / "credit_default.csv", index=False)
    return root / "data" / "credit_default.csv"


@pytest.fixture
def data_root(tmp_path, demo_csv) -> Path:
    """A data root holding a copy of the demo CSV at data/credit_default.csv, private to one test."""
    root = tmp_path / "data-root"
    (root / "data").mkdir(parents=True)
    shutil.copy(demo_csv, root / "data" / "credit_default.csv")
    return root


@pytest.fixture
def store(tmp_path):
    from pipelines import FileSystemStore

    return FileSystemStore(tmp_path / "artifacts")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """A real S3 HTTP server (moto's server mode) on a free loopback port, for the session: the object store's
    code talks to it through boto3 exactly as it would to MinIO or AWS."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115 (open for the session)
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(f"moto's server exited with {server.returncode}; see {log.name}") from None
            time.sleep(0.1)
    else:
        raise RuntimeError(f"moto's server did not answer on {endpoint}; see {log.name}")
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    yield endpoint
    server.terminate()
    server.wait(timeout=10)
    log.close()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def s3_url(s3_endpoint, monkeypatch) -> str:
    """A fresh bucket on the session's S3 server, as the URL STUDIO_ARTIFACTS takes."""
    import uuid

    import boto3

    bucket = f"studio-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    monkeypatch.setenv("STUDIO_S3_ENDPOINT", s3_endpoint)
    return f"s3://{bucket}/studio"


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback",
                     "live_server"}


def pytest_collection_modifyitems(config, items):
    """A test marked backend_independent is left out of the PostgreSQL + Redis pass, so it must not use the
    session's database: one that does is refused here, whatever the marker's author thought."""
    wrong = [item.nodeid for item in items if item.get_closest_marker("backend_independent")
             and (item.get_closest_marker("django_db") or DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())))]
    if wrong:
        raise pytest.UsageError("backend_independent on a test that uses the database (the PostgreSQL pass would "
                                "skip it):\n" + "\n".join(wrong))


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook; plain pytest runs without it
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs each pytest pass in two xdist workers with --dist loadgroup: one test at a time to the
    worker with the least left, except the Spark suite (tests/spark/), one group run by one worker, sent first
    (xdist sends the largest groups first). Its local[2] SparkSession (tests/spark/conftest.py) then starts once
    instead of in each worker, where two would fight for the machine's two cores, while the other worker runs
    everything else. The group is named here by path rather than with xdist_group markers: xdist 3.8 groups by a
    suffix it writes into the node id, which pytest 9.2's node ids no longer take. Per-worker names (queue,
    channel prefix) are set by tests/worker_names.py, before the settings are read."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class SparkInOneWorker(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "spark" if nodeid.startswith("tests/spark/") else super()._split_scope(nodeid)

    return SparkInOneWorker(config, log)

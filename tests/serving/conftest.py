"""Shared fixtures of the serving tests: a GBDT trained on the demo table through the feature kernel, its
bundle, and a real serving process (uvicorn in a subprocess) watching a registry file."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

FEATURES = dict(label="default", exclude=["customer_id", "application_date"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train(n_train: int = 4000, seed: int = 3, trees: int = 100, learning_rate: float = 0.1):
    """(feature_state, model) fitted on a generated credit table: the kernels' real fit, LightGBM text."""
    import lightgbm as lgb

    from operators.library.features import FeatureConfig, apply_state, fit_feature_state
    from operators.library.sample_data import credit_default_table
    from operators.values import Fitted

    table = credit_default_table(n_train, seed=seed)
    state, _ = fit_feature_state(table, FeatureConfig(**FEATURES))
    features = apply_state(table, state)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31, "learning_rate": learning_rate,
                         "seed": seed, "num_threads": 2}, lgb.Dataset(features.X, features.label), trees)
    model = Fitted("lightgbm", {"feature_names": features.names, "categorical": []},
                   texts={"model": booster.model_to_string()})
    return state, model


@pytest.fixture(scope="session")
def scoring_table():
    """10,000 rows the models never saw, with missing values, for parity and load."""
    from operators.library.sample_data import credit_default_table

    return credit_default_table(10_000, seed=99)


@pytest.fixture(scope="session")
def trained():
    return train()


@pytest.fixture(scope="session")
def bundles(tmp_path_factory, trained, scoring_table):
    """Two bundles of one deployment: version 1 and a retrained version 2 (different scores)."""
    from pipelines.bundle import write_bundle

    root = tmp_path_factory.mktemp("bundles")
    state, model = trained
    one = write_bundle(root / "credit-1", name="credit", version="1", model=model, feature_state=state,
                       holdout=scoring_table.tail(500), source={"test": "v1"})
    state2, model2 = train(seed=5, trees=60, learning_rate=0.2)
    two = write_bundle(root / "credit-2", name="credit", version="2", model=model2, feature_state=state2,
                       holdout=scoring_table.tail(500), source={"test": "v2"})
    return {"1": one, "2": two}


def registry_models(bundles: dict, live: str | None, name: str = "credit") -> dict:
    return {name: {"live": live, "versions": {v: {"bundle": str(p)} for v, p in bundles.items()}}}


def http(method: str, url: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 30):
    """(status, headers, body) of one request; 4xx / 5xx answers are returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class Server:
    def __init__(self, port: int, registry: Path, data_dir: Path, proc: subprocess.Popen):
        self.port, self.registry, self.data_dir, self.proc = port, registry, data_dir, proc
        self.url = f"http://127.0.0.1:{port}"

    def get(self, path: str):
        status, _, body = http("GET", self.url + path)
        return status, (json.loads(body) if body else None)

    def get_text(self, path: str) -> str:
        return http("GET", self.url + path)[2].decode()

    def post_json(self, path: str, payload) -> tuple[int, dict]:
        status, _, body = http("POST", self.url + path, json.dumps(payload).encode(),
                               {"Content-Type": "application/json"})
        return status, json.loads(body)

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"{what} did not hold within {timeout} s")


@contextlib.contextmanager
def serving_process(tmp_path: Path, env_extra: dict | None = None):
    """A real `python -m studio.serving` on a free port, with its data dir under tmp_path. Keys are off
    (SERVING_REQUIRE_KEYS=0, explicitly) unless `env_extra` turns them on: these tests are not about keys;
    test_serving_keys.py is."""
    data_dir = tmp_path / "var"
    registry = data_dir / "serving" / "registry.json"
    port = free_port()
    env = {**os.environ, "STUDIO_DATA_DIR": str(data_dir), "SERVING_REQUIRE_KEYS": "0", **(env_extra or {})}
    with open(tmp_path / "serving.log", "wb") as log_file:  # the child keeps its own descriptor of the log
        proc = subprocess.Popen([sys.executable, "-m", "studio.serving", "--port", str(port)], cwd=REPO, env=env,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(port, registry, data_dir, proc)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.get("/v2/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("serving did not start:\n" + (tmp_path / "serving.log").read_text())
            time.sleep(0.1)
        yield server
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def v2_json(columns: dict, spec: list[dict], **extra) -> dict:
    """An Open Inference Protocol JSON request, one tensor per column (NaN as null)."""
    inputs = []
    for s in spec:
        values = columns[s["name"]]
        data = [None if (isinstance(v, float) and v != v) else v for v in values.tolist()]
        inputs.append({"name": s["name"], "datatype": s["datatype"], "shape": [len(data)], "data": data})
    return {"inputs": inputs, **extra}


def v2_binary(columns: dict, spec: list[dict], *, binary_output: bool = True) -> tuple[bytes, dict]:
    """The same request with every tensor in the binary extension; returns (body, headers)."""
    inputs, blobs = [], []
    for s in spec:
        values = columns[s["name"]]
        if s["datatype"] == "BYTES":
            parts = []
            for v in values:
                raw = ("" if v is None else v).encode()
                parts.append(len(raw).to_bytes(4, "little") + raw)
            blob = b"".join(parts)
        else:
            blob = np.ascontiguousarray(values, dtype="<f8").tobytes()
        blobs.append(blob)
        inputs.append({"name": s["name"], "datatype": s["datatype"], "shape": [len(values)],
                       "parameters": {"binary_data_size": len(blob)}})
    header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": binary_output}}).encode()
    return header + b"".join(blobs), {"Inference-Header-Content-Length": str(len(header)),
                                      "Content-Type": "application/octet-stream"}


def decode_v2(headers: dict, body: bytes) -> tuple[dict, dict]:
    """(response JSON, name -> numpy output), binary outputs included."""
    length = {k.lower(): v for k, v in headers.items()}.get("inference-header-content-length")
    if length is None:
        response = json.loads(body)
        return response, {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in response["outputs"]}
    response = json.loads(body[:int(length)])
    offset, outputs = int(length), {}
    for o in response["outputs"]:
        dtype = {"FP64": "<f8", "INT64": "<i8"}[o["datatype"]]
        if "data" in o:
            outputs[o["name"]] = np.asarray(o["data"]).reshape(o["shape"])
            continue
        size = o["parameters"]["binary_data_size"]
        outputs[o["name"]] = np.frombuffer(body[offset:offset + size], dtype=dtype).reshape(o["shape"])
        offset += size
    return response, outputs

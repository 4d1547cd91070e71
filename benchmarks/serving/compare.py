"""The comparison half of the serving benchmark: MLServer (mlserver-lightgbm, the same LightGBM model on the
featurized row, since MLServer has no feature logic) and `mlflow models serve` (a pyfunc wrapping the same
bundle, so it runs the same feature kernel), each installed from PyPI into its own virtual environment under
benchmarks/.venvs (gitignored), one server process each, driven by hey exactly like the studio's server."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

from .bench import REPO, Server, free_port, hey, line

VENVS = REPO / "benchmarks" / ".venvs"
MLSERVER = ["mlserver==1.7.1", "mlserver-lightgbm==1.7.1"]
MLFLOW = ["mlflow==3.17.2", "networkx", "pydantic>=2.7"]


def ensure_venv(name: str, requirements: list[str]) -> Path:
    venv = VENVS / name
    stamp = venv / ".installed"
    wanted = "\n".join(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return venv
    print(f"installing {', '.join(requirements)} into {venv} ...", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *requirements], check=True)
    stamp.write_text(wanted)
    return venv


PYFUNC = '''
import mlflow.pyfunc


class BundleModel(mlflow.pyfunc.PythonModel):
    """The studio bundle (feature kernel + LightGBM) behind MLflow's pyfunc interface."""

    def load_context(self, context):
        from pipelines.bundle import load_bundle

        self.bundle = load_bundle(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):
        return self.bundle.score_table(model_input)["probability"]
'''


def compare(hey_bin: str, work: Path, bundle_dir: Path, results: dict, *, seconds: float) -> None:
    lgb_pin = f"lightgbm=={version('lightgbm')}"
    servers = []
    try:
        # ---- MLServer ---------------------------------------------------------------------------------
        venv = ensure_venv("mlserver", MLSERVER + [lgb_pin])
        root = work / "mlserver"
        (root / "credit").mkdir(parents=True)
        shutil.copy(work / "model.txt", root / "credit" / "model.txt")
        (root / "credit" / "model-settings.json").write_text(json.dumps({
            "name": "credit", "implementation": "mlserver_lightgbm.LightGBMModel",
            "parameters": {"uri": "./model.txt"}}))
        port = free_port()
        # parallel_workers 0: inference in the server process itself, like the studio's (no worker pool IPC)
        (root / "settings.json").write_text(json.dumps({
            "http_port": port, "grpc_port": free_port(), "metrics_port": free_port(), "parallel_workers": 0}))
        row = np.load(work / "row.npy").reshape(-1)
        (work / "mlserver.json").write_text(json.dumps({"inputs": [
            {"name": "input-0", "shape": [1, len(row)], "datatype": "FP64", "data": row.tolist()}]}))
        mlserver = Server("mlserver", [str(venv / "bin" / "mlserver"), "start", str(root)], port, {},
                          "/v2/health/ready", work / "mlserver.log")
        servers.append(mlserver)
        url = f"http://127.0.0.1:{port}/v2/models/credit/infer"
        hey(hey_bin, url, work / "mlserver.json", seconds=2, concurrency=4)
        results["mlserver_1000"] = hey(hey_bin, url, work / "mlserver.json", seconds=seconds, concurrency=10,
                                       rate=100)
        results["mlserver_max"] = hey(hey_bin, url, work / "mlserver.json", seconds=seconds, concurrency=16)
        mlserver.stop()
        servers.remove(mlserver)

        # ---- MLflow -----------------------------------------------------------------------------------
        venv = ensure_venv("mlflow", MLFLOW + [lgb_pin])
        (work / "pyfunc_src").mkdir()
        (work / "pyfunc_src" / "bundle_pyfunc.py").write_text(PYFUNC)
        model_dir = work / "mlflow-model"
        env = {"PYTHONPATH": f"{REPO}:{work / 'pyfunc_src'}", "MLFLOW_TRACKING_URI": f"file://{work / 'mlruns'}",
               "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}  # mlflow execs its own uvicorn
        subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import sys, mlflow.pyfunc; from bundle_pyfunc import BundleModel; "
                        f"mlflow.pyfunc.save_model({str(model_dir)!r}, python_model=BundleModel(), "
                        f"artifacts={{'bundle': {str(bundle_dir)!r}}})"],
                       check=True, env={**os.environ, **env}, capture_output=True)
        port = free_port()
        with open(work / "one.json") as handle:
            request = json.load(handle)
        record = {t["name"]: t["data"][0] for t in request["inputs"]}
        (work / "mlflow.json").write_text(json.dumps({"dataframe_records": [record]}))
        mlflow = Server("mlflow", [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir), "-p",
                                   str(port), "-h", "127.0.0.1", "--env-manager", "local", "-w", "1"], port, env,
                        "/ping", work / "mlflow.log")
        servers.append(mlflow)
        url = f"http://127.0.0.1:{port}/invocations"
        hey(hey_bin, url, work / "mlflow.json", seconds=2, concurrency=4)
        results["mlflow_1000"] = hey(hey_bin, url, work / "mlflow.json", seconds=seconds, concurrency=10, rate=100)
        results["mlflow_max"] = hey(hey_bin, url, work / "mlflow.json", seconds=seconds, concurrency=16)
    finally:
        for server in servers:
            server.stop()

    print("\nAgainst MLServer and MLflow, single-row requests, one server process each:")
    print(line("MLServer (model only) @ 1,000 req/s", results["mlserver_1000"]))
    print(line("MLServer, max (c=16)", results["mlserver_max"]))
    print(line("mlflow pyfunc @ 1,000 req/s", results["mlflow_1000"]))
    print(line("mlflow pyfunc, max (c=16)", results["mlflow_max"]))
    full = results["full_max"]["rps"]
    print(f"  studio full path / MLServer throughput = {full / results['mlserver_max']['rps']:.2f}x (goal >= 3x); "
          f"/ mlflow = {full / results['mlflow_max']['rps']:.2f}x (goal >= 5x)")

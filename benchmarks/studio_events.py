"""Studio figures, measured on real processes (uvicorn web + huey worker, as `make run` starts them):

  * event latency from the worker's emit (the executor's Event.time) to a WebSocket client receiving it,
    p50 / p99, without Redis (consumers tail the RunEvent table) and with Redis (channels-redis wake-ups);
  * API p50 for the operator catalogue and for a pipeline save that makes a new version.

    .venv/bin/python benchmarks/studio_events.py [--runs 4]

Uses tests/studio/live.py to set up a throw-away studio (own data dir; SQLite; Redis db 7 with a unique
key prefix for the Redis case).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
import tempfile

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from websockets.exceptions import ConnectionClosedOK  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from tests.studio.live import LiveStudio  # noqa: E402

REDIS = "redis://127.0.0.1:6379/7"


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def graph(seconds: float) -> dict:
    node = lambda i, op, **p: {"id": i, "operator": op, "params": p, "position": {"x": 0, "y": 0}}  # noqa: E731
    return {"name": "bench", "nodes": [node("emit", "test_emit", value=1), node("add", "test_add_one", sleep=seconds),
                                       node("add2", "test_add_one")],
            "edges": [{"source": "emit", "source_port": "out", "target": "add", "target_port": "in"},
                      {"source": "add", "source_port": "out", "target": "add2", "target_port": "in"}]}


def event_latencies(studio: LiveStudio, runs: int) -> list[float]:
    project = studio.get("/api/projects/")["results"][0]["id"]
    pipeline = studio.post("/api/pipelines/", {"project": project, "name": "bench", "graph": graph(3.0)})["id"]
    latencies = []
    for _ in range(runs):
        run = studio.post("/api/runs/", {"pipeline": pipeline, "force": True})
        with connect(studio.ws_url(run["id"]), open_timeout=20) as ws:
            live = False
            while True:
                try:
                    event = json.loads(ws.recv(timeout=60))
                except ConnectionClosedOK:
                    break
                received = time.time()
                live = live or event["type"] == "run_started"  # before this: replayed, not live
                if live and event["type"] != "run_finished":  # run_finished is written after the executor returns
                    latencies.append((received - event["time"]) * 1000)
    return latencies


def api_p50(studio: LiveStudio, n: int = 60) -> tuple[float, float]:
    headers = {"Authorization": f"Token {studio.token}"}
    project = studio.get("/api/projects/")["results"][0]["id"]
    with httpx.Client(base_url=studio.url(""), headers=headers, timeout=30) as client:
        catalogue = []
        for _ in range(n):
            started = time.perf_counter()
            assert client.get("/api/operators/").status_code == 200
            catalogue.append((time.perf_counter() - started) * 1000)
        g = graph(0.0)
        pid = client.post("/api/pipelines/", json={"project": project, "name": "save", "graph": g}).json()["id"]
        saves = []
        for i in range(n):
            g["nodes"][0]["params"]["value"] = i + 2  # a changed graph: a new version each time
            started = time.perf_counter()
            response = client.patch(f"/api/pipelines/{pid}/", json={"graph": g})
            saves.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and response.json()["version_created"]
    return statistics.median(catalogue), statistics.median(saves)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=4, help="runs per configuration (~20 events each)")
    args = parser.parse_args()
    results = {}
    for label, redis in (("SQLite, no Redis (DB tail, 0.1 s poll)", ""), ("SQLite + Redis (channels-redis)", REDIS)):
        os.environ.pop("DATABASE_URL", None)
        if redis:
            os.environ["REDIS_URL"] = redis
        else:
            os.environ.pop("REDIS_URL", None)
        studio = LiveStudio(Path(tempfile.mkdtemp(prefix="studio-bench-")))
        try:
            worker = studio.start_worker()
            time.sleep(3)
            lat = event_latencies(studio, args.runs)
            results[label] = lat
            print(f"{label}: {len(lat)} events, latency p50 {percentile(lat, 50):.1f} ms, "
                  f"p99 {percentile(lat, 99):.1f} ms")
            if not redis:
                catalogue, save = api_p50(studio)
                print(f"API p50: GET /api/operators/ {catalogue:.1f} ms; pipeline save (PATCH, new version) "
                      f"{save:.1f} ms")
            studio.stop(worker)
        finally:
            studio.close()
    a, b = (percentile(v, 50) for v in results.values())
    print(f"ratio p50 no-Redis / Redis: {a / b:.1f}x")


if __name__ == "__main__":
    main()

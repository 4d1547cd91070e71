"""The studio as it runs: real uvicorn and worker processes, real WebSockets, kill -9, restarts. On SQLite
by default; in `make test`'s second pass on PostgreSQL + Redis (channels-redis, RedisHuey)."""
from __future__ import annotations

import json
import signal
import time

import pytest
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

from tests.studio.conftest import edge, node
from tests.studio.live import LiveStudio

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    live = LiveStudio(tmp_path_factory.mktemp("live"))
    yield live
    live.close()


def slow_pipeline(studio, name: str, first: float, second: float) -> int:
    """emit (sleeps `first`) -> add (sleeps `second`, reporting progress) -> add2."""
    project = studio.get("/api/projects/")["results"][0]["id"]
    graph = {"name": name, "nodes": [node("emit", "test_emit", sleep=first, value=1),
                                     node("add", "test_add_one", sleep=second), node("add2", "test_add_one")],
             "edges": [edge("emit", "out", "add", "in"), edge("add", "out", "add2", "in")]}
    return studio.post("/api/pipelines/", {"project": project, "name": name, "graph": graph})["id"]


def node_status(run: dict, name: str) -> str | None:
    return next((n["status"] for n in run["nodes"] if n["node"] == name), None)


def read_until_closed(ws, timeout: float = 60) -> list[dict]:
    events = []
    while True:
        try:
            events.append(json.loads(ws.recv(timeout=timeout)))
        except ConnectionClosedOK:
            return events


def test_websocket_streams_events_in_order_and_replays_what_was_missed(studio):
    worker = studio.start_worker()
    try:
        pipeline = slow_pipeline(studio, "ws", 0.2, 3.0)
        run = studio.post("/api/runs/", {"pipeline": pipeline, "force": True})
        with connect(studio.ws_url(run["id"]), open_timeout=20) as ws:
            first = [json.loads(ws.recv(timeout=60)) for _ in range(4)]
        seen = first[-1]["seq"]
        # Disconnected: wait until the worker has stored events this client did not get.
        studio.wait_run(run["id"], until=lambda r: r["last_seq"] >= seen + 3, timeout=60)
        with connect(studio.ws_url(run["id"], after=seen), open_timeout=20) as ws:
            rest = read_until_closed(ws)
        stored = studio.get(f"/api/runs/{run['id']}/events/")
        assert first + rest == stored  # every event exactly once, in order, equal to what was stored
        assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
        assert rest[0]["seq"] == seen + 1 and rest[-1]["type"] == "run_finished"
        assert rest[-1]["data"]["status"] == "succeeded"
        assert any(e["type"] == "node_progress" and e["node"] == "add" for e in rest)
        # A finished run's stream replays from any point and closes.
        with connect(studio.ws_url(run["id"], after=len(stored) - 2), open_timeout=20) as ws:
            assert read_until_closed(ws) == stored[-2:]
        # Only members see a run's events; a bad ?after is refused too; a ticket works once; a token in the
        # URL is no credential.
        once = studio.ws_url(run["id"], after=len(stored) - 1)
        with connect(once, open_timeout=20) as ws:
            assert read_until_closed(ws) == stored[-1:]
        for url in (studio.ws_url(run["id"], token=studio.bob_token), studio.ws_url(run["id"], ticket="nope"),
                    studio.ws_url(run["id"]).replace("?ticket", "?after=-1&ticket"), once,
                    f"ws://127.0.0.1:{studio.port}/ws/runs/{run['id']}/?token={studio.token}",
                    studio.ws_url(run["id"]).split("?")[0]):
            with pytest.raises(InvalidStatus):
                connect(url, open_timeout=20).close()
    finally:
        studio.stop(worker)


def test_cancel_reaches_the_worker(studio):
    worker = studio.start_worker()
    try:
        pipeline = slow_pipeline(studio, "cancel", 0.0, 120.0)
        run = studio.post("/api/runs/", {"pipeline": pipeline, "force": True})
        studio.wait_run(run["id"], until=lambda r: node_status(r, "add") == "running", timeout=60)
        studio.post(f"/api/runs/{run['id']}/cancel/")
        started = time.monotonic()
        done = studio.wait_run(run["id"], timeout=30)
        assert done["status"] == "cancelled" and time.monotonic() - started < 15
        assert node_status(done, "add") == "cancelled" and node_status(done, "add2") == "cancelled"
        types = [e["type"] for e in studio.get(f"/api/runs/{run['id']}/events/")]
        assert types.index("run_cancel_requested") < types.index("run_finished")
        # The worker goes on with the next run.
        after = studio.post("/api/runs/", {"pipeline": pipeline, "mode": "only", "node": "emit", "force": True})
        assert studio.wait_run(after["id"])["status"] == "succeeded"
    finally:
        studio.stop(worker)


def test_killed_worker_run_is_recovered_by_the_next_worker(studio):
    worker = studio.start_worker()
    pipeline = slow_pipeline(studio, "kill", 0.1, 4.0)
    run = studio.post("/api/runs/", {"pipeline": pipeline, "force": True})
    studio.wait_run(run["id"], until=lambda r: node_status(r, "add") == "running", timeout=60)
    studio.stop(worker, signal.SIGKILL)
    assert studio.get(f"/api/runs/{run['id']}/")["status"] == "running"  # left behind by the dead worker
    replacement = studio.start_worker()
    try:
        done = studio.wait_run(run["id"], timeout=120)
        assert done["status"] == "succeeded", done["error"]
        assert done["attempts"] == 2 and done["metrics"]["add2"] == {"value": 3}
        events = studio.get(f"/api/runs/{run['id']}/events/")
        requeued = [e for e in events if e["type"] == "run_requeued"]
        assert len(requeued) == 1 and f":{worker.pid} stopped while running it" in requeued[0]["data"]["reason"]
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finally:
        studio.stop(replacement)


def test_queued_runs_survive_a_web_restart_and_previews_go_first(studio):
    fast = slow_pipeline(studio, "restart", 0.0, 0.5)
    demo = next(p for p in studio.get("/api/pipelines/")["results"] if p["name"] != "restart"
                and p["latest"]["graph"]["nodes"][0]["operator"] == "import_csv")
    full = [studio.post("/api/runs/", {"pipeline": fast, "force": True}),
            studio.post("/api/runs/", {"pipeline": demo["id"]})]
    preview = studio.post("/api/runs/", {"pipeline": fast, "mode": "only", "node": "emit", "force": True})
    assert preview["priority"] > full[0]["priority"] == full[1]["priority"]
    studio.stop(studio.web)  # no worker is running: the three runs wait in the queue
    studio.start_web()
    worker = studio.start_worker()
    try:
        runs = [studio.wait_run(r["id"], timeout=240) for r in (*full, preview)]
        assert [r["status"] for r in runs] == ["succeeded"] * 3, \
            [(r["error"], [n.get("error") for n in r["nodes"] if n.get("error")]) for r in runs]
        assert runs[2]["started_at"] < min(runs[0]["started_at"], runs[1]["started_at"])  # the preview first
        metrics = runs[1]["metrics"]
        assert any(m.get("auc", 0) > 0.7 for m in metrics.values()), metrics  # the demo pipeline, end to end
        report = next(n for n in runs[1]["nodes"] if "report" in n["outputs"])
        output = studio.get(f"/api/runs/{runs[1]['id']}/outputs/{report['node']}/report/")
        assert output["kind"] == "report" and output["figures"]
    finally:
        studio.stop(worker)


def test_with_redis_the_worker_wakes_websocket_clients_at_once(tmp_path):
    """With REDIS_URL the consumer sleeps until the worker's channels-redis message (the database poll is only a
    safety net). The poll is set to 30 s here, so events arriving within a second of being stored can only have
    come through the channel layer."""
    live = LiveStudio(tmp_path, REDIS_URL="redis://127.0.0.1:6379/7", STUDIO_EVENT_POLL_SECONDS="30")
    try:
        worker = live.start_worker()
        pipeline = slow_pipeline(live, "redis", 0.5, 2.0)
        run = live.post("/api/runs/", {"pipeline": pipeline, "force": True})
        lags = []
        with connect(live.ws_url(run["id"]), open_timeout=20) as ws:
            started = time.time()
            while True:
                try:
                    event = json.loads(ws.recv(timeout=20))
                except ConnectionClosedOK:
                    break
                lags.append(time.time() - event["time"])
        elapsed = time.time() - started
        stored = live.get(f"/api/runs/{run['id']}/events/")
        stored = stored.get("results", stored) if isinstance(stored, dict) else stored
        assert len(lags) == len(stored) and lags, live.logs()
        live_lags = sorted(lags[len(lags) // 4:])  # events stored before the socket opened are not "live"
        assert live_lags[len(live_lags) // 2] < 1.0 and elapsed < 20, (live_lags, elapsed, live.logs())
        live.stop(worker)
    finally:
        live.close()


def test_expression_attacks_fail_their_nodes_and_the_worker_runs_the_next_pipeline(studio):
    """The issue's attacks on split_rule / filter_rows, through the real worker: each node fails at once with
    the expression's bound, naming the field, and the same worker process runs the next pipeline."""
    worker = studio.start_worker()
    try:
        project = studio.get("/api/projects/")["results"][0]["id"]
        attacks = {"power": "x > 10**10**10", "repeat": '"x" * 10**10 == "x"', "deep": "-" * 1990 + "x > 0"}
        graph = {"name": "attacks", "nodes": [node("make", "test_make_table"),
                                              *[node(name, "split_rule" if name == "deep" else "filter_rows",
                                                     expression=text) for name, text in attacks.items()]],
                 "edges": [edge("make", "table", name, "table") for name in attacks]}
        pipeline = studio.post("/api/pipelines/", {"project": project, "name": "attacks", "graph": graph})["id"]
        run = studio.wait_run(studio.post("/api/runs/", {"pipeline": pipeline, "force": True})["id"], timeout=120)
        assert run["status"] == "failed", run
        errors = {n["node"]: n["error"] for n in run["nodes"] if n["node"] in attacks}
        assert all(n["status"] == "failed" for n in run["nodes"] if n["node"] in attacks), run["nodes"]
        assert all(error["field"] == "expression" for error in errors.values()), errors
        assert "integer powers are limited to 4,096 bits" in errors["power"]["message"]
        assert "repetition is limited to 10,000,000 characters" in errors["repeat"]["message"]
        assert "nested more than 100 levels deep" in errors["deep"]["message"]
        # Refused before any work: each node took a small fraction of the 30 s that would show an evaluation.
        assert all(n["duration"] < 30 for n in run["nodes"] if n["node"] in attacks), run["nodes"]
        after = studio.post("/api/runs/", {"pipeline": slow_pipeline(studio, "after-attacks", 0.0, 0.1),
                                           "force": True})
        assert studio.wait_run(after["id"])["status"] == "succeeded"
        assert worker.poll() is None  # the same worker process
    finally:
        studio.stop(worker)


def test_a_node_over_the_memory_limit_fails_alone_and_the_worker_goes_on(studio):
    """With STUDIO_WORKER_MEMORY_LIMIT=1g, a node writing 4 GiB fails with a "memory limit" error while a
    parallel node of the same run succeeds; the same worker then runs the demo pipeline (LightGBM, pyarrow)
    from scratch under that ceiling."""
    worker = studio.start_worker(STUDIO_WORKER_MEMORY_LIMIT="1g")
    try:
        project = studio.get("/api/projects/")["results"][0]["id"]
        graph = {"name": "greedy", "nodes": [node("grab", "test_allocate", megabytes=4096),
                                             node("emit", "test_emit", value=1)], "edges": []}
        pipeline = studio.post("/api/pipelines/", {"project": project, "name": "greedy", "graph": graph})["id"]
        run = studio.wait_run(studio.post("/api/runs/", {"pipeline": pipeline, "force": True})["id"], timeout=120)
        assert run["status"] == "failed", run
        assert node_status(run, "grab") == "failed" and node_status(run, "emit") == "succeeded", run["nodes"]
        error = next(n["error"] for n in run["nodes"] if n["node"] == "grab")
        assert "went over the memory limit of 1.0 GiB" in error["message"], error
        demo = next(p for p in studio.get("/api/pipelines/")["results"]
                    if p["latest"]["graph"]["nodes"][0]["operator"] == "import_csv")
        done = studio.wait_run(studio.post("/api/runs/", {"pipeline": demo["id"], "force": True})["id"], timeout=300)
        assert done["status"] == "succeeded" and done["attempts"] == 1, done
        assert any(m.get("auc", 0) > 0.7 for m in done["metrics"].values()), done["metrics"]
        assert worker.poll() is None  # the same worker process ran both
        assert "worker memory limit: 1.0 GiB" in (studio.root / "worker.log").read_text()
    finally:
        studio.stop(worker)

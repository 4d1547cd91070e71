"""python_script through the real studio: the web process validates it (off unless STUDIO_ALLOW_SCRIPTS=1), the
real worker runs attacks from a plain account's own project (an endless loop, 10 GiB, the studio's SECRET_KEY,
its database file and secret key file), each fails its node with a clear error, and the same worker process
runs the next pipeline."""
from __future__ import annotations

import httpx
import pytest

from operators.sandbox import landlock_abi
from tests.studio.conftest import edge, node
from tests.studio.live import LiveStudio

pytestmark = [pytest.mark.slow, pytest.mark.skipif(landlock_abi() < 6, reason="needs Linux Landlock ABI 6")]

SCRIPT = "import os\n\ndef run(tables, params):\n{}"


def as_bob(studio, method: str, path: str, body=None):
    response = httpx.request(method, studio.url(path), json=body, timeout=30,
                             headers={"Authorization": f"Token {studio.bob_token}"})
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def script_graph(name: str, bodies: dict[str, str], **params) -> dict:
    return {"name": name, "nodes": [node("make", "test_make_table"),
                                    *[node(n, "python_script", code=SCRIPT.format(b), **params)
                                      for n, b in bodies.items()]],
            "edges": [edge("make", "table", n, "t1") for n in bodies]}


def test_scripts_are_off_unless_the_administrator_turns_them_on(tmp_path):
    studio = LiveStudio(tmp_path)
    try:
        project = studio.get("/api/projects/")["results"][0]["id"]
        graph = script_graph("off", {"py": "    return {'table': tables['t1']}\n"})
        response = httpx.post(studio.url("/api/pipelines/"), json={"project": project, "name": "off", "graph": graph},
                              headers={"Authorization": f"Token {studio.token}"}, timeout=30)
        text = response.text
        if response.status_code < 300:  # a pipeline may be saved while invalid; its run is refused
            pipeline = response.json()["id"]
            response = httpx.post(studio.url("/api/runs/"), json={"pipeline": pipeline},
                                  headers={"Authorization": f"Token {studio.token}"}, timeout=30)
            text = response.text
        assert response.status_code == 400 and "STUDIO_ALLOW_SCRIPTS=1" in text, text
    finally:
        studio.close()


def test_script_attacks_fail_their_nodes_and_the_worker_runs_the_next_pipeline(tmp_path):
    studio = LiveStudio(tmp_path, STUDIO_ALLOW_SCRIPTS="1")
    var = tmp_path / "var"
    (var / "secret_key").write_text("a key file in the data dir")  # as the studio writes one without SECRET_KEY
    worker = studio.start_worker()
    try:
        project = as_bob(studio, "POST", "/api/projects/", {"name": "bob's"})["id"]
        attacks = {
            "loop": "    while True:\n        pass\n",
            "memory": "    x = bytearray(10 * 2**30)\n",
            "secret": "    return {'table': tables['t1'].assign(k=os.environ['SECRET_KEY'])}\n",
            "database": f"    import sqlite3\n    rows = sqlite3.connect({str(var / 'studio.sqlite3')!r})"
                        ".execute('select password from auth_user').fetchall()\n",
            "key_file": f"    return {{'table': tables['t1'].assign(k=open({str(var / 'secret_key')!r}).read())}}\n",
            "listing": f"    return {{'table': tables['t1'].assign(k=str(os.listdir({str(var)!r})))}}\n",
            "name_error": "    x = 1\n    return {'table': tables[missing_name]}\n",
        }
        graph = script_graph("attacks", attacks, timeout_seconds=3, memory_mb=1024)
        pipeline = as_bob(studio, "POST", "/api/pipelines/", {"project": project, "name": "attacks",
                                                              "graph": graph})["id"]
        run_id = as_bob(studio, "POST", "/api/runs/", {"pipeline": pipeline, "force": True})["id"]
        run = studio.wait_run(run_id, timeout=180)
        errors = {n["node"]: n["error"] for n in run["nodes"] if n["node"] in attacks}
        assert all(n["status"] == "failed" for n in run["nodes"] if n["node"] in attacks), run["nodes"]
        assert all(e["field"] == "code" for e in errors.values()), errors
        messages = {name: e["message"] for name, e in errors.items()}
        assert messages["loop"] == "the script was stopped after its time limit of 3 s (timeout_seconds)"
        assert messages["memory"] == "the script went over its memory limit of 1.0 GiB (memory_mb)"
        assert messages["secret"].startswith("KeyError: 'SECRET_KEY'")
        assert messages["database"].startswith("sqlite3.OperationalError: unable to open database file") or \
            messages["database"].startswith("OperationalError"), messages["database"]
        assert messages["key_file"].startswith("PermissionError"), messages["key_file"]
        assert messages["listing"].startswith("PermissionError"), messages["listing"]
        assert messages["name_error"].startswith("NameError: name 'missing_name' is not defined (line 5 in run:")
        assert "live-tests" not in str(run)  # the studio's SECRET_KEY in these tests
        ok = script_graph("after", {"py": "    return {'table': tables['t1'].head(1)}\n"})
        after = as_bob(studio, "POST", "/api/pipelines/", {"project": project, "name": "after", "graph": ok})["id"]
        done = studio.wait_run(as_bob(studio, "POST", "/api/runs/", {"pipeline": after, "force": True})["id"])
        assert done["status"] == "succeeded", done
        assert worker.poll() is None  # the same worker process ran both
    finally:
        studio.stop(worker)
        studio.close()

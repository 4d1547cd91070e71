"""The demo pipeline end to end: from the CLI, cached on rerun, and no pickle in the store."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pipelines
from tests.conftest import DEMO_PIPELINE, REPO

PICKLE_PROTOCOL_HEADERS = tuple(bytes([0x80, proto]) for proto in range(2, 6))


def cli(*args, cwd=REPO):
    proc = subprocess.run([sys.executable, "-m", "pipelines", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    lines = proc.stdout.strip().splitlines()
    return proc, lines, json.loads(lines[-1])


def test_demo_runs_from_the_cli_then_is_fully_cached(tmp_path, data_root):
    store = tmp_path / "store"
    proc, lines, summary = cli("run", DEMO_PIPELINE, "--store", store, "--data-root", data_root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary["status"] == "succeeded"
    assert summary["metrics"]["evaluate"]["auc"] > 0.7
    assert any("train_lr" in line and "succeeded" in line for line in lines[:-1]), "no per-node progress"

    started = time.monotonic()
    proc, lines, summary = cli("run", DEMO_PIPELINE, "--store", store, "--data-root", data_root)
    wall = time.monotonic() - started
    assert proc.returncode == 0
    assert all(n["cached"] and n["status"] == "cached" for n in summary["nodes"].values())
    assert not [line for line in lines[:-1] if " running" in line], "an operator ran on a cached rerun"
    print(f"cached CLI rerun: {wall:.2f}s wall, {summary['duration'] * 1000:.1f} ms in the executor")

    # --only runs one node from its cached inputs; --from reruns a node and its downstream (--force)
    proc, lines, summary = cli("run", DEMO_PIPELINE, "--store", store, "--data-root", data_root, "--only",
                               "evaluate", "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = {nid for nid, n in summary["nodes"].items() if n["status"] == "succeeded"}
    assert ran == {"evaluate"}, summary["nodes"]
    proc, lines, summary = cli("run", DEMO_PIPELINE, "--store", store, "--data-root", data_root, "--from",
                               "train_lr", "--force")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ran = {nid for nid, n in summary["nodes"].items() if n["status"] == "succeeded"}
    assert "train_lr" in ran and "evaluate" in ran and "train_gbdt" not in ran and "import" not in ran, ran
    assert all(n["status"] == "cached" for nid, n in summary["nodes"].items() if nid not in ran)


def test_cached_rerun_runs_no_operator_in_process(tmp_path, data_root):
    store = pipelines.FileSystemStore(tmp_path / "store")
    first = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)
    assert first.status == "succeeded"
    artifacts = sorted((store.root / "objects").rglob("*"))
    events = []
    second = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root, on_event=events.append)
    assert {r.status for r in second.nodes.values()} == {"cached"}
    assert not [e for e in events if e.type == "node_running"]
    assert second.metrics == first.metrics
    assert sorted((store.root / "objects").rglob("*")) == artifacts  # nothing written again
    # how fast a cached rerun is: benchmarks/executor_overhead.py


def test_edited_source_file_is_read_again(tmp_path, data_root):
    store = pipelines.FileSystemStore(tmp_path / "store")
    pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)
    csv = data_root / "data" / "credit_default.csv"
    lines = csv.read_text().splitlines(keepends=True)
    csv.write_text("".join(lines[:-100]))
    result = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)
    assert result.nodes["import"].status == "succeeded"
    assert result.nodes["evaluate"].status == "succeeded"


def test_cli_reports_invalid_pipeline_and_missing_file(tmp_path, data_root):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nodes": [{"id": "n1", "operator": "nope"}], "edges": []}))
    proc, _, summary = cli("run", bad, "--store", tmp_path / "s")
    assert proc.returncode == 2 and summary["status"] == "invalid"
    assert summary["errors"][0]["node"] == "n1"
    proc, _, summary = cli("run", DEMO_PIPELINE, "--store", tmp_path / "s", "--data-root", tmp_path)
    assert proc.returncode == 1
    assert summary["nodes"]["import"]["status"] == "failed"
    assert "does not exist" in summary["nodes"]["import"]["error"]["message"]
    assert summary["nodes"]["evaluate"]["status"] == "skipped"


def test_import_refuses_paths_outside_the_data_root(tmp_path, data_root):
    graph = json.loads(DEMO_PIPELINE.read_text())
    graph["nodes"][0]["params"]["path"] = "../../etc/passwd"
    result = pipelines.run(graph, store_root=tmp_path / "s", data_root=data_root)
    assert result.nodes["import"].error == {"message": "path '../../etc/passwd' is outside the data root",
                                            "field": "path"}


def is_pickle(blob: bytes) -> bool:
    return blob[:2] in PICKLE_PROTOCOL_HEADERS or b"cnumpy" in blob[:200] or b"\x80\x04\x95" in blob[:16]


def test_no_pickle_in_the_artifact_store(tmp_path, data_root):
    import numpy as np

    store_root = tmp_path / "store"
    assert pipelines.run(DEMO_PIPELINE, store_root=store_root, data_root=data_root).status == "succeeded"
    files = [p for p in Path(store_root).rglob("*") if p.is_file()]
    assert any(p.suffix == ".npz" for p in files) and any(p.suffix == ".parquet" for p in files)
    for path in files:
        blob = path.read_bytes()
        assert not is_pickle(blob), f"{path} looks like a pickle"
        if path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    assert not is_pickle(archive.read(member)), f"{path}:{member} looks like a pickle"
            np.load(path, allow_pickle=False)  # would raise on object arrays

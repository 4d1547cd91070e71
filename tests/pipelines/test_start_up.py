"""What a cached rerun from the CLI imports (issue 19: a cached rerun of the demo under a second, whole process):
not networkx (pipelines.dag sorts the nodes), not scipy (operators.lazy); and pipelines.dag orders nodes exactly
as networkx's topological sort did, so runs start nodes in the same order as before."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import networkx as nx

from pipelines.dag import Dag

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from pipelines.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "networkx": "networkx" in sys.modules,
                  "scipy": any(m == "scipy" or m.startswith("scipy.") for m in sys.modules)}))
"""


def test_a_cached_cli_rerun_imports_neither_networkx_nor_scipy(tmp_path, data_root):
    args = ["run", str(REPO / "examples" / "credit_default.json"), "--store", str(tmp_path / "store"),
            "--data-root", str(data_root), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=REPO, env=env, capture_output=True, text=True)
    assert json.loads(first.stdout.strip().splitlines()[0])["status"] == "succeeded", first.stderr[-2000:]
    again = subprocess.run([sys.executable, "-c", CHILD, *args], cwd=REPO, env=env, capture_output=True, text=True)
    summary, imported = (json.loads(line) for line in again.stdout.strip().splitlines()[-2:])
    assert {n["status"] for n in summary["nodes"].values()} == {"cached"}, summary
    assert imported == {"code": 0, "networkx": False, "scipy": False}, imported


def test_the_topological_order_is_networkx_s():
    rng = random.Random(7)
    for _ in range(200):
        nodes = [f"n{i}" for i in rng.sample(range(30), rng.randint(1, 30))]
        edges = [(a, b) for i, a in enumerate(nodes) for b in nodes[i + 1:] if rng.random() < 0.15]
        rng.shuffle(edges)
        reference = nx.DiGraph()
        reference.add_nodes_from(nodes)
        reference.add_edges_from(edges)
        dag = Dag(nodes, edges)
        assert dag.topological_order() == list(nx.topological_sort(reference))
        for node in nodes:
            assert dag.ancestors(node) == nx.ancestors(reference, node)
            assert dag.descendants(node) == nx.descendants(reference, node)


def test_a_cycle_has_no_topological_order():
    assert Dag("abc", [("a", "b"), ("b", "c"), ("c", "a")]).topological_order() is None
    assert Dag("abc", [("a", "b"), ("b", "c")]).topological_order() == ["a", "b", "c"]

"""Executor overhead per node on a chain of no-op nodes, and the demo's cached rerun time.

    .venv/bin/python benchmarks/executor_overhead.py [N_NODES]
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import operators  # noqa: E402
import pipelines  # noqa: E402
from operators import Operator, Params, Port, PortType  # noqa: E402


class NoOp(Operator):
    name = "bench_noop"
    category = "Benchmark"
    description = "Passes a tiny metrics dict on."
    inputs = (Port("in", PortType.METRICS, optional=True),)
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        i: int = 0

    def run(self, ctx, inputs, params):
        return {"out": {"i": params.i}}


def main(n: int = 100) -> None:
    operators.register(NoOp)
    graph = {"nodes": [{"id": f"n{i}", "operator": "bench_noop", "params": {"i": i}} for i in range(n)],
             "edges": [{"source": f"n{i}", "source_port": "out", "target": f"n{i + 1}", "target_port": "in"}
                       for i in range(n - 1)]}
    with tempfile.TemporaryDirectory() as tmp:
        store = pipelines.FileSystemStore(tmp)
        started = time.perf_counter()
        first = pipelines.run(graph, store=store)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        second = pipelines.run(graph, store=store)
        warm = time.perf_counter() - started
        assert first.status == second.status == "succeeded"
    print(f"chain of {n} no-op nodes: {cold * 1000:.1f} ms cold ({cold / n * 1000:.2f} ms/node incl. writing "
          f"each output), {warm * 1000:.1f} ms cached ({warm / n * 1000:.3f} ms/node)")

    from operators.library.sample_data import credit_default_table
    from pipelines.store import verify

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        credit_default_table().to_csv(root / "data" / "credit_default.csv", index=False)
        store = pipelines.FileSystemStore(root / "store")
        demo = REPO / "examples" / "credit_default.json"
        started = time.perf_counter()
        pipelines.run(demo, store=store, data_root=root)
        cold = time.perf_counter() - started
        started = time.perf_counter()
        result = pipelines.run(demo, store=store, data_root=root)
        warm = time.perf_counter() - started
        assert {r.status for r in result.nodes.values()} == {"cached"}
        outputs = [fp for r in result.nodes.values() for fp in r.outputs.values()]
        started = time.perf_counter()
        for fp in outputs:
            verify(store.path(fp), store.meta(fp))
        verifying = time.perf_counter() - started
        started = time.perf_counter()
        for fp in outputs:
            store.load(fp)
        loading = time.perf_counter() - started
    print(f"demo pipeline: {cold:.3f} s first run, {warm * 1000:.1f} ms cached rerun (in process)")
    print(f"demo artifacts: {len(outputs)} loaded in {loading * 1000:.1f} ms, of which checking their sha256 "
          f"{verifying * 1000:.1f} ms ({verifying / loading:.0%})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)

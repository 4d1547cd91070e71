"""The figures behind the worker's memory ceiling (STUDIO_WORKER_MEMORY_LIMIT, operators/isolation.py):

  * what a real worker (`manage.py run_huey`, no limit) holds idle and after the demo pipeline (LightGBM,
    pyarrow, scikit-learn): address space (VmSize, what RLIMIT_AS would count), writable private memory
    (VmData, what RLIMIT_DATA counts) and resident memory (VmRSS);
  * the demo pipeline's wall time with no limit and under a 1 GiB ceiling (ratio within one run);
  * what a node run in a child process of its own would cost before its first line: a fresh Python importing
    the operator library (the alternative design), against the executor's few milliseconds per node.

    .venv/bin/python benchmarks/worker_memory.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.studio.live import LiveStudio  # noqa: E402


def status(pid: int) -> dict[str, int]:
    """VmSize, VmData, VmRSS of a process, in MiB."""
    with open(f"/proc/{pid}/status") as handle:
        fields = dict(line.split(":", 1) for line in handle)
    return {key: int(fields[key].split()[0]) // 1024 for key in ("VmSize", "VmData", "VmRSS")}


def demo_run(studio: LiveStudio) -> float:
    demo = next(p for p in studio.get("/api/pipelines/")["results"]
                if p["latest"]["graph"]["nodes"][0]["operator"] == "import_csv")
    started = time.monotonic()
    run = studio.wait_run(studio.post("/api/runs/", {"pipeline": demo["id"], "force": True})["id"], timeout=600)
    assert run["status"] == "succeeded", run
    return time.monotonic() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-worker-memory-") as root:
        studio = LiveStudio(Path(root))
        try:
            for limit in ("off", "1g"):
                worker = studio.start_worker(STUDIO_WORKER_MEMORY_LIMIT=limit)
                time.sleep(10)  # past start-up: Django, huey, the operator library
                idle = status(worker.pid)
                seconds = demo_run(studio)
                print(f"limit {limit:>3}: idle {idle} MiB; after the demo pipeline {status(worker.pid)} MiB; "
                      f"demo run {seconds:.1f} s")
                studio.stop(worker)
        finally:
            studio.close()
    starts = []
    for _ in range(3):
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import operators, lightgbm, pyarrow.parquet, sklearn.linear_model"],
                       check=True)
        starts.append(time.monotonic() - started)
    print(f"a fresh Python importing the operator library: median {statistics.median(starts) * 1000:.0f} ms "
          f"(per node, if each node ran in a child process of its own)")


if __name__ == "__main__":
    main()

"""The prediction log's writer CPU per 1,000 logged rows (issue 19), this checkout against another in one run.

    .venv/bin/python -m benchmarks.serving.log_writer [--against <checkout>] [--rounds 3] [--records 1000]

Records like the serving benchmark's numeric LR requests (1,000 rows, six FP64 inputs, two of them with about
10% missing, probability and a 0 / 1 label) are handed to PredictionLog.record, then one flush() writes them;
the writer's CPU time for recording and writing them (process time, every thread: the writer thread drains
chunks as they arrive; a loaded machine's waits do not count) per 1,000 rows is printed with the file's size.
"same": every record the same rows, as the serving benchmark sends one body over and over; "varied": different
rows per record, as a real log. Each checkout runs in its own process (`--worker`), alternating within each
round.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
INPUTS = ["age", "income", "debt_ratio", "credit_limit", "late_payments", "months_employed"]


def records(n_records: int, varied: bool, seed: int = 1):
    rng = np.random.default_rng(seed)
    base = {name: np.round(rng.random(1000) * 100, 1) for name in INPUTS}
    for name in ("income", "months_employed"):
        base[name][rng.random(1000) < 0.1] = np.nan
    probability = rng.random(1000)
    for r in range(n_records):
        pick = rng.integers(0, 1000, 1000) if varied else slice(None)
        columns = {name: values[pick] for name, values in base.items()}
        p = probability[pick]
        yield f"req-{r}", columns, {"probability": p, "label": (p >= 0.5).astype(np.int64)}


def worker(checkout: Path, n_records: int, varied: bool) -> dict:
    """In this process: the checkout's PredictionLog; its flush's CPU per 1,000 rows and bytes per 1,000 rows."""
    sys.path.insert(0, str(checkout))
    import studio.serving
    from studio.serving.predlog import PredictionLog

    if hasattr(studio.serving, "keep_freed_memory"):  # as that checkout's serving entry point sets it
        studio.serving.keep_freed_memory()

    folder = Path(tempfile.mkdtemp(prefix="log-writer-"))
    try:
        log = PredictionLog(folder, flush_interval=3600, max_pending_rows=10 * n_records * 1000)
        batch = list(records(n_records, varied))
        cpu, faults = [], []
        for _ in range(4):  # the first flush pays for imports and first allocations: not counted
            # Process CPU time (every thread): the writer thread drains chunks of rows while they are recorded,
            # flush() the rest, so the calling thread's time alone would miss most of the work.
            started, faulted = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for request_id, columns, outputs in batch:
                log.record(request_id, "numeric_lr", "1", columns, 1000, outputs)
            log.flush()
            cpu.append(time.process_time() - started)
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faulted)
        log.close()
        size = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 4
        return {"us": [c / n_records * 1e6 for c in cpu[1:]], "bytes": size / n_records,
                "faults": min(faults[1:]) / n_records}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="another checkout (e.g. a worktree of main)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=1000, help="1,000-row records per flush")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--varied", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.records, args.varied)))
        return
    checkouts = {"this": REPO} | ({"against": args.against.resolve()} if args.against else {})
    print(f"Prediction log writer CPU per 1,000 rows ({args.records} records of 1,000 rows per flush; "
          f"min of 3 flushes), load {os.getloadavg()[0]:.1f}")
    for r in range(args.rounds):
        for varied in (False, True):
            for name, checkout in checkouts.items():
                cmd = [sys.executable, "-m", "benchmarks.serving.log_writer", "--worker", str(checkout),
                       "--records", str(args.records)] + (["--varied"] if varied else [])
                out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                print(f" round {r + 1} {'varied' if varied else 'same':<6} {name:<8} "
                      f"{min(result['us']):6.0f} us (flushes: {', '.join(f'{u:.0f}' for u in result['us'])}); "
                      f"file {result['bytes']:,.0f} bytes, {result.get('faults', 0):.1f} page faults per 1,000 rows",
                      flush=True)


if __name__ == "__main__":
    main()

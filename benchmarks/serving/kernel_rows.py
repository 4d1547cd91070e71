"""Instruction counts of the serving bench's 1,000-row numeric_lr request in process (issue 19): the batch
feature kernel and the LR probability, per request, under valgrind --tool=callgrind (steady whatever the load).

Each stage runs in its own valgrind process twice, with 1 and with 1 + CALLS requests; the difference over
CALLS is the stage's cost per request (imports and loading cancel out). The columns are read-only float64 views
of a bytes buffer, as the binary tensor parser gives them.

    .venv/bin/python -m benchmarks.serving.kernel_rows [--against <checkout of main>] [--calls 20]

--against runs the same stages with another checkout's code (alternating), on the same bundle and rows.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
STAGES = ("features", "proba")


def build(work: Path) -> None:
    """The numeric_lr bundle and its 1,000 rows (bench.py's), written once, outside valgrind."""
    import numpy as np

    from benchmarks.serving.bench import build_numeric_bundles
    from operators.library.sample_data import credit_default_table
    from pipelines.bundle import load_bundle, table_to_columns

    (work / "serving").mkdir(parents=True, exist_ok=True)
    (work / "serving" / "registry.json").write_text('{"models": {}}')
    bundle_dir = build_numeric_bundles(work)["numeric_lr"]
    bundle = load_bundle(bundle_dir)
    columns = table_to_columns(credit_default_table(20_000, seed=1).head(1000), bundle.input_spec)
    np.savez(work / "rows.npz", **columns)
    (work / "bundle").write_text(str(bundle_dir))


def run(work: Path, stage: str, calls: int) -> None:
    """One stage `calls` times on the saved rows (what runs under valgrind)."""
    import numpy as np

    from pipelines.bundle import load_bundle

    bundle = load_bundle(Path((work / "bundle").read_text()), verify=False)
    saved = np.load(work / "rows.npz")
    columns = {name: np.frombuffer(saved[name].tobytes(), dtype=np.float64) for name in saved.files}
    X = bundle.features(columns, 1000)
    for _ in range(calls):
        if stage == "features":
            bundle.features(columns, 1000)
        else:
            bundle.scorer.predict_proba(X)


def instructions(checkout: Path, work: Path, stage: str, calls: int) -> int:
    """This file run from `checkout`, so that its code (operators, pipelines) is the one measured."""
    out = work / f"callgrind.{os.getpid()}.out"
    # one BLAS thread: idle OpenBLAS threads spin, and valgrind would count their spinning
    env = dict(os.environ, PYTHONPATH=str(checkout), OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    # once outside valgrind first, so that no run under it compiles a changed module's bytecode
    subprocess.run([sys.executable, __file__, "--run", stage, "--work", str(work), "--calls", "0"],
                   check=True, env=env, cwd=checkout, capture_output=True)
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
                    "--run", stage, "--work", str(work), "--calls", str(calls)],
                   check=True, env=env, cwd=checkout, capture_output=True)
    total = re.search(r"^summary: (\d+)", out.read_text(), re.MULTILINE) or \
        re.search(r"^totals: (\d+)", out.read_text(), re.MULTILINE)
    out.unlink()
    return int(total.group(1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--against", type=Path, help="another checkout (main) to compare with")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--run", choices=STAGES)
    args = parser.parse_args(argv)
    if args.run:
        run(args.work, args.run, args.calls)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-kernel-rows-"))
    if not (work / "bundle").is_file():
        build(work)
    checkouts = {"this": HERE} | ({"against": args.against.resolve()} if args.against else {})
    for stage in STAGES:
        for name, checkout in checkouts.items():
            low, high = (instructions(checkout, work, stage, n) for n in (1, 1 + args.calls))
            print(f"{stage:<9} {name:<8} {(high - low) / args.calls:>12,.0f} instructions per 1,000-row request")


if __name__ == "__main__":
    main()

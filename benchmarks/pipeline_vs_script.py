"""The executor's pipeline against a hand-written pandas + LightGBM script doing the same work.

    .venv/bin/python benchmarks/pipeline_vs_script.py [--rows 1000000] [--repeat 1] [--against CHECKOUT]

Work, on the generated credit-default table written as CSV: read the CSV -> seeded 70/30 random split ->
features (numeric columns as they are, categorical columns as category codes for LightGBM's native
categorical splits) -> GBDT, 100 trees -> score the test rows -> AUC, logloss, KS, PR-AUC, Brier.

Each side runs in a fresh process (so peak memory is its own); the pipeline also writes every node output
to the artifact store (Parquet, npz, LightGBM text) as it always does, and its evaluate node
draws all its charts. With --against, another checkout's pipeline runs as a third side, in turn with the
other two. Prints, over the repeats, the min and the median wall time of each side, both ratios
(min/min and median/median; goal <= 1.15x) and each side's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NUMERIC = ["age", "income", "debt_ratio", "credit_limit", "late_payments", "months_employed"]
CATEGORICAL = ["education", "home_ownership", "region", "purpose"]
GBDT = {"n_estimators": 100, "num_leaves": 31, "learning_rate": 0.1, "min_data_in_leaf": 20, "seed": 42}
RATIO, SEED = 0.7, 42


def pipeline_graph() -> dict:
    columns = {c: ["raw"] for c in NUMERIC} | {c: ["ordinal"] for c in CATEGORICAL}
    nodes = [
        ("import", "import_csv", {"path": "credit.csv"}),
        ("split", "split_random", {"ratio": RATIO, "seed": SEED}),
        ("features", "feature_extraction", {"label": "default", "mode": "manual", "columns": columns}),
        ("gbdt", "train_gbdt", {**GBDT, "record_train_metrics": False}),
        ("predict", "predict", {}),
        ("evaluate", "evaluate_binary", {"label": "default"}),
    ]
    edges = [("import", "table", "split", "table"), ("split", "first", "features", "table"),
             ("features", "features", "gbdt", "features"), ("gbdt", "model", "predict", "model"),
             ("features", "feature_state", "predict", "feature_state"), ("split", "second", "predict", "table"),
             ("predict", "table", "evaluate", "table")]
    return {"nodes": [{"id": i, "operator": o, "params": p} for i, o, p in nodes],
            "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp} for s, sp, t, tp in edges]}


def run_pipeline(data_root: Path, store_root: Path) -> dict:
    import operators
    import pipelines

    # the library's modules (pandas, LightGBM, scikit-learn, plotly) are imported before the clock starts, as the
    # script's are: both sides are timed on the work, not on Python's imports
    operators.all_operators()
    started = time.perf_counter()
    result = pipelines.run(pipeline_graph(), store_root=store_root, data_root=data_root, max_parallel=2)
    seconds = time.perf_counter() - started
    assert result.status == "succeeded", {k: v.error for k, v in result.nodes.items() if v.error}
    return {"seconds": seconds, "auc": result.metrics["evaluate"]["auc"],
            "nodes": {k: round(v.duration or 0, 2) for k, v in result.nodes.items()}, **hashing_cost(store_root)}


def hashing_cost(store_root: Path) -> dict:
    """Seconds to check every artifact of the run against its sha256 (what saving them paid to hash them, and
    what a load pays again), and their size."""
    from pipelines.store import verify

    started, size = time.perf_counter(), 0
    for meta in sorted(Path(store_root).glob("objects/*/*/meta.json")):
        files = json.loads(meta.read_text())
        verify(meta.parent, files)
        size += sum((meta.parent / name).stat().st_size for name in files["files"])
    return {"hash_seconds": round(time.perf_counter() - started, 2), "store_mb": round(size / 1e6)}


def run_script(data_root: Path, store_root: Path) -> dict:
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score, roc_curve

    started = time.perf_counter()
    df = pd.read_csv(data_root / "credit.csv")
    train_mask = np.random.default_rng(SEED).random(len(df)) < RATIO
    train, test = df[train_mask], df[~train_mask]
    features = NUMERIC + CATEGORICAL

    def prepare(part):
        X = part[features].copy()
        for column in CATEGORICAL:
            X[column] = pd.Categorical(X[column], categories=sorted(train[column].dropna().unique()))
        return X

    params = {"objective": "binary", "verbosity": -1, "num_leaves": GBDT["num_leaves"],
              "learning_rate": GBDT["learning_rate"], "min_data_in_leaf": GBDT["min_data_in_leaf"],
              "seed": GBDT["seed"]}
    booster = lgb.train(params, lgb.Dataset(prepare(train), label=train["default"]),
                        num_boost_round=GBDT["n_estimators"])
    p = booster.predict(prepare(test))
    y = test["default"].to_numpy()
    fpr, tpr, _ = roc_curve(y, p)
    metrics = {"auc": roc_auc_score(y, p), "logloss": log_loss(y, p), "ks": float(np.max(tpr - fpr)),
               "pr_auc": average_precision_score(y, p), "brier": brier_score_loss(y, p)}
    return {"seconds": time.perf_counter() - started, "auc": float(metrics["auc"])}


def child(kind: str, data_root: str, store_root: str) -> None:
    import resource

    out = (run_pipeline if kind == "pipeline" else run_script)(Path(data_root), Path(store_root))
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def measure(kind: str, data_root: Path, store_root: Path, repo: Path = REPO) -> dict:
    """One side in a fresh process; `repo` is the checkout whose code it runs (this one, or --against)."""
    proc = subprocess.run([sys.executable, str(repo / "benchmarks" / Path(__file__).name), "--child", kind,
                           str(data_root), str(store_root)],
                          cwd=repo, capture_output=True, text=True,
                          # the same OpenMP setting as `operators` makes for itself, so LightGBM threads in both
                          # sides wait passively rather than spin against other load on the machine
                          env={"PYTHONPATH": str(repo), "PATH": "", "OMP_WAIT_POLICY": "PASSIVE"})
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1,
                        help="alternate the two sides this many times; min and median of each")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT",
                        help="also run the pipeline of another checkout (e.g. main's, from `git worktree add`), "
                             "alternating with the two sides, so a change is compared under the same load")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(REPO))
    from operators.library.sample_data import credit_default_table

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        data_root = Path(tmp) / "data"
        data_root.mkdir()
        started = time.perf_counter()
        credit_default_table(args.rows).to_csv(data_root / "credit.csv", index=False)
        size = (data_root / "credit.csv").stat().st_size / 1e6
        print(f"{args.rows:,} rows, CSV {size:.0f} MB, written in {time.perf_counter() - started:.1f}s")
        sides = {"script": ("script", REPO), "pipeline": ("pipeline", REPO)}
        if args.against:
            sides["against"] = ("pipeline", args.against.resolve())
        runs: dict[str, list[dict]] = {side: [] for side in sides}
        for r in range(args.repeat):
            for side, (kind, repo) in sides.items():
                runs[side].append(measure(kind, data_root, Path(tmp) / f"store-{side}-{r}", repo))
                out = runs[side][-1]
                print(f"  {side:8s} run {r + 1}: {out['seconds']:.2f}s, peak {out['peak_rss_mb']:.0f} MB, "
                      f"AUC {out['auc']:.4f}, load {os.getloadavg()[0]:.1f}"
                      + (f", nodes {out['nodes']}, of which hashing its {out['store_mb']} MB of artifacts "
                         f"{out['hash_seconds']:.2f}s" if kind == "pipeline" else ""))
        report(runs)


def report(runs: dict[str, list[dict]]) -> None:
    """Min and median of each side's repeats, and the two ratios: the min is the least disturbed by other load on
    the machine, the median says whether that was luck."""
    seconds = {k: sorted(r["seconds"] for r in v) for k, v in runs.items()}
    low = {k: v[0] for k, v in seconds.items()}
    mid = {k: statistics.median(v) for k, v in seconds.items()}
    for side in runs:
        best = min(runs[side], key=lambda r: r["seconds"])
        print(f"{side + ':':9s} min {low[side]:.2f}s  median {mid[side]:.2f}s  peak RSS {best['peak_rss_mb']:.0f} MB  "
              f"AUC {best['auc']:.4f}")
    for side in [s for s in runs if s != "script"]:
        print(f"ratio {side} / script: min/min {low[side] / low['script']:.2f}x, median/median "
              f"{mid[side] / mid['script']:.2f}x (goal <= 1.15x)")


if __name__ == "__main__":
    main()

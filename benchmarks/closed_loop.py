"""The closed loop's two figures: label feedback throughput, and the drift report's time over 1M logged rows.

    .venv/bin/python benchmarks/closed_loop.py              # SQLite in a temp data dir
    .venv/bin/python benchmarks/closed_loop.py --postgres   # a throw-away PostgreSQL database (127.0.0.1:5432)

Feedback: 100,000 served rows in the prediction log (100 requests of 1,000 rows, written by the serving
process's own writer), then POST /api/deployments/<name>/feedback/ in calls of 10,000 labels through Django's
test client (the whole view: JSON parsing, validation, the check against the log, the upsert), first as new
labels, then the same labels again (each one replaced). Labels per second = labels / wall time of the calls.

Drift: 1,000,000 rows of the credit table served into the log (1,000 files, as a busy serving process writes
them over ~17 minutes at one flush per second), then the studio's drift report (read the log's inputs, PSI per
input and of the score) against a bundle's statistics; median of 3.

Import (`--import-only`, no database): import_prediction_log on the local engine over 1,000,000 logged rows
(1,000 files) with 100,000 labels, for a 0 / 1 deployment and for one answering "yes" / "no" (labels and served
labels read back as words), alternating, 3 runs each. `--repo <checkout>` runs the operators of another
checkout (say main's) on the same logs, for an A/B in one sitting.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.studio_db import studio_db  # noqa: E402


def write_log(directory: Path, name: str, requests: int, rows: int, columns: dict, probability: np.ndarray,
              version: str = "1") -> list[str]:
    from studio.serving.predlog import PredictionLog

    log = PredictionLog(directory, flush_interval=3600)
    ids = []
    for r in range(requests):
        part = slice((r * rows) % len(probability), (r * rows) % len(probability) + rows)
        outputs = {"probability": probability[part], "label": (probability[part] >= 0.5).astype(np.int64)}
        ids.append(f"bench-{r}")
        log.record(ids[-1], name, version, {k: v[part] for k, v in columns.items()}, rows, outputs)
        log.flush()  # one file per request, as a flush per second writes them
    log.close()
    return ids


def feedback_throughput(log_dir: Path) -> None:
    from django.contrib.auth.models import User
    from rest_framework.test import APIClient

    from studio.deployments.models import Deployment
    from studio.projects.models import Membership, Project, Role

    user = User.objects.create_user("bench", password="pw")
    project = Project.objects.create(name="bench", created_by=user)
    Membership.objects.create(project=project, user=user, role=Role.OWNER)
    Deployment.objects.create(project=project, name="bench", created_by=user)
    n = 1_000
    ids = write_log(log_dir, "bench", 100, n, {"age": np.arange(n, dtype=np.float64)}, np.linspace(0, 1, n))
    labels = [{"request_id": r, "row": i, "label": i % 2} for r in ids for i in range(n)]
    client = APIClient()
    client.force_authenticate(user)
    for what in ("new", "replaced"):
        started = time.perf_counter()
        for start in range(0, len(labels), 10_000):
            answer = client.post("/api/deployments/bench/feedback/", {"labels": labels[start:start + 10_000]},
                                 format="json")
            assert answer.status_code == 200 and answer.json()[what] == 10_000, answer.content[:300]
        seconds = time.perf_counter() - started
        print(f"feedback ({what}): {len(labels):,} labels in {seconds:.2f} s = {len(labels) / seconds:,.0f} labels/s "
              f"(calls of 10,000)")


def drift_time(log_dir: Path, data: Path) -> None:
    from operators.library.sample_data import credit_default_table
    from pipelines.bundle import load_bundle, table_to_columns, write_bundle
    from studio.deployments.models import Deployment, DeploymentVersion
    from studio.deployments.monitoring import drift
    from tests.serving.conftest import train

    state, model = train(n_train=3000, seed=3, trees=30)
    bundle = load_bundle(write_bundle(data / "bundle", name="credit", version="1", model=model,
                                      feature_state=state, holdout=credit_default_table(20_000, seed=21)))
    table = credit_default_table(100_000, seed=8)
    columns = table_to_columns(table, bundle.input_spec)
    probability = bundle.predict(columns, len(table))["probability"]
    started = time.perf_counter()
    write_log(log_dir, "credit", 1_000, 1_000, columns, probability)
    print(f"wrote 1,000,000 logged rows in 1,000 files in {time.perf_counter() - started:.1f} s")
    deployment = Deployment.objects.create(project_id=1, name="credit")
    version = DeploymentVersion.objects.create(deployment=deployment, number=1, bundle=str(bundle.path))
    deployment.live_version = version
    deployment.save()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        report = drift(deployment, days=1)
        times.append(time.perf_counter() - started)
    assert report["rows"] == 1_000_000, report["rows"]
    worst = max(report["features"], key=lambda f: f["psi"])
    print(f"drift report over {report['rows']:,} rows, {len(report['features'])} inputs: median "
          f"{statistics.median(times):.2f} s (runs {', '.join(f'{t:.2f}' for t in times)}); largest PSI "
          f"{worst['name']} {worst['psi']:.4f}")
    print(json.dumps({"feature_psi": {f["name"]: round(f["psi"], 4) for f in report["features"]}}))


def import_time(root: Path, runs: int = 3) -> None:
    """import_prediction_log over 1M logged rows and 100,000 labels: 0 / 1 against "yes" / "no", alternating."""
    import tempfile

    import pandas as pd

    import pipelines

    n, files = 1_000, 1_000
    rng = np.random.default_rng(5)
    columns = {"age": rng.integers(19, 76, n).astype(np.float64), "income": rng.lognormal(10.6, 0.55, n),
               "region": rng.choice(["north", "south", "east", "west"], n).astype(object)}
    probability = rng.random(n)
    from studio.serving.predlog import PredictionLog

    started = time.perf_counter()
    for name, label in (("zero_one", (probability >= 0.5).astype(np.int64)),
                        ("words", np.where(probability >= 0.5, "yes", "no").astype(object))):
        log = PredictionLog(root / "log", flush_interval=3600)
        for r in range(files):
            log.record(f"{name}-{r}", name, "1", columns, n, {"probability": probability, "label": label})
            log.flush()
        log.close()
    print(f"wrote 2 x {n * files:,} logged rows in {files:,} files each in {time.perf_counter() - started:.1f} s")
    labels = {name: pd.DataFrame({"request_id": [f"{name}-{r}" for r in range(files) for _ in range(0, n, 10)],
                                  "row": np.tile(np.arange(0, n, 10), files),
                                  "label": np.tile(np.arange(0, n, 10) // 10 % 2, files).astype(np.int64)})
              for name in ("zero_one", "words")}
    logs = {"zero_one": {"directory": root / "log", "labels": lambda: labels["zero_one"], "classes": [0, 1]},
            "words": {"directory": root / "log", "labels": lambda: labels["words"], "classes": ["no", "yes"]}}
    times: dict[str, list[float]] = {"zero_one": [], "words": []}
    for _ in range(runs):
        for name in times:
            with tempfile.TemporaryDirectory() as store:
                executor = pipelines.Executor(pipelines.FileSystemStore(store), data_root=root,
                                              prediction_logs=logs.get)
                graph = pipelines.from_json({"nodes": [{"id": "log", "operator": "import_prediction_log",
                                                        "params": {"deployment": name}}], "edges": []})
                started = time.perf_counter()
                result = executor.run(graph)
                times[name].append(time.perf_counter() - started)
                assert result.status == "succeeded", result.nodes["log"].error
                table = result.output("log", "table")
                assert len(table) == n * files and int(table["label"].notna().sum()) == len(labels[name])
                if name == "words":
                    print(f"  words run: labels {sorted(set(table['label'].dropna()))}, served "
                          f"{sorted(set(table['served_label']))}")
    shown = {name: sorted(t) for name, t in times.items()}
    for name, t in shown.items():
        print(f"import_prediction_log {name}: {n * files:,} rows, {len(labels[name]):,} labels: median "
              f"{statistics.median(t):.2f} s, min {t[0]:.2f} s (runs {', '.join(f'{x:.2f}' for x in t)})")
    print(f"words / 0-1 median ratio {statistics.median(shown['words']) / statistics.median(shown['zero_one']):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--import-only", action="store_true", help="only import_prediction_log's figure")
    parser.add_argument("--runs", type=int, default=3, help="runs of each kind (--import-only)")
    parser.add_argument("--repo", type=Path, help="run another checkout's operators and pipelines (--import-only)")
    args = parser.parse_args()
    if args.import_only:
        import tempfile

        if args.repo:
            sys.path.insert(0, str(args.repo.resolve()))
        import operators

        print(f"operators from {Path(operators.__file__).parent.parent}")
        with tempfile.TemporaryDirectory() as root:
            import_time(Path(root), args.runs)
        return
    with studio_db("loop", args.postgres) as data:
        from django.conf import settings

        log_dir = Path(settings.SERVING_DIR) / "prediction_log"
        feedback_throughput(log_dir)
        drift_time(log_dir, data)


if __name__ == "__main__":
    main()

"""The cost of the shared S3 store against the filesystem store for the demo pipeline, one run: a first run
(every node computed and written), a cached rerun on the same machine, and, for S3, a cached rerun on another
machine (an empty local cache: every artifact the run reads is downloaded and verified). The S3 server is
moto's server mode on loopback, so the figures are the store's own overhead (requests, hashing, copies), not a
network's.

    .venv/bin/python -m benchmarks.deploy.store_cost [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.serving.bench import free_port  # noqa: E402


def s3_server(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    with open(work / "moto.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
            return proc, endpoint
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("moto's server did not start")


def timed(store, data_root) -> tuple[float, set]:
    import pipelines

    started = time.perf_counter()
    result = pipelines.run(REPO / "examples" / "credit_default.json", store=store, data_root=data_root)
    assert result.status == "succeeded", result.status
    return time.perf_counter() - started, {r.status for r in result.nodes.values()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import boto3

    from operators.library.sample_data import credit_default_table
    from pipelines import FileSystemStore
    from pipelines.objects import open_artifact_store

    work = Path(tempfile.mkdtemp(prefix="store-bench-"))
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    proc, endpoint = s3_server(work)
    os.environ["STUDIO_S3_ENDPOINT"] = endpoint
    try:
        (work / "data").mkdir()
        credit_default_table().to_csv(work / "data" / "credit_default.csv", index=False)
        timed(FileSystemStore(work / "warm"), work)  # imports and first-use costs out of the figures
        rows: dict[str, list[float]] = {}
        for i in range(args.repeat):
            fs = FileSystemStore(work / f"fs-{i}")
            bucket = f"bench-{i}"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
            s3 = open_artifact_store(f"s3://{bucket}/studio", work / f"s3-cache-{i}")
            for name, store, expect in (("filesystem: first run", fs, "succeeded"),
                                        ("filesystem: cached rerun", fs, "cached"),
                                        ("S3: first run", s3, "succeeded"),
                                        ("S3: cached rerun, same machine", s3, "cached"),
                                        ("S3: cached rerun, another machine",
                                         open_artifact_store(f"s3://{bucket}/studio", work / f"other-{i}"),
                                         "cached")):
                seconds, statuses = timed(store, work)
                assert statuses == {expect}, (name, statuses)
                rows.setdefault(name, []).append(seconds)
        print(f"demo pipeline (20,000 rows, 8 nodes, local engine), median of {args.repeat}; S3 = moto's server "
              "on loopback")
        for name, values in rows.items():
            print(f"  {name:<36} {statistics.median(values) * 1000:8.0f} ms")
        for kind in ("first run", "cached rerun"):
            fs_ms = statistics.median(rows[f"filesystem: {kind}"])
            s3_ms = statistics.median(rows[f"S3: {kind}" + (", same machine" if kind == "cached rerun" else "")])
            print(f"  S3 / filesystem, {kind}: {s3_ms / fs_ms:.2f}x")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

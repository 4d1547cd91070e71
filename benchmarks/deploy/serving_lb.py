"""Serving throughput in the compose topology, one run: one replica addressed directly, one replica behind nginx,
two replicas behind nginx (docker/nginx/serving.conf), single-row requests through the feature kernel + GBDT,
driven by `hey` on the same 2 cores as everything else (so two replicas compete with the load generator).

    .venv/bin/python -m benchmarks.deploy.serving_lb [--seconds 10] [--concurrency 16]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchmarks.serving.bench import build_bundle, ensure_hey, free_port, hey, line, v2_body  # noqa: E402
from tests.deploy.topology import Topology  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args(argv)
    hey_bin = ensure_hey()
    from pipelines.bundle import load_bundle, table_to_columns

    work = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    world = Topology(work, {})
    try:
        bundle_dir, _, _, scoring = build_bundle(work)
        bundle = load_bundle(bundle_dir)
        (work / "one.json").write_bytes(v2_body(table_to_columns(scoring.head(1), bundle.input_spec),
                                                bundle.input_spec))
        registry = str(work / "serving" / "registry.json")
        env = world.machine("replica", SERVING_REGISTRY=registry)
        ports = [world.start_serving("serving-a", env, free_port())]
        path = "/v2/models/credit/infer"

        def measure(port: int) -> dict:
            url = f"http://127.0.0.1:{port}{path}"
            hey(hey_bin, url, work / "one.json", seconds=2, concurrency=4)  # warm-up
            return hey(hey_bin, url, work / "one.json", seconds=args.seconds, concurrency=args.concurrency)

        results = {"1 replica, direct": measure(ports[0])}
        lb = world.start_nginx(ports)
        results["1 replica behind nginx"] = measure(lb)
        world.kill("nginx")
        ports.append(world.start_serving("serving-b", world.machine("replica-b", SERVING_REGISTRY=registry)))
        lb = world.start_nginx(ports)
        results["2 replicas behind nginx"] = measure(lb)
        print(f"single-row v2 JSON requests, hey -c {args.concurrency} for {args.seconds:.0f} s each, 2 cores shared "
              "by hey, nginx and the replicas")
        for name, result in results.items():
            print(line(name, result))
        ratio = results["2 replicas behind nginx"]["rps"] / results["1 replica, direct"]["rps"]
        print(f"  2 replicas behind nginx / 1 replica direct: {ratio:.2f}x")
    finally:
        world.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

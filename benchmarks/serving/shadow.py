"""Shadow cost on the live path (issue 22): live latency with a shadow version that sleeps 50 ms per request
vs no shadow, on the real serving app under uvicorn, single-row v2 requests with a key, driven by `hey`.

    .venv/bin/python -m benchmarks.serving.shadow [--seconds 10] [--rates 30,300]

At each rate, runs alternate no-shadow / shadow twice and the p99 ratio (shadow / none) of the medians is
printed, with the shadow's outcomes (scored, dropped when its queue is full) from /metrics. The shadow scores
in its own two threads: at 30 req/s it keeps up (every copy scored); above about 40 req/s copies are dropped,
by design, rather than slowing the live answers.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import time
import tempfile
import urllib.request
from pathlib import Path

from benchmarks.serving.bench import REPO, Server, build_bundle, free_port, hey, v2_body

KEY = "sk_benchmark_key_0123456789abcdefghijklmnopqrstuv"


def write(registry: Path, bundle: Path, sleepy: Path, shadow: bool) -> None:
    from pipelines.bundle import write_registry
    from studio.serving.auth import hash_key

    entry = {"live": "1", "versions": {"1": {"bundle": str(bundle)}, "2": {"bundle": str(sleepy)}},
             "keys": [hash_key(KEY)]}
    if shadow:
        entry["shadow"] = "2"
    write_registry(registry, {"credit": entry})


def shadow_outcomes(port: int) -> dict[str, float]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {KEY}"})
    text = urllib.request.urlopen(request, timeout=5).read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'serving_shadow_requests_total\{[^}]*outcome="(\w+)"[^}]*\} ([\d.e+]+)', text)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rates", default="30,300", help="total requests per second, comma-separated")
    parser.add_argument("--pairs", type=int, default=3, help="no-shadow / shadow runs alternated per rate")
    args = parser.parse_args(argv)
    hey_bin = shutil.which("hey")
    if hey_bin is None:
        sys.exit("hey is needed (apt-get install hey)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle, _, _, scoring = build_bundle(work)
        sleepy = shutil.copytree(bundle, work / "sleepy")
        from pipelines.bundle import load_bundle, table_to_columns

        spec = load_bundle(bundle).input_spec
        body = work / "row.json"
        body.write_bytes(v2_body(table_to_columns(scoring.head(1), spec), spec))
        registry = work / "serving" / "registry.json"
        write(registry, bundle, sleepy, shadow=False)
        port = free_port()
        server = Server("serving", [sys.executable, "-m", "uvicorn", "benchmarks.serving.shadow_app:app", "--factory",
                                    "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                                    "--log-level", "warning"], port,
                        {"SERVING_REGISTRY": str(registry), "SHADOW_SLEEP_SECONDS": "0.05", "PYTHONPATH": str(REPO)},
                        "/v2/health/ready", work / "serving.log")
        url = f"http://127.0.0.1:{port}/v2/models/credit/infer"
        headers = {"Authorization": f"Bearer {KEY}"}
        try:
            hey(hey_bin, url, body, seconds=2, concurrency=2, headers=headers)  # warm-up
            for rate in (int(r) for r in args.rates.split(",")):
                concurrency = 2 if rate < 100 else 4
                runs = {False: [], True: []}
                for shadow in (False, True) * args.pairs:
                    write(registry, bundle, sleepy, shadow)
                    server_ready_after_swap(port, "2" if shadow else None)
                    drained(port)  # copies queued by the previous run are scored before this one starts
                    before = shadow_outcomes(port)
                    result = hey(hey_bin, url, body, seconds=args.seconds, concurrency=concurrency,
                                 rate=max(1, rate // concurrency), headers=headers)
                    after = shadow_outcomes(port)
                    result["shadow"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
                    runs[shadow].append(result)
                    print(f"rate {rate}/s shadow={'on ' if shadow else 'off'}: p50 {result['p50_ms']:.2f} ms, "
                          f"p99 {result['p99_ms']:.2f} ms, {result['ok']} ok, {result['failed']} failed, "
                          f"shadow copies {result['shadow']}", flush=True)
                p99 = {k: statistics.median(r["p99_ms"] for r in v) for k, v in runs.items()}
                print(f"rate {rate}/s: live p99 with a 50 ms shadow / without (medians of {args.pairs} runs): "
                      f"{p99[True] / p99[False]:.2f}x ({p99[True]:.2f} vs {p99[False]:.2f} ms)", flush=True)
        finally:
            server.stop()


def drained(port: int) -> None:
    """Wait until the shadow's counters stop moving (its queue is empty)."""
    last = None
    for _ in range(100):
        now = shadow_outcomes(port)
        if now == last:
            return
        last = now
        time.sleep(0.5)


def server_ready_after_swap(port: int, shadow: str | None) -> None:
    """The registry is polled every 0.2 s: wait until the model metadata names the expected shadow."""
    import json

    request = urllib.request.Request(f"http://127.0.0.1:{port}/v2/models/credit",
                                     headers={"Authorization": f"Bearer {KEY}"})
    for _ in range(100):
        if json.loads(urllib.request.urlopen(request, timeout=5).read())["parameters"]["shadow"] == shadow:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the serving process did not swap to shadow={shadow}")


if __name__ == "__main__":
    main()

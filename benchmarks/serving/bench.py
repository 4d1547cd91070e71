"""Serving benchmark, one run, ratios printed (issue 7's benchmarks 1-4; MLServer / MLflow with --compare).

    .venv/bin/python -m benchmarks.serving.bench [--seconds 10] [--compare] [--rounds 3] [--single-row-only]
    .venv/bin/python -m benchmarks.serving.bench --rows-only [--models numeric_lr] [--against <checkout>]
    .venv/bin/python -m benchmarks.serving.bench --rows-only --models numeric_lr --servers uvicorn,granian
    .venv/bin/python -m benchmarks.serving.bench --rows-only --models numeric_lr --client hey,wrk

1. Single-row requests through the feature kernel + GBDT (100 trees, 31 leaves) on the full serving process:
   latency p50 / p99 at a fixed 1,000 req/s and maximum throughput, driven by `hey` (Debian's package,
   installed here with apt-get when missing) on the same 2 cores.
2. 1,000-row requests: JSON vs binary tensors, end to end, for the credit model (4 of its 10 inputs BYTES) and
   two numeric-only models (LR and the same GBDT on the six numeric inputs); with each phase the CPU time per
   answered request of the server (all its threads: the prediction log's writer too) and of hey, steadier than
   req/s on a loaded machine. `--against <checkout>` (e.g. `git worktree add --detach /tmp/main main`) starts
   that checkout's serving process beside this one's, on the same registry, and alternates the two within
   each of `--rounds` rounds: an A/B in one run. `--servers uvicorn,granian,...` does the same with this
   checkout's app under other HTTP servers or settings (servers.py lists them; granian is installed by hand).
   `--client wrk` drives this phase with wrk (Debian's, C and epoll, installed like hey) instead of hey: about
   a quarter of hey's CPU per request on the same 2 cores (a client on another machine would take none of
   them); `--client hey,wrk` alternates both. Each phase also prints the server's event-loop (main thread) CPU.
3. Batch scoring rows/s through the bundle (feature kernel + model) vs raw LightGBM predict on the same
   already-featurized rows.
4. The floor: a bare endpoint that only calls the LightGBM model on one row (floor_app.py).
With --compare, MLServer (mlserver-lightgbm) and `mlflow models serve` (a pyfunc around the same bundle) are
installed into their own virtual environments under benchmarks/.venvs and measured the same way.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_tool(program: str) -> str:
    """`program` (hey, wrk) from Debian's package of that name, installed with apt-get when missing."""
    path = shutil.which(program)
    if path:
        return path
    print(f"installing {program} (Debian package) ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", program], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which(program)


def ensure_hey() -> str:
    return ensure_tool("hey")


def build_bundle(work: Path):
    """A GBDT (100 trees, 31 leaves) on 20,000 generated rows through the feature kernel (auto features)."""
    import lightgbm as lgb

    from operators.library.features import FeatureConfig, apply_state, fit_feature_state
    from operators.library.sample_data import credit_default_table
    from operators.values import Fitted
    from pipelines.bundle import write_bundle, write_registry

    table = credit_default_table(20_000, seed=1)
    state, _ = fit_feature_state(table, FeatureConfig(label="default", exclude=["customer_id", "application_date"]))
    features = apply_state(table, state)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31, "num_threads": 2},
                        lgb.Dataset(features.X, features.label), 100)
    model = Fitted("lightgbm", {"feature_names": features.names}, texts={"model": booster.model_to_string()})
    bundle = write_bundle(work / "bundle", name="credit", version="1", model=model, feature_state=state,
                          holdout=credit_default_table(500, seed=2))
    write_registry(work / "serving" / "registry.json",
                   {"credit": {"live": "1", "versions": {"1": {"bundle": str(bundle)}}}})
    booster.save_model(str(work / "model.txt"))
    scoring = credit_default_table(200_000, seed=3)
    return bundle, booster, state, scoring


NUMERIC_MODELS = ("numeric_lr", "numeric_gbdt")


def build_numeric_bundles(work: Path) -> dict[str, Path]:
    """Two numeric-only models beside "credit" in the same registry, for binary vs JSON without BYTES inputs:
    LR on the standardized numeric columns (a cheap model: the request's parsing shows) and the same GBDT
    (100 trees, 31 leaves) on them (the model's cost shows)."""
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression

    from operators.library.features import FeatureConfig, apply_state, fit_feature_state
    from operators.library.sample_data import credit_default_table
    from operators.values import Fitted
    from pipelines.bundle import read_registry, write_bundle, write_registry

    table = credit_default_table(20_000, seed=1)
    numeric = [c for c in table.columns if c != "default" and table[c].dtype.kind in "fi" and c != "customer_id"]
    config = FeatureConfig(label="default", mode="manual", columns={c: ["standardize", "missing_indicator"]
                                                                       for c in numeric})
    state, _ = fit_feature_state(table, config)
    features = apply_state(table, state)
    lr = LogisticRegression(max_iter=1000).fit(features.X, features.label)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_leaves": 31, "num_threads": 2},
                        lgb.Dataset(features.X, features.label), 100)
    models = {
        "numeric_lr": Fitted("lr", {"feature_names": features.names},
                             arrays={"coef": lr.coef_.reshape(-1), "intercept": lr.intercept_}),
        "numeric_gbdt": Fitted("lightgbm", {"feature_names": features.names},
                               texts={"model": booster.model_to_string()}),
    }
    registry_path = work / "serving" / "registry.json"
    registry = read_registry(registry_path)["models"]
    bundles = {}
    for name, model in models.items():
        bundles[name] = write_bundle(work / name, name=name, version="1", model=model, feature_state=state,
                                     holdout=credit_default_table(500, seed=2))
        registry[name] = {"live": "1", "versions": {"1": {"bundle": str(bundles[name])}}}
    write_registry(registry_path, registry)
    return bundles


class Server:
    def __init__(self, name: str, cmd: list[str], port: int, env: dict, ready_path: str, log: Path,
                 cwd: Path = REPO):
        self.name, self.port, self.ready_path, self.log = name, port, ready_path, Path(log)
        with open(log, "wb") as out:  # the child keeps its own descriptor of the log
            self.proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **env}, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start:\n{Path(log).read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# Set by --client-cpu: the load generator started under `taskset -c <cpu>` (a benchmark choice, not the server's).
CLIENT_PREFIX: list[str] = []


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, all its threads, user and system, and its live child processes' (a server
    that scores in worker processes, as granian does even with one worker) (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            with contextlib.suppress(OSError):  # gone meanwhile
                total += cpu_seconds(int(child))
    return total


def minor_faults(pid: int) -> int:
    """A process's minor page faults so far, all its threads (Linux /proc)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[7])


def loop_cpu(pid: int) -> float:
    """The CPU time so far of a serving process's main thread, its event loop (Linux /proc); the rest of the
    server's CPU is its other threads': the prediction log's writer, and the thread pool (costly requests).
    (Python 3.11 does not name its threads for the system, so they are told apart by thread id only.)"""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_counters(server: Server | None) -> tuple | None:
    pid = server.proc.pid if server else None
    return (cpu_seconds(pid), loop_cpu(pid), minor_faults(pid)) if pid else None


def _server_figures(result: dict, server: Server, before: tuple, client_cpu: float) -> None:
    """The server's CPU per answered request (all threads, and its event loop's) and the client's."""
    total, loop, faults = before
    ok = result["ok"]
    if not ok:
        return
    result["server_us"] = (cpu_seconds(server.proc.pid) - total) / ok * 1e6
    result["faults"] = (minor_faults(server.proc.pid) - faults) / ok
    result["loop_us"] = (loop_cpu(server.proc.pid) - loop) / ok * 1e6
    result["hey_us"] = client_cpu / ok * 1e6


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def hey(hey_bin: str, url: str, body: Path, *, seconds: float, concurrency: int, rate: int | None = None,
        headers: dict | None = None, content_type: str = "application/json", n: int | None = None,
        server: Server | None = None) -> dict:
    """hey's figures; with `server`, also the CPU time per answered request of the server (every thread) and of
    hey, which on a loaded machine say more than req/s: a process's CPU share moves, its CPU per request less."""
    cmd = [*CLIENT_PREFIX, hey_bin, "-m", "POST", "-T", content_type, "-D", str(body), "-c", str(concurrency)]
    cmd += ["-n", str(n)] if n else ["-z", f"{seconds}s"]
    if rate:
        cmd += ["-q", str(rate)]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    before, hey_cpu = _server_counters(server), children_cpu()
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    hey_cpu = children_cpu() - hey_cpu
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "90", "99"):
        m = re.search(rf"\s{pct}%+ in ([\d.]+) secs", out)
        result[f"p{pct}_ms"] = float(m.group(1)) * 1000 if m else float("nan")
    codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
    result["ok"] = int(codes.get("200", 0))
    result["failed"] = sum(int(v) for k, v in codes.items() if k != "200") + len(re.findall(r"Error distribution", out))
    if server is not None:
        _server_figures(result, server, before, hey_cpu)
    return result


# wrk's request: the body file read once, the headers set; done() prints the figures on one line for wrk_load
# (latency percentiles in microseconds; summary.errors.status counts non-2xx/3xx answers).
WRK_SCRIPT = """\
local body = io.open(%(body)s, "rb")
wrk.method = "POST"
wrk.body = body:read("*a")
body:close()
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH-WRK %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
"""


def wrk_load(wrk_bin: str, url: str, body: Path, *, seconds: float, concurrency: int,
             headers: dict | None = None, content_type: str = "application/json",
             server: Server | None = None) -> dict:
    """hey()'s figures from wrk (Debian's, C and epoll; one thread): the same closed loop of `concurrency`
    connections each sending `body` again as soon as its answer arrives, at a fraction of hey's CPU per request
    (hey's Go runtime and HTTP client cost 100-130 us of the same 2 cores per 1,000-row request). No fixed
    rate: wrk 4 has none (the single-row phase's 1,000 req/s stays with hey)."""
    lines = [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}"
             for k, v in {"Content-Type": content_type, **(headers or {})}.items()]
    script = body.with_name(f"{body.name}.{abs(hash((content_type, tuple(lines))))}.lua")
    script.write_text(WRK_SCRIPT % {"body": json.dumps(str(body)), "headers": "\n".join(lines)})
    cmd = [*CLIENT_PREFIX, wrk_bin, "-t1", f"-c{concurrency}", f"-d{seconds:g}s", "-s", str(script), url]
    before, client_cpu = _server_counters(server), children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    client_cpu = children_cpu() - client_cpu
    figures = re.search(r"BENCH-WRK (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if figures is None:
        raise RuntimeError(f"wrk printed no figures:\n{out}")
    requests, duration_us, status_errors, socket_errors, p50, p90, p99 = map(int, figures.groups())
    ok = requests - status_errors
    result = {"rps": ok / (duration_us / 1e6), "p50_ms": p50 / 1000, "p90_ms": p90 / 1000, "p99_ms": p99 / 1000,
              "ok": ok, "failed": status_errors + socket_errors}
    if server is not None:
        _server_figures(result, server, before, client_cpu)
    return result


def v2_body(columns: dict, spec: list[dict]) -> bytes:
    inputs = []
    for s in spec:
        data = [None if isinstance(v, float) and v != v else v for v in columns[s["name"]].tolist()]
        inputs.append({"name": s["name"], "datatype": s["datatype"], "shape": [len(data)], "data": data})
    return json.dumps({"inputs": inputs}).encode()


def v2_binary(columns: dict, spec: list[dict]) -> tuple[bytes, int]:
    inputs, blobs = [], []
    for s in spec:
        values = columns[s["name"]]
        if s["datatype"] == "BYTES":
            blob = b"".join(len(b).to_bytes(4, "little") + b for b in ((v or "").encode() for v in values))
        else:
            blob = np.ascontiguousarray(values, dtype="<f8").tobytes()
        blobs.append(blob)
        inputs.append({"name": s["name"], "datatype": s["datatype"], "shape": [len(values)],
                       "parameters": {"binary_data_size": len(blob)}})
    header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
    return header + b"".join(blobs), len(header)


def line(name: str, r: dict) -> str:
    cpu = (f"   CPU/req: server {r['server_us']:,.0f} us (loop {r['loop_us']:,.0f}; {r['faults']:.1f} faults), "
           f"{r.get('client', 'hey')} {r['hey_us']:,.0f} us" if "server_us" in r else "")
    return (f"  {name:<34} {r['rps']:>9,.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms"
            f"   ok {r['ok']:,}  failed {r['failed']}{cpu}")


def single_row(hey_bin: str, work: Path, full_url: str, floor_url: str, args, what: str) -> dict:
    """Phase 1: the full path and the floor, alternating; the last round's figures (for --compare)."""
    s = args.seconds
    print(f"\nSingle-row requests, {what}; hey on the same 2 cores, {s:.0f} s per phase")
    hey(hey_bin, full_url, work / "one.json", seconds=2, concurrency=4)  # warm-up
    hey(hey_bin, floor_url, work / "one.json", seconds=2, concurrency=4)
    results: dict = {}
    ratios, p99s = [], []
    for r in range(args.rounds):  # full and floor back to back, so both see the same load on the machine
        this = {
            "full_1000": hey(hey_bin, full_url, work / "one.json", seconds=s, concurrency=10, rate=100),
            "floor_1000": hey(hey_bin, floor_url, work / "one.json", seconds=s, concurrency=10, rate=100),
            "full_max": hey(hey_bin, full_url, work / "one.json", seconds=s, concurrency=16),
            "floor_max": hey(hey_bin, floor_url, work / "one.json", seconds=s, concurrency=16),
        }
        ratios.append(this["full_max"]["rps"] / this["floor_max"]["rps"])
        p99s.append(this["full_1000"]["p99_ms"] / this["floor_1000"]["p99_ms"])
        if args.rounds > 1:
            print(f" round {r + 1}:")
        print(line("full path @ 1,000 req/s", this["full_1000"]))
        print(line("floor (bare LightGBM) @ 1,000 req/s", this["floor_1000"]))
        print(line("full path, max (c=16)", this["full_max"]))
        print(line("floor, max (c=16)", this["floor_max"]))
        print(f"  full path keeps {ratios[-1]:.0%} of the floor's maximum throughput (goal >= 80%); p99 at "
              f"1,000 req/s {this['full_1000']['p99_ms']:.2f} ms = {p99s[-1]:.2f}x the floor's (goal <= 1.5x)")
        results = this
    if args.rounds > 1:
        print(f"  median of {args.rounds} rounds: full / floor max throughput {np.median(ratios):.0%}, "
              f"p99 at 1,000 req/s {np.median(p99s):.2f}x the floor's")
    return results


def thousand_rows(clients: dict, work: Path, ports: dict[str, Server], args, cases: dict) -> None:
    """Phase 2: JSON then binary for each model, on each server (this checkout's, and --against's) and with each
    load generator (`clients`: name -> hey() or wrk_load() with its program bound) in turn within a round, so that
    all see the same load; the binary / JSON ratio per round and its median, per server and client."""
    print(f"\n1,000-row requests, end to end (c=2), {args.seconds:.0f} s per phase, load from "
          f"{' and '.join(clients)} on the same 2 cores:")
    ratios: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[tuple[str, str, str], list[float]] = {}  # the server's CPU per request, JSON / binary
    figures: dict[tuple[str, str, str], list[tuple[dict, dict]]] = {}  # each round's (JSON, binary) figures
    for r in range(args.rounds):
        if args.rounds > 1:
            print(f" round {r + 1}:")
        for model, (json_body, binary_body, length, what) in cases.items():
            for server, process in ports.items():
                for client, load in clients.items():
                    url = f"http://127.0.0.1:{process.port}/v2/models/{model}/infer"
                    j = load(url, work / json_body, seconds=args.seconds, concurrency=2, server=process)
                    b = load(url, work / binary_body, seconds=args.seconds, concurrency=2, server=process,
                             content_type="application/octet-stream",
                             headers={"Inference-Header-Content-Length": str(length)})
                    if not (j["ok"] and b["ok"]):
                        raise RuntimeError(f"{server}: no request answered (JSON {j['ok']}, binary {b['ok']}); "
                                           f"its log ends:\n{process.log.read_text()[-3000:]}")
                    j["client"] = b["client"] = client
                    key = (model, server, client)
                    ratios.setdefault(key, []).append(b["rps"] / j["rps"])
                    cpu.setdefault(key, []).append(j["server_us"] / b["server_us"])
                    figures.setdefault(key, []).append((j, b))
                    print(f" {model} ({what}){'' if len(ports) == 1 else ', ' + server}"
                          f"{'' if len(clients) == 1 else ', ' + client}:", flush=True)
                    print(line("JSON tensors", j))
                    print(line("binary tensors", b))
                    print(f"  rows/s: JSON {j['rps'] * 1000:,.0f}, binary {b['rps'] * 1000:,.0f}; binary / JSON = "
                          f"{b['rps'] / j['rps']:.2f}x (goal >= 3x for a numeric-only model)")
    if args.rounds > 1 or len(ports) > 1 or len(clients) > 1:
        print(" binary / JSON req/s, each round and the median (and the server's CPU per request, JSON / binary):")
        for (model, server, client), values in ratios.items():
            pairs = figures[(model, server, client)]

            def median(kind: int, field: str) -> float:
                return float(np.median([pair[kind][field] for pair in pairs]))  # noqa: B023 (used at once)

            print(f"  {model:<13} {server:<17} {client:<4} {', '.join(f'{v:.2f}x' for v in values)}   median "
                  f"{np.median(values):.2f}x   (CPU: median {np.median(cpu[(model, server, client)]):.2f}x)   "
                  f"medians: req/s binary {median(1, 'rps'):,.0f}, JSON {median(0, 'rps'):,.0f}; server CPU/req "
                  f"binary {median(1, 'server_us'):,.0f} us, JSON {median(0, 'server_us'):,.0f} us (event loop "
                  f"binary {median(1, 'loop_us'):,.0f}, JSON {median(0, 'loop_us'):,.0f}; page faults binary "
                  f"{median(1, 'faults'):.1f}, JSON {median(0, 'faults'):.1f}); {client} "
                  f"CPU/req binary {median(1, 'hey_us'):,.0f} us, JSON {median(0, 'hey_us'):,.0f} us")


def batch_scoring(bundle, booster, scoring) -> None:
    """Phase 3: rows/s through the bundle against raw LightGBM predict on the featurized rows."""
    from pipelines.bundle import table_to_columns

    print("\nBatch scoring, 200,000 rows (in 10,000-row chunks, as a batch job does):")
    columns = table_to_columns(scoring, bundle.input_spec)
    X = bundle.features(columns, len(scoring))
    t = time.perf_counter()
    for start in range(0, len(scoring), 10_000):
        booster.predict(X[start:start + 10_000])
    raw = len(scoring) / (time.perf_counter() - t)
    t = time.perf_counter()
    for start in range(0, len(scoring), 10_000):
        chunk = {k: v[start:start + 10_000] for k, v in columns.items()}
        bundle.predict(chunk, len(next(iter(chunk.values()))))
    through = len(scoring) / (time.perf_counter() - t)
    print(f"  raw LightGBM predict on featurized rows  {raw:>12,.0f} rows/s")
    print(f"  bundle (feature kernel + model)          {through:>12,.0f} rows/s   = {through / raw:.0%} of raw "
          "(goal >= 70%)")


def write_bodies(work: Path, bundle, scoring) -> dict:
    """The request bodies the phases send, as files for hey; the 1,000-row cases by model."""
    from pipelines.bundle import load_bundle, table_to_columns

    one = table_to_columns(scoring.head(1), bundle.input_spec)
    features = bundle.features(one, 1)
    np.save(work / "row.npy", features.toarray() if hasattr(features, "toarray") else features)
    (work / "one.json").write_bytes(v2_body(one, bundle.input_spec))
    thousand = table_to_columns(scoring.head(1000), bundle.input_spec)
    (work / "k.json").write_bytes(v2_body(thousand, bundle.input_spec))
    binary, header_length = v2_binary(thousand, bundle.input_spec)
    (work / "k.bin").write_bytes(binary)
    numeric_bundles = build_numeric_bundles(work)
    numeric_spec = load_bundle(numeric_bundles["numeric_lr"]).input_spec
    numeric_rows = table_to_columns(scoring.head(1000), numeric_spec)
    (work / "kn.json").write_bytes(v2_body(numeric_rows, numeric_spec))
    numeric_binary, numeric_header_length = v2_binary(numeric_rows, numeric_spec)
    (work / "kn.bin").write_bytes(numeric_binary)
    numeric = f"{len(numeric_spec)} FP64 inputs"
    return {"credit": ("k.json", "k.bin", header_length, f"{len(bundle.input_spec)} inputs, 4 of them BYTES; GBDT"),
            "numeric_lr": ("kn.json", "kn.bin", numeric_header_length, f"{numeric}; LR"),
            "numeric_gbdt": ("kn.json", "kn.bin", numeric_header_length, f"{numeric}; GBDT")}


def serving_process(name: str, checkout: Path, work: Path, variant: str = "uvicorn") -> tuple[Server, int]:
    """`python -m studio.serving` from a checkout (this one, or --against's), on the bench's registry; or, with
    `variant` (servers.py), this checkout's same app under another server or other server settings."""
    from .servers import VARIANTS

    env = {"STUDIO_DATA_DIR": str(work), "SERVING_DIR": str(work / "serving"), "SERVING_REQUIRE_KEYS": "0",
           "PYTHONPATH": str(checkout)}
    port = free_port()
    server = Server(name, VARIANTS[variant][0](port), port, env, "/v2/health/ready",
                    work / f"serving-{name}.log", cwd=checkout)
    return server, port


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each load phase")
    parser.add_argument("--compare", action="store_true", help="also MLServer and mlflow (installs them)")
    parser.add_argument("--rounds", type=int, default=1, help="single-row (and 1,000-row) phases repeated, "
                        "alternating; the median ratios are printed (a shared machine's load moves)")
    parser.add_argument("--single-row-only", action="store_true", help="skip the 1,000-row and batch phases")
    parser.add_argument("--rows-only", action="store_true", help="only the 1,000-row phase")
    parser.add_argument("--models", default="credit,numeric_lr,numeric_gbdt",
                        help="the 1,000-row phase's models, comma-separated")
    parser.add_argument("--against", type=Path, help="another checkout (e.g. a worktree of main): its serving "
                        "process runs beside this one's and the 1,000-row phase alternates between them")
    parser.add_argument("--servers", default="uvicorn", help="this checkout's app under each of these servers "
                        "(comma-separated, from benchmarks/serving/servers.py: uvicorn, granian, uvicorn-h11, ...); "
                        "the 1,000-row phase alternates between them; the first serves the other phases")
    parser.add_argument("--client", default="hey", help="the 1,000-row phase's load generator: hey (Go, as "
                        "before), wrk (C, epoll: a fraction of hey's CPU per request on the same cores, as a client "
                        "on another machine would take none), or hey,wrk (both, alternating within each round); "
                        "each phase prints the client's CPU per request")
    parser.add_argument("--client-cpu", type=int, help="run the load generator pinned to this CPU (taskset), e.g. "
                        "the CPU of a uvicorn-pinned server's log writer: a benchmark choice, stated with its figures")
    args = parser.parse_args(argv)
    from .servers import VARIANTS

    if args.client_cpu is not None:
        CLIENT_PREFIX[:] = ["taskset", "-c", str(args.client_cpu)]

    variants = [v.strip() for v in args.servers.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"--servers: unknown {', '.join(unknown) or '(none)'}; known: {', '.join(VARIANTS)}")
    client_names = [c.strip() for c in args.client.split(",") if c.strip()]
    if not client_names or set(client_names) - {"hey", "wrk"}:
        parser.error(f"--client: hey, wrk or both (hey,wrk), not {args.client!r}")
    hey_bin = ensure_hey()
    clients = {"hey": functools.partial(hey, hey_bin), "wrk": functools.partial(wrk_load, ensure_tool("wrk"))}
    clients = {name: clients[name] for name in client_names}
    from pipelines.bundle import load_bundle

    work = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    servers = []
    try:
        bundle_dir, booster, state, scoring = build_bundle(work)
        bundle = load_bundle(bundle_dir)
        cases = write_bodies(work, bundle, scoring)
        ports = {}
        for variant in variants:  # "this" when only one, as before
            label = "this" if len(variants) == 1 else variant
            ports[label], _ = serving_process(label, REPO, work, variant)
            servers.append(ports[label])
        full = next(iter(ports.values()))
        port = full.port
        if args.against is not None:
            ports["against"], _ = serving_process("against", args.against.resolve(), work)
            servers.append(ports["against"])
        results: dict = {}
        if not args.rows_only:
            fport = free_port()
            servers.append(Server("floor", [sys.executable, "-m", "uvicorn", "benchmarks.serving.floor_app:app",
                                            "--port", str(fport), "--loop", "uvloop", "--http", "httptools",
                                            "--no-access-log", "--log-level", "warning"], fport,
                                  {"BENCH_MODEL": str(work / "model.txt"), "BENCH_ROW": str(work / "row.npy")},
                                  "/v2/health/ready", work / "floor.log"))
            results = single_row(hey_bin, work, f"http://127.0.0.1:{port}/v2/models/credit/infer",
                                 f"http://127.0.0.1:{fport}/infer", args,
                                 f"GBDT 100 trees x 31 leaves, {len(bundle.input_spec)} raw inputs -> "
                                 f"{len(bundle.contribution_names) - 1} features")
        if args.single_row_only:
            return
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        thousand_rows(clients, work, ports, args, {m: cases[m] for m in wanted})
        if args.rows_only:
            return
        batch_scoring(bundle, booster, scoring)
        if args.compare:
            from .compare import compare

            compare(hey_bin, work, bundle_dir, results, seconds=args.seconds)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

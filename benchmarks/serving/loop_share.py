"""Where the prediction log's event-loop share goes (issue 19): the event loop thread's CPU per binary 1,000-row
numeric_lr request, in process (the ASGI app called directly, no HTTP, uvloop), with the log off, on, and
taken apart; and the same with a stand-in for the writer (a busy thread, or a busy process) and no log.

    .venv/bin/python -m benchmarks.serving.loop_share [--requests 2000] [--rounds 6] [--modes off,on,...]

Modes: off (no log); on (the log as served); norecord (the log open, record() a no-op: the request path's share
without the rows); nowrite (rows recorded and drained, nothing written: holding the bodies until a drain);
batch (the writer thread under SCHED_BATCH: no wake-up preemption of the loop); busy-short / busy-long (no log;
a thread busy about half the time in GIL-free calls of ~0.1 ms / ~0.7 ms, so many / few GIL hand-overs);
busy-proc (no log; the same work in another process: no GIL shared). Each mode gets a fresh app in turn within
each round; per mode the min and median of the rounds: the loop thread's CPU (user + system) and system CPU
per request, its voluntary / involuntary context switches per request, the other threads' CPU per request.
The loop thread's voluntary switches are its waits for the GIL (nothing else here sleeps).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

MODES = ("off", "on", "norecord", "nowrite", "batch", "busy-short", "busy-long", "busy-proc")
BUSY_PROCESS = ("import hashlib, time\nb = bytes(1 << 20)\nwhile True:\n    t = time.perf_counter()\n"
                "    while time.perf_counter() - t < 0.001:\n        hashlib.sha256(b).digest()\n"
                "    time.sleep(0.0012)\n")


def thread_usage() -> np.ndarray:
    u = resource.getrusage(resource.RUSAGE_THREAD)
    return np.array([u.ru_utime + u.ru_stime, u.ru_stime, u.ru_nvcsw, u.ru_nivcsw], dtype=float)


async def drive(app, body: bytes, header_length: int, n: int) -> None:
    scope = {"type": "http", "method": "POST", "path": "/v2/models/numeric_lr/infer", "raw_path": b"",
             "query_string": b"", "root_path": "", "scheme": "http", "http_version": "1.1",
             "server": ("127.0.0.1", 1), "client": ("127.0.0.1", 2),
             "headers": [(b"content-type", b"application/octet-stream"),
                         (b"content-length", str(len(body)).encode()),
                         (b"inference-header-content-length", str(header_length).encode())]}
    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for _ in range(n):
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive(messages=messages):
            if messages:
                return messages.pop()
            await asyncio.sleep(3600)  # (a disconnect would come here)

        await app(dict(scope), receive, send)
    if any(s != 200 for s in statuses):
        raise RuntimeError(f"statuses {sorted(set(statuses))}")


class Busy:
    """A stand-in for the writer: busy about 1 ms in 2.2 in GIL-free hashing, in a thread or a process."""

    def __init__(self, mode: str):
        self.stop, self.proc = threading.Event(), None
        if mode == "busy-proc":
            self.proc = subprocess.Popen([sys.executable, "-c", BUSY_PROCESS])
        elif mode.startswith("busy"):
            threading.Thread(target=self.run, args=(bytes(1 << 20 if mode == "busy-long" else 1 << 16),),
                             daemon=True).start()

    def run(self, blob: bytes) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            while time.perf_counter() - started < 0.001:
                hashlib.sha256(blob).digest()  # (releases the GIL: blob > 2 KB)
            time.sleep(0.0012)

    def close(self) -> None:
        self.stop.set()
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--modes", default="off,on,norecord,nowrite,busy-short,busy-long,busy-proc")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in MODES for m in modes):
        parser.error(f"--modes: known {', '.join(MODES)}")

    import uvloop

    from benchmarks.serving.bench import build_numeric_bundles, v2_binary
    from operators.library.sample_data import credit_default_table
    from pipelines.bundle import load_bundle, table_to_columns, write_registry

    work = Path(tempfile.mkdtemp(prefix="loop-share-"))
    registry = work / "serving" / "registry.json"
    write_registry(registry, {})
    bundles = build_numeric_bundles(work)  # (trains with scikit-learn: before the serving keep-out)
    spec = load_bundle(bundles["numeric_lr"]).input_spec
    body, header_length = v2_binary(table_to_columns(credit_default_table(200_000, seed=3).head(1000), spec), spec)

    from studio.serving import keep_training_code_out, predlog

    keep_training_code_out()
    from studio.serving.app import create_app

    record, write, run = predlog.PredictionLog.record, predlog.PredictionLog._write, predlog.PredictionLog._run

    def batch_run(self):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))  # (0: the calling thread)
        return run(self)

    results: dict[str, list] = {}
    for r in range(args.rounds):
        for mode in modes:
            predlog.PredictionLog.record = (lambda *a, **k: None) if mode == "norecord" else record
            predlog.PredictionLog._write = (lambda self, batch: None) if mode == "nowrite" else write
            predlog.PredictionLog._run = batch_run if mode == "batch" else run
            logged = mode in ("on", "norecord", "nowrite", "batch")
            app = create_app(registry, require_keys=False,
                             prediction_log_dir=work / f"log-{mode}-{r}" if logged else None)
            busy = Busy(mode)

            async def measure(app=app):
                inbox, outbox = asyncio.Queue(), asyncio.Queue()
                await inbox.put({"type": "lifespan.startup"})
                lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                                   inbox.get, outbox.put))
                assert (await outbox.get())["type"] == "lifespan.startup.complete"
                await drive(app, body, header_length, 300)  # warm-up
                loop0, process0 = thread_usage(), time.process_time()
                await drive(app, body, header_length, args.requests)
                loop1, process1 = thread_usage(), time.process_time()
                await inbox.put({"type": "lifespan.shutdown"})
                await outbox.get()
                await lifespan
                loop = (loop1 - loop0) / args.requests
                return loop, (process1 - process0) / args.requests - loop[0]

            try:
                loop, others = uvloop.run(measure())
            finally:
                busy.close()
            results.setdefault(mode, []).append((loop[0] * 1e6, loop[1] * 1e6, loop[2], loop[3], others * 1e6))
    print(f"binary 1,000-row numeric_lr requests in process, {args.requests:,} per mode and round, "
          f"{args.rounds} rounds (min / median of the rounds):")
    for mode, values in results.items():
        a = np.array(values)
        print(f"  {mode:<11} loop thread CPU/req {a[:, 0].min():6.1f} / {np.median(a[:, 0]):6.1f} us "
              f"(system {np.median(a[:, 1]):5.1f} us), switches/req voluntary {np.median(a[:, 2]):.2f}, "
              f"involuntary {np.median(a[:, 3]):.2f}; other threads {np.median(a[:, 4]):6.1f} us/req")


if __name__ == "__main__":
    main()

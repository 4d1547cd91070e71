"""Instructions per binary 1,000-row numeric_lr request through uvicorn's HttpToolsProtocol, in process (issue 19):
the request's bytes fed to the protocol object as the socket would, the answer taken by a transport that keeps
nothing, the prediction log on; counted under valgrind --tool=callgrind, which the load does not move. The event
loop thread's instructions (where a served request waits) apart from the other threads' (the log's writer).

    .venv/bin/python -m benchmarks.serving.request_instructions [--against <checkout>] [--requests 200] [--json]
    .venv/bin/python -m benchmarks.serving.request_instructions --profile   # cProfile of the loop, no valgrind

Each checkout runs twice under valgrind, with 50 and 50 + --requests requests (after the same warm-up), and the
difference is divided by --requests: start-up, bundle load and warm-up cancel out. --json: the same rows as a JSON
request instead (the other format, which the binary path's changes must not slow).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[2]
WARM = 50


class NullTransport(asyncio.Transport):
    """Takes the answers and keeps nothing; `answered` is done at each answer (the driver waits on it, no polling)."""

    def __init__(self):
        super().__init__()
        self.answers = 0
        self.answered: asyncio.Future | None = None

    def write(self, data) -> None:
        self.answers += 1
        if self.answered is not None and not self.answered.done():
            self.answered.set_result(None)

    def writelines(self, parts) -> None:
        self.write(b"")

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 8001)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def build(work: Path) -> None:
    """The bench's numeric LR bundle and its binary 1,000-row request, saved under `work`."""
    from benchmarks.serving.bench import build_numeric_bundles, v2_binary, v2_body
    from operators.library.sample_data import credit_default_table
    from pipelines.bundle import load_bundle, table_to_columns, write_registry

    write_registry(work / "serving" / "registry.json", {})
    bundles = build_numeric_bundles(work)
    spec = load_bundle(bundles["numeric_lr"]).input_spec
    columns = table_to_columns(credit_default_table(200_000, seed=3).head(1000), spec)
    body, header_length = v2_binary(columns, spec)
    head = (f"POST /v2/models/numeric_lr/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream"
            f"\r\nInference-Header-Content-Length: {header_length}\r\nContent-Length: {len(body)}\r\n\r\n")
    (work / "request.http").write_bytes(head.encode() + body)
    body = v2_body(columns, spec)
    head = (f"POST /v2/models/numeric_lr/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {len(body)}\r\n\r\n")
    (work / "request-json.http").write_bytes(head.encode() + body)


def run(work: Path, requests: int, profile: bool, request_file: str = "request.http") -> None:
    """`requests` requests after a warm-up, as `python -m studio.serving` serves them (its process settings too)."""
    import studio.serving as serving

    serving.keep_training_code_out()
    serving.keep_freed_memory()
    import uvloop
    from uvicorn.config import Config
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    from uvicorn.server import ServerState

    from studio.serving.app import create_app

    raw = (work / request_file).read_bytes()
    app = create_app(work / "serving" / "registry.json", require_keys=False,
                     prediction_log_dir=work / f"log-{os.getpid()}")
    # Every request scored on the event loop, as served (an LR request measures ~100 us of CPU there): under
    # valgrind each measures ~50x that, and the server would send it to a thread.
    app.state.server.inline_seconds = float("inf")

    async def main() -> None:
        inbox, outbox = asyncio.Queue(), asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           inbox.get, outbox.put))
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        protocol = HttpToolsProtocol(config=Config(app=app, http="httptools", lifespan="off", log_level="warning",
                                                   proxy_headers=False, access_log=False),
                                     server_state=ServerState(), app_state={}, _loop=asyncio.get_running_loop())
        transport = NullTransport()
        protocol.connection_made(transport)

        loop = asyncio.get_running_loop()

        async def serve(n: int) -> None:
            target = transport.answers + n
            for _ in range(n):
                transport.answered = loop.create_future()
                protocol.data_received(raw)
                await transport.answered
            assert transport.answers == target

        await serve(WARM)
        collections = []
        gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            await serve(requests)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime"))
            stats.print_stats(int(os.environ.get("LINES", "45")))
        else:
            await serve(requests)
        if requests:
            print(f"garbage collections per request: {len(collections) / requests:.3f} (generation 0 / 1 / 2: "
                  f"{collections.count(0)} / {collections.count(1)} / {collections.count(2)})", file=sys.stderr)
        # the rows still waiting written by the log's own thread (else the shutdown's flush writes them on this one)
        prediction_log = app.state.server.prediction_log
        prediction_log._wake.set()
        while prediction_log._pending:
            time.sleep(0.01)
        protocol.connection_lost(None)
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await lifespan

    uvloop.run(main())


def thread_instructions(out_prefix: Path) -> tuple[int, int]:
    """(the main thread's instructions, every other thread's) from callgrind's per-thread files."""
    main_thread, others = 0, 0
    for path in out_prefix.parent.glob(out_prefix.name + "*"):
        text = path.read_text()
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.MULTILINE)
        thread = re.search(r"^thread: (\d+)", text, re.MULTILINE)
        if total is None:
            continue
        if thread is None or thread.group(1) == "1":
            main_thread += int(total.group(1))
        else:
            others += int(total.group(1))
        path.unlink()
    return main_thread, others


def instructions(checkout: Path, work: Path, requests: int, request_file: str) -> tuple[int, int]:
    out = work / f"callgrind.{os.getpid()}.{requests}.out"
    env = dict(os.environ, PYTHONPATH=str(checkout), OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    subprocess.run([sys.executable, __file__, "--run", "--work", str(work), "--requests", "1",
                    "--request-file", request_file],
                   check=True, env=env, cwd=checkout, capture_output=True)  # (bytecode compiled outside valgrind)
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
                    sys.executable, __file__, "--run", "--work", str(work), "--requests", str(requests),
                    "--request-file", request_file],
                   check=True, env=env, cwd=checkout, capture_output=True)
    return thread_instructions(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="another checkout (main) to compare with")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--json", action="store_true", help="JSON requests of the same rows instead of binary")
    parser.add_argument("--request-file", default="request.http", help=argparse.SUPPRESS)
    parser.add_argument("--run", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the event loop, no valgrind")
    args = parser.parse_args(argv)
    if args.run:
        run(args.work, args.requests, args.profile, args.request_file)
        return
    request_file, what = ("request-json.http", "JSON") if args.json else ("request.http", "binary")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-request-instructions-"))
    if not (work / "request-json.http").is_file():
        build(work)
    if args.profile:
        run(work, args.requests, True, request_file)
        return
    checkouts = {"this": HERE} | ({"against": args.against.resolve()} if args.against else {})
    for name, checkout in checkouts.items():
        low, high = (instructions(checkout, work, n, request_file) for n in (0, args.requests))
        loop, others = ((h - lo) / args.requests for h, lo in zip(high, low, strict=True))
        print(f"{name:<8} event loop {loop:>11,.0f}  other threads {others:>11,.0f} instructions per {what} "
              f"1,000-row request (through uvicorn's HttpToolsProtocol, log on)", flush=True)


if __name__ == "__main__":
    main()

"""The HTTP servers' own cost per request (issue 19): an app that only reads the body and answers 8 KB (a binary
1,000-row LR answer's size), under uvicorn (uvloop and httptools, the serving process's settings; asyncio's
loop; h11) and granian (ASGI, and its own RSGI interface), driven by hey (c=2) on the same 2 cores; the
server's CPU per request (all its processes and threads) and req/s, servers alternating within each round.

    .venv/bin/python -m benchmarks.serving.transport_floor [--seconds 5] [--rounds 3] [--body 48300]

48,300 bytes is the bench's binary numeric_lr body (1,000 rows x 6 FP64 and its JSON header). Granian is not a
dependency of the project: `.venv/bin/pip install granian` first (its servers are skipped when it is missing).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ANSWER = b"\0" * 8200
HEADERS = [(b"content-type", b"application/octet-stream"), (b"content-length", str(len(ANSWER)).encode())]


async def asgi_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/ready":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ANSWER})


async def rsgi_app(scope, protocol):
    if scope.path != "/ready":
        await protocol()
    protocol.response_bytes(200, [("content-type", "application/octet-stream")], ANSWER)


def commands(port: int) -> dict[str, list[str]]:
    here = "benchmarks.serving.transport_floor"
    servers = {"uvicorn": [sys.executable, "-m", "uvicorn", f"{here}:asgi_app", "--port", str(port), "--loop",
                           "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
                           "--no-proxy-headers"]}
    servers["uvicorn-asyncio"] = servers["uvicorn"] + ["--loop", "asyncio"]  # (click: the last --loop wins)
    servers["uvicorn-h11"] = servers["uvicorn"] + ["--http", "h11"]
    granian = shutil.which("granian", path=str(Path(sys.executable).parent))
    if granian:
        base = [granian, "--port", str(port), "--workers", "1", "--no-ws", "--loop", "uvloop", "--log-level",
                "warning", "--no-access-log", "--http", "1"]
        servers["granian-asgi"] = base + ["--interface", "asgi", f"{here}:asgi_app"]
        servers["granian-asgi-st"] = base + ["--interface", "asgi", "--runtime-mode", "st", f"{here}:asgi_app"]
        servers["granian-rsgi"] = base + ["--interface", "rsgi", f"{here}:rsgi_app"]
    else:
        print("granian is not installed: uvicorn only")
    return servers


def main(argv=None) -> None:
    from .bench import REPO, Server, ensure_hey, free_port, hey

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--body", type=int, default=48_300, help="request body bytes")
    args = parser.parse_args(argv)
    hey_bin = ensure_hey()
    work = Path(tempfile.mkdtemp(prefix="transport-floor-"))
    (work / "body.bin").write_bytes(b"\0" * args.body)
    servers: dict[str, Server] = {}
    try:
        names = commands(0)
        for name in names:
            port = free_port()
            servers[name] = Server(name, commands(port)[name], port, {"PYTHONPATH": str(REPO)}, "/ready",
                                   work / f"{name}.log")
        figures: dict[str, list[dict]] = {name: [] for name in servers}
        print(f"{args.body:,}-byte bodies, 8,200-byte answers, hey c=2, {args.seconds:.0f} s per phase")
        for r in range(args.rounds):
            for name, server in servers.items():
                result = hey(hey_bin, f"http://127.0.0.1:{server.port}/x", work / "body.bin", seconds=args.seconds,
                             concurrency=2, content_type="application/octet-stream", server=server)
                figures[name].append(result)
                print(f" round {r + 1} {name:<16} {result['rps']:>8,.0f} req/s   server CPU/req "
                      f"{result['server_us']:6.0f} us   hey {result['hey_us']:5.0f} us", flush=True)
        print("medians:")
        for name, results in figures.items():
            print(f"  {name:<16} {np.median([x['rps'] for x in results]):>8,.0f} req/s   server CPU/req "
                  f"{np.median([x['server_us'] for x in results]):6.0f} us   hey "
                  f"{np.median([x['hey_us'] for x in results]):5.0f} us")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

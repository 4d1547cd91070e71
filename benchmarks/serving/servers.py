"""The serving app under other HTTP servers (or other uvicorn settings), for bench.py's `--servers`.

Each variant starts the same ASGI app that `python -m studio.serving` does (app_from_environment, with the
training code kept out of the process first) on the bench's registry; only the server around it changes.
"uvicorn" is `python -m studio.serving` itself (uvloop, httptools, no access log, no proxy headers).
(granian's `--task-impl rust` is left out: anyio's to_thread, which scores a large request in a thread, fails
under it with "Future object is not initialized".) Granian is not a dependency of the project:
`.venv/bin/pip install granian` to measure its variants.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def app():
    """The factory every variant but "uvicorn" loads: the production app, as studio.serving's main builds it."""
    from studio.serving import keep_freed_memory, keep_training_code_out

    keep_training_code_out()
    keep_freed_memory()
    from studio.serving.app import app_from_environment

    return app_from_environment()


def app_without_log():
    """The same app without the prediction log (diagnostic only: what the log costs end to end, the most that
    any change to the log could win)."""
    from studio.serving import keep_freed_memory, keep_training_code_out

    keep_training_code_out()
    keep_freed_memory()
    from studio.serving.app import create_app, default_data_dir, require_keys_from_environment

    serving_dir = Path(os.environ.get("SERVING_DIR", default_data_dir() / "serving"))
    return create_app(serving_dir / "registry.json", require_keys=require_keys_from_environment())


TARGET = "benchmarks.serving.servers:app"


def _uvicorn(*knobs: str, target: str = TARGET):
    def cmd(port: int) -> list[str]:  # click keeps an option's last value: a knob replaces the setting before it
        return [sys.executable, "-m", "uvicorn", target, "--factory", "--port", str(port), "--loop", "uvloop",
                "--http", "httptools", "--no-access-log", "--log-level", "warning", "--lifespan", "on",
                "--no-proxy-headers", *knobs]
    return cmd


def _granian(*knobs: str):
    def cmd(port: int) -> list[str]:
        binary = shutil.which("granian", path=str(Path(sys.executable).parent))
        if binary is None:
            raise SystemExit("granian is not installed (not a project dependency): .venv/bin/pip install granian")
        return [binary, "--interface", "asgi", "--factory", "--port", str(port), "--workers", "1", "--no-ws",
                "--loop", "uvloop", "--log-level", "warning", "--no-access-log", "--http", "1", *knobs, TARGET]
    return cmd


def _production(port: int) -> list[str]:
    return [sys.executable, "-m", "studio.serving", "--port", str(port)]


def _production_pinned(port: int) -> list[str]:
    """python -m studio.serving with its event loop on CPU 0 and its prediction log writer on CPU 1."""
    return ["env", "SERVING_PIN_THREADS=0,1", *_production(port)]


# name -> (the command for a port, what it is)
VARIANTS = {
    "uvicorn": (_production, "python -m studio.serving: uvicorn, uvloop, httptools"),
    "uvicorn-pinned": (_production_pinned, "python -m studio.serving, SERVING_PIN_THREADS=0,1 (event loop on CPU 0, "
                       "the prediction log's writer on CPU 1)"),
    "uvicorn-factory": (_uvicorn(), "uvicorn's CLI on the same settings (checks the launcher costs nothing)"),
    "uvicorn-h11": (_uvicorn("--http", "h11"), "uvicorn, uvloop, h11"),
    "uvicorn-asyncio": (_uvicorn("--loop", "asyncio"), "uvicorn, asyncio's loop, httptools"),
    "uvicorn-nodate": (_uvicorn("--no-date-header", "--no-server-header"), "uvicorn, no date / server header"),
    "uvicorn-nolog": (_uvicorn(target="benchmarks.serving.servers:app_without_log"),
                      "uvicorn as in production, without the prediction log (diagnostic)"),
    "granian": (_granian(), "granian (ASGI, 1 worker, uvloop, HTTP/1)"),
    "granian-st": (_granian("--runtime-mode", "st"), "granian, single-threaded runtime"),
    "granian-asyncio": (_granian("--loop", "asyncio"), "granian, asyncio's loop"),
}

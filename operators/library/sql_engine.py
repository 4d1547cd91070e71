"""Where sql_transform's DuckDB statements run: child processes under a memory ceiling, kept warm between
statements.

DuckDB's memory limit covers its buffer manager, not every value a statement makes: a chain of concatenations
(s || s || ... through CTEs) built gigabytes of strings beside it, in the worker that runs other people's nodes
too. In a child under RLIMIT_DATA (operators.isolation) such a statement fails alone, with a clear error. A
child costs about a second to start (Python, pandas, DuckDB), so it is kept and reused: one statement at a time
each, as many children as statements run at once, up to IDLE_CHILDREN kept idle. A child is killed on a cancel,
at the time limit (when DuckDB's own interrupt was not heard), after a memory failure, and when its heap grew
past half its ceiling, and a new one starts for the next statement.

Requests and answers cross as one line of JSON each (never pickle); tables as Arrow IPC files in a folder the
parent owns, which the child maps instead of copying.
"""
from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..isolation import ChildFailed, set_memory_limit

IDLE_CHILDREN = 2
ROOT = Path(__file__).resolve().parents[2]  # the folder holding `operators`: the child imports this same code


class Child:
    """One child process answering statements over a pipe, one at a time."""

    def __init__(self, memory: int):
        self.memory = memory
        self.home = tempfile.mkdtemp(prefix="studio-sql-child-")
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": self.home, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen([sys.executable, "-m", "operators.library.sql_engine", str(memory)],
                                     cwd=self.home, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, request: dict, wall_seconds: float, cancelled: Callable[[], bool]) -> dict:
        """The child's answer to `request`; ChildFailed ("cancelled", "wall-clock limit", "crashed") when it
        was killed or died first."""
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        deadline, line = time.monotonic() + wall_seconds, b""
        while not line.endswith(b"\n"):
            if cancelled():
                raise ChildFailed("cancelled", "stopped: the run was cancelled")
            if time.monotonic() >= deadline:
                raise ChildFailed("wall-clock limit", f"stopped after the wall-clock limit of {wall_seconds:g} s")
            if select.select([self.proc.stdout], [], [], 0.25)[0]:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    code = self.proc.wait()
                    raise ChildFailed("crashed", f"the query's process ended with code {code} and no answer")
                line += chunk
        return json.loads(line)

    def close(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            stream.close()
        for leftover in Path(self.home).iterdir():
            leftover.unlink()
        os.rmdir(self.home)


_idle: list[Child] = []
_idle_lock = threading.Lock()


def ask(request: dict, *, memory: int, wall_seconds: float, cancelled: Callable[[], bool]) -> dict:
    """`request` answered by an idle child of this ceiling (or a new one); the child is kept for the next
    statement unless it failed or asks to be replaced (`restart`)."""
    with _idle_lock:
        child = next((c for c in _idle if c.memory == memory), None)
        if child is not None:
            _idle.remove(child)
    if child is None or not child.alive():
        if child is not None:
            child.close()
        child = Child(memory)
    try:
        answer = child.ask(request, wall_seconds, cancelled)
    except BaseException:
        child.close()
        raise
    if answer.pop("restart", False):
        child.close()
    else:
        with _idle_lock:
            _idle.append(child)
            extra = _idle[:-IDLE_CHILDREN] if len(_idle) > IDLE_CHILDREN else []
            del _idle[:len(extra)]
        for old in extra:
            old.close()
    if answer.get("memory_error"):
        raise ChildFailed("memory limit", "went over its memory limit")
    return answer


def close_idle() -> None:
    """Ends the idle children (a worker shutting down; they also end when this process's pipes close)."""
    with _idle_lock:
        children, _idle[:] = list(_idle), []
    for child in children:
        child.close()


def data_bytes() -> int:
    """This process's data segment (heap and private maps), what RLIMIT_DATA counts; 0 where /proc has none."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in lines if line.startswith("VmData:")), 0)


def serve(memory: int) -> None:
    """The child's loop: a request per line on stdin, an answer per line on the original stdout (stray output
    goes to stderr), until stdin closes."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    set_memory_limit(memory)
    from .sql import query_in_child

    for line in sys.stdin.buffer:
        try:
            answer = query_in_child(json.loads(line))
        except MemoryError:
            answer = {"memory_error": True, "restart": True}
        if data_bytes() > memory // 2:
            answer["restart"] = True  # the allocator keeps what a big statement took: start afresh
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]))

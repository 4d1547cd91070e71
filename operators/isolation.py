"""Limits on a process: a memory ceiling for the current one, and a function run in a child process under
memory, CPU-time and wall-clock limits with an environment of its own (none of the parent's secrets).

The ceiling is RLIMIT_DATA on Linux: it counts the memory a process can write (heap, anonymous maps, thread
stacks), not the address space that allocators and the JVM merely reserve, which RLIMIT_AS would count too
(a worker with LightGBM, pyarrow and their thread pools reserves gigabytes it never uses). An allocation past
it fails at once with MemoryError instead of growing until the kernel's OOM killer ends the whole process.

The child's inputs and outputs cross as JSON files, never pickle: the code in the child may be the user's.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_LIMIT = getattr(resource, "RLIMIT_DATA", None) if sys.platform.startswith("linux") else None
_UNITS = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4}


def parse_size(text: str) -> int | None:
    """'4g', '512m', '1073741824' as bytes; '', '0', 'off' and 'none' as no limit."""
    text = text.strip().lower()
    if text in ("", "0", "off", "none"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", text)
    if not match:
        raise ValueError(f"not a size: {text!r} (e.g. 4g, 512m or a number of bytes)")
    return int(float(match[1]) * _UNITS[match[2]])


def describe_size(size: int) -> str:
    return f"{size / 1024 ** 3:.1f} GiB" if size >= 1024 ** 3 else f"{size / 1024 ** 2:.0f} MiB"


def physical_memory() -> int | None:
    """The memory this process may use at most: the machine's RAM, or its cgroup's limit when lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def set_memory_limit(size: int | None) -> bool:
    """Caps the memory this process (and the children it starts later) can take; False where the OS has no
    such limit. Only the soft limit moves, below the hard one, so it can be raised again later."""
    if _LIMIT is None or size is None:
        return False
    _, hard = resource.getrlimit(_LIMIT)
    if hard != resource.RLIM_INFINITY:
        size = min(size, hard)
    resource.setrlimit(_LIMIT, (size, hard))
    return True


def memory_limit() -> int | None:
    """The memory ceiling of this process in bytes, or None."""
    if _LIMIT is None:
        return None
    soft, _ = resource.getrlimit(_LIMIT)
    return None if soft == resource.RLIM_INFINITY else soft


def memory_error_message(error: BaseException) -> str:
    """What a node says when an allocation failed: the ceiling it hit, when there is one."""
    limit = memory_limit()
    detail = str(error).strip() or "an allocation failed"
    if limit is None:
        return f"out of memory: {detail}"
    return (f"went over the memory limit of {describe_size(limit)} (STUDIO_WORKER_MEMORY_LIMIT): {detail}; the "
            "node's data is too large for this worker, or the limit too low")


# ------------------------------------------------------------------------------------------- child process
class ChildFailed(Exception):
    """The child did not return a result: `reason` is "memory limit", "cpu time limit", "wall-clock limit",
    "error" (it raised; `message` says what) or "crashed"."""

    def __init__(self, reason: str, message: str, output: str = ""):
        super().__init__(message)
        self.reason, self.message, self.output = reason, message, output


def run_limited(target: str, payload: Any = None, *, memory: int | None = None, cpu_seconds: int | None = None,
                wall_seconds: float = 60.0, env: dict[str, str] | None = None, cwd: str | Path | None = None,
                cancelled: Callable[[], bool] | None = None) -> Any:
    """Calls `target` ("package.module:function") with `payload` in a fresh Python process under the limits,
    and returns what it returned (both JSON). The child sees only `env` (plus PATH, LANG and a HOME in its
    own temporary directory), never this process's environment. Raises ChildFailed; its reason is
    "cancelled" when `cancelled()` (asked twice a second) turned true and the child was killed."""
    with tempfile.TemporaryDirectory(prefix="studio-child-") as tmp:
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps({"target": target, "payload": payload, "memory": memory,
                                       "cpu_seconds": cpu_seconds, "result": str(result)}))
        child_env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": tmp, **(env or {})}
        proc = subprocess.Popen([sys.executable, "-m", "operators.isolation", str(request)], cwd=cwd or tmp,
                                env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        output, stopped = _wait(proc, wall_seconds, cancelled)
        if stopped == "cancelled":
            raise ChildFailed("cancelled", "stopped: the run was cancelled", _tail(output))
        if stopped:
            raise ChildFailed("wall-clock limit", f"stopped after the wall-clock limit of {wall_seconds:g} s",
                              _tail(output))
        return _outcome(proc.returncode, result, _tail(output), memory, cpu_seconds)


def _wait(proc: subprocess.Popen, wall_seconds: float, cancelled) -> tuple[bytes, str | None]:
    """The child's output once it ended, or after killing its process group at the deadline ("wall-clock")
    or on a cancel ("cancelled")."""
    deadline = time.monotonic() + wall_seconds
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()  # drains the pipe, so a talkative child never blocks on a full one
    stopped = None
    while proc.poll() is None:
        if cancelled is not None and cancelled():
            stopped = "cancelled"
        elif time.monotonic() >= deadline:
            stopped = "wall-clock"
        if stopped:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5 if cancelled is not None else max(0.01, deadline - time.monotonic()))
    proc.wait()
    with contextlib.suppress(ProcessLookupError):  # what the child left running in its group ends with it
        os.killpg(proc.pid, signal.SIGKILL)
    reader.join(timeout=5)  # a process that left the group may hold the pipe open: its output is not waited for
    return b"".join(chunks), stopped


def _tail(output: bytes) -> str:
    return output[-4000:].decode("utf-8", "replace")


def _outcome(returncode: int, result: Path, output: str, memory: int | None, cpu_seconds: int | None) -> Any:
    answer = json.loads(result.read_text()) if result.exists() else None
    if answer and "value" in answer:
        return answer["value"]
    if answer and answer.get("memory_error"):
        limit = f"the memory limit of {describe_size(memory)}" if memory else "the memory it could get"
        raise ChildFailed("memory limit", f"went over {limit}", output)
    if answer:
        raise ChildFailed("error", answer["error"], output)
    if returncode == -signal.SIGXCPU:
        raise ChildFailed("cpu time limit", f"stopped after the CPU time limit of {cpu_seconds} s", output)
    raise ChildFailed("crashed", f"the child process ended with code {returncode} and no result", output)


def _child(request_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    result = Path(request["result"])
    set_memory_limit(request["memory"])
    if request["cpu_seconds"]:
        resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_seconds"], request["cpu_seconds"] + 1))
    try:
        import importlib

        module, _, name = request["target"].partition(":")
        value = getattr(importlib.import_module(module), name)(request["payload"])
        answer = json.dumps({"value": value})
    except MemoryError:
        answer = json.dumps({"memory_error": True})
    except Exception as exc:  # the child's failure, reported to the parent as text
        answer = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    result.write_text(answer)


if __name__ == "__main__":
    _child(sys.argv[1])

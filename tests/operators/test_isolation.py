"""operators.isolation: a function in a child process under memory, CPU and wall-clock limits, with its own
environment; and the memory ceiling of the current process."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from operators.isolation import ChildFailed, describe_size, parse_size, run_limited
from tests.conftest import REPO

HERE = "tests.operators.test_isolation"


def echo(payload):
    return {"payload": payload, "env": sorted(os.environ), "pid": os.getpid()}


def spin(_):
    while True:
        pass


def sleep(seconds):
    time.sleep(seconds)


def fail(_):
    raise ValueError("no such thing")


def test_a_child_returns_json_and_sees_none_of_the_parents_environment(monkeypatch):
    monkeypatch.setenv("STUDIO_TEST_SECRET", "hunter2")
    answer = run_limited(f"{HERE}:echo", {"rows": [1, 2]}, env={"GIVEN": "1"}, cwd=REPO)
    assert answer["payload"] == {"rows": [1, 2]} and answer["pid"] != os.getpid()
    assert "STUDIO_TEST_SECRET" not in answer["env"] and "GIVEN" in answer["env"]
    assert not {"DATABASE_URL", "SECRET_KEY", "REDIS_URL"} & set(answer["env"])


def test_a_child_is_stopped_at_its_cpu_and_wall_clock_limits_and_its_errors_are_reported():
    with pytest.raises(ChildFailed) as cpu:
        run_limited(f"{HERE}:spin", None, cpu_seconds=1, wall_seconds=120, cwd=REPO)
    assert cpu.value.reason == "cpu time limit" and "1 s" in cpu.value.message
    with pytest.raises(ChildFailed) as wall:
        run_limited(f"{HERE}:sleep", 600, wall_seconds=3, cwd=REPO)
    assert wall.value.reason == "wall-clock limit"
    with pytest.raises(ChildFailed) as error:
        run_limited(f"{HERE}:fail", None, cwd=REPO)
    assert error.value.reason == "error" and error.value.message == "ValueError: no such thing"


def test_a_cancel_kills_the_child_and_what_it_started(tmp_path):
    """The child and a process it started in its group are killed once `cancelled()` turns true."""
    asked = []
    pid_file = tmp_path / "grandchild.pid"

    def cancelled():
        asked.append(time.monotonic())
        return pid_file.exists() and len(asked) >= 3

    with pytest.raises(ChildFailed) as stopped:
        run_limited(f"{HERE}:sleep_with_a_child", str(pid_file), wall_seconds=600, cwd=REPO, cancelled=cancelled)
    assert stopped.value.reason == "cancelled"
    grandchild = int(pid_file.read_text())
    for _ in range(100):  # SIGKILL is delivered at once; the orphan is gone or a zombie soon after
        stat = Path(f"/proc/{grandchild}/stat")
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the child's own child {grandchild} outlived the cancel")


def sleep_with_a_child(pid_file):
    import subprocess

    child = subprocess.Popen(["sleep", "600"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(600)


def test_sizes():
    assert parse_size("4g") == 4 * 1024 ** 3 and parse_size("512M") == 512 * 1024 ** 2 and parse_size("1.5GiB")
    assert parse_size("off") is None and parse_size("0") is None and parse_size("1000") == 1000
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    assert describe_size(1024 ** 3) == "1.0 GiB" and describe_size(300 * 1024 ** 2) == "300 MiB"

"""The run queue stores JSON, never pickle: a queue shared over Redis must not be a way to run code."""
from __future__ import annotations

import json
import os
import pickle
import uuid

import pytest
from django.conf import settings
from huey.utils import load_class


class PlantsAFile:
    """A pickle that, if the worker ever unpickled it, would create a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture
def queue(tmp_path):
    """A queue configured exactly as the studio's (SqliteHuey, or PriorityRedisHuey with REDIS_URL), under a
    name of this test's own."""
    config = {k: v for k, v in settings.HUEY.items() if k not in ("name", "huey_class", "consumer", "immediate")}
    if "filename" in config:
        config["filename"] = str(tmp_path / "queue.sqlite3")
    huey = load_class(settings.HUEY["huey_class"])(f"test_queue_{uuid.uuid4().hex[:8]}", **config)
    yield huey
    huey.flush()


def test_a_queued_run_is_json_and_runs_after_a_round_trip(queue):
    seen = []

    @queue.task(name="studio.test_echo")
    def echo(run_id, *, note):
        seen.append((run_id, note))
        return {"run": run_id}

    echo(41, note="first", priority=10)
    raw = queue.storage.dequeue()
    envelope = json.loads(raw)
    assert envelope["format"] == "studio-queue/1"
    assert raw[:1] != b"\x80"  # not a pickle
    task = queue.deserialize_task(raw)
    assert (task.args, task.kwargs, task.priority) == ((41,), {"note": "first"}, 10)
    queue.execute(task)
    assert seen == [(41, "first")]


def test_the_worker_refuses_a_pickled_message_without_running_it(queue, tmp_path):
    planted = tmp_path / "planted"
    queue.storage.enqueue(pickle.dumps(PlantsAFile(str(planted))), 0)
    with pytest.raises(ValueError, match="refused"):
        queue.dequeue()
    assert not os.path.exists(planted)


def test_values_that_are_not_json_are_refused_when_enqueued(queue):
    @queue.task(name="studio.test_takes_anything")
    def takes(value):
        return value

    with pytest.raises(TypeError, match="not JSON"):
        takes(object())
    assert queue.pending_count() == 0

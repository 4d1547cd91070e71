"""Fixtures of the schedule tests: a quick pipeline that echoes its built-in parameters, one that always fails,
a clock the test moves, and a queue that holds runs until the test plays the worker."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.studio.conftest import node

ECHO_GRAPH = {
    "name": "echo",
    "parameters": {"value": {"type": "integer", "default": 3}},
    "nodes": [node("emit", "test_emit", value={"$param": "value"}),
              node("date", "test_echo", text={"$param": "run_date"}),
              node("interval", "test_echo", text={"$param": "data_interval_start"})],
    "edges": [],
}
FAIL_GRAPH = {
    "name": "fails",
    "nodes": [node("emit", "test_emit", value=1), node("explode", "test_fail", message="the source table is empty")],
    "edges": [{"source": "emit", "source_port": "out", "target": "explode", "target_port": "in"}],
}


def save_pipeline(project, user, graph: dict, name: str | None = None):
    import tests.pipelines.testing_operators  # noqa: F401  (test_emit, test_fail)
    import tests.studio.schedules.operators  # noqa: F401  (test_echo)
    from studio.workflows.models import Pipeline

    import pipelines

    pipeline = Pipeline.objects.create(project=project, name=name or graph["name"], created_by=user)
    pipeline.save_graph(pipelines.from_json(graph), user)
    return pipeline


@pytest.fixture
def echo_pipeline(world):
    return save_pipeline(world.a, world.alice, ECHO_GRAPH)


@pytest.fixture
def fail_pipeline(world):
    return save_pipeline(world.a, world.alice, FAIL_GRAPH)


class Clock:
    """The scheduler's clock: the test sets and moves it; nothing sleeps."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now


@pytest.fixture
def clock():
    return Clock(datetime(2024, 1, 1, tzinfo=UTC))


@pytest.fixture
def held_queue():
    """Huey's in-memory queue without immediate execution: enqueued runs wait (queued) until `drain()` executes
    them with huey, as a worker would. Lets a test see a run that is still going, and count what was enqueued."""
    from huey.contrib.djhuey import HUEY

    assert HUEY.immediate  # the studio suite's in-memory queue
    HUEY._immediate = False  # keep the memory storage, stop executing at enqueue

    class Queue:
        def run_ids(self) -> list[int]:
            return [task.args[0] for task in HUEY.pending()]

        def drain(self) -> int:
            count = 0
            while (task := HUEY.dequeue()) is not None:
                HUEY._immediate = True  # huey's db_task closes connections when not immediate: not the test's
                try:
                    HUEY.execute(task)
                finally:
                    HUEY._immediate = False
                count += 1
            return count

    HUEY.flush()
    yield Queue()
    HUEY.flush()
    HUEY._immediate = True


def make_schedule(pipeline, user, now: datetime, **fields):
    """A schedule as the API makes it, with its cursor computed from `now` (the test's clock)."""
    from studio.schedules import service
    from studio.schedules.models import Schedule

    schedule = Schedule(project=pipeline.project, pipeline=pipeline, created_by=user,
                        **{"name": "nightly", "cron": "0 2 * * *", "timezone": "UTC", **fields})
    schedule.next_fire_at = service.next_fire_time(schedule, now)
    schedule.save()
    return schedule

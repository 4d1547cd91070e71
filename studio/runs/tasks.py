"""The durable queue (huey.contrib.djhuey): SqliteHuey by default, PriorityRedisHuey with REDIS_URL.
`manage.py run_huey` is the worker. A task carries only a run id; the Run row is the truth, and claiming
it is atomic, so a task delivered twice runs the pipeline once."""
from __future__ import annotations

import logging
import threading

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task, on_startup

log = logging.getLogger(__name__)


@db_task(name="studio.execute_run")
def execute_run(run_id: int):
    from .worker import execute

    return execute(run_id)


def enqueue_run(run_id: int, priority: int) -> None:
    execute_run(run_id, priority=priority)


_recovered = threading.Lock()
_recovered_once = False


@on_startup()
def recover_on_startup():
    """A starting worker re-queues what a dead worker left running and puts queued runs on the queue again
    (in case the web process died between saving a run and enqueuing it). Once per process."""
    global _recovered_once
    if HUEY.immediate:
        return
    with _recovered:
        if _recovered_once:
            return
        _recovered_once = True
        from django.db import close_old_connections

        from .worker import recover

        try:
            recover(requeue_queued=True)
        finally:
            close_old_connections()


@db_periodic_task(crontab(minute="*"), name="studio.recover_runs")
def recover_runs():
    """Every minute: runs whose worker went silent (WORKER_STALE_SECONDS) are re-queued or failed."""
    from .worker import recover

    recover()

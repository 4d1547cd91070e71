"""The durable queue (huey.contrib.djhuey): SqliteHuey by default, PriorityRedisHuey with REDIS_URL.
`manage.py run_huey` is the worker. A task carries only a run id; the Run row is the truth, and claiming
it is atomic, so a task delivered twice runs the pipeline once."""
from __future__ import annotations

import logging
import threading

from huey import crontab
from huey.contrib.djhuey import HUEY, close_db, db_periodic_task, db_task, on_startup

from .models import PRIORITY_FULL

log = logging.getLogger(__name__)


def _execute(run_id: int):
    from .worker import execute

    return execute(run_id)


execute_run = db_task(name="studio.execute_run")(_execute)


def enqueue_run(run_id: int, priority: int) -> None:
    """Previews and single-node runs on the main queue; full runs too, unless STUDIO_TRAINING_QUEUE names a
    queue of their own (then only workers started with STUDIO_QUEUE_NAME=<that name> take them)."""
    training = training_task()
    if training is not None and priority <= PRIORITY_FULL:
        training(run_id, priority=priority)
    else:
        execute_run(run_id, priority=priority)


_training: dict = {}


def on_training_queue() -> bool:
    """True in a worker started on the training queue (STUDIO_QUEUE_NAME=STUDIO_TRAINING_QUEUE): the only queue
    this process reaches is that one, so it must never put a preview on it."""
    from django.conf import settings

    return bool(settings.TRAINING_QUEUE_NAME) and HUEY.name == settings.TRAINING_QUEUE_NAME


def training_task():
    """The execute_run task on the training queue, or None when full runs share the main queue."""
    from django.conf import settings

    name = settings.TRAINING_QUEUE_NAME
    if not name or name == HUEY.name:
        return None
    if name not in _training:
        from huey.utils import load_class

        config = {k: v for k, v in settings.HUEY.items() if k not in ("name", "huey_class", "consumer")}
        config.update(config.pop("connection", {}))
        huey = load_class(settings.HUEY["huey_class"])(name, **config)
        _training[name] = huey.task(name="studio.execute_run")(close_db(_execute))
    return _training[name]


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


@on_startup()
def limit_worker_memory():
    """Before its first task, the worker caps its own memory (STUDIO_WORKER_MEMORY_LIMIT, RLIMIT_DATA where the
    OS has it): a node that allocates past the ceiling gets a MemoryError and fails alone, rather than the
    kernel's OOM killer ending the worker and every run in it. Each worker thread calls this; the limit is the
    process's, so setting it again changes nothing."""
    from django.conf import settings

    from operators.isolation import describe_size, memory_limit, parse_size, physical_memory, set_memory_limit

    if HUEY.immediate:  # tasks run inside the web process (tests): not the worker's to cap
        return
    setting = settings.WORKER_MEMORY_LIMIT
    try:
        if setting.strip().lower() == "auto":
            total = physical_memory()
            size = int(total * 0.8) if total else None
        else:
            size = parse_size(setting)
    except ValueError as exc:
        log.error("STUDIO_WORKER_MEMORY_LIMIT: %s; the worker runs without a memory limit", exc)
        return
    if size is not None and memory_limit() == size:
        return  # another worker thread of this process set it
    if size is not None and set_memory_limit(size):
        log.info("worker memory limit: %s (STUDIO_WORKER_MEMORY_LIMIT=%s)", describe_size(size), setting)
    elif size is not None:
        log.warning("this OS has no per-process memory limit; STUDIO_WORKER_MEMORY_LIMIT is not enforced")


def spark_warmup_wanted() -> bool:
    """STUDIO_SPARK_WARMUP: "on", "off", or "auto": on in a worker of the dedicated training queue only (a light
    worker that warmed a session on a cluster would hold executors it rarely uses)."""
    from django.conf import settings

    setting = settings.SPARK_WARMUP
    if setting not in ("on", "off", "auto"):
        log.error("STUDIO_SPARK_WARMUP=%r: expected on, off or auto; the worker does not warm Spark up", setting)
        return False
    return setting == "on" or (setting == "auto" and on_training_queue())


@on_startup()
def warm_up_spark():
    """A starting worker starts its Spark session and runs the warm-up pipeline through it in a thread of its own
    (pipelines.warmup), once per process, so that its first Spark run finds the JVM, Spark's generated code and the
    Python workers warm. A failed warm-up is logged; the worker runs on."""
    if HUEY.immediate or not spark_warmup_wanted():
        return
    from pipelines import warmup

    warmup.start()


@db_periodic_task(crontab(minute="*"), name="studio.recover_runs")
def recover_runs():
    """Every minute: runs whose worker went silent (WORKER_STALE_SECONDS) are re-queued or failed."""
    from .worker import recover

    recover()

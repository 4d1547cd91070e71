"""A worker started on the training queue (STUDIO_QUEUE_NAME=STUDIO_TRAINING_QUEUE) reaches only that queue: when
it recovers runs at start, it puts back full runs only, never a preview, which would then wait behind training
(or be run by it) instead of going to a light worker."""
from __future__ import annotations

from huey.contrib.djhuey import HUEY

from studio.runs.models import RunMode
from studio.runs.service import start_run
from studio.runs.worker import recover


def queued_run_ids() -> list[int]:
    return sorted(task.args[0] for task in HUEY.pending())


def test_a_training_worker_recovers_full_runs_and_leaves_previews_to_the_light_workers(world, settings):
    HUEY.immediate = False  # a real (SQLite) queue, to see what recovery puts on it
    HUEY.flush()
    full = start_run(world.pipeline, user=world.alice)
    preview = start_run(world.pipeline, user=world.alice, mode=RunMode.UNTIL, node="split")
    assert queued_run_ids() == []  # the test's transaction never commits: nothing was enqueued yet

    settings.TRAINING_QUEUE_NAME = HUEY.name  # this process is now a training worker
    assert recover(requeue_queued=True) == [full.pk]
    assert queued_run_ids() == [full.pk]

    HUEY.flush()
    settings.TRAINING_QUEUE_NAME = ""  # a worker of the main queue puts both back
    assert sorted(recover(requeue_queued=True)) == sorted([full.pk, preview.pk])
    assert queued_run_ids() == sorted([full.pk, preview.pk])
    HUEY.flush()

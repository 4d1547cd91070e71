"""Firing a schedule: the one place that turns a fire time into a Fire row and an ordinary Run.

The Fire row (unique on schedule, fire time, attempt) and its Run are created in one transaction, and the run
goes on the queue after the commit (studio.runs.service.start_run); the fire is marked `enqueued` after that.
A scheduler killed between the commit and the enqueue leaves a fire with a queued run and `enqueued` false:
the next scheduler start (Scheduler.recover) puts it on the queue. Whoever inserts the row first fires; every
other scheduler, backfill or retry that reaches the same row does nothing.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from studio.core.errors import ApiError
from studio.runs.models import Run, RunStatus
from studio.runs.service import cancel_run, start_run

from . import timing
from .models import Concurrency, Fire, FireKind, FireStatus, Schedule

log = logging.getLogger(__name__)

MAX_BACKFILL = 500  # fire times one backfill request may create
_TINY = timedelta(microseconds=1)


def cron_and_zone(schedule: Schedule):
    return timing.parse_cron(schedule.cron), timing.parse_zone(schedule.timezone)


def next_fire_time(schedule: Schedule, after: datetime) -> datetime | None:
    """The schedule's first fire instant after `after` (and not before its start), None past its end."""
    cron, zone = cron_and_zone(schedule)
    if schedule.start_at and schedule.start_at > after:
        after = schedule.start_at - _TINY
    times = timing.fire_times(cron, zone, after, schedule.end_at, limit=1)
    return times[0] if times else None


def run_params(schedule: Schedule, fire_time: datetime) -> dict:
    """The schedule's parameters plus the fire's built-in ones (run_date, fire_time, the data interval)."""
    cron, zone = cron_and_zone(schedule)
    previous = timing.previous_fire_time(cron, zone, fire_time)
    return {**schedule.params, **timing.run_values(fire_time, zone, previous)}


def active_runs(schedule: Schedule) -> QuerySet[Run]:
    return Run.objects.filter(fire__schedule=schedule, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


def start_fire_run(fire: Fire, schedule: Schedule, user=None) -> None:
    """Create the fire's run inside the caller's transaction; a pipeline that cannot run marks the fire."""
    try:
        with transaction.atomic():
            run = start_run(schedule.pipeline, user=user, version=schedule.version,
                            params=run_params(schedule, fire.fire_time), engine=schedule.engine)
    except ApiError as exc:
        fire.status, fire.message = FireStatus.ERROR, exc.message[:2000]
        fire.save(update_fields=["status", "message"])
        return
    fire.run = run
    fire.save(update_fields=["run"])
    transaction.on_commit(lambda: Fire.objects.filter(pk=fire.pk).update(enqueued=True))  # after start_run's


def _concurrency(schedule: Schedule) -> tuple[str, str]:
    """What the concurrency policy says about a new scheduled fire: (status, message)."""
    active = list(active_runs(schedule).values_list("pk", flat=True))
    if not active:
        return FireStatus.STARTED, ""
    if schedule.concurrency == Concurrency.SKIP:
        return FireStatus.SKIPPED, f"run {', '.join(map(str, active))} was still going"
    if schedule.concurrency == Concurrency.QUEUE:
        return FireStatus.WAITING, f"waits for run {', '.join(map(str, active))}"
    for run in Run.objects.filter(pk__in=active):
        cancel_run(run)
    return FireStatus.STARTED, f"cancelled run {', '.join(map(str, active))}"


def _locked(schedule_id: int) -> Schedule:
    """The schedule, its row locked to the end of the transaction: firings of one schedule take turns."""
    return Schedule.objects.select_for_update(of=("self",)).select_related("pipeline", "version").get(pk=schedule_id)


def fire(schedule: Schedule, fire_time: datetime, *, now: datetime, kind: str = FireKind.SCHEDULED,
         attempt: int = 0, user=None, concurrency: bool = True) -> Fire | None:
    """Fire `schedule` at `fire_time` once: None when that (schedule, fire time, attempt) exists already."""
    try:
        with transaction.atomic():
            locked = _locked(schedule.pk)
            if Fire.objects.filter(schedule=locked, fire_time=fire_time, attempt=attempt).exists():
                return None
            status, message = _concurrency(locked) if concurrency else (FireStatus.STARTED, "")
            row = Fire.objects.create(schedule=locked, fire_time=fire_time, attempt=attempt, kind=kind,
                                      status=status, message=message, created_at=now,
                                      settled=status in (FireStatus.SKIPPED, FireStatus.WAITING))
            if status == FireStatus.STARTED:
                start_fire_run(row, locked, user)
            return row
    except IntegrityError:
        return None  # another scheduler inserted the same row first


def start_waiting(fire_row: Fire) -> bool:
    """Start a fire that waited for the previous run (concurrency: queue) when no run of its schedule is
    going any more. True when it started."""
    with transaction.atomic():
        schedule = _locked(fire_row.schedule_id)
        if active_runs(schedule).exists():
            return False
        if not Fire.objects.filter(pk=fire_row.pk, status=FireStatus.WAITING).update(
                status=FireStatus.STARTED, settled=False):
            return False
        fire_row.status, fire_row.settled = FireStatus.STARTED, False
        start_fire_run(fire_row, schedule)
    return True


def run_now(schedule: Schedule, user, now: datetime) -> Fire:
    """A manual fire at this second (no concurrency policy); the same second twice gives the one fire."""
    instant = now.replace(microsecond=0)
    return fire(schedule, instant, now=now, kind=FireKind.MANUAL, user=user, concurrency=False) or \
        Fire.objects.get(schedule=schedule, fire_time=instant, attempt=0)


def backfill(schedule: Schedule, first: date, last: date, user, now: datetime) -> tuple[list[Fire], int]:
    """Fire each of the schedule's fire times from `first` to `last` (dates in its zone, inclusive, none in
    the future) once: (fires made now, fire times that had a fire already)."""
    cron, zone = cron_and_zone(schedule)
    last = min(last, now.astimezone(zone).date())  # none in the future; and 9999-12-31 has no day after it
    after = timing.to_utc(datetime.combine(first, time()), zone) - _TINY
    until = min(timing.to_utc(datetime.combine(last + timedelta(days=1), time()), zone) - _TINY, now)
    times = timing.fire_times(cron, zone, after, until, limit=MAX_BACKFILL + 1)
    if len(times) > MAX_BACKFILL:
        raise ApiError(400, "invalid", [{"path": "end", "code": "too_many", "message":
                                         f"the range holds more than {MAX_BACKFILL} fire times; backfill a "
                                         "shorter range"}])
    made = [f for t in times
            if (f := fire(schedule, t, now=now, kind=FireKind.BACKFILL, user=user, concurrency=False))]
    return made, len(times) - len(made)

"""The scheduler: each tick fires what is due, starts fires that waited for a previous run, retries failed
runs after a growing delay, and announces runs that failed for the last time. Any number of schedulers may
tick at once: every decision is a unique row or a compare-and-set update, so each happens once.

The clock is injected (`Scheduler(clock=...)`), so tests move time instead of sleeping; `manage.py
run_scheduler` ticks with the real one.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from studio.runs.models import FINISHED, RunStatus

from . import service, timing
from .models import CatchUp, Fire, FireKind, FireStatus, Schedule
from .notify import deliver_failure

log = logging.getLogger(__name__)


def retry_delay(schedule: Schedule, attempt: int) -> timedelta:
    """Delay before attempt `attempt + 1`: retry_delay doubled per attempt, capped at retry_delay_max."""
    return timedelta(seconds=min(schedule.retry_delay_max, schedule.retry_delay * 2 ** min(attempt, 30)))


def plan_catch_up(schedule: Schedule, times: list[datetime], now: datetime) -> list[tuple[datetime, str]]:
    """Which due fire times fire: on-time ones always; missed ones (older than the grace period) as the
    catch-up policy says. Returns (fire time, kind) pairs, oldest first."""
    grace = timedelta(seconds=settings.SCHEDULER_GRACE_SECONDS)
    on_time = [t for t in times if now - t <= grace]
    missed = [t for t in times if now - t > grace]
    if schedule.catchup == CatchUp.EACH:
        chosen = missed[-schedule.catchup_limit:] if schedule.catchup_limit else []
    elif schedule.catchup == CatchUp.LATEST and not on_time:
        chosen = missed[-1:]
    else:
        chosen = []
    if len(chosen) < len(missed):
        log.info("schedule %s: %s missed fire time(s) up to %s not run (catch-up: %s)", schedule.pk,
                 len(missed) - len(chosen), missed[-1].isoformat(), schedule.catchup)
    return [(t, FireKind.CATCH_UP) for t in chosen] + [(t, FireKind.SCHEDULED) for t in on_time]


class Scheduler:
    def __init__(self, clock: Callable[[], datetime] | None = None, batch: int = 500):
        self.clock = clock or timezone.now
        self.batch = batch

    def tick(self) -> Counter:
        """One pass; returns what it did (fired, waited_started, retried, notified, enqueued)."""
        now = self.clock()
        done: Counter = Counter()
        due = Schedule.objects.filter(enabled=True, next_fire_at__lte=now).order_by("next_fire_at")
        for schedule in due[:self.batch]:
            try:
                done["fired"] += self.fire_due(schedule, now)
            except timing.CronError as exc:  # edited into the database by hand: say so, do not loop on it
                log.error("schedule %s cannot fire and is disabled: %s", schedule.pk, exc)
                Schedule.objects.filter(pk=schedule.pk).update(enabled=False)
        done["waited_started"] += self.start_waiting()
        follow = self.follow_up(now)
        done.update(follow)
        done["enqueued"] += len(self.recover(older_than=now - timedelta(seconds=60)))
        return done

    def fire_due(self, schedule: Schedule, now: datetime) -> int:
        """Fire what is due for one schedule and move its cursor past `now`; the number of fires made."""
        cron, zone = service.cron_and_zone(schedule)
        cursor = schedule.next_fire_at
        until = min(now, schedule.end_at) if schedule.end_at else now
        grace_minutes = settings.SCHEDULER_GRACE_SECONDS // 60
        times = timing.latest_fire_times(cron, zone, cursor - timedelta(microseconds=1), until,
                                         limit=schedule.catchup_limit + grace_minutes + 2)
        if schedule.start_at:
            times = [t for t in times if t >= schedule.start_at]
        made = 0
        for fire_time, kind in plan_catch_up(schedule, times, now):
            made += service.fire(schedule, fire_time, now=now, kind=kind) is not None
        following = service.next_fire_time(schedule, max(now, cursor))
        Schedule.objects.filter(pk=schedule.pk, next_fire_at=cursor).update(next_fire_at=following)
        return made

    def start_waiting(self) -> int:
        """Fires that wait for their schedule's previous run (concurrency: queue): the oldest of each schedule
        starts once no run of that schedule is going."""
        started, seen = 0, set()
        for fire_row in Fire.objects.filter(status=FireStatus.WAITING).order_by("fire_time")[:self.batch]:
            if fire_row.schedule_id in seen:
                continue
            seen.add(fire_row.schedule_id)
            started += service.start_waiting(fire_row)
        return started

    def follow_up(self, now: datetime) -> Counter:
        """Finished fires not settled yet: a failed run with attempts left is retried after its delay; one with
        none left (or a fire that could not start) is announced once; anything else is settled."""
        done: Counter = Counter()
        pending = Fire.objects.filter(settled=False).filter(
            Q(status=FireStatus.ERROR) | Q(status=FireStatus.STARTED, run__status__in=FINISHED)).select_related(
            "run", "schedule__project", "schedule__pipeline", "schedule__version")
        for fire_row in pending[:self.batch]:
            failed = fire_row.status == FireStatus.ERROR or fire_row.run.status == RunStatus.FAILED
            if failed and fire_row.status == FireStatus.STARTED and fire_row.attempt < fire_row.schedule.retries:
                done["retried"] += self._retry(fire_row, now)
            elif self._settle(fire_row, now if failed else None) and failed:
                deliver_failure(fire_row)
                done["notified"] += 1
        return done

    def _retry(self, fire_row: Fire, now: datetime) -> int:
        if fire_row.retry_at is None:  # the failure is seen now: the delay starts now (the scheduler's clock)
            retry_at = now + retry_delay(fire_row.schedule, fire_row.attempt)
            Fire.objects.filter(pk=fire_row.pk, retry_at__isnull=True).update(retry_at=retry_at)
            return 0
        if now < fire_row.retry_at:
            return 0
        made = service.fire(fire_row.schedule, fire_row.fire_time, now=now, kind=fire_row.kind,
                            attempt=fire_row.attempt + 1, concurrency=False)
        self._settle(fire_row, None)
        return int(made is not None)

    @staticmethod
    def _settle(fire_row: Fire, notified_at: datetime | None) -> bool:
        """Mark the fire settled; True for the one scheduler that did (so only it sends the notification)."""
        return bool(Fire.objects.filter(pk=fire_row.pk, settled=False).update(settled=True,
                                                                               notified_at=notified_at))

    def recover(self, older_than: datetime | None = None) -> list[int]:
        """Put on the queue the queued runs of fires whose enqueue never happened (a scheduler died between
        its commit and the enqueue). At start for all; on each tick for fires older than a minute."""
        from studio.runs.tasks import enqueue_run

        lost = Fire.objects.filter(status=FireStatus.STARTED, enqueued=False, run__status=RunStatus.QUEUED)
        if older_than is not None:
            lost = lost.filter(created_at__lt=older_than)
        enqueued = []
        for fire_row in lost.select_related("run")[:self.batch]:
            enqueue_run(fire_row.run_id, fire_row.run.priority)
            Fire.objects.filter(pk=fire_row.pk).update(enqueued=True)
            enqueued.append(fire_row.run_id)
        if enqueued:
            log.info("scheduler put runs %s on the queue (their enqueue had not happened)", enqueued)
        return enqueued

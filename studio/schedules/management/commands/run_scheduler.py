"""manage.py run_scheduler: fire due schedules every few seconds (the `scheduler` program of supervisord.conf).
`--once` fires what is due and exits, for a system cron or a Kubernetes CronJob. Any number may run at once."""
from __future__ import annotations

import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from studio.schedules.scheduler import Scheduler

log = logging.getLogger("studio.schedules.scheduler")


class Command(BaseCommand):
    help = "Fire due schedules (exactly once per fire time, with any number of schedulers running)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Fire what is due, then exit")
        parser.add_argument("--interval", type=float, default=None,
                            help="Seconds between ticks (default STUDIO_SCHEDULER_TICK_SECONDS, 5)")

    def handle(self, *args, once: bool = False, interval: float | None = None, **options):
        scheduler = Scheduler()
        scheduler.recover()  # runs whose enqueue a dead scheduler never did
        if once:
            done = scheduler.tick()
            self.stdout.write(" ".join(f"{k}={v}" for k, v in sorted(done.items())) or "nothing due")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        wait = interval if interval is not None else settings.SCHEDULER_TICK_SECONDS
        log.info("scheduler started (a tick every %s s)", wait)
        while not stop.is_set():
            try:
                done = scheduler.tick()
                if any(done.values()):
                    log.info("tick: %s", dict(done))
            except Exception:  # the database went away, a bug in one schedule: log it, tick again later
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            stop.wait(wait)
        log.info("scheduler stopped")

"""A scheduler's cost with 1,000 enabled schedules: CPU time and database queries per tick.

    .venv/bin/python benchmarks/scheduler_tick.py              # SQLite in a temp data dir
    .venv/bin/python benchmarks/scheduler_tick.py --postgres   # a throw-away PostgreSQL database (127.0.0.1:5432)

Three ticks are measured, each with the scheduler's clock set by the script:
- quiet: nothing is due (the common case: a tick every 5 s between fire times);
- one due: one schedule fires (a fire row, its run and the enqueue);
- all due: the 1,000 schedules fire in one tick (all on the same hourly cron), per fire.
CPU is this process's time (time.process_time): the scheduler's own cost, not the database server's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.studio_db import studio_db  # noqa: E402
GRAPH = {"nodes": [{"id": "import", "operator": "import_csv", "params": {"path": "data/x.csv"}},
                   {"id": "split", "operator": "split_random", "params": {"ratio": 0.7}}],
         "edges": [{"source": "import", "source_port": "table", "target": "split", "target_port": "table"}]}


def make_schedules(count: int, now: datetime) -> None:
    import pipelines
    from django.contrib.auth.models import User

    from studio.projects.models import Project
    from studio.schedules import service
    from studio.schedules.models import Schedule
    from studio.workflows.models import Pipeline

    user = User.objects.create_user("bench")
    project = Project.objects.create(name="bench", created_by=user)
    pipeline = Pipeline.objects.create(project=project, name="bench", created_by=user)
    pipeline.save_graph(pipelines.from_json(GRAPH), user)
    rows = []
    for i in range(count):
        schedule = Schedule(project=project, pipeline=pipeline, name=f"s{i}", cron="0 * * * *",
                            timezone=("UTC", "Europe/Berlin", "America/New_York")[i % 3], concurrency="queue")
        schedule.next_fire_at = service.next_fire_time(schedule, now)
        rows.append(schedule)
    Schedule.objects.bulk_create(rows)


def measure(scheduler, clock_at: datetime, clock: dict, repeat: int = 1) -> tuple[float, float, dict]:
    """CPU ms and queries of one tick (median over `repeat`), and what the last tick did."""
    from django.db import connection

    cpu, queries, done = [], [], {}
    for _ in range(repeat):
        clock["now"] = clock_at
        count = [0]

        def counted(execute, sql, params, many, context, count=count):
            count[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            start = time.process_time()
            done = scheduler.tick()
            cpu.append((time.process_time() - start) * 1000)
        queries.append(count[0])
    return statistics.median(cpu), statistics.median(queries), dict(done)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--schedules", type=int, default=1000)
    args = parser.parse_args()
    with studio_db("scheduler", args.postgres):
        from studio.schedules.models import Schedule
        from studio.schedules.scheduler import Scheduler

        start = datetime(2025, 1, 6, 10, 0, 30, tzinfo=UTC)
        make_schedules(args.schedules, start)
        clock = {"now": start}
        scheduler = Scheduler(clock=lambda: clock["now"], batch=args.schedules)
        backend = "PostgreSQL" if args.postgres else "SQLite"
        print(f"{args.schedules} enabled schedules on {backend}")
        cpu, queries, _ = measure(scheduler, start, clock, repeat=50)
        print(f"quiet tick (nothing due):  {cpu:7.2f} ms CPU, {queries:5.0f} queries")
        one = Schedule.objects.order_by("pk").first()
        Schedule.objects.filter(pk=one.pk).update(next_fire_at=start - timedelta(seconds=30))
        cpu, queries, done = measure(scheduler, start, clock)
        print(f"tick with one fire:        {cpu:7.2f} ms CPU, {queries:5.0f} queries  {done}")
        hour = start.replace(minute=0, second=0) + timedelta(hours=1)
        cpu, queries, done = measure(scheduler, hour + timedelta(seconds=5), clock)
        fired = max(done.get("fired", 0), 1)
        print(f"tick with every one due:   {cpu:7.0f} ms CPU, {queries:5.0f} queries  {done}  "
              f"= {cpu / fired:.2f} ms and {queries / fired:.1f} queries per fire")


if __name__ == "__main__":
    main()

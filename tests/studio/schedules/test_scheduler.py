"""The scheduler with a clock the test moves: fires on the right instants through daylight-saving days, catch-up
after an absence, concurrency with a run still going, retries with growing delays then one failure webhook
(a real HTTP receiver) and e-mail, built-in run parameters, and delivery failures that never break a tick."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.studio.schedules.conftest import make_schedule

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: runs are enqueued after them


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fire_times(schedule) -> list[str]:
    return [f.fire_time.strftime("%Y-%m-%d %H:%M") for f in schedule.fires.order_by("fire_time")]


def step(scheduler, clock, start: datetime, end: datetime, every: timedelta, queue=None) -> None:
    clock.set(start)
    while clock.now <= end:
        scheduler.tick()
        if queue is not None:
            queue.drain()
        clock.set(clock.now + every)


@pytest.mark.parametrize("zone, day, cron, expected", [
    ("Europe/Berlin", "2024-03-30 12:00", "30 2 * * *", ["2024-03-31 01:00", "2024-04-01 00:30"]),
    ("Europe/Berlin", "2024-10-26 12:00", "30 2 * * *", ["2024-10-27 00:30", "2024-10-28 01:30"]),
    ("America/New_York", "2024-03-09 12:00", "30 2 * * *", ["2024-03-10 07:00", "2024-03-11 06:30"]),
    ("America/New_York", "2024-11-02 12:00", "30 1 * * *", ["2024-11-03 05:30", "2024-11-04 06:30"]),
    ("Europe/Berlin", "2024-10-26 22:30", "0 * * * *", None),
])
def test_scheduler_fires_each_time_once_across_daylight_saving(world, echo_pipeline, clock, held_queue, zone, day,
                                                               cron, expected):
    from studio.schedules.scheduler import Scheduler

    start = utc(day)
    clock.set(start)
    schedule = make_schedule(echo_pipeline, world.alice, start, cron=cron, timezone=zone)
    hours = 4 if expected is None else 44
    # Every fire instant is on the half hour in UTC and the ticks start on one, so a tick every 30 minutes lands on
    # each instant (the repeated hour's second 02:30 included) and twice in every hour between them.
    step(Scheduler(clock), clock, start, start + timedelta(hours=hours), timedelta(minutes=30), held_queue)
    if expected is None:  # hourly over the repeated hour: 01:00, 02:00 once (CEST, not again in CET), 03:00 CET
        expected = ["2024-10-26 23:00", "2024-10-27 00:00", "2024-10-27 02:00"]
    assert fire_times(schedule) == expected
    assert schedule.fires.filter(status="started", kind="scheduled", run__status="succeeded").count() == len(expected)


def test_two_schedulers_at_the_same_instant_fire_once(world, echo_pipeline, clock, held_queue):
    from studio.schedules.scheduler import Scheduler

    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="*/15 * * * *")
    first, second = Scheduler(clock), Scheduler(clock)
    clock.set(utc("2024-01-01 00:15"))
    assert first.tick()["fired"] == 1 and second.tick()["fired"] == 0
    assert schedule.fires.count() == 1 and held_queue.run_ids() == [schedule.fires.get().run_id]


@pytest.mark.parametrize("policy, limit, back_at, expected, kinds", [
    ("skip", 10, "2024-01-04 12:00", [], set()),
    ("latest", 10, "2024-01-04 12:00", ["2024-01-04 02:00"], {"catch_up"}),
    ("each", 10, "2024-01-04 12:00", ["2024-01-02 02:00", "2024-01-03 02:00", "2024-01-04 02:00"], {"catch_up"}),
    ("each", 2, "2024-01-04 12:00", ["2024-01-03 02:00", "2024-01-04 02:00"], {"catch_up"}),
    # back just in time for the third: that one is on time, the two before it were missed
    ("skip", 10, "2024-01-04 02:00:30", ["2024-01-04 02:00"], {"scheduled"}),
    ("latest", 10, "2024-01-04 02:00:30", ["2024-01-04 02:00"], {"scheduled"}),
    ("each", 10, "2024-01-04 02:00:30", ["2024-01-02 02:00", "2024-01-03 02:00", "2024-01-04 02:00"],
     {"catch_up", "scheduled"}),
])
def test_catch_up_after_three_missed_fire_times(world, echo_pipeline, clock, held_queue, policy, limit, back_at,
                                                expected, kinds):
    from studio.schedules.scheduler import Scheduler

    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-01-01 12:00"), cron="0 2 * * *",
                             catchup=policy, catchup_limit=limit, concurrency="queue")
    assert schedule.next_fire_at == utc("2024-01-02 02:00")  # then no scheduler ran for three fire times
    clock.set(utc(back_at))
    Scheduler(clock).tick()
    assert fire_times(schedule) == expected
    assert {f.kind for f in schedule.fires.all()} == kinds
    schedule.refresh_from_db()
    assert schedule.next_fire_at == utc("2024-01-05 02:00")
    clock.set(utc("2024-01-05 02:00"))
    held_queue.drain()
    Scheduler(clock).tick()
    assert fire_times(schedule)[-1] == "2024-01-05 02:00"  # and it goes on as usual


@pytest.mark.parametrize("policy", ["skip", "queue", "cancel"])
def test_concurrency_with_a_run_still_going(world, echo_pipeline, clock, held_queue, policy):
    from studio.runs.models import Run
    from studio.schedules.scheduler import Scheduler

    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *", concurrency=policy)
    scheduler = Scheduler(clock)
    clock.set(utc("2024-01-01 01:00"))
    scheduler.tick()
    first = schedule.fires.get()
    assert Run.objects.get(pk=first.run_id).status == "queued"  # still going: nothing has run it yet
    clock.set(utc("2024-01-01 02:00"))
    scheduler.tick()
    second = schedule.fires.get(fire_time=utc("2024-01-01 02:00"))
    if policy == "skip":
        assert second.status == "skipped" and second.run is None and str(first.run_id) in second.message
        assert held_queue.run_ids() == [first.run_id]
    elif policy == "queue":
        assert second.status == "waiting" and second.run is None
        scheduler.tick()
        assert schedule.fires.get(pk=second.pk).status == "waiting"  # the first is still going
        held_queue.drain()  # the worker runs the first
        scheduler.tick()
        second.refresh_from_db()
        assert second.status == "started" and held_queue.run_ids() == [second.run_id]
        held_queue.drain()
        assert Run.objects.get(pk=second.run_id).started_at > Run.objects.get(pk=first.run_id).finished_at
    else:
        assert second.status == "started" and Run.objects.get(pk=first.run_id).status == "cancelled"
        assert held_queue.drain() == 2 and Run.objects.get(pk=second.run_id).status == "succeeded"
        assert Run.objects.get(pk=first.run_id).status == "cancelled"


def test_cancel_policy_stops_a_running_run(world, echo_pipeline, clock, held_queue):
    from studio.runs.models import Run
    from studio.runs.worker import claim
    from studio.schedules.scheduler import Scheduler

    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *", concurrency="cancel")
    clock.set(utc("2024-01-01 01:00"))
    Scheduler(clock).tick()
    first = schedule.fires.get().run_id
    assert claim(first)  # a worker took it: running
    clock.set(utc("2024-01-01 02:00"))
    Scheduler(clock).tick()
    assert Run.objects.get(pk=first).cancel_requested and schedule.fires.count() == 2


class Receiver:
    """A real HTTP server on 127.0.0.1 that records each POST body (the failure webhook's far end)."""

    def __init__(self, answer: int = 200, hang: bool = False):
        bodies = self.bodies = []
        done = self.hang_done = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers["Content-Length"])
                bodies.append({"path": self.path, "body": json.loads(self.rfile.read(length)),
                               "type": self.headers["Content-Type"]})
                if hang:
                    done.wait(10)
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.hang_done.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    server = Receiver()
    settings.WEBHOOK_ALLOW = [f"127.0.0.1:{server.port}"]
    yield server
    server.close()


def test_retries_with_growing_delays_then_one_webhook_and_mail(world, fail_pipeline, clock, receiver, mailoutbox):
    from studio.schedules.models import ProjectWebhook
    from studio.schedules.scheduler import Scheduler

    ProjectWebhook.objects.create(project=world.a, url=f"http://127.0.0.1:{receiver.port}/hooks/studio?k=1")
    schedule = make_schedule(fail_pipeline, world.alice, utc("2024-01-01"), cron="0 6 * * *", retries=3,
                             retry_delay=60, retry_delay_max=150)
    schedule.notify.set([world.carol])
    scheduler = Scheduler(clock)
    clock.set(utc("2024-01-01 06:00"))
    seen_at = {}
    # every 10 s while the retries are due (the runs fail at once, in process; the last retry is due 330 s after
    # the first failure), then every 5 minutes to the hour: no fifth run, no second webhook or mail
    while clock.now < utc("2024-01-01 07:00"):
        scheduler.tick()
        for fire in schedule.fires.all():
            seen_at.setdefault(fire.attempt, clock.now)
        clock.set(clock.now + timedelta(seconds=10 if clock.now < utc("2024-01-01 06:10") else 300))
    fires = list(schedule.fires.order_by("attempt"))
    assert [f.attempt for f in fires] == [0, 1, 2, 3]  # 1 + 3 runs
    assert {f.run.status for f in fires} == {"failed"} and len({f.run_id for f in fires}) == 4
    assert {f.fire_time for f in fires} == {utc("2024-01-01 06:00")}
    gaps = [(seen_at[n + 1] - seen_at[n]).total_seconds() for n in range(3)]
    # each delay counts from the tick that saw the failure (ticks every 10 s): 60 s, 120 s, then the 150 s cap
    for gap, delay in zip(gaps, (60, 120, 150), strict=True):
        assert delay <= gap <= delay + 20, gaps
    assert gaps[0] < gaps[1] < gaps[2]
    assert len(receiver.bodies) == 1, receiver.bodies
    hook = receiver.bodies[0]
    assert hook["path"] == "/hooks/studio?k=1" and hook["type"] == "application/json"
    body = hook["body"]
    assert body["failed_node"] == "explode" and body["error"] == "the source table is empty"
    assert body["status"] == "failed" and body["run"] == fires[-1].run_id and body["attempts"] == 4
    assert body["schedule"] == {"id": schedule.pk, "name": "nightly", "cron": "0 6 * * *", "timezone": "UTC"}
    assert body["pipeline"]["id"] == fail_pipeline.pk and body["fire_time"] == "2024-01-01T06:00:00Z"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["carol@example.invalid"]
    assert "explode" in mailoutbox[0].body and "failed" in mailoutbox[0].subject


def test_a_failed_delivery_is_logged_and_never_breaks_a_tick(world, fail_pipeline, clock, settings, caplog):
    from studio.schedules.models import ProjectWebhook
    from studio.schedules.scheduler import Scheduler

    hanging = Receiver(hang=True)
    try:
        settings.WEBHOOK_ALLOW = [f"127.0.0.1:{hanging.port}"]
        settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
        ProjectWebhook.objects.create(project=world.a, url=f"http://127.0.0.1:{hanging.port}/")
        schedule = make_schedule(fail_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *")
        schedule.notify.set([world.alice])
        scheduler = Scheduler(clock)
        for hour in (1, 2):
            clock.set(utc(f"2024-01-01 0{hour}:00"))
            done = scheduler.tick()  # fires (the run fails) and announces it: both deliveries fail ...
            clock.set(utc(f"2024-01-01 0{hour}:00:10"))
            done += scheduler.tick()  # ... and the scheduler goes on
            assert done["fired"] == 1 and done["notified"] == 1, done
        assert schedule.fires.count() == 2 and schedule.fires.filter(settled=True).count() == 2
        messages = [r.getMessage() for r in caplog.records if r.name == "studio.schedules.notify"]
        assert sum("webhook of project" in m and "timed out" in m for m in messages) == 2, messages
        assert sum("e-mail for fire" in m for m in messages) == 2, messages
    finally:
        hanging.close()


def test_refused_webhook_is_logged_at_delivery(world, fail_pipeline, clock, caplog):
    """A URL saved while allowed (or written by hand) is checked again when used: no call to loopback."""
    from studio.schedules.models import ProjectWebhook
    from studio.schedules.scheduler import Scheduler

    hook = Receiver()
    try:
        ProjectWebhook.objects.create(project=world.a, url=f"http://127.0.0.1:{hook.port}/")
        make_schedule(fail_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *")
        clock.set(utc("2024-01-01 01:00"))
        Scheduler(clock).tick()
        Scheduler(clock).tick()
        assert hook.bodies == []
        assert any("internal address" in r.getMessage() for r in caplog.records)
    finally:
        hook.close()


def test_built_in_parameters_of_a_scheduled_run(world, echo_pipeline, clock):
    from studio.schedules.scheduler import Scheduler

    # 23:30 in New York is already the next day in UTC: run_date is New York's date
    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-06-01"), cron="30 23 * * *",
                             timezone="America/New_York", params={"value": 11})
    clock.set(utc("2024-06-02 03:30"))
    Scheduler(clock).tick()
    run = schedule.fires.get().run
    assert run.status == "succeeded", run.error
    assert run.params == {"value": 11, "run_date": "2024-06-01", "fire_time": "2024-06-02T03:30:00Z",
                          "data_interval_start": "2024-06-01T03:30:00Z", "data_interval_end": "2024-06-02T03:30:00Z"}
    assert run.metrics == {"emit": {"value": 11}, "date": {"text": "2024-06-01"},
                           "interval": {"text": "2024-06-01T03:30:00Z"}}


def test_start_end_enabled_and_pinned_version(world, echo_pipeline, clock, held_queue):
    import pipelines
    from studio.schedules import service
    from studio.schedules.scheduler import Scheduler
    from tests.studio.schedules.conftest import ECHO_GRAPH

    v1 = echo_pipeline.latest_version()
    echo_pipeline.save_graph(pipelines.from_json({**ECHO_GRAPH, "parameters": {"value": {"default": 4}}}))
    pinned = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *", version=v1,
                           start_at=utc("2024-01-01 03:00"), end_at=utc("2024-01-01 05:00"), name="pinned")
    latest = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *", name="latest")
    off = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"), cron="0 * * * *", enabled=False, name="off")
    step(Scheduler(clock), clock, utc("2024-01-01 00:00"), utc("2024-01-01 08:00"), timedelta(minutes=30),
         held_queue)
    assert fire_times(pinned) == ["2024-01-01 03:00", "2024-01-01 04:00", "2024-01-01 05:00"]
    assert {f.run.version.number for f in pinned.fires.all()} == {1}
    assert {f.run.metrics["emit"]["value"] for f in latest.fires.all()} == {4}
    assert latest.fires.count() == 8 and off.fires.count() == 0
    pinned.refresh_from_db()
    assert pinned.next_fire_at is None  # past its end
    # enabling `off` later starts from then: it does not catch up on the hours it was off
    off.enabled = True
    off.next_fire_at = service.next_fire_time(off, clock.now)
    off.save()
    Scheduler(clock).tick()
    assert off.fires.count() == 0 and off.next_fire_at == utc("2024-01-01 09:00")


def test_recover_enqueues_a_fire_whose_enqueue_never_happened(world, echo_pipeline, clock, held_queue):
    from studio.runs.service import start_run
    from studio.schedules.models import Fire
    from studio.schedules.scheduler import Scheduler

    from huey.contrib.djhuey import HUEY

    schedule = make_schedule(echo_pipeline, world.alice, utc("2024-01-01"))
    run = start_run(echo_pipeline)
    HUEY.flush()  # as a scheduler killed between its commit and the enqueue leaves it: queued, not on the queue
    Fire.objects.create(schedule=schedule, fire_time=utc("2024-01-01 02:00"), run=run, created_at=clock.now)
    assert held_queue.run_ids() == []
    assert Scheduler(clock).recover() == [run.pk]
    assert held_queue.run_ids() == [run.pk] and Fire.objects.get(run=run).enqueued
    assert Scheduler(clock).recover() == []  # once
    held_queue.drain()
    run.refresh_from_db()
    assert run.status == "succeeded"

"""The schedules API: create / read / change with the usual roles, next fire times, run now, backfill, the
failure webhook, bad input (400 naming the field), and a plain user of another project as the attacker."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.django_db

BODY = {"name": "nightly", "cron": "0 2 * * 1-5", "timezone": "Europe/Berlin"}
BACKFILL = {"start": "2024-01-01", "end": "2024-01-02"}


def create(client, pipeline, **fields):
    return client.post("/api/schedules/", {**BODY, "pipeline": pipeline.pk, **fields}, format="json")


def paths(response) -> set[str]:
    return {e["path"] for e in response.json()["errors"]}


def test_create_read_change_and_identity_is_fixed(world, echo_pipeline, fast_pipeline):
    response = create(world.as_alice, echo_pipeline, params={"value": 5}, retries=2, notify=["carol"])
    assert response.status_code == 201, response.json()
    schedule = response.json()
    assert schedule["project"] == world.a.pk and schedule["pipeline"] == echo_pipeline.pk
    assert schedule["params"] == {"value": 5} and schedule["notify"] == ["carol"] and schedule["version"] is None
    fire = datetime.fromisoformat(schedule["next_fire_at"])
    assert fire > datetime.now(UTC) and fire.astimezone(UTC).minute == 0  # 02:00 Berlin: 00:00 or 01:00 UTC
    assert schedule["last_fire"] is None

    # the viewer reads it, in the list and alone
    assert [s["id"] for s in world.as_carol.get("/api/schedules/").json()["results"]] == [schedule["id"]]
    assert world.as_carol.get(f"/api/schedules/{schedule['id']}/").status_code == 200
    assert world.as_carol.get(f"/api/schedules/?pipeline={echo_pipeline.pk}").json()["count"] == 1

    # project and pipeline are fixed at creation: a change of either is refused, naming it, and changes nothing
    moved = world.as_alice.patch(f"/api/schedules/{schedule['id']}/",
                                 {"cron": "@hourly", "pipeline": fast_pipeline.pk, "project": world.b.pk},
                                 format="json")
    assert moved.status_code == 400 and paths(moved) == {"pipeline", "project"}, moved.json()
    assert "cannot change after creation" in moved.json()["message"]
    assert world.as_alice.get(f"/api/schedules/{schedule['id']}/").json()["cron"] == BODY["cron"]
    # the editor changes it; sending project and pipeline back unchanged (a whole object) is fine
    changed = world.as_alice.patch(f"/api/schedules/{schedule['id']}/",
                                   {"cron": "@hourly", "pipeline": echo_pipeline.pk, "project": world.a.pk,
                                    "version": 1}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["cron"] == "@hourly" and changed.json()["version"] == 1
    assert changed.json()["pipeline"] == echo_pipeline.pk and changed.json()["project"] == world.a.pk
    assert datetime.fromisoformat(changed.json()["next_fire_at"]) - datetime.now(UTC) <= timedelta(hours=1)


def test_next_fire_times_in_the_zone_and_in_utc(world, echo_pipeline):
    schedule = create(world.as_alice, echo_pipeline).json()
    times = world.as_carol.get(f"/api/schedules/{schedule['id']}/next/?n=5").json()
    assert len(times) == 5
    for t in times:
        local, utc = datetime.fromisoformat(t["local"]), datetime.fromisoformat(t["utc"].replace("Z", "+00:00"))
        assert local == utc and (local.hour, local.minute) == (2, 0) and local.isoweekday() <= 5
        assert local.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert [t["utc"] for t in times] == sorted(t["utc"] for t in times)
    preview = world.as_bob.get("/api/schedules/preview/?cron=*/15 * * * *&timezone=America/New_York&n=3")
    assert preview.status_code == 200 and len(preview.json()) == 3
    assert {datetime.fromisoformat(t["local"]).minute for t in preview.json()} <= {0, 15, 30, 45}


@pytest.mark.parametrize("fields, path", [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "every day at noon"}, "cron"),
    ({"cron": "* * * * * *"}, "cron"),
    ({"cron": "0 0 30 2 *"}, "cron"),
    ({"cron": "@reboot"}, "cron"),
    ({"cron": "*" * 500}, "cron"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"params": {"undeclared": 1}}, "params.undeclared"),
    ({"params": {"run_date": "2024-01-01"}}, "params.run_date"),
    ({"params": {"value": "not a number"}}, "params"),
    ({"start_at": "2030-01-02T00:00:00Z", "end_at": "2030-01-01T00:00:00Z"}, "end_at"),
    ({"retries": -1}, "retries"),
    ({"retries": 10 ** 9}, "retries"),
    ({"catchup_limit": 10 ** 9}, "catchup_limit"),
    ({"retry_delay": 600, "retry_delay_max": 60}, "retry_delay_max"),
    ({"catchup": "sometimes"}, "catchup"),
    ({"concurrency": "maybe"}, "concurrency"),
    ({"engine": "gpu"}, "engine"),
    ({"version": 99}, "version"),
    ({"notify": ["bob"]}, "notify"),
    ({"notify": ["nobody"]}, "notify"),
])
def test_bad_input_is_400_naming_the_field(world, echo_pipeline, fields, path):
    response = create(world.as_alice, echo_pipeline, **fields)
    assert response.status_code == 400, response.json()
    assert paths(response) == {path}, response.json()
    assert response.json()["code"] == "invalid"


def test_notify_answers_the_same_for_no_such_user_and_a_user_outside_the_project(world, echo_pipeline):
    """bob exists (a member of project B only), nobody does not: alice learns nothing from the answers."""
    answers = {}
    for name in ("bob", "nobody"):
        response = create(world.as_alice, echo_pipeline, notify=[name])
        assert response.status_code == 400 and paths(response) == {"notify"}, response.json()
        answers[name] = response.json()["message"].replace(name, "<name>")
    assert answers["bob"] == answers["nobody"] and "not members of the project" in answers["bob"], answers


def test_bad_queries_are_400_naming_the_field(world, echo_pipeline):
    schedule = create(world.as_alice, echo_pipeline).json()
    for url, path in ((f"/api/schedules/{schedule['id']}/next/?n=100000", "n"),
                      (f"/api/schedules/{schedule['id']}/next/?n=0", "n"),
                      ("/api/schedules/preview/?cron=nope", "cron"),
                      ("/api/schedules/preview/?cron=@daily&timezone=Nowhere", "timezone"),
                      ("/api/schedules/?pipeline=x", "pipeline")):
        response = world.as_alice.get(url)
        assert response.status_code == 400 and paths(response) == {path}, (url, response.json())
    for body, path in (({"start": "2024-01-05", "end": "2024-01-01"}, "end"),
                       ({"start": "2000-01-01", "end": "2024-01-01"}, "end"),
                       ({"start": "yesterday", "end": "2024-01-01"}, "start")):
        response = world.as_alice.post(f"/api/schedules/{schedule['id']}/backfill/", body, format="json")
        assert response.status_code == 400 and paths(response) == {path}, (body, response.json())


def test_attacker_in_another_project(world, echo_pipeline):
    """bob owns project B: schedule of A is 404 for him in every form, and he cannot make one on A's pipeline."""
    from studio.schedules.models import Schedule

    schedule = create(world.as_alice, echo_pipeline).json()
    sid = schedule["id"]
    for url in (f"/api/schedules/{sid}/", f"/api/schedules/{sid}/next/", f"/api/schedules/{sid}/fires/"):
        assert world.as_bob.get(url).status_code == 404, url
    for method, url, body in (("patch", f"/api/schedules/{sid}/", {"enabled": False}),
                              ("put", f"/api/schedules/{sid}/", {**BODY, "pipeline": echo_pipeline.pk}),
                              ("delete", f"/api/schedules/{sid}/", None),
                              ("post", f"/api/schedules/{sid}/run/", None),
                              ("post", f"/api/schedules/{sid}/backfill/", BACKFILL)):
        assert getattr(world.as_bob, method)(url, body, format="json").status_code == 404, (method, url)
    assert world.as_bob.get("/api/schedules/").json()["results"] == []
    assert world.as_bob.get(f"/api/schedules/?project={world.a.pk}").json()["results"] == []
    # creating one on A's pipeline: as if it did not exist
    response = create(world.as_bob, echo_pipeline)
    assert response.status_code == 400 and paths(response) == {"pipeline"}
    assert "does not exist" in response.json()["message"]
    # his own schedule in B cannot be pointed at A's pipeline afterwards either
    from tests.studio.schedules.conftest import ECHO_GRAPH, save_pipeline

    own = create(world.as_bob, save_pipeline(world.b, world.bob, ECHO_GRAPH)).json()
    moved = world.as_bob.patch(f"/api/schedules/{own['id']}/", {"pipeline": echo_pipeline.pk}, format="json")
    assert moved.status_code == 400 and paths(moved) == {"pipeline"}, moved.json()
    assert Schedule.objects.get(pk=own["id"]).pipeline_id == own["pipeline"]
    assert Schedule.objects.get(pk=sid).enabled and Schedule.objects.count() == 2
    assert Schedule.objects.get(pk=own["id"]).project == world.b


def test_viewer_reads_but_does_not_write(world, echo_pipeline):
    schedule = create(world.as_alice, echo_pipeline).json()
    sid = schedule["id"]
    assert create(world.as_carol, echo_pipeline).status_code == 403
    for method, url, body in (("patch", f"/api/schedules/{sid}/", {"enabled": False}),
                              ("delete", f"/api/schedules/{sid}/", None),
                              ("post", f"/api/schedules/{sid}/run/", None),
                              ("post", f"/api/schedules/{sid}/backfill/", BACKFILL)):
        assert getattr(world.as_carol, method)(url, body, format="json").status_code == 403, (method, url)
    assert world.as_carol.get(f"/api/schedules/{sid}/fires/").status_code == 200


def test_run_now_makes_an_ordinary_run_with_a_schedule_trigger(world, echo_pipeline,
                                                               django_capture_on_commit_callbacks):
    schedule = create(world.as_alice, echo_pipeline, params={"value": 7}).json()
    with django_capture_on_commit_callbacks(execute=True):
        fire = world.as_alice.post(f"/api/schedules/{schedule['id']}/run/").json()
    assert fire["kind"] == "manual" and fire["status"] == "started" and fire["run"]
    run = world.as_carol.get(f"/api/runs/{fire['run']}/").json()
    assert run["status"] == "succeeded", run
    assert run["trigger"] == {"type": "schedule", "schedule": schedule["id"], "schedule_name": "nightly",
                              "fire_time": fire["fire_time"], "kind": "manual", "attempt": 0}
    assert run["metrics"]["emit"] == {"value": 7}
    berlin_date = datetime.fromisoformat(fire["fire_time"]).astimezone(ZoneInfo("Europe/Berlin")).date()
    assert run["metrics"]["date"]["text"] == berlin_date.isoformat()
    assert run["requested_by"] == "alice"
    listed = world.as_alice.get(f"/api/schedules/{schedule['id']}/").json()["last_fire"]
    assert listed == {"fire_time": fire["fire_time"], "status": "succeeded", "run": fire["run"]}
    manual = world.as_alice.post("/api/runs/", {"pipeline": echo_pipeline.pk}, format="json").json()
    assert manual["trigger"] == {"type": "manual"}


def test_backfill_fires_each_date_once(world, echo_pipeline, django_capture_on_commit_callbacks):
    schedule = create(world.as_alice, echo_pipeline, cron="30 6 * * *").json()
    url = f"/api/schedules/{schedule['id']}/backfill/"
    with django_capture_on_commit_callbacks(execute=True):
        first = world.as_alice.post(url, {"start": "2024-03-30", "end": "2024-04-01"}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["existing"] == 0 and len(first.json()["created"]) == 3
    runs = [world.as_alice.get(f"/api/runs/{f['run']}/").json() for f in first.json()["created"]]
    assert [r["params"]["run_date"] for r in runs] == ["2024-03-30", "2024-03-31", "2024-04-01"]
    assert [r["metrics"]["date"]["text"] for r in runs] == ["2024-03-30", "2024-03-31", "2024-04-01"]
    # 06:30 in Berlin: CET before the change on 31 March, CEST after it
    assert [r["params"]["fire_time"] for r in runs] == ["2024-03-30T05:30:00Z", "2024-03-31T04:30:00Z",
                                                        "2024-04-01T04:30:00Z"]
    assert runs[1]["params"]["data_interval_start"] == "2024-03-30T05:30:00Z"
    assert {r["status"] for r in runs} == {"succeeded"} and {r["trigger"]["kind"] for r in runs} == {"backfill"}
    again = world.as_alice.post(url, {"start": "2024-03-29", "end": "2024-04-01"}, format="json").json()
    assert again["existing"] == 3 and [f["fire_time"][:10] for f in again["created"]] == ["2024-03-29"]
    fires = world.as_carol.get(f"/api/schedules/{schedule['id']}/fires/").json()
    assert fires["count"] == 4


def test_webhook_url_is_checked_and_bounded(world, settings):
    url = "/api/webhooks/"
    for bad in ("http://127.0.0.1:8000/hook", "http://localhost/hook", "http://[::1]/x", "http://169.254.169.254/",
                "http://10.0.0.5/hook", "http://[::ffff:127.0.0.1]/", "file:///etc/passwd", "ftp://example.com/x",
                "gopher://x", "http://user:pw@example.com/", "http://example.com:99999/",
                "https://example.com/" + "a" * 2100, "http://testserver/hook"):
        response = world.as_alice.post(url, {"project": world.a.pk, "url": bad}, format="json")
        assert response.status_code == 400 and paths(response) == {"url"}, (bad, response.json())
    settings.WEBHOOK_ALLOW = ["127.0.0.1:9"]
    made = world.as_alice.post(url, {"project": world.a.pk, "url": "http://127.0.0.1:9/hook"}, format="json")
    assert made.status_code == 201, made.json()
    hook = made.json()["id"]
    assert world.as_alice.post(url, {"project": world.a.pk, "url": "http://127.0.0.1:9/x"},
                               format="json").status_code == 400  # one per project
    assert world.as_carol.get(f"{url}{hook}/").status_code == 200
    assert world.as_carol.patch(f"{url}{hook}/", {"url": "http://127.0.0.1:9/y"}, format="json").status_code == 403
    assert world.as_bob.get(f"{url}{hook}/").status_code == 404
    assert world.as_bob.patch(f"{url}{hook}/", {"url": "http://127.0.0.1:9/y"}, format="json").status_code == 404
    assert world.as_bob.post(url, {"project": world.a.pk, "url": "http://127.0.0.1:9/y"},
                             format="json").status_code == 400
    moved = world.as_alice.patch(f"{url}{hook}/", {"project": world.b.pk}, format="json")
    assert moved.status_code == 400 and paths(moved) == {"project"}, moved.json()
    assert world.as_alice.get(f"{url}{hook}/").json()["project"] == world.a.pk


def test_backfill_never_runs_the_future(world, echo_pipeline):
    schedule = create(world.as_alice, echo_pipeline, cron="0 0 * * *", timezone="UTC").json()
    today = datetime.now(UTC).date()
    response = world.as_alice.post(f"/api/schedules/{schedule['id']}/backfill/",
                                   {"start": str(today), "end": str(today + timedelta(days=5))}, format="json")
    assert response.status_code == 201
    assert [f["fire_time"][:10] for f in response.json()["created"]] == [str(today)]
    assert date.fromisoformat(response.json()["created"][0]["fire_time"][:10]) <= today


@pytest.mark.parametrize("start, end, path", [("0001-01-01", "0001-01-02", "start"),
                                              ("1899-12-31", "1900-01-02", "start"),
                                              ("2024-01-01", "9999-12-31", None)])
def test_backfill_at_the_ends_of_the_calendar_is_an_answer_not_a_500(world, echo_pipeline, start, end, path):
    """Year 1 and year 9999 are dates the API reads; before, the range's bounds were moved by a day or a
    microsecond past them (OverflowError, a 500). An end far ahead is today, as any end in the future is."""
    schedule = create(world.as_alice, echo_pipeline, cron="0 0 1 1 *", timezone="Europe/Berlin").json()
    response = world.as_alice.post(f"/api/schedules/{schedule['id']}/backfill/", {"start": start, "end": end},
                                   format="json")
    if path:
        assert response.status_code == 400 and paths(response) == {path}, response.json()
        assert "1900-01-01" in response.json()["message"]
    else:
        assert response.status_code == 201, response.json()
        assert [f["fire_time"][:4] for f in response.json()["created"]] == [
            str(y - 1) for y in range(2024, datetime.now(UTC).year + 1)]


def test_a_fire_whose_run_failed_says_why_in_the_failed_nodes_words(world, fail_pipeline, echo_pipeline,
                                                                      django_capture_on_commit_callbacks):
    """The schedule's history said only "failed": the reason was two pages away (the run, then its node). Each
    fire now carries its failed nodes' own errors, as the run history shows them."""
    failing = create(world.as_alice, fail_pipeline).json()
    with django_capture_on_commit_callbacks(execute=True):
        world.as_alice.post(f"/api/schedules/{failing['id']}/run/")
    fire = world.as_carol.get(f"/api/schedules/{failing['id']}/fires/").json()["results"][0]
    assert fire["run_status"] == "failed"
    assert fire["run_reasons"] == ["explode: the source table is empty"]
    fine = create(world.as_alice, echo_pipeline, name="fine").json()
    with django_capture_on_commit_callbacks(execute=True):
        made = world.as_alice.post(f"/api/schedules/{fine['id']}/run/").json()
    assert made["run_reasons"] == []
    assert world.as_carol.get(f"/api/schedules/{fine['id']}/fires/").json()["results"][0]["run_reasons"] == []

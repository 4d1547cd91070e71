"""Paging parameters: every endpoint that takes them answers a negative, non-integer or over-the-cap value with a
400 naming the parameter, in the API's error shape. Before, the list endpoints fell back to their defaults
silently (?offset=-5 listed the first page, ?limit=abc a page of 100, ?limit=5000 a page of 1000), and an unknown
parameter (?count= where the endpoint takes n) answered the default as if it had been asked for."""
from __future__ import annotations

import pytest

from studio.core.pagination import MAX_OFFSET

LISTS = ["/api/projects/", "/api/projects/{project}/members/", "/api/pipelines/", "/api/runs/", "/api/schedules/",
         "/api/schedules/{schedule}/fires/", "/api/uploads/", "/api/connections/", "/api/components/",
         "/api/deployments/", "/api/webhooks/"]
# (url, parameter, its cap) of the endpoints with paging parameters of their own
OWN = [("/api/runs/{run}/events/", "limit", 5000), ("/api/runs/{run}/events/", "after", MAX_OFFSET),
       ("/api/runs/{run}/outputs/split/first/", "limit", 1000),
       ("/api/runs/{run}/outputs/split/first/", "offset", MAX_OFFSET),
       ("/api/schedules/{schedule}/next/", "n", 100), ("/api/schedules/preview/?cron=@daily", "n", 100),
       ("/api/deployments/{deployment}/served/", "limit", 100)]
CASES = [*[(url, name, cap) for url in LISTS for name, cap in (("limit", 1000), ("offset", MAX_OFFSET))], *OWN]


@pytest.fixture
def ids(world) -> dict:
    """alice's project, schedule, run and deployment, by the names the urls above give them."""
    from studio.deployments.models import Deployment
    from studio.runs.models import Run
    from studio.schedules.models import Schedule

    version = world.pipeline.versions.order_by("-number").first()
    run = Run.objects.create(project=world.a, pipeline=world.pipeline, version=version, requested_by=world.alice)
    schedule = Schedule.objects.create(project=world.a, pipeline=world.pipeline, name="nightly", cron="@daily")
    deployment = Deployment.objects.create(project=world.a, name="credit", created_by=world.alice)
    return {"project": world.a.pk, "run": run.pk, "schedule": schedule.pk, "deployment": deployment.pk}


def _get(client, url: str, **query):
    joined = "&".join(f"{name}={value}" for name, value in query.items())
    return client.get(url + ("&" if "?" in url else "?") + joined)


def test_the_cases_cover_every_endpoint_the_schema_gives_paging_parameters():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paged = {(path, p["name"]) for path, operations in schema["paths"].items() for p in
             operations.get("get", {}).get("parameters", []) if p["in"] == "query" and
             p["name"] in ("limit", "offset", "after", "n")}
    tested = {(url.split("?")[0].replace("{project}", "{project_pk}").replace("/split/first/", "/{node}/{port}/")
               .replace("{run}", "{id}").replace("{schedule}", "{id}").replace("{deployment}", "{id}"), name)
              for url, name, _ in CASES}
    assert paged == tested


@pytest.mark.parametrize("url, name, cap", CASES, ids=[f"{url.split('?')[0]}?{name}" for url, name, _ in CASES])
def test_a_bad_paging_parameter_is_400_naming_it(world, ids, url, name, cap):
    url = url.format(**ids)
    for value in ["-5", "abc", "1.5", "\u00b2", "9" * 40, str(cap + 1)]:
        answer = _get(world.as_alice, url, **{name: value})
        assert answer.status_code == 400, (url, name, value, answer.content[:300])
        body = answer.json()
        assert body["code"] == "invalid" and [e["path"] for e in body["errors"]] == [name], (value, body)
    assert _get(world.as_alice, url, **{name: cap}).status_code in (200, 404)  # (404: the run has no outputs)


def test_both_bad_list_parameters_are_named_at_once_and_good_ones_still_page(world):
    answer = world.as_alice.get("/api/projects/?limit=0&offset=-1")
    assert answer.status_code == 400
    assert [e["path"] for e in answer.json()["errors"]] == ["limit", "offset"], answer.json()
    assert answer.json()["errors"][0]["message"] == "expected a whole number from 1 to 1,000, got '0'"
    page = world.as_alice.get("/api/projects/?limit=1&offset=0").json()
    assert page["count"] == 1 and len(page["results"]) == 1
    assert world.as_alice.get("/api/projects/?limit=&offset=").status_code == 200  # empty: the default
    assert world.as_alice.get(f"/api/projects/?offset={MAX_OFFSET}").json()["results"] == []


@pytest.mark.parametrize("url", ["/api/schedules/{schedule}/next/", "/api/schedules/preview/?cron=@daily",
                                 "/api/runs/{run}/events/"])
def test_an_unknown_paging_parameter_is_400_naming_it_and_the_ones_taken(world, ids, url):
    answer = _get(world.as_alice, url.format(**ids), count=500)
    assert answer.status_code == 400, answer.content[:300]
    error = answer.json()["errors"][0]
    assert error["path"] == "count" and error["message"].startswith("unknown parameter; this endpoint takes "), error
    assert _get(world.as_alice, url.format(**ids), format="json").status_code == 200


def test_another_projects_objects_stay_404_whatever_the_paging_parameters(world, ids):
    """The attacker learns nothing from a bad parameter on alice's objects: the same 404 as for no object."""
    for url in ("/api/runs/{run}/events/?limit=-5", "/api/schedules/{schedule}/next/?count=9",
                "/api/schedules/{schedule}/fires/?offset=-5", "/api/deployments/{deployment}/served/?limit=abc"):
        mine = world.as_bob.get(url.format(**ids))
        nobody = world.as_bob.get(url.format(**{name: 999999 for name in ids}))
        assert mine.status_code == nobody.status_code == 404, (url, mine.content[:200])
        assert mine.json() == nobody.json()

"""Object permissions by project membership: a member of project B gets 404 on everything of project A
(projects, members, pipelines, versions, components, runs, events, outputs, uploads, connections, deployments,
schedules, webhooks), sees none of it in lists, and cannot use it as a reference in his own objects; a viewer
of A reads but cannot change.

The census at the end walks every URL pattern Django serves and every WebSocket route of the ASGI application:
a route that takes an object's id (or name) and is not in the matrix below fails it, so a new endpoint comes
with its permission test."""
from __future__ import annotations

import asyncio
import io
import re

import pytest

from tests.studio.conftest import node

pytestmark = pytest.mark.django_db


def _file(body: bytes, name: str = "t.csv"):
    handle = io.BytesIO(body)
    handle.name = name
    return handle


@pytest.fixture
def a_things(world, fast_pipeline, run_now, settings):
    """One of everything in project A, made by its owner: {kind: id or object}."""
    from studio.deployments.models import Deployment

    alice = world.as_alice
    upload = alice.post("/api/uploads/", {"project": world.a.pk, "file": _file(b"x,y\n1,2\n")},
                        format="multipart").json()
    connection = alice.post("/api/connections/", {"project": world.a.pk, "name": "db",
                                                  "url": "postgresql://db.example/x"}, format="json").json()
    run = run_now(alice, pipeline=fast_pipeline.pk).json()
    member = alice.get(f"/api/projects/{world.a.pk}/members/").json()["results"][0]
    component = alice.post("/api/components/", {"project": world.a.pk, "name": "c", "graph": {
        "nodes": [node("split", "split_random", ratio=0.5)], "edges": [],
        "ports": {"inputs": [{"name": "table", "targets": [{"node": "split", "port": "table"}]}],
                  "outputs": [{"name": "first", "node": "split", "port": "first"}]}}}, format="json")
    assert component.status_code == 201, component.json()
    schedule = alice.post("/api/schedules/", {"pipeline": fast_pipeline.pk, "name": "hourly", "cron": "0 * * * *"},
                          format="json")
    assert schedule.status_code == 201, schedule.json()
    settings.WEBHOOK_ALLOW = ["127.0.0.1:9"]
    webhook = alice.post("/api/webhooks/", {"project": world.a.pk, "url": "http://127.0.0.1:9/hook"}, format="json")
    assert webhook.status_code == 201, webhook.json()
    deployment = Deployment.objects.create(name="credit-a", project=world.a, created_by=world.alice)
    return {"upload": upload["id"], "connection": connection["id"], "run": run["id"], "member": member["id"],
            "component": component.json()["id"], "schedule": schedule.json()["id"], "webhook": webhook.json()["id"],
            "deployment": deployment.pk, "pipeline": fast_pipeline.pk, "project": world.a.pk}


@pytest.fixture
def a_objects(world, a_things):
    """(reads, writes): every route on an object of project A, as alice's URLs."""
    t = a_things
    p, r, c, s, d = t["pipeline"], t["run"], t["component"], t["schedule"], t["deployment"]
    project, members = f"/api/projects/{t['project']}/", f"/api/projects/{t['project']}/members/"
    reads = [project, members, f"{members}{t['member']}/",
             f"/api/pipelines/{p}/", f"/api/pipelines/{p}/versions/", f"/api/pipelines/{p}/versions/1/",
             f"/api/pipelines/{p}/export/", f"/api/pipelines/{p}/script/", f"/api/pipelines/{p}/diff/?a=1&b=1",
             f"/api/runs/{r}/", f"/api/runs/{r}/events/",
             f"/api/runs/{r}/outputs/split/first/", f"/api/runs/{r}/outputs/add/out/",
             f"/api/uploads/{t['upload']}/", f"/api/uploads/{t['upload']}/preview/",
             f"/api/connections/{t['connection']}/",
             f"/api/components/{c}/", f"/api/components/{c}/versions/", f"/api/components/{c}/versions/1/",
             f"/api/components/{c}/where-used/",
             f"/api/schedules/{s}/", f"/api/schedules/{s}/next/", f"/api/schedules/{s}/fires/",
             f"/api/webhooks/{t['webhook']}/",
             f"/api/deployments/{d}/", f"/api/deployments/{d}/serving/", f"/api/deployments/{d}/monitoring/",
             f"/api/deployments/{d}/drift/", f"/api/deployments/{d}/shadow-comparison/",
             f"/api/deployments/{d}/served/"]
    writes = [("patch", project, {"name": "x"}), ("put", project, {"name": "x"}), ("delete", project, None),
              ("post", members, {"username": "bob", "role": "owner"}),
              ("patch", f"{members}{t['member']}/", {"role": "viewer"}),
              ("put", f"{members}{t['member']}/", {"role": "viewer"}),
              ("delete", f"{members}{t['member']}/", None),
              ("patch", f"/api/pipelines/{p}/", {"name": "x"}), ("put", f"/api/pipelines/{p}/", {"name": "x"}),
              ("delete", f"/api/pipelines/{p}/", None),
              ("post", f"/api/pipelines/{p}/versions/1/restore/", None),
              ("post", f"/api/runs/{r}/cancel/", None),
              ("patch", f"/api/uploads/{t['upload']}/", {"name": "y.csv"}),
              ("delete", f"/api/uploads/{t['upload']}/", None),
              ("patch", f"/api/connections/{t['connection']}/", {"name": "y"}),
              ("put", f"/api/connections/{t['connection']}/", {"name": "y"}),
              ("delete", f"/api/connections/{t['connection']}/", None),
              ("patch", f"/api/components/{c}/", {"description": "x"}),
              ("put", f"/api/components/{c}/", {"description": "x"}),
              ("delete", f"/api/components/{c}/", None),
              ("post", f"/api/components/{c}/move/", {"pipelines": [p]}),
              ("patch", f"/api/schedules/{s}/", {"enabled": False}), ("put", f"/api/schedules/{s}/", {"name": "x"}),
              ("delete", f"/api/schedules/{s}/", None),
              ("post", f"/api/schedules/{s}/run/", None),
              ("post", f"/api/schedules/{s}/backfill/", {"start": "2024-01-01", "end": "2024-01-02"}),
              ("patch", f"/api/webhooks/{t['webhook']}/", {"url": "https://example.com/x"}),
              ("put", f"/api/webhooks/{t['webhook']}/", {"url": "https://example.com/x"}),
              ("delete", f"/api/webhooks/{t['webhook']}/", None),
              ("patch", f"/api/deployments/{d}/", {"log_share": 0.5}),
              ("post", f"/api/deployments/{d}/rollback/", {"version": 1}),
              ("post", f"/api/deployments/{d}/keys/", {"which": "primary"}),
              ("post", f"/api/deployments/{d}/traffic/", {"weights": {"1": 100}}),
              ("post", f"/api/deployments/{d}/canary/", {"version": 1, "percent": 10}),
              ("post", f"/api/deployments/{d}/promote/", {"version": 1}),
              ("post", f"/api/deployments/{d}/shadow/", {"version": None}),
              ("post", f"/api/deployments/{d}/unpublish/", None),
              ("post", f"/api/deployments/{d}/try/", {"instances": [{"x": 1}]}),
              ("post", "/api/deployments/credit-a/feedback/", {"labels": [{"request_id": "r", "row": 0,
                                                                            "label": 1}]})]
    return reads, writes


# Lists: another project's objects never show, with or without ?project=.
LISTS = ["/api/pipelines/", "/api/runs/", "/api/uploads/", "/api/connections/", "/api/components/",
         "/api/schedules/", "/api/webhooks/", "/api/deployments/"]


def test_other_projects_objects_are_404(world, a_objects, a_things):
    from studio.deployments.models import Deployment
    from studio.schedules.models import Schedule

    reads, writes = a_objects
    for url in reads:
        assert world.as_alice.get(url).status_code == 200, url  # they exist...
        response = world.as_bob.get(url)
        assert response.status_code == 404, url  # ...but not for a member of B
        assert response.json()["code"] == "not_found", url
    for method, url, body in writes:
        response = getattr(world.as_bob, method)(url, body, format="json")
        assert response.status_code == 404, (method, url, response.content[:300])
        assert response.json()["code"] == "not_found", (method, url)
    assert world.as_alice.get(reads[3]).status_code == 200  # nothing was changed or deleted
    assert Schedule.objects.get(pk=a_things["schedule"]).enabled
    assert not Schedule.objects.get(pk=a_things["schedule"]).fires.exists()
    assert Deployment.objects.get(pk=a_things["deployment"]).log_share == 1.0


def test_lists_show_only_your_projects(world, a_objects):
    for url in LISTS:
        assert world.as_alice.get(url).json()["results"], url  # there is something to hide...
        assert world.as_bob.get(url).json()["results"] == [], url  # ...and bob sees none of it
        assert world.as_bob.get(f"{url}?project={world.a.pk}").json()["results"] == [], url
    assert [p["name"] for p in world.as_bob.get("/api/projects/").json()["results"]] == ["B"]
    assert world.as_bob.get(f"/api/runs/?pipeline={a_objects[0][3].split('/')[3]}").json()["results"] == []
    assert world.as_bob.get(f"/api/schedules/?pipeline={a_objects[0][3].split('/')[3]}").json()["results"] == []


def _references(world, t):
    """bob's requests that name an object of project A in something of his own (the collection routes)."""
    empty = {"nodes": [], "edges": []}
    return [("/api/pipelines/", {"project": world.a.pk, "name": "x", "graph": empty}, "json", "project"),
            ("/api/pipelines/import/", {"project": world.a.pk, "graph": empty}, "json", "project"),
            ("/api/connections/", {"project": world.a.pk, "name": "x", "url": "postgresql://db.example/x"}, "json",
             "project"),
            ("/api/uploads/", {"project": world.a.pk, "file": _file(b"x\n1\n")}, "multipart", "project"),
            ("/api/runs/", {"pipeline": t["pipeline"]}, "json", "pipeline"),
            ("/api/components/", {"project": world.a.pk, "name": "x", "graph": empty}, "json", "project"),
            ("/api/schedules/", {"pipeline": t["pipeline"], "name": "x", "cron": "0 * * * *"}, "json", "pipeline"),
            ("/api/webhooks/", {"project": world.a.pk, "url": "http://127.0.0.1:9/x"}, "json", "project")]


def test_other_projects_cannot_be_referenced(world, a_things):
    for url, body, fmt, field in _references(world, a_things):
        response = world.as_bob.post(url, body, format=fmt)
        assert response.status_code == 400, (url, response.content[:300])
        assert {e["path"] for e in response.json()["errors"]} == {field}, url
        assert "does not exist" in response.json()["message"], url
    # the routes that take the other object's id in their body answer 404 for it, naming the field
    publish = world.as_bob.post("/api/deployments/publish/", {"run": a_things["run"], "name": "mine"},
                                format="json")
    assert publish.status_code == 404 and publish.json()["errors"][0]["path"] == "run"
    make = world.as_bob.post("/api/components/make/", {"pipeline": a_things["pipeline"], "name": "x",
                                                       "nodes": ["split"]}, format="json")
    assert make.status_code == 404 and make.json()["code"] == "not_found"
    validate = world.as_bob.post("/api/pipelines/validate/", {"project": world.a.pk, "graph": {
        "nodes": [], "edges": []}}, format="json")
    assert validate.status_code == 404 and validate.json()["code"] == "not_found"


def test_alices_ids_inside_bobs_own_objects_reach_nothing(world, a_things, run_now):
    """bob's own pipeline, schedule and component, each naming something of alice's: her upload by id, her
    connection by name and by id, and her component by name, her pipeline in a component move. His run fails on
    those nodes, naming the field; her objects are unchanged."""
    from studio.workflows.models import Pipeline

    graph = {"nodes": [node("up", "import_csv", upload=str(a_things["upload"])),
                       node("sql", "import_sql", connection="db", query="SELECT 1"),
                       node("sqlid", "import_sql", connection=str(a_things["connection"]), query="SELECT 1"),
                       node("log", "import_prediction_log", deployment="credit-a"),
                       node("drift", "check_drift", deployment="credit-a"),
                       node("comp", "component", component="c")], "edges": []}
    mine = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "steal", "graph": graph},
                             format="json")
    assert mine.status_code == 201, mine.json()
    assert [(e["node"], e["code"]) for e in mine.json()["latest"]["errors"]] == [("comp", "unknown_component")]
    graph["nodes"].pop()  # without the unknown component, the graph runs: the other two fail, naming their field
    world.as_bob.patch(f"/api/pipelines/{mine.json()['id']}/", {"graph": graph}, format="json")
    run = run_now(world.as_bob, pipeline=mine.json()["id"]).json()
    nodes = {n["node"]: n for n in world.as_bob.get(f"/api/runs/{run['id']}/").json()["nodes"]}
    assert nodes["up"]["status"] == "failed" and nodes["up"]["error"]["field"] == "upload"
    assert f"no uploaded file with id '{a_things['upload']}'" in nodes["up"]["error"]["message"]
    assert nodes["sql"]["status"] == "failed" and nodes["sql"]["error"] == {  # alice's 'db' is not among bob's
        "message": "no connection named 'db'; none is defined", "field": "connection"}
    assert nodes["sqlid"]["status"] == "failed" and nodes["sqlid"]["error"] == {  # nor by her connection's id
        "message": f"no connection named '{a_things['connection']}'; none is defined", "field": "connection"}
    for name in ("log", "drift"):  # alice's deployment, by its name: not one of project B's
        assert nodes[name]["status"] == "failed" and nodes[name]["error"]["field"] == "deployment", nodes[name]
        assert "credit-a" in nodes[name]["error"]["message"], nodes[name]
    # bob's own component, moved "in" alice's pipeline: only pipelines of the component's project move
    own = world.as_bob.post("/api/components/", {"project": world.b.pk, "name": "c", "graph": {
        "nodes": [node("split", "split_random", ratio=0.5)], "edges": []}}, format="json").json()
    before = Pipeline.objects.get(pk=a_things["pipeline"]).versions.count()
    moved = world.as_bob.post(f"/api/components/{own['id']}/move/", {"pipelines": [a_things["pipeline"]]},
                              format="json")
    assert moved.status_code == 200 and moved.json()["moved"] == []
    assert Pipeline.objects.get(pk=a_things["pipeline"]).versions.count() == before


def _ws_connect(path: str, user_client):
    from channels.testing import WebsocketCommunicator

    from studio.asgi import application

    key = user_client._credentials["HTTP_AUTHORIZATION"].encode()

    async def connect():
        communicator = WebsocketCommunicator(application, path, headers=[(b"host", b"testserver"),
                                                                         (b"authorization", key)])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return asyncio.run(connect())


# WebSocket routes: each with a path to an object of A that a member of B must not open (close code 4404).
WS_ROUTES = {"ws/runs/<int:run_id>/": "/ws/runs/{run}/"}


@pytest.mark.django_db(transaction=True)
def test_a_websocket_to_another_projects_run_is_closed_4404(world, fast_pipeline):
    from studio.runs.service import start_run

    run = start_run(fast_pipeline, user=world.alice, mode="until", node="import")
    for route, path in WS_ROUTES.items():
        assert _ws_connect(path.format(run=run.pk), world.as_bob) == (False, 4404), route
        assert _ws_connect(path.format(run=run.pk), world.as_alice)[0] is True, route


def test_viewer_reads_but_does_not_change(world, a_objects, fast_pipeline):
    reads, writes = a_objects
    for url in reads:
        assert world.as_carol.get(url).status_code == 200, url
    for method, url, body in writes:
        response = getattr(world.as_carol, method)(url, body, format="json")
        assert response.status_code == 403, (method, url, response.content[:300])
    run = world.as_carol.post("/api/runs/", {"pipeline": fast_pipeline.pk}, format="json")
    assert run.status_code == 403


# ------------------------------------------------------------------------------------------------- census
# Routes with a path parameter that names no object of a project.
NOT_PROJECT_OBJECTS = {"api/operators/<str:name>/": "the operator catalogue, the same for everyone",
                       "^assets/(?P<path>.+)$": "the canvas's static files",
                       "^(?!api/|admin/|ws/|static/|assets/)(?P<path>.*)$": "the canvas (single-page app)"}
# Routes of no project at all: sign-in, health, the API's schema and its JSON 404.
NO_OBJECTS = {"api/schema/", "api/docs/", "api/health", "api/auth/session/", "api/auth/login/", "api/auth/logout/",
              "api/auth/token/", "api/auth/ws-ticket/", "api/operators/", "^api/"}
# Collection routes (no object in the path) and where their permission is tested.
COLLECTIONS = {("projects/$", "get"): "lists: yours only (test_lists_show_only_your_projects)",
               ("projects/$", "post"): "makes a project of your own: nothing to reference",
               ("pipelines/validate/$", "post"): "test_other_projects_cannot_be_referenced (project)",
               ("components/make/$", "post"): "test_other_projects_cannot_be_referenced (pipeline)",
               ("deployments/publish/$", "post"): "test_other_projects_cannot_be_referenced (run)",
               ("schedules/preview/$", "get"): "a cron expression's fire times: no object"}


def _django_routes():
    """(route, methods) of every URL pattern, the router's format-suffix twins left out (the same view)."""
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif "(?P<format>" not in str(pattern.pattern):
                yield prefix + str(pattern.pattern), pattern.callback

    for route, callback in walk(get_resolver().url_patterns):
        route = re.sub(r"^(api/)\^", r"\1", route)  # as ResolverMatch.route joins them
        if route.startswith("admin/"):
            continue  # Django's admin: staff only, by Django's own checks
        view = getattr(callback, "cls", None)
        allowed = set(getattr(view, "http_method_names", ["get", "post", "put", "patch", "delete"]))
        actions = getattr(callback, "actions", None)
        if actions is not None:
            methods = {m for m in actions if m in allowed and m != "head"}  # HEAD is GET without the body
        elif view is not None:
            methods = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        else:
            methods = {"get"}
        yield route, methods


def _has_object(route: str) -> bool:
    return bool(re.search(r"\(\?P<(?!format>)|<(\w+:)?\w+>", route))


def _covered(a_objects) -> set[tuple[str, str]]:
    from django.urls import resolve

    reads, writes = a_objects
    return {(resolve(url.split("?")[0]).route, method) for method, url in
            [("get", u) for u in reads] + [(m, u) for m, u, _ in writes]}


def test_every_route_on_an_object_is_in_the_matrix(world, a_objects, a_things):
    """A route that takes an object's id or name, with each method it answers, is in the reads / writes above;
    a collection route is in LISTS, the references test or COLLECTIONS; every WebSocket route in WS_ROUTES."""
    from django.urls import resolve

    covered = _covered(a_objects)
    lists = {resolve(url).route for url in LISTS}
    creates = {resolve(url).route for url, *_ in _references(world, a_things)}
    missing = []
    for route, methods in _django_routes():
        if route in NOT_PROJECT_OBJECTS:
            continue
        for method in sorted(methods):
            if _has_object(route):
                ok = (route, method) in covered
            else:
                short = route.removeprefix("api/")
                ok = (method == "get" and route in lists) or (method == "post" and route in creates) or \
                    (short, method) in COLLECTIONS or route in NO_OBJECTS
            if not ok:
                missing.append(f"{method.upper()} {route}")
    assert missing == [], "routes without a permission test: " + ", ".join(missing)


def test_every_websocket_route_is_in_the_matrix():
    from studio.asgi import application

    routes = [str(route.pattern) for route in application.application_mapping["websocket"].inner.routes]
    assert routes and sorted(routes) == sorted(WS_ROUTES), routes


def test_adding_a_member_answers_the_same_for_no_such_user_and_a_deactivated_one(world):
    """Owners name users by their exact user name (as on GitHub or GitLab); a deactivated account is not one
    they may name, and its answer is that of a name that is no user."""
    from tests.studio.conftest import make_user

    dora = make_user("dora")
    dora.is_active = False
    dora.save()
    answers = {}
    for name in ("dora", "nobody"):
        response = world.as_bob.post(f"/api/projects/{world.b.pk}/members/", {"username": name, "role": "viewer"},
                                     format="json")
        assert response.status_code == 400, response.json()
        assert [e["path"] for e in response.json()["errors"]] == ["username"], response.json()
        answers[name] = response.json()["message"].replace(name, "<name>")
    assert answers["dora"] == answers["nobody"] and "no active user" in answers["dora"], answers
    assert world.as_bob.post(f"/api/projects/{world.b.pk}/members/", {"username": "carol", "role": "viewer"},
                             format="json").status_code == 201


def test_a_deployment_name_taken_in_another_project_does_not_say_whose(world):
    """Deployment names are global (each is the serving URL /v2/models/<name>), so bob learns a name is taken;
    nothing more: not that it is another project's, not which."""
    from studio.deployments.models import Deployment
    from studio.deployments.services import DeploymentError, publish

    Deployment.objects.create(name="credit-a", project=world.a, created_by=world.alice)
    with pytest.raises(DeploymentError) as refused:
        publish(project=world.b, name="credit-a", model=None, feature_state=None, holdout=None, user=world.bob)
    assert refused.value.status == 409 and refused.value.field == "name"
    message = refused.value.message
    assert "is taken" in message and "project" not in message, message

"""Operator inputs that reach the machine, typed by bob in his own project B: file paths, connection URLs, schedule
fields, run parameters and expressions that try to read alice's project A, the studio's own database, data dir
or secrets, or to hold the worker. Each is refused with an error naming the field (the API's usual shape at
save time, the node's error at run time); nothing answers 500, and what a user types is bounded in size."""
from __future__ import annotations

import os

import pytest

from tests.studio.conftest import node

pytestmark = pytest.mark.django_db


def _bobs_pipeline(world, graph) -> int:
    mine = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "probe", "graph": graph},
                             format="json")
    assert mine.status_code == 201, mine.json()
    return mine.json()["id"]


def _bobs_run(world, run_now, nodes, edges=()):
    run = run_now(world.as_bob, pipeline=_bobs_pipeline(world, {"nodes": nodes, "edges": list(edges)}))
    assert run.status_code == 201, run.json()
    detail = world.as_bob.get(f"/api/runs/{run.json()['id']}/").json()
    return {n["node"]: n for n in detail["nodes"]}, detail


def test_import_paths_never_leave_bobs_data_root(world, run_now):
    """Paths to alice's data, the studio's database and secret key, a symlink, a NUL byte: each node fails alone,
    naming `path` (a NUL byte once failed the whole run with a bare "ValueError: embedded null byte")."""
    from django.conf import settings

    alice_file = world.a.data_root / "data" / "credit_default.csv"
    outside = {"up": f"../{world.a.pk}/data/credit_default.csv", "abs": str(alice_file), "etc": "/etc/passwd",
               "key": "../../../secret_key", "dir": "../", "link": "link.csv"}
    missing = {"root": ".", "home": "~/x.csv", "url": "file:///etc/passwd"}
    database = str(settings.DATABASES["default"]["NAME"])  # SQLite's file, or PostgreSQL's database name
    (outside if os.path.isabs(database) else missing)["db"] = database
    world.b.data_root.mkdir(parents=True, exist_ok=True)
    os.symlink(alice_file, world.b.data_root / "link.csv")  # were one there, it is followed, and refused
    paths = {**outside, **missing}
    nodes, detail = _bobs_run(world, run_now, [node(k, "import_csv", path=v) for k, v in paths.items()]
                              + [node(f"pq_{k}", "import_parquet", path=v) for k, v in paths.items()])
    assert detail["status"] == "failed" and "ValueError" not in (detail["error"] or "")
    for name, outcome in nodes.items():
        key = name.removeprefix("pq_")
        assert outcome["status"] == "failed" and outcome["error"]["field"] == "path", (name, outcome)
        expected = "is outside the data root" if key in outside else "does not exist under the data root"
        assert expected in outcome["error"]["message"], (name, outcome["error"])


def test_a_nul_character_anywhere_in_a_body_is_400_naming_where(world, tmp_path):
    """PostgreSQL's JSON and text refuse NUL: a pipeline whose import path held one failed at the database (500 on
    PostgreSQL). Every JSON body is refused with the path of the text that holds it; a graph run outside the API
    (pipelines.run) fails that node alone, naming `path`, not the whole run with a bare ValueError."""
    import pipelines

    graph = {"nodes": [node("n", "import_csv", path="data/\x00x.csv")], "edges": []}
    answer = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "probe", "graph": graph},
                               format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["errors"] == [{"path": "graph.nodes[0].params.path", "code": "null_character",
                                        "message": "text may not hold the NUL character (\\u0000)"}]
    named = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "a\x00b", "graph": {}},
                              format="json")
    assert named.status_code == 400 and named.json()["errors"][0]["path"] == "name"
    result = pipelines.run({"format": "studio.pipeline/1", **graph}, store_root=tmp_path / "store",
                           data_root=tmp_path)
    error = result.nodes["n"].error
    assert result.status == "failed" and error["field"] == "path", error
    assert "is not a usable file path: embedded null byte" in error["message"]


def test_connection_urls_to_the_studios_own_databases_and_files_are_400_naming_url(world):
    from django.conf import settings

    urls = ["postgresql://postgres@127.0.0.1:5432/postgres", "postgresql://postgres@localhost/test",
            "postgresql://postgres@[::1]:5432/test", "postgresql://postgres@0.0.0.0/test",
            "postgresql://postgres@2130706433/test", "postgresql://postgres@127.1/test",
            "postgresql://u@db.example/x?host=/var/run/postgresql", "postgresql://u@db.example/x?sslkey=/etc/x",
            "postgresql://u@db.example/x?options=-c%20default_transaction_read_only%3Doff",
            "postgresql://u@db.example/x?passfile=/root/.pgpass",
            "mysql://u@db.example/x?unix_socket=/run/mysqld/mysqld.sock",
            "mysql://u@db.example/x?read_default_file=/etc/mysql/my.cnf", "mysql://u@db.example/x?local_infile=1",
            f"sqlite:///{settings.DATA_DIR}/studio.sqlite3", f"sqlite:///{settings.DATA_DIR}/secret_key",
            "sqlite:///rel.db", "sqlite://", "sqlite:///file:x?mode=ro&uri=true", f"sqlite:///{world.a.data_root}/x.db",
            "file:///etc/passwd", "jdbc:postgresql://127.0.0.1/test", "postgresql+pg8000://u@db.example/x",
            "oracle://u@db.example/x", "postgresql://u@db.example/" + "x" * 5000, "postgresql://u@db.example/x\n"]
    for url in urls:
        response = world.as_bob.post("/api/connections/", {"project": world.b.pk, "name": "c", "url": url},
                                     format="json")
        assert response.status_code == 400, (url, response.content[:300])
        assert [e["path"] for e in response.json()["errors"]] == ["url"], url


def test_what_bob_types_in_schedules_and_runs_is_bounded_and_named(world):
    graph = {"nodes": [node("emit", "test_emit", value=1)], "edges": [], "parameters": {"k": {"default": 1}}}
    import tests.pipelines.testing_operators  # noqa: F401  (registers test_emit)

    p = _bobs_pipeline(world, graph)
    schedule = {"pipeline": p, "name": "n", "cron": "0 * * * *"}
    refused = [("/api/schedules/", {**schedule, "name": "n" * 201}, "name"),
               ("/api/schedules/", {**schedule, "cron": "0 " * 5000}, "cron"),
               ("/api/schedules/", {**schedule, "timezone": "../../../../etc/passwd"}, "timezone"),
               ("/api/schedules/", {**schedule, "timezone": "/etc/localtime"}, "timezone"),
               ("/api/schedules/", {**schedule, "params": {"k": "x" * 70_000}}, "params"),
               ("/api/runs/", {"pipeline": p, "params": {"k": "x" * 70_000}}, "params"),  # was kept, 20 MB at most
               ("/api/runs/", {"pipeline": p, "mode": "only", "node": "n" * 201}, "node")]
    for url, body, field in refused:
        response = world.as_bob.post(url, body, format="json")
        assert response.status_code == 400, (field, response.content[:300])
        assert [e["path"] for e in response.json()["errors"]] == [field], (field, response.json())
    preview = world.as_bob.get("/api/schedules/preview/?cron=0+*+*+*+*&timezone=../../etc/passwd")
    assert preview.status_code == 400 and preview.json()["errors"][0]["path"] == "timezone"
    assert world.as_bob.post("/api/runs/", {"pipeline": p, "params": {"k": "x" * 60_000}},
                             format="json").status_code == 201


def test_expressions_that_reach_for_python_fail_their_node_naming_the_field(world, run_now):
    handle = __import__("io").BytesIO(b"x,s\n1,a\n2,b\n")
    handle.name = "t.csv"
    upload = world.as_bob.post("/api/uploads/", {"project": world.b.pk, "file": handle}, format="multipart").json()
    expressions = ["__import__('os').environ", "x.__class__", "open('/etc/passwd')", "f'{x}'", "9 ** 9 ** 9",
                   "s * 10 ** 9", "'%s' % s", "(" * 300 + "1" + ")" * 300]
    nodes = [node("imp", "import_csv", upload=str(upload["id"]))] + [
        node(f"d{i}", "derive_column", column="y", expression=e) for i, e in enumerate(expressions)]
    edges = [{"source": "imp", "source_port": "table", "target": f"d{i}", "target_port": "table"}
             for i in range(len(expressions))]
    outcomes, _ = _bobs_run(world, run_now, nodes, edges)
    assert outcomes["imp"]["status"] == "succeeded"
    for i, expression in enumerate(expressions):
        outcome = outcomes[f"d{i}"]
        assert outcome["status"] == "failed" and outcome["error"]["field"] == "expression", (expression, outcome)


def test_a_superscript_digit_where_a_number_is_expected_is_400_naming_the_field(world):
    """"²".isdigit() is true and int("²") fails: the checks of ?project=, ?pipeline=, a served-requests limit, a drift
    version, a traffic split's version and a component node's pinned version let it through to a 500."""
    from studio.deployments.models import Deployment

    bobs = Deployment.objects.create(name="credit-b", project=world.b, created_by=world.bob)
    sup = "\u00b2"
    for url, field in [(f"/api/runs/?project={sup}", "project"), (f"/api/uploads/?project={sup}", "project"),
                       (f"/api/runs/?pipeline={sup}", "pipeline"), (f"/api/schedules/?pipeline={sup}", "pipeline"),
                       (f"/api/deployments/{bobs.pk}/served/?limit={sup}", "limit"),
                       (f"/api/deployments/{bobs.pk}/drift/?version={sup}", "version")]:
        response = world.as_bob.get(url)
        assert response.status_code == 400, (url, response.content[:200])
        assert response.json()["errors"][0]["path"] == field, (url, response.json())
    response = world.as_bob.post(f"/api/deployments/{bobs.pk}/traffic/", {"weights": {sup: 100}}, format="json")
    assert response.status_code == 404 and response.json()["errors"][0]["path"] == "weights", response.content[:200]
    component = world.as_bob.post("/api/components/", {"project": world.b.pk, "name": "c", "graph": {
        "nodes": [node("split", "split_random", ratio=0.5)], "edges": [],
        "ports": {"inputs": [{"name": "table", "targets": [{"node": "split", "port": "table"}]}],
                  "outputs": [{"name": "first", "node": "split", "port": "first"}]}}}, format="json")
    assert component.status_code == 201, component.json()
    pinned = {"nodes": [{**node("k", "component", component="c"), "version": sup}], "edges": []}
    response = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "p", "graph": pinned},
                                 format="json")
    assert response.status_code == 201, response.content[:200]  # a draft, its error naming the node
    assert "version '\u00b2' is not a version number" in response.json()["latest"]["errors"][0]["message"]
    library = {"c2": {"versions": {sup: {"nodes": [node("split", "split_random", ratio=0.5)], "edges": [],
                                         "ports": {"inputs": [], "outputs": []}}}}}
    imported = {"nodes": [{**node("k", "component", component="c2"), "version": sup}], "edges": [],
                "components": library}
    response = world.as_bob.post("/api/pipelines/import/", {"project": world.b.pk, "name": "i", "graph": imported},
                                 format="json")
    assert response.status_code == 201, response.content[:200]  # kept as a draft, its error naming the node
    assert "version '\u00b2' is not a version number" in response.json()["latest"]["errors"][0]["message"]


def test_a_nul_or_unknown_value_in_a_runs_filter_or_output_url_is_4xx_naming_it(world, run_now):
    """PostgreSQL refuses NUL in a query: ?status=%00 and a run output's node %00 answered 500 there (SQLite just
    found nothing). A status that is none of a run's is a 400 naming `status`, not an empty list; Compare's run list
    (?pipeline= of another project's pipeline) lists nothing of it (already so)."""
    import tests.pipelines.testing_operators  # noqa: F401  (registers test_emit)

    p = _bobs_pipeline(world, {"nodes": [node("emit", "test_emit", value=1)], "edges": []})
    run = run_now(world.as_bob, pipeline=p).json()
    for status in ("%00", "done", "x" * 5000):
        response = world.as_bob.get(f"/api/runs/?status={status}")
        assert response.status_code == 400 and response.json()["errors"][0]["path"] == "status", status
    response = world.as_bob.get(f"/api/runs/{run['id']}/outputs/%00/out/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert world.as_bob.get(f"/api/runs/?pipeline={p}&status=succeeded&limit=50").json()["count"] == 1
    alices = world.as_bob.get(f"/api/runs/?pipeline={world.pipeline.pk}&status=succeeded&limit=50")
    assert alices.status_code == 200 and alices.json()["count"] == 0

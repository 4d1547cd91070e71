"""An upload names the pipelines and schedules of its project that read it (`used_by`), and a plain DELETE of a
file in use answers 409 naming them (?force=true deletes it anyway): before, the file went silently and the
nightly retrain failed the next night. Another project's pipeline names never show."""
from __future__ import annotations

import pytest

from tests.studio.conftest import node
from tests.studio.test_follow_uploads import V1, V2, upload

pytestmark = pytest.mark.django_db


def pipeline(world, name: str, graph_nodes: list[dict], client=None, project=None) -> int:
    client, project = client or world.as_alice, project or world.a
    made = client.post("/api/pipelines/", {"project": project.pk, "name": name,
                                           "graph": {"nodes": graph_nodes, "edges": []}}, format="json")
    assert made.status_code == 201, made.json()
    return made.json()["id"]


def schedule(world, pipeline_id: int, name: str, version: int | None = None) -> int:
    body = {"pipeline": pipeline_id, "name": name, "cron": "0 2 * * 1"} | ({"version": version} if version else {})
    made = world.as_alice.post("/api/schedules/", body, format="json")
    assert made.status_code == 201, made.json()
    return made.json()["id"]


def used_by(client, upload_id: int) -> list[tuple[str, str]]:
    answer = client.get(f"/api/uploads/{upload_id}/")
    assert answer.status_code == 200, answer.json()
    return [(r["kind"], r["name"]) for r in answer.json()["used_by"]]


def test_an_upload_names_the_pipelines_and_schedules_that_read_it(world):
    churn = upload(world.as_alice, world.a, V1, name="churn.csv")
    other = upload(world.as_alice, world.a, V1, name="other.csv")
    model = pipeline(world, "churn model", [node("read", "import_csv", upload=str(churn))])
    schedule(world, model, "weekly retrain")
    changed = pipeline(world, "was churn", [node("read", "import_csv", upload=str(churn))])
    schedule(world, changed, "pinned retrain", version=1)  # fires version 1, which reads churn.csv
    saved = world.as_alice.patch(f"/api/pipelines/{changed}/", {"graph": {"nodes": [
        node("read", "import_csv", upload=str(other))], "edges": []}}, format="json")
    assert saved.status_code == 200, saved.json()  # its latest version reads other.csv
    assert used_by(world.as_alice, churn) == [("pipeline", "churn model"), ("schedule", "pinned retrain"),
                                              ("schedule", "weekly retrain")]
    assert used_by(world.as_alice, other) == [("pipeline", "was churn")]
    listed = world.as_alice.get(f"/api/uploads/?project={world.a.pk}").json()["results"]
    assert {u["id"]: [r["name"] for r in u["used_by"]] for u in listed} == {
        churn: ["churn model", "pinned retrain", "weekly retrain"], other: ["was churn"]}
    assert used_by(world.as_carol, churn)[0] == ("pipeline", "churn model")  # a viewer of the project sees it too


def test_a_followed_name_and_a_components_import_count_as_reading_the_file_read(world):
    first = upload(world.as_alice, world.a, V1)
    second = upload(world.as_alice, world.a, V2)  # the newest people.csv
    pipeline(world, "follows", [node("read", "import_csv", upload=str(first), upload_version="newest")])
    inner = {"nodes": [node("read", "import_csv", upload=str(first))], "edges": [],
             "ports": {"inputs": [], "outputs": [{"name": "table", "node": "read", "port": "table"}]}}
    made = world.as_alice.post("/api/components/", {"project": world.a.pk, "name": "source", "graph": inner},
                               format="json")
    assert made.status_code == 201, made.json()
    pipeline(world, "wrapped", [node("src", "component", component="source")])
    assert used_by(world.as_alice, first) == [("pipeline", "wrapped")]
    assert used_by(world.as_alice, second) == [("pipeline", "follows")]


def test_a_plain_delete_of_a_file_in_use_is_409_naming_its_readers_and_force_deletes_it(world):
    churn = upload(world.as_alice, world.a, V1, name="churn.csv")
    model = pipeline(world, "churn model", [node("read", "import_csv", upload=str(churn))])
    schedule(world, model, "weekly retrain")
    refused = world.as_alice.delete(f"/api/uploads/{churn}/")
    assert refused.status_code == 409, refused.content[:300]
    body = refused.json()
    assert body["code"] == "in_use"
    assert [(e["code"], e["message"]) for e in body["errors"]] == [("used_by_pipeline", "pipeline 'churn model'"),
                                                                    ("used_by_schedule", "schedule 'weekly retrain'")]
    assert body["message"].startswith("the file 'churn.csv' is read by pipeline 'churn model', schedule 'weekly "
                                      "retrain'; "), body["message"]
    assert world.as_alice.get(f"/api/uploads/{churn}/").status_code == 200  # still there
    assert world.as_carol.delete(f"/api/uploads/{churn}/?force=true").status_code == 403  # a viewer may not
    assert world.as_alice.delete(f"/api/uploads/{churn}/?force=maybe").status_code == 400
    assert world.as_alice.delete(f"/api/uploads/{churn}/?force=true").status_code == 204
    unused = upload(world.as_alice, world.a, V1, name="scratch.csv")
    assert world.as_alice.delete(f"/api/uploads/{unused}/").status_code == 204


def test_another_projects_pipelines_are_never_named(world):
    """bob (a plain account with his own project) names alice's upload id in his pipeline: her upload does not list
    it, her plain delete is not refused because of it, and he learns nothing of hers through used_by or the 409."""
    hers = upload(world.as_alice, world.a, V1, name="hers.csv")
    pipeline(world, "alice private model", [node("read", "import_csv", upload=str(hers))])
    mine = upload(world.as_bob, world.b, V1, name="mine.csv")
    pipeline(world, "bob probe", [node("a", "import_csv", upload=str(hers)), node("b", "import_csv",
                                                                                  upload=str(mine))],
             client=world.as_bob, project=world.b)
    assert used_by(world.as_alice, hers) == [("pipeline", "alice private model")]
    assert used_by(world.as_bob, mine) == [("pipeline", "bob probe")]
    listed = world.as_bob.get("/api/uploads/").json()["results"]
    assert [u["id"] for u in listed] == [mine] and "alice" not in str(listed)
    for answer in (world.as_bob.get(f"/api/uploads/{hers}/"), world.as_bob.delete(f"/api/uploads/{hers}/"),
                   world.as_bob.delete(f"/api/uploads/{hers}/?force=true")):
        assert answer.status_code == 404 and answer.json() == world.as_bob.get("/api/uploads/999999/").json()
    refused = world.as_bob.delete(f"/api/uploads/{mine}/")
    assert refused.status_code == 409 and "alice" not in str(refused.json()), refused.json()
    private = pipeline(world, "scratch", [])
    assert world.as_alice.delete(f"/api/pipelines/{private}/").status_code == 204
    assert world.as_alice.delete(f"/api/uploads/{hers}/").status_code == 409  # her own pipeline, not bob's
    pipeline_id = world.as_alice.get("/api/pipelines/").json()["results"]
    alices = next(p["id"] for p in pipeline_id if p["name"] == "alice private model")
    assert world.as_alice.delete(f"/api/pipelines/{alices}/").status_code == 204
    assert world.as_alice.delete(f"/api/uploads/{hers}/").status_code == 204  # bob's pipeline does not hold it

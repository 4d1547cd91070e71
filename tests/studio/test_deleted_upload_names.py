"""A run whose import names a deleted upload says which file it was, by the name the person knew ('churn.csv'),
not by an id they never saw: the studio keeps a tombstone (DeletedUpload) of its project's deleted uploads. For
another project's id (deleted or not) the words stay those of an id never known, so an attacker learns nothing."""
from __future__ import annotations

import pytest

from tests.studio.conftest import node
from tests.studio.test_follow_uploads import V1, V2, upload

pytestmark = pytest.mark.django_db


def unknown(upload_id) -> str:
    return (f"no uploaded file with id '{upload_id}': it was deleted, or is not in this project; pick a file for "
            "this node again")


def run_of(client, project, run_now, nodes: list[dict], name: str = "p") -> dict:
    made = client.post("/api/pipelines/", {"project": project.pk, "name": name, "graph": {"nodes": nodes,
                                                                                          "edges": []}},
                       format="json")
    assert made.status_code == 201, made.json()
    started = run_now(client, pipeline=made.json()["id"])
    assert started.status_code in (201, 400), started.json()
    if started.status_code == 400:
        return started.json()
    return client.get(f"/api/runs/{started.json()['id']}/").json()


def errors(run: dict) -> dict[str, str]:
    return {n["node"]: n["error"]["message"] for n in run["nodes"] if n["error"]}


def test_a_pinned_upload_deleted_is_named_by_its_file_name(world, run_now):
    churn = upload(world.as_alice, world.a, V1, name="churn.csv")
    assert world.as_alice.delete(f"/api/uploads/{churn}/").status_code == 204
    run = run_of(world.as_alice, world.a, run_now, [node("read", "import_csv", upload=str(churn))])
    assert run["status"] == "failed"
    message = errors(run)["read"]
    assert message == "the uploaded file 'churn.csv' was deleted: pick a file for this node again, or upload it again"
    assert str(churn) not in message


def test_another_projects_ids_read_as_never_known(world, run_now):
    """bob pins alice's deleted upload, her live one and an id nobody has: the same words each time, bar the id he
    typed; his own deleted upload is named, as for anyone."""
    gone = upload(world.as_alice, world.a, V1, name="alice-secret.csv")
    live = upload(world.as_alice, world.a, V2, name="alice-live.csv")
    assert world.as_alice.delete(f"/api/uploads/{gone}/").status_code == 204
    mine = upload(world.as_bob, world.b, V1, name="bobs.csv")
    assert world.as_bob.delete(f"/api/uploads/{mine}/").status_code == 204
    nobody = 10 ** 9
    run = run_of(world.as_bob, world.b, run_now, [node(f"n{i}", "import_csv", upload=str(u))
                                                  for i, u in enumerate((gone, live, nobody, mine))])
    found = errors(run)
    assert [found["n0"], found["n1"], found["n2"]] == [unknown(gone), unknown(live), unknown(nobody)]
    assert found["n3"].startswith("the uploaded file 'bobs.csv' was deleted: pick a file for this node again")
    assert "alice" not in str(run)


def test_a_follower_of_a_deleted_upload_follows_its_known_name(world, run_now):
    """A node following the newest of a file, saved without the name it follows (upload_name empty), whose upload
    is deleted: the tombstone gives the name, so it reads the next newest of that name, or the refusal names the
    file, not the id. bob following alice's deleted id is told what he is told for an id nobody has."""
    first = upload(world.as_alice, world.a, V1)
    second = upload(world.as_alice, world.a, V2)
    assert world.as_alice.delete(f"/api/uploads/{second}/").status_code == 204
    follows = [node("read", "import_csv", upload=str(second), upload_version="newest")]
    run = run_of(world.as_alice, world.a, run_now, follows)
    assert run["status"] == "succeeded" and run["uploads"]["read"]["upload"] == first, run
    assert world.as_alice.delete(f"/api/uploads/{first}/?force=true").status_code == 204  # (the pipeline reads it)
    refused = run_of(world.as_alice, world.a, run_now, follows, name="again")
    assert refused["code"] == "upload_gone"
    assert "follows the newest version of 'people.csv', and no file of that name is left" in refused["message"]
    theirs = run_of(world.as_bob, world.b, run_now, [node("read", "import_csv", upload=str(second),
                                                          upload_version="newest")])
    nobodys = run_of(world.as_bob, world.b, run_now, [node("read", "import_csv", upload=str(10 ** 9),
                                                           upload_version="newest")], name="q")
    assert theirs["message"] == nobodys["message"].replace(str(10 ** 9), str(second))
    assert "people.csv" not in theirs["message"]

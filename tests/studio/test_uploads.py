"""Uploads as the Data page uses them: streamed to disk, previewed at upload time (first rows, sniffed delimiter,
column types, missing / distinct counts), renamed, refused past the size limit with a clear message, and out
of reach of another project's members."""
from __future__ import annotations

import io

import pandas as pd
import pytest

pytestmark = pytest.mark.django_db

# What a person exports from a spreadsheet: an unnamed row-number column, a yes/no label, a gap, ";" separators.
PEOPLE = (b";age;city;joined;churn\n0;30;Berlin;2024-01-05;yes\n1;41;Paris;2024-02-11;no\n"
          b"2;;Berlin;2024-03-20;no\n3;25;Rome;2024-04-02;yes\n")


def upload(client, project, name="people.csv", body=PEOPLE):
    handle = io.BytesIO(body)
    handle.name = name
    return client.post("/api/uploads/", {"project": project.pk, "file": handle}, format="multipart")


def test_upload_answers_with_its_preview(world, settings):
    response = upload(world.as_alice, world.a)
    assert response.status_code == 201, response.json()
    preview = response.json()["preview"]
    assert preview["kind"] == "csv" and preview["delimiter"] == ";"
    columns = {c["name"]: c for c in preview["columns"]}
    assert list(columns) == ["Unnamed: 0", "age", "city", "joined", "churn"]  # the names import_csv gives
    assert {name: c["type"] for name, c in columns.items()} == {
        "Unnamed: 0": "integer", "age": "number", "city": "string", "joined": "datetime", "churn": "string"}
    assert [(c["missing"], c["distinct"]) for c in columns.values()] == [(0, 4), (1, 3), (0, 3), (0, 4), (0, 2)]
    assert preview["rows"][0] == [0, 30.0, "Berlin", "2024-01-05", "yes"] and preview["rows"][2][1] is None
    assert preview["sampled_rows"] == 4
    # the preview is kept: the list and the preview endpoint answer it without reading the file again
    uploaded = response.json()
    (world.a.data_root / uploaded["path"]).write_bytes(b"changed")
    assert world.as_alice.get(f"/api/uploads/{uploaded['id']}/preview/").json() == preview
    assert world.as_alice.get("/api/uploads/").json()["results"][0]["preview"] == preview
    assert not list((settings.DATA_ROOT / "staging").iterdir())  # the staged file was moved, not copied


def test_the_preview_names_the_cells_that_make_a_number_column_text(world):
    # "3O" (a letter O) and "n/a" make import_csv read age as text; the preview says which cells, and where.
    # A real text column, and a column that is numbers only, carry no such note.
    ages = [str(20 + i) for i in range(30)]
    ages[4], ages[17] = "3O", "n/a"
    body = "age,city,score\n" + "".join(f"{a},{'xy'[i % 2]},{i}\n" for i, a in enumerate(ages))
    preview = upload(world.as_alice, world.a, "typo.csv", body.encode()).json()["preview"]
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["age"]["type"] == "string"
    assert columns["age"]["not_numbers"] == {
        "count": 2, "examples": [{"value": "3O", "line": 6}, {"value": "n/a", "line": 19}]}
    assert body.splitlines()[5].startswith("3O,") and body.splitlines()[18].startswith("n/a,")
    assert "not_numbers" not in columns["city"] and "not_numbers" not in columns["score"]
    # half numbers, half words is a text column, not a typo
    mixed = "code\n" + "".join(f"{i if i % 2 else 'A' + str(i)}\n" for i in range(20))
    mixed_preview = upload(world.as_alice, world.a, "mixed.csv", mixed.encode()).json()["preview"]
    assert "not_numbers" not in mixed_preview["columns"][0]


def test_the_preview_names_a_rare_category_that_looks_like_a_typo_of_a_common_one(world):
    # "premuim" once beside "premium": the model would take it for a plan of its own. Distinct categories (yes /
    # no, three cities), short codes and a column of free text carry no such note.
    plans = ["premium", "basic", "family"] * 20
    plans[18] = "premuim"  # one of the twenty premium rows
    body = "plan,city,renewed,code\n" + "".join(
        f"{p},{['Lyon', 'Paris', 'Nice'][i % 3]},{'yes' if i % 2 else 'no'},{'AB' if i % 5 else 'AC'}\n"
        for i, p in enumerate(plans))
    preview = upload(world.as_alice, world.a, "plans.csv", body.encode()).json()["preview"]
    columns = {c["name"]: c for c in preview["columns"]}
    assert columns["plan"]["look_alikes"] == {
        "count": 1, "examples": [{"value": "premuim", "rows": 1, "line": 20, "like": "premium", "like_rows": 19}]}
    assert body.splitlines()[19].startswith("premuim,")
    assert not any("look_alikes" in columns[c] for c in ("city", "renewed", "code"))
    free = "note\n" + "".join(f"note number {i}\n" for i in range(80))
    free_preview = upload(world.as_alice, world.a, "free.csv", free.encode()).json()["preview"]
    assert "look_alikes" not in free_preview["columns"][0]


def test_parquet_preview_and_a_file_that_does_not_parse(world, tmp_path):
    frame = pd.DataFrame({"x": [1.5, None, 2.5], "flag": [True, False, True]})
    frame.to_parquet(tmp_path / "t.parquet")
    response = upload(world.as_alice, world.a, "t.parquet", (tmp_path / "t.parquet").read_bytes())
    assert response.status_code == 201, response.json()
    preview = response.json()["preview"]
    assert preview["kind"] == "parquet" and "delimiter" not in preview
    assert [(c["name"], c["type"], c["missing"], c["distinct"]) for c in preview["columns"]] == [
        ("x", "number", 1, 2), ("flag", "boolean", 0, 2)]
    broken = upload(world.as_alice, world.a, "broken.parquet", b"PAR1" + b"\x01" * 100)
    assert broken.status_code == 400 and broken.json()["errors"][0]["path"] == "file"
    assert "broken.parquet" in broken.json()["message"] and "parquet" in broken.json()["message"]
    assert len(list(world.a.data_root.glob("uploads/*/*"))) == 1  # only the good one is stored


def test_a_file_past_the_limit_is_refused_while_it_streams(world, settings):
    # Content-Length passes the early check (limit + 64 KiB); the handler counts the bytes that arrive.
    settings.UPLOAD_MAX_BYTES = 1000
    response = upload(world.as_alice, world.a, body=b"a,b\n" + b"1,2\n" * 2000)
    assert response.status_code == 413, response.json()
    error = response.json()["errors"][0]
    assert error["path"] == "file" and "limit is 1,000 bytes" in error["message"]
    assert "STUDIO_UPLOAD_MAX_BYTES" in error["message"]
    assert not list(world.a.data_root.glob("uploads/*/*"))
    assert not list((settings.DATA_ROOT / "staging").iterdir())  # the partial file is gone


def test_rename(world):
    uploaded = upload(world.as_alice, world.a).json()
    url = f"/api/uploads/{uploaded['id']}/"
    renamed = world.as_alice.patch(url, {"name": "customers 2024.csv"}, format="json")
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["name"] == "customers 2024.csv" and renamed.json()["path"] == uploaded["path"]
    assert (world.a.data_root / uploaded["path"]).is_file()  # imports by path or id keep reading it
    for bad, why in (("../x.csv", "folders"), (".x.csv", "'.'"), ("", "blank"), ("x" * 201 + ".csv", "200 characters"),
                     ("x.parquet", "content")):
        response = world.as_alice.patch(url, {"name": bad}, format="json")
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["path"] == "name" and why in response.json()["message"], bad
    assert world.as_alice.get(url).json()["name"] == "customers 2024.csv"
    not_json = world.as_alice.generic("PATCH", url, b"name=x.csv", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415


def test_other_projects_members_cannot_reach_an_upload(world):
    uploaded = upload(world.as_alice, world.a).json()
    url = f"/api/uploads/{uploaded['id']}/"
    for response in (world.as_bob.get(f"{url}preview/"), world.as_bob.patch(url, {"name": "mine.csv"}, format="json"),
                     world.as_bob.delete(url)):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert upload(world.as_bob, world.a).status_code == 400  # no upload into a project that is not yours
    assert world.as_carol.get(f"{url}preview/").status_code == 200  # a viewer reads the preview...
    assert world.as_carol.patch(url, {"name": "x.csv"}, format="json").status_code == 403  # ...and renames nothing
    assert world.as_alice.get(url).json()["name"] == "people.csv"


def test_preview_is_remade_for_an_upload_without_one(world):
    from studio.datasets.models import Upload

    uploaded = upload(world.as_alice, world.a).json()
    Upload.objects.filter(pk=uploaded["id"]).update(preview={})
    again = world.as_alice.get(f"/api/uploads/{uploaded['id']}/preview/")
    assert again.status_code == 200 and again.json()["delimiter"] == ";" and len(again.json()["rows"]) == 4
    (world.a.data_root / uploaded["path"]).unlink()
    Upload.objects.filter(pk=uploaded["id"]).update(preview={})
    gone = world.as_alice.get(f"/api/uploads/{uploaded['id']}/preview/")
    assert gone.status_code == 409 and "gone" in gone.json()["message"]


def test_the_preview_reads_a_bounded_head(world, settings):
    from studio.datasets import preview

    settings.UPLOAD_MAX_BYTES = 50 * 1024 * 1024
    rows = b"".join(b"%d,%d\n" % (i, i % 7) for i in range(200_000))  # ~2 MB, more than 10,000 rows
    assert upload(world.as_alice, world.a, "many.csv", b"n,m\n" + rows).json()["preview"]["sampled_rows"] == 10_000
    long_line = b"a,b\n1," + b"x" * (preview.SAMPLE_BYTES + 10) + b"\n2,y\n"
    response = upload(world.as_alice, world.a, "wide.csv", long_line)
    # the first 8 MiB hold no complete row after the header: the preview has the columns, no rows, and the
    # web process never held the long line
    assert response.status_code == 201, response.json()
    shown = response.json()["preview"]
    assert [c["name"] for c in shown["columns"]] == ["a", "b"] and shown["sampled_rows"] == 0 and shown["rows"] == []


def test_the_same_file_dropped_again_is_the_upload_already_there_not_a_new_version(world, settings):
    from studio.datasets.models import Upload

    first = upload(world.as_alice, world.a)
    assert first.status_code == 201
    again = upload(world.as_alice, world.a)
    assert again.status_code == 200 and again.json() == first.json()  # the same upload, its preview included
    assert Upload.objects.filter(project=world.a).count() == 1
    assert len(list((world.a.data_root / "uploads").iterdir())) == 1  # no second folder
    assert not list((settings.DATA_ROOT / "staging").iterdir())  # the staged copy is dropped
    # another name, or other bytes, is another upload; the first bytes again after a change are a newer version
    assert upload(world.as_alice, world.a, name="copy.csv").status_code == 201
    changed = upload(world.as_alice, world.a, body=PEOPLE + b"4;52;Oslo;2024-05-09;no\n")
    back = upload(world.as_alice, world.a)
    assert changed.status_code == 201 and back.status_code == 201
    assert back.json()["id"] > changed.json()["id"] > first.json()["id"]
    # an upload whose file is gone is not taken for the one dropped again
    (world.a.data_root / back.json()["path"]).unlink()
    assert upload(world.as_alice, world.a).status_code == 201
    # bob's own project holds its own copy: the same bytes and name never answer with alice's upload
    bobs = upload(world.as_bob, world.b)
    assert bobs.status_code == 201 and bobs.json()["project"] == world.b.pk
    assert upload(world.as_bob, world.b).json()["id"] == bobs.json()["id"]
    assert upload(world.as_carol, world.a).status_code == 403  # a viewer uploads nothing, not even a same file

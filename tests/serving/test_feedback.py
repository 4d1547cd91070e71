"""Label feedback: POST /api/deployments/<name>/feedback/ stores one label per served (request id, row), a
repeated label replaces, unknown request ids are reported, CSV uploads do the same, and a plain account of
another project cannot reach any of it."""
from __future__ import annotations

import io

import numpy as np
import pytest

from .test_deployments import studio  # noqa: F401  (the fixture: alice owns A, carol views A, bob owns B)


def served(settings, name: str, requests: dict[str, int]):
    """Rows in the prediction log as the serving process writes them (its own writer): request id -> rows."""
    from studio.serving.predlog import PredictionLog

    log = PredictionLog(settings.SERVING_DIR / "prediction_log", flush_interval=3600)
    try:
        for request_id, n in requests.items():
            log.record(request_id, name, "1", {"age": np.arange(n, dtype=np.float64)}, n,
                       {"probability": np.full(n, 0.25), "label": np.zeros(n, dtype=np.int64)})
    finally:
        log.close()


@pytest.fixture
def credit(studio, settings):  # noqa: F811
    from studio.deployments.models import Deployment

    deployment = Deployment.objects.create(project=studio.a, name="credit", created_by=studio.alice)
    served(settings, "credit", {"req-1": 3, "req-2": 1})
    return deployment


def labels_of(deployment):
    return sorted(deployment.labels.values_list("request_id", "row", "label"))


def test_a_repeated_label_replaces_and_unknown_ids_are_reported(studio, credit):  # noqa: F811
    url = "/api/deployments/credit/feedback/"
    answer = studio.as_alice.post(url, {"labels": [{"request_id": "req-1", "row": 0, "label": 1},
                                                   {"request_id": "req-1", "row": 2, "label": 0},
                                                   {"request_id": "nope", "row": 0, "label": 1},
                                                   {"request_id": "req-2", "row": 5, "label": 1}]}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"stored": 2, "new": 2, "replaced": 0, "unknown_request_ids": ["nope"],
                             "unknown_rows": [{"request_id": "req-2", "row": 5}]}
    answer = studio.as_alice.post(url, {"labels": [{"request_id": "req-1", "row": 0, "label": 0},
                                                   {"request_id": "req-2", "row": 0, "label": 1}]}, format="json")
    assert answer.json() == {"stored": 2, "new": 1, "replaced": 1, "unknown_request_ids": [], "unknown_rows": []}
    assert labels_of(credit) == [("req-1", 0, 0), ("req-1", 2, 0), ("req-2", 0, 1)]


def test_a_csv_upload_stores_the_same_way(studio, credit):  # noqa: F811
    csv = io.BytesIO(b"request_id,row,label\nreq-1,1,1\nreq-1,1,0\nghost,0,1\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"file": csv}, format="multipart")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["stored"] == 1 and answer.json()["unknown_request_ids"] == ["ghost"]
    assert labels_of(credit) == [("req-1", 1, 0)]  # the later line of the file wins
    bad = io.BytesIO(b"request_id,outcome\nreq-1,1\n")
    bad.name = "bad.csv"
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"file": bad}, format="multipart")
    assert answer.status_code == 400 and "label" in answer.json()["message"]


def test_a_formula_like_request_id_comes_back_from_the_labels_template(studio, settings):  # noqa: F811
    """A request id is whatever the model's client sent: the Served requests panel's labels CSV writes one a
    spreadsheet would run as a formula (=HYPERLINK(...), +1, -2, @SUM) with a leading ' (frontend loop.ts); the
    upload takes it off, so the label lands on the served row (before: 'unknown request id')."""
    from studio.deployments.models import Deployment

    deployment = Deployment.objects.create(project=studio.a, name="formulas", created_by=studio.alice)
    served(settings, "formulas", {'=HYPERLINK("http://evil.example/","x")': 1, "-2": 1, "'plain": 1})
    csv = io.BytesIO(b'request_id,row,label\n"\'=HYPERLINK(""http://evil.example/"",""x"")",0,1\n\'-2,0,0\n'
                     b"'plain,0,1\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post("/api/deployments/formulas/feedback/", {"file": csv}, format="multipart")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["unknown_request_ids"] == [] and answer.json()["stored"] == 3
    assert labels_of(deployment) == [("'plain", 0, 1), ("-2", 0, 0), ('=HYPERLINK("http://evil.example/","x")', 0, 1)]


@pytest.mark.parametrize("labels, path", [
    ([{"request_id": "req-1", "row": 0, "label": 2}], "labels[0].label"),
    ([{"request_id": "req-1", "row": 0, "label": "1"}], "labels[0].label"),
    ([{"request_id": "req-1", "row": -1, "label": 1}], "labels[0].row"),
    ([{"request_id": "x" * 101, "row": 0, "label": 1}], "labels[0].request_id"),
    ([{"request_id": "req-1", "label": 1, "secret": 1}], "labels[0].secret"),
    ([{"request_id": "req-1", "row": 0, "label": 1}] * 10_001, "labels"),
    ("all of them", "labels"),
    ([], "labels"),
])
def test_bad_labels_name_the_field(studio, credit, labels, path):  # noqa: F811
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"labels": labels}, format="json")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["errors"][0]["path"] == path
    assert labels_of(credit) == []


def test_another_project_and_a_viewer_cannot_post_labels(studio, credit, settings):  # noqa: F811
    from studio.deployments.models import Deployment

    body = {"labels": [{"request_id": "req-1", "row": 0, "label": 1}]}
    answer = studio.as_bob.post("/api/deployments/credit/feedback/", body, format="json")
    assert answer.status_code == 404 and "no deployment 'credit'" in answer.json()["message"]
    assert studio.as_carol.post("/api/deployments/credit/feedback/", body, format="json").status_code == 403
    # bob's own deployment cannot reach alice's served rows either: they are not in its log
    Deployment.objects.create(project=studio.b, name="bobs", created_by=None)
    answer = studio.as_bob.post("/api/deployments/bobs/feedback/", body, format="json")
    assert answer.status_code == 200 and answer.json()["unknown_request_ids"] == ["req-1"]
    for name in ("..", "credit%2F..", "%2e%2e"):
        assert studio.as_bob.post(f"/api/deployments/{name}/feedback/", body, format="json").status_code == 404
    assert labels_of(credit) == []


def test_a_run_of_another_project_cannot_read_the_log_or_write_decisions(studio, credit):  # noqa: F811
    from types import SimpleNamespace

    from studio.deployments.models import Decision
    from studio.deployments.services import decision_recorder_for, prediction_logs_for

    of_b, of_a = SimpleNamespace(project=studio.b), SimpleNamespace(project=studio.a)
    assert prediction_logs_for(of_b)("credit") is None  # ctx.prediction_log then fails with "no deployment"
    found = prediction_logs_for(of_a)("credit")
    assert found is not None and found["labels"]().empty
    decision_recorder_for(SimpleNamespace(project=studio.b, pk=None))(
        node="n", deployment="credit", decision={"metric": "auc", "champion_score": 0.5, "challenger_score": 0.9,
                                                 "margin": 0.0, "published": False, "reason": "x", "rows": 1})
    assert not Decision.objects.exists()


@pytest.fixture
def churn(studio, settings):  # noqa: F811
    """A deployment whose live version answers "yes" / "no" (its bundle's classes, as publish stores the manifest)
    and served rows in its log."""
    from studio.deployments.models import Deployment, DeploymentVersion

    deployment = Deployment.objects.create(project=studio.a, name="churn", created_by=studio.alice)
    version = DeploymentVersion.objects.create(deployment=deployment, number=1, bundle="unused",
                                               manifest={"classes": ["no", "yes"]})
    deployment.live_version = version
    deployment.save()
    served(settings, "churn", {"req-1": 4})
    return deployment


def test_a_run_reads_the_log_with_the_deployments_label_values(studio, churn):  # noqa: F811
    """What import_prediction_log gets from the studio: the live version's classes, which turn the stored 0 / 1
    back into "no" / "yes"; another project's run gets nothing."""
    from types import SimpleNamespace

    from studio.deployments.services import prediction_logs_for

    found = prediction_logs_for(SimpleNamespace(project=studio.a))("churn")
    assert found["classes"] == ["no", "yes"]
    assert prediction_logs_for(SimpleNamespace(project=studio.b))("churn") is None


def test_labels_in_the_deployments_own_values_are_stored_as_0_1(studio, churn):  # noqa: F811
    url = "/api/deployments/churn/feedback/"
    answer = studio.as_alice.post(url, {"labels": [{"request_id": "req-1", "row": 0, "label": "yes"},
                                                   {"request_id": "req-1", "row": 1, "label": "no"},
                                                   {"request_id": "req-1", "row": 2, "label": "Yes"},
                                                   {"request_id": "req-1", "row": 3, "label": 0}]}, format="json")
    assert answer.status_code == 200, answer.json()
    assert labels_of(churn) == [("req-1", 0, 1), ("req-1", 1, 0), ("req-1", 2, 1), ("req-1", 3, 0)]
    csv = io.BytesIO(b"request_id,row,label\nreq-1,0,no\nreq-1,1,yes\nreq-1,2,1\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post(url, {"file": csv}, format="multipart")
    assert answer.status_code == 200 and answer.json()["replaced"] == 3, answer.json()
    assert labels_of(churn) == [("req-1", 0, 0), ("req-1", 1, 1), ("req-1", 2, 1), ("req-1", 3, 0)]


@pytest.mark.parametrize("label", ["maybe", 2, "", None, ["yes"]])
def test_a_label_of_neither_kind_names_the_field_and_the_values(studio, churn, label):  # noqa: F811
    answer = studio.as_alice.post("/api/deployments/churn/feedback/", {"labels": [
        {"request_id": "req-1", "row": 0, "label": "yes"}, {"request_id": "req-1", "row": 1, "label": label}]},
        format="json")
    assert answer.status_code == 400, answer.json()
    error = answer.json()["errors"][0]
    assert error["path"] == "labels[1].label" and "'no' or 'yes' (the deployment's labels) or 0 / 1" in \
        error["message"]
    assert labels_of(churn) == []
    csv = io.BytesIO(b"request_id,row,label\nreq-1,0,yes\nreq-1,1,maybe\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post("/api/deployments/churn/feedback/", {"file": csv}, format="multipart")
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "file"
    assert "line 3: label" in answer.json()["message"] and "'maybe'" in answer.json()["message"]


def test_bob_cannot_post_words_to_alices_deployment(studio, churn):  # noqa: F811
    body = {"labels": [{"request_id": "req-1", "row": 0, "label": "yes"}]}
    answer = studio.as_bob.post("/api/deployments/churn/feedback/", body, format="json")
    assert answer.status_code == 404 and "no deployment 'churn'" in answer.json()["message"]
    assert studio.as_carol.post("/api/deployments/churn/feedback/", body, format="json").status_code == 403
    assert labels_of(churn) == []


def test_the_deployment_page_lists_the_served_requests_a_labels_file_names(studio, churn, settings):  # noqa: F811
    """The feedback loop: labels name a served request by its id, which the page did not show. The last requests
    the log kept, newest first, with their rows and answers in the deployment's own label values."""
    served(settings, "churn", {"req-2": 1, "req-3": 7})
    answer = studio.as_carol.get(f"/api/deployments/{churn.pk}/served/")  # a viewer of the project reads it
    assert answer.status_code == 200, answer.json()
    requests = answer.json()["requests"]
    assert {r["request_id"]: r["rows"] for r in requests} == {"req-1": 4, "req-2": 1, "req-3": 7}
    assert requests[0]["request_id"] == "req-3" and requests[0]["version"] == "1" and requests[0]["time"]
    assert [a["row"] for a in requests[0]["answers"]] == [0, 1, 2, 3, 4]  # the first rows
    assert requests[0]["answers"][0] == {"row": 0, "label": "no", "probability": 0.25}
    assert answer.json()["log_share"] == 1.0
    assert [r["request_id"] for r in studio.as_alice.get(f"/api/deployments/{churn.pk}/served/?limit=1")
            .json()["requests"]] == ["req-3"]
    for bad in ("0", "101", "x"):
        refused = studio.as_alice.get(f"/api/deployments/{churn.pk}/served/?limit={bad}")
        assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "limit"
    assert studio.as_bob.get(f"/api/deployments/{churn.pk}/served/").status_code == 404


def test_the_labels_template_uploaded_part_filled_stores_the_filled_lines(studio, credit):  # noqa: F811
    """The deployment page's labels CSV lists every served row with an empty label; an analyst fills in the rows
    they know. Its blank lines were refused as bad labels ("line 3: label ..."), so the whole file was."""
    csv = io.BytesIO(b"request_id,row,label\nreq-1,0,1\nreq-1,1,\nreq-1,2,0\nreq-2,0,\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"file": csv}, format="multipart")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["stored"] == 2 and answer.json()["blank_labels"] == 2
    assert labels_of(credit) == [("req-1", 0, 1), ("req-1", 2, 0)]


def test_a_labels_csv_with_no_label_filled_in_says_so_naming_the_file(studio, credit):  # noqa: F811
    for body in (b"request_id,row,label\n", b"request_id,row,label\nreq-1,0,\nreq-1,1,\n"):
        csv = io.BytesIO(body)
        csv.name = "labels.csv"
        answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"file": csv}, format="multipart")
        assert answer.status_code == 400, answer.json()
        error = answer.json()["errors"][0]
        assert error["path"] == "file", error  # was "labels": "expected a non-empty list of {request_id, row, label}"
        assert "no line of the file has a label" in error["message"]
    assert labels_of(credit) == []


def test_a_bad_label_after_blank_lines_names_its_own_line(studio, credit):  # noqa: F811
    csv = io.BytesIO(b"request_id,row,label\nreq-1,0,\nreq-1,1,\nreq-1,2,maybe\n")
    csv.name = "labels.csv"
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"file": csv}, format="multipart")
    assert answer.status_code == 400 and "line 4: label" in answer.json()["message"], answer.json()


@pytest.fixture
def renewals(studio, settings):  # noqa: F811
    """A deployment trained on the label column "renewed" (its manifest's target, as publish stores it)."""
    from studio.deployments.models import Deployment, DeploymentVersion

    deployment = Deployment.objects.create(project=studio.a, name="renewals", created_by=studio.alice)
    version = DeploymentVersion.objects.create(deployment=deployment, number=1, bundle="unused",
                                               manifest={"classes": ["no", "yes"], "target": "renewed"})
    deployment.live_version = version
    deployment.save()
    served(settings, "renewals", {"req-1": 3})
    return deployment


def upload(studio, name: str, body: bytes):  # noqa: F811
    csv = io.BytesIO(body)
    csv.name = "labels.csv"
    return studio.as_alice.post(f"/api/deployments/{name}/feedback/", {"file": csv}, format="multipart")


def test_a_labels_csv_may_name_its_label_column_after_the_target(studio, renewals):  # noqa: F811
    answer = upload(studio, "renewals", b"request_id,row,renewed\nreq-1,0,yes\nreq-1,1,no\nreq-1,2,\n")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["stored"] == 2 and answer.json()["blank_labels"] == 1
    assert labels_of(renewals) == [("req-1", 0, 1), ("req-1", 1, 0)]
    answer = upload(studio, "renewals", b"request_id,row,label\nreq-1,2,yes\n")  # "label" still works
    assert answer.status_code == 200 and labels_of(renewals)[-1] == ("req-1", 2, 1), answer.json()


def test_a_labels_csv_with_both_label_and_target_columns_is_ambiguous(studio, renewals):  # noqa: F811
    answer = upload(studio, "renewals", b"request_id,row,label,renewed\nreq-1,0,yes,no\n")
    assert answer.status_code == 400, answer.json()
    assert answer.json()["errors"][0]["path"] == "file"
    message = answer.json()["errors"][0]["message"]
    assert "label" in message and "'renewed'" in message and "both" in message
    assert not labels_of(renewals)


def test_a_labels_csv_of_neither_column_names_the_target_it_may_use(studio, renewals):  # noqa: F811
    answer = upload(studio, "renewals", b"request_id,row,outcome\nreq-1,0,yes\n")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == (
        "the CSV needs the columns request_id and label (or renewed, the deployment's target), and optionally row "
        "(the row's position in its request, 0 when absent); it lacks label")


def test_a_labels_csv_without_request_id_says_row_is_optional(studio, credit):  # noqa: F811
    """The message listed "request_id, row and label" as needed, though a file without row is read (row 0)."""
    answer = upload(studio, "credit", b"label\n1\n")
    assert answer.status_code == 400
    message = answer.json()["errors"][0]["message"]
    assert message.startswith("the CSV needs the columns request_id and label, and optionally row"), message
    assert message.endswith("it lacks request_id")
    answer = upload(studio, "credit", b"request_id,label\nreq-2,1\n")
    assert answer.status_code == 200 and labels_of(credit) == [("req-2", 0, 1)], answer.json()


@pytest.mark.parametrize("body", [b"", b"\n\n", b"  \r\n", "\ufeff".encode()], ids=["no-bytes", "blank-lines",
                                                                                      "spaces", "bom-only"])
def test_an_empty_labels_csv_says_the_file_is_empty(studio, credit, body):  # noqa: F811
    """An empty file was told it lacked the columns label and request_id, as if it had the wrong header."""
    answer = upload(studio, "credit", body)
    assert answer.status_code == 400, answer.json()
    error = answer.json()["errors"][0]
    assert error["path"] == "file", error
    assert error["message"].startswith("the file is empty: a labels CSV has a header line naming its columns, "
                                       "request_id and label"), error
    assert labels_of(credit) == []


def test_a_bundle_published_before_manifests_named_the_target_gives_it_from_its_feature_state(
        studio, settings, tmp_path):  # noqa: F811
    import json

    from studio.deployments.models import Deployment, DeploymentVersion

    (tmp_path / "feature_state").mkdir()
    (tmp_path / "feature_state" / "fitted.json").write_text(json.dumps({"kind": "features",
                                                                         "state": {"label": "renewed"}}))
    deployment = Deployment.objects.create(project=studio.a, name="older", created_by=studio.alice)
    version = DeploymentVersion.objects.create(deployment=deployment, number=1, bundle=str(tmp_path),
                                               manifest={"classes": ["no", "yes"]})
    deployment.live_version = version
    deployment.save()
    served(settings, "older", {"req-1": 1})
    answer = upload(studio, "older", b"request_id,row,renewed\nreq-1,0,yes\n")
    assert answer.status_code == 200, answer.json()
    assert labels_of(deployment) == [("req-1", 0, 1)]


@pytest.mark.parametrize("body, line, says", [
    (b"request_id,row,renewed\nreq-1,0," + b"y" * 200_000 + b"\n", 2, "a cell of more than 131,072 characters"),
    (b"request_id,row,renewed\nreq-1,0,yes\nreq-1,1," + b"r" * 200_000 + b"\n", 3, "a cell of more than"),
    (b'request_id,row,renewed\n"req-1,0,yes\n', 2, "unexpected end of data"),  # a quote never closed
    (b'request_id,row,renewed\nreq-1,0,"yes"no\n', 2, "cannot be read"),
], ids=["long-cell", "long-cell-line-3", "open-quote", "text-after-quote"])
def test_a_labels_csv_the_csv_module_cannot_read_is_400_naming_its_line(studio, renewals, body, line, says):  # noqa: F811
    """A cell over the csv module's field limit answered 500 (_csv.Error escaped); an unclosed quote swallowed the
    rest of the file and was reported as 'no line has a label'."""
    answer = upload(studio, "renewals", body)
    assert answer.status_code == 400, answer.content[:200]
    message = answer.json()["errors"][0]["message"]
    assert answer.json()["errors"][0]["path"] == "file" and message.startswith(f"line {line}: ") and says in message
    assert not labels_of(renewals)


def test_a_labels_csv_with_old_mac_line_ends_is_read(studio, renewals):  # noqa: F811
    """Lines ended by a carriage return alone (a spreadsheet's "CSV (Macintosh)") answered 500."""
    answer = upload(studio, "renewals", b"request_id,row,renewed\rreq-1,0,yes\rreq-1,1,\"no\"\r")
    assert answer.status_code == 200, answer.content[:200]
    assert labels_of(renewals) == [("req-1", 0, 1), ("req-1", 1, 0)]


def test_a_nul_character_in_labels_is_400_naming_where(studio, renewals):  # noqa: F811
    """PostgreSQL's text refuses NUL: the feedback view parsed JSON with DRF's own parser, not the API's, so a NUL
    request id went through (as did NaN and a body nested past the API's depth); a CSV's NUL likewise."""
    answer = upload(studio, "renewals", b"request_id,row,renewed\nreq-1,0,yes\nreq-1\x00,1,no\n")
    assert answer.status_code == 400 and answer.json()["errors"][0]["message"].startswith("line 3 holds a NUL")
    url = "/api/deployments/renewals/feedback/"
    answer = studio.as_alice.post(url, {"labels": [{"request_id": "req-1\x00", "row": 0, "label": 1}]},
                                  format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "labels[0].request_id"
    deep = '{"labels": [{"request_id": "req-1", "row": 0, "label": ' + "[" * 100_000 + "]" * 100_000 + "}]}"
    answer = studio.as_alice.post(url, deep, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "too_deep"
    answer = studio.as_alice.post(url, '{"labels": [{"request_id": "req-1", "row": NaN, "label": 1}]}',
                                  content_type="application/json")
    assert answer.status_code == 400
    assert not labels_of(renewals)


def test_a_labels_csv_naming_a_column_twice_is_refused(studio, renewals):  # noqa: F811
    """Two renewed columns: the later one was taken silently (the row labelled "no", where the first said "yes")."""
    answer = upload(studio, "renewals", b"request_id,renewed,row,renewed\nreq-1,yes,0,no\n")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["message"] == "line 1: the column 'renewed' is named twice in the header"
    assert not labels_of(renewals)


@pytest.mark.parametrize("body, says", [
    ("request_id,row,renewed\nreq-1,0,yes\n".encode("utf-16"), "not UTF-8"),
    ("request_id,row,renewed\nreq-1,0,s\xed\n".encode("latin-1"), "not UTF-8"),
    (b"request_id,row,renewed\nreq-1,0,=1+1\n", "line 2: label: expected 'no' or 'yes'"),
    ("request_id,row,renewed\nreq-1,\u00b2,yes\n".encode(), "line 2: row must be a whole number"),
    (b"request_id,row,renewed\nreq-1," + b"9" * 5000 + b",yes\n", "line 2: row must be a whole number"),
    (b"request_id,row,renewed\n" + b"req-1,0,yes\n" * 10_001, "more than 10,000 labels"),
    (b"request_id,row,renewed\nreq-1,0,yes\n" + b"#" * (2 * 1024 * 1024), "the limit is 2,097,152"),
], ids=["utf-16", "latin-1", "formula-label", "superscript-row", "5000-digit-row", "10001-lines", "over-2-MB"])
def test_labels_csvs_already_refused_naming_the_file(studio, renewals, body, says):  # noqa: F811
    """Probes of the second account that were already refused with a 400 naming the file (kept as tests)."""
    answer = upload(studio, "renewals", body)
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "file"
    assert says in answer.json()["errors"][0]["message"], answer.json()
    assert not labels_of(renewals)


@pytest.mark.parametrize("body, says", [
    (b"request_id,row,renewed\nreq-1,0,yes\nreq-1,99999999999999999999,yes\n",
     "line 3: row: expected the row's position in its request (0, 1, ...)"),
    (b"request_id,row,renewed\nreq-1,-1,yes\n", "line 2: row: expected the row's position in its request"),
    (b"request_id,row,renewed\nreq-1,0,yes\n,0,no\n", "line 3: request_id: expected the id a prediction answered"),
    (b"request_id,row,renewed\n" + b"r" * 300 + b",0,yes\n", "line 2: request_id: expected the id"),
], ids=["huge-row", "negative-row", "empty-request-id", "long-request-id"])
def test_a_labels_csvs_bad_row_or_request_id_names_the_file_and_its_line(studio, renewals, body, says):  # noqa: F811
    """A labels file with a row number out of range or an empty request id was refused at "labels[1].row": a path
    of the JSON body, which a person who uploaded a file never wrote, so the page showed the message with no line."""
    answer = upload(studio, "renewals", body)
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "file", answer.json()
    assert answer.json()["errors"][0]["message"].startswith(says), answer.json()
    assert not labels_of(renewals)


def test_a_deleted_deployments_served_rows_never_reach_the_next_deployment_of_its_name(
        studio, credit, django_capture_on_commit_callbacks):  # noqa: F811
    """The prediction log is kept by deployment name, and names are freed when a project is deleted: bob's new
    deployment "credit" listed alice's served requests (their ids and answers), could label them, and a pipeline of
    his could import her logged input rows. Deleting a deployment now deletes its log (live and shadow rows)."""
    from studio.deployments.models import Deployment

    from studio.deployments.feedback import prediction_log_dir
    from studio.serving.predlog import SHADOW_DIR

    assert studio.as_alice.get(f"/api/deployments/{credit.pk}/served/").json()["requests"]  # her rows are logged
    shadow = prediction_log_dir() / SHADOW_DIR / "credit"
    shadow.mkdir(parents=True)
    (shadow / "rows.parquet").write_bytes(b"her shadow rows")
    with django_capture_on_commit_callbacks(execute=True):
        gone = studio.as_alice.delete(f"/api/projects/{studio.a.pk}/?force=true")
    assert gone.status_code == 204, gone.content[:200]
    bobs = Deployment.objects.create(project=studio.b, name="credit", created_by=None)  # the name is free again
    assert studio.as_bob.get(f"/api/deployments/{bobs.pk}/served/").json()["requests"] == []
    assert not shadow.exists()
    body = {"labels": [{"request_id": "req-1", "row": 0, "label": 1}]}
    answer = studio.as_bob.post("/api/deployments/credit/feedback/", body, format="json")
    assert answer.status_code == 200 and answer.json()["unknown_request_ids"] == ["req-1"]


def test_a_new_deployment_starts_with_no_served_rows_of_its_name(studio, settings):  # noqa: F811
    """Rows a deployment of the same name left in the log (deleted before deletions took its log with them, or
    flushed by the serving process just after) are not the new deployment's: publishing a new name clears them."""
    from .test_deployments import finished_run

    served(settings, "credit", {"someone-elses": 2})  # no deployment "credit" exists
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json")
    assert body.status_code == 201, body.content[:200]
    assert studio.as_alice.get(f"/api/deployments/{body.json()['id']}/served/").json()["requests"] == []


def test_rows_the_serving_process_flushes_just_after_a_new_deployment_began_are_not_its_rows(studio, settings):  # noqa: F811
    """The race the clearing above leaves: the serving process holds a deleted deployment's rows for up to a flush
    interval and writes them after the new deployment of its name cleared the folder. They were served before it
    began, so no reader returns them (listed requests, labels accepted for them, drift); rows it serves do."""
    from studio.serving.predlog import PredictionLog

    from .test_deployments import finished_run

    log = PredictionLog(settings.SERVING_DIR / "prediction_log", flush_interval=3600)
    log.record("someone-elses", "credit", "1", {"age": np.arange(3, dtype=np.float64)}, 3,
               {"probability": np.full(3, 0.25), "label": np.zeros(3, dtype=np.int64)})
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json")
    assert body.status_code == 201, body.content[:200]
    log.close()  # the late flush, into the folder the publish cleared
    deployment = f"/api/deployments/{body.json()['id']}"
    assert studio.as_alice.get(f"{deployment}/served/").json()["requests"] == []
    assert studio.as_alice.get(f"{deployment}/drift/?days=1").json()["rows"] == 0
    answer = studio.as_alice.post("/api/deployments/credit/feedback/",
                                  {"labels": [{"request_id": "someone-elses", "row": 0, "label": 1}]}, format="json")
    assert answer.status_code == 200 and answer.json()["unknown_request_ids"] == ["someone-elses"]
    served(settings, "credit", {"hers": 2})  # served after it began: listed
    assert [r["request_id"] for r in studio.as_alice.get(f"{deployment}/served/").json()["requests"]] == ["hers"]


def test_the_deployment_says_which_target_a_labels_csv_may_name_its_label_column_after(studio, renewals):  # noqa: F811
    """The Feedback section's file field says "label or renewed": the page reads the target from the deployment."""
    assert studio.as_alice.get(f"/api/deployments/{renewals.pk}/").json()["target"] == "renewed"

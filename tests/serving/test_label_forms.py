"""Labels across versions of different label forms: a label is kept 0 / 1 against the classes of the version that
served its row (FeedbackLabel.version), so versions answering 0 / 1, "no" / "yes", or "yes" / "no" with "no"
positive each read their rows in their own words; a version whose positive class is the other value can go live
while labels are stored; the monitoring page compares live and shadow, and pools live AUC, in one form; labels
stored before versions were kept are migrated to the version that served them without changing what they read
as. A plain account of another project reaches none of it."""
from __future__ import annotations

import numpy as np
import pytest

from .test_deployments import studio  # noqa: F401  (the fixture: alice owns A, carol views A, bob owns B)


def log_rows(settings, name: str, version: str, requests: dict[str, tuple], shadow: bool = False):
    """Rows in the prediction log as the serving process writes them: request id -> (probabilities, labels)."""
    from studio.serving.predlog import PredictionLog

    log = PredictionLog(settings.SERVING_DIR / "prediction_log", flush_interval=3600)
    try:
        for request_id, (probability, label) in requests.items():
            n = len(probability)
            log.record(request_id, name, version, {"age": np.arange(n, dtype=np.float64)}, n,
                       {"probability": np.asarray(probability, dtype=np.float64), "label": np.asarray(label)},
                       shadow=shadow)
    finally:
        log.close()


def deployment_with(studio, name: str, classes: dict[int, list | None], live: int):  # noqa: F811
    """A deployment of project A with versions of these classes (None: a bundle without class values)."""
    from studio.deployments.models import Deployment, DeploymentVersion

    deployment = Deployment.objects.create(project=studio.a, name=name, created_by=studio.alice)
    for number, pair in classes.items():
        DeploymentVersion.objects.create(deployment=deployment, number=number, bundle="unused",
                                         manifest={} if pair is None else {"classes": pair})
    deployment.live_version = deployment.versions.get(number=live)
    deployment.save()
    return deployment


def read_back(studio, name: str) -> dict:  # noqa: F811
    """What import_prediction_log makes of the stored labels: (request id, row) -> the label in the deployment's
    values, through the studio's resolver as a run of project A gets it."""
    from types import SimpleNamespace

    from operators.library.feedback import label_values
    from studio.deployments.services import prediction_logs_for

    found = prediction_logs_for(SimpleNamespace(project=studio.a))(name)
    labels = label_values(found["labels"](), found["classes"], found["version_classes"])
    return {(r, n): label for r, n, label in labels[["request_id", "row", "label"]].itertuples(index=False)}


def post(client, name: str, labels: list[tuple]):
    return client.post(f"/api/deployments/{name}/feedback/", {"labels": [
        {"request_id": r, "row": n, "label": label} for r, n, label in labels]}, format="json")


def stored(deployment):
    return sorted(deployment.labels.values_list("request_id", "row", "label", "version"))


def flipped_model(tmp_path):
    """A real LR trained on a "yes" / "no" label with feature_extraction's positive set to "no": its classes are
    ["yes", "no"], the other way round from a version that calls "yes" positive."""
    import pipelines
    from operators.library.sample_data import credit_default_table

    table = credit_default_table(400, seed=3)
    table["churned"] = np.where(table.pop("default") == 1, "yes", "no")
    table.to_csv(tmp_path / "flipped.csv", index=False)
    result = pipelines.run({"format": "studio.pipeline/1", "name": "flipped", "nodes": [
        {"id": "data", "operator": "import_csv", "params": {"path": "flipped.csv"}},
        {"id": "features", "operator": "feature_extraction", "params": {
            "label": "churned", "positive": "no", "exclude": ["customer_id", "application_date"]}},
        {"id": "lr", "operator": "train_lr", "params": {}},
    ], "edges": [
        {"source": "data", "source_port": "table", "target": "features", "target_port": "table"},
        {"source": "features", "source_port": "features", "target": "lr", "target_port": "features"},
    ]}, store_root=tmp_path / "store", data_root=tmp_path)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    return result.output("lr", "model"), result.output("features", "feature_state"), table.head(40)


def test_a_flipped_version_goes_live_and_every_label_keeps_its_value(studio, settings):  # noqa: F811
    """v1 answers "no" / "yes" ("yes" positive); labels arrive for its rows; v2, trained with "no" positive, is
    published (it was refused while labels were stored) and serves rows whose labels arrive in words too. Each
    label is kept against its row's version, and all read back as the words they were posted as."""
    from studio.deployments.services import publish

    deployment = deployment_with(studio, "churn", {1: ["no", "yes"]}, live=1)
    log_rows(settings, "churn", "1", {"req-1": ([0.9, 0.2, 0.7], ["yes", "no", "yes"])})
    answer = post(studio.as_alice, "churn", [("req-1", 0, "yes"), ("req-1", 1, "no"), ("req-1", 2, 0)])
    assert answer.status_code == 200 and answer.json()["stored"] == 3, answer.json()

    model, state, holdout = flipped_model(studio.tmp)
    version = publish(project=studio.a, name="churn", model=model, feature_state=state, holdout=holdout,
                      user=studio.alice)
    deployment.refresh_from_db()
    assert version.number == 2 and deployment.live_version.number == 2
    assert deployment.live_version.manifest["classes"] == ["yes", "no"]

    log_rows(settings, "churn", "2", {"req-2": ([0.1, 0.8], ["yes", "no"])})  # v2's probability: of "no"
    answer = post(studio.as_alice, "churn", [("req-2", 0, "yes"), ("req-2", 1, 1)])  # 1: v2's positive, "no"
    assert answer.status_code == 200 and answer.json()["stored"] == 2, answer.json()
    assert stored(deployment) == [("req-1", 0, 1, 1), ("req-1", 1, 0, 1), ("req-1", 2, 0, 1),
                                  ("req-2", 0, 0, 2), ("req-2", 1, 1, 2)]
    assert read_back(studio, "churn") == {("req-1", 0): "yes", ("req-1", 1): "no", ("req-1", 2): "no",
                                          ("req-2", 0): "yes", ("req-2", 1): "no"}


def test_a_0_1_version_then_a_worded_one_read_each_row_through_its_own_version(studio, settings):  # noqa: F811
    """v1 (a bundle without class values) answered 0 / 1; v2 answers "no" / "yes". A label for a v1 row may come
    as 0 / 1 or in the deployment's words; one for a v2 row in its words or 0 / 1; a word no version knows is a 400
    naming the label and nothing is stored; all read back in the deployment's words."""
    deployment = deployment_with(studio, "upgraded", {1: None, 2: ["no", "yes"]}, live=2)
    log_rows(settings, "upgraded", "1", {"old": ([0.9, 0.1, 0.8], [1, 0, 1])})
    log_rows(settings, "upgraded", "2", {"new": ([0.9, 0.1], ["yes", "no"])})
    answer = post(studio.as_alice, "upgraded", [("old", 0, 1), ("old", 1, "no"), ("old", 2, "yes"),
                                                ("new", 0, "yes"), ("new", 1, 0)])
    assert answer.status_code == 200 and answer.json()["stored"] == 5, answer.json()
    assert stored(deployment) == [("new", 0, 1, 2), ("new", 1, 0, 2), ("old", 0, 1, 1), ("old", 1, 0, 1),
                                  ("old", 2, 1, 1)]
    assert read_back(studio, "upgraded") == {("old", 0): "yes", ("old", 1): "no", ("old", 2): "yes",
                                             ("new", 0): "yes", ("new", 1): "no"}
    answer = post(studio.as_alice, "upgraded", [("old", 0, 0), ("new", 0, "maybe")])
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "labels[1].label"
    assert stored(deployment)[2] == ("old", 0, 1, 1)  # the call stored nothing


def test_a_label_of_another_versions_words_is_refused_for_a_row_it_did_not_serve(studio, settings):  # noqa: F811
    """v1 answered "stayed" / "churned", v2 (live) answers "no" / "yes": "churned" is a label for v1's rows, not
    v2's, and the error says which version served the row."""
    deployment = deployment_with(studio, "renamed", {1: ["stayed", "churned"], 2: ["no", "yes"]}, live=2)
    log_rows(settings, "renamed", "1", {"old": ([0.9], ["churned"])})
    log_rows(settings, "renamed", "2", {"new": ([0.9], ["yes"])})
    assert post(studio.as_alice, "renamed", [("old", 0, "churned")]).status_code == 200
    answer = post(studio.as_alice, "renamed", [("new", 0, "churned")])
    assert answer.status_code == 400, answer.json()
    error = answer.json()["errors"][0]
    assert error["path"] == "labels[0].label" and "served by version 2" in error["message"]
    assert stored(deployment) == [("old", 0, 1, 1)]
    assert read_back(studio, "renamed") == {("old", 0): "yes"}  # v1's positive, in the live words


def test_bob_cannot_post_or_read_labels_of_alices_versions(studio, settings):  # noqa: F811
    from types import SimpleNamespace

    from studio.deployments.services import prediction_logs_for

    deployment = deployment_with(studio, "churn", {1: ["no", "yes"], 2: ["yes", "no"]}, live=2)
    log_rows(settings, "churn", "1", {"req-1": ([0.9], ["yes"])})
    assert post(studio.as_bob, "churn", [("req-1", 0, "yes")]).status_code == 404
    assert post(studio.as_carol, "churn", [("req-1", 0, "yes")]).status_code == 403
    assert prediction_logs_for(SimpleNamespace(project=studio.b))("churn") is None
    assert stored(deployment) == []
    page = f"/api/deployments/{deployment.pk}/"
    for path in ("monitoring/", "shadow-comparison/"):
        assert studio.as_bob.get(page + path).status_code == 404


def test_shadow_comparison_compares_0_with_no_in_one_form(studio, settings):  # noqa: F811
    """The live v1 answers 0 / 1, its shadow v2 "no" / "yes": where v1 said 0 and v2 "no" they agree. The live v3
    calls "yes" positive, its shadow v4 "no": the same words and each other's probabilities read as no
    difference."""
    p = np.array([0.9, 0.2, 0.7, 0.4])
    upgraded = deployment_with(studio, "upgraded", {1: None, 2: ["no", "yes"]}, live=1)
    log_rows(settings, "upgraded", "1", {"r": (p, (p >= 0.5).astype(np.int64))})
    log_rows(settings, "upgraded", "2", {"r": (p, np.where(p >= 0.5, "yes", "no"))}, shadow=True)
    report = studio.as_alice.get(f"/api/deployments/{upgraded.pk}/shadow-comparison/?days=1").json()
    assert report["compared_as"] == [0, 1]
    assert report["versions"]["2"]["agreement"] == 1.0 and report["versions"]["2"]["rows"] == 4

    flipped = deployment_with(studio, "flipped", {3: ["no", "yes"], 4: ["yes", "no"]}, live=3)
    words = np.where(p >= 0.5, "yes", "no")
    log_rows(settings, "flipped", "3", {"r": (p, words)})
    log_rows(settings, "flipped", "4", {"r": (1 - p, words)}, shadow=True)  # v4's probability is of "no"
    report = studio.as_alice.get(f"/api/deployments/{flipped.pk}/shadow-comparison/?days=1").json()
    assert report["compared_as"] == ["no", "yes"]
    shadow = report["versions"]["4"]
    assert shadow["agreement"] == 1.0 and shadow["mean_abs_difference"] == pytest.approx(0.0, abs=1e-12)
    assert shadow["difference_histogram"]["counts"][5] == 4  # every difference in (-0.01, 0.01]


def test_live_auc_pools_versions_of_flipped_classes_in_one_form(studio, settings):  # noqa: F811
    """Rows served by v1 ("yes" positive, probability of "yes") and by v2 ("no" positive, probability of "no"),
    each ranking its rows perfectly: the pooled live AUC is 1 (each row's label and probability turned into the
    live version's positive class), not a mix of the two classes."""
    deployment = deployment_with(studio, "churn", {1: ["no", "yes"], 2: ["yes", "no"]}, live=1)
    truth = ["yes", "no", "yes", "no"]
    log_rows(settings, "churn", "1", {"a": ([0.9, 0.2, 0.8, 0.4], truth)})
    # v2's probability is of "no": 0.3 for its "no" rows is below v1's 0.4 for a "no" row, so pooling each
    # version's own positive class would rank them wrongly; as "yes" (0.7 against 0.75 and 0.85) they rank right
    log_rows(settings, "churn", "2", {"b": ([0.25, 0.3, 0.15, 0.3], truth)})
    answer = post(studio.as_alice, "churn", [(r, n, y) for r in ("a", "b") for n, y in enumerate(truth)])
    assert answer.status_code == 200 and answer.json()["stored"] == 8, answer.json()
    page = studio.as_alice.get(f"/api/deployments/{deployment.pk}/monitoring/?days=1").json()
    assert [d["labeled"] for d in page["live"]] == [8] and page["live"][0]["auc"] == 1.0


@pytest.mark.django_db(transaction=True)
def test_the_migration_pins_stored_labels_to_their_versions_without_changing_their_values(studio, settings):  # noqa: F811
    """Labels stored before 0004 are 0 / 1 against the live classes ("yes" positive, v1). Migrating gives each the
    version the log says served its row, turned where that version calls "no" positive (v2), and pins one whose
    row the log no longer holds to the live version; they read back as before, and migrating back restores them."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    deployment = deployment_with(studio, "churn", {1: ["no", "yes"], 2: ["yes", "no"]}, live=1)
    log_rows(settings, "churn", "1", {"a": ([0.9, 0.2], ["yes", "no"])})
    log_rows(settings, "churn", "2", {"b": ([0.1, 0.8], ["yes", "no"])})
    before, after = [("deployments", "0003_keys_traffic_limits")], [("deployments", "0004_label_version")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("deployments", "FeedbackLabel")
    old.objects.bulk_create([  # against v1's classes: 1 is "yes"
        old(deployment_id=deployment.pk, request_id=r, row=n, label=y, received_at="2026-12-01T00:00:00Z")
        for r, n, y in [("a", 0, 1), ("a", 1, 0), ("b", 0, 1), ("b", 1, 0), ("gone", 0, 1)]])
    MigrationExecutor(connection).migrate(after)
    assert stored(deployment) == [("a", 0, 1, 1), ("a", 1, 0, 1), ("b", 0, 0, 2), ("b", 1, 1, 2),
                                  ("gone", 0, 1, 1)]
    assert read_back(studio, "churn") == {("a", 0): "yes", ("a", 1): "no", ("b", 0): "yes", ("b", 1): "no",
                                          ("gone", 0): "yes"}
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("deployments", "FeedbackLabel")
    assert sorted(old.objects.values_list("request_id", "row", "label")) == [
        ("a", 0, 1), ("a", 1, 0), ("b", 0, 1), ("b", 1, 0), ("gone", 0, 1)]
    MigrationExecutor(connection).migrate(after)


def import_log(studio, name: str) -> dict:  # noqa: F811
    """import_prediction_log (local engine) of the deployment as a run of project A gets it: (request id, row) ->
    (served_label, label), both in the deployment's values."""
    from types import SimpleNamespace

    from operators.library.feedback import ImportPredictionLog
    from studio.deployments.services import prediction_logs_for

    class Ctx:
        prediction_log = staticmethod(prediction_logs_for(SimpleNamespace(project=studio.a)))

        def log(self, message):
            pass

    table = ImportPredictionLog().run(Ctx(), {}, ImportPredictionLog.Params(deployment=name))["table"]
    return {(r, n): (served, label) for r, n, served, label in
            table[["request_id", "row", "served_label", "label"]].itertuples(index=False)}


@pytest.mark.parametrize("old, answered", [
    ([1, 0], [0, 1, 0]),  # 0 / 1 with 0 positive: it answered 0 for its positive rows
    ([2, 1], [1, 2, 1]),  # 1 / 2, the rule's 1 positive
    ([1, 2], [2, 1, 2]),  # 1 / 2 with 2 named positive
])
@pytest.mark.parametrize("mixed", [False, True], ids=["v1-only", "beside-v2"])
def test_an_old_integer_version_is_read_through_its_own_classes_once_a_worded_one_is_live(
        studio, settings, old, answered, mixed):  # noqa: F811
    """v1 was trained on integer labels other than 0 / 1 with 1 positive; v2, live, answers "no" / "yes". v1's
    rows (probabilities of its own positive class: 0.9 and 0.7 positive, 0.2 not) come back with the served label
    and the posted label in the deployment's words by role, v1's positive as "yes", whether the label was posted
    in v1's values or in the words; also when v2's rows in words sit in the same log (its files then
    disagree on the label's type and the log reads it back as text)."""
    deployment = deployment_with(studio, "upgraded", {1: old, 2: ["no", "yes"]}, live=2)
    log_rows(settings, "upgraded", "1", {"old": ([0.9, 0.2, 0.7], answered)})
    if mixed:
        log_rows(settings, "upgraded", "2", {"new": ([0.8, 0.1], ["yes", "no"])})
    posted = [("old", 0, answered[0]), ("old", 1, answered[1]), ("old", 2, "yes")]  # in v1's values, or the words
    answer = post(studio.as_alice, "upgraded", posted)
    assert answer.status_code == 200 and answer.json()["stored"] == 3, answer.json()
    assert stored(deployment) == [("old", 0, 1, 1), ("old", 1, 0, 1), ("old", 2, 1, 1)]
    words = {("old", 0): ("yes", "yes"), ("old", 1): ("no", "no"), ("old", 2): ("yes", "yes")}
    if mixed:
        words.update({("new", 0): ("yes", None), ("new", 1): ("no", None)})
    assert import_log(studio, "upgraded") == words


@pytest.mark.parametrize("old, answered, live", [
    (["no", "yes"], ["yes", "no", "yes"], None),  # words, then a bundle without classes (it answers 0 / 1)
    (["no", "yes"], ["yes", "no", "yes"], [0, 1]),
    ([1, 2], [2, 1, 2], [0, 1]),  # 1 / 2 with 2 positive, then 0 / 1: v1's 1 is not the live 1
    ([False, True], [True, False, True], [0, 1]),
    (None, [1, 0, 1], [1, 2]),  # 0 / 1 (no classes), then 1 / 2 with 2 positive: v1's 1 is the live 2
])
@pytest.mark.parametrize("mixed", [False, True], ids=["v1-only", "beside-v2"])
def test_an_old_versions_served_labels_take_the_form_of_a_live_version_answering_numbers(
        studio, settings, old, answered, live, mixed):  # noqa: F811
    """v1 answered another pair of values than v2, live, which answers numbers (0 / 1, or 1 / 2). v1's rows
    (probabilities of its own positive class: 0.9 and 0.7 positive) come back with the served label and the posted
    label in v2's numbers by role, v1's positive as v2's; also beside v2's rows in the same log (its files then
    may disagree on the label's type and the log reads it back as text)."""
    import math

    form = live or [0, 1]
    deployment = deployment_with(studio, "renumbered", {1: old, 2: live}, live=2)
    log_rows(settings, "renumbered", "1", {"old": ([0.9, 0.2, 0.7], answered)})
    if mixed:
        log_rows(settings, "renumbered", "2", {"new": ([0.8, 0.1], [form[1], form[0]])})
    answer = post(studio.as_alice, "renumbered", [("old", 0, answered[0]), ("old", 1, answered[1])])
    assert answer.status_code == 200 and answer.json()["stored"] == 2, answer.json()
    assert stored(deployment) == [("old", 0, 1, 1), ("old", 1, 0, 1)]
    read = import_log(studio, "renumbered")
    served = {key: value for key, (value, _) in read.items()}
    expected = {("old", 0): form[1], ("old", 1): form[0], ("old", 2): form[1]}
    if mixed:
        expected.update({("new", 0): form[1], ("new", 1): form[0]})
    assert served == expected and all(type(v) is int for v in served.values()), served
    labels = {key: label for key, (_, label) in read.items() if not math.isnan(label)}
    assert labels == {("old", 0): form[1], ("old", 1): form[0]}


def test_labels_of_a_version_without_classes_keep_their_value_once_0_1_with_0_positive_is_live(
        studio, settings):  # noqa: F811
    """v1, a bundle without class values, answered 0 / 1 with 1 positive; v2, live, was trained on 0 / 1 with 0
    named positive (classes [1, 0]). A 1 posted for a v1 row is the value 1, v2's negative, and reads back as 1, as
    the served label does; v2's rows read back as posted."""
    deployment = deployment_with(studio, "zero", {1: None, 2: [1, 0]}, live=2)
    log_rows(settings, "zero", "1", {"old": ([0.9, 0.2], [1, 0])})
    log_rows(settings, "zero", "2", {"new": ([0.9, 0.2], [0, 1])})  # v2's probability: of its positive, 0
    answer = post(studio.as_alice, "zero", [("old", 0, 1), ("old", 1, 0), ("new", 0, 0), ("new", 1, 1)])
    assert answer.status_code == 200 and answer.json()["stored"] == 4, answer.json()
    assert stored(deployment) == [("new", 0, 1, 2), ("new", 1, 0, 2), ("old", 0, 1, 1), ("old", 1, 0, 1)]
    assert read_back(studio, "zero") == {("old", 0): 1, ("old", 1): 0, ("new", 0): 0, ("new", 1): 1}
    assert {key: served for key, (served, _) in import_log(studio, "zero").items()} == {
        ("old", 0): 1, ("old", 1): 0, ("new", 0): 0, ("new", 1): 1}

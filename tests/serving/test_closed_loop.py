"""The closed loop end to end through the API and a real serving process: publish v1, serve 2,000 rows, post
their labels, and run the retrain pipeline (import_prediction_log -> split -> features -> GBDT ->
publish_if_better). A worse challenger leaves v1 live and the decision says why; a challenger that learned a
planted signal (the labels follow age, which v1 never learned to rank by) becomes v2 and the decision holds
both AUCs. Labels outlive a restart of the serving process."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from .conftest import serving_process
from .test_deployments import finished_run, studio  # noqa: F401  (the `studio` fixture)

# the worse challenger learns from the categorical inputs alone
WEAK = ["age", "income", "debt_ratio", "credit_limit", "late_payments", "months_employed"]
LOG_META = ["request_id", "row", "version", "time", "served_probability", "served_label"]


def node(node_id, operator, **params):
    return {"id": node_id, "operator": operator, "params": params, "position": {"x": 0, "y": 0}}


def edge(source, source_port, target, target_port):
    return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}


def retrain_graph(exclude: list[str], margin: float, deployment: str = "credit") -> dict:
    return {"format": "studio.pipeline/1", "name": "retrain", "nodes": [
        node("log", "import_prediction_log", deployment=deployment, last_days=1, labeled_only=True),
        node("split", "split_random", ratio=0.6, seed=4),
        node("features", "feature_extraction", label="label", exclude=LOG_META + exclude),
        node("gbdt", "train_gbdt", n_estimators=40, num_leaves=8),
        node("decide", "publish_if_better", deployment=deployment, metric="auc", min_margin=margin),
    ], "edges": [
        edge("log", "table", "split", "table"), edge("split", "first", "features", "table"),
        edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "decide", "model"),
        edge("features", "feature_state", "decide", "feature_state"), edge("split", "second", "decide", "table"),
    ]}


def serve(server, table, spec, batch: int = 100, model: str = "credit") -> list[tuple[str, int, float]]:
    """POST the table's rows to the serving process in requests of `batch`; (request id, row, probability)."""
    return [(r, i, p["probability"]) for r, i, p in serve_answers(server, table, spec, batch, model)]


def serve_answers(server, table, spec, batch: int = 100, model: str = "credit") -> list[tuple[str, int, dict]]:
    """POST the table's rows to the serving process in requests of `batch`; (request id, row, prediction)."""
    names = [s["name"] for s in spec]
    served = []
    for start in range(0, len(table), batch):
        rows = table.iloc[start:start + batch]
        instances = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if k in names}
                     for r in rows.to_dict("records")]
        status, answer = server.post_json(f"/v1/models/{model}:predict", {"instances": instances})
        assert status == 200, answer
        served += [(answer["id"], i, p) for i, p in enumerate(answer["predictions"])]
    return served


def run_pipeline(studio, graph, name, *, as_bob: bool = False):  # noqa: F811
    """Save the graph as a pipeline of project A (alice's; B with `as_bob`) and run it through the API, the
    worker executing it."""
    import pipelines
    from huey.contrib.djhuey import HUEY
    from studio.workflows.models import Pipeline

    project, user, client = (studio.b, studio.b.created_by, studio.as_bob) if as_bob else \
        (studio.a, studio.alice, studio.as_alice)
    pipeline = Pipeline.objects.create(project=project, name=name, created_by=user)
    pipeline.save_graph(pipelines.from_json(graph), user)
    HUEY.immediate = True
    try:
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            answer = client.post("/api/runs/", {"pipeline": pipeline.pk}, format="json")
    finally:
        HUEY.immediate = False
    assert answer.status_code == 201, answer.json()
    return client.get(f"/api/runs/{answer.json()['id']}/").json()


@pytest.mark.django_db(transaction=True)
def test_retrain_publishes_only_a_better_model(studio, settings):  # noqa: F811
    from operators.library.sample_data import credit_default_table
    from studio.deployments.models import Decision, FeedbackLabel

    run1, _ = finished_run(studio, seed=1)
    traffic = credit_default_table(2000, seed=77)
    with serving_process(studio.tmp) as server:
        settings.SERVING_URL = server.url
        body = studio.as_alice.post("/api/deployments/publish/", {"run": run1.pk, "name": "credit"},
                                    format="json").json()
        server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=10, what="v1 live")
        served = serve(server, traffic, body["input_spec"])
        assert len(served) == 2000
        log_dir = settings.SERVING_DIR / "prediction_log"
        server.wait_for(lambda: _logged(log_dir) == 2000, timeout=15, what="2,000 rows in the prediction log")
    # First the world agrees with v1 (the outcome is v1's ranking), so a weaker challenger must not go live.
    median = np.median([p for _, _, p in served])
    labels = [{"request_id": r, "row": i, "label": int(p >= median)} for r, i, p in served]
    answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"labels": labels}, format="json")
    assert answer.status_code == 200 and answer.json()["stored"] == 2000, answer.json()

    with serving_process(studio.tmp) as server:  # a restarted serving process: the labels are still there
        settings.SERVING_URL = server.url
        server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=10, what="v1 live again")

        worse = run_pipeline(studio, retrain_graph(exclude=WEAK, margin=0.0), "retrain-worse")
        assert worse["status"] == "succeeded", json.dumps(worse)[:3000]
        decision = Decision.objects.get()
        print("worse:", decision.reason)
        assert decision.published is False and decision.champion_version == 1 and decision.rows > 700
        assert decision.challenger_score < decision.champion_score - 0.05  # a worse model, not a tie
        print("worse:", decision.reason)
        assert "does not beat champion" in decision.reason and "champion stays live" in decision.reason
        assert studio.as_alice.get(f"/api/deployments/{body['id']}/").json()["live_version"] == 1

        # Then the world changes: the outcome follows age, which v1 never learned to rank by. Posting the labels
        # again replaces each one; none is stored twice.
        planted = (traffic["age"] >= 45).astype(int).to_numpy()
        labels = [{"request_id": r, "row": i, "label": int(y)} for (r, i, _), y in zip(served, planted, strict=True)]
        answer = studio.as_alice.post("/api/deployments/credit/feedback/", {"labels": labels}, format="json")
        assert answer.json()["replaced"] == 2000 and FeedbackLabel.objects.count() == 2000
        better = run_pipeline(studio, retrain_graph(exclude=[], margin=0.05), "retrain-better")
        assert better["status"] == "succeeded", json.dumps(better)[:3000]
        decision = Decision.objects.order_by("-id").first()
        print("better:", decision.reason)
        assert decision.published is True and decision.version == 2 and decision.champion_version == 1
        assert decision.challenger_score >= decision.champion_score + 0.05
        assert f"{decision.challenger_score:.4f}" in decision.reason and f"{decision.champion_score:.4f}" in \
            decision.reason
        detail = studio.as_alice.get(f"/api/deployments/{body['id']}/").json()
        assert detail["live_version"] == 2
        deadline = time.monotonic() + 10
        while server.get("/v2/models/credit")[1].get("parameters", {}).get("live_version") != "2":
            assert time.monotonic() < deadline, "v2 not live on the serving process"
            time.sleep(0.1)
        outputs = [n for n in better["nodes"] if n["node"] == "decide"]
        assert outputs and outputs[0]["status"] == "succeeded"

    # the deployment page's data: labels per day, live AUC per day from the labeled rows, both decisions
    page = studio.as_alice.get(f"/api/deployments/{body['id']}/monitoring/?days=2").json()
    assert page["feedback"]["total"] == 2000 and sum(d["labels"] for d in page["feedback"]["per_day"]) == 2000
    assert sum(d["labeled"] for d in page["live"]) == 2000 and all(0 <= d["auc"] <= 1 for d in page["live"])
    assert [(d["published"], d["version"]) for d in page["decisions"]] == [(True, 2), (False, None)]
    drift = studio.as_alice.get(f"/api/deployments/{body['id']}/drift/?days=1&version=1").json()
    assert drift["available"] and drift["rows"] == 2000 and drift["version"] == 1
    assert drift["min_rows"] == 100  # below it the page reads no PSI ("too few rows")
    assert {f["name"] for f in drift["features"]} == {s["name"] for s in body["input_spec"]}
    assert drift["figure"]["data"][0]["type"] == "bar" and len(drift["figure"]["data"][0]["x"]) == len(
        body["input_spec"])
    assert studio.as_alice.get(f"/api/deployments/{body['id']}/drift/").json()["rows"] == 0  # v2 served none
    for bad in ("days=0", "days=abc", "days=1e9", "version=x"):
        answer = studio.as_alice.get(f"/api/deployments/{body['id']}/drift/?{bad}")
        assert answer.status_code == 400, bad
    assert studio.as_bob.get(f"/api/deployments/{body['id']}/drift/").status_code == 404
    assert studio.as_bob.get(f"/api/deployments/{body['id']}/monitoring/").status_code == 404


def _logged(log_dir, model: str = "credit") -> int:
    from operators.prediction_log import read_log

    return read_log(log_dir, model, columns=["row"]).num_rows


def churn_graph() -> dict:
    """A newcomer's pipeline: a CSV whose label is "yes" / "no", a GBDT, published as `churn`."""
    return {"format": "studio.pipeline/1", "name": "churn", "nodes": [
        node("data", "import_csv", path="churn.csv"),
        node("split", "split_random", ratio=0.7, seed=1),
        node("features", "feature_extraction", label="churned", exclude=["customer_id", "application_date"]),
        node("gbdt", "train_gbdt", n_estimators=40, num_leaves=8),
        node("publish", "publish_model", deployment="churn"),
    ], "edges": [
        edge("data", "table", "split", "table"), edge("split", "first", "features", "table"),
        edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "publish", "model"),
        edge("features", "feature_state", "publish", "feature_state"), edge("split", "second", "publish", "table"),
    ]}


@pytest.mark.django_db(transaction=True)
def test_a_label_in_words_stays_in_words_around_the_loop(studio, settings):  # noqa: F811
    """train on "yes" / "no" -> publish -> score over HTTP -> feedback in "yes" / "no" -> import_prediction_log ->
    retrain -> publish_if_better: the retrained version answers "yes" / "no" too (not 0 / 1), and both models
    were scored on the same labels. Bob's project cannot import the deployment's log."""
    from operators.library.sample_data import credit_default_table
    from studio.deployments.models import Decision, Deployment, FeedbackLabel

    table = credit_default_table(3000, seed=11)
    table["churned"] = np.where(table.pop("default") == 1, "yes", "no")
    studio.a.data_root.mkdir(parents=True, exist_ok=True)
    table.to_csv(studio.a.data_root / "churn.csv", index=False)
    traffic = credit_default_table(2000, seed=78).drop(columns=["default"])
    log_dir = settings.SERVING_DIR / "prediction_log"
    with serving_process(studio.tmp) as server:
        settings.SERVING_URL = server.url
        trained = run_pipeline(studio, churn_graph(), "churn")
        assert trained["status"] == "succeeded", json.dumps(trained)[:3000]
        deployment = Deployment.objects.get(name="churn")
        assert deployment.live_version.number == 1 and deployment.live_version.manifest["classes"] == ["no", "yes"]
        server.wait_for(lambda: server.get("/v2/models/churn")[0] == 200, timeout=10, what="churn v1 live")
        spec = deployment.live_version.manifest["inputs"]
        answers = serve_answers(server, traffic, spec, model="churn")
        assert {p["label"] for _, _, p in answers} == {"yes", "no"}
        server.wait_for(lambda: _logged(log_dir, "churn") == 2000, timeout=15, what="2,000 rows logged")

        # the world changes: the outcome follows age, which v1 never learned to rank by; labels come back in words
        planted = np.where(traffic["age"] >= 45, "yes", "no")
        labels = [{"request_id": r, "row": i, "label": str(y)} for (r, i, _), y in zip(answers, planted, strict=True)]
        answer = studio.as_alice.post("/api/deployments/churn/feedback/", {"labels": labels}, format="json")
        assert answer.status_code == 200 and answer.json()["stored"] == 2000, answer.json()
        assert FeedbackLabel.objects.filter(label=1).count() == int((planted == "yes").sum())

        # bob's project has no deployment "churn": his run cannot read alice's log
        bobs = run_pipeline(studio, {"format": "studio.pipeline/1", "name": "peek", "edges": [], "nodes": [
            node("log", "import_prediction_log", deployment="churn")]}, "peek", as_bob=True)
        assert bobs["status"] == "failed"
        assert "no deployment 'churn'" in json.dumps([n.get("error") for n in bobs["nodes"]])

        retrained = run_pipeline(studio, retrain_graph(exclude=[], margin=0.05,
                                                       deployment="churn"), "retrain-churn")
        assert retrained["status"] == "succeeded", json.dumps(retrained)[:3000]
        decision = Decision.objects.get()
        print("churn:", decision.reason)
        assert decision.published is True and decision.version == 2 and decision.champion_version == 1
        assert decision.challenger_score >= decision.champion_score + 0.05 and decision.champion_score < 0.65
        deployment.refresh_from_db()
        assert deployment.live_version.number == 2 and deployment.live_version.manifest["classes"] == ["no", "yes"]
        server.wait_for(lambda: server.get("/v2/models/churn")[1].get("parameters", {}).get("live_version") == "2",
                        timeout=10, what="churn v2 live")
        again = serve_answers(server, traffic.head(400), spec, model="churn")
        assert {p["label"] for _, _, p in again} == {"yes", "no"}
        # v2 learned the planted outcome, in the label's words: "yes" is the older customers
        said = np.array([p["label"] for _, _, p in again])
        assert (said == planted[:400]).mean() > 0.9


def test_import_prediction_log_reads_rows_labels_and_window(tmp_path):
    """The operator alone, with no studio: the log written by the serving writer, labels from a resolver."""
    import pandas as pd

    import pipelines
    from studio.serving.predlog import PredictionLog

    log = PredictionLog(tmp_path / "log", flush_interval=3600)
    log.record("a", "credit", "1", {"age": np.array([30.0, np.nan]), "region": np.array(["N", None], dtype=object)},
               2, {"probability": np.array([0.2, 0.7]), "label": np.array([0, 1])})
    log.record("b", "credit", "2", {"age": np.array([50.0])}, 1,
               {"probability": np.array([0.9]), "label": np.array([1])})
    log.close()
    labels = pd.DataFrame({"request_id": ["a", "b"], "row": [1, 0], "label": [1, 0]})
    logs = {"credit": {"directory": tmp_path / "log", "labels": lambda: labels}}
    executor = pipelines.Executor(pipelines.FileSystemStore(tmp_path / "store"), data_root=tmp_path,
                                  prediction_logs=logs.get)

    def read(**params):
        graph = pipelines.from_json({"nodes": [{"id": "log", "operator": "import_prediction_log",
                                                "params": {"deployment": "credit", **params}}], "edges": []})
        result = executor.run(graph)
        return result, result.nodes["log"]

    result, node = read()
    assert result.status == "succeeded", node.error
    table = result.output("log", "table")
    assert list(table["request_id"]) == ["a", "a", "b"] and list(table["row"]) == [0, 1, 0]
    assert table["label"].tolist()[1:] == [1.0, 0.0] and np.isnan(table["label"].iloc[0])
    assert table["served_probability"].tolist() == [0.2, 0.7, 0.9] and table["version"].tolist() == ["1", "1", "2"]
    assert table["region"].iloc[0] == "N" and table["region"].iloc[1:].isna().all()  # version 2 had no region
    assert str(table["time"].dtype).startswith("datetime64") and np.isnan(table["age"].iloc[1])
    table = read(labeled_only=True, version="1")[0].output("log", "table")
    assert table[["request_id", "row", "label"]].values.tolist() == [["a", 1, 1]]
    result, node = read(until="2000-01-01")
    assert result.status == "failed" and "served no rows" in node.error["message"]
    result, node = read(deployment="other")
    assert result.status == "failed" and "no deployment 'other'" in node.error["message"]
    result, node = read(until="yesterday")
    assert result.status == "failed" and "until 'yesterday'" in node.error["message"]


def test_publish_if_better_scores_both_models_on_the_positive_class(tmp_path):
    """With no studio: a label in words whose positive class is "no" (feature_extraction's `positive`), which the
    rule alone would not pick. Both models are scored with "no" as 1, so a good model scores well (not 1 - AUC);
    a challenger whose positive class is flipped against the live version's ("yes") is compared on its class, the
    champion's probability turned: the same model either way, so neither wins (it was refused before)."""
    import pipelines
    from operators.library.sample_data import credit_default_table

    table = credit_default_table(3000, seed=11)
    table["outcome"] = np.where(table.pop("default") == 1, "no", "yes")  # "no" is the rare, positive class
    table.to_csv(tmp_path / "outcome.csv", index=False)

    def run(positive: str):
        return pipelines.run({"format": "studio.pipeline/1", "name": "p", "nodes": [
            node("data", "import_csv", path="outcome.csv"), node("split", "split_random", ratio=0.7, seed=1),
            node("features", "feature_extraction", label="outcome", positive=positive,
                 exclude=["customer_id", "application_date"]),
            node("gbdt", "train_gbdt", n_estimators=40, num_leaves=8),
            node("last", "publish_if_better", deployment="outcome", label_column="outcome"),
        ], "edges": [
            edge("data", "table", "split", "table"), edge("split", "first", "features", "table"),
            edge("features", "features", "gbdt", "features"), edge("gbdt", "model", "last", "model"),
            edge("features", "feature_state", "last", "feature_state"), edge("split", "second", "last", "table"),
        ]}, store_root=tmp_path / "store", data_root=tmp_path)

    first = run("no")  # nothing live: the challenger goes live, scored with "no" as 1
    assert first.status == "succeeded", first.nodes["last"].error
    decision = first.output("last", "decision")
    assert decision["published"] is True and decision["challenger_score"] > 0.7, decision
    second = run("no")  # the same model against itself: both scored on the same labels
    decision = second.output("last", "decision")
    assert decision["champion_score"] == pytest.approx(decision["challenger_score"], abs=1e-12)
    assert decision["champion_score"] > 0.7 and decision["published"] is False
    flipped = run("yes")  # the same data with "yes" positive: the champion's probability of "no" is turned
    assert flipped.status == "succeeded", flipped.nodes["last"].error
    decision = flipped.output("last", "decision")
    assert decision["champion_score"] > 0.7 and decision["published"] is False, decision
    assert decision["champion_score"] == pytest.approx(decision["challenger_score"], abs=0.01)

"""The prediction log read back on the Spark engine equals the local read: rows, columns, served scores and the
labels that arrived, across two versions with different inputs, with a window and labeled_only."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipelines
from tests.spark.both import assert_same_rows, graph


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    from operators.library.sample_data import credit_default_table
    from studio.serving.predlog import PredictionLog

    root = tmp_path_factory.mktemp("predlog")
    table = credit_default_table(600, seed=4)
    writer = PredictionLog(root / "log", flush_interval=3600)
    rng = np.random.default_rng(1)
    for r in range(6):
        part = table.iloc[r * 100:(r + 1) * 100]
        columns = {"age": part["age"].to_numpy(dtype=np.float64),
                   "income": part["income"].to_numpy(dtype=np.float64),
                   "region": np.array([None if i % 17 == 0 else v for i, v in enumerate(part["region"])], dtype=object)}
        if r >= 3:  # version 2 dropped region and added purpose
            columns.pop("region")
            columns["purpose"] = part["purpose"].to_numpy(dtype=object)
        probability = rng.random(100)
        writer.record(f"req-{r}", "credit", "1" if r < 3 else "2", columns, 100,
                      {"probability": probability, "label": (probability >= 0.5).astype(np.int64)})
        writer.flush()  # a file per request, as a serving process writes them over time
    writer.close()
    labels = pd.DataFrame({"request_id": [f"req-{r}" for r in range(6) for _ in range(0, 100, 3)],
                           "row": [i for _ in range(6) for i in range(0, 100, 3)]})
    labels["label"] = (labels["row"] % 2).astype("int64")
    return {"directory": root / "log", "labels": lambda: labels.copy()}


def read(engine: str, log, tmp_path, **params):
    executor = pipelines.Executor(pipelines.FileSystemStore(tmp_path / engine), engine=engine, data_root=tmp_path,
                                  prediction_logs=lambda name: log if name == "credit" else None)
    result = executor.run(pipelines.from_json(graph([("n", "import_prediction_log",
                                                      {"deployment": "credit", **params})])))
    assert result.status == "succeeded", result.nodes["n"].error
    table = result.output("n", "table")
    return table.toPandas() if hasattr(table, "toPandas") else table


@pytest.mark.parametrize("params", [{}, {"labeled_only": True, "version": "2"}, {"last_days": 1}])
def test_spark_read_equals_local_read(spark, log, tmp_path, params):
    local = read("local", log, tmp_path, **params)
    on_spark = read("spark", log, tmp_path, **params)
    assert len(local) == {(): 600, ("labeled_only", "version"): 102, ("last_days",): 600}[tuple(params)]
    assert_same_rows(local, on_spark)
    assert set(local.columns) >= {"age", "income", "region", "purpose", "served_probability", "label"} \
        if not params.get("version") else "region" not in local.dropna(axis=1, how="all").columns


@pytest.mark.parametrize("classes", [["no", "yes"], [False, True]])
@pytest.mark.parametrize("labeled_only", [False, True])
def test_labels_come_back_in_the_deployments_values(spark, log, tmp_path, classes, labeled_only):
    """A deployment whose bundle answers "no" / "yes" (or false / true): the stored 0 / 1 labels and the 0 / 1 an
    older version served both read back as its values, the same on both engines."""
    worded = {**log, "classes": classes}
    local = read("local", worded, tmp_path, labeled_only=labeled_only)
    on_spark = read("spark", worded, tmp_path, labeled_only=labeled_only)
    assert_same_rows(local, on_spark)
    labeled = local[local["label"].notna()]
    assert len(labeled) == 204 and len(local) == (204 if labeled_only else 600)
    assert labeled["label"].tolist() == [classes[r % 2] for r in labeled["row"]]  # stored 1: the positive value
    assert local["served_label"].tolist() == [classes[int(p >= 0.5)] for p in local["served_probability"]]
    if not labeled_only:
        assert local["label"].isna().sum() == 396 and on_spark["label"].isna().sum() == 396


def test_each_label_reads_through_the_classes_of_the_version_that_served_it(spark, log, tmp_path):
    """Labels stored 0 / 1 against their row's version: version 1 calls "yes" positive, version 2 "no"; the live
    classes are version 1's. Version 2's stored 1 reads "no" (its positive), not "yes", the same on both engines."""
    def with_versions():
        labels = log["labels"]()
        labels["version"] = ["1" if int(r[4:]) < 3 else "2" for r in labels["request_id"]]
        return labels

    versioned = {**log, "labels": with_versions, "classes": ["no", "yes"],
                 "version_classes": {"1": ["no", "yes"], "2": ["yes", "no"]}}
    local = read("local", versioned, tmp_path, labeled_only=True)
    on_spark = read("spark", versioned, tmp_path, labeled_only=True)
    assert_same_rows(local, on_spark)
    own = {"1": ["no", "yes"], "2": ["yes", "no"]}
    assert len(local) == 204 and local["label"].tolist() == [own[v][r % 2] for v, r in zip(
        local["version"], local["row"], strict=True)]
    assert set(local.loc[local["version"] == "2", "label"]) == {"yes", "no"}


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """A deployment whose version 1 (a bundle without class values) answered 0 / 1 and took age as whole numbers,
    and whose version 2 answers "no" / "yes" and takes age as decimals: the log's files disagree on both types."""
    from studio.serving.predlog import PredictionLog

    root = tmp_path_factory.mktemp("upgraded")
    writer = PredictionLog(root / "log", flush_interval=3600)
    rng = np.random.default_rng(2)
    for r in range(4):
        probability = rng.random(50)
        positive = probability >= 0.5
        age = rng.integers(20, 70, 50)
        version = "1" if r % 2 == 0 else "2"  # interleaved, as a rollout's traffic split serves them
        columns = {"age": age.astype(np.int64) if version == "1" else age + 0.5}
        label = positive.astype(np.int64) if version == "1" else np.where(positive, "yes", "no").astype(object)
        writer.record(f"req-{r}", "credit", version, columns, 50, {"probability": probability, "label": label})
        writer.flush()
    writer.close()
    labels = pd.DataFrame({"request_id": [f"req-{r}" for r in range(4) for _ in range(10)],
                           "row": [i for _ in range(4) for i in range(10)]})
    labels["label"] = (labels["row"] % 2).astype("int64")
    return {"directory": root / "log", "labels": lambda: labels.copy(), "classes": ["no", "yes"]}


def test_a_log_whose_versions_disagree_on_types_reads_alike(spark, upgraded, tmp_path):
    """0 / 1 served by version 1 and "yes" / "no" by version 2 come back as words on both engines (not an Arrow or
    Spark schema-merge error); age, whole numbers then decimals, as numbers."""
    local = read("local", upgraded, tmp_path)
    on_spark = read("spark", upgraded, tmp_path)
    assert len(local) == 200
    assert_same_rows(local, on_spark)
    assert local["served_label"].tolist() == ["yes" if p >= 0.5 else "no" for p in local["served_probability"]]
    assert local["age"].dtype == np.float64 and (local["age"] % 1).tolist().count(0.5) == 100
    assert local["label"].dropna().tolist() == ["no", "yes"] * 20


def test_retraining_on_spark_from_a_log_in_words_answers_in_words(spark, tmp_path):
    """The retrain pipeline on the Spark engine (import_prediction_log -> split -> features -> GBDT ->
    publish_if_better) over a deployment answering "no" / "yes": the published challenger answers in words too,
    and learned the planted outcome, scored with "yes" as the positive class."""
    from operators.library.sample_data import credit_default_table
    from pipelines.bundle import bundles_in_folder, load_bundle
    from studio.serving.predlog import PredictionLog

    table = credit_default_table(2000, seed=6)
    writer = PredictionLog(tmp_path / "log", flush_interval=3600)
    for r in range(4):
        part = table.iloc[r * 500:(r + 1) * 500]
        columns = {c: part[c].to_numpy(dtype=np.float64) for c in ("age", "income", "late_payments")}
        probability = np.full(500, 0.3)
        writer.record(f"req-{r}", "credit", "1", columns, 500,
                      {"probability": probability, "label": np.full(500, "no", dtype=object)})
        writer.flush()
    writer.close()
    labels = pd.DataFrame({"request_id": np.repeat([f"req-{r}" for r in range(4)], 500).astype(object),
                           "row": np.tile(np.arange(500), 4),
                           "label": (table["age"].to_numpy() >= 45).astype("int64")})
    log = {"directory": tmp_path / "log", "labels": lambda: labels.copy(), "classes": ["no", "yes"]}
    meta = ["request_id", "row", "version", "time", "served_probability", "served_label"]
    executor = pipelines.Executor(pipelines.FileSystemStore(tmp_path / "store"), engine="spark", data_root=tmp_path,
                                  prediction_logs=lambda name: log if name == "credit" else None)
    result = executor.run(pipelines.from_json(graph([
        ("log", "import_prediction_log", {"deployment": "credit", "labeled_only": True}),
        ("split", "split_random", {"ratio": 0.7, "seed": 3}),
        ("features", "feature_extraction", {"label": "label", "exclude": meta}),
        ("gbdt", "train_gbdt", {"n_estimators": 20, "num_leaves": 8}),
        ("decide", "publish_if_better", {"deployment": "credit"}),
    ], [("log", "table", "split", "table"), ("split", "first", "features", "table"),
        ("features", "features", "gbdt", "features"), ("gbdt", "model", "decide", "model"),
        ("features", "feature_state", "decide", "feature_state"), ("split", "second", "decide", "table")])))
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    decision = result.output("decide", "decision")
    assert decision["published"] is True and decision["challenger_score"] > 0.95, decision
    bundle = load_bundle(bundles_in_folder(executor.bundle_root)("credit", None))
    assert bundle.classes == ["no", "yes"]
    answered = bundle.score_table(table.head(400))["label"]
    assert set(answered) == {"no", "yes"}
    assert (np.asarray(answered) == np.where(table["age"].head(400) >= 45, "yes", "no")).mean() > 0.97


@pytest.mark.parametrize("old, mixed", [([1, 0], True), ([1, 2], False), ([2, 1], True)])
def test_an_old_integer_versions_served_labels_read_through_its_own_classes(spark, tmp_path, old, mixed):
    """Version 1 answered integer labels other than 0 / 1 with 1 positive (0 / 1 with 0 positive, 1 / 2 with 2 or
    1 positive); version 2, live, answers "no" / "yes", in the same log (its files then disagree on the label's
    type) or not. Version 1's served labels come back by role, its positive as "yes", the same on both engines."""
    from studio.serving.predlog import PredictionLog

    root = tmp_path / "log"
    writer = PredictionLog(root, flush_interval=3600)
    rng = np.random.default_rng(5)
    for r in range(4 if mixed else 2):
        probability = rng.random(30)  # of the version's own positive class
        positive = probability >= 0.5
        version = "1" if r % 2 == 0 or not mixed else "2"
        label = np.where(positive, old[1], old[0]).astype(np.int64) if version == "1" else \
            np.where(positive, "yes", "no").astype(object)
        writer.record(f"req-{r}", "credit", version, {"age": rng.random(30)}, 30,
                      {"probability": probability, "label": label})
        writer.flush()
    writer.close()
    labels = pd.DataFrame({"request_id": ["req-0"] * 4, "row": [0, 1, 2, 3], "label": [1, 0, 1, 0],
                           "version": ["1"] * 4})
    found = {"directory": root, "labels": lambda: labels.copy(), "classes": ["no", "yes"],
             "version_classes": {"1": old, "2": ["no", "yes"]}}
    local = read("local", found, tmp_path)
    on_spark = read("spark", found, tmp_path)
    assert len(local) == (120 if mixed else 60)
    assert_same_rows(local, on_spark)
    assert local["served_label"].tolist() == ["yes" if p >= 0.5 else "no" for p in local["served_probability"]]
    assert local["label"].dropna().tolist() == ["yes", "no", "yes", "no"]


@pytest.mark.parametrize("old, live, mixed", [(["no", "yes"], None, True), (["no", "yes"], [0, 1], False),
                                              ([1, 2], [0, 1], True), (None, [1, 2], True)])
def test_an_old_versions_served_labels_take_the_numbers_of_a_live_version_answering_them(
        spark, tmp_path, old, live, mixed):
    """Version 2, live, answers numbers (0 / 1, a bundle without classes, or 1 / 2 with 2 positive); version 1
    answered another pair ("no" / "yes", 1 / 2, or 0 / 1 without classes), in the same log as version 2 (its files
    then may disagree on the label's type) or not. Version 1's served labels come back in version 2's numbers by
    role, its positive as version 2's, the same on both engines."""
    from studio.serving.predlog import PredictionLog

    form = live or [0, 1]
    answers = {"1": old or [0, 1], "2": form}
    writer = PredictionLog(tmp_path / "log", flush_interval=3600)
    rng = np.random.default_rng(7)
    for r in range(4 if mixed else 2):
        probability = rng.random(30)  # of the version's own positive class
        version = "1" if r % 2 == 0 or not mixed else "2"
        label = np.where(probability >= 0.5, answers[version][1], answers[version][0])
        writer.record(f"req-{r}", "credit", version, {"age": rng.random(30)}, 30,
                      {"probability": probability, "label": label.astype(object if label.dtype.kind == "U" else
                                                                         label.dtype)})
        writer.flush()
    writer.close()
    labels = pd.DataFrame({"request_id": ["req-0"] * 2, "row": [0, 1], "label": [1, 0], "version": ["1"] * 2})
    found = {"directory": tmp_path / "log", "labels": lambda: labels.copy(), "classes": live,
             "version_classes": {"1": old, "2": live}}
    local = read("local", found, tmp_path)
    on_spark = read("spark", found, tmp_path)
    assert len(local) == (120 if mixed else 60)
    assert_same_rows(local, on_spark)
    assert local["served_label"].dtype == np.int64 and on_spark["served_label"].dtype == np.int64
    assert local["served_label"].tolist() == [form[int(p >= 0.5)] for p in local["served_probability"]]
    assert local["label"].dropna().tolist() == [form[1], form[0]]


def test_served_words_a_true_false_deployment_cannot_hold_read_as_missing_on_both_engines(spark, upgraded, tmp_path):
    """The live version answers true / false and version 2's classes were not kept: its served "yes" / "no" are no
    value of the deployment, so both engines read them as missing (Spark's boolean column cannot hold text; the local
    read kept them as text beside the booleans); version 1's 0 / 1 read as false / true on both."""
    live = {**upgraded, "classes": [False, True]}
    local = read("local", live, tmp_path)
    on_spark = read("spark", live, tmp_path)
    assert_same_rows(local, on_spark)
    first = (local["version"] == "1").to_numpy()
    assert local.loc[first, "served_label"].tolist() == [p >= 0.5 for p in local.loc[first, "served_probability"]]
    assert local.loc[~first, "served_label"].isna().all() and (~first).sum() == 100
    assert local["label"].dropna().tolist() == [False, True] * 20

"""train_gbdt's two paths on Spark (operators.spark.models): up to STUDIO_SPARK_GBDT_ONE_TASK_CELLS training rows x
features, one Spark task trains plain LightGBM with no shuffle; above it, barrier tasks joined by LightGBM's network.
Which path ran is read from Spark's completed stages (tasks, shuffle bytes) and the node's log line, not from time;
the one-task model is the local engine's model for the same feature matrix."""
from __future__ import annotations

import numpy as np
import pytest

import pipelines
from pipelines.engines import jobs_per_node, last_job_id

from .jobs import stages_of


def _graph():
    def node(id, operator, params=None):
        return {"id": id, "operator": operator, "params": params or {}}

    return {"format": "studio.pipeline/1", "name": "gbdt paths", "nodes": [
        node("import", "import_parquet", {"path": "data/credit.parquet"}),
        node("features", "feature_extraction", {"label": "default", "exclude": ["customer_id", "application_date"]}),
        node("gbdt", "train_gbdt", {"n_estimators": 20, "num_leaves": 15, "record_train_metrics": False})],
        "edges": [{"source": "import", "source_port": "table", "target": "features", "target_port": "table"},
                  {"source": "features", "source_port": "features", "target": "gbdt", "target_port": "features"}]}


def _run_gbdt(spark, credit_root, tmp_path):
    before = last_job_id(spark)
    events = []
    result = pipelines.run(_graph(), store_root=tmp_path, data_root=credit_root, engine="spark",
                           on_event=events.append)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items()}
    logs = [e.data["message"] for e in events if e.node == "gbdt" and e.type == "node_log"]
    return result.output("gbdt", "model"), logs, stages_of(spark, "gbdt", before)


def test_a_small_training_set_trains_in_one_task_without_a_shuffle(spark, credit_root, tmp_path):
    model, logs, stages = _run_gbdt(spark, credit_root, tmp_path)  # 8,000 rows x 10 features: far below the bound
    assert model.meta["spark_tasks"] == 1
    line = next(m for m in logs if "trained by" in m)
    assert "trained by 1 Spark task (plain LightGBM on 2 threads, no shuffle)" in line
    assert "8,000 rows x 10 features = 80,000 cells <= 100,000,000" in line
    assert all(f"{part} " in line for part in ("rows", "matrix", "training")) and "network" not in line
    # one stage, the training task: nothing shuffled, and no job counting the label again (the feature fit counted
    # its rows and positives: Compact.label_counts)
    assert stages == [{"tasks": 1, "shuffle_write": 0}], stages


def test_ten_million_rows_of_the_benchmark_train_in_one_task(spark, monkeypatch):
    """8M training rows x 10 GBDT features (the benchmark at 10M rows) train in one task on the executor's cores: at
    10M rows on local[2] 2 barrier tasks held both slots for the gbdt node (136.2 s against one task's 102.5 s) and
    the features' artifact write then slowed predict; above 100M cells, barrier tasks, one per slot."""
    from operators.spark.models import _plan_tasks

    monkeypatch.delenv("STUDIO_SPARK_GBDT_ONE_TASK_CELLS", raising=False)
    assert _plan_tasks(spark, 8_000_000, 80_000_000, None, {}) == (1, {"num_threads": 2})
    assert _plan_tasks(spark, 8_000_000, 100_000_001, None, {}) == (2, {"num_threads": 1})


def test_above_the_bound_the_barrier_tasks_train_it(spark, credit_root, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_SPARK_GBDT_ONE_TASK_CELLS", "1000")  # 8,000 x 10 cells is now "large"
    model, logs, stages = _run_gbdt(spark, credit_root, tmp_path)
    assert model.meta["spark_tasks"] == 2
    line = next(m for m in logs if "trained by" in m)
    assert "trained by 2 Spark tasks (LightGBM network, barrier mode)" in line and "> 1,000 " in line, line
    assert "network " in line  # the first task's wait for the others' ports, timed
    assert max(s["shuffle_write"] for s in stages) > 50_000, stages  # the rows repartitioned for the barrier
    assert 2 in [s["tasks"] for s in stages]


@pytest.fixture(scope="module")
def local_features(credit_root, tmp_path_factory):
    graph = _graph()
    result = pipelines.run(graph, store_root=tmp_path_factory.mktemp("local"), data_root=credit_root, engine="local")
    assert result.status == "succeeded"
    return result.output("features", "features"), result.output("gbdt", "model")


def test_the_one_task_model_is_the_local_engines_model(spark, local_features):
    """The same feature matrix (views and all) on both engines: the one-task path takes the GBDT view inside its
    task, dense as the local engine does, and LightGBM grows the same trees."""
    from operators.kernels.features import matrix_view
    from operators.kernels.models import load_scorer
    from operators.spark.frames import from_feature_matrix
    from operators.spark.models import train_gbdt
    from operators.library.models_gbdt import GBDTParams

    matrix, local_model = local_features
    assert matrix.views, "the auto features should carry model views"

    class Ctx:
        def log(self, message):
            self.message = message

        def check_cancelled(self):
            pass

    ctx = Ctx()
    params = GBDTParams(n_estimators=20, num_leaves=15, record_train_metrics=False)
    model = train_gbdt(ctx, {"features": from_feature_matrix(spark, matrix, partitions=3)}, params)["model"]
    assert model.meta["spark_tasks"] == 1 and "1 Spark task" in ctx.message
    assert model.meta["feature_names"] == local_model.meta["feature_names"]
    assert model.meta["categorical"] == local_model.meta["categorical"]
    X = matrix_view(matrix, "gbdt")[0].X
    np.testing.assert_allclose(load_scorer(model).predict_proba(X), load_scorer(local_model).predict_proba(X),
                               rtol=0, atol=1e-12)


def test_a_label_of_one_class_fails_the_model_as_on_the_local_engine(spark, credit_root, tmp_path):
    """The rows and positives the feature fit counted (Compact.label_counts) stand in for the model's own count,
    so they must catch what the count caught: here a training label of one class."""
    import pandas as pd

    table = pd.read_parquet(credit_root / "data" / "credit.parquet")
    table["default"] = 0
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "credit.parquet", index=False)
    errors = {}
    for engine in ("local", "spark"):
        before = last_job_id(spark)
        result = pipelines.run(_graph(), store_root=tmp_path / engine, data_root=tmp_path, engine=engine)
        assert result.status == "failed" and result.nodes["features"].error is None, engine
        errors[engine] = result.nodes["gbdt"].error["message"]
    assert "gbdt" not in jobs_per_node(spark, before)  # refused from the fit's counts, before any job
    assert errors["spark"] == errors["local"] and "one class" in errors["spark"], errors


def test_barrier_tasks_train_on_the_features_own_partitions_without_a_shuffle(spark, credit_root, tmp_path,
                                                                             monkeypatch):
    """A file read whole in as many partitions as barrier tasks, each with rows enough: the features read the file
    again (no cache) and the barrier tasks train on its partitions as they are, with no repartition's shuffle."""
    import pandas as pd

    monkeypatch.setenv("STUDIO_SPARK_GBDT_ONE_TASK_CELLS", "1000")
    table = pd.read_parquet(credit_root / "data" / "credit.parquet")
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "credit.parquet", index=False, row_group_size=4_000)
    saved = spark.conf.get("spark.sql.files.maxPartitionBytes")
    size = (tmp_path / "data" / "credit.parquet").stat().st_size
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(size // 2 + 1))  # a row group in each of two splits
    try:
        assert spark.read.parquet(str(tmp_path / "data" / "credit.parquet")).rdd.getNumPartitions() == 2
        model, logs, stages = _run_gbdt(spark, tmp_path, tmp_path / "store")
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", saved)
    assert model.meta["spark_tasks"] == 2
    assert "trained by 2 Spark tasks" in next(m for m in logs if "trained by" in m)
    # no rows repartitioned (the repartition wrote over 50,000 bytes: above); only the count of each partition's
    # rows shuffles its few partial counts
    assert 2 in [s["tasks"] for s in stages] and max(s["shuffle_write"] for s in stages) < 1_000, stages

"""The Spark engine's warm-up (pipelines.warmup): a built-in pipeline run through the session in a temporary store,
leaving no artifact, file or cached frame behind; a failing one is logged and leaves the session usable; the
studio's worker warms up at start, and a Spark run it takes meanwhile waits for the warm-up to finish."""
from __future__ import annotations

import logging
import shutil
import tempfile

import pytest

import pipelines
from pipelines import warmup
from pipelines.engines import jobs_per_node, last_job_id
from tests.spark.both import graph

MISSING = {"format": "studio.pipeline/1", "name": "broken warm-up", "edges": [],
           "nodes": [{"id": "import", "operator": "import_parquet", "params": {"path": "no-such.parquet"}}]}


def cached_rdds(spark) -> int:
    return spark.sparkContext._jsc.getPersistentRDDs().size()


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The process's temporary folder, for this test alone: what the warm-up leaves in it can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_the_warm_up_runs_every_node_on_spark_and_leaves_nothing_behind(spark, tmp_path, private_tmp, monkeypatch,
                                                                       caplog):
    monkeypatch.setenv("STUDIO_ARTIFACTS", str(tmp_path / "user-store"))  # a user's default store
    monkeypatch.chdir(tmp_path)  # and the CLI's default, ./.artifacts
    before_job, before_cached = last_job_id(spark), cached_rdds(spark)
    with caplog.at_level(logging.INFO, logger="pipelines.warmup"):
        outcome = warmup.warm_up(rows=3_000)

    assert outcome["status"] == "succeeded", outcome["error"]
    # split and predict run on the driver for the warm-up's small file (operators.spark.split.split_on_driver), as
    # for a user's file of up to STUDIO_SPARK_DRIVER_SPLIT_CELLS: no Spark job of their own; nor does features,
    # whose compact frame over those driver-held rows is read again, not cached, so its transform runs (and its
    # code is compiled) in gbdt's job (operators.spark.features)
    assert set(jobs_per_node(spark, before_job)) >= {"gbdt", "evaluate"}
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(" in ")[0] for m in messages] == ["Spark session started", "Spark warm-up finished"]
    assert cached_rdds(spark) == before_cached  # the run's cached frames were released
    assert not (tmp_path / "user-store").exists() and not (tmp_path / ".artifacts").exists()
    assert [p.name for p in private_tmp.iterdir() if "warm-up" in p.name] == []  # its store and data are gone


def test_a_failing_warm_up_is_logged_and_the_session_runs_the_next_pipeline(spark, credit_root, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="pipelines.warmup"):
        failed = warmup.warm_up(graph=MISSING)
        invalid = warmup.warm_up(graph={"format": "studio.pipeline/1", "nodes": [{"id": "x", "operator": "nope"}]})

    assert failed["status"] == "failed" and "'import'" in failed["error"] and "no-such.parquet" in failed["error"]
    assert invalid["status"] == "failed" and invalid["error"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "no-such.parquet" in warnings[0]
    result = pipelines.run(graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
                                  ("split", "split_random", {"ratio": 0.5})], [("import", "table", "split", "table")]),
                           store=pipelines.FileSystemStore(tmp_path / "store"), data_root=credit_root, engine="spark")
    assert result.status == "succeeded"


# ------------------------------------------------------------------------------------------------ the worker
@pytest.fixture
def spark_run(db, settings, tmp_path, credit_root):
    """A queued Spark run of alice's import -> split pipeline, its data in her project; the queue not immediate,
    as in a worker process."""
    from huey.contrib.djhuey import HUEY

    from studio.projects.models import Membership, Project, Role
    from studio.runs.service import start_run
    from studio.workflows.models import Pipeline
    from tests.studio.conftest import make_user

    settings.DATA_ROOT, settings.ARTIFACT_DIR = tmp_path / "data", tmp_path / "artifacts"
    alice = make_user("alice")
    project = Project.objects.create(name="A", created_by=alice)
    Membership.objects.create(project=project, user=alice, role=Role.OWNER)
    (project.data_root / "data").mkdir(parents=True)
    shutil.copy(credit_root / "data" / "credit.parquet", project.data_root / "data" / "credit.parquet")
    pipeline = Pipeline.objects.create(project=project, name="spark", created_by=alice)
    pipeline.save_graph(pipelines.from_json(graph(
        [("import", "import_parquet", {"path": "data/credit.parquet"}), ("split", "split_random", {"ratio": 0.5})],
        [("import", "table", "split", "table")])), alice)
    HUEY.immediate = False
    yield start_run(pipeline, user=alice, engine="spark")  # the test's transaction never commits: not enqueued
    HUEY.immediate = False


def start_worker(settings, monkeypatch, process_warmup: warmup.WarmUp) -> None:
    """What a starting worker does (studio.runs.tasks.warm_up_spark), with a warm-up of this test's own."""
    from studio.runs.tasks import warm_up_spark

    monkeypatch.setattr(warmup, "_worker", process_warmup)
    settings.SPARK_WARMUP = "on"
    warm_up_spark()


def test_the_worker_warms_spark_up_at_start_and_its_first_spark_run_waits_for_it(spark, spark_run, settings,
                                                                                 monkeypatch):
    from studio.runs.models import RunEvent
    from studio.runs.worker import execute

    start_worker(settings, monkeypatch, warmup.WarmUp(rows=3_000))
    assert warmup.pending()  # the run below is taken while the warm-up runs
    assert execute(spark_run.pk) == "succeeded"

    outcome = warmup.wait(0)
    assert outcome["status"] == "succeeded", outcome["error"]
    started = RunEvent.objects.get(run=spark_run, type="run_started")
    spark_run.refresh_from_db()
    assert outcome["finished_at"] <= spark_run.started_at.timestamp() <= started.time  # claimed once warm
    # the user's store holds the run's artifacts and nothing of the warm-up's six nodes
    made = {f for node in spark_run.nodes.all() for f in node.outputs.values()}
    stored = {p.name for p in (settings.ARTIFACT_DIR / "objects").glob("*/*")}
    assert made and stored == made


def test_a_worker_whose_warm_up_failed_runs_spark_pipelines(spark, spark_run, settings, monkeypatch):
    from studio.runs.worker import execute

    start_worker(settings, monkeypatch, warmup.WarmUp(graph=MISSING))
    assert execute(spark_run.pk) == "succeeded"
    assert warmup.wait(0)["status"] == "failed"


def test_the_warm_up_setting(settings):
    from studio.runs.tasks import spark_warmup_wanted

    settings.TRAINING_QUEUE_NAME = ""
    assert [spark_warmup_wanted() for settings.SPARK_WARMUP in ("on", "off", "auto", "yes")] == \
        [True, False, False, False]

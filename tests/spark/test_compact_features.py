"""A SparkFeatures is the kernel over a compact frame of raw columns (issue 19): the engine caches that frame,
not the wide vectors; a model's view computed from it (its blocks alone) equals the view's columns of the wide
vectors, out-of-fold target columns included; and numeric columns the fit counted get the local fit's exact
quantiles with no approxQuantile pass."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from operators.feature_state import FeatureConfig
from operators.kernels.features import matrix_view
from operators.library.features import fit_feature_state
from operators.spark.features import feature_extraction, fit_feature_state_spark
from operators.spark.frames import spark_view, to_feature_matrix
from operators.spark.tables import cached_frame
from pipelines.engines import SparkEngine
from operators import PortType

from .jobs import QuietContext as Ctx, jobs_of


@pytest.fixture(scope="module")
def credit(spark, credit_root):
    import pandas as pd

    table = pd.read_parquet(credit_root / "data" / "credit.parquet")
    df = spark.createDataFrame(table).cache()
    df.count()
    yield table, df
    df.unpersist()  # a later module may check that nothing of its run stays cached


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


def test_the_engine_caches_the_raw_columns_and_the_vectors_come_from_them(spark, credit):
    table, _ = credit
    df = spark.createDataFrame(table)  # a lineage that may cost more to run again than to cache
    params = FeatureConfig(label="default", exclude=["customer_id", "application_date"])
    features = feature_extraction(Ctx(), {"table": df}, params)["features"]
    compact = features.compact.frame
    inputs = [c["name"] for c in features.compact.state.meta["inputs"]]
    assert compact.columns == inputs + ["default"]
    assert cached_frame(features.dataframe) is compact  # what SparkEngine.handoff persists
    positives = int(df.filter("`default` = 1").count())
    assert features.compact.label_counts == (df.count(), positives) and 0 < positives < df.count()
    SparkEngine().handoff(PortType.FEATURES, features)
    try:
        assert compact.is_cached and not features.dataframe.is_cached
        assert features.dataframe.columns == ["features", "label"]  # the artifact's vectors, as before
    finally:
        SparkEngine().release(features)
    assert not compact.is_cached


def test_raw_columns_over_a_table_that_reads_again_cheaply_are_read_again_not_cached(spark, credit):
    """Over a cached table (or a file read whole, a split's side of one, rows the driver holds) the compact frame is
    a few columns, the label expression and the out-of-fold join of that table: the engine fills no cache with it,
    and a model's task and the writer read it again. Target blocks included: each read draws the same folds."""
    table, df = credit
    params = FeatureConfig(label="default", exclude=["customer_id", "application_date"],
                           columns={"region": ["target"], "income": ["standardize"]}, mode="manual")
    features = feature_extraction(Ctx(), {"table": df}, params)["features"]
    compact = features.compact.frame
    assert features.compact.oof and cached_frame(features.dataframe) is compact
    assert jobs_of(spark, lambda: SparkEngine().handoff(PortType.FEATURES, features)) == 0
    try:
        assert not compact.is_cached
        first = compact.toPandas()
        again = compact.toPandas()
        assert len(first) == len(table) and first.equals(again)  # the same out-of-fold values on every read
    finally:
        SparkEngine().release(features)


@pytest.mark.parametrize("view", ["lr", "gbdt"])
def test_a_view_from_the_raw_columns_equals_the_views_columns_of_the_wide_vectors(spark, credit, view):
    _, df = credit
    params = FeatureConfig(label="default", exclude=["customer_id", "application_date"],
                           columns={"purpose": ["target", "onehot"], "region": ["target"]})
    features = feature_extraction(Ctx(), {"table": df}, params)["features"]
    assert features.compact.oof  # out-of-fold columns of the target blocks travel in the compact frame
    wide = to_feature_matrix(features)
    expected, _ = matrix_view(wide, view)
    viewed, name = spark_view(features, view)
    assert name == view and viewed.compact is not None
    got = to_feature_matrix(viewed)
    assert got.names == expected.names and got.categorical == expected.categorical
    np.testing.assert_array_equal(_dense(got.X), _dense(expected.X))  # NaN where NaN, bit for bit elsewhere
    np.testing.assert_array_equal(got.label, wide.label)


def test_counted_numeric_columns_get_the_local_fits_quantiles_without_an_approx_pass(spark, credit):
    table, df = credit
    assert table["late_payments"].nunique() < 20 and table["age"].nunique() < 100  # both counted exactly
    config = FeatureConfig(label="default", mode="manual", bucket_granularities=[4, 7],
                           columns={"late_payments": ["buckets"], "age": ["clip", "buckets"]})
    out = []
    jobs = jobs_of(spark, lambda: out.append(fit_feature_state_spark(Ctx(), df, config)))
    assert jobs == 1  # the columns' summary pass (before: an aggregation and a grouped count, 2 + 2, and before
    # that approxQuantile, 2 more)
    state, local = out[0][0], fit_feature_state(table, config)[0]
    assert state.meta["blocks"] == local.meta["blocks"]  # clip bounds included: the very doubles
    assert sorted(state.arrays) == sorted(local.arrays)
    for key, array in local.arrays.items():
        np.testing.assert_array_equal(state.arrays[key], array)


def _pools_of_jobs_after(spark, after_job: int) -> set[str]:
    from py4j.protocol import Py4JJavaError

    store = spark.sparkContext._jsc.sc().statusStore()
    jobs, pools = store.jobsList(None), set()
    for i in range(jobs.size()):
        job = jobs.apply(i)
        if job.jobId() > after_job:
            ids = job.stageIds()
            for k in range(ids.size()):
                try:
                    pools.add(store.lastStageAttempt(ids.apply(k)).schedulingPool())
                except Py4JJavaError:  # a skipped stage has no attempt
                    continue
    return pools


def test_the_features_artifact_is_written_in_the_writers_pool_and_reads_back(spark, credit, tmp_path):
    from pipelines.engines import WRITES_POOL, last_job_id
    from pipelines.store import FeaturesCodec

    _, df = credit
    params = FeatureConfig(label="default", exclude=["customer_id", "application_date"])
    features = feature_extraction(Ctx(), {"table": df}, params)["features"]
    assert spark.conf.get("spark.scheduler.mode") == "FAIR"
    before = last_job_id(spark)
    with SparkEngine.persist_scope():  # as the executor's writer thread writes it
        meta = FeaturesCodec.save_spark(features, tmp_path)
    assert _pools_of_jobs_after(spark, before) == {WRITES_POOL}  # the nodes' jobs keep the slots they need
    before = last_job_id(spark)
    df.count()
    assert _pools_of_jobs_after(spark, before) == {"default"}  # the thread's next jobs are a node's again
    # the artifact is the compact frame, which the local engine reads without Spark into the wide vectors
    assert meta["layout"] == "compact"
    stored = FeaturesCodec.load(tmp_path, meta)
    np.testing.assert_array_equal(_dense(stored.X), _dense(to_feature_matrix(features).X))
    assert stored.names == features.names and stored.views == features.views


TARGETS = {"purpose": ["target", "onehot"], "region": ["target"]}


def _features_of(df, case: str):
    params = FeatureConfig(label="default", exclude=["customer_id", "application_date"],
                           columns=TARGETS if case == "target" else {})
    out = feature_extraction(Ctx(), {"table": df}, params)
    if case != "label-less":
        return out["features"]
    from operators.spark.features import apply_features

    return apply_features(Ctx(), {"table": df.drop("default"), "feature_state": out["feature_state"]}, None)[
        "features"]


def _assert_same(got, expected):
    assert got.names == expected.names and got.categorical == expected.categorical
    assert got.views == expected.views and got.label_name == expected.label_name
    np.testing.assert_allclose(_dense(got.X), _dense(expected.X), rtol=0, atol=1e-12, equal_nan=True)
    if expected.label is None:
        assert got.label is None
    else:
        np.testing.assert_array_equal(got.label, expected.label)


@pytest.mark.parametrize("case", ["plain", "target", "label-less"])
def test_the_compact_artifact_loads_on_both_engines_as_the_in_run_vectors(spark, credit, tmp_path, case):
    from pipelines import FileSystemStore

    _, df = credit
    features = _features_of(df, case)
    assert bool(features.compact.oof) == (case == "target") and (features.compact.label is None) == (
        case == "label-less")
    expected = to_feature_matrix(features)  # the in-run wide vectors
    store = FileSystemStore(tmp_path / "store")
    meta = store.save("f" * 64, PortType.FEATURES, features)
    assert meta["layout"] == "compact" and meta["rows"] == df.count() and meta["width"] == len(features.names)
    directory = store.path("f" * 64)
    # nothing pickled: Parquet parts (and Spark's checksums and _SUCCESS marker), JSON, npz read without pickle
    files = [p for p in directory.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".parquet", ".json", ".npz", ".crc", ""}, files
    assert all(p.name == "_SUCCESS" for p in files if p.suffix == "")
    assert not list(directory.glob("features.parquet"))  # no wide vectors written
    _assert_same(store.load("f" * 64), expected)  # the local engine: pyarrow and the kernel, no Spark
    on_spark = store.load("f" * 64, engine=SparkEngine())
    assert on_spark.compact is not None and on_spark.compact.oof == features.compact.oof
    assert on_spark.compact.label_counts == features.compact.label_counts
    _assert_same(to_feature_matrix(on_spark), expected)
    if case == "target":  # a model's view of the reloaded artifact, as in the run
        viewed, _ = spark_view(on_spark, "gbdt")
        _assert_same(to_feature_matrix(viewed), to_feature_matrix(spark_view(features, "gbdt")[0]))


def test_an_old_wide_features_artifact_still_loads_on_both_engines(spark, credit, tmp_path):
    from dataclasses import replace

    from pipelines import FileSystemStore

    _, df = credit
    features = _features_of(df, "target")
    wide = replace(features, compact=None)  # as the artifact was written before the compact layout
    expected = to_feature_matrix(features)
    store = FileSystemStore(tmp_path / "store")
    meta = store.save("e" * 64, PortType.FEATURES, wide)
    assert "layout" not in meta and (store.path("e" * 64) / "features.parquet").is_dir()
    _assert_same(store.load("e" * 64), expected)
    on_spark = store.load("e" * 64, engine=SparkEngine())
    assert on_spark.compact is None
    _assert_same(to_feature_matrix(on_spark), expected)


@pytest.mark.parametrize("ops", [["onehot"], ["frequency", "ordinal"], ["hash"]])
def test_a_timestamp_read_as_a_category_loads_locally_as_on_spark(spark, credit, tmp_path, ops):
    """A timestamp column forced to be a categorical input (`columns`): Spark hands its tasks times in UTC
    microseconds, its Parquet writer stores them as INT96, which pyarrow reads back as naive nanoseconds. The
    compact artifact loaded by the local engine gives the in-run features, each date in its own category."""
    from pyspark.sql import functions as F

    from pipelines import FileSystemStore

    table, df = credit
    # times of day too, not only midnights: a second past noon, and 23:59:59.5 (a fraction of a second)
    timed = df.withColumn("application_date", F.col("application_date") + F.expr(
        "CASE WHEN customer_id % 3 = 0 THEN INTERVAL '12:00:01' HOUR TO SECOND "
        "WHEN customer_id % 3 = 1 THEN INTERVAL '23:59:59.5' HOUR TO SECOND ELSE INTERVAL '0' SECOND END"))
    assert dict(timed.dtypes)["application_date"] == "timestamp"
    params = FeatureConfig(label="default", exclude=["customer_id"], columns={"application_date": ops})
    features = feature_extraction(Ctx(), {"table": timed}, params)["features"]
    spec = next(c for c in features.compact.state.meta["inputs"] if c["name"] == "application_date")
    assert spec["kind"] != "numeric"
    expected = to_feature_matrix(features)  # the in-run vectors: the kernel over Spark's Arrow batches
    date_columns = [i for i, n in enumerate(expected.names) if "application_date" in n]
    assert date_columns and len(np.unique(_dense(expected.X)[:, date_columns], axis=0)) > 1  # dates tell rows apart
    store = FileSystemStore(tmp_path / "store")
    assert store.save("d" * 64, PortType.FEATURES, features)["layout"] == "compact"
    _assert_same(store.load("d" * 64), expected)  # the local engine: pyarrow and the kernel, no Spark
    _assert_same(to_feature_matrix(store.load("d" * 64, engine=SparkEngine())), expected)

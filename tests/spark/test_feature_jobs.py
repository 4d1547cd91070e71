"""The Spark feature fit in few Spark jobs, counted from Spark's status store (tests/spark/jobs.py), not timed
(issue 19): one pass summarising every column (operators.spark.column_summary: profiles, exact distinct counts,
the label's classes, the category frequencies and the quantile sketches together); a grouped count only for a
column of many values that a block needs the frequencies of; an adaptive aggregation is two jobs (its map stage
and its result). The transform counts no label again. The states are the local
fit's (tests/spark/test_parity.py holds the tolerances; here the parts that must be equal)."""
from __future__ import annotations

import numpy as np
import pytest

from operators import OperatorError
from operators.feature_state import FeatureConfig
from operators.library.features import fit_feature_state
from operators.spark.features import feature_extraction, fit_feature_state_spark

from .jobs import QuietContext as Ctx, jobs_of

PROFILES, GROUPED = 1, 2  # jobs: the columns' summary pass, a grouped count
# the node's check of the text columns auto mode made categories of, on their first 200 rows, for a column of
# numbers with a few odd cells (operators.spark.features.not_numbers_lines; no job for rows the driver holds)
SAMPLE = 1


@pytest.fixture(scope="module")
def credit(spark, credit_root):
    import pandas as pd

    path = credit_root / "data" / "credit.parquet"
    table = pd.read_parquet(path)
    rng = np.random.default_rng(7)
    table["wide"] = [f"w{i}" for i in rng.integers(0, 400, len(table))]  # above the exact-count threshold
    table["answer"] = np.where(table["default"] == 1, "yes", "no")
    df = spark.createDataFrame(table).cache()
    df.count()  # filled here, not in the first block counted
    yield table, df
    df.unpersist()  # a later module may check that nothing of its run stays cached


def _blocks(state):
    keys = ("op", "column", "vocab", "granularities")
    return [{k: v for k, v in b.items() if k in keys} for b in state.meta["blocks"]]


def test_auto_feature_extraction_fits_in_one_summary_pass(spark, credit):
    table, df = credit
    params = FeatureConfig(label="answer", exclude=["customer_id", "application_date", "default", "wide"])
    out = []
    jobs = jobs_of(spark, lambda: out.append(feature_extraction(Ctx(), {"table": df}, params)))
    # main ran 11: a separate exact distinct count (3), the label's classes in the fit and again in the transform
    # (2 + 2) and the categories' grouped count; then 6: an aggregation and a grouped count (2 + 2) for the profiles
    # and approxQuantile (2)
    assert jobs == PROFILES + SAMPLE  # region and purpose are text; neither looks like numbers, so no count follows
    state = out[0]["feature_state"]
    local, _ = fit_feature_state(table, params)
    assert state.meta["label_classes"] == local.meta["label_classes"] == ["no", "yes"]
    assert _blocks(state) == _blocks(local)
    assert state.meta["names"] == local.meta["names"]
    # the transform's label is the fit's classes: 1.0 for "yes", no job counted it again
    labels = out[0]["features"].dataframe.select("label").toPandas()["label"].to_numpy()
    assert np.array_equal(labels, (table["answer"] == "yes").to_numpy(dtype=float))


def test_target_blocks_take_the_prior_from_their_own_grouped_count(spark, credit):
    table, df = credit
    config = FeatureConfig(label="default", mode="manual", columns={"purpose": ["target"], "region": ["target"]})
    out = []
    jobs = jobs_of(spark, lambda: out.append(fit_feature_state_spark(Ctx(), df, config)))
    assert jobs == PROFILES + 2 * 2  # per target block one grouped count (main: and a mean, 2 more)
    state = out[0][0]
    local, _ = fit_feature_state(table, config)
    for i, block in enumerate(state.meta["blocks"]):
        assert block["prior"] == local.meta["blocks"][i]["prior"] == table["default"].mean()
        assert block["vocab"] == local.meta["blocks"][i]["vocab"]
        np.testing.assert_allclose(state.arrays[f"b{i}.values"], local.arrays[f"b{i}.values"], rtol=1e-12)


def test_columns_beyond_the_exact_count_are_counted_in_one_more_grouped_count(spark, credit):
    table, df = credit
    config = FeatureConfig(label="default", mode="manual", columns={"wide": ["onehot"], "region": ["frequency"]})
    out = []
    jobs = jobs_of(spark, lambda: out.append(fit_feature_state_spark(Ctx(), df, config)))
    assert jobs == PROFILES + GROUPED  # region and the label counted in the summary pass, wide in a grouped count
    local, _ = fit_feature_state(table, config)
    assert _blocks(out[0][0]) == _blocks(local)
    assert sorted(out[0][0].arrays) == sorted(local.arrays) and any(k.endswith(".values") for k in local.arrays)
    for name, values in local.arrays.items():  # the frequencies
        np.testing.assert_allclose(out[0][0].arrays[name], values, rtol=1e-12)


def test_a_label_of_many_values_is_counted_apart_and_refused_as_before(spark, credit):
    _, df = credit
    with pytest.raises(OperatorError, match=r"label column 'wide' must hold two values; it holds 400") as error:
        fit_feature_state_spark(Ctx(), df, FeatureConfig(label="wide", exclude=["customer_id"]))
    assert (error.value.field, error.value.column) == ("label", "wide")

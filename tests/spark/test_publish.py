"""Publishing from a Spark run, and batch scoring with the published bundle on Spark: a bundle that loads and
verifies, and scores equal to the local engine's, number for number."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipelines
from tests.spark.both import assert_same_rows, error_of, graph, one_operator, run_both

DEPLOYMENT = "credit-spark"


@pytest.fixture(scope="module")
def published(spark, credit_root, tmp_path_factory):
    """A Spark run: import -> split -> features -> LR -> publish_model; its bundle's path."""
    g = graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
               ("split", "split_random", {"ratio": 0.7, "seed": 5}),
               ("features", "feature_extraction", {"label": "default",
                                                   "exclude": ["customer_id", "application_date"]}),
               ("train", "train_lr", {"C": 0.5}),
               ("publish", "publish_model", {"deployment": DEPLOYMENT})],
              [("import", "table", "split", "table"), ("split", "first", "features", "table"),
               ("features", "features", "train", "features"), ("train", "model", "publish", "model"),
               ("features", "feature_state", "publish", "feature_state"), ("split", "second", "publish", "table")])
    events = []
    result = pipelines.run(g, store_root=tmp_path_factory.mktemp("publish"), data_root=credit_root, engine="spark",
                           on_event=events.append)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    assert not [e for e in events if "no Spark implementation" in str(e.data.get("message", ""))]
    return Path(result.output("publish", "deployment")["bundle"])


def test_publish_on_spark_writes_a_bundle_that_loads_and_verifies(published, credit_root):
    from pipelines.bundle import load_bundle

    bundle = load_bundle(published, verify=True)  # hashes, then the held-out rows replayed within 1e-9
    assert bundle.name == DEPLOYMENT and bundle.model.kind == "lr"
    assert {s["name"] for s in bundle.input_spec} >= {"income", "region", "late_payments"}
    rows = pd.read_parquet(credit_root / "data" / "credit.parquet").head(50)
    probability = bundle.score_table(rows)["probability"]
    assert probability.shape == (50,) and np.all((probability > 0) & (probability < 1))


@pytest.fixture
def scoring_root(published, credit_root, tmp_path):
    """A data root with the credit table and two bad versions of it; a store per engine holding the bundle
    where score_with_deployment looks for it (the store's bundles/ folder)."""
    root = tmp_path / "data-root"
    (root / "data").mkdir(parents=True)
    table = pd.read_parquet(credit_root / "data" / "credit.parquet")
    table.to_parquet(root / "data" / "credit.parquet", index=False)
    table.drop(columns=["income"]).to_parquet(root / "data" / "no_income.parquet", index=False)
    text = table.assign(income=table["income"].map(lambda v: None if pd.isna(v) else f"{v:.2f}"))
    text.loc[0, "income"] = "unknown"  # the first row: pandas names its position, 0 on both engines
    text.to_parquet(root / "data" / "text_income.parquet", index=False)
    for engine in ("local", "spark"):
        shutil.copytree(published, tmp_path / engine / "bundles" / DEPLOYMENT / published.name)
    return root


def test_score_with_deployment_on_spark_gives_the_local_numbers(spark, scoring_root, tmp_path):
    g = one_operator("score_with_deployment", {"deployment": DEPLOYMENT}, {"table": "data/credit.parquet"})
    local, distributed = run_both(g, scoring_root, tmp_path)
    assert distributed.status == "succeeded", distributed.nodes["n"].error
    expected, got = local.output("n", "table"), distributed.output("n", "table")
    assert list(got.columns)[-2:] == ["probability", "predicted_label"]
    assert_same_rows(expected, got, rtol=0)  # the bundle's own kernels: equal, not close


@pytest.mark.parametrize("params,path,names", [
    ({"deployment": "nope"}, "data/credit.parquet", {"field": "deployment"}),
    ({"deployment": DEPLOYMENT}, "data/no_income.parquet", {"port": "table"}),
    # only a task meets the bad value: the error is carried back from Spark
    ({"deployment": DEPLOYMENT}, "data/text_income.parquet", {"port": "table"}),
], ids=["unknown-deployment", "missing-column", "text-in-a-number-column"])
def test_score_with_deployment_bad_input_gets_the_local_error(spark, scoring_root, tmp_path, params, path, names):
    local, distributed = run_both(one_operator("score_with_deployment", params, {"table": path}), scoring_root,
                                  tmp_path)
    expected, got = error_of(local), error_of(distributed)
    assert "traceback" not in got and got == expected
    assert names.items() <= got.items()

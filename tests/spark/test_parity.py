"""Spark local[2] against the local engine on the same data: the same split rows, fitted states within the
stated tolerances (operators/spark/features.py), identical features for one fitted state, AUC within 0.005."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import pipelines
from tests.spark.graphs import credit_pipeline

AUC_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def both_runs(spark, credit_root, tmp_path_factory):
    graph = credit_pipeline()
    runs = {}
    for engine in ("local", "spark"):
        store = pipelines.FileSystemStore(tmp_path_factory.mktemp(f"store-{engine}"))
        events = []
        with pytest.MonkeyPatch.context() as patch:
            # GBDT's networked path (barrier tasks) is the one compared here: these 8,000 rows would train in one
            # task (tests/spark/test_gbdt_paths.py compares that path with the local model)
            patch.setenv("STUDIO_SPARK_GBDT_ONE_TASK_CELLS", "1000")
            result = pipelines.run(graph, store=store, data_root=credit_root, engine=engine, on_event=events.append)
        failures = {nid: r.error for nid, r in result.nodes.items() if r.status != "succeeded"}
        assert result.status == "succeeded", failures
        runs[engine] = (result, events)
    return runs


def test_split_sends_the_same_rows_to_each_side(both_runs):
    local, spark = both_runs["local"][0], both_runs["spark"][0]
    for port in ("first", "second"):
        a = set(local.output("split", port)["customer_id"])
        b = set(spark.output("split", port)["customer_id"])
        assert a == b, f"{port}: {len(a ^ b)} rows differ"


def test_fitted_feature_states_agree_within_tolerance(both_runs):
    from operators.spark.features import QUANTILE_RELATIVE_ERROR

    local = both_runs["local"][0].output("features", "feature_state")
    spark = both_runs["spark"][0].output("features", "feature_state")
    table = both_runs["local"][0].output("split", "first")
    assert local.meta["inputs"] == spark.meta["inputs"]
    assert local.meta["names"] == spark.meta["names"]
    assert [b["op"] for b in local.meta["blocks"]] == [b["op"] for b in spark.meta["blocks"]]
    for a, b in zip(local.meta["blocks"], spark.meta["blocks"], strict=True):
        for key in ("fill", "mean", "scale", "lo", "span", "missing_value"):
            if key in a:
                assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), (a["op"], a.get("column"), key)
        for key in ("vocab", "granularities", "n_dims"):
            assert a.get(key) == b.get(key), (a["op"], a.get("column"), key)
    for name, edges in local.arrays.items():
        other = spark.arrays[name]
        if ".edges" not in name:
            np.testing.assert_allclose(other, edges, rtol=1e-9, err_msg=name)
            continue
        # approxQuantile's edges, as operators/spark/features.py states: each within ceil(n * relative error
        # + 0.5) ranks of numpy's edge (ties count as one rank): 2 rows on these 5,000-odd rows
        assert len(other) == len(edges), name
        block = local.meta["blocks"][int(name[1:name.index(".")])]
        column = block.get("column") or block["parts"][int(name[-1])]["column"]
        x = np.sort(table[column].dropna().to_numpy(dtype=np.float64))
        lo_a, hi_a = np.searchsorted(x, edges, "left"), np.searchsorted(x, edges, "right")
        lo_b, hi_b = np.searchsorted(x, other, "left"), np.searchsorted(x, other, "right")
        gap_rows = np.maximum(0, np.maximum(lo_a - hi_b, lo_b - hi_a))
        assert gap_rows.max() <= np.ceil(len(x) * QUANTILE_RELATIVE_ERROR + 0.5), (name, gap_rows.max())


def test_features_are_identical_for_the_same_fitted_state(spark, both_runs):
    from operators.library.features import apply_state
    from operators.spark.features import transform_on_spark
    from operators.spark.frames import to_feature_matrix

    result = both_runs["local"][0]
    state = result.output("features", "feature_state")
    table = result.output("split", "second")
    local = apply_state(table, state)
    frame = spark.createDataFrame(table)  # partitions hold the rows in order, so collect keeps the order
    assert frame.rdd.getNumPartitions() > 1
    distributed = to_feature_matrix(transform_on_spark(frame, state, label="default"))
    assert distributed.names == local.names
    assert sp.issparse(local.X) and sp.issparse(distributed.X)
    assert np.array_equal(local.X.toarray(), distributed.X.toarray(), equal_nan=True)
    assert np.array_equal(local.label, distributed.label)


def test_models_have_the_local_formats_and_auc_within_tolerance(both_runs):
    local, spark = both_runs["local"][0], both_runs["spark"][0]
    for node in ("train_gbdt", "train_lr"):
        a, b = local.output(node, "model"), spark.output(node, "model")
        assert a.kind == b.kind and a.meta["feature_names"] == b.meta["feature_names"]
        assert sorted(a.arrays) == sorted(b.arrays) and sorted(a.texts) == sorted(b.texts)
    assert spark.output("train_gbdt", "model").meta["spark_tasks"] == 2, "GBDT did not train across two tasks"
    assert spark.output("train_gbdt", "model").texts["model"].startswith("tree\n")
    lm, sm = local.metrics["evaluate"], spark.metrics["evaluate"]
    print(f"GBDT AUC local {lm['auc']:.4f} spark {sm['auc']:.4f}; LR AUC local {lm['b_auc']:.4f} "
          f"spark {sm['b_auc']:.4f}")
    assert abs(lm["auc"] - sm["auc"]) <= AUC_TOLERANCE
    assert abs(lm["b_auc"] - sm["b_auc"]) <= AUC_TOLERANCE
    assert sm["auc"] > 0.7 and sm["b_auc"] > 0.7
    assert set(lm) <= set(sm) | set(), sorted(set(lm) - set(sm))
    for key in ("rows", "tp", "fp", "tn", "fn"):
        assert isinstance(sm[key], int)
    assert sm["rows"] == lm["rows"]


def test_binned_evaluation_matches_exact_metrics(both_runs):
    """The Spark evaluation of the local engine's scores equals scikit-learn's within the bins' resolution."""
    from operators.library.evaluate import binary_metrics
    from operators.spark.evaluate import binned_metrics, binned_scores
    from pipelines.engines import spark_session

    scored = both_runs["local"][0].output("predict_lr", "table")
    exact = binary_metrics(scored["default"].to_numpy(), scored["probability"].to_numpy(), 0.5)
    binned = binned_metrics(binned_scores(spark_session().createDataFrame(scored), "default", "probability"), 0.5)
    for key in ("auc", "ks", "pr_auc"):
        assert binned[key] == pytest.approx(exact[key], abs=1e-3), key
    for key in ("logloss", "brier", "accuracy", "precision", "recall", "f1"):
        assert binned[key] == pytest.approx(exact[key], rel=1e-9), key
    for key in ("tp", "fp", "tn", "fn", "rows"):
        assert binned[key] == exact[key], key


def test_spark_run_reports_stage_progress_and_the_report_has_the_local_charts(both_runs):
    local, _ = both_runs["local"]
    spark, events = both_runs["spark"]
    spark_progress = [e for e in events if e.type == "node_progress" and "spark" in e.data]
    assert spark_progress, "no Spark job/stage progress became a node progress event"
    assert {"tasks_done", "tasks_total"} <= set(spark_progress[-1].data["spark"])
    assert sorted(local.output("evaluate", "report").figures) == sorted(spark.output("evaluate", "report").figures)


@pytest.mark.parametrize("node", ["train_gbdt", "train_lr"])
def test_spark_trained_model_publishes_and_its_bundle_passes_the_parity_check(both_runs, tmp_path, node):
    from pipelines.bundle import load_bundle, write_bundle

    result = both_runs["spark"][0]
    model = result.output(node, "model")
    state = result.output("features", "feature_state")
    scored = result.output(f"predict_{node.removeprefix('train_')}", "table")  # scored on Spark
    holdout = scored.drop(columns=["probability", "predicted_label"])
    bundle = load_bundle(write_bundle(tmp_path / "bundle", name="credit", model=model, feature_state=state,
                                      holdout=holdout), verify=True)  # replays its held-out rows on load
    online = bundle.score_table(holdout.head(100))["probability"]
    np.testing.assert_allclose(online, scored["probability"].head(100).to_numpy(), rtol=0, atol=1e-9)


def test_crosses_fit_and_transform_alike(spark, both_runs):
    """Hashed crosses of two categories and of a bucketized number with a category: the same state from both
    fits (cross edges within the quantile tolerance), and identical features from one state."""
    from operators.library.features import FeatureConfig, apply_state, fit_feature_state
    from operators.spark.features import fit_feature_state_spark, transform_on_spark
    from operators.spark.frames import to_feature_matrix

    class Ctx:
        def progress(self, *args):
            pass

    table = both_runs["local"][0].output("split", "first")
    config = FeatureConfig(label="default", mode="manual", columns={"income": ["standardize"]},
                           crosses=[["region", "purpose"], ["age", "home_ownership"]], cross_dims=64)
    local, _ = fit_feature_state(table, config)
    frame = spark.createDataFrame(table)
    distributed, _, _ = fit_feature_state_spark(Ctx(), frame, config)
    for a, b in zip(local.meta["blocks"], distributed.meta["blocks"], strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            assert b[key] == (pytest.approx(value, rel=1e-9) if isinstance(value, float) else value), key
    assert local.meta["names"] == distributed.meta["names"]
    np.testing.assert_allclose(distributed.arrays["b2.edges0"], local.arrays["b2.edges0"])  # age: exact ranks
    a = apply_state(table, local)
    b = to_feature_matrix(transform_on_spark(frame, local, label="default"))
    assert np.array_equal(a.X.toarray(), b.X.toarray())


def test_target_encoding_on_spark(spark, both_runs):
    """Target encoding: the full-data encoding (what new rows get) equals the local fit's; the training rows
    get out-of-fold encodings from other folds only, never their own label."""
    from operators.library.features import FeatureConfig, fit_feature_state
    from operators.spark.features import fit_feature_state_spark, transform_on_spark
    from operators.spark.frames import to_feature_matrix

    class Ctx:
        def progress(self, *args):
            pass

    table = both_runs["local"][0].output("split", "first")
    config = FeatureConfig(label="default", mode="manual", columns={"purpose": ["target"]})
    local, _ = fit_feature_state(table, config)
    distributed, with_oof, oof = fit_feature_state_spark(Ctx(), spark.createDataFrame(table), config)
    assert distributed.meta["blocks"][0]["vocab"] == local.meta["blocks"][0]["vocab"]
    assert distributed.meta["blocks"][0]["prior"] == pytest.approx(local.meta["blocks"][0]["prior"], rel=1e-12)
    np.testing.assert_allclose(distributed.arrays["b0.values"], local.arrays["b0.values"], rtol=1e-12)
    features = to_feature_matrix(transform_on_spark(with_oof, distributed, label="default", oof=oof))
    encoded = features.X.toarray()[:, 0] if hasattr(features.X, "toarray") else features.X[:, 0]
    assert features.n_rows == len(table)
    full = dict(zip(local.meta["blocks"][0]["vocab"], local.arrays["b0.values"], strict=True))
    assert not np.allclose(encoded, [full[v] for v in table["purpose"]]), "training rows got the full encoding"
    assert abs(encoded.mean() - local.meta["blocks"][0]["prior"]) < 0.02


def test_both_fits_refuse_target_encoding_without_a_label_and_share_their_messages(spark, both_runs):
    """One builder makes both states, so a check holds on both engines: target encoding needs the label (once
    only the Spark fit checked it, and the local one failed on None)."""
    from operators import OperatorError
    from operators.feature_state import FeatureConfig, FeatureMessages
    from operators.library.features import fit_feature_state
    from operators.spark.features import fit_feature_state_spark

    class Ctx:
        def progress(self, *args):
            pass

    table = both_runs["local"][0].output("split", "first").drop(columns=["default"])
    config = FeatureConfig(label="", mode="manual", columns={"purpose": ["target"], "income": ["raw"]})
    for fit in (lambda: fit_feature_state(table, config),
                lambda: fit_feature_state_spark(Ctx(), spark.createDataFrame(table), config)):
        with pytest.raises(OperatorError) as err:
            fit()
        assert err.value.message == FeatureMessages.target_needs_label and err.value.field == "label"

"""Drift: the bundle keeps quantile edges and category shares of the rows it was published with (no rows);
served rows from the same distribution give every PSI < 0.1, one shifted input gives that input > 0.25 and the
others < 0.1, never-seen categories are counted, and check_drift fails the run naming the input."""
from __future__ import annotations

import json

import numpy as np
import pytest

import pipelines
from pipelines.bundle import load_bundle, table_to_columns, write_bundle

from .conftest import train


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from operators.library.sample_data import credit_default_table

    state, model = train(n_train=3000, seed=3, trees=30)
    folder = tmp_path_factory.mktemp("drift") / "bundle"
    write_bundle(folder, name="credit", version="1", model=model, feature_state=state,
                 holdout=credit_default_table(5000, seed=21))
    return load_bundle(folder)


def log_rows(directory, bundle, table, request_id="r"):
    """Serve `table` into a prediction log with the serving process's own writer."""
    from studio.serving.predlog import PredictionLog

    columns = table_to_columns(table, bundle.input_spec)
    log = PredictionLog(directory, flush_interval=3600)
    log.record(request_id, "credit", bundle.version, columns, len(table), bundle.predict(columns, len(table)))
    log.close()


def served(seed: int, n: int = 4000):
    from operators.library.sample_data import credit_default_table

    return credit_default_table(n, seed=seed)


def report_for(tmp_path, bundle, table):
    from operators.prediction_log import served_drift

    log_rows(tmp_path / "log", bundle, table)
    report = served_drift(tmp_path / "log", "credit", bundle.statistics)
    return report, {f["name"]: f for f in report["features"]}


def test_the_bundle_keeps_statistics_not_rows(published):
    text = (published.path / "statistics.json").read_text()
    statistics = json.loads(text)
    assert statistics["rows"] == 5000 and statistics["inputs"]["age"]["kind"] == "numeric"
    score = statistics["score"]
    assert len(statistics["inputs"]["age"]["edges"]) == 9 and abs(sum(score["fractions"]) + score["missing"] - 1) < 1e-9
    assert statistics["inputs"]["region"]["kind"] == "categorical"
    assert "statistics.json" in published.manifest["files"]  # verified on load like every other file
    assert len(text) < 50_000  # a summary, not the 5,000 rows


def test_same_distribution_is_stable_and_one_shifted_input_stands_out(tmp_path, published):
    report, by_name = report_for(tmp_path / "same", published, served(seed=8))
    assert report["rows"] == 4000
    assert all(f["psi"] < 0.1 for f in report["features"]), by_name
    assert report["score"]["psi"] < 0.1

    shifted = served(seed=9)
    shifted["income"] = shifted["income"] * 2.5
    report, by_name = report_for(tmp_path / "shifted", published, shifted)
    assert by_name["income"]["psi"] > 0.25
    assert all(f["psi"] < 0.1 for name, f in by_name.items() if name != "income"), by_name


def test_unseen_categories_and_missing_values_are_counted(tmp_path, published):
    table = served(seed=10)
    table.loc[:399, "region"] = "atlantis"
    table.loc[400:1399, "age"] = np.nan
    report, by_name = report_for(tmp_path, published, table)
    assert by_name["region"]["unseen"] == 400 and by_name["region"]["unseen_values"] == ["atlantis"]
    assert by_name["region"]["psi"] > 0.25
    assert by_name["age"]["missing_share"] == 0.25 and by_name["age"]["psi"] > 0.25


def check_drift(tmp_path, bundle, **params):
    logs = {"credit": {"directory": tmp_path / "log", "labels": lambda: None}}
    executor = pipelines.Executor(pipelines.FileSystemStore(tmp_path / "store"), data_root=tmp_path,
                                  prediction_logs=logs.get, bundles=lambda name, version: bundle.path
                                  if name == "credit" else None)
    graph = pipelines.from_json({"nodes": [{"id": "drift", "operator": "check_drift",
                                            "params": {"deployment": "credit", **params}}], "edges": []})
    result = executor.run(graph)
    return result, result.nodes["drift"]


def test_check_drift_fails_the_run_naming_the_input(tmp_path, published):
    log_rows(tmp_path / "log", published, served(seed=11))
    result, node = check_drift(tmp_path, published)
    assert result.status == "succeeded", node.error
    metrics = result.output("drift", "metrics")
    assert metrics["rows"] == 4000 and metrics["psi_income"] < 0.1 and "unseen_region" in metrics
    figure = result.output("drift", "report").figures["drift"]
    assert set(figure["data"][0]["x"]) == {s["name"] for s in published.input_spec}

    shifted = served(seed=12)
    shifted["income"] = shifted["income"] * 2.5
    log_rows(tmp_path / "log", published, shifted, request_id="s")
    result, node = check_drift(tmp_path, published)
    assert result.status == "failed"
    assert "'credit' drifted: income (PSI" in node.error["message"]
    assert "age" not in node.error["message"]
    result, node = check_drift(tmp_path, published, min_rows=100_000)
    assert result.status == "failed" and "needs at least 100,000" in node.error["message"]
    result, node = check_drift(tmp_path, published, deployment="other")
    assert result.status == "failed" and "no deployment 'other'" in node.error["message"]


def test_serving_metrics_carry_the_same_drift_figures(tmp_path, published):
    """The serving process's /metrics gauges equal the report computed from its prediction log."""
    from operators.prediction_log import served_drift
    from prometheus_client.parser import text_string_to_metric_families

    from .conftest import registry_models, serving_process, v2_json

    table = served(seed=13, n=600)
    table["income"] = table["income"] * 2.5
    columns = table_to_columns(table, published.input_spec)
    with serving_process(tmp_path, {"SERVING_DRIFT_REFRESH_SECONDS": "0.2"}) as server:
        pipelines.bundle.write_registry(server.registry, registry_models({"1": published.path}, "1"))
        server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=10, what="live")
        for start in range(0, 600, 200):
            part = {k: v[start:start + 200] for k, v in columns.items()}
            assert server.post_json("/v2/models/credit/infer", v2_json(part, published.input_spec))[0] == 200

        def gauges():
            text = server.get_text("/metrics")
            return {(s.name, s.labels.get("input", "")): s.value for f in text_string_to_metric_families(text)
                    for s in f.samples if s.labels.get("model") == "credit" and "psi" in s.name or
                    s.name == "serving_drift_rows"}

        server.wait_for(lambda: gauges().get(("serving_drift_rows", "")) == 600, timeout=20, what="drift gauges")
        found = gauges()
    report = served_drift(tmp_path / "var" / "serving" / "prediction_log", "credit", published.statistics)
    assert report["rows"] == 600
    for feature in report["features"]:
        assert abs(found[("serving_input_psi", feature["name"])] - feature["psi"]) < 1e-9
    assert found[("serving_input_psi", "income")] > 0.25
    assert abs(found[("serving_score_psi", "")] - report["score"]["psi"]) < 1e-9


def test_a_few_served_rows_are_drawn_grey_as_too_few_to_judge_and_enough_rows_by_threshold(tmp_path, published):
    """One Try it request (a row or a few) gave PSIs of about 8 in alarm red on the deployment page; below the
    check's minimum the figure greys every bar and its title says so, from the minimum on it colours by PSI."""
    from operators.library.drift import MIN_ROWS, TOO_FEW_COLOUR, drift_figure

    few, _ = report_for(tmp_path / "few", published, served(seed=8).head(3))
    assert few["rows"] == 3 and max(f["psi"] for f in few["features"]) > 0.25  # what a reader would take for drift
    figure = drift_figure(few)
    assert set(figure["data"][0]["marker"]["color"]) == {TOO_FEW_COLOUR}
    title = figure["layout"]["title"]["text"]
    assert "too few to judge" in title and f"{MIN_ROWS:,}" in title

    shifted = served(seed=9).head(MIN_ROWS * 10)
    shifted["income"] = shifted["income"] * 2.5
    enough, by_name = report_for(tmp_path / "enough", published, shifted)
    figure = drift_figure(enough)
    colours = dict(zip(figure["data"][0]["x"], figure["data"][0]["marker"]["color"], strict=True))
    assert colours["income"] == "#c0392b" and TOO_FEW_COLOUR not in colours.values(), by_name
    assert "too few" not in figure["layout"]["title"]["text"]

"""Bundles: written without pickle, exported as .tar.gz, and refused on load when anything was tampered with."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from pipelines.bundle import BundleRefused, export_tar, load_bundle, table_to_columns
from tests.conftest import REPO


@pytest.fixture
def copy(tmp_path, bundles):
    target = tmp_path / "bundle"
    shutil.copytree(bundles["1"], target)
    return target


def _rehash(bundle, relative):
    """Update the manifest's hash of a file, as a tamperer who knows the format would."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"][relative] = hashlib.sha256((bundle / relative).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def test_bundle_holds_spec_states_and_holdout(bundles, scoring_table):
    bundle = load_bundle(bundles["1"])
    manifest = bundle.manifest
    assert manifest["name"] == "credit" and manifest["version"] == "1" and manifest["created"]
    assert {i["name"] for i in manifest["inputs"]} == {"age", "income", "debt_ratio", "credit_limit",
                                                       "late_payments", "months_employed", "education",
                                                       "home_ownership", "region", "purpose"}
    assert [o["name"] for o in manifest["outputs"]] == ["probability", "label", "contributions"]
    assert manifest["holdout"] == {"rows": 100, "tolerance": 1e-9}
    assert manifest["target"] == "default"  # the label column's name: a labels CSV may name its column so
    files = {p.relative_to(bundles["1"]).as_posix() for p in bundles["1"].rglob("*") if p.is_file()}
    assert {"manifest.json", "holdout.json", "model/model.txt", "feature_state/arrays.npz"} <= files
    for path in bundles["1"].rglob("*"):  # no pickle anywhere (protocol 2+ starts with 0x80)
        if path.is_file():
            assert not path.read_bytes().startswith(b"\x80"), path
    rows = scoring_table.head(5)
    out = bundle.predict(table_to_columns(rows, bundle.input_spec), 5)
    assert out["probability"].shape == (5,) and set(np.unique(out["label"])) <= {0, 1}


def test_tar_export_round_trip(tmp_path, bundles):
    archive = export_tar(bundles["2"], tmp_path / "credit-2.tar.gz")
    bundle = load_bundle(archive)
    assert bundle.manifest["version"] == "2"


def test_edited_model_file_is_refused_by_its_hash(copy):
    model = copy / "model" / "model.txt"
    model.write_text(model.read_text().replace("leaf_value=", "leaf_value=0", 1))
    with pytest.raises(BundleRefused, match=r"file model/model.txt was changed after the bundle was written"):
        load_bundle(copy)


def test_edited_model_file_is_refused_by_replay_even_with_a_matching_hash(copy):
    model = copy / "model" / "model.txt"
    text = model.read_text()
    start = text.index("leaf_value=") + len("leaf_value=")
    first_leaf = text[start:text.index(" ", start)]
    model.write_text(text[:start] + repr(float(first_leaf) + 0.5) + text[start + len(first_leaf):])
    _rehash(copy, "model/model.txt")
    with pytest.raises(BundleRefused, match=r"held-out row \d+ scores .* but the batch score was .*difference"):
        load_bundle(copy)


def test_changed_test_row_is_refused(copy):
    holdout = json.loads((copy / "holdout.json").read_text())
    holdout["columns"]["late_payments"][7] = 9.0
    (copy / "holdout.json").write_text(json.dumps(holdout))
    with pytest.raises(BundleRefused, match="file holdout.json was changed"):
        load_bundle(copy)
    _rehash(copy, "holdout.json")
    with pytest.raises(BundleRefused, match=r"held-out row 7 scores"):
        load_bundle(copy)


def test_missing_file_and_foreign_format_are_refused(copy, tmp_path):
    (copy / "feature_state" / "arrays.npz").unlink()
    with pytest.raises(BundleRefused, match="file feature_state/arrays.npz of the bundle is missing"):
        load_bundle(copy)
    with pytest.raises(BundleRefused, match="has no manifest.json"):
        load_bundle(tmp_path)


def test_archive_escaping_its_directory_is_refused(tmp_path, bundles):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(bundles["1"] / "manifest.json", arcname="../../manifest.json")
    with pytest.raises(BundleRefused, match="outside the bundle"):
        load_bundle(archive)


def test_serving_imports_no_django_orm_pyspark_or_training_code(bundles):
    """The serving process, as its entry point starts it, with a bundle loaded and scored, holds no Django,
    pyspark, scikit-learn, pandas or operator library (training) code."""
    code = f"""
import sys
from studio.serving import keep_training_code_out
keep_training_code_out()  # what `python -m studio.serving` does first: LightGBM's optional sklearn / pandas
from studio.serving.app import create_app
from pipelines.bundle import load_bundle, read_registry
app = create_app(None)
bundle = load_bundle({str(bundles["1"])!r})
bundle.predict({{s["name"]: [None] for s in bundle.input_spec}}, 1, explain=True)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "pyspark", "sklearn", "pandas")
             or m.startswith("operators.library"))
print(",".join(bad))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the serving process imported: {result.stdout.strip()}"


def test_batch_scoring_cli_gives_the_bundle_numbers(tmp_path, bundles, scoring_table):
    import pandas as pd

    scoring_table.head(300).to_csv(tmp_path / "rows.csv", index=False)
    result = subprocess.run([sys.executable, "-m", "pipelines", "score", str(bundles["1"]), str(tmp_path / "rows.csv"),
                             "-o", str(tmp_path / "scored.parquet")], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["rows"] == 300 and summary["version"] == "1"
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    expected = load_bundle(bundles["1"]).score_table(pd.read_csv(tmp_path / "rows.csv"))
    assert np.max(np.abs(scored["probability"].to_numpy() - expected["probability"])) <= 1e-9

    pd.read_csv(tmp_path / "rows.csv").drop(columns=["region"]).to_csv(tmp_path / "bad.csv", index=False)
    result = subprocess.run([sys.executable, "-m", "pipelines", "score", str(bundles["1"]), str(tmp_path / "bad.csv"),
                             "-o", str(tmp_path / "x.parquet")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "'region'" in json.loads(result.stdout)["error"]


def test_prediction_log_retention_deletes_old_days(tmp_path):
    import time

    from studio.serving.predlog import PredictionLog

    log = PredictionLog(tmp_path, flush_interval=60, retention_days=7)
    try:
        (tmp_path / "credit" / "2001-01-01").mkdir(parents=True)
        (tmp_path / "credit" / "2001-01-01" / "part-1.parquet").write_bytes(b"x")
        log.record("r1", "credit", "3", {"age": np.array([41.0, np.nan]), "region": np.array(["south", None],
                                                                                            dtype=object)}, 2,
                   {"probability": np.array([0.25, 0.5]), "label": np.array([0, 1])})
        assert log.flush() == 1
    finally:
        log.close()
    assert not (tmp_path / "credit" / "2001-01-01").exists()
    import pyarrow.parquet as pq

    rows = [r for f in (tmp_path / "credit").rglob("*.parquet") for r in pq.read_table(f).to_pylist()]
    assert [(r["request_id"], r["row"], r["version"], r["label"]) for r in rows] == [("r1", 0, "3", 0),
                                                                                      ("r1", 1, "3", 1)]
    assert (rows[0]["in_age"], rows[0]["in_region"]) == (41.0, "south")
    assert (rows[1]["in_age"], rows[1]["in_region"]) == (None, None) and time.time() - rows[0]["time"] < 60


def test_lr_bundle_verifies_and_explains_with_term_contributions(tmp_path, trained, scoring_table):
    """The bundle format is the same for the LR model of the kernels (coefficients, no pickle)."""
    from sklearn.linear_model import LogisticRegression

    from operators.kernels.features import state_view
    from operators.library.features import apply_state
    from operators.library.sample_data import credit_default_table
    from operators.values import Fitted
    from pipelines.bundle import write_bundle

    state, _ = trained
    table = credit_default_table(3000, seed=3)
    lr_state = state_view(state, "lr")  # auto mode's state serves LR and GBDT; the bundle keeps the model's view
    features = apply_state(table, lr_state)
    estimator = LogisticRegression(C=0.5, max_iter=500).fit(features.X, features.label)
    model = Fitted("lr", {"feature_names": list(features.names), "feature_view": "lr"},
                   arrays={"coef": estimator.coef_[0].astype(np.float64), "intercept": estimator.intercept_})
    path = write_bundle(tmp_path / "lr", name="credit-lr", model=model, feature_state=state,
                        holdout=scoring_table.tail(200))
    bundle = load_bundle(path)
    rows = scoring_table.head(50)
    out = bundle.score_table(rows, explain=True)
    reference = estimator.predict_proba(apply_state(rows, lr_state).X)[:, 1]
    assert np.max(np.abs(out["probability"] - reference)) <= 1e-9
    margin = out["contributions"].sum(axis=1)
    assert np.allclose(1 / (1 + np.exp(-margin)), out["probability"], atol=1e-12)

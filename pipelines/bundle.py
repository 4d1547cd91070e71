"""Model bundles: a trained model with its feature logic, as a directory (and a .tar.gz export) that the online
scorer, batch scoring and any other process load without pickle (DESIGN principles 1 and 6).

    bundle/
      manifest.json            name, version, created, source, input spec, output spec, threshold,
                               the label's values (classes) and column (target) when known,
                               sha256 of every other file
      feature_state/           the fitted feature state: fitted.json + arrays.npz (+ texts)
      model/                   the model: fitted.json + arrays.npz (LR) or model.txt (LightGBM text)
      holdout.json             held-out raw rows and the scores the batch path gave them
      statistics.json          what drift reports compare served rows with: per input the quantile edges and
                               shares (numeric) or category shares (categorical), missing shares, and the
                               score's; from the rows given at publish (up to REFERENCE_ROWS), no rows kept

`load_bundle` checks every file against its hash, then replays the held-out rows through the transform
kernel and the model and refuses the bundle (BundleRefused, with the reason) if any probability differs from
the recorded batch score by more than 1e-9 or any label differs. A bundle is immutable once written.

The model repository: `write_registry` / `read_registry` keep the table of live deployments (model name ->
live version and the bundle of each version) as one JSON file, replaced by an atomic rename, which every
serving process watches.

Imports `operators` (values and kernels) only; pandas and the feature operators are imported lazily when a
bundle is written from a table, never when one is loaded.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
import uuid
from datetime import datetime, UTC
from pathlib import Path
from typing import Any
from collections.abc import Mapping

import numpy as np

from operators.kernels import drift as drift_kernel
from operators.kernels import features as feature_kernel
from operators.kernels.models import load_scorer
from operators.kernels.linear import fold_linear
from operators.kernels.rows import compile_row_scorer
from operators.labels import is_zero_one, known_classes, predicted_values, values_dtype
from operators.values import Fitted

from .store import FittedCodec, sha256_file

log = logging.getLogger("pipelines.bundle")

FORMAT = "studio-bundle/1"
TOLERANCE = 1e-9
HOLDOUT_ROWS = 100
REFERENCE_ROWS = 100_000  # rows summarised into statistics.json (a seeded sample beyond that)
MANIFEST = "manifest.json"


class BundleRefused(Exception):
    """A bundle that must not go live: a missing or edited file, or a replayed row that scores differently."""


# ------------------------------------------------------------------------------------------------ writing
def table_to_columns(table, spec: list[dict]) -> dict[str, np.ndarray]:
    """A pandas table's raw input columns as the kernel receives them online: float64 with NaN for FP64,
    object arrays with None for BYTES. Batch scoring and the held-out rows both go through this."""
    import pandas as pd

    missing = [s["name"] for s in spec if s["name"] not in table.columns]
    if missing:
        raise ValueError(f"the table lacks input column {missing[0]!r} of the bundle")
    columns = {}
    for s in spec:
        series = table[s["name"]]
        if s["datatype"] == "BYTES":
            values = series.astype(object).where(series.notna(), None).to_numpy(dtype=object)
            # "" is a missing value, as online (the binary tensor extension has no null for strings)
            columns[s["name"]] = np.array([(v or None) if v is None or isinstance(v, str)
                                           else feature_kernel.canonical(v) for v in values], dtype=object)
        else:
            columns[s["name"]] = pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    return columns


def write_bundle(directory: str | Path, *, name: str, model: Fitted, feature_state: Fitted, holdout,
                 version: str | None = None, source: Mapping[str, Any] | None = None,
                 threshold: float = 0.5) -> Path:
    """Write a bundle into `directory` (which must not exist): the states, the first HOLDOUT_ROWS rows of the
    `holdout` table with their batch scores, the drift statistics of all its rows (statistics.json), and the
    manifest. Written under a temporary name and renamed,
    so a half-written bundle is never seen. Returns the directory."""
    directory = Path(directory)
    if directory.exists():
        raise FileExistsError(f"bundle directory {directory} already exists; bundles are immutable")
    # a state serving several model families is published as the view the model was trained on
    feature_state = feature_kernel.state_view(feature_state, feature_kernel.model_view(model))
    spec = feature_kernel.input_spec(feature_state)
    rows = holdout.head(HOLDOUT_ROWS).reset_index(drop=True)
    if len(rows) == 0:
        raise ValueError("the held-out table has no rows; a bundle needs rows to verify itself on load")
    columns = table_to_columns(rows, spec)
    scorer = load_scorer(model)
    X = feature_kernel.transform(feature_state, columns, len(rows)).X
    probability = scorer.predict_proba(X)

    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        for folder, state in (("feature_state", feature_state), ("model", model)):
            (tmp / folder).mkdir()
            meta = FittedCodec.save(state, tmp / folder)
            (tmp / folder / "fitted.json").write_text(json.dumps(meta, sort_keys=True))
        holdout_json = {
            "n_rows": len(rows),
            "columns": {n: [_json_value(v) for v in c.tolist()] for n, c in columns.items()},
            "probability": probability.tolist(),
            "label": (probability >= threshold).astype(np.int64).tolist(),
        }
        (tmp / "holdout.json").write_text(json.dumps(holdout_json, allow_nan=False))
        (tmp / "statistics.json").write_text(json.dumps(reference_statistics(holdout, spec, feature_state, scorer),
                                                        allow_nan=False))
        files = {str(p.relative_to(tmp)): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        width = len(scorer.feature_names)
        classes = label_classes(feature_state)
        manifest = {
            "format": FORMAT,
            "name": name,
            "version": version or uuid.uuid4().hex[:12],
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": dict(source or {}),
            "model_kind": model.kind,
            "threshold": float(threshold),
            "inputs": [{**s, "shape": [-1]} for s in spec],
            "outputs": [
                {"name": "probability", "datatype": "FP64", "shape": [-1]},
                {"name": "label", "datatype": label_datatype(classes), "shape": [-1]},
                {"name": "contributions", "datatype": "FP64", "shape": [-1, width + 1], "optional": True},
            ],
            "contribution_names": list(scorer.feature_names) + ["bias"],
            **({"classes": classes} if classes else {}),
            **({"target": str(target)} if (target := feature_state.meta.get("label")) else {}),
            **({"left_out": left_out} if (left_out := left_out_inputs(feature_state)) else {}),
            "holdout": {"rows": len(rows), "tolerance": TOLERANCE},
            "files": files,
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        os.rename(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def reference_statistics(table, spec: list[dict], feature_state: Fitted, scorer) -> dict:
    """Drift statistics (operators.kernels.drift) of the table's rows, sampled down to REFERENCE_ROWS."""
    if len(table) > REFERENCE_ROWS:
        table = table.sample(n=REFERENCE_ROWS, random_state=0)
    columns = table_to_columns(table, spec)
    probability = scorer.predict_proba(feature_kernel.transform(feature_state, columns, len(table)).X)
    return drift_kernel.reference_statistics(columns, spec, probability)


def _json_value(value):
    if isinstance(value, float) and value != value:
        return None
    return value


def label_classes(feature_state: Fitted) -> list | None:
    """[negative, positive]: the label's values as the training table held them (operators/labels.py), when
    both are known; the published model answers with them instead of 0 / 1."""
    classes = feature_state.meta.get("label_classes")
    if isinstance(classes, list) and len(classes) == 2 and None not in classes:
        return classes
    return None


def left_out_inputs(feature_state: Fitted) -> list[dict]:
    """[{name, reason}]: columns of the training rows the feature state makes no feature of by its own choice
    (auto mode's dates and times, and row identifiers), so a caller who sends them learns they change nothing."""
    meta = feature_state.meta
    return ([{"name": str(c), "reason": "a date/time: auto mode makes no feature of it"}
             for c in meta.get("left_out_times") or []] +
            [{"name": str(f["column"]), "reason": f"a row identifier: {f['reason']}"}
             for f in meta.get("excluded_identifiers") or []])


def label_datatype(classes: list | None) -> str:
    """The protocol datatype of the answered labels: that of the label's values (operators/labels.py)."""
    return {"i": "INT64", "b": "BOOL", "f": "FP64"}.get(values_dtype(classes).kind, "BYTES")


def export_tar(directory: str | Path, archive: str | Path) -> Path:
    """The bundle as one .tar.gz (regular files only), e.g. to hand to another serving cluster."""
    directory, archive = Path(directory), Path(archive)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(directory)), recursive=False)
    return archive


def _extract(archive: Path, into: Path) -> Path:
    """Unpack a bundle archive, refusing links, devices and paths that leave the target directory."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            target = (into / member.name).resolve()
            if not member.isfile() and not member.isdir():
                raise BundleRefused(f"archive member {member.name!r} is not a regular file")
            if into.resolve() not in target.parents and target != into.resolve():
                raise BundleRefused(f"archive member {member.name!r} would be written outside the bundle")
        tar.extractall(into, filter="data")
    return into


# ------------------------------------------------------------------------------------------------ loading
class Bundle:
    """A loaded, verified bundle: what the online scorer and batch scoring call."""

    def __init__(self, path: Path, manifest: dict, feature_state: Fitted, model: Fitted):
        self.path = path
        self.manifest = manifest
        self.name = manifest["name"]
        self.version = str(manifest["version"])
        self.threshold = float(manifest["threshold"])
        self.input_spec = [{k: v for k, v in s.items() if k != "shape"} for s in manifest["inputs"]]
        self.output_spec = manifest["outputs"]
        self.contribution_names = manifest["contribution_names"]
        self.classes = manifest.get("classes")
        # 0/1 labels (or unknown classes): a request's labels are its decisions as int64, the rule of
        # predicted_values decided once here instead of on every request (about 4 us of Python a request)
        self._zero_one_labels = is_zero_one(known_classes(self.classes))
        self.feature_state = feature_state
        self.model = model
        statistics = path / "statistics.json"  # absent in bundles written before drift reports
        self.statistics = json.loads(statistics.read_text()) if statistics.is_file() else None
        self.scorer = load_scorer(model)
        feature_kernel.compiled(feature_state)  # build the lookups now, not on the first request
        # One row's fast path (operators.kernels.rows); replay() checks it on the held-out rows too.
        self.row_scorer = compile_row_scorer(feature_state, self.scorer)
        # Many rows of an LR over linear features: one product of the raw columns (operators.kernels.linear);
        # replay() checks it on the held-out rows too.
        self.linear = fold_linear(feature_state, self.scorer)

    def features(self, columns: Mapping[str, np.ndarray], n_rows: int):
        return feature_kernel.transform(self.feature_state, columns, n_rows, column_major=True).X

    def predict(self, columns: Mapping[str, np.ndarray], n_rows: int, *, explain: bool = False) -> dict:
        if n_rows == 1 and not explain and self.row_scorer is not None:
            p = self.row_scorer.probability_of_columns(columns)
            if p is not None:
                probability = np.array([p])
                return {"probability": probability, "label": self.label_values(probability >= self.threshold)}
        if n_rows > 1 and not explain and self.linear is not None:
            probability = self.linear.probability(columns, n_rows)
            if probability is not None:
                return {"probability": probability, "label": self.label_values(probability >= self.threshold)}
        X = self.features(columns, n_rows)
        probability = self.scorer.predict_proba(X)
        out = {"probability": probability, "label": self.label_values(probability >= self.threshold)}
        if explain:
            out["contributions"] = self.scorer.contributions(X)
        return out

    def label_values(self, positive: np.ndarray) -> np.ndarray:
        """The predicted labels: the training label's own values ("yes" / "no") when the bundle knows them,
        else 1 / 0 (operators/labels.py's rule, as the predict operator gives them)."""
        if self._zero_one_labels:
            return np.asarray(positive).astype(np.bool_, copy=False).astype(np.int64)
        return predicted_values(positive, self.classes)

    def score_table(self, table, *, explain: bool = False) -> dict:
        """Batch scoring of a pandas table with this bundle: the same kernels and numbers as online."""
        return self.predict(table_to_columns(table, self.input_spec), len(table), explain=explain)


def load_bundle(path: str | Path, *, verify: bool = True) -> Bundle:
    """Load a bundle directory or .tar.gz; with `verify`, refuse it unless its files match their hashes and
    its held-out rows score within 1e-9 of the recorded batch scores."""
    path = Path(path)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        into = Path(tempfile.mkdtemp(prefix="bundle-"))
        try:
            return load_bundle(_extract(path, into), verify=verify)
        finally:
            shutil.rmtree(into, ignore_errors=True)
    if not (path / MANIFEST).is_file():
        raise BundleRefused(f"{path} is not a bundle: it has no {MANIFEST}")
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except json.JSONDecodeError as exc:
        raise BundleRefused(f"{path / MANIFEST} is not valid JSON: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise BundleRefused(f"{path} has format {manifest.get('format')!r}; this server reads {FORMAT!r}")
    if verify:
        for relative, expected in manifest["files"].items():
            file = path / relative
            if not file.is_file():
                raise BundleRefused(f"file {relative} of the bundle is missing")
            actual = sha256_file(file)
            if actual != expected:
                raise BundleRefused(f"file {relative} was changed after the bundle was written "
                                    f"(sha256 {actual[:12]}..., the manifest says {expected[:12]}...)")
    states = {}
    for folder in ("feature_state", "model"):
        meta = json.loads((path / folder / "fitted.json").read_text())
        states[folder] = FittedCodec.load(path / folder, meta)
    try:
        bundle = Bundle(path, manifest, states["feature_state"], states["model"])
    except Exception as exc:
        raise BundleRefused(f"the model of {path} cannot be loaded: {exc}") from None
    if verify:
        replay(bundle)
    return bundle


def replay(bundle: Bundle) -> None:
    """Score the held-out rows and compare with the batch scores recorded when the bundle was written."""
    holdout = json.loads((bundle.path / "holdout.json").read_text())
    n_rows = holdout["n_rows"]
    by_name = {s["name"]: s for s in bundle.input_spec}
    columns = {}
    for name, values in holdout["columns"].items():
        if by_name.get(name, {}).get("datatype") == "BYTES":
            columns[name] = np.array(values, dtype=object)
        else:
            columns[name] = np.array(values, dtype=np.float64)
    linear, bundle.linear = bundle.linear, None  # the batch kernel's numbers first; the folded map's below
    try:
        out = bundle.predict(columns, n_rows)
    except Exception as exc:
        raise BundleRefused(f"held-out rows cannot be scored: {exc}") from None
    expected = np.asarray(holdout["probability"], dtype=np.float64)
    diff = np.abs(out["probability"] - expected)
    worst = int(np.argmax(diff))
    if not diff[worst] <= TOLERANCE:  # NaN fails too
        raise BundleRefused(f"held-out row {worst} scores {out['probability'][worst]!r} but the batch score was "
                            f"{expected[worst]!r} (difference {diff[worst]:.3g} > {TOLERANCE})")
    labels = bundle.label_values(np.asarray(holdout["label"], dtype=np.int64) == 1)
    if not np.array_equal(out["label"], labels):
        row = int(np.argmax(out["label"] != labels))
        raise BundleRefused(f"held-out row {row} gets label {out['label'][row]!r}, the batch label was "
                            f"{labels[row]!r}")
    if bundle.row_scorer is not None:
        replay_rows(bundle, columns, expected)
    if linear is not None:
        folded = linear.probability(columns, n_rows)
        if folded is not None and np.all(np.abs(folded - expected) <= TOLERANCE):
            bundle.linear = linear
        else:  # (None: the held-out rows are not all this map's to score; they are the check, so it is not used)
            log.warning("bundle %s: the folded linear map does not give the held-out rows' batch scores; many "
                        "rows go through the batch kernel", bundle.path)


def replay_rows(bundle: Bundle, columns: Mapping[str, np.ndarray], expected: np.ndarray) -> None:
    """The held-out rows one at a time through the single-row scorer: on any difference over the tolerance
    the bundle keeps serving, every row through the batch kernel (its numbers are the verified ones)."""
    for i, score in enumerate(expected.tolist()):
        p = bundle.row_scorer.probability({name: values[i] for name, values in columns.items()})
        if p is not None and not abs(p - score) <= TOLERANCE:
            log.warning("bundle %s: held-out row %d scores %r one row at a time but %r in a batch; single rows "
                        "go through the batch kernel", bundle.path, i, p, score)
            bundle.row_scorer = None
            return


# ----------------------------------------------------------------------------------------------- registry
def write_registry(path: str | Path, models: Mapping[str, Mapping[str, Any]], control: list | None = None) -> None:
    """Replace the registry file atomically. `models`: name -> {"live": version or None,
    "versions": {version: {"bundle": path}}, and optionally "keys", "traffic", "shadow", "rate_limit", "log"
    (studio.serving.repository reads them)}; `control`: hashes of the studio's control tokens. Serving
    processes pick the change up within a poll interval."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": "studio-registry/1", "written": time.time(), "models": models, "control": control or []}
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    with open(tmp, "w") as handle:
        json.dump(payload, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_registry(path: str | Path) -> dict:
    with open(path) as handle:
        return json.load(handle)


# ------------------------------------------------------------------------------------------------ publish
def publish_to_folder(root: str | Path):
    """The publisher of a run with no studio (a script, the CLI): write and verify the bundle under
    `root/<name>/<id>`; nothing is registered, so nothing goes live. The studio passes its own publisher."""
    root = Path(root)

    def publish(*, node: str, name: str, model: Fitted, feature_state: Fitted, holdout, threshold: float) -> dict:
        from operators.contract import OperatorError

        folder = root / name / uuid.uuid4().hex[:12]
        try:
            write_bundle(folder, name=name, model=model, feature_state=feature_state, holdout=holdout,
                         threshold=threshold, source={"node": node})
            load_bundle(folder)
        except (BundleRefused, ValueError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise OperatorError(f"the model cannot be published: {exc}") from None
        return {"deployment": name, "version": "", "live": False, "bundle": str(folder)}

    return publish


def bundles_in_folder(root: str | Path):
    """The bundle resolver of a run with no studio: `(deployment, version)` -> the folder of that bundle among
    those `publish_to_folder(root)` wrote (the newest when `version` is None; `version` is the bundle id), or
    None. The studio passes its own resolver over its deployments."""
    root = Path(root)

    def resolve(deployment: str, version: str | None) -> Path | None:
        folder = root / deployment
        if Path(deployment).name != deployment or deployment in ("", ".", "..") or not folder.is_dir():
            return None
        found = sorted(folder.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        found = [p for p in found if version is None or p.name == version]
        return found[0] if found else None

    return resolve

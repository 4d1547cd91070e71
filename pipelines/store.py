"""The artifact store: every node output, addressed by its fingerprint, in a format native to its type.

Tables are Parquet, metrics and reports JSON, fitted states JSON + .npz (loaded with allow_pickle=False)
+ library text formats. Nothing is pickled. `FileSystemStore` is the default; an object store implements
the same methods.

Verified, not trusted (DESIGN principle 9): an artifact's meta.json records the sha256 of every file beside
it and a sha256 of its own content, and `load` checks them before decoding. `exists` stays a cheap look for
meta.json (a cached rerun of a large pipeline must not read every Parquet file again): a file changed,
missing or added after the write surfaces at load as `ArtifactCorrupt`, which the executor turns into a rerun
of the node that made it. A Spark table is a folder of part files written by Spark's executors into the
artifact's temporary folder: the driver hashes every file of that folder once the write has finished, and
load checks the same list, so a part file changed, removed or slipped in is caught like any other file.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from operators import FeatureMatrix, Fitted, PortType, Report

META = "meta.json"


class ArtifactStore(Protocol):
    def exists(self, fingerprint: str) -> bool:
        """A cheap look: the artifact was written. Its files are checked by `load`."""

    def save(self, fingerprint: str, port_type: PortType, value: Any) -> dict: ...

    def load(self, fingerprint: str, engine: Any = None) -> Any:
        """The artifact's value, verified against its hashes (ArtifactCorrupt if it fails); with an engine
        (pipelines.engines, or its name) a value that engine reads its own way, e.g. a Spark DataFrame."""

    def meta(self, fingerprint: str) -> dict: ...

    def discard(self, fingerprint: str) -> None:
        """Remove the artifact (to write it again: a forced rerun, or one that failed verification)."""


class ArtifactUnavailable(Exception):
    """An artifact that cannot be used, for a cache as good as absent; `reason` says why."""

    def __init__(self, fingerprint: str, reason: str):
        super().__init__(reason)
        self.fingerprint = fingerprint
        self.reason = reason


class ArtifactMissing(ArtifactUnavailable, KeyError):
    def __init__(self, fingerprint: str):
        super().__init__(fingerprint, "it is no longer in the artifact store")


class ArtifactCorrupt(ArtifactUnavailable):
    """An artifact whose files do not match the hashes recorded when it was written, or cannot be read."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _meta_digest(meta: dict) -> str:
    body = {k: v for k, v in meta.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _files_of(directory: Path) -> list[str]:
    """Every file under `directory` but its meta.json, as paths relative to it (os.walk: a cached rerun lists
    every artifact it reads, and pathlib's rglob costs several times more)."""
    found = []
    for folder, _, names in os.walk(directory):
        prefix = os.path.relpath(folder, directory) + "/" if folder != str(directory) else ""
        found += [prefix + name for name in names if prefix or name != META]
    return sorted(found)


def seal(directory: Path, meta: dict) -> dict:
    """meta with the sha256 of every file under `directory` and of itself, as written to meta.json."""
    meta = json.loads(json.dumps({**meta, "files": {rel: sha256_file(directory / rel)
                                                    for rel in _files_of(directory)}}, default=_json_default))
    meta["sha256"] = _meta_digest(meta)
    return meta


def verify(directory: Path, meta: dict) -> None:
    """Raise ArtifactCorrupt unless meta and every file under `directory` are as they were written."""
    fingerprint = str(meta.get("fingerprint", directory.name))
    files = meta.get("files")
    if not isinstance(files, dict) or meta.get("sha256") is None:
        raise ArtifactCorrupt(fingerprint, "it carries no hashes (written before artifacts were verified)")
    if meta["sha256"] != _meta_digest(meta):
        raise ArtifactCorrupt(fingerprint, f"{META} was changed after it was written")
    extra = sorted(set(_files_of(directory)) - set(files))
    if extra:
        raise ArtifactCorrupt(fingerprint, f"file {extra[0]} was added after the artifact was written")
    for relative, expected in files.items():
        try:
            actual = sha256_file(directory / relative)
        except OSError as exc:
            raise ArtifactCorrupt(fingerprint, f"file {relative} cannot be read ({exc.strerror or exc})") from None
        if actual != expected:
            raise ArtifactCorrupt(fingerprint, f"file {relative} was changed after it was written (sha256 "
                                               f"{actual[:12]}..., recorded {expected[:12]}...)")


class FileSystemStore:
    """Artifacts under `root/objects/ab/abcdef.../`. A directory is written under `root/tmp` and renamed
    into place, and `meta.json` is written last, so a reader never sees half an artifact."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, fingerprint: str) -> Path:
        return self.root / "objects" / fingerprint[:2] / fingerprint

    def profile(self, fingerprint: str) -> dict | None:
        """A table artifact's profile (see operators.profile); None for other artifacts. A Spark table carries
        its profile.json, written with it and covered by its hashes. A pandas table's is made on the first
        request, from the verified table, and kept under `root/profiles` with the artifact's sha256, so a run
        does not pay for a profile nobody opens and a later request does not read the table again."""
        meta = self.meta(fingerprint)
        if meta["type"] != PortType.TABLE.value:
            return None
        if "profile.json" in meta.get("files", {}):
            path = self.path(fingerprint) / "profile.json"
            if sha256_file(path) != meta["files"]["profile.json"]:
                raise ArtifactCorrupt(fingerprint, "file profile.json was changed after it was written")
            return json.loads(path.read_text())
        kept = self._profile_path(fingerprint)
        try:
            entry = json.loads(kept.read_text())
            if entry["table_sha256"] == meta["sha256"] and entry["sha256"] == _meta_digest(entry):
                return entry["profile"]
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet, or unreadable: made again below
        from operators.profile import table_profile

        profile = json.loads(json.dumps(table_profile(self.load(fingerprint)), default=_json_default))
        entry = {"table_sha256": meta["sha256"], "profile": profile}
        entry["sha256"] = _meta_digest(entry)
        kept.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "tmp" / f"profile-{uuid.uuid4().hex}.json"
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, kept)  # whole or not at all, for a concurrent request
        return profile

    def _profile_path(self, fingerprint: str) -> Path:
        return self.root / "profiles" / fingerprint[:2] / f"{fingerprint}.json"

    def exists(self, fingerprint: str) -> bool:
        return (self.path(fingerprint) / META).is_file()

    def meta(self, fingerprint: str) -> dict:
        try:
            meta = json.loads((self.path(fingerprint) / META).read_text())
        except FileNotFoundError:
            raise ArtifactMissing(fingerprint) from None
        except (OSError, ValueError) as exc:
            raise ArtifactCorrupt(fingerprint, f"{META} cannot be read ({exc})") from None
        if not isinstance(meta, dict) or "type" not in meta:
            raise ArtifactCorrupt(fingerprint, f"{META} is not an artifact's meta")
        return meta

    def save(self, fingerprint: str, port_type: PortType, value: Any) -> dict:
        final = self.path(fingerprint)
        if self.exists(fingerprint):
            return self.meta(fingerprint)
        tmp = self.root / "tmp" / uuid.uuid4().hex
        tmp.mkdir(parents=True)
        try:
            meta = CODECS[PortType(port_type)].save(value, tmp)
            meta.update({"type": PortType(port_type).value, "fingerprint": fingerprint, "created": time.time()})
            meta = seal(tmp, meta)
            (tmp / META).write_text(json.dumps(meta))
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(tmp, final)
            except OSError:  # another run wrote the same artifact first: theirs is identical
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return meta

    def load(self, fingerprint: str, engine: Any = None) -> Any:
        meta = self.meta(fingerprint)
        directory = self.path(fingerprint)
        verify(directory, meta)
        read = CODECS[PortType(meta["type"])].load
        if engine is not None:
            from .engines import engine_named

            read = engine_named(engine).reader(meta) or read
        try:
            return read(directory, meta)
        except Exception as exc:  # hashes match but the library cannot decode it: unusable all the same
            raise ArtifactCorrupt(fingerprint, f"it cannot be read ({type(exc).__name__}: {exc})") from exc

    def discard(self, fingerprint: str) -> None:
        """Move the artifact out of place first, so that a reader sees it whole or not at all."""
        final = self.path(fingerprint)
        doomed = self.root / "tmp" / f"discard-{uuid.uuid4().hex}"
        self._profile_path(fingerprint).unlink(missing_ok=True)
        try:
            os.rename(final, doomed)
        except FileNotFoundError:
            return
        shutil.rmtree(doomed, ignore_errors=True)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"array {name!r} holds Python objects; only numeric and fixed-width string arrays "
                            "can be stored without pickle")
    np.savez(path, **arrays)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


# Table-level marks an operator leaves on a table (predict names the true label it scored against): pandas keeps
# them in the frame's attrs, Spark in a column's metadata. The table's meta carries them, so a table written by
# one engine and read by the other keeps them (a cached node of a local run feeding a Spark run, or back).
MARK_PREFIX = "studio."


def _is_mark(key) -> bool:
    return isinstance(key, str) and key.startswith(MARK_PREFIX)


def _marks(items) -> dict:
    return {k: v for k, v in items if _is_mark(k) and isinstance(v, str)}


def spark_marks(df) -> dict:
    return _marks(item for field in df.schema.fields for item in (field.metadata or {}).items())


def table_marks(table) -> dict:
    """The marks a table carries, either engine's: a pandas frame's attrs, a Spark frame's columns' metadata."""
    from .engines import is_spark_dataframe

    if is_spark_dataframe(table):
        return spark_marks(table)
    return _marks((getattr(table, "attrs", None) or {}).items())


def with_marks(table, marks: dict):
    """`table` carrying exactly `marks`: the same object when it already does, else a shallow copy (pandas) or a
    projection (Spark: the marks on the first column, as a table read from the store carries them) that shares
    `table`'s cache (pipelines.engines.SparkEngine.handoff)."""
    from .engines import is_spark_dataframe

    if table_marks(table) == marks:
        return table
    if not is_spark_dataframe(table):
        table = table.copy(deep=False)
        for key in [k for k in table.attrs if _is_mark(k)]:
            del table.attrs[key]
        table.attrs.update(marks)
        return table
    from operators.spark.tables import SHARED_CACHE, cached_frame, col

    columns = []
    for i, field in enumerate(table.schema.fields):
        metadata = dict(field.metadata or {})
        kept = {k: v for k, v in metadata.items() if not _is_mark(k)}
        kept.update(marks if i == 0 else {})
        columns.append(col(field.name) if kept == metadata else col(field.name).alias(field.name, metadata=kept))
    marked = table.select(*columns)
    setattr(marked, SHARED_CACHE, cached_frame(table))
    return marked


def carried_marks(table_inputs, output):
    """A table output with the marks it keeps: a mark names a column of its table (predict's: the true label),
    so it stays while that column is there under its name, whichever operator came between; the output's own
    marks first, then those of the table inputs in the order given (a join's left table before its right, a
    union's first table first). A mark whose column was dropped or renamed is gone. With no marked input the output
    is left as its operator made it (no look at a Spark output's schema on the node's path)."""
    inherited = [table_marks(table) for table in table_inputs if table is not None]
    columns = getattr(output, "columns", None) if any(inherited) else None
    if columns is None:
        return output
    present = set(map(str, columns))
    marks = {}
    for found in (table_marks(output), *inherited):
        for key, value in found.items():
            if value in present:
                marks.setdefault(key, value)
    return with_marks(output, marks)


class TableCodec:
    @staticmethod
    def save(df, directory: Path) -> dict:
        import pandas as pd

        from .engines import is_spark_dataframe

        if is_spark_dataframe(df):  # the Spark engine: its executors write the Parquet part files
            return TableCodec.save_spark(df, directory)
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"a table output must be a pandas DataFrame, not {type(df).__name__}")
        bad = [c for c in df.columns if not isinstance(c, str)]
        if bad:
            df = df.rename(columns={c: str(c) for c in bad})
        df.to_parquet(directory / "data.parquet", index=False)
        # no profile on the run's path: FileSystemStore.profile makes it when it is first asked for
        meta = {"rows": int(len(df)), "columns": [{"name": c, "dtype": str(t)} for c, t in df.dtypes.items()]}
        if marks := _marks(df.attrs.items()):
            meta["marks"] = marks
        return meta

    @staticmethod
    def load(directory: Path, meta: dict):
        import pandas as pd

        # a file (pandas) or a folder of parts (Spark); Spark's INT96 times as microseconds, as pandas' own: read
        # as nanoseconds, a time past 2262 (a '9999-12-31' for 'no end') wrapped round silently to another time
        table = pd.read_parquet(directory / "data.parquet", coerce_int96_timestamp_unit="us")
        table.attrs.update(meta.get("marks", {}))
        return table

    @staticmethod
    def save_spark(df, directory: Path) -> dict:
        import pyarrow.dataset as ds

        from operators.profile import parquet_profile
        from operators.spark.profile import spark_table_profile
        from operators.spark.tables import served_from_cache, source_file

        from .engines import driver_profile_rows

        if source_file(df) is not None:  # a Parquet file imported whole: the file is the table
            return TableCodec.save_file_copy(Path(source_file(df)), directory)
        df.write.parquet(str(directory / "data.parquet"))
        rows = ds.dataset(directory / "data.parquet", format="parquet").count_rows()  # footers only
        meta = {"rows": int(rows), "engine": "spark", "profile": "profile.json",
                "columns": [{"name": f.name, "dtype": f.dataType.simpleString()} for f in df.schema.fields]}
        if marks := spark_marks(df):
            meta["marks"] = marks
        if rows <= driver_profile_rows():  # the local engine's profile of the Parquet just written, a column at a time
            profile = parquet_profile(directory / "data.parquet")
        else:  # Spark jobs over the cache when the engine cached df (SparkEngine.handoff), else over the Parquet just
            # written: not over df's lineage, which would run a second time
            profile = spark_table_profile(df if served_from_cache(df) else TableCodec.load_spark(directory, meta))
        (directory / "profile.json").write_text(json.dumps(profile, default=_json_default))
        return meta

    @staticmethod
    def save_file_copy(source: Path, directory: Path) -> dict:
        """A Parquet file as the table artifact, its bytes copied (no Spark job), with the meta the local engine
        writes for a table (pandas' dtypes; no profile.json: FileSystemStore.profile makes it when asked, as for
        a local table). Both engines read it as they read the file itself."""
        import pyarrow.parquet as pq

        shutil.copyfile(source, directory / "data.parquet")
        handle = pq.ParquetFile(directory / "data.parquet")
        dtypes = handle.schema_arrow.empty_table().to_pandas().dtypes
        return {"rows": int(handle.metadata.num_rows),
                "columns": [{"name": str(c), "dtype": str(t)} for c, t in dtypes.items()]}

    @staticmethod
    def load_spark(directory: Path, meta: dict):
        from .engines import spark_session

        from operators.spark.tables import quoted
        from pyspark.sql import functions as F

        df = spark_session().read.parquet(str(directory / "data.parquet"))
        # pandas writes nanosecond timestamps, which Spark reads as longs (spark.sql.legacy.parquet.nanosAsLong)
        nanos = {c["name"] for c in meta.get("columns", []) if str(c["dtype"]).startswith("datetime64")}
        for field in df.schema.fields:
            if field.name in nanos and field.dataType.simpleString() == "bigint":
                df = df.withColumn(field.name, F.timestamp_micros(F.expr(quoted(field.name) + " div 1000")))
        marks = meta.get("marks", {})
        if marks and df.schema.fields and not spark_marks(df):  # written by pandas: its marks onto a column
            first = df.schema.fields[0]
            df = df.withMetadata(first.name, {**(first.metadata or {}), **marks})
        return df


class FittedCodec:
    @staticmethod
    def save(value: Fitted, directory: Path) -> dict:
        if not isinstance(value, Fitted):
            raise TypeError(f"expected a Fitted state, not {type(value).__name__}")
        save_arrays(directory / "arrays.npz", value.arrays)
        for name, text in value.texts.items():
            (directory / f"{name}.txt").write_text(text, encoding="utf-8")
        return {"kind": value.kind, "state": value.meta, "arrays": sorted(value.arrays), "texts": sorted(value.texts)}

    @staticmethod
    def load(directory: Path, meta: dict) -> Fitted:
        texts = {name: (directory / f"{name}.txt").read_text(encoding="utf-8") for name in meta["texts"]}
        return Fitted(meta["kind"], meta["state"], load_arrays(directory / "arrays.npz"), texts)


class FeaturesCodec:
    @staticmethod
    def save(value: FeatureMatrix, directory: Path) -> dict:
        import scipy.sparse as sp

        from .engines import is_spark_dataframe

        if is_spark_dataframe(getattr(value, "dataframe", None)):  # operators.spark.frames.SparkFeatures
            return FeaturesCodec.save_spark(value, directory)
        arrays: dict[str, np.ndarray] = {}
        sparse = sp.issparse(value.X)
        if sparse:
            X = sp.csr_matrix(value.X)
            arrays.update(data=X.data, indices=X.indices, indptr=X.indptr, shape=np.asarray(X.shape))
        else:
            arrays["X"] = np.asarray(value.X)
        if value.label is not None:
            arrays["label"] = np.asarray(value.label)
        save_arrays(directory / "features.npz", arrays)
        return {"sparse": sparse, "names": list(value.names), "label_name": value.label_name,
                "categorical": list(value.categorical), "rows": int(value.X.shape[0]),
                "width": int(value.X.shape[1]), "views": dict(value.views)}

    @staticmethod
    def load(directory: Path, meta: dict) -> FeatureMatrix:
        import scipy.sparse as sp

        if meta.get("layout") == "compact":  # raw columns in Parquet: the kernel runs here, without Spark
            return FeaturesCodec._load_compact(directory, meta)
        if meta.get("engine") == "spark":  # Spark ML vectors in Parquet, read without Spark
            import pyarrow.parquet as pq

            from operators.spark.frames import FEATURES, LABEL, matrix_from_vectors

            table = pq.read_table(directory / "features.parquet")
            label = table.column(LABEL).to_numpy().astype(np.int8) if LABEL in table.column_names else None
            return FeatureMatrix(matrix_from_vectors(table.column(FEATURES), len(meta["names"])), meta["names"],
                                 label, meta.get("label_name"), meta.get("categorical", []), meta.get("views", {}))
        arrays = load_arrays(directory / "features.npz")
        if meta["sparse"]:
            X = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
        else:
            X = arrays["X"]
        return FeatureMatrix(X, meta["names"], arrays.get("label"), meta.get("label_name"),
                             meta.get("categorical", []), meta.get("views", {}))

    @staticmethod
    def save_spark(value, directory: Path) -> dict:
        import pyarrow.dataset as ds

        if value.compact is not None:
            return FeaturesCodec._save_compact(value, directory)
        # the kernel runs here, over the feature node's cached raw columns (operators.spark.features), beside the
        # next nodes: in the writer's pool (SparkEngine.persist_scope), so the model's task does not wait for all
        # of this write's tasks
        value.dataframe.write.parquet(str(directory / "features.parquet"))
        rows = ds.dataset(directory / "features.parquet", format="parquet").count_rows()
        return {"engine": "spark", "sparse": True, "names": list(value.names), "label_name": value.label_name,
                "categorical": list(value.categorical), "rows": int(rows), "width": len(value.names),
                "views": dict(value.views)}

    @staticmethod
    def _save_compact(value, directory: Path) -> dict:
        """The compact frame (operators.spark.frames.Compact: the state's raw input columns, the label as 0/1, the
        out-of-fold columns) as Parquet, and its feature state as FittedCodec writes one (JSON + npz): a few
        columns instead of the kernel's wide vectors, which a reader computes again (issue 19)."""
        import pyarrow.dataset as ds

        compact = value.compact
        compact.frame.write.parquet(str(directory / "compact.parquet"))
        (directory / "state").mkdir()
        state = FittedCodec.save(compact.state, directory / "state")
        rows = ds.dataset(directory / "compact.parquet", format="parquet").count_rows()
        return {"engine": "spark", "layout": "compact", "sparse": True, "names": list(value.names),
                "label_name": value.label_name, "categorical": list(value.categorical), "rows": int(rows),
                "width": len(value.names), "views": dict(value.views), "label": compact.label,
                "oof": {str(i): column for i, column in compact.oof.items()},
                "label_counts": list(compact.label_counts) if compact.label_counts else None, "state": state}

    @staticmethod
    def _compact_parts(directory: Path, meta: dict):
        """The feature state and the out-of-fold map of a compact features artifact."""
        state = FittedCodec.load(directory / "state", meta["state"])
        return state, {int(i): column for i, column in meta["oof"].items()}

    @staticmethod
    def _load_compact(directory: Path, meta: dict) -> FeatureMatrix:
        import pyarrow.parquet as pq

        from operators.spark.features import compact_matrix

        state, oof = FeaturesCodec._compact_parts(directory, meta)
        matrix = compact_matrix(pq.read_table(directory / "compact.parquet"), state, meta["label"], oof)
        return FeatureMatrix(matrix.X, meta["names"], matrix.label, meta.get("label_name"),
                             meta.get("categorical", []), meta.get("views", {}))

    @staticmethod
    def load_spark(directory: Path, meta: dict):
        from operators.spark.frames import SparkFeatures

        from .engines import spark_session

        if meta.get("layout") == "compact":  # as in the run: the kernel over the raw columns (compact_vectors)
            from operators.spark.features import compact_vectors
            from operators.spark.frames import Compact

            state, oof = FeaturesCodec._compact_parts(directory, meta)
            counts = meta.get("label_counts")
            compact = Compact(spark_session().read.parquet(str(directory / "compact.parquet")), state,
                              meta["label"], oof, tuple(counts) if counts else None)
            return SparkFeatures(compact_vectors(compact), meta["names"], meta.get("label_name"),
                                 meta.get("categorical", []), meta.get("views", {}), compact)
        frame = spark_session().read.parquet(str(directory / "features.parquet"))
        return SparkFeatures(frame, meta["names"], meta.get("label_name"), meta.get("categorical", []),
                             meta.get("views", {}))


class JsonCodec:
    @staticmethod
    def save(value, directory: Path) -> dict:
        if not isinstance(value, dict):
            raise TypeError(f"metrics must be a dict, not {type(value).__name__}")
        (directory / "value.json").write_text(json.dumps(value, default=_json_default))
        return {"keys": sorted(value)[:50]}

    @staticmethod
    def load(directory: Path, meta: dict):
        return json.loads((directory / "value.json").read_text())


class ReportCodec:
    @staticmethod
    def save(value: Report, directory: Path) -> dict:
        if not isinstance(value, Report):
            raise TypeError(f"a report output must be a Report, not {type(value).__name__}")
        payload = {"figures": value.figures, "tables": value.tables, "text": value.text}
        (directory / "report.json").write_text(json.dumps(payload, default=_json_default))
        return {"figures": sorted(value.figures), "tables": sorted(value.tables)}

    @staticmethod
    def load(directory: Path, meta: dict) -> Report:
        payload = json.loads((directory / "report.json").read_text())
        return Report(payload["figures"], payload["tables"], payload["text"])


CODECS = {
    PortType.TABLE: TableCodec,
    PortType.FEATURES: FeaturesCodec,
    PortType.FEATURE_STATE: FittedCodec,
    PortType.MODEL: FittedCodec,
    PortType.METRICS: JsonCodec,
    PortType.REPORT: ReportCodec,
}

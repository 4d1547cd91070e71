"""Feature matrices on Spark, and their conversion to and from Arrow batches.

On the Spark engine a `features` port carries a `SparkFeatures`: a Spark DataFrame with one row per table
row, a `features` column of Spark ML vectors (the kernel's CSR rows, or dense rows) and, when the table has
the label, a `label` column (0.0 / 1.0), plus the names and categorical columns of `FeatureMatrix`.
pyspark.ml reads the vector column as is; LightGBM tasks turn their Arrow batches back into CSR matrices.
The artifact store writes its compact frame (raw columns, 0/1 label, out-of-fold columns) and feature state when it
has one, else the vectors, as Parquet (pipelines.store.FeaturesCodec); readers run the kernel again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

FEATURES, LABEL = "features", "label"


@dataclass
class Compact:
    """The raw columns a SparkFeatures is computed from, for consumers that compute what they need of it in their
    own tasks (a model's view) instead of decoding the wide vectors: `frame` holds the state's input columns, the
    label as a 0/1 double under its own name (`label`, None when absent) and the target blocks' out-of-fold
    columns (`oof`: block index -> column), and the kernel of `state` over them gives the vectors."""

    frame: Any  # pyspark.sql.DataFrame
    state: Any  # operators.values.Fitted, a feature state
    label: str | None
    oof: dict[int, str] = field(default_factory=dict)
    # (rows, rows of the positive class) of `frame`, when the fit that made it counted them; None: not known
    label_counts: tuple[int, int] | None = None


@dataclass
class SparkFeatures:
    dataframe: Any  # pyspark.sql.DataFrame with FEATURES (VectorUDT) and, optionally, LABEL (double)
    names: list[str]
    label_name: str | None = None
    categorical: list[str] = field(default_factory=list)
    views: dict[str, list[list[int]]] = field(default_factory=dict)  # as FeatureMatrix.views
    # set by the feature operators: `dataframe` is the kernel over compact.frame (which the engine caches)
    compact: Compact | None = None

    @property
    def has_label(self) -> bool:
        return LABEL in self.dataframe.columns


def features_schema(with_label: bool):
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, StructField, StructType

    fields = [StructField(FEATURES, VectorUDT(), False)]
    if with_label:
        fields.append(StructField(LABEL, DoubleType(), True))
    return StructType(fields)


def vector_array(X):
    """A dense array or CSR matrix as the Arrow struct that Spark ML's VectorUDT is stored as."""
    import pyarrow as pa

    n = X.shape[0]
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        kind = np.zeros(n, dtype=np.int8)
        size = pa.array(np.full(n, X.shape[1], dtype=np.int32))
        offsets = pa.array(X.indptr.astype(np.int32))
        indices = pa.ListArray.from_arrays(offsets, pa.array(X.indices.astype(np.int32)))
        values = pa.ListArray.from_arrays(offsets, pa.array(X.data.astype(np.float64)))
    else:
        X = np.ascontiguousarray(X, dtype=np.float64)
        kind = np.ones(n, dtype=np.int8)
        size = pa.nulls(n, pa.int32())
        indices = pa.nulls(n, pa.list_(pa.int32()))
        offsets = pa.array(np.arange(0, n * X.shape[1] + 1, X.shape[1], dtype=np.int32))
        values = pa.ListArray.from_arrays(offsets, pa.array(X.reshape(-1)))
    return pa.StructArray.from_arrays([pa.array(kind), size, indices, values],
                                      names=["type", "size", "indices", "values"])


def matrix_from_vectors(column, width: int):
    """The Arrow struct column of Spark ML vectors back to a CSR matrix of `width` columns."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n = len(column)
    if n == 0:
        return sp.csr_matrix((0, width))
    kinds = column.field("type").to_numpy(zero_copy_only=False)
    values_list = column.field("values")
    values = values_list.values.to_numpy(zero_copy_only=False).astype(np.float64)
    value_offsets = values_list.offsets.to_numpy()
    if np.all(kinds == 1):  # dense rows
        lengths = np.diff(value_offsets)
        indices = np.arange(values.shape[0]) - np.repeat(value_offsets[:-1], lengths)
        return sp.csr_matrix((values, indices, value_offsets - value_offsets[0]), shape=(n, width))
    if np.all(kinds == 0):
        index_list = column.field("indices")
        indices = index_list.values.to_numpy(zero_copy_only=False)
        return sp.csr_matrix((values, indices, value_offsets - value_offsets[0]), shape=(n, width))
    rows = []  # mixed (Spark ML may compress some rows): one row at a time
    for kind, idx, vals in zip(kinds, column.field("indices").to_pylist(), values_list.to_pylist(), strict=True):
        idx = np.arange(len(vals)) if kind == 1 else np.asarray(idx)
        rows.append(sp.csr_matrix((np.asarray(vals, dtype=np.float64), idx, [0, len(vals)]), shape=(1, width)))
    return sp.vstack(rows, format="csr")


def to_feature_matrix(features: SparkFeatures):
    """Collect a SparkFeatures to the driver as a FeatureMatrix (for small results and the local engine)."""
    import pyarrow as pa

    from ..values import FeatureMatrix

    table = pa.Table.from_batches(features.dataframe._collect_as_arrow())
    X = matrix_from_vectors(table.column(FEATURES), len(features.names)) if table.num_rows else \
        sp.csr_matrix((0, len(features.names)))
    label = table.column(LABEL).to_numpy().astype(np.int8) if LABEL in table.column_names else None
    return FeatureMatrix(X, list(features.names), label, features.label_name, list(features.categorical),
                         dict(features.views))


def from_feature_matrix(spark, matrix, partitions: int = 2) -> SparkFeatures:
    """A FeatureMatrix on the driver as a SparkFeatures, rows in order over `partitions` partitions (tests,
    small cached results). The rows travel inside the task closure, so keep it small."""
    import functools

    bounds = np.linspace(0, matrix.n_rows, partitions + 1).astype(int)
    label = None if matrix.label is None else np.asarray(matrix.label, dtype=np.float64)
    body = functools.partial(_matrix_slices, X=sp.csr_matrix(matrix.X) if sp.issparse(matrix.X) else matrix.X,
                             label=label, bounds=bounds)
    frame = spark.range(0, partitions, 1, partitions).mapInArrow(body, features_schema(label is not None))
    return SparkFeatures(frame, list(matrix.names), matrix.label_name, list(matrix.categorical), dict(matrix.views))


def _matrix_slices(batches, *, X, label, bounds):
    import pyarrow as pa

    for batch in batches:
        for part in batch.column(0).to_pylist():
            lo, hi = bounds[part], bounds[part + 1]
            arrays, names = [vector_array(X[lo:hi])], [FEATURES]
            if label is not None:
                arrays.append(pa.array(label[lo:hi]))
                names.append(LABEL)
            yield pa.RecordBatch.from_arrays(arrays, names=names)


def _view_slices(batches, *, index, width: int):
    import pyarrow as pa

    for batch in batches:
        X = matrix_from_vectors(batch.column(batch.schema.get_field_index(FEATURES)), width)[:, index]
        arrays, names = [vector_array(X)], [FEATURES]
        if LABEL in batch.schema.names:
            arrays.append(batch.column(batch.schema.get_field_index(LABEL)))
            names.append(LABEL)
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def view_of(features: SparkFeatures, view: str) -> tuple[np.ndarray | None, list[str], list[str]]:
    """The column indices of `view` (None when the features have no views: every column), with the view's
    names and categorical columns."""
    from ..kernels.features import view_columns

    if not features.views:
        return None, list(features.names), list(features.categorical)
    index = view_columns(features.views, view)
    names = [features.names[j] for j in index]
    kept = set(names)
    return index, names, [c for c in features.categorical if c in kept]


def spark_view(features: SparkFeatures, view: str) -> tuple[SparkFeatures, str | None]:
    """operators.kernels.features.matrix_view for a SparkFeatures: the view's columns, sliced in the tasks."""
    import functools

    index, names, categorical = view_of(features, view)
    if index is None:
        return features, None
    if features.compact is not None:  # the view's blocks alone, from the raw columns: no wide vectors decoded
        from .features import compact_view

        return compact_view(features, view, names, categorical), view
    body = functools.partial(_view_slices, index=index, width=len(features.names))
    frame = features.dataframe.mapInArrow(body, features_schema(features.has_label))
    return SparkFeatures(frame, names, features.label_name, categorical), view

"""The Spark half of operators/labels.py: the label's value counts from one grouped count, the rule applied to
them by the same choose_classes as the local engine; the Spark types of predicted labels."""
from __future__ import annotations

import numpy as np

from ..contract import OperatorError
from ..labels import LabelClasses, choose_classes, values_dtype

MAX_SHOWN_VALUES = 1_000  # a label with more distinct values is an error anyway: read no more of them


def spark_label(df, column: str, positive: str = "", *, field: str = "label", port: str = "table",
                counts: list[tuple] | None = None):
    """(the label as a 0/1 double column, its LabelClasses). `counts`: the label's (value, rows) pairs, every
    one of them, when the caller has already counted them (operators.spark.features); otherwise one grouped
    count."""
    if column not in df.columns:
        raise OperatorError(f"column {column!r} (from {field}) is not in the {port!r} input; columns are: "
                            f"{', '.join(df.columns[:20])}", field=field, column=column, port=port)
    if counts is None:
        counts = [(row[0], row["count"]) for row in df.groupBy(column).count().limit(MAX_SHOWN_VALUES + 1).collect()]
    missing = sum(n for value, n in counts if value is None)
    present = {value: n for value, n in counts if value is not None}
    classes: LabelClasses = choose_classes(present, missing, column, positive, field=field, port=port)
    return label_column(column, classes), classes


def label_column(column: str, classes: LabelClasses):
    """The label as a 0/1 double column (1.0: the positive class of `classes`), without a job."""
    from pyspark.sql import functions as F

    if classes.positive is None:
        return F.lit(0.0)
    return (F.col(column) == F.lit(classes.positive)).cast("double")


def predicted_types(classes, zero_one=np.int64):
    """(Spark type, Arrow type) of the predicted labels that operators.labels.predicted_values gives for
    `classes`: the schema a mapInArrow body declares before it scores."""
    import pyarrow as pa
    from pyspark.sql import types as T

    kind = values_dtype(classes, zero_one)
    if kind == np.int8:
        return T.ByteType(), pa.int8()
    return {"i": (T.LongType(), pa.int64()), "b": (T.BooleanType(), pa.bool_()),
            "f": (T.DoubleType(), pa.float64())}.get(kind.kind, (T.StringType(), pa.string()))

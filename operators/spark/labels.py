"""The Spark half of operators/labels.py: the label's value counts from one grouped count, the rule applied to
them by the same choose_classes as the local engine."""
from __future__ import annotations

from ..contract import OperatorError
from ..labels import LabelClasses, choose_classes

MAX_SHOWN_VALUES = 1_000  # a label with more distinct values is an error anyway: read no more of them


def spark_label(df, column: str, positive: str = "", *, field: str = "label", port: str = "table"):
    """(the label as a 0/1 double column, its LabelClasses)."""
    from pyspark.sql import functions as F

    if column not in df.columns:
        raise OperatorError(f"column {column!r} (from {field}) is not in the {port!r} input; columns are: "
                            f"{', '.join(df.columns[:20])}", field=field, column=column, port=port)
    rows = df.groupBy(column).count().limit(MAX_SHOWN_VALUES + 1).collect()
    missing = sum(row["count"] for row in rows if row[0] is None)
    counts = {row[0]: row["count"] for row in rows if row[0] is not None}
    classes: LabelClasses = choose_classes(counts, missing, column, positive, field=field, port=port)
    if classes.positive is None:
        return F.lit(0.0), classes
    return (F.col(column) == F.lit(classes.positive)).cast("double"), classes

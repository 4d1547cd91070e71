"""Spark halves of the closed loop's operators: the prediction log read by Spark (the same rows, columns and
labels as operators.library.feedback's local read), and publish_if_better / check_drift, whose work is a
held-out sample or the log's summary on the driver."""
from __future__ import annotations

from ..contract import OperatorError
from ..labels import known_classes, values_dtype
from ..prediction_log import INPUT_PREFIX, log_files

SQL_TYPES = {"i": "long", "b": "boolean", "f": "double", "O": "string"}  # the label values' numpy kind -> Spark


def served_label(frame, classes):
    """The log's served label, a version's 0 / 1 (an older bundle without class values) read as the deployment's
    words or true / false, as operators.library.feedback.served_frame does."""
    from pyspark.sql import functions as F

    from ..library.feedback import maps_served_label

    column = F.col("label")
    dtype = {"bigint": "int64", "int": "int32", "smallint": "int16", "tinyint": "int8"}.get(
        dict(frame.dtypes).get("label"), "object")
    if not maps_served_label(dtype, classes):
        return column
    known = known_classes(classes)
    return F.when(column.isNull(), F.lit(None)).when(column == 1, F.lit(known.positive)).otherwise(
        F.lit(known.negative))


def import_prediction_log(ctx, inputs, params):
    """The log's Parquet files of the window's days read by Spark (schemas of versions merged), filtered on time
    and version, renamed as the local read names them, and left-joined with the labels."""
    from pyspark.sql import functions as F

    from ..library.feedback import LOG_COLUMNS, label_values, log_window, no_rows

    found = ctx.prediction_log(params.deployment)
    since, until = log_window(params)
    files = log_files(found["directory"], params.deployment, since, until)
    if not files:
        raise no_rows(params)
    frame = ctx.spark.read.option("mergeSchema", "true").parquet(*[str(f) for f in files])
    for condition in ([F.col("time") >= since] if since is not None else []) + \
            ([F.col("time") < until] if until is not None else []) + \
            ([F.col("version") == params.version] if params.version else []):
        frame = frame.filter(condition)
    inputs_ = [c for c in frame.columns if c.startswith(INPUT_PREFIX)]
    names = [c[len(INPUT_PREFIX):] for c in inputs_]
    label = params.label_column
    if label in names or label in LOG_COLUMNS:
        raise OperatorError(f"label_column {label!r} is also a column of the served rows; choose another name",
                            field="label_column")
    classes = found.get("classes")
    kind = SQL_TYPES[values_dtype(classes).kind]
    frame = frame.select("request_id", "row", "version", F.timestamp_seconds("time").alias("time"),
                         *[F.col(c).alias(n) for c, n in zip(inputs_, names, strict=True)],
                         F.col("probability").cast("double").alias("served_probability"),
                         served_label(frame, classes).alias("served_label"))
    labels = label_values(found["labels"]().astype({"request_id": object, "row": "int32", "label": "int64"}), classes)
    labels = ctx.spark.createDataFrame(labels, schema=f"request_id string, row int, label {kind}")
    frame = frame.join(labels.withColumnRenamed("label", label), ["request_id", "row"], "left")
    if params.labeled_only:
        frame = frame.filter(F.col(label).isNotNull())
    elif kind in ("long", "double"):
        frame = frame.withColumn(label, F.col(label).cast("double"))  # null where none arrived, as NaN locally
    frame = frame.orderBy("time", "request_id", "row")
    if frame.isEmpty():
        if params.labeled_only:
            raise OperatorError(f"no label has arrived for the served rows of {params.deployment!r} in the window",
                                field="labeled_only")
        raise no_rows(params)
    return {"table": frame}


def publish_if_better(ctx, inputs, params):
    """Held-out rows are few: the local operator scores both models on up to 200,000 of them on the driver."""
    import operators

    return operators.get("publish_if_better")().run(ctx, inputs, params)


def check_drift(ctx, inputs, params):
    """No table input: the report reads the prediction log's columns with Arrow on the driver, as locally."""
    import operators

    return operators.get("check_drift")().run(ctx, inputs, params)

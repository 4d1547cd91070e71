"""Spark halves of the closed loop's operators: the prediction log read by Spark (the same rows, columns and
labels as operators.library.feedback's local read), and publish_if_better / check_drift, whose work is a
held-out sample or the log's summary on the driver."""
from __future__ import annotations

from functools import reduce

from ..contract import OperatorError
from ..labels import answered_classes, known_classes, text_of, values_dtype
from ..prediction_log import INPUT_PREFIX, conflicting_types, log_files, served_since

SQL_TYPES = {"i": "long", "b": "boolean", "f": "double", "O": "string"}  # the label values' numpy kind -> Spark


def served_label(frame, classes, version_classes=None):
    """The log's served label in the deployment's values, as operators.library.feedback.served_values reads it: 0 / 1
    integers by their positive class, text ("1", "yes") by its word or number; the rows of a version of another pair
    of values (1 / 2, or 0 / 1 with 0 positive, before words; words or 1 / 2 before 0 / 1) by role, through that
    version's own classes."""
    from pyspark.sql import functions as F

    from ..library.feedback import role_versions

    column, kind = F.col("label"), dict(frame.dtypes).get("label")
    base = _in_words(column, kind, classes)
    turned = role_versions(classes, version_classes)
    live = SQL_TYPES[values_dtype(classes).kind]
    if not turned:
        return base.cast(live) if live in ("long", "double") and kind == "string" else base
    known = answered_classes(classes)
    version = F.col("version").cast("string")
    out = F.when(column.isNull(), F.lit(None))
    for number, own in turned.items():  # answered_positive: the version's positive value, compared by text
        positive = (column == F.lit(float(own.positive))) if kind in ("double", "float") and isinstance(
            own.positive, (int, float)) else (column.cast("string") == F.lit(text_of(own.positive)))
        out = out.when((version == number) & positive, F.lit(known.positive)).when(version == number,
                                                                                   F.lit(known.negative))
    out = out.otherwise(base)
    return out.cast(live) if live in ("long", "double") else out


def _in_words(column, kind, classes):
    from pyspark.sql import functions as F

    from ..library.feedback import live_texts, served_words

    words = served_words(classes)
    if words is None:  # a deployment answering numbers: the text of its values (the log's files disagree) as them
        texts = live_texts(classes)
        if texts is None or kind != "string":
            return column
        mapped = F.when(column.isNull(), F.lit(None))
        for text, value in texts.items():
            mapped = mapped.when(column == text, F.lit(value))
        return mapped.otherwise(F.lit(None))
    known = known_classes(classes)
    if kind not in ("bigint", "int", "smallint", "tinyint", "string"):
        return column
    if kind != "string":
        return F.when(column.isNull(), F.lit(None)).when(column == 1, F.lit(known.positive)).otherwise(
            F.lit(known.negative))
    mapped = F.when(column.isNull(), F.lit(None))
    for text, value in words.items():
        mapped = mapped.when(column == text, F.lit(value))
    # a text that is no word: kept by a deployment answering words, missing for true / false (as served_values)
    return mapped.otherwise(column if values_dtype(known).kind == "O" else F.lit(None))


def read_files(spark, files):
    """The log's files as one DataFrame, schemas of versions merged; a column whose type differs between files
    (operators.prediction_log.conflicting_types: 0 / 1 from one version, "yes" / "no" from another) is read per
    group of files and cast as the local read casts it, then the groups are unioned by name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schemas = {str(f): pq.read_schema(f) for f in files}
    conflicts = conflicting_types(schemas.values())
    groups: dict[tuple, list[str]] = {}
    for path, schema in schemas.items():
        key = tuple(str(schema.field(n).type) if n in schema.names else "" for n in sorted(conflicts))
        groups.setdefault(key, []).append(path)
    frames = []
    for paths in groups.values():
        frame = spark.read.option("mergeSchema", "true").parquet(*paths)
        for name, type_ in conflicts.items():
            if name in frame.columns:
                frame = frame.withColumn(name, frame[name].cast("double" if pa.types.is_floating(type_) else "string"))
        frames.append(frame)
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)


def import_prediction_log(ctx, inputs, params):
    """The log's Parquet files of the window's days read by Spark (schemas of versions merged), filtered on time
    and version, renamed as the local read names them, and left-joined with the labels."""
    from pyspark.sql import functions as F

    from ..library.feedback import LOG_COLUMNS, label_values, log_window, no_rows

    found = ctx.prediction_log(params.deployment)
    since, until = log_window(params)
    since = served_since(found["directory"], params.deployment, since)
    files = log_files(found["directory"], params.deployment, since, until)
    if not files:
        raise no_rows(params)
    frame = read_files(ctx.spark, files)
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
                         served_label(frame, classes, found.get("version_classes")).alias("served_label"))
    labels = label_values(found["labels"](), classes, found.get("version_classes")).astype(
        {"request_id": object, "row": "int32"})
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

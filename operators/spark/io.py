"""Spark halves that read or write outside the table flow: CSV and Parquet files below the data root, JDBC reads
split into partitions, publishing a model, and batch scoring with a published deployment."""
from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit

from ..connections import check_statement, jdbc_read_only_properties
from ..contract import OperatorError

# SQLAlchemy dialect -> (JDBC scheme, driver class). Debian's libpostgresql-jdbc-java and libmariadb-java
# provide the jars (pipelines.engines.JDBC_JARS); the MariaDB driver also reads MySQL servers.
JDBC_DRIVERS = {
    "postgresql": ("postgresql", "org.postgresql.Driver"),
    # the jdbc:mysql scheme, so Spark picks its MySQL dialect (backtick quoting); the MariaDB driver accepts it
    "mysql": ("mysql", "org.mariadb.jdbc.Driver"),
    "mariadb": ("mysql", "org.mariadb.jdbc.Driver"),
}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}


def jdbc_target(url: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL (postgresql+psycopg://user:pw@host:5432/db) as a JDBC URL and connection properties.
    The password travels in the properties, never in the URL that Spark may log."""
    parts = urlsplit(url)
    dialect = parts.scheme.split("+")[0]
    if dialect not in JDBC_DRIVERS:
        raise OperatorError(f"the Spark engine reads databases over JDBC: PostgreSQL, MySQL or MariaDB, "
                            f"not {dialect!r}", field="connection")
    scheme, driver = JDBC_DRIVERS[dialect]
    host = parts.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host  # an IPv6 address (the studio hands over the checked address)
    port = parts.port or DEFAULT_PORTS[dialect]
    database = parts.path.lstrip("/")
    properties = {"driver": driver, "user": unquote(parts.username or "")}
    if parts.password:
        properties["password"] = unquote(parts.password)
    suffix = "?permitMysqlScheme" if scheme == "mysql" else ""
    return f"jdbc:{scheme}://{host}:{port}/{database}{suffix}", properties


def read_jdbc(spark, url: str, *, table: str | None = None, query: str | None = None,
              partition_column: str | None = None, num_partitions: int | None = None, max_rows: int | None = None):
    """Read a table or a query over JDBC. With a numeric partition column (given, or else the first integer
    column of the result) the read is split into `num_partitions` range queries that Spark runs in parallel;
    the bounds come from one MIN / MAX query."""
    if bool(table) == bool(query):
        raise OperatorError("give either a table or a query", field="table")
    jdbc_url, properties = jdbc_target(url)
    properties.update(jdbc_read_only_properties(jdbc_url))  # every connection Spark opens is read-only
    source = table if table else f"({query}) AS studio_query"

    def reader():  # a DataFrameReader keeps its options: a fresh one per read
        return spark.read.format("jdbc").option("url", jdbc_url).options(**properties)

    try:
        schema = reader().option("dbtable", source).load().schema  # metadata only: no rows are read
    except Exception as exc:  # the driver's message names the table or the SQL error
        raise OperatorError(f"cannot read {table or 'the query'} over JDBC: {_first_line(exc)}",
                            field="table" if table else "query") from None
    numeric = [f.name for f in schema.fields if f.dataType.typeName() in ("integer", "long", "short")]
    if partition_column is not None and partition_column not in schema.fieldNames():
        raise OperatorError(f"partition column {partition_column!r} is not a column of {table or 'the query'}",
                            field="partition_column", column=partition_column)
    column = partition_column or (numeric[0] if numeric else None)
    partitions = num_partitions or max(2, int(spark.sparkContext.defaultParallelism))
    quoted = f'"{column}"' if jdbc_url.startswith("jdbc:postgresql") else f"`{column}`"
    try:  # the first time the query runs on the database
        bounds = (reader().option("query", f"SELECT COUNT(*) AS n, MIN({quoted}) AS lo, MAX({quoted}) AS hi FROM "
                                           f"{source}" if column else f"SELECT COUNT(*) AS n FROM {source}")
                  .load().collect()[0])
    except Exception as exc:
        raise OperatorError(f"cannot read {table or 'the query'} over JDBC: {_first_line(exc)}",
                            field="table" if table else "query") from None
    if max_rows is not None and bounds["n"] > max_rows:
        raise OperatorError(f"the source has more than {max_rows:,} rows; raise max_rows or narrow the query",
                            field="max_rows")
    if column is None or partitions < 2 or bounds["lo"] is None:  # no integer column, or an empty table
        return reader().option("dbtable", source).load()
    return (reader().option("dbtable", source).option("partitionColumn", column)
            .option("lowerBound", str(bounds["lo"])).option("upperBound", str(int(bounds["hi"]) + 1))
            .option("numPartitions", str(partitions)).load())


def _first_line(exc: Exception) -> str:
    """The driver's message: for a Py4J error its root cause ("Caused by: ...") or the Java exception's line,
    not Py4J's "An error occurred while calling o68.load" preamble."""
    lines = [line for line in str(exc).strip().splitlines() if line.strip()]
    causes = [line[len("Caused by: "):] for line in lines if line.startswith("Caused by: ")]
    if causes:
        lines = causes[-1:]
    elif len(lines) > 1 and lines[0].startswith("An error occurred while calling"):
        lines = lines[1:]
    text = re.sub(r"^[:\s]*([\w.$]+(Exception|Error): )?", "", lines[0]) if lines else ""
    return text[:500] or type(exc).__name__


def import_csv(ctx, inputs, params):
    """Spark reads the file as text columns; then one aggregation finds, per column, whether every value is
    an integer, a number, a true / false word or an ISO date (as the local engine's inference), and the columns
    are cast."""
    from pyspark.sql import functions as F

    from ..library.io_files import ISO_DATE, ImportMessages, source_label, source_path
    from .tables import col, quoted

    path = source_path(ctx, params)
    label, field = source_label(params, path)
    reader = (ctx.spark.read.option("header", params.header).option("sep", params.delimiter)
              .option("encoding", params.encoding).option("inferSchema", False).option("mode", "FAILFAST"))
    table = reader.csv(str(path))
    if not table.columns:
        raise OperatorError(f"{label!r} is empty", field=field)
    table = table.toDF(*_local_names(path, params, table.columns))
    if params.max_rows:
        table = table.limit(params.max_rows)
    nulls = list(params.null_values)
    table = table.select(*[F.when(col(c).isin(nulls), None).otherwise(col(c)).alias(c) if nulls else col(c)
                           for c in table.columns])
    for column in params.column_types:
        if column not in table.columns:
            raise ImportMessages.not_in_file(source="column_types", known=", ".join(table.columns[:20]),
                                             field=f"column_types.{column}", column=column)
    free = [c for c in table.columns if c not in params.column_types]
    date_pattern = ISO_DATE.pattern
    checks = []
    for i, c in enumerate(free):
        column = col(c)
        checks += [F.count(column).alias(f"n{i}"),
                   F.count(F.expr(f"try_cast({quoted(c)} AS BIGINT)")).alias(f"int{i}"),
                   F.count(F.expr(f"try_cast({quoted(c)} AS DOUBLE)")).alias(f"num{i}"),
                   F.sum(column.rlike(date_pattern).cast("int")).alias(f"date{i}"),
                   F.count(F.expr(f"try_to_timestamp({quoted(c)})")).alias(f"time{i}"),
                   F.sum(F.lower(column).isin("true", "false").cast("int")).alias(f"bool{i}")]
    kinds = {}
    if checks:
        row = table.agg(*checks).collect()[0]
        for i, c in enumerate(free):
            n = row[f"n{i}"]
            if n and row[f"int{i}"] == n:
                kinds[c] = "integer"
            elif n and row[f"num{i}"] == n:
                kinds[c] = "number"
            elif n and row[f"bool{i}"] == n:  # pandas' reading of true / false in any case
                kinds[c] = "boolean"
            elif n and params.parse_dates and row[f"date{i}"] == n == row[f"time{i}"]:
                # every value a time, as the local engine's parse of the whole column: an impossible date
                # ('2024-02-30') leaves the column text there, where the cast would make it null here
                kinds[c] = "datetime"
    kinds.update(params.column_types)
    _refuse_unreadable(table, params.column_types)
    table = table.select(*[_cast(c, kinds.get(c)) for c in table.columns])
    ctx.log(f"reading {label} with Spark ({table.rdd.getNumPartitions()} partitions)")
    return {"table": table}


def _local_names(path, params, names: list[str]) -> list[str]:
    """The column names the local engine gives: column_1, ... without a header; with one, pandas' names of the
    header line (a repeated 'x' is 'x.1', a blank one 'Unnamed: 2', where Spark says 'x1' and '_c2')."""
    import pandas as pd

    if not params.header:
        return [f"column_{i + 1}" for i in range(len(names))]
    try:
        local = pd.read_csv(path, sep=params.delimiter, encoding=params.encoding, nrows=0).columns
    except (OSError, ValueError, LookupError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return names  # the local engine fails on this header: Spark's names stand
    return [str(name) for name in local] if len(local) == len(names) else names


def _refuse_unreadable(table, column_types: dict[str, str]) -> None:
    """The local engine's refusal of a value its given type cannot read (a boolean 'yse', a number 'abc'), from
    one aggregation: how many such values each typed column has and the smallest of them. Spark's casts would
    instead make it null (a boolean, silently) or fail later with Spark's own message and no column."""
    from pyspark.sql import functions as F

    from ..library.io_files import ImportMessages
    from .tables import col

    typed = [(c, kind) for c, kind in column_types.items() if kind in _REASONS]
    if not typed:
        return
    checks = []
    for i, (c, kind) in enumerate(typed):
        unreadable = col(c).isNotNull() & _read_as(c, kind).isNull()
        checks += [F.count(F.when(unreadable, 1)).alias(f"bad{i}"), F.min(F.when(unreadable, col(c))).alias(f"eg{i}")]
    row = table.agg(*checks).collect()[0]
    for i, (c, kind) in enumerate(typed):
        if row[f"bad{i}"]:
            raise ImportMessages.unreadable(kind=kind, reason=_REASONS[kind].format(row[f"eg{i}"]),
                                            field=f"column_types.{c}", column=c)


_REASONS = {"number": "{!r} is not a number", "integer": "{!r} is not a whole number",
            "boolean": "{!r} is not true/false", "datetime": "{!r} is not a date or time"}


def _read_as(column: str, kind: str):
    """Column `column`'s text as `kind`, null where it cannot be read (checked by _refuse_unreadable before the
    cast is used): integers as the local engine reads them, '2.0' too but not '1.5'."""
    from pyspark.sql import functions as F

    from ..library.io_files import BOOLEAN_WORDS
    from .table_ops import _normalised
    from .tables import col, quoted

    if kind == "number":
        return F.expr(f"try_cast({quoted(column)} AS DOUBLE)")
    if kind == "integer":
        number = F.expr(f"try_cast({quoted(column)} AS DOUBLE)")
        whole = F.when(number == F.floor(number), number.cast("bigint"))
        return F.coalesce(F.expr(f"try_cast({quoted(column)} AS BIGINT)"), whole)
    if kind == "boolean":
        text = _normalised(col(column))
        return (F.when(text.isin(*[w for w, v in BOOLEAN_WORDS.items() if v]), True)
                .when(text.isin(*[w for w, v in BOOLEAN_WORDS.items() if not v]), False))
    return F.expr(f"try_to_timestamp({quoted(column)})")


def _cast(column: str, kind: str | None):
    from .tables import col

    if kind in _REASONS:
        return _read_as(column, kind).alias(column)
    return col(column).alias(column)  # string, category, or text


def import_parquet(ctx, inputs, params):
    """Spark reads the file; read whole (no columns chosen, no row limit), the table is the file itself, which the
    artifact store keeps as it is (operators.spark.tables.whole_file)."""
    import pyarrow.parquet as pq
    from pyspark.sql import functions as F

    from ..library.io_files import ImportMessages, source_path
    from .tables import quoted, whole_file

    path = source_path(ctx, params)
    table = ctx.spark.read.parquet(str(path))
    # pandas writes nanosecond timestamps, which this session reads as longs (spark.sql.legacy.parquet.
    # nanosAsLong, pipelines.engines): turned back into times, as the local engine reads them
    schema = pq.read_schema(path)
    for field in schema:
        if getattr(field.type, "unit", None) == "ns" and str(field.type).startswith("timestamp"):
            micros = F.expr(quoted(field.name) + " div 1000")  # integers: exact
            table = table.withColumn(field.name, F.timestamp_micros(micros))
    if params.columns:
        for column in params.columns:
            if column not in table.columns:
                raise ImportMessages.not_in_file(source="columns", known=", ".join(table.columns[:20]),
                                                 field="columns", column=column)
        table = table.select(*params.columns)
    if params.max_rows:
        table = table.limit(params.max_rows)
    elif not params.columns and not _stored_index(schema):
        table = whole_file(table, path)
    return {"table": table}


def _stored_index(schema) -> bool:
    """True when pandas stored an index as columns of the file (the local engine reads them back as the index,
    Spark as columns): then the file is not the table the local engine reads, and is not kept as it is."""
    index = (schema.pandas_metadata or {}).get("index_columns", [])
    return any(isinstance(column, str) for column in index)


def import_sql(ctx, inputs, params):
    """JDBC from PostgreSQL or MySQL/MariaDB, split into range queries over the first integer column."""
    if bool(params.table) == bool(params.query):
        raise OperatorError("give either a table or a query, not both or neither", field="table")
    if params.query:
        check_statement(params.query)
    table = read_jdbc(ctx.spark, ctx.connection_url(params.connection), table=params.table or None,
                      query=params.query or None, max_rows=params.max_rows)
    ctx.log(f"reading {params.table or 'the query'} over JDBC in {table.rdd.getNumPartitions()} partitions")
    return {"table": table}


def publish_model(ctx, inputs, params):
    """Publishing needs only the first rows of the held-out table (100 verify the bundle, up to 100,000 give its
    drift statistics); the rest stays on Spark."""
    import operators

    inputs = dict(inputs, table=inputs["table"].limit(100_000).toPandas())
    return operators.get("publish_model")().run(ctx, inputs, params)


def _bundle_loader(bundle):
    """The loader of the bundle's own module (pipelines.bundle.load_bundle). The context hands operators
    loaded bundles and operators never import pipelines (DESIGN: rooms), so the driver takes the loader from
    the bundle it was given and ships it to the tasks by reference."""
    import importlib

    return importlib.import_module(type(bundle).__module__).load_bundle


def _score_batches(batches, *, load, path: str, columns: list[str], label_type):
    """mapInArrow body: the bundle loaded by path once per partition (its files' hashes checked and its
    held-out rows replayed, as on the driver), each batch scored by the bundle's own score_table."""
    import numpy as np
    import pyarrow as pa

    from .tables import pandas_batch

    bundle = load(path)
    for batch in batches:
        if not batch.num_rows:
            continue
        try:
            scores = bundle.score_table(pandas_batch(batch, columns))
        except ValueError as exc:  # a value the bundle cannot read, as the local operator reports it
            raise OperatorError(str(exc), port="table") from None
        yield (batch.append_column("probability", pa.array(scores["probability"], type=pa.float64()))
               .append_column("predicted_label", pa.array(np.asarray(scores["label"]), type=label_type)))


def score_with_deployment(ctx, inputs, params):
    """The deployment's bundle is resolved and verified on the driver (an unknown deployment or a refused
    bundle fails before any job); each task loads the same bundle directory by path, once per partition, and
    scores its Arrow batches with the bundle's score_table: the same kernels and numbers as the local engine
    and the online service. On a cluster the bundle directory must be readable by the executors at the same
    path (a shared file system), as the artifact store must be. Input columns named probability or
    predicted_label are replaced by the scores, at the end of the table."""
    from pathlib import Path

    from pyspark.sql.types import DoubleType, StructField, StructType

    from .labels import predicted_types
    from .tables import col
    from .tasks import carry_operator_errors

    table = inputs["table"]
    bundle = ctx.deployment_bundle(params.deployment, params.version or None)
    path = Path(bundle.path)
    if not (path / "manifest.json").is_file():  # a .tar.gz was extracted to a folder deleted since
        raise OperatorError(f"deployment {params.deployment!r}: the Spark engine scores with a bundle directory; "
                            f"{path} is gone", field="deployment")
    needed = [spec["name"] for spec in bundle.input_spec]
    missing = [name for name in needed if name not in table.columns]
    if missing:  # the message of pipelines.bundle.table_to_columns, which the local operator reports
        raise OperatorError(f"the table lacks input column {missing[0]!r} of the bundle", port="table")
    kept = [c for c in table.columns if c not in ("probability", "predicted_label")]
    table = table.select(*[col(c) for c in kept]) if len(kept) < len(table.columns) else table
    spark_type, arrow_type = predicted_types(bundle.classes)  # the bundle's labels: "yes" / "no" or 0 / 1
    schema = StructType(table.schema.fields + [StructField("probability", DoubleType()),
                                               StructField("predicted_label", spark_type)])
    body = functools.partial(carry_operator_errors(_score_batches), load=_bundle_loader(bundle), path=str(path),
                             columns=needed, label_type=arrow_type)
    ctx.log(f"scoring with {params.deployment} version {bundle.version} on Spark")
    return {"table": table.mapInArrow(body, schema)}

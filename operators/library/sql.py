"""sql_transform: one SELECT over the input tables, in process with DuckDB (Azure ML designer's Apply SQL
Transformation). On the Spark engine the same statement runs as Spark SQL (operators.spark).

What a user types is run by a database engine, so the engine is locked down before the statement runs
(DESIGN principle 8): one statement, SELECT or WITH only, checked by DuckDB's own parser; no file, URL or
extension access (`enable_external_access=false`, no extension loading), no Python objects but the input
tables (`python_enable_replacements=false`), a memory ceiling and a thread count, and then
`lock_configuration=true` so the statement cannot change any of it. A watcher thread interrupts the query at
its time limit or when the run is cancelled.
"""
from __future__ import annotations

import os
import re
import threading
import time

import pandas as pd
from pydantic import Field

from ..contract import Cancelled, Operator, OperatorError, Params, Port, PortType
from ..isolation import describe_size, parse_size

MAX_SQL = 20_000  # characters of SQL text
PORTS = ("t1", "t2", "t3")
INPUTS = (Port("t1", PortType.TABLE, "Rows, as table t1"),
          Port("t2", PortType.TABLE, "Rows, as table t2", optional=True),
          Port("t3", PortType.TABLE, "Rows, as table t3", optional=True))


def sql_memory_limit() -> int:
    """STUDIO_SQL_MEMORY_LIMIT (default 1g): DuckDB's memory ceiling, and the largest result kept."""
    return parse_size(os.environ.get("STUDIO_SQL_MEMORY_LIMIT", "1g")) or 1024 ** 3


def sql_threads() -> int:
    return max(1, int(os.environ.get("STUDIO_SQL_THREADS", "2")))


class SqlTransform(Operator):
    """Runs one SELECT (or WITH ... SELECT) statement over the input tables, which it names t1, t2 and t3 (the
    port names), and outputs its result. DuckDB's SQL locally, Spark SQL on the Spark engine: joins, GROUP BY,
    window functions, CASE, string and date functions. Anything but a query (DELETE, ATTACH, COPY, INSTALL,
    PRAGMA, SET, ...) is refused, and so is reading files or URLs (read_csv, 'file.parquet'); a syntax error
    names its line and column."""

    name = "sql_transform"

    spark = "operators.spark.sql:sql_transform"
    category = "Data preparation"
    description = "SELECT over the input tables t1, t2, t3 (DuckDB; Spark SQL on Spark)."
    inputs = INPUTS
    outputs = (Port("table", PortType.TABLE, "The query's result"),)

    class Params(Params):
        sql: str = Field(..., min_length=1, max_length=MAX_SQL, description="e.g. SELECT region, avg(income) AS "
                                                                             "income FROM t1 GROUP BY region",
                         json_schema_extra={"widget": "code", "language": "sql"})
        timeout_seconds: int = Field(300, ge=1, le=3600, description="The query is stopped after this long")

    def run(self, ctx, inputs, params):
        tables = {port: inputs[port] for port in PORTS if inputs.get(port) is not None}
        out = run_duckdb(params.sql, tables, timeout=params.timeout_seconds, cancelled=lambda: ctx.cancelled)
        ctx.log(f"{' + '.join(f'{n}: {len(t):,}' for n, t in tables.items())} rows -> {len(out):,} rows")
        return {"table": out}


def check_statement(sql: str) -> None:
    """One SELECT / WITH statement, by DuckDB's parser; an error with the line and column otherwise."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise sql_error(sql, exc) from None
    if len(statements) != 1:
        raise OperatorError(f"give one SELECT statement, not {len(statements)}", field="sql")
    kind = statements[0].type
    if kind != duckdb.StatementType.SELECT:
        word = (statements[0].query.split() or [kind.name])[0].upper()
        raise OperatorError(f"only SELECT (or WITH ... SELECT) statements run here, not {word}", field="sql")


# Functions that build a value of the size their arguments say. DuckDB computes one with constant arguments
# while it plans the statement, and any one in a single call, without looking at the interrupt or its memory
# limit: len(range(1000000000)) held 20 GB for minutes past a 3 s time limit. query('...') runs SQL from a string
# no check could read.
MAX_GENERATED = 10_000_000  # elements of a list, characters of a string
_GENERATORS = {"range": -1, "generate_series": -1, "repeat": 1, "list_resize": 1, "array_resize": 1, "lpad": 1,
               "rpad": 1}  # which argument is the size (-1: range's stop, start and step)
_REFUSED_FUNCTIONS = {"query": "query('...') (SQL from a string)"}
_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def check_generated(con, sql: str) -> None:
    """Refuse a statement that calls range / generate_series / repeat / list_resize / lpad / rpad with a constant
    size over MAX_GENERATED, or query('...'), read from DuckDB's own parse tree of it (json_serialize_sql)."""
    import json

    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("type") == "TABLE_FUNCTION" and isinstance(item.get("function"), dict):
                # rows from a table function (FROM range(n)) stream, under the time limit: only its arguments
                call = item.pop("function")
                _check_call(call, rows=True)
                stack.extend(call.values())
            elif item.get("class") == "FUNCTION":
                _check_call(item)
            stack.extend(item.values())


def _check_call(call: dict, rows: bool = False) -> None:
    name = str(call.get("function_name", "")).lower()
    if name in _REFUSED_FUNCTIONS:
        raise OperatorError(f"{_REFUSED_FUNCTIONS[name]} is not allowed in sql_transform", field="sql")
    if rows or name not in _GENERATORS:
        return
    args = [_constant(a.get("expression")) for a in call.get("arguments") or [] if isinstance(a, dict)]
    size = None
    if _GENERATORS[name] == -1 and args:
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (args + [1])[:3]
        if None not in (start, stop, step):
            size = abs(stop - start) // abs(step or 1)
    elif len(args) > _GENERATORS[name]:
        size = args[_GENERATORS[name]]
    if size is not None and size > MAX_GENERATED:
        raise OperatorError(f"{name}(...) would make {size:,} elements; at most {MAX_GENERATED:,} are allowed in "
                            "sql_transform", field="sql")


def _constant(expression, depth: int = 0):
    """The integer value of a parse-tree expression built of number literals, casts and + - *; else None."""
    if not isinstance(expression, dict) or depth > 50:
        return None
    kind = expression.get("class")
    if kind == "CONSTANT":
        literal = expression.get("literal") or {}
        numeric = literal.get("kind") in ("INTEGER", "NUMERIC", "DECIMAL", "DOUBLE")
        try:
            return int(float(literal.get("text"))) if numeric else None
        except (TypeError, ValueError, OverflowError):
            return None
    if kind == "CAST":
        return _constant(expression.get("child"), depth + 1)
    name = expression.get("function_name")
    args = expression.get("arguments") or []
    if kind == "FUNCTION" and name in _ARITHMETIC and len(args) == 2:
        left, right = (_constant(a.get("expression"), depth + 1) for a in args)
        return None if left is None or right is None else _ARITHMETIC[name](left, right)
    return None


def locked_connection():
    import duckdb

    con = duckdb.connect(":memory:", config={
        "enable_external_access": False, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False, "allow_community_extensions": False,
        "python_enable_replacements": False,
        "memory_limit": f"{sql_memory_limit() // 1024 ** 2}MB", "threads": sql_threads()})
    return con


def run_duckdb(sql: str, tables: dict[str, pd.DataFrame], *, timeout: float, cancelled=lambda: False) -> pd.DataFrame:
    """The statement's result over `tables` (name -> DataFrame), under the lock-down, the time limit and
    cancellation (raises Cancelled)."""
    import duckdb
    import pyarrow as pa

    check_statement(sql)
    con = locked_connection()
    try:
        for name, table in tables.items():
            con.register(name, pa.Table.from_pandas(table, preserve_index=False))
        con.execute("SET lock_configuration = true")
        check_generated(con, sql)
        with _Watch(con, timeout, cancelled) as watch:
            try:
                result = _fetch(_relation(con, sql))
            except duckdb.InterruptException:
                if watch.reason == "cancelled":
                    raise Cancelled("the query was cancelled") from None
                raise OperatorError(f"the query was stopped after its time limit of {timeout:g} s",
                                    field="timeout_seconds") from None
            except duckdb.OutOfMemoryException as exc:
                raise OperatorError(f"the query needs more than its memory limit of "
                                    f"{describe_size(sql_memory_limit())} (STUDIO_SQL_MEMORY_LIMIT): "
                                    f"{_first_line(exc)}", field="sql") from None
            except duckdb.Error as exc:
                raise sql_error(sql, exc) from None
    finally:
        con.close()
    return result


def _relation(con, sql: str):
    """The statement bound as a relation (streamed without the copy a DB-API result makes). A binding error
    there comes without the place it points at; EXPLAIN binds the statement again, without running it, and
    says where."""
    import duckdb

    try:
        return con.sql(sql)
    except (duckdb.InterruptException, duckdb.OutOfMemoryException):
        raise
    except duckdb.Error as exc:
        try:
            con.execute(EXPLAIN + sql)
        except duckdb.Error as placed:
            raise sql_error(sql, placed, shift=len(EXPLAIN)) from None
        raise sql_error(sql, exc) from None


EXPLAIN = "EXPLAIN "


def _fetch(relation) -> pd.DataFrame:
    """The result as pandas, batch by batch, refused once it is larger than the memory limit; DuckDB's big
    integers and decimals (SUM of integers is a HUGEINT) as int64 / float64, as the other operators expect."""
    import pyarrow as pa

    limit, size, batches = sql_memory_limit(), 0, []
    reader = relation.to_arrow_reader(100_000)
    for batch in reader:
        size += batch.nbytes
        if size > limit:
            raise OperatorError(f"the query's result is larger than {describe_size(limit)} "
                                "(STUDIO_SQL_MEMORY_LIMIT); aggregate or filter it", field="sql")
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=reader.schema)
    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            target = pa.int64() if column.type.scale == 0 else pa.float64()
            try:
                table = table.set_column(i, column.name, table.column(i).cast(target))
            except pa.ArrowInvalid:
                table = table.set_column(i, column.name, table.column(i).cast(pa.float64(), safe=False))
    return table.to_pandas()


class _Watch:
    """Interrupts the connection's query at the deadline or once `cancelled()` is true; `reason` says which."""

    def __init__(self, con, timeout: float, cancelled):
        self.con, self.deadline, self.cancelled = con, time.monotonic() + timeout, cancelled
        self.reason: str | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sql-watch", daemon=True)

    def _watch(self):
        while not self._done.wait(0.1):
            if self.cancelled():
                self.reason = "cancelled"
            elif time.monotonic() >= self.deadline:
                self.reason = "timeout"
            if self.reason:
                self.con.interrupt()
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def sql_error(sql: str, exc: Exception, shift: int = 0) -> OperatorError:
    """DuckDB's message, with the line and column it points at (DuckDB shows the line, cut around the place on
    a long line, and a caret under it). `shift`: characters DuckDB saw before the statement on its line 1."""
    text = str(exc).strip()
    message = _first_line(exc)
    match = re.search(r"^LINE (\d+): (.*)\n( *)\^", text, re.MULTILINE)
    if not match:
        return OperatorError(f"SQL error: {message}", field="sql")
    line_number = int(match[1])
    shown, caret = match[2], len(match[3]) - len(f"LINE {match[1]}: ")
    lines = sql.splitlines() or [""]
    source = lines[line_number - 1] if line_number <= len(lines) else ""
    if line_number == 1 and shift:
        source = EXPLAIN[:shift] + source
    snippet = shown[3:] if shown.startswith("...") else shown
    snippet = snippet[:-3] if snippet.endswith("...") else snippet
    start = source.find(snippet) if snippet else -1
    offset = caret - (3 if shown.startswith("...") else 0)
    column = (start if start >= 0 else 0) + offset + 1 - (shift if line_number == 1 else 0)
    return OperatorError(f"SQL error at line {line_number}, column {column}: {message}", field="sql")

"""sql_transform: one SELECT over the input tables, in process with DuckDB (Azure ML designer's Apply SQL
Transformation). On the Spark engine the same statement runs as Spark SQL (operators.spark).

What a user types is run by a database engine, so the engine is locked down before the statement runs
(DESIGN principle 8): one statement, SELECT or WITH only, checked by DuckDB's own parser; no file, URL or
extension access (`enable_external_access=false`, no extension loading), no Python objects but the input
tables (`python_enable_replacements=false`), a memory ceiling and a thread count, and then
`lock_configuration=true` so the statement cannot change any of it. The statement runs in a child process
under a memory ceiling (`query_memory`), which interrupts its query at the time limit; a cancelled run kills it.
"""
from __future__ import annotations

import os
import re
import tempfile
import threading
import time

import pandas as pd
from pydantic import Field

from ..contract import Cancelled, Operator, OperatorError, Params, Port, PortType
from ..isolation import ChildFailed, describe_size, parse_size
from . import sql_engine

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
    names its line and column. range / repeat / lpad / sequence take a constant size (at most 10M) or one the
    statement caps from row values, e.g. repeat(s, least(n, 100)); to make rows, join range(n). On Spark a join
    without an equality between a column of each side (a cross join, or ON a.x < b.y) runs as a nested loop that its
    time limit cannot stop, so it may compare at most 100,000,000 pairs of rows (its sides' rows multiplied); join on
    a key (ON a.k = b.k) instead. A join on a key may make at most 100,000,000 rows (the rows of each side that share
    a key value multiplied, summed over the values; counted before it runs when its sides' rows multiplied are
    more): a key of few values (a flag) joined over many rows is refused; join on a key that identifies rows."""

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
        timeout_seconds: int = Field(300, ge=1, le=3600, description="The query is stopped after this long. On "
                                     "Spark a cross or non-equi join (a nested loop) is not stopped, so it is refused "
                                     "before it runs above 100,000,000 pairs of rows: join ON a.k = b.k; so is a "
                                     "join on a key that would make more than 100,000,000 rows")

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
# limit (its memory limit counts tables, joins, aggregates and recursive CTEs, not the lists and strings a
# function returns): len(range(1000000000)) held 20 GB for minutes past a 3 s time limit, and
# repeat('x', id * 1000000) over 4,000 rows went past 2.4 GB under a 1 GB limit. So a size must be known before
# the statement runs: a constant (computed once) up to MAX_GENERATED, or, when it comes from row values, capped
# by the statement itself at MAX_PER_ROW, e.g. repeat(s, least(n, 1000)) or range(x, x + 10). DuckDB builds the
# values of 2,048 rows at once, so the cap per row is 1,000 times smaller than a constant's. A generator inside
# a lambda runs once per element of a list: refused. query('...') runs SQL from a string no check could read;
# printf / format pad to a width of their format string (or of an argument, `*`).
MAX_GENERATED = 10_000_000  # elements of a list, characters of a string, with a constant size
MAX_PER_ROW = 10_000  # the same, with a size that comes from row values (a column, an expression of one)
_GENERATORS = {"range": -1, "generate_series": -1, "repeat": 1, "list_resize": 1, "array_resize": 1, "lpad": 1,
               "rpad": 1}  # which argument is the size (-1: range's stop, start and step)
_FORMATTERS = {"printf", "format"}
_REFUSED_FUNCTIONS = {"query": "query('...') (SQL from a string)"}
_ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_WIDTH = re.compile(r"(\d+)")
SIZE_ADVICE = (f"give a constant size (at most {MAX_GENERATED:,}), cap one from row values with least(..., n) "
               f"(n at most {MAX_PER_ROW:,}), or join a table of rows instead (FROM t1 JOIN range(1000) r ON ...)")


def check_generated(con, sql: str) -> None:
    """Refuse a statement that calls range / generate_series / repeat / list_resize / lpad / rpad with a size
    over MAX_GENERATED (a constant) or MAX_PER_ROW (from row values) or no size known before it runs, one of them
    inside a lambda, printf / format with a wide or a run-time width, or query('...'), read from DuckDB's own
    parse tree of it (json_serialize_sql)."""
    import json

    _walk(con, json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0]))


def _walk(con, tree, in_lambda: bool = False) -> None:
    stack = [(tree, in_lambda)]
    while stack:
        item, in_lambda = stack.pop()
        if isinstance(item, list):
            stack.extend((value, in_lambda) for value in item)
        elif isinstance(item, dict):
            if item.get("type") == "TABLE_FUNCTION" and isinstance(item.get("function"), dict):
                # rows from a table function (FROM range(n)) stream, under the time limit: only its arguments
                call = item.pop("function")
                _check_call(con, call, rows=True)
                stack.extend((value, in_lambda) for value in call.values())
            elif item.get("class") == "FUNCTION":
                _check_call(con, item, in_lambda=in_lambda)
            in_lambda = in_lambda or item.get("class") == "LAMBDA"
            stack.extend((value, in_lambda) for value in item.values())


def _arguments(call: dict) -> list:
    return [a.get("expression") for a in call.get("arguments") or [] if isinstance(a, dict)]


def _check_call(con, call: dict, rows: bool = False, in_lambda: bool = False) -> None:
    name = str(call.get("function_name", "")).lower()
    if name in _REFUSED_FUNCTIONS:
        raise OperatorError(f"{_REFUSED_FUNCTIONS[name]} is not allowed in sql_transform", field="sql")
    if name in _FORMATTERS and not rows:
        _check_format(name, _arguments(call))
    if rows or name not in _GENERATORS:
        return
    if in_lambda:
        raise OperatorError(f"{name}(...) inside a lambda builds a value for every element of a list, which no "
                            "bound can hold; unnest the list and call it on rows instead", field="sql")
    args = _arguments(call)
    size = _size(con, name, args)
    if size is None:
        raise OperatorError(f"{name}(...) makes a value whose size depends on row values with no bound: "
                            f"{SIZE_ADVICE}", field="sql")
    value, constant = size
    limit = MAX_GENERATED if constant else MAX_PER_ROW
    if value > limit:
        raise OperatorError(f"{name}(...) would make {value:,} elements; at most {limit:,} are allowed in "
                            f"sql_transform{'' if constant else ' when the size comes from row values'}",
                            field="sql")


def _size(con, name: str, args: list) -> tuple[int, bool] | None:
    """(the most elements the call can make, whether that is a constant), or None when nothing bounds it."""
    if _GENERATORS[name] != -1:
        size = _upper(args[_GENERATORS[name]]) if len(args) > _GENERATORS[name] else (0, True)
        if name == "repeat" and size is not None and args:
            # repeat('ab', n) makes 2n characters; repeat(a column, n) as many times a row's value: from row values
            each = _length(con, args[0])
            size = (size[0] * each[0], size[1] and each[1]) if each is not None else (size[0], False)
        return size
    if not args:
        return (0, True)
    start, stop, step = (None, args[0], None) if len(args) == 1 else (args + [None])[:3]
    step_value = 1 if step is None else _constant(step)
    if step_value is None:
        if all(_fixed(arg) for arg in args):  # dates and timestamps with an interval: DuckDB counts them
            return _count_constant_range(con, args)
        return None
    span = _upper(stop) if start is None else _span(start, stop)
    if span is None:
        return None
    return abs(span[0]) // abs(step_value or 1), span[1]


def _length(con, expression) -> tuple[int, bool] | None:
    """The length of a constant string or list, or the bound of a generator's value; None when unknown."""
    if not isinstance(expression, dict):
        return None
    if expression.get("class") == "CONSTANT":
        text = (expression.get("literal") or {}).get("text")
        return (max(1, len(text)), True) if isinstance(text, str) else None
    if expression.get("class") == "FUNCTION":
        name = str(expression.get("function_name", "")).lower()
        if name in _GENERATORS:
            return _size(con, name, _arguments(expression))
        if name == "list_value":
            return max(1, len(_arguments(expression))), _fixed(expression)
    return None


def _upper(expression, depth: int = 0) -> tuple[int, bool] | None:
    """(an upper bound of an integer expression, whether it is a constant): a constant, or least(...) of
    anything with at least one bounded argument; None otherwise."""
    value = _constant(expression)
    if value is not None:
        return value, True
    if not isinstance(expression, dict) or depth > 50:
        return None
    if expression.get("class") == "CAST":
        return _upper(expression.get("child"), depth + 1)
    if expression.get("class") == "FUNCTION" and str(expression.get("function_name")).lower() == "least":
        bounds = [b for b in (_upper(a, depth + 1) for a in _arguments(expression)) if b is not None]
        return (min(b[0] for b in bounds), False) if bounds else None
    return None


def _span(start, stop, depth: int = 0) -> tuple[int, bool] | None:
    """An upper bound of stop - start: both constants, the same expression plus constants (x, x + 10), or
    least(...) of such stops."""
    first, last = _constant(start), _constant(stop)
    if first is not None and last is not None:
        return abs(last - first), True
    if isinstance(stop, dict) and stop.get("class") == "FUNCTION" and \
            str(stop.get("function_name")).lower() == "least" and depth < 50:
        bounds = [b for b in (_span(start, a, depth + 1) for a in _arguments(stop)) if b is not None]
        return (min(b[0] for b in bounds), False) if bounds else None
    base_start, base_stop = _offset(start), _offset(stop)
    if base_start and base_stop and base_start[0] == base_stop[0]:
        return max(0, base_stop[1] - base_start[1]), False
    return None


def _offset(expression) -> tuple[str, int] | None:
    """(the expression without a constant it adds or subtracts, as text, that constant): x + 10 -> (x, 10)."""
    import json

    def key(item) -> str:
        return json.dumps(_without_places(item), sort_keys=True)

    if not isinstance(expression, dict):
        return None
    args = _arguments(expression)
    name = expression.get("function_name")
    if expression.get("class") == "FUNCTION" and name in ("+", "-") and len(args) == 2:
        right, left = _constant(args[1]), _constant(args[0])
        if right is not None:
            return key(args[0]), right if name == "+" else -right
        if left is not None and name == "+":
            return key(args[1]), left
    return key(expression), 0


def _without_places(item):
    if isinstance(item, dict):
        return {k: _without_places(v) for k, v in item.items() if k not in ("query_location", "query_location_length")}
    if isinstance(item, list):
        return [_without_places(v) for v in item]
    return item


def _fixed(expression) -> bool:
    """Whether the expression is built of constants alone (no column, no subquery, no parameter)."""
    stack = [expression]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if item.get("class") in ("COLUMN_REF", "SUBQUERY", "PARAMETER", "STAR", "LAMBDA", "WINDOW") or \
                    item.get("type") == "TABLE_FUNCTION":
                return False
            stack.extend(item.values())
    return True


def _count_constant_range(con, args: list) -> tuple[int, bool] | None:
    """How many elements range / generate_series over constant dates or timestamps makes, counted from their
    epochs (a month as its length in days), without building it."""
    import json

    _walk(con, args)  # what the count runs is checked first
    names = ["a", "b", "c"]
    template = ("SELECT abs(epoch_ms(CAST(b AS TIMESTAMP)) - epoch_ms(CAST(a AS TIMESTAMP))) // "
                "greatest(1, abs(epoch_ms(TIMESTAMP '1970-01-01' + c)))")
    tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [template]).fetchall()[0][0])
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            for i, value in enumerate(item):
                if isinstance(value, dict) and value.get("expression", {}).get("column_names", [None])[0] in names:
                    value["expression"] = args[names.index(value["expression"]["column_names"][0])]
                elif isinstance(value, dict) and value.get("column_names", [None])[0] in names:
                    item[i] = args[names.index(value["column_names"][0])]
                else:
                    stack.append(value)
        elif isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, dict) and value.get("class") == "COLUMN_REF" and \
                        value.get("column_names", [None])[0] in names:
                    item[key] = args[names.index(value["column_names"][0])]
                else:
                    stack.append(value)
    try:
        query = con.execute("SELECT json_deserialize_sql(?)", [json.dumps(tree)]).fetchall()[0][0]
        count = con.execute(query).fetchall()[0][0]
    except Exception:  # noqa: BLE001 - what cannot be counted so is not run
        return None
    return (int(count), True) if count is not None else (0, True)


def _check_format(name: str, args: list) -> None:
    """printf / format pad to the widths and precisions their format string gives ('%300000000d',
    '{:>300000000}'), or that an argument gives ('%*d', '{:>{}}'), while planning when they are constants."""
    pattern = args[0] if args else None
    literal = (pattern.get("literal") or {}) if isinstance(pattern, dict) and pattern.get("class") == "CONSTANT" else {}
    text = literal.get("text")
    if not isinstance(text, str):
        raise OperatorError(f"{name}(...) takes its format as a constant string in sql_transform", field="sql")
    if re.search(r"%[-+ #0-9.]*\*", text) or re.search(r"\{[^{}]+\{", text):
        raise OperatorError(f"{name}(...) with a width from an argument ('%*d', '{{:>{{}}}}') is not allowed in "
                            "sql_transform; give the width in the format string", field="sql")
    specs = re.findall(r"%[-+ #0]*([0-9.]*)[a-zA-Z]", text) + re.findall(r"\{[^{}]*:([^{}]*)\}", text)
    widest = max((int(w) for spec in specs for w in _WIDTH.findall(spec)), default=0)
    if widest > MAX_PER_ROW:
        raise OperatorError(f"{name}(...) pads to a width of {widest:,}; at most {MAX_PER_ROW:,} is allowed in "
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


def locked_connection(memory: int | None = None, threads: int | None = None):
    import duckdb

    con = duckdb.connect(":memory:", config={
        "enable_external_access": False, "autoinstall_known_extensions": False,
        "autoload_known_extensions": False, "allow_community_extensions": False,
        "python_enable_replacements": False,
        "memory_limit": f"{(memory or sql_memory_limit()) // 1024 ** 2}MB", "threads": threads or sql_threads()})
    return con


def query_memory() -> int:
    """The ceiling of the process a statement runs in: DuckDB's own limit, as much again for the result it
    hands back, and 1 GiB for Python and the libraries. DuckDB's limit covers its buffer manager, not every
    value a statement makes: a chain of concatenations (s || s || ..., through CTEs) built gigabytes of strings
    outside it, in the worker beside other runs; in a child under this ceiling such a statement fails alone."""
    return 2 * sql_memory_limit() + 1024 ** 3


def run_duckdb(sql: str, tables: dict[str, pd.DataFrame], *, timeout: float, cancelled=lambda: False) -> pd.DataFrame:
    """The statement's result over `tables` (name -> DataFrame), under the lock-down, the time limit and
    cancellation (raises Cancelled), run in a child process under `query_memory()` (`sql_engine`). The tables
    cross as Arrow IPC files, which the child maps instead of copying; its answer is JSON, never pickle."""
    import pyarrow as pa

    check_statement(sql)
    with tempfile.TemporaryDirectory(prefix="studio-sql-") as folder:
        for name, table in tables.items():
            _write_arrow(os.path.join(folder, f"{name}.arrow"), pa.Table.from_pandas(table, preserve_index=False))
        payload = {"sql": sql, "folder": folder, "tables": list(tables), "timeout": timeout,
                   "memory": sql_memory_limit(), "threads": sql_threads()}
        try:
            answer = sql_engine.ask(payload, memory=query_memory(), wall_seconds=timeout + CHILD_GRACE_SECONDS,
                                    cancelled=cancelled)
        except ChildFailed as failed:
            raise _child_failure(failed, timeout) from None
        if answer.get("error"):
            error = answer["error"]
            raise OperatorError(error["message"], field=error.get("field"), column=error.get("column"),
                                port=error.get("port"))
        with pa.memory_map(os.path.join(folder, RESULT)) as source:
            table = pa.ipc.open_file(source).read_all()
        return table.to_pandas()


RESULT = "result.arrow"
# The child interrupts its own query at the time limit (a clear message); the parent kills it this much later
# in case the interrupt is not heard (DuckDB checks it between chunks of work).
CHILD_GRACE_SECONDS = 10


def _child_failure(failed: ChildFailed, timeout: float) -> Exception:
    if failed.reason == "cancelled":
        return Cancelled("the query was cancelled")
    if failed.reason == "wall-clock limit":
        return OperatorError(f"the query was stopped after its time limit of {timeout:g} s", field="timeout_seconds")
    if failed.reason in ("memory limit", "crashed"):
        return OperatorError(f"the query went over the memory limit of its process, "
                             f"{describe_size(query_memory())} (twice STUDIO_SQL_MEMORY_LIMIT and 1 GiB); "
                             "make fewer or smaller values (long strings, big lists), or aggregate first",
                             field="sql")
    return OperatorError(f"the query failed: {failed.message}", field="sql")


def query_in_child(payload: dict) -> dict:
    """In the child process (`sql_engine.serve`): the statement over the mapped tables, its result written as
    RESULT; {} or {"error": {...}} for the parent."""
    try:
        _query(payload)
    except OperatorError as exc:
        return {"error": {"message": exc.message, "field": exc.field, "column": exc.column, "port": exc.port}}
    return {}


def _query(payload: dict) -> None:
    import duckdb
    import pyarrow as pa

    sql, folder, timeout = payload["sql"], payload["folder"], payload["timeout"]
    con = locked_connection(payload["memory"], payload["threads"])
    try:
        for name in payload["tables"]:
            con.register(name, pa.ipc.open_file(pa.memory_map(os.path.join(folder, f"{name}.arrow"))).read_all())
        con.execute("SET lock_configuration = true")
        check_generated(con, sql)
        with _Watch(con, timeout, lambda: False):
            try:
                result = _fetch(_relation(con, sql), payload["memory"])
            except duckdb.InterruptException:
                raise OperatorError(f"the query was stopped after its time limit of {timeout:g} s",
                                    field="timeout_seconds") from None
            except duckdb.OutOfMemoryException as exc:
                raise OperatorError(f"the query needs more than its memory limit of "
                                    f"{describe_size(payload['memory'])} (STUDIO_SQL_MEMORY_LIMIT): "
                                    f"{_first_line(exc)}", field="sql") from None
            except duckdb.Error as exc:
                raise sql_error(sql, exc) from None
    finally:
        con.close()
    _write_arrow(os.path.join(folder, RESULT), result)


def _write_arrow(path: str, table) -> None:
    """`table` as an Arrow IPC file, the form both sides of the child's pipe map."""
    import pyarrow as pa

    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


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


def _fetch(relation, limit: int):
    """The result in Arrow, batch by batch, refused once it is larger than `limit` bytes; DuckDB's big
    integers and decimals (SUM of integers is a HUGEINT) as int64 / float64, as the other operators expect."""
    import pyarrow as pa

    size, batches = 0, []
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
    return table


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

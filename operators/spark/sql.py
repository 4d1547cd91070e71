"""sql_transform on Spark: the statement as Spark SQL over the inputs, named t1, t2, t3 as on the local engine.

Spark SQL can do more than a query, so the statement is fenced in: it must begin as a query (SELECT, WITH,
FROM, VALUES, TABLE, or a parenthesis) and is run as a subquery, `WITH t1 AS (...) SELECT * FROM (<statement>)`,
so that anything but one query is a syntax error; `spark.sql.runSQLOnFiles` is off (no `parquet.`/path``),
and the functions that reach out of SQL (reflect / java_method, which call Java methods; TRANSFORM ... USING,
which runs a program) are refused. The inputs are temporary views under names no statement can guess, read
only through the t1..t3 of the WITH clause.
"""
from __future__ import annotations

import re
import threading
import uuid

from ..contract import OperatorError
from ..library.sql import PORTS

_QUERY_START = re.compile(r"^\s*(\(|select\b|with\b|from\b|values\b|table\b)", re.IGNORECASE)
# Spark SQL's lexical pieces that are not code: a string ('...' or "...", backslash escapes), a line comment,
# a bracketed comment (which nests; a hint /*+ ... */ is code); a backquoted identifier is code (`reflect`(...)
# calls reflect).
_WORD = re.compile(r"\w")
_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?""", re.DOTALL)
_REFUSED = [
    (re.compile(r"\b(try_)?reflect\b|\bjava_method\b", re.IGNORECASE), "calls of Java methods (reflect, java_method)"),
    (re.compile(r"\busing\s*['\"]", re.IGNORECASE), "TRANSFORM ... USING 'program' (running a program)"),
    (re.compile(r"\b(csv|json|parquet|orc|text|avro|binaryfile|jdbc|delta)`?\s*\.\s*`", re.IGNORECASE),
     "reading files (format.`path`)"),
]


def code_of(sql: str) -> str:
    """The statement as Spark's lexer sees its code: every string literal emptied to '' and every comment a
    space, read left to right as Spark reads them, so that neither a quote inside a comment nor "--" or "/*"
    inside a string hides code from the checks (a regex that strips comments first is fooled by
    SELECT '--', reflect(...))."""
    out, i, n = [], 0, len(sql)
    while i < n:
        ch, two = sql[i], sql[i:i + 2]
        if ch in "rR" and sql[i + 1:i + 2] in ("'", '"') and not (i and _WORD.match(sql[i - 1])):
            end = sql.find(sql[i + 1], i + 2)  # a raw string, r'...': no escapes
            out.append("''")
            i = n if end == -1 else end + 1
        elif ch in "'\"":
            end = _STRING.match(sql, i).end()
            out.append("''")
            i = end
        elif ch == "`":
            end = sql.find("`", i + 1)
            while end != -1 and sql[end + 1:end + 2] == "`":  # `` is a backquote inside the name
                end = sql.find("`", end + 2)
            end = n if end == -1 else end + 1
            out.append(sql[i:end])
            i = end
        elif two == "--":
            end = sql.find("\n", i)
            out.append(" ")
            i = n if end == -1 else end
        elif two == "/*" and sql[i + 2:i + 3] != "+":  # a hint, /*+ ... */, holds code
            i = _comment_end(sql, i)
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _comment_end(sql: str, i: int) -> int:
    """Where the bracketed comment starting at `i` ends; Spark's bracketed comments nest."""
    depth, n = 0, len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def check_spark_statement(sql: str) -> None:
    text = code_of(sql)
    if not _QUERY_START.match(text):
        word = (text.split() or ["?"])[0].upper()
        raise OperatorError(f"only SELECT (or WITH ... SELECT) statements run here, not {word}", field="sql")
    for pattern, what in _REFUSED:
        found = pattern.search(text)
        if found:
            raise OperatorError(f"{what} is not allowed in sql_transform (found {found[0]!r})", field="sql")


# What the analysed plan may not hold, whatever text named it: IDENTIFIER('ref' || 'lect')(...) calls reflect
# though no check of the text can see the name.
_PLAN_REFUSED = {"CallMethodViaReflection": _REFUSED[0][1], "TryReflect": _REFUSED[0][1],
                 "ScriptTransformation": _REFUSED[1][1]}


def check_plan(frame) -> None:
    """Refuse a statement whose analysed plan (subqueries, lambdas and CTEs included) calls Java methods or runs
    a program. The plan is read as Spark's JSON of its tree, by each node's and expression's class."""
    import json

    try:
        tree = json.loads(frame._jdf.queryExecution().analyzed().toJSON())
    except Exception:  # noqa: BLE001 - a plan that cannot be read cannot be checked: it does not run
        raise OperatorError("the statement's plan cannot be checked, so it does not run; simplify the query",
                            field="sql") from None
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            name = str(node.get("class", "")).rsplit(".", 1)[-1]
            if name in _PLAN_REFUSED:
                raise OperatorError(f"{_PLAN_REFUSED[name]} is not allowed in sql_transform", field="sql")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _position(sql: str, prefix: str, exc: Exception) -> tuple[int, int] | None:
    """(line, column) in the user's statement of the place Spark's error points at."""
    contexts = exc.getQueryContext() if hasattr(exc, "getQueryContext") else []
    for context in contexts or []:
        start = context.startIndex() if hasattr(context, "startIndex") else -1
        if start is not None and start >= len(prefix):
            before = sql[:start - len(prefix)]
            return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
    found = re.search(r"line (\d+),? pos (\d+)", str(exc))
    if found and int(found[1]) > prefix.count("\n"):
        return int(found[1]) - prefix.count("\n"), int(found[2]) + 1
    return None


def spark_sql_error(sql: str, prefix: str, exc: Exception) -> OperatorError:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    message = re.sub(r"\s*SQLSTATE: \w+", "", message)
    message = re.sub(r"\s*\(line \d+, pos \d+\)|;?\s*line \d+ pos \d+;?", "", message).strip()
    place = _position(sql, prefix, exc)
    where = f" at line {place[0]}, column {place[1]}" if place else ""
    return OperatorError(f"SQL error{where}: {message}", field="sql")


def sql_transform(ctx, inputs, params):
    """Spark SQL's dialect (backticks, Spark's functions). The result is computed here, under the node's time
    limit (`timeout_seconds`, as DuckDB's is locally), and cached for the nodes downstream."""
    from pyspark.errors import AnalysisException, ParseException

    check_spark_statement(params.sql)
    spark = ctx.spark
    spark.conf.set("spark.sql.runSQLOnFiles", "false")
    token = uuid.uuid4().hex
    views = {port: f"studio_{token}_{port}" for port in PORTS if inputs.get(port) is not None}
    for port, view in views.items():
        inputs[port].createOrReplaceTempView(view)
    prefix = "WITH " + ", ".join(f"{port} AS (SELECT * FROM {view})" for port, view in views.items()) + \
        "\nSELECT * FROM (\n"
    try:
        frame = spark.sql(prefix + params.sql.rstrip().rstrip(";") + "\n)")  # analysed here; nothing runs yet
        check_plan(frame)
        return {"table": materialised_within(frame, params.timeout_seconds)}
    except (ParseException, AnalysisException) as exc:
        raise spark_sql_error(params.sql, prefix, exc) from None
    finally:
        for view in views.values():
            spark.catalog.dropTempView(view)


def materialised_within(frame, timeout: float):
    """`frame` persisted and counted, its jobs cancelled after `timeout` seconds (an OperatorError naming
    timeout_seconds then). The jobs run under the node's job group, which a run's cancel cancels too; outside a
    node (no group) under one of their own."""
    sc = frame.sparkSession.sparkContext
    group = sc.getLocalProperty("spark.jobGroup.id")
    if group is None:
        group = f"studio-sql-{uuid.uuid4().hex[:8]}"
        sc.setJobGroup(group, "sql_transform", interruptOnCancel=True)
    expired = threading.Event()

    def expire():
        expired.set()
        sc.cancelJobGroup(group)

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    frame = frame.persist()
    timer.start()
    try:
        frame.count()
    except Exception:
        frame.unpersist()
        if expired.is_set():
            raise OperatorError(f"the query was stopped after its time limit of {timeout:g} s",
                                field="timeout_seconds") from None
        raise
    finally:
        timer.cancel()
    return frame

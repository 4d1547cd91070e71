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


# The leaves a statement may read besides its inputs: rows it writes itself (VALUES, range(), a SELECT without
# FROM) and its own CTEs (whose definitions are checked where they stand).
_LEAVES_ALLOWED = {"OneRowRelation", "LocalRelation", "ResolvedInlineTable", "Range", "CTERelationRef"}


def check_plan(frame, views=()) -> None:
    """Refuse a statement whose analysed plan (subqueries, lambdas and CTEs included) calls Java methods, runs
    a program, or reads any relation but the node's inputs: every leaf of the plan must be one of `views` (the
    inputs' temporary views, whose own plans are not the statement's) or rows the statement writes itself, and
    no other view may be read, whatever is under it. A file (IDENTIFIER('parquet.`/path`')), a catalog table or
    view, a JDBC relation or another run's view in the shared session is refused whatever text named it.
    The plan is read as Spark's JSON of its tree, by class."""
    import json

    try:
        tree = json.loads(frame._jdf.queryExecution().analyzed().toJSON())
        _PlanCheck(frame.sparkSession, set(views)).value(tree)
    except OperatorError:
        raise
    except Exception:  # noqa: BLE001 - a plan that cannot be read (or is too deep to walk) is not run
        raise OperatorError("the statement's plan cannot be checked, so it does not run; simplify the query",
                            field="sql") from None


# Functions that build a value of a size their arguments say: with constant arguments Spark computes them on
# the driver while it plans the query (constant folding, before any job its time limit could cancel), and a
# sequence(1, 1000000000) there fills the driver's heap, which every run on the shared session needs.
MAX_GENERATED = 10_000_000  # elements of an array, characters of a string
_GENERATORS = {"Sequence": "sequence", "ArrayRepeat": "array_repeat", "StringRepeat": "repeat"}
_ARITHMETIC = {"Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b}


def _skip(nodes: list, i: int) -> int:
    """The index after the subtree at nodes[i] (an input's own plan is skipped so, unchecked)."""
    children, i = int(nodes[i].get("num-children", 0) or 0), i + 1
    for _ in range(children):
        i = _skip(nodes, i)
    return i


def _children(nodes: list, i: int) -> list[int]:
    """Where each child of the node at nodes[i] starts, in a tree's pre-order list."""
    starts, j = [], i + 1
    for _ in range(int(nodes[i].get("num-children", 0) or 0)):
        starts.append(j)
        j = _skip(nodes, j)
    return starts


def _constant(nodes: list, i: int, depth: int = 0):
    """The integer value of the expression at nodes[i] when it is built of integer literals, casts and + - *;
    None otherwise (a column, a date, anything else)."""
    node, kids = nodes[i], _children(nodes, i)
    name = str(node.get("class", "")).rsplit(".", 1)[-1]
    if depth > 50:
        return None
    if name == "Literal":
        text = node.get("value")
        try:
            return int(text) if node.get("dataType") in ("integer", "long", "short", "byte") else None
        except (TypeError, ValueError):
            return None
    if name == "Cast" and kids:
        return _constant(nodes, kids[0], depth + 1)
    if name in _ARITHMETIC and len(kids) == 2:
        left, right = _constant(nodes, kids[0], depth + 1), _constant(nodes, kids[1], depth + 1)
        return None if left is None or right is None else _ARITHMETIC[name](left, right)
    return None


def _check_generated(nodes: list, i: int, name: str) -> None:
    kids, size = _children(nodes, i), None
    values = [_constant(nodes, kid) for kid in kids]
    if name == "Sequence" and len(values) >= 2 and None not in values[:2]:
        step = values[2] if len(values) > 2 else 1
        size = abs(values[1] - values[0]) // abs(step or 1) + 1 if step is not None else None
    elif name in ("ArrayRepeat", "StringRepeat") and len(values) == 2:
        size = values[1]
    if size is not None and size > MAX_GENERATED:
        raise OperatorError(f"{_GENERATORS[name]}(...) would make {size:,} elements; at most {MAX_GENERATED:,} "
                            "are allowed in sql_transform", field="sql")


class _PlanCheck:
    """Walks Spark's JSON of a tree: a tree is a list of its nodes in pre-order, each with "num-children" and
    its children following it; a node's other fields hold expressions and subquery plans, trees themselves."""

    def __init__(self, spark, views: set[str]):
        self.spark, self.views, self.kinds = spark, views, {}

    def value(self, value) -> None:
        if isinstance(value, list) and value and isinstance(value[0], dict) and "class" in value[0]:
            end = self.node(value, 0)
            for rest in value[end:]:  # never expected: a tree is exactly its nodes
                self.value(rest)
        elif isinstance(value, list):
            for item in value:
                self.value(item)
        elif isinstance(value, dict):
            for item in value.values():
                self.value(item)

    def node(self, nodes: list, i: int) -> int:
        """Checks the subtree at nodes[i]; the index after it."""
        node = nodes[i] if isinstance(nodes[i], dict) else {}
        name = str(node.get("class", ""))
        short = name.rsplit(".", 1)[-1]
        if short in _PLAN_REFUSED:
            raise OperatorError(f"{_PLAN_REFUSED[short]} is not allowed in sql_transform", field="sql")
        children = int(node.get("num-children", 0) or 0)
        if short in _GENERATORS:
            _check_generated(nodes, i, short)
        ours = short == "SubqueryAlias" and (node.get("identifier") or {}).get("name") in self.views
        if not ours:
            if short == "View" or children == 0 and short not in _LEAVES_ALLOWED and self.is_plan(name):
                raise OperatorError(f"sql_transform reads only its inputs t1, t2, t3 (and rows it writes itself); "
                                    f"this statement reads another relation ({short})", field="sql")
            self.value({key: item for key, item in node.items() if key not in ("class", "num-children")})
        i += 1
        for _ in range(children):
            i = _skip(nodes, i) if ours else self.node(nodes, i)
        return i

    def is_plan(self, name: str) -> bool:
        """Whether the class is a logical plan (an expression otherwise); a class that cannot be loaded counts
        as a plan, so that its leaf is refused."""
        if name not in self.kinds:
            jvm = self.spark.sparkContext._jvm
            try:
                loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
                plan = jvm.java.lang.Class.forName("org.apache.spark.sql.catalyst.plans.logical.LogicalPlan",
                                                   False, loader)
                self.kinds[name] = bool(plan.isAssignableFrom(jvm.java.lang.Class.forName(name, False, loader)))
            except Exception:  # noqa: BLE001 - see above
                self.kinds[name] = True
        return self.kinds[name]


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
        check_plan(frame, views.values())
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
    expired, done = threading.Event(), threading.Event()

    def expire():
        # Once past the limit, the group is cancelled again every quarter second until count() returns: a job
        # submitted after one cancel (planning a query on a busy driver can outlast the limit, and a query may run
        # several jobs in turn) would otherwise run to its end.
        if done.wait(timeout):
            return
        expired.set()
        while True:
            sc.cancelJobGroup(group)
            if done.wait(0.25):
                return

    timer = threading.Thread(target=expire, name="sql-time-limit", daemon=True)
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
        done.set()
        timer.join()
    return frame

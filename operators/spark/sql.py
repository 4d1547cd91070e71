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
from .tables import without_nan

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


# Spark's parser recurses once per parenthesis: 1,000 nested ones overflowed the driver thread's stack
# (java.lang.StackOverflowError, no parse error to point at); DuckDB's parser stops at 1,000 levels itself.
MAX_NESTING = 100


def nesting(text: str) -> int:
    """How deep the parentheses of `text` (code, without strings and comments) nest."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def check_spark_statement(sql: str) -> None:
    text = code_of(sql)
    if nesting(text) > MAX_NESTING:
        raise OperatorError(f"the statement nests parentheses more than {MAX_NESTING} levels deep; simplify it "
                            "(a CASE or a CTE instead of nested calls)", field="sql")
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
# sequence(1, 1000000000) there fills the driver's heap, which every run on the shared session needs; with sizes
# from row values (sequence(1, id * 100000000)) a task builds them in the same JVM (local mode), where an
# OutOfMemoryError ends the whole session. So a size must be known before the statement runs: a constant, or one
# the statement caps (least(n, 1000), sequence(id, id + 10)), or a sequence of dates (a calendar holds fewer
# than 3.7M days), at most MAX_GENERATED elements (Spark builds one row's value at a time). A generator inside a
# lambda runs once per element of an array: refused. format_string / printf pad to the widths of their format.
MAX_GENERATED = 10_000_000  # elements of an array, characters of a string
_GENERATORS = {"Sequence": "sequence", "ArrayRepeat": "array_repeat", "StringRepeat": "repeat",
               "StringLPad": "lpad", "StringRPad": "rpad", "BinaryPad": "lpad", "StringSpace": "space"}
_SIZE_CHILD = {"ArrayRepeat": 1, "StringRepeat": 1, "StringLPad": 1, "StringRPad": 1, "BinaryPad": 1,
               "StringSpace": 0}
_ARITHMETIC = {"Add": lambda a, b: a + b, "Subtract": lambda a, b: a - b, "Multiply": lambda a, b: a * b}
_DATES = {"ParseToDate", "DateAdd", "DateSub", "AddMonths", "CurrentDate", "MakeDate", "LastDay", "NextDay",
          "TruncDate", "DateFromUnixDate", "ToDate"}
DAYS_IN_CALENDAR = 3_652_059  # 0001-01-01 to 9999-12-31
SIZE_ADVICE = ("give a constant size, cap one from row values with least(..., n), or join a table of rows "
               "instead (FROM t1 JOIN range(1000) r ON ...)")


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


def _short(node) -> str:
    return str(node.get("class", "")).rsplit(".", 1)[-1] if isinstance(node, dict) else ""


def _upper(nodes: list, i: int, depth: int = 0) -> tuple[int, bool] | None:
    """(an upper bound of the integer expression at nodes[i], whether it is a constant): a constant, or least(...)
    with at least one bounded argument; None otherwise."""
    value = _constant(nodes, i)
    if value is not None:
        return value, True
    name, kids = _short(nodes[i]), _children(nodes, i)
    if depth > 50:
        return None
    if name == "Cast" and kids:
        return _upper(nodes, kids[0], depth + 1)
    if name == "Least":
        bounds = [b for b in (_upper(nodes, kid, depth + 1) for kid in kids) if b is not None]
        return (min(b[0] for b in bounds), False) if bounds else None
    return None


def _span(nodes: list, start: int, stop: int, depth: int = 0) -> tuple[int, bool] | None:
    """An upper bound of stop - start: constants, the same expression plus constants (id, id + 10), or least(...)
    of such stops."""
    first, last = _constant(nodes, start), _constant(nodes, stop)
    if first is not None and last is not None:
        return abs(last - first), True
    if _short(nodes[stop]) == "Least" and depth < 50:
        bounds = [b for b in (_span(nodes, start, kid, depth + 1) for kid in _children(nodes, stop)) if b is not None]
        return (min(b[0] for b in bounds), False) if bounds else None
    if _short(nodes[stop]) == "Cast" and depth < 50:
        return _span(nodes, start, _children(nodes, stop)[0], depth + 1)
    base_start, base_stop = _offset(nodes, start), _offset(nodes, stop)
    if base_start[0] == base_stop[0]:
        return max(0, base_stop[1] - base_start[1]), False
    return None


def _offset(nodes: list, i: int) -> tuple[str, int]:
    """(the expression at nodes[i] without a constant it adds or subtracts, as text, that constant)."""
    import json

    def key(j: int) -> str:
        while _short(nodes[j]) == "Cast":
            j = _children(nodes, j)[0]
        return json.dumps(nodes[j:_skip(nodes, j)], sort_keys=True)

    name, kids = _short(nodes[i]), _children(nodes, i)
    if name in ("Add", "Subtract") and len(kids) == 2:
        right, left = _constant(nodes, kids[1]), _constant(nodes, kids[0])
        if right is not None:
            return key(kids[0]), right if name == "Add" else -right
        if left is not None and name == "Add":
            return key(kids[1]), left
    return key(i), 0


def _is_date(nodes: list, i: int) -> bool:
    node = nodes[i]
    return _short(node) in _DATES or node.get("dataType") == "date"


def _length(nodes: list, i: int) -> tuple[int, bool] | None:
    """The length of a literal string, or the bound of a generator's value; None when unknown."""
    name = _short(nodes[i])
    if name == "Literal" and nodes[i].get("dataType") == "string":
        return max(1, len(str(nodes[i].get("value") or ""))), True
    if name in _GENERATORS:
        return _size(nodes, i, name)
    return None


def _size(nodes: list, i: int, name: str) -> tuple[int, bool] | None:
    """(the most elements the generator at nodes[i] makes, whether that is a constant), or None."""
    kids = _children(nodes, i)
    if name in _SIZE_CHILD:
        if len(kids) <= _SIZE_CHILD[name]:
            return None
        size = _upper(nodes, kids[_SIZE_CHILD[name]])
        if name in ("StringRepeat", "ArrayRepeat") and size is not None:
            each = _length(nodes, kids[0])
            size = (size[0] * each[0], size[1] and each[1]) if each is not None else \
                (size if name == "StringRepeat" else (size[0], False))
        return size
    if len(kids) < 2:  # Sequence: start, stop and an optional step
        return None
    step = _constant(nodes, kids[2]) if len(kids) > 2 else 1
    if _is_date(nodes, kids[0]) and _is_date(nodes, kids[1]):
        return DAYS_IN_CALENDAR, False  # a date sequence steps by whole days at least
    if step is None:
        return None
    span = _span(nodes, kids[0], kids[1])
    return None if span is None else (abs(span[0]) // abs(step or 1) + 1, span[1])


def _check_generated(nodes: list, i: int, name: str) -> None:
    size = _size(nodes, i, name)
    if size is None:
        raise OperatorError(f"{_GENERATORS[name]}(...) makes a value whose size depends on row values with no "
                            f"bound: {SIZE_ADVICE}", field="sql")
    if size[0] > MAX_GENERATED:
        raise OperatorError(f"{_GENERATORS[name]}(...) would make {size[0]:,} elements; at most {MAX_GENERATED:,} "
                            "are allowed in sql_transform", field="sql")


def _check_lambda(nodes: list, i: int) -> None:
    for j in range(i, _skip(nodes, i)):
        if _short(nodes[j]) in _GENERATORS:
            raise OperatorError(f"{_GENERATORS[_short(nodes[j])]}(...) inside a lambda builds a value for every "
                                "element of an array, which no bound can hold; explode the array and call it on "
                                "rows instead", field="sql")


def _check_format(nodes: list, i: int) -> None:
    """format_string / printf pad to the widths and precisions of their format ('%300000000d')."""
    kids = _children(nodes, i)
    pattern = nodes[kids[0]] if kids else {}
    if _short(pattern) != "Literal" or pattern.get("dataType") != "string":
        raise OperatorError("format_string(...) takes its format as a constant string in sql_transform", field="sql")
    specs = re.findall(r"%([-#+ 0,(<0-9$.]*)[a-zA-Z]", str(pattern.get("value") or ""))
    widest = max((int(w) for spec in specs for w in re.findall(r"\d+", spec)), default=0)
    if widest > MAX_FORMAT_WIDTH:
        raise OperatorError(f"format_string(...) pads to a width of {widest:,}; at most {MAX_FORMAT_WIDTH:,} is "
                            "allowed in sql_transform", field="sql")


MAX_FORMAT_WIDTH = 10_000


# Spark copies a CTE into every place that reads it: twenty CTEs that each read the one before twice make a
# plan of a million nodes, which the driver analysed for minutes (its analysis of the statement, before any job
# its time limit could cancel). The statement's size with every CTE read counted in full is bounded, from
# Spark's parse of it (no analysis) before it is analysed.
MAX_PLAN_NODES = 100_000


def check_expanded_size(spark, sql: str) -> None:
    import json

    try:
        tree = json.loads(spark._jsparkSession.sessionState().sqlParser().parsePlan(sql).toJSON())
    except Exception:  # noqa: BLE001 - what does not parse, spark.sql reports at its place
        return
    defs: dict[str, tuple[int, list]] = {}
    own, refs = _tally(tree, defs)
    sizes: dict[str, int] = {}

    def size(name: str) -> int:
        if name not in defs:
            return 1  # an input (t1) or a table the analysed plan's check refuses
        if name not in sizes:
            sizes[name] = MAX_PLAN_NODES + 1  # a CTE that reads itself counts as too large
            nodes, inner = defs[name]
            sizes[name] = min(nodes + sum(size(r) for r in inner), MAX_PLAN_NODES + 1)
        return sizes[name]

    if own + sum(size(r) for r in refs) > MAX_PLAN_NODES:
        raise OperatorError(f"the statement, with every CTE copied where it is read, has more than "
                            f"{MAX_PLAN_NODES:,} plan nodes; read a CTE fewer times or simplify the query",
                            field="sql")


def _tally(value, defs: dict) -> tuple[int, list]:
    """(the nodes of a parsed plan outside its CTE definitions, the names it reads); each CTE definition's own
    tally goes to `defs` under its name (the larger one when a name is defined twice)."""
    count, refs, stack = 0, [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            short = _short(item)
            if short == "UnresolvedWith":
                for relation in item.get("cteRelations") or []:
                    if isinstance(relation, dict):
                        name, tally = str(relation.get("_1", "")).lower(), _tally(relation.get("_2"), defs)
                        if name not in defs or defs[name][0] < tally[0]:
                            defs[name] = tally
                item = {k: v for k, v in item.items() if k != "cteRelations"}
            elif short == "UnresolvedRelation":
                parts = item.get("multipartIdentifier")
                parts = parts if isinstance(parts, list) else str(parts or "").strip("[]").split(", ")
                refs.append(str(parts[-1] if parts else "").lower())
            if short:
                count += 1
            stack.extend(v for k, v in item.items() if k not in ("class", "num-children"))
    return count, refs


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
        elif short == "LambdaFunction":
            _check_lambda(nodes, i)
        elif short == "FormatString":
            _check_format(nodes, i)
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

    def loops(self, jplan, nodes: list, timeout: float | None = None) -> _PlanCheck:
        """Ready to bound the nested-loop joins of an optimised plan: `jplan` (the JVM's) and its JSON `nodes`;
        `timeout`: a side may be counted under that limit (check_joins)."""
        self.jplan, self.nodes, self.rows_of, self.ctes = jplan, nodes, {}, {}
        self.timeout, self.counted_at = timeout, set()
        self.parent, open_nodes = [-1] * len(nodes), []  # (a node, how many of its children are still to come)
        for i, node in enumerate(nodes):  # pre-order: a node's children follow it, each after its sibling's subtree
            while open_nodes and open_nodes[-1][1] == 0:
                open_nodes.pop()
            if open_nodes:
                self.parent[i] = open_nodes[-1][0]
                open_nodes[-1][1] -= 1
            open_nodes.append([i, int(node.get("num-children", 0) or 0)])
        self.kids = [[] for _ in nodes]
        for i, parent in enumerate(self.parent):
            if parent != -1:
                self.kids[parent].append(i)
        self.end = [0] * len(nodes)  # the index after each node's subtree
        for i in reversed(range(len(nodes))):
            self.end[i] = self.end[self.kids[i][-1]] if self.kids[i] else i + 1
        return self

    def cte_defs(self) -> dict:
        return {node.get("id"): i for i, node in enumerate(self.nodes) if _short(node) == "CTERelationDef"}

    def joins(self) -> None:
        """Refuse a nested-loop join of the plan whose pairs exceed MAX_JOIN_PAIRS, or an equi-join whose output rows
        do, inner joins first (a counted join's rows are then its parents' side rows)."""
        for i in reversed(range(len(self.nodes))):  # every node after the nodes below it
            if _short(self.nodes[i]) == "Join" and len(self.kids[i]) == 2:
                if self.equi_join(i, self.kids[i]):
                    self.equi_join_rows(i)
                else:
                    self.nested_loop(i)

    def nested_loop(self, i: int) -> None:
        kids = self.kids[i]
        try:
            left, right = self.rows(kids[0]), self.rows(kids[1])
        except _Unbounded as exc:
            raise OperatorError(f"the statement's {self.join_name(i)} has a side whose rows cannot be counted "
                                f"before it runs ({exc}); Spark runs such a join as a nested loop, which its time "
                                f"limit cannot stop: {JOIN_ADVICE}", field="sql") from None
        for kid in sorted(kids, key=self.rows, reverse=True):  # the larger side first
            if left * right <= MAX_JOIN_PAIRS or self.timeout is None:
                break
            if not self.exact(kid):
                self.rows_of[kid] = self.counted(kid)
                self.counted_at.add(kid)
                left, right = self.rows(kids[0]), self.rows(kids[1])
        if left * right > MAX_JOIN_PAIRS:
            raise OperatorError(f"the statement's {self.join_name(i)} of {left:,} rows{self.origin(kids[0])} by "
                                f"{right:,} rows{self.origin(kids[1])} would compare {left * right:,} pairs of "
                                f"rows; Spark runs a join without an equality between its sides as a nested loop, "
                                f"which its time limit cannot stop, so at most {MAX_JOIN_PAIRS:,} pairs are "
                                f"allowed in sql_transform: {JOIN_ADVICE}", field="sql")

    def equi_join_rows(self, i: int) -> None:
        """Refuse an equi-join that would make more than MAX_JOIN_PAIRS rows, naming it, its key and those rows.
        Only a join whose bound (its sides' rows multiplied) is over is looked at, by Spark jobs under the time
        limit: first its smaller side's rows per key value (a lookup passes on that), then both sides' (the join's
        rows, which are then its rows for the joins above it)."""
        kind = _join_type(self.nodes[i])
        if kind in _ROW_JOINS:
            return
        try:
            if self.rows(i) <= MAX_JOIN_PAIRS:
                return
        except _Unbounded:
            pass  # a side of rows from explode(...): counted
        keys = self.join_keys(i, self.kids[i])
        bound = self.per_key_bound(i, keys, kind)
        if bound is not None and bound <= MAX_JOIN_PAIRS:
            self.rows_of[i] = bound
            return
        left, right, made = self.equi_join_counts(i, keys, kind)
        self.rows_of[i] = made
        self.counted_at.add(i)
        if made > MAX_JOIN_PAIRS:
            condition = self.jvm_node(i).condition().get()
            names = _readable(", ".join(f"{_jvm_expression(condition, self.nodes[i]['condition'], a).sql()} = "
                                        f"{_jvm_expression(condition, self.nodes[i]['condition'], b).sql()}"
                                        for a, b, _ in keys))
            raise OperatorError(f"the statement's {self.join_name(i)} of {left:,} rows by {right:,} rows would make "
                                f"{made:,} rows (its key {names} has values that many rows of each side share); "
                                f"Spark's join code looks for a cancel only between the rows it reads, so its time "
                                f"limit cannot stop such a join, and at most {MAX_JOIN_PAIRS:,} rows are allowed "
                                f"from a join in sql_transform: {EQUI_JOIN_ADVICE}", field="sql")

    def per_key_bound(self, i: int, keys: list, kind: str) -> int | None:
        """A bound of the join's rows from one job over its smaller side: the other side's rows times the most rows
        of the smaller one that share a key value (for a lookup, one or a few), plus both sides' rows for an outer join
        (the rows it keeps unmatched); None when a side's rows have no bound."""
        from pyspark.sql import functions as F

        try:
            sizes = [self.rows(kid) for kid in self.kids[i]]
        except _Unbounded:
            return None
        pick = 0 if sizes[0] <= sizes[1] else 1
        most_of = self.key_counts(i, keys, pick).agg(F.max("rows_per_key"))
        most = self.answer(most_of, most_of.first)[0] or 0
        return sizes[1 - pick] * max(most, 1) + (sum(sizes) if kind not in ("Inner", "Cross") else 0)

    def key_counts(self, i: int, keys: list, pick: int):
        """The rows of the join's side `pick` (0 left, 1 right) per value of its key: a DataFrame of k0, k1, ...
        and rows_per_key."""
        from pyspark.sql import functions as F
        from pyspark.sql.classic.column import Column

        jvm = self.spark.sparkContext._jvm
        condition, nodes = self.jvm_node(i).condition().get(), self.nodes[i]["condition"]
        frame = self.frame_of(self.jvm_node(self.kids[i][pick]))
        columns = [Column(jvm.org.apache.spark.sql.classic.ExpressionUtils.column(
            _jvm_expression(condition, nodes, key[pick]))).alias(f"k{n}") for n, key in enumerate(keys)]
        return frame.groupBy(*columns).agg(F.count(F.lit(1)).alias("rows_per_key"))

    def frame_of(self, plan):
        """A DataFrame of the JVM plan node `plan` (a side or a leaf of the statement), for a job of its own."""
        from pyspark.sql import DataFrame

        jvm = self.spark.sparkContext._jvm
        return DataFrame(jvm.org.apache.spark.sql.classic.Dataset.ofRows(self.spark._jsparkSession, plan), self.spark)

    def answer(self, frame, action):
        """`action()` (frame.count, frame.first), its jobs under the time limit when there is one."""
        return action() if self.timeout is None else within(frame, self.timeout, action)

    def equi_join_counts(self, i: int, keys: list, kind: str) -> tuple[int, int, int]:
        """(the left side's rows, the right side's, the join's rows): each side's rows counted per key value,
        the counts joined on the key (sum of left(k) * right(k), plus the unmatched rows an outer join keeps),
        in one Spark job under the time limit."""
        from pyspark.sql import functions as F

        left, right = (self.key_counts(i, keys, pick).toDF(*[f"{side}{n}" for n in range(len(keys))], f"{side}_rows")
                       for pick, side in enumerate("lr"))
        on = [F.col(f"l{n}").eqNullSafe(F.col(f"r{n}")) if null_safe else F.col(f"l{n}") == F.col(f"r{n}")
              for n, (_, _, null_safe) in enumerate(keys)]
        left_rows, right_rows = F.col("l_rows").cast("double"), F.col("r_rows").cast("double")
        totals = left.join(right, on, "full_outer").agg(
            F.sum(left_rows).alias("left"), F.sum(right_rows).alias("right"),
            F.sum(left_rows * right_rows).alias("matched"),
            F.sum(F.when(F.col("r_rows").isNull(), left_rows)).alias("left_only"),
            F.sum(F.when(F.col("l_rows").isNull(), right_rows)).alias("right_only"))
        left, right, matched, left_only, right_only = (int(round(v or 0)) for v in self.answer(totals, totals.first))
        made = matched + (left_only if kind in ("LeftOuter", "FullOuter") else 0) + \
            (right_only if kind in ("RightOuter", "FullOuter") else 0)
        return left, right, made

    def equi_join(self, i: int, kids: list) -> bool:
        """Whether the join's condition holds an equality (=, <=>) of an expression of the left side's columns
        alone and one of the right side's alone (Spark's ExtractEquiJoinKeys: a hash or sort-merge join)."""
        condition = self.nodes[i].get("condition")
        if not isinstance(condition, list) or not condition:
            return False
        parts = _children(condition, 0)
        if _join_type(self.nodes[i]) == "LeftAnti" and _short(condition[0]) == "Or" and len(parts) == 2 and \
                _short(condition[parts[1]]) == "IsNull" and \
                condition[parts[1] + 1:_skip(condition, parts[1])] == condition[parts[0]:_skip(condition, parts[0])] \
                and self.key_pair(condition, parts[0], *self.side_ids(kids)) is not None \
                and str(self.spark.conf.get("spark.sql.optimizeNullAwareAntiJoin", "true")).lower() == "true":
            return True  # x NOT IN (SELECT y ...): a null-aware anti join, which Spark runs as a hash join
        return bool(self.join_keys(i, kids))

    def side_ids(self, kids: list) -> tuple[set, set]:
        """The ids of the attributes only the left side outputs, those only the right side outputs (a key of a side
        reads its output alone, as Spark's ExtractEquiJoinKeys asks). Not every id a side's plan names: a cached
        input's plan names the columns of the plan it cached, which a self-join's other side names too."""
        left, right = ({(int(attribute.exprId().id()), str(attribute.exprId().jvmId()))
                        for attribute in (output.apply(k) for k in range(output.size()))}
                       for output in (self.jvm_node(kid).output() for kid in kids))
        return left - right, right - left

    @staticmethod
    def key_pair(condition: list, j: int, only_left: set, only_right: set) -> tuple[int, int, bool] | None:
        """(the left side's expression, the right side's, whether null-safe) when condition[j] is an equality
        (=, <=>) of the two sides; None otherwise."""
        parts = _children(condition, j)
        if _short(condition[j]) not in ("EqualTo", "EqualNullSafe") or len(parts) != 2:
            return None
        a, b = _references(condition, parts[0]), _references(condition, parts[1])
        null_safe = _short(condition[j]) == "EqualNullSafe"
        if a and b and a <= only_left and b <= only_right:
            return parts[0], parts[1], null_safe
        if a and b and a <= only_right and b <= only_left:
            return parts[1], parts[0], null_safe
        return None

    def join_keys(self, i: int, kids: list) -> list[tuple[int, int, bool]]:
        """The equalities of the two sides among the ANDs of the join's condition, as key_pair gives them: the
        keys Spark hashes or sorts the sides by."""
        condition = self.nodes[i].get("condition")
        if not isinstance(condition, list) or not condition:
            return []
        only_left, only_right = self.side_ids(kids)
        keys, stack = [], [0]
        while stack:
            j = stack.pop()
            if _short(condition[j]) == "And":
                stack.extend(reversed(_children(condition, j)))
            else:
                pair = self.key_pair(condition, j, only_left, only_right)
                if pair is not None:
                    keys.append(pair)
        return keys

    def rows(self, i: int) -> int:
        """An upper bound of the rows the plan node at nodes[i] outputs (_Unbounded when it has none)."""
        if i not in self.rows_of:
            for j in reversed(range(i, self.end[i])):  # the nodes below first, so that no bound recurses deeply
                if j not in self.rows_of:
                    try:
                        self.rows_of[j] = self._rows(j)
                    except _Unbounded as exc:  # kept, so that a counted node above it has rows all the same
                        self.rows_of[j] = exc
        if isinstance(self.rows_of[i], _Unbounded):
            raise self.rows_of[i]
        return self.rows_of[i]

    def _rows(self, i: int) -> int:
        node, kids = self.nodes[i], self.kids[i]
        name = _short(node)
        if name == "Join" and len(kids) == 2:
            left, right, kind = self.rows(kids[0]), self.rows(kids[1]), _join_type(node)
            if kind in _ROW_JOINS:
                return left
            return {"LeftOuter": left * max(right, 1), "RightOuter": right * max(left, 1),
                    "FullOuter": left * max(right, 1) + right}.get(kind, left * right)
        if name == "Union":
            return sum(self.rows(kid) for kid in kids)
        if name in ("Intersect", "Except") and kids:
            return self.rows(kids[0])
        if name == "Aggregate" and kids:
            return 1 if not node.get("groupingExpressions") else self.rows(kids[0])
        if name == "Expand" and kids:
            return max(1, len(node.get("projections") or [])) * self.rows(kids[0])
        if name == "Generate" and kids:
            return self.generated(i) * self.rows(kids[0])
        if name in ("GlobalLimit", "LocalLimit") and kids:
            limit = node.get("limitExpr")
            limit = _constant(limit, 0) if isinstance(limit, list) and limit else None
            rows = self.rows(kids[0])
            return rows if limit is None else min(rows, max(limit, 0))
        if name == "CTERelationRef" and node.get("cteId") in self.ctes:
            check, j = self.ctes[node.get("cteId")]
            return check.rows(j)
        if name == "WithCTE" and kids:
            return self.rows(kids[-1])
        if not kids:
            return self.leaf_rows(i)
        if len(kids) == 1:
            return self.rows(kids[0])
        total = 1
        for kid in kids:  # a node of several inputs not named above: their product bounds it
            total *= self.rows(kid)
        return total

    def exact(self, i: int) -> bool:
        """Whether the bound of the node at nodes[i] is its rows: leaves, and nodes that keep their inputs' rows or
        multiply them (a cross join)."""
        j = i
        while j < self.end[i]:
            if j in self.counted_at:
                j = self.end[j]
                continue
            node = self.nodes[j]
            name = _short(node)
            cross = name == "Join" and not node.get("condition") and _join_type(node) in ("Inner", "Cross")
            if name == "CTERelationRef" or self.kids[j] and name not in _SAME_ROWS and not cross:
                return False
            j += 1
        return True

    def counted(self, i: int) -> int:
        """The rows of the node at nodes[i], counted by a Spark job under the time limit; its bound when it cannot
        be counted so."""
        try:
            frame = self.frame_of(self.jvm_node(i))
            return int(self.answer(frame, frame.count))
        except OperatorError:
            raise
        except Exception:  # noqa: BLE001 - not a plan that runs alone (a CTE's reference): its bound stays
            return self.rows(i)

    def jvm_node(self, i: int):
        """The JVM's plan node at nodes[i], reached from the root child by child (its class checked)."""
        path = []
        while self.parent[i] != -1:
            path.append(self.kids[self.parent[i]].index(i))
            i = self.parent[i]
        node = self.jplan
        for k in reversed(path):
            node = node.children().apply(k)
        return node

    def leaf_rows(self, i: int) -> int:
        """A leaf's rows: as Spark's statistics know them (a cached node output once filled, range(), VALUES, a
        table the driver handed Spark), from the footers of a Parquet file, or counted (a Spark job)."""
        leaf = self.jvm_node(i)
        if leaf.getClass().getName() != self.nodes[i].get("class"):
            raise _Unbounded("a plan that cannot be read")
        known = leaf.stats().rowCount()
        if known.isDefined():
            return int(str(known.get()))
        if _short(self.nodes[i]) == "LogicalRelation":
            rows = _parquet_rows(leaf)
            if rows is not None:
                return rows
        frame = self.frame_of(leaf)
        return int(self.answer(frame, frame.count))

    def generated(self, i: int) -> int:
        """The most rows a Generate node makes of one input row: explode / posexplode / inline of an array built
        of constants or of a bounded sequence(...), stack(n, ...); otherwise _Unbounded."""
        gen = self.nodes[i].get("generator")
        if not isinstance(gen, list) or not gen:
            raise _Unbounded("a generator")
        name, kids = _short(gen[0]), _children(gen, 0)
        if name == "JsonTuple":
            return 1
        if name == "Stack" and kids:
            count = _constant(gen, kids[0])
            if count is not None:
                return max(count, 1)
        if name in ("Explode", "PosExplode", "Inline") and kids:
            arg, kind = kids[0], _short(gen[kids[0]])
            if kind in ("CreateArray", "CreateMap"):
                return max(1, len(_children(gen, arg)) // (2 if kind == "CreateMap" else 1))
            if kind == "Sequence":
                size = _size(gen, arg, "Sequence")
                if size is not None:
                    return max(size[0], 1)
            if kind == "Literal":  # a constant array or map, folded: its elements counted by the JVM
                try:
                    return max(int(self.jvm_node(i).generator().children().apply(0).eval(None).numElements()), 1)
                except Exception:  # noqa: BLE001 - a null or another value: not counted
                    pass
        raise _Unbounded(f"{name.lower()}(...) of values from rows")

    def join_name(self, i: int) -> str:
        node = self.nodes[i]
        if not isinstance(node.get("condition"), list) or not node.get("condition"):
            return "cross join"
        try:
            text = _readable(str(self.jvm_node(i).condition().get().sql()))
        except Exception:  # noqa: BLE001 - the join is named without its condition
            return "join on a condition without an equality"
        return f"join on {text if len(text) <= 200 else text[:200] + '...'}"

    def origin(self, i: int) -> str:
        """" (from a join of L by R rows)" when the side at nodes[i] is a join, through one-input nodes."""
        while _short(self.nodes[i]) != "Join":
            kids = self.kids[i]
            if len(kids) != 1:
                return ""
            i = kids[0]
        left, right = self.kids[i]
        try:
            return f" (from a join of {self.rows(left):,} by {self.rows(right):,} rows)"
        except _Unbounded:
            return ""

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


# A join with no equality between a column of each side (a cross join, FROM a, b, or a theta join such as
# ON a.x < b.y) runs in Spark as a nested loop (BroadcastNestedLoopJoinExec, CartesianProductExec): every row of
# one side against every row of the other. A cancelled task looks for its kill only between the rows it reads
# from its streamed side, and in a join of joins each such row costs the product of the other sides (four
# copies of a 300-row table: 2.7e7 rows between two looks), so a cancelled cross join held both cores of a
# local[N] session for minutes after the time limit. So before the statement runs, every such join's pairs (its
# inputs' rows multiplied: an input's rows as Spark knows them for a cached node output, a Parquet file's
# footers, rows the statement writes itself; a join below it counts its own bound) are bounded by
# MAX_JOIN_PAIRS. Measured on local[2] (2026-12-07, load average 7-9 on the 2 shared cores): 1e8 pairs of two
# cached 10,000-row tables counted in 1.2 s, compared (a.id < b.y) in 2.6 s, a hash of both summed in 8.2 s:
# a join within the bound ends seconds after a cancel, whatever it does per pair. Equi-joins (hash, sort-merge)
# are not nested loops; their bound is on the rows they make (below).
MAX_JOIN_PAIRS = 100_000_000
JOIN_ADVICE = ("join on an equality of a column of each side (ON a.k = b.k), which Spark runs as a hash join, or "
               "filter or aggregate a side first")
# An equi-join is no nested loop, but Spark's join code also looks for a cancel only between the rows it reads
# from its streamed side: each of them is joined to all the rows of the other side with its key, and in a join of
# joins to all their combinations. A 0/1 flag joined three times over 100,000 rows (5e14 rows, 2.5e9 per row
# read) kept its task threads working 51 s and more than 120 s after its job group was cancelled (count(*) by
# broadcast hash joins, local[2], load 9-15, 2026-12-07; benchmarks/spark/join_cancel.py). So an equi-join whose
# sides' rows multiplied are over MAX_JOIN_PAIRS is counted before the statement runs (each side's rows per key
# value, the counts joined on the key: sum of left(k) * right(k)), and refused when it would make more than
# MAX_JOIN_PAIRS rows.
EQUI_JOIN_ADVICE = ("join on a key with more distinct values (every column that identifies a row), or filter or "
                    "aggregate a side first")
_ROW_JOINS = {"LeftSemi", "LeftAnti", "ExistenceJoin"}  # at most a row out per left row
# plan nodes whose rows are their inputs' rows (all of them for a Union)
_SAME_ROWS = {"Project", "SubqueryAlias", "Sort", "Window", "Repartition", "RepartitionByExpression",
              "RebalancePartitions", "ResolvedHint", "Union", "WithCTE", "CTERelationDef"}


class _Unbounded(Exception):
    """The rows of a plan node have no bound known before the statement runs."""


def check_joins(frame, timeout: float | None = None) -> None:
    """Refuse a statement whose optimised plan (its subqueries' plans included) holds a join that Spark runs as a
    nested loop over more than MAX_JOIN_PAIRS pairs of rows, naming the join and its sides' rows. A side's rows
    are bounded from the plan (a filter or an aggregate keeps its input's bound, an equi-join its inputs'
    product); when the bound is over and `timeout` is given, a side whose bound is not its rows is counted, in a
    Spark job under that time limit (its own nested loops are within the bound already, so a cancel stops it)."""
    import json

    try:
        plan = frame._jdf.queryExecution().optimizedPlan()
        subqueries = plan.subqueriesAll()
        checks = [_PlanCheck(frame.sparkSession, set()).loops(plan, json.loads(plan.toJSON()), timeout)]
        checks += [_PlanCheck(frame.sparkSession, set()).loops(sub, json.loads(sub.toJSON()), timeout)
                   for sub in (subqueries.apply(k) for k in range(subqueries.size()))]
        ctes = {key: (check, i) for check in checks for key, i in check.cte_defs().items()}
        for check in checks:
            check.ctes = ctes
            if any(_short(node) == "Join" for node in check.nodes):
                check.joins()
    except OperatorError:
        raise
    except Exception:  # noqa: BLE001 - a plan that cannot be read (or is too deep to walk) is not run
        raise OperatorError("the statement's plan cannot be checked, so it does not run; simplify the query",
                            field="sql") from None


def _join_type(node: dict) -> str:
    kind = node.get("joinType") or {}
    name = (kind.get("object") or kind.get("product-class") or "") if isinstance(kind, dict) else kind
    return str(name).rsplit(".", 1)[-1].rstrip("$")


_VIEW_NAME = re.compile(r"\bstudio_[0-9a-f]{32}_(t\d)\b")


def _readable(text: str) -> str:
    """An expression's SQL as the statement names it: a column of a self-joined input, whose alias the optimised
    plan no longer holds, is qualified by the input's view (studio_<token>_t1), which is shown as t1."""
    return _VIEW_NAME.sub(r"\1", text)


def _jvm_expression(root, nodes: list, j: int):
    """The JVM's expression at nodes[j] of the JSON `nodes` of the JVM expression `root`, reached child by child."""
    node, i = root, 0
    while i != j:
        for k, kid in enumerate(_children(nodes, i)):
            if kid <= j < _skip(nodes, kid):
                node, i = node.children().apply(k), kid
                break
        else:
            raise _Unbounded("a condition that cannot be read")
    return node


def _references(nodes: list, i: int) -> set:
    """The attribute ids an expression's subtree reads."""
    return {(n["exprId"].get("id"), n["exprId"].get("jvmId")) for n in nodes[i:_skip(nodes, i)]
            if _short(n) == "AttributeReference" and isinstance(n.get("exprId"), dict)}



def _parquet_rows(leaf) -> int | None:
    """The rows of a Parquet relation, from its files' footers (no Spark job); None for another format."""
    import pyarrow.parquet as pq
    from urllib.parse import unquote, urlparse

    relation = leaf.relation()
    if "parquet" not in str(relation.fileFormat().toString()).lower():
        return None
    total = 0
    for uri in relation.location().inputFiles():
        parsed = urlparse(str(uri))
        if parsed.scheme not in ("", "file"):
            return None
        total += pq.ParquetFile(unquote(parsed.path)).metadata.num_rows
    return total


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
    check_expanded_size(spark, params.sql)
    spark.conf.set("spark.sql.runSQLOnFiles", "false")
    token = uuid.uuid4().hex
    views = {port: f"studio_{token}_{port}" for port in PORTS if inputs.get(port) is not None}
    for port, view in views.items():  # NaN as null: DuckDB reads the local engine's NaN (pandas') as NULL
        without_nan(inputs[port]).createOrReplaceTempView(view)
    prefix = "WITH " + ", ".join(f"{port} AS (SELECT * FROM {view})" for port, view in views.items()) + \
        "\nSELECT * FROM (\n"
    try:
        frame = spark.sql(prefix + params.sql.rstrip().rstrip(";") + "\n)")  # analysed here; nothing runs yet
        check_plan(frame, views.values())
        check_joins(frame, params.timeout_seconds)
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
    frame = frame.persist()
    try:
        within(frame, timeout, frame.count)
    except Exception:
        frame.unpersist()
        raise
    return frame


def within(frame, timeout: float, action):
    """`action()` (Spark jobs of `frame`'s session), its jobs cancelled after `timeout` seconds (an OperatorError
    naming timeout_seconds then), under the thread's job group or one of its own."""
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
    timer.start()
    try:
        return action()
    except Exception:
        if expired.is_set():
            raise OperatorError(f"the query was stopped after its time limit of {timeout:g} s",
                                field="timeout_seconds") from None
        raise
    finally:
        done.set()
        timer.join()

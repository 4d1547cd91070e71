"""A small, safe expression language over table columns, for row filters and rule splits.

Parsed with Python's `ast` and evaluated by walking an allow-list of node kinds over pandas columns: never
`eval`, no attribute access, no imports, no arbitrary calls. Examples:

    age >= 30 and region in ["south", "east"]
    not isnull(income) and income / credit_limit > 2.5
    col("late payments") > 0 or purpose == "business"
    application_date >= date("2025-01-01")

Names are columns (`col("...")` for names that are not identifiers); constants are numbers, strings, True,
False, None; operators: and or not, == != < <= > >=, in / not in a list, + - * / % **, & | ~. Functions
(operators.expression_functions): isnull, notnull, if(cond, a, b), coalesce(a, b, ...); text: lower, upper,
strip, length, substring(x, start[, length]) counting from 1, contains, startswith, endswith; numbers: abs,
round(x[, digits]), log (natural), exp, clip(x, low, high); times: date("2025-01-01"), year, month, day,
weekday (Monday 0), hour, minute. A value a function cannot use (text where a number belongs) is an error
naming the column and the value.

Whatever a user types is bounded before it costs anything: its length and nesting depth when it is parsed,
and, when it is evaluated, the size of an integer power, of repeated text (`"x" * n`) and no `%` formatting
of text, so that no expression holds the worker for long or takes its memory.
"""
from __future__ import annotations

import ast
import operator as op
from typing import Any

import numpy as np
import pandas as pd

from .contract import OperatorError
from .expression_functions import FUNCTIONS as _FUNCTIONS
from .expression_functions import BadValue, series

_COMPARE = {ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt, ast.GtE: op.ge}
_BINARY = {ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv, ast.Mod: op.mod,
           ast.Pow: op.pow, ast.BitAnd: op.and_, ast.BitOr: op.or_}
_UNARY = (ast.Not, ast.USub, ast.UAdd, ast.Invert)
_CONSTANT_NAMES = {"True": True, "False": False, "None": None}
MAX_LENGTH = 2000  # characters of expression text
MAX_DEPTH = 100  # nesting of operators and calls (a sum of 90 columns is 91 deep)
MAX_POWER_BITS = 4096  # an integer power's result, e.g. 10 ** 1233; numpy columns overflow instead of growing
MAX_TEXT = 10_000_000  # characters that repeating text (`"x" * n`, a text column * n) may produce in all


_series = series


def _columns_in(tree: ast.AST) -> list[str]:
    """The column names a (checked) tree reads, in order of appearance."""
    names = []
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in functions and node.id not in _CONSTANT_NAMES:
            names.append(node.id)
        elif isinstance(node, ast.Call) and node.func.id == "col":
            names.append(node.args[0].value)
    return list(dict.fromkeys(names))


def _rename_if(text: str) -> str:
    """`if(` is the function if(); Python reads `if` as a keyword, so it is parsed under the name `if_`.
    Tokenizing (not a text replace) leaves `if` inside strings and col("if") alone."""
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text  # ast.parse reports what is wrong
    lines = text.splitlines(keepends=True)
    for token, following in reversed(list(zip(tokens, tokens[1:], strict=False))):
        if token.type == tokenize.NAME and token.string == "if" and following.string == "(":
            row, column = token.start
            line = lines[row - 1]
            lines[row - 1] = line[:column] + "if_" + line[column + 2:]
    return "".join(lines)


def _depth(root: ast.AST) -> int:
    """The tree's nesting depth, counted without recursion (a deep tree must not exhaust the stack here)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node)
                     if not isinstance(child, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)))
    return deepest


class Expression:
    """A parsed, checked expression; `evaluate(table)` returns a boolean Series (or values)."""

    def __init__(self, text: str, *, field: str = "expression"):
        self.text = text
        self.field = field
        if not text or not text.strip():
            raise OperatorError("the expression is empty", field=field)
        if len(text) > MAX_LENGTH:
            raise OperatorError(f"the expression is longer than {MAX_LENGTH} characters", field=field)
        try:
            self.tree = ast.parse(_rename_if(text.strip()), mode="eval")
        except SyntaxError as exc:
            raise OperatorError(f"cannot parse the expression at column {exc.offset}: {exc.msg}", field=field) from None
        except (RecursionError, MemoryError):
            raise OperatorError("the expression is too deeply nested to parse", field=field) from None
        if _depth(self.tree.body) > MAX_DEPTH:
            raise OperatorError(f"the expression is nested more than {MAX_DEPTH} levels deep", field=field)
        self._check(self.tree.body)

    def columns(self) -> list[str]:
        return _columns_in(self.tree)

    def _bad(self, node, what: str):
        raise OperatorError(f"{what} is not allowed in an expression (at column {getattr(node, 'col_offset', 0) + 1})",
                            field=self.field)

    # ------------------------------------------------------------------------------------------ checks
    # One handler per allowed node kind: each refuses what it cannot evaluate and returns the children to check.
    def _check(self, root) -> None:
        stack = [root]
        while stack:
            node = stack.pop()
            handler = self._CHECKS.get(type(node))
            if handler is None:
                self._bad(node, type(node).__name__)
            stack.extend(handler(self, node))

    def _check_compare(self, node: ast.Compare) -> list:
        for o in node.ops:
            if type(o) not in _COMPARE and not isinstance(o, (ast.In, ast.NotIn, ast.Is, ast.IsNot)):
                self._bad(node, type(o).__name__)
            if isinstance(o, (ast.Is, ast.IsNot)) and not all(
                    isinstance(c, ast.Constant) and c.value is None for c in node.comparators):
                self._bad(node, "'is' with anything but None")
        return [node.left, *node.comparators]

    def _check_unary(self, node: ast.UnaryOp) -> list:
        if not isinstance(node.op, _UNARY):
            self._bad(node, type(node.op).__name__)
        return [node.operand]

    def _check_binary(self, node: ast.BinOp) -> list:
        if type(node.op) not in _BINARY:
            self._bad(node, f"the operator {type(node.op).__name__}")
        return [node.left, node.right]

    def _check_sequence(self, node: ast.List | ast.Tuple) -> list:
        if not all(isinstance(e, ast.Constant) for e in node.elts):
            self._bad(node, "a list of anything but constants")
        return [*node.elts]

    def _check_constant(self, node: ast.Constant) -> list:
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            self._bad(node, f"the constant {node.value!r}")
        return []

    def _check_call(self, node: ast.Call) -> list:
        if not isinstance(node.func, ast.Name):
            self._bad(node, "a method call")
        if node.func.id not in _FUNCTIONS and node.func.id != "col":
            known = ", ".join(name.rstrip("_") for name in _FUNCTIONS)
            self._bad(node, f"the function {node.func.id!r} (known: col, {known})")
        if node.keywords:
            self._bad(node, "a keyword argument")
        if node.func.id == "col":
            if len(node.args) != 1 or not (isinstance(node.args[0], ast.Constant) and
                                           isinstance(node.args[0].value, str)):
                self._bad(node, "col() without one string argument")
            return []
        fewest, most = _FUNCTIONS[node.func.id][:2]
        if not fewest <= len(node.args) <= most:
            arity = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise OperatorError(f"{node.func.id.rstrip('_')}() takes {arity} argument(s), got {len(node.args)}",
                                field=self.field)
        return node.args

    _CHECKS = {ast.BoolOp: lambda self, node: node.values, ast.Compare: _check_compare, ast.UnaryOp: _check_unary,
               ast.BinOp: _check_binary, ast.List: _check_sequence, ast.Tuple: _check_sequence,
               ast.Constant: _check_constant, ast.Name: lambda self, node: [], ast.Call: _check_call}

    # --------------------------------------------------------------------------------------- evaluation
    def evaluate(self, table: pd.DataFrame) -> Any:
        try:
            return self._eval(self.tree.body, table)
        except OperatorError:
            raise
        except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
            raise OperatorError(f"cannot evaluate {self.text!r}: {exc}", field=self.field) from None
        except RecursionError:
            raise OperatorError("the expression is too deeply nested to evaluate", field=self.field) from None
        except MemoryError:
            raise OperatorError(f"evaluating {self.text[:200]!r} over {len(table):,} rows needs more memory than "
                                "the worker's memory limit allows", field=self.field) from None

    def mask(self, table: pd.DataFrame) -> np.ndarray:
        """The expression as a row mask; missing values count as false."""
        value = self.evaluate(table)
        if not isinstance(value, pd.Series):
            if isinstance(value, (bool, np.bool_)):
                return np.full(len(table), bool(value))
            raise OperatorError(f"the expression must be true or false for each row, not {type(value).__name__}",
                                field=self.field)
        if not (pd.api.types.is_bool_dtype(value) or value.dtype == object):
            raise OperatorError(f"the expression must be true or false for each row; it gives {value.dtype} values",
                                field=self.field)
        return value.fillna(False).astype(bool).to_numpy()

    def _column(self, name: str, table: pd.DataFrame) -> pd.Series:
        if name not in table.columns:
            known = ", ".join(map(str, list(table.columns)[:20]))
            raise OperatorError(f"the expression uses column {name!r}, which is not in the table; columns are: "
                                f"{known}", field=self.field, column=name)
        return table[name]

    def _eval(self, node, t):
        return self._EVALS[type(node)](self, node, t)

    def _eval_name(self, node: ast.Name, t):
        if node.id in _CONSTANT_NAMES:
            return _CONSTANT_NAMES[node.id]
        return self._column(node.id, t)

    def _eval_call(self, node: ast.Call, t):
        if node.func.id == "col":
            return self._column(node.args[0].value, t)
        try:
            return _FUNCTIONS[node.func.id][2](t, *[self._eval(a, t) for a in node.args])
        except BadValue as bad:
            used = _columns_in(node) if bad.from_column else []
            where = f"column {used[0]!r} holds" if used else "got"
            raise OperatorError(f"{bad.problem}; {where} {bad.value!r} (in {ast.unparse(node)[:200]})",
                                field=self.field, column=used[0] if used else None) from None

    def _eval_boolean(self, node: ast.BoolOp, t):
        values = [_as_bool(self._eval(v, t), t) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out

    def _eval_unary(self, node: ast.UnaryOp, t):
        value = self._eval(node.operand, t)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return ~_as_bool(value, t)
        return -value if isinstance(node.op, ast.USub) else value

    def _eval_binary(self, node: ast.BinOp, t):
        left, right = self._eval(node.left, t), self._eval(node.right, t)
        refusal = _BOUNDS[type(node.op)](left, right) if type(node.op) in _BOUNDS else None
        if refusal:
            raise OperatorError(f"{refusal} (at column {node.col_offset + 1})", field=self.field)
        try:
            return _BINARY[type(node.op)](left, right)
        except TypeError:
            self._mixed_types(node, t, (node.left, left), (node.right, right))

    def _mixed_types(self, node, table, *sides):
        """Raises why an operation on two values failed, naming the text column at fault. (Its values are not
        quoted: the Spark engine checks an expression on a frame with no rows, and says the same.)"""
        symbol = f"{ast.unparse(node)[:200]} (at column {node.col_offset + 1})"
        for side, value in sides:
            if isinstance(value, pd.Series) and _is_text(value):
                used = [c for c in _columns_in(side) if _is_text(table[c])]
                what = f"column {used[0]!r}" if used else ast.unparse(side)[:100]
                raise OperatorError(f"cannot evaluate {symbol}: {what} holds text, not numbers", field=self.field,
                                    column=used[0] if used else None) from None
        raise OperatorError(f"cannot evaluate {symbol}: the two sides have types that do not mix",
                            field=self.field) from None

    def _eval_compare(self, node: ast.Compare, t):
        left, left_node = self._eval(node.left, t), node.left
        out = None
        for o, right_node in zip(node.ops, node.comparators, strict=True):
            right = self._eval(right_node, t)
            if isinstance(o, (ast.In, ast.NotIn)):
                if not isinstance(right, list):
                    raise OperatorError("'in' needs a list, e.g. region in [\"north\", \"south\"]", field=self.field)
                part = _series(left, t).isin(right)
                part = ~part if isinstance(o, ast.NotIn) else part
            elif isinstance(o, (ast.Is, ast.IsNot)) or right is None:
                part = _series(left, t).isna()
                part = ~part if isinstance(o, (ast.IsNot, ast.NotEq)) else part
            else:
                try:
                    part = _COMPARE[type(o)](left, right)
                except TypeError:
                    self._mixed_types(node, t, (left_node, left), (right_node, right))
                if isinstance(part, pd.Series) and part.dtype != bool:
                    part = part.fillna(False).astype(bool)
            out = part if out is None else (out & part)
            left, left_node = right, right_node
        return out

    _EVALS = {ast.Constant: lambda self, node, t: node.value, ast.Name: _eval_name,
              ast.List: lambda self, node, t: [e.value for e in node.elts],
              ast.Tuple: lambda self, node, t: [e.value for e in node.elts],
              ast.Call: _eval_call, ast.BoolOp: _eval_boolean, ast.UnaryOp: _eval_unary, ast.BinOp: _eval_binary,
              ast.Compare: _eval_compare}


# ------------------------------------------------------------------------------- bounds on an operation
# Each looks at the operands before the operation runs and returns why it is refused, or None.
def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer))  # bool is an int too


def _is_text(value) -> bool:
    if isinstance(value, pd.Series):
        return not (pd.api.types.is_numeric_dtype(value) or pd.api.types.is_datetime64_any_dtype(value)
                    or pd.api.types.is_timedelta64_dtype(value))
    return isinstance(value, (str, list, tuple))


def _short(number) -> str:
    """An integer for a message: its digits, or its size when it is long."""
    bits = abs(int(number)).bit_length()
    return str(number) if bits <= 64 else f"<a {bits:,}-bit integer>"


def _power_bound(base, exponent) -> str | None:
    """Python integers grow without end (10 ** 10 ** 10 never finishes); numpy columns overflow instead."""
    if _is_int(base) and _is_int(exponent) and exponent > 0:
        bits = int(exponent) * max(1, abs(int(base)).bit_length())
        if bits > MAX_POWER_BITS:
            return (f"the power {_short(base)} ** {_short(exponent)} is too large: its result would have about "
                    f"{bits:,} bits, and integer powers are limited to {MAX_POWER_BITS:,} bits")
    return None


def _text_length(value) -> float:
    if isinstance(value, pd.Series):
        return float(value.astype("string").str.len().fillna(0).sum())
    return float(len(value))


def _largest_count(value) -> float:
    if isinstance(value, pd.Series):
        largest = pd.to_numeric(value, errors="coerce").max()
        return 0.0 if pd.isna(largest) else float(largest)
    return float(value) if _is_int(value) else 0.0


def _repetition_bound(left, right) -> str | None:
    """`"x" * 10 ** 10` is ten gigabytes of text: text (or a list) times a count is limited by its result."""
    for text, count in ((left, right), (right, left)):
        if _is_text(text) and not _is_text(count):
            produced = _text_length(text) * max(0.0, _largest_count(count))
            if produced > MAX_TEXT:
                return (f"repeating text with * would make {produced:,.0f} characters; repetition is limited to "
                        f"{MAX_TEXT:,} characters")
    return None


def _format_bound(left, right) -> str | None:
    """`"%0999999999d" % 1` formats a gigabyte; % is for numbers only."""
    if _is_text(left):
        return "% on text (string formatting) is not allowed; % is the remainder of numbers"
    return None


_BOUNDS = {ast.Pow: _power_bound, ast.Mult: _repetition_bound, ast.Mod: _format_bound}


def _as_bool(value, table):
    if isinstance(value, pd.Series):
        if pd.api.types.is_bool_dtype(value):
            return value.fillna(False).astype(bool)
        return value.fillna(0).astype(bool)
    return bool(value)

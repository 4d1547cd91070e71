"""A small, safe expression language over table columns, for row filters and rule splits.

Parsed with Python's `ast` and evaluated by walking an allow-list of node kinds over pandas columns: never
`eval`, no attribute access, no imports, no arbitrary calls. Examples:

    age >= 30 and region in ["south", "east"]
    not isnull(income) and income / credit_limit > 2.5
    col("late payments") > 0 or purpose == "business"
    application_date >= date("2025-01-01")

Names are columns (`col("...")` for names that are not identifiers); constants are numbers, strings, True,
False, None; operators: and or not, == != < <= > >=, in / not in a list, + - * / % **, & | ~. Functions:
isnull, notnull, abs, lower, upper, contains, startswith, date.
"""
from __future__ import annotations

import ast
import operator as op
from typing import Any

import numpy as np
import pandas as pd

from .contract import OperatorError

_COMPARE = {ast.Eq: op.eq, ast.NotEq: op.ne, ast.Lt: op.lt, ast.LtE: op.le, ast.Gt: op.gt, ast.GtE: op.ge}
_BINARY = {ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv, ast.Mod: op.mod,
           ast.Pow: op.pow, ast.BitAnd: op.and_, ast.BitOr: op.or_}
MAX_LENGTH = 2000


def _series(value, table) -> pd.Series:
    return value if isinstance(value, pd.Series) else pd.Series(value, index=table.index)


def _str(value, table) -> pd.Series:
    return _series(value, table).astype("string")


_FUNCTIONS = {
    "isnull": (1, lambda t, x: _series(x, t).isna()),
    "notnull": (1, lambda t, x: _series(x, t).notna()),
    "abs": (1, lambda t, x: abs(x)),
    "lower": (1, lambda t, x: _str(x, t).str.lower()),
    "upper": (1, lambda t, x: _str(x, t).str.upper()),
    "contains": (2, lambda t, x, s: _str(x, t).str.contains(str(s), regex=False).fillna(False).astype(bool)),
    "startswith": (2, lambda t, x, s: _str(x, t).str.startswith(str(s)).fillna(False).astype(bool)),
    "date": (1, lambda t, s: pd.Timestamp(s)),
}


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
            self.tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise OperatorError(f"cannot parse the expression at column {exc.offset}: {exc.msg}", field=field) from None
        self._check(self.tree.body)

    def columns(self) -> list[str]:
        names = []
        functions = {id(node.func) for node in ast.walk(self.tree) if isinstance(node, ast.Call)}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and id(node) not in functions and node.id not in ("True", "False", "None"):
                names.append(node.id)
            elif isinstance(node, ast.Call) and node.func.id == "col":
                names.append(node.args[0].value)
        return list(dict.fromkeys(names))

    def _bad(self, node, what: str):
        raise OperatorError(f"{what} is not allowed in an expression (at column {getattr(node, 'col_offset', 0) + 1})",
                            field=self.field)

    def _check(self, node) -> None:
        if isinstance(node, ast.BoolOp) or isinstance(node, ast.Compare):
            if isinstance(node, ast.Compare):
                for o in node.ops:
                    if type(o) not in _COMPARE and not isinstance(o, (ast.In, ast.NotIn, ast.Is, ast.IsNot)):
                        self._bad(node, type(o).__name__)
                    if isinstance(o, (ast.Is, ast.IsNot)) and not all(
                            isinstance(c, ast.Constant) and c.value is None for c in node.comparators):
                        self._bad(node, "'is' with anything but None")
                children = [node.left, *node.comparators]
            else:
                children = node.values
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.Not, ast.USub, ast.UAdd, ast.Invert)):
                self._bad(node, type(node.op).__name__)
            children = [node.operand]
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                self._bad(node, f"the operator {type(node.op).__name__}")
            children = [node.left, node.right]
        elif isinstance(node, (ast.List, ast.Tuple)):
            if not all(isinstance(e, ast.Constant) for e in node.elts):
                self._bad(node, "a list of anything but constants")
            children = []
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool, type(None))):
                self._bad(node, f"the constant {node.value!r}")
            children = []
        elif isinstance(node, ast.Name):
            children = []
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or (node.func.id not in _FUNCTIONS and node.func.id != "col"):
                if not isinstance(node.func, ast.Name):
                    self._bad(node, "a method call")
                self._bad(node, f"the function {node.func.id!r} (known: col, {', '.join(_FUNCTIONS)})")
            if node.keywords:
                self._bad(node, "a keyword argument")
            if node.func.id == "col":
                if len(node.args) != 1 or not (isinstance(node.args[0], ast.Constant) and
                                               isinstance(node.args[0].value, str)):
                    self._bad(node, "col() without one string argument")
                children = []
            else:
                arity = _FUNCTIONS[node.func.id][0]
                if len(node.args) != arity:
                    raise OperatorError(f"{node.func.id}() takes {arity} argument(s), got {len(node.args)}",
                                        field=self.field)
                children = node.args
        else:
            self._bad(node, type(node).__name__)
        for child in children:
            self._check(child)

    # --------------------------------------------------------------------------------------- evaluation
    def evaluate(self, table: pd.DataFrame) -> Any:
        try:
            return self._eval(self.tree.body, table)
        except OperatorError:
            raise
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise OperatorError(f"cannot evaluate {self.text!r}: {exc}", field=self.field) from None

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

    def _column(self, name: str, table: pd.DataFrame, node) -> pd.Series:
        if name not in table.columns:
            known = ", ".join(map(str, list(table.columns)[:20]))
            raise OperatorError(f"the expression uses column {name!r}, which is not in the table; columns are: "
                                f"{known}", field=self.field, column=name)
        return table[name]

    def _eval(self, node, t):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.id]
            return self._column(node.id, t, node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return [e.value for e in node.elts]
        if isinstance(node, ast.Call):
            if node.func.id == "col":
                return self._column(node.args[0].value, t, node)
            return _FUNCTIONS[node.func.id][1](t, *[self._eval(a, t) for a in node.args])
        if isinstance(node, ast.BoolOp):
            values = [_as_bool(self._eval(v, t), t) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp):
            value = self._eval(node.operand, t)
            if isinstance(node.op, (ast.Not, ast.Invert)):
                return ~_as_bool(value, t)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](self._eval(node.left, t), self._eval(node.right, t))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, t)
            out = None
            for o, right_node in zip(node.ops, node.comparators):
                right = self._eval(right_node, t)
                if isinstance(o, (ast.In, ast.NotIn)):
                    if not isinstance(right, list):
                        raise OperatorError("'in' needs a list, e.g. region in [\"north\", \"south\"]",
                                            field=self.field)
                    part = _series(left, t).isin(right)
                    part = ~part if isinstance(o, ast.NotIn) else part
                elif isinstance(o, (ast.Is, ast.IsNot)) or right is None:
                    part = _series(left, t).isna()
                    part = ~part if isinstance(o, (ast.IsNot, ast.NotEq)) else part
                else:
                    part = _COMPARE[type(o)](left, right)
                    if isinstance(part, pd.Series) and part.dtype != bool:
                        part = part.fillna(False).astype(bool)
                out = part if out is None else (out & part)
                left = right
            return out
        raise OperatorError(f"cannot evaluate {type(node).__name__}", field=self.field)  # unreachable after _check


def _as_bool(value, table):
    if isinstance(value, pd.Series):
        if pd.api.types.is_bool_dtype(value):
            return value.fillna(False).astype(bool)
        return value.fillna(0).astype(bool)
    return bool(value)

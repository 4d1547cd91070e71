"""Binary labels as they come: any two values (0/1, true/false, yes/no, "churned"/"stayed", 1/2, ">50K"/"<=50K")
and which of them is the positive class.

The rule, shown in the forms (`positive`'s description) and in the evaluation report:
  1. `positive` names the positive value (its text; exact, else ignoring case);
  2. otherwise the value 1 (a number, or the text "1"), else true (a boolean, or the text "true" in any case),
     else "yes" (any case);
  3. otherwise the minority class (fewer rows); on a tie, the value whose text sorts last.
A label with missing values or with more than two values is an error naming the column, the count and the values.

Engines compute the value counts (pandas value_counts, a Spark groupBy); the rule runs once, here, on them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import OperatorError

POSITIVE_RULE = ("the positive label value; empty: 1, else true, else yes, else the minority class "
                 "(fewer rows)")
_POSITIVE_WORDS = ("1", "true", "yes")


def plain(value):
    """A numpy / pandas scalar as the Python value JSON writes (1.0 stays a float, np.int64(1) becomes 1)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclass(frozen=True)
class LabelClasses:
    """The label's values: `negative` and `positive` (either may be None when the rows hold one class only)."""

    negative: object
    positive: object

    def to_json(self) -> list:
        return [plain(self.negative), plain(self.positive)]

    @classmethod
    def from_json(cls, pair) -> LabelClasses | None:
        return cls(pair[0], pair[1]) if isinstance(pair, list) and len(pair) == 2 else None


def positive_text(meta: dict) -> str:
    """The positive value of a fitted state's label (meta["label_classes"]) as `positive` takes it; "" when
    unknown (the rule then decides)."""
    classes = LabelClasses.from_json(meta.get("label_classes"))
    return "" if classes is None or classes.positive is None else _text(classes.positive)


def _text(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _shown(counts: dict) -> str:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    listed = ", ".join(f"{plain(v)!r} ({n:,} rows)" for v, n in ranked[:10])
    return listed + (f" and {len(ranked) - 10} more" if len(ranked) > 10 else "")


def choose_classes(counts: dict, missing: int, column: str, positive: str = "", *, field: str = "label",
                   port: str = "table") -> LabelClasses:
    """The classes from the label's value counts (value -> rows, nulls left out) and its missing count."""
    if missing:
        raise OperatorError(f"label column {column!r} has {missing:,} missing values; drop or fill those rows "
                            "first (clean_missing)", field=field, column=column, port=port)
    if len(counts) > 2:
        raise OperatorError(f"label column {column!r} must hold two values; it holds {len(counts):,}: "
                            f"{_shown(counts)}", field=field, column=column, port=port)
    values = list(counts)
    if positive:
        found = [v for v in values if _text(v) == positive] or \
                [v for v in values if _text(v).lower() == positive.lower()]
        if not found:
            raise OperatorError(f"positive {positive!r} is not a value of label column {column!r}; its values are "
                                f"{_shown(counts) or 'none'}", field="positive", column=column, port=port)
        chosen = found[0]
    else:
        chosen = next((v for word in _POSITIVE_WORDS for v in values if _text(v).lower() == word), None)
        if chosen is None and len(values) == 2:
            fewest = min(counts.values())
            chosen = max((v for v in values if counts[v] == fewest), key=_text)
    others = [v for v in values if v is not chosen and not (chosen is not None and _text(v) == _text(chosen))]
    return LabelClasses(others[0] if others else None, chosen)


def encode_label(table, column: str, positive: str = "", *, field: str = "label",
                 port: str = "table") -> tuple[np.ndarray, LabelClasses]:
    """The label as 0/1 (int8: 1 for the positive class) and its classes."""
    from .tables import require_columns

    require_columns(table, [column], field=field, port=port)
    values = table[column]
    missing = int(values.isna().sum())
    counts = {} if missing else {k: int(n) for k, n in values.value_counts(dropna=True, sort=False).items()}
    classes = choose_classes(counts, missing, column, positive, field=field, port=port)
    if classes.positive is None:
        return np.zeros(len(values), dtype=np.int8), classes
    return (values.to_numpy() == classes.positive).astype(np.int8), classes

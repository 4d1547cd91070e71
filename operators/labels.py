"""Binary labels as they come: any two values (0/1, true/false, yes/no, "churned"/"stayed", 1/2, ">50K"/"<=50K")
and which of them is the positive class.

The rule, shown in the forms (`positive`'s description) and in the evaluation report:
  1. `positive` names the positive value (its text; exact, else ignoring case);
  2. otherwise the value 1 (a number, or the text "1"), else true (a boolean, or the text "true" in any case),
     else "yes" (any case);
  3. otherwise the minority class (fewer rows); on a tie, the value whose text sorts last.
A label with missing values or with more than two values is an error naming the column, the count and the values.

Engines compute the value counts (pandas value_counts, a Spark groupBy); the rule runs once, here, on them.

Predictions speak the label's own values too: `predicted_values` turns a model's 0/1 decisions into them (the
predict operator on both engines and a published bundle call it), and `given_class` reads a label a user hands
back (deployment feedback) in those values or as 0/1."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .contract import OperatorError

POSITIVE_RULE = ("the positive label value; empty: 1, else true, else yes, else the minority class "
                 "(fewer rows)")
_POSITIVE_WORDS = ("1", "true", "yes")
# predict, publish_model and publish_if_better's `threshold`: which of the label's values a probability becomes
THRESHOLD_HINT = ("Probability at or above which a row gets the positive class (the label value feature_extraction's "
                  "`positive` names; empty: 1, else true, else yes, else the minority class), below it the other "
                  "value")


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
    return "" if classes is None or classes.positive is None else text_of(classes.positive)


def known_classes(classes) -> LabelClasses | None:
    """Both of the label's values (a LabelClasses or [negative, positive] as a feature state or a bundle keeps
    them), or None when either is unknown (no label, or training rows of one class only)."""
    if not isinstance(classes, LabelClasses):
        classes = LabelClasses.from_json(classes)
    if classes is None or classes.negative is None or classes.positive is None:
        return None
    return LabelClasses(plain(classes.negative), plain(classes.positive))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_zero_one(classes: LabelClasses | None) -> bool:
    """Unknown classes, or the integers 0 (negative) and 1 (positive): predictions stay 0/1 as they were."""
    return classes is None or (_is_int(classes.negative) and _is_int(classes.positive)
                               and (classes.negative, classes.positive) == (0, 1))


def values_dtype(classes, zero_one=np.int64) -> np.dtype:
    """The numpy dtype that holds the label's values: `zero_one` for 0/1 (or unknown) labels, int64 for other
    integers, bool, float64 for other numbers, else object (text)."""
    classes = known_classes(classes)
    if is_zero_one(classes):
        return np.dtype(zero_one)
    pair = (classes.negative, classes.positive)
    if all(isinstance(v, bool) for v in pair):
        return np.dtype(np.bool_)
    if all(_is_int(v) for v in pair):
        return np.dtype(np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair):
        return np.dtype(np.float64)
    return np.dtype(object)


def predicted_values(positive: np.ndarray, classes, *, zero_one=np.int64) -> np.ndarray:
    """The one rule for predicted labels: the model's decisions (true / 1: the positive class) as the label's own
    values ("yes" / "no", True / False, 2 / 1) from its classes; 0/1 labels and unknown classes stay 0/1, as
    `zero_one`."""
    positive = np.asarray(positive).astype(np.bool_, copy=False)
    classes = known_classes(classes)
    dtype = values_dtype(classes, zero_one)
    if is_zero_one(classes):
        return positive.astype(dtype)
    out = np.full(len(positive), classes.negative, dtype=dtype)
    out[positive] = classes.positive
    return out


def given_class(value, classes, *, text: bool = False) -> int | None:
    """A label handed back by a user as 0/1 (1: the positive class), or None when it is neither one of the label's
    own values nor 0 / 1. The label's values come first (so a label of 1 / 2 reads 1 as the value 1), compared as
    they are (JSON) or, with `text` (a CSV cell), as their text; text labels also ignoring case."""
    classes = known_classes(classes)
    if not is_zero_one(classes):
        pair = (classes.negative, classes.positive)
        if text:
            found = [i for i, v in enumerate(pair) if text_of(v) == value] or \
                    [i for i, v in enumerate(pair) if text_of(v).lower() == value.lower()]
        else:
            found = [i for i, v in enumerate(pair) if _same(v, value)] or \
                    [i for i, v in enumerate(pair) if isinstance(v, str) and isinstance(value, str)
                     and v.lower() == value.lower()]
        if found:
            return found[0]
    if text:
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if number in (0.0, 1.0) else None
    return int(value) if not isinstance(value, str) and value in (0, 1) else None


def _same(a, b) -> bool:
    """Equal values of one kind: text, booleans, or numbers (true is not 1 here, nor "1")."""
    kinds = [str if isinstance(v, str) else bool if isinstance(v, bool) else
             float if isinstance(v, (int, float)) else None for v in (a, b)]
    return kinds[0] is not None and kinds[0] is kinds[1] and a == b


def text_of(value) -> str:
    """A label value as text: true / false for booleans, whole floats without ".0" (what `positive` matches)."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _shown(counts: dict) -> str:
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    listed = ", ".join(f"{plain(v)!r} ({n:,} rows)" for v, n in ranked[:10])
    return listed + (f" and {len(ranked) - 10} more" if len(ranked) > 10 else "")


def _two_classes_hint(counts: dict, column: str) -> str:
    """What to do with a label of more than two values: the models here are binary classifiers, so make it two."""
    numbers = sorted(float(v) for v in counts if isinstance(v, (int, float, np.number)) and not isinstance(v, bool))
    if len(numbers) == len(counts) and len(numbers) > 10:
        cut = numbers[len(numbers) // 2]
        return (f"It looks like a number to predict (regression), which the models here do not do: they are binary "
                f"classifiers. Make two classes first with derive_column, e.g. "
                f"if({column} > {plain(cut):g}, \"high\", \"low\"), and use that column as the label")
    top = plain(max(counts, key=lambda v: counts[v]))
    return (f"The models here are binary classifiers; a multi-class label is not supported. Make two classes first "
            f"with a recode_values node on {column!r} (e.g. mapping {top!r} to 'yes', others to the value 'no') and "
            f"use that column as the label")


def choose_classes(counts: dict, missing: int, column: str, positive: str = "", *, field: str = "label",
                   port: str = "table") -> LabelClasses:
    """The classes from the label's value counts (value -> rows, nulls left out) and its missing count."""
    # More than two values first: cleaning a regression target's missing values only led to this error next.
    if len(counts) > 2:
        raise OperatorError(f"label column {column!r} must hold two values; it holds {len(counts):,}: "
                            f"{_shown(counts)}. {_two_classes_hint(counts, column)}",
                            field=field, column=column, port=port)
    if missing:
        raise OperatorError(f"label column {column!r} has {missing:,} missing values; drop or fill those rows "
                            "first (clean_missing)", field=field, column=column, port=port)
    values = list(counts)
    if positive:
        found = [v for v in values if text_of(v) == positive] or \
                [v for v in values if text_of(v).lower() == positive.lower()]
        if not found:
            raise OperatorError(f"positive {positive!r} is not a value of label column {column!r}; its values are "
                                f"{_shown(counts) or 'none'}", field="positive", column=column, port=port)
        chosen = found[0]
    else:
        chosen = next((v for word in _POSITIVE_WORDS for v in values if text_of(v).lower() == word), None)
        if chosen is None and len(values) == 2:
            fewest = min(counts.values())
            chosen = max((v for v in values if counts[v] == fewest), key=text_of)
    others = [v for v in values if v is not chosen and not (chosen is not None and text_of(v) == text_of(chosen))]
    return LabelClasses(others[0] if others else None, chosen)


def encode_label(table, column: str, positive: str = "", *, field: str = "label",
                 port: str = "table") -> tuple[np.ndarray, LabelClasses]:
    """The label as 0/1 (int8: 1 for the positive class) and its classes."""
    from .tables import require_columns

    require_columns(table, [column], field=field, port=port)
    values = table[column]
    missing = int(values.isna().sum())
    counts = {k: int(n) for k, n in values.value_counts(dropna=True, sort=False).items()}
    classes = choose_classes(counts, missing, column, positive, field=field, port=port)
    if classes.positive is None:
        return np.zeros(len(values), dtype=np.int8), classes
    return (values.to_numpy() == classes.positive).astype(np.int8), classes


def answered_classes(classes) -> LabelClasses:
    """The values a version answers with: its classes when both are known, else 0 / 1 with 1 positive. A bundle
    keeps its classes whenever the training rows held both (pipelines.bundle.label_classes, 0 / 1 too); one without
    them (published before classes were kept, or trained on rows of one class) answers 0 / 1 (predicted_values),
    and the feedback endpoint reads labels for its rows as 0 / 1 (given_class)."""
    return known_classes(classes) or LabelClasses(0, 1)


def flipped(own, target) -> bool:
    """True when a version's label values (`own`) are the deployment's (`target`) with the other one positive
    ("yes" / "no" against "no" / "yes", 0 / 1 with 0 positive against a version without classes, which answers
    0 / 1 with 1 positive: answered_classes): its 0 / 1 and its probabilities are then of the other class. Values of
    different pairs (0 / 1 against "no" / "yes") correspond by role (positive to positive), so are not flipped."""
    own, target = answered_classes(own), answered_classes(target)
    return same_values(own, target) and (_kind(own.positive), text_of(own.positive)) != \
        (_kind(target.positive), text_of(target.positive))


def same_values(own, target) -> bool:
    """True when two versions' label values are the same two values, whichever each calls positive; a version
    without classes answers 0 / 1 (answered_classes)."""
    keyed = [{(_kind(v), text_of(v)) for v in (c.negative, c.positive)} for c in map(answered_classes, (own, target))]
    return keyed[0] == keyed[1]


def _kind(value) -> str:
    return "text" if isinstance(value, str) else "bool" if isinstance(value, (bool, np.bool_)) else "number"


def answered_positive(values, classes) -> np.ndarray:
    """Which served labels (as a version answered them and the log kept them, perhaps read back as text when the
    log's files disagree on the type) are that version's positive class: its positive value, or 1 / true for a
    version answering 0 / 1. Compared by text, over the few distinct values rather than every row."""
    import pandas as pd

    known = known_classes(classes)
    positive = {"1", "true"} if is_zero_one(known) else {text_of(known.positive)}
    series = pd.Series(np.asarray(values, dtype=object))
    found = {v: v is not None and v == v and text_of(v) in positive for v in pd.unique(series)}
    return series.map(found).to_numpy(dtype=bool)

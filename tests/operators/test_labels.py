"""The label rule (issue 14 item 2): two values of any type, `positive` chosen by the documented rule or by hand;
missing labels and a third value are clear errors naming the column, the count and the values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError
from operators.labels import LabelClasses, encode_label


def encode(values, positive=""):
    y, classes = encode_label(pd.DataFrame({"y": values}), "y", positive)
    return y.tolist(), classes


@pytest.mark.parametrize("values, negative, positive", [
    (["yes", "no", "no", "no"], "no", "yes"),             # yes, though it is the minority here too
    (["No", "Yes", "Yes", "Yes"], "No", "Yes"),            # yes in any case, even as the majority
    ([True, False, False], False, True),
    (["false", "TRUE", "false"], "false", "TRUE"),
    ([1, 2, 2, 2], 2, 1),                                  # 1, though it is the minority
    ([2, 1, 1, 1], 2, 1),                                  # 1 as the majority too
    ([0.0, 1.0, 1.0], 0.0, 1.0),
    (["churned", "stayed", "stayed"], "stayed", "churned"),  # the minority
    ([">50K", "<=50K", "<=50K", ">50K", "<=50K"], "<=50K", ">50K"),
    (["b", "a", "a", "b"], "a", "b"),                      # a tie: the one that sorts last
    (["a", "ab", "ab", "a"], "a", "ab"),
])
def test_default_positive_rule(values, negative, positive):
    y, classes = encode(values)
    assert classes == LabelClasses(negative, positive)
    assert y == [int(v == positive) for v in values]


def test_positive_by_hand():
    y, classes = encode(["churned", "stayed", "stayed"], positive="stayed")
    assert classes == LabelClasses("churned", "stayed") and y == [0, 1, 1]
    assert encode([1, 2, 2], positive="2")[0] == [0, 1, 1]  # the value's text
    assert encode(["Yes", "No"], positive="no")[0] == [0, 1]  # case ignored when no exact match
    with pytest.raises(OperatorError) as error:
        encode(["a", "b"], positive="c")
    assert error.value.field == "positive" and "'a' (1 rows)" in str(error.value) and "'c'" in str(error.value)


def test_three_values_and_missing_labels_are_clear_errors():
    with pytest.raises(OperatorError) as error:
        encode(["low", "mid", "high", "mid", "mid", "high"])
    message = str(error.value)
    assert error.value.column == "y" and error.value.field == "label"
    assert "must hold two values; it holds 3: 'mid' (3 rows), 'high' (2 rows), 'low' (1 rows)" in message
    with pytest.raises(OperatorError) as error:
        encode(["yes", None, "no", np.nan])
    assert "label column 'y' has 2 missing values" in str(error.value)


def test_one_class_only_and_json_round_trip():
    y, classes = encode(["no", "no"])
    assert y == [0, 0] and classes == LabelClasses("no", None)
    assert encode(["yes"])[1] == LabelClasses(None, "yes")
    assert LabelClasses.from_json(LabelClasses(np.int64(2), np.int64(1)).to_json()) == LabelClasses(2, 1)
    assert type(LabelClasses(np.int64(2), 1).to_json()[0]) is int


def test_evaluate_takes_any_two_valued_label_and_says_which_is_positive(run):
    rng = np.random.default_rng(0)
    p = rng.random(500)
    truth = rng.random(500) < p
    numbers = pd.DataFrame({"label": truth.astype(int), "probability": p})
    words = numbers.assign(label=np.where(truth, "yes", "no"))
    by_numbers = run("evaluate_binary", {"table": numbers})
    by_words = run("evaluate_binary", {"table": words})
    assert by_words["metrics"]["auc"] == by_numbers["metrics"]["auc"]
    assert (by_words["metrics"]["positive_class"], by_words["metrics"]["negative_class"]) == ("yes", "no")
    assert "positive class: 'yes' (by the rule: 1, true, yes, else the minority class)" in by_words["report"].text
    flipped = run("evaluate_binary", {"table": words}, positive="no")
    assert flipped["metrics"]["auc"] == pytest.approx(1 - by_numbers["metrics"]["auc"])
    assert "positive class: 'no' (as asked)" in flipped["report"].text
    with pytest.raises(OperatorError) as error:
        run("evaluate_binary", {"table": words.assign(label=np.resize(["a", "b", "c"], 500))})
    assert error.value.column == "label" and "it holds 3" in str(error.value)


@pytest.mark.parametrize("classes, expected, dtype", [
    (None, [1, 0, 1], np.int8),                  # no label known: 0/1 as before
    (["no", None], [1, 0, 1], np.int8),          # one class only: 0/1
    ([0, 1], [1, 0, 1], np.int8),                # 0/1 labels unchanged
    (["no", "yes"], ["yes", "no", "yes"], object),
    ([False, True], [True, False, True], np.bool_),
    ([2, 1], [1, 2, 1], np.int64),
    ([1, 0], [0, 1, 0], np.int64),               # positive chosen as 0: the value 0 where the model says positive
    ([0.0, 1.0], [1.0, 0.0, 1.0], np.float64),
])
def test_predicted_values_speak_the_labels_values(classes, expected, dtype):
    from operators.labels import predicted_values

    out = predicted_values(np.array([True, False, True]), classes, zero_one=np.int8)
    assert out.dtype == dtype and out.tolist() == expected
    assert predicted_values(np.array([1, 0, 1], dtype=np.int64), LabelClasses.from_json(classes)).tolist() == expected


@pytest.mark.parametrize("value, classes, text, expected", [
    ("yes", ["no", "yes"], False, 1), ("no", ["no", "yes"], False, 0), ("Yes", ["no", "yes"], False, 1),
    (1, ["no", "yes"], False, 1), (0, ["no", "yes"], False, 0),
    ("maybe", ["no", "yes"], False, None), ("1", ["no", "yes"], False, None), (2, ["no", "yes"], False, None),
    (1, [1, 2], False, 0), (2, [1, 2], False, 1), (0, [1, 2], False, 0),  # the label's own values come first
    (1.0, [1, 2], False, 0), (True, [1, 2], False, 1),                     # true is not the value 1, but is 0/1's 1
    (True, [False, True], False, 1), (1, [False, True], False, 1), ("true", [False, True], False, None),
    (1, None, False, 1), ("yes", None, False, None), (1, [0, 1], False, 1), ("1", [0, 1], False, None),
    ("yes", ["no", "yes"], True, 1), ("YES", ["no", "yes"], True, 1), ("1", ["no", "yes"], True, 1),
    ("1.0", [0, 1], True, 1), ("0", None, True, 0), ("2", [1, 2], True, 1), ("true", [False, True], True, 1),
    ("maybe", ["no", "yes"], True, None), ("2", None, True, None), ("", ["no", "yes"], True, None),
])
def test_a_label_handed_back_reads_the_labels_values_or_0_1(value, classes, text, expected):
    from operators.labels import given_class

    assert given_class(value, classes, text=text) == expected


def test_flipped_is_the_same_two_values_with_the_other_positive():
    from operators.labels import answered_positive, flipped

    assert flipped(["yes", "no"], ["no", "yes"]) and flipped([1, 0], [0, 1]) and flipped([True, False], [False, True])
    assert not flipped(["no", "yes"], ["no", "yes"]) and not flipped(None, ["no", "yes"])
    assert not flipped([0, 1], ["no", "yes"])  # another pair: read by role, positive to positive
    assert not flipped([False, True], [0, 1])  # true / false are not the numbers 0 / 1
    # served labels as the log keeps them (read back as text when the files disagree on the type)
    assert answered_positive(np.array([1, 0, 1]), None).tolist() == [True, False, True]
    assert answered_positive(np.array(["1", "0", None], dtype=object), [0, 1]).tolist() == [True, False, False]
    assert answered_positive(np.array(["yes", "no", "yes"], dtype=object), ["yes", "no"]).tolist() == \
        [False, True, False]
    assert answered_positive(np.array([True, False]), [False, True]).tolist() == [True, False]


def test_a_version_without_classes_answers_0_1_so_a_live_0_1_with_0_positive_is_flipped_against_it():
    """A bundle keeps its classes whenever both were known at publish (0 / 1 too, pipelines.bundle.label_classes);
    one without them answers 0 / 1 with 1 positive, so it is the same two values as 0 / 1 with 0 positive, the
    other one positive; it is not flipped against 0 / 1, words, or true / false."""
    from operators.labels import flipped, same_values

    assert flipped(None, [1, 0]) and flipped([1, 0], None) and same_values(None, [0, 1])
    assert not flipped(None, None) and not flipped(None, [0, 1]) and not flipped([0, 1], None)
    assert not flipped(None, ["no", "yes"]) and not flipped(None, [False, True]) and not same_values(None, [1, 2])


def test_a_multi_class_label_says_the_models_are_binary_and_how_to_make_two_classes():
    """A returning analyst picks 'plan' (three values) as the label: the error says the studio trains two-class
    models and names the way to two classes (recode_values), not just 'must hold two values'."""
    with pytest.raises(OperatorError) as error:
        encode(["basic", "premium", "family", "premium"])
    message = str(error.value)
    assert "must hold two values; it holds 3: 'premium' (2 rows)" in message
    assert "models here are binary classifiers" in message and "multi-class" in message
    assert "recode_values node on 'y' (e.g. mapping 'premium' to 'yes', others to the value 'no')" in message
    assert error.value.column == "y" and error.value.field == "label"


def test_a_number_to_predict_is_named_a_regression_target_before_its_missing_values():
    """'spend' (a number, many values, some blank): the first error said to clean the missing values, after which the
    next run said the column must hold two values; one error now says what the column is and the way out."""
    spend = [12.5, 40.0, None, 99.9, 7.25, 63.0, 18.0, 150.0, 33.3, 71.0, 5.0, 120.0]
    with pytest.raises(OperatorError) as error:
        encode(spend)
    message = str(error.value)
    assert "must hold two values; it holds 11" in message
    assert "a number to predict (regression)" in message
    assert "derive_column" in message and "if(y > " in message
    assert "missing" not in message

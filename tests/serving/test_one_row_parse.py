"""A one-row JSON request is read straight from its parsed values (protocol._one_row_columns); the columns are
those the general reading gives, and whatever the short reading does not take goes to the general one, whose
error message the client gets unchanged."""
from __future__ import annotations

import itertools

import numpy as np
import orjson
import pytest

from studio.serving.protocol import RequestError, _columns_of, _one_row_columns, parse_infer

SPEC = [{"name": "x", "datatype": "FP64", "nullable": True}, {"name": "y", "datatype": "FP64", "nullable": False},
        {"name": "c", "datatype": "BYTES", "nullable": True}, {"name": "d", "datatype": "BYTES", "nullable": False}]


def body(values: dict, **tensor) -> list[dict]:
    return [{"name": s["name"], "datatype": s["datatype"], "shape": [1], "data": [values[s["name"]]], **tensor}
            for s in SPEC if s["name"] in values]


def general(inputs: list[dict]):
    return _columns_of(inputs, memoryview(b""), False, SPEC)


def same_columns(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k].dtype == b[k].dtype and a[k].shape == b[k].shape
        and (a[k].tolist() == b[k].tolist() if a[k].dtype == object else np.array_equal(a[k], b[k], equal_nan=True))
        for k in a)


@pytest.mark.parametrize("x, y, c, d", list(itertools.product([1.5, None, 7, -0.0, 1e300], [2.0, 3],
                                                              ["a", "", None, "é"], ["b", "zz"])))
def test_one_row_columns_equal_the_general_reading(x, y, c, d):
    inputs = body({"x": x, "y": y, "c": c, "d": d})
    short = _one_row_columns(inputs, SPEC)
    assert short is not None  # the short reading took it
    assert same_columns(short, general(inputs)[0])


@pytest.mark.parametrize("values, tensor", [
    ({"x": 1.0, "y": None, "c": "a", "d": "b"}, {}),  # null in a column that may not be null
    ({"x": 1.0, "y": 2.0, "c": "a", "d": ""}, {}),  # "" is null: refused the same way
    ({"x": "1.0", "y": 2.0, "c": "a", "d": "b"}, {}),  # a string in FP64
    ({"x": "", "y": 2.0, "c": "a", "d": "b"}, {}),  # "" in FP64 is not a null: refused as a string
    ({"x": True, "y": 2.0, "c": "a", "d": "b"}, {}),  # a bool in FP64
    ({"x": 1.0, "y": 2.0, "c": 3, "d": "b"}, {}),  # a number in BYTES
    ({"x": 1.0, "y": 2.0, "c": "a"}, {}),  # a missing input
    ({"x": 1.0, "y": 2.0, "c": "a", "d": "b"}, {"shape": [2]}),  # shape and data disagree
])
def test_what_the_short_reading_does_not_take_gets_the_general_readings_error(values, tensor):
    inputs = body(values, **tensor)
    assert _one_row_columns(inputs, SPEC) is None
    with pytest.raises(RequestError) as general_error:
        general(inputs)
    with pytest.raises(RequestError) as answered:
        parse_infer(orjson.dumps({"inputs": inputs}), None, SPEC)
    assert answered.value.message == general_error.value.message


def test_an_input_given_twice_or_an_unknown_one_is_the_general_readings_error():
    inputs = body({"x": 1.0, "y": 2.0, "c": "a", "d": "b"})
    for bad in (inputs[:3] + [inputs[0]], inputs[:3] + [{**inputs[3], "name": "e"}]):
        assert _one_row_columns(bad, SPEC) is None
        with pytest.raises(RequestError, match="given twice|unknown input"):
            parse_infer(orjson.dumps({"inputs": bad}), None, SPEC)


def test_nested_rows_and_integer_wire_types_take_the_general_reading_with_the_same_columns():
    inputs = [{**t, "shape": [1, 1], "data": [t["data"]]} for t in body({"x": 1.0, "y": 2.0, "c": "a", "d": "b"})]
    assert _one_row_columns(inputs, SPEC) is None
    parsed = parse_infer(orjson.dumps({"inputs": inputs}), None, SPEC)
    assert parsed.n_rows == 1 and parsed.columns["x"].tolist() == [1.0] and parsed.columns["c"].tolist() == ["a"]
    ints = [{**t, "datatype": "INT32"} if t["name"] == "y" else t for t in body({"x": 1.0, "y": 2, "c": "a", "d": "b"})]
    assert _one_row_columns(ints, SPEC) is None
    assert parse_infer(orjson.dumps({"inputs": ints}), None, SPEC).columns["y"].dtype == np.float64

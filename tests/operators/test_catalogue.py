"""The catalogue is the operators' declarations as JSON, unchanged."""
from __future__ import annotations

import json

import pytest

import operators
from operators import Operator, Params, Port, PortType


def test_catalogue_is_json_with_ports_and_parameter_schemas():
    catalogue = operators.catalogue()
    json.dumps(catalogue)
    by_name = {entry["name"]: entry for entry in catalogue}
    for name in ("import_csv", "split_random", "train_lr", "predict", "evaluate_binary"):
        assert name in by_name
    split = by_name["split_random"]
    assert split["category"] and split["version"] == "1" and split["description"]
    assert split["inputs"] == [{"name": "table", "type": "table", "description": "Rows to split", "optional": False}]
    assert [p["name"] for p in split["outputs"]] == ["first", "second"]
    ratio = split["params_schema"]["properties"]["ratio"]
    assert ratio["default"] == 0.7 and ratio["description"]
    assert split["params_schema"]["additionalProperties"] is False


def test_every_port_type_is_known_and_every_param_documented():
    for cls in operators.all_operators():
        if cls.category == "Testing":
            continue
        for port in cls.inputs + cls.outputs:
            assert isinstance(port.type, PortType)
        schema = cls.Params.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{cls.name}.{name} has no description"


def test_a_second_operator_with_the_same_name_is_refused():
    class Imposter(Operator):
        name = "split_random"
        category = "Data preparation"
        description = "Not the real one."
        outputs = (Port("x", PortType.TABLE),)

    with pytest.raises(ValueError, match="declared twice"):
        operators.register(Imposter)


def test_params_reject_unknown_names():
    cls = operators.get("split_random")
    with pytest.raises(Exception, match="bogus"):
        cls.Params(bogus=1)
    assert isinstance(cls.Params(), Params)

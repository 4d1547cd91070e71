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


def _declared(module: str, spark: str | None):
    cls = type("Declared", (Operator,), {"__module__": module, "name": "declared_for_a_test", "spark": spark,
                                         "category": "Testing", "description": "A declaration under test.",
                                         "outputs": (Port("x", PortType.TABLE),)})
    return cls


def test_an_operator_of_the_library_without_a_spark_half_is_refused_at_registration():
    # discovery registers each class as it imports operators.library's modules: this is the check it runs
    with pytest.raises(TypeError, match="'declared_for_a_test' of the library has no Spark half"):
        operators.register(_declared("operators.library.new_module", None))
    assert operators.get("declared_for_a_test") is None


@pytest.mark.parametrize("spark", ["operators.spark.features:feature_extractoin",
                                   "operators.spark.feature:feature_extraction",
                                   "operators.spark.features", "features:feature_extraction"])
def test_a_misspelled_spark_half_is_an_error_not_a_fallback(spark):
    with pytest.raises(TypeError, match="names a Spark half .* that does not exist"):
        operators.register(_declared("operators.library.new_module", spark))
    assert operators.get("declared_for_a_test") is None


def test_every_library_operator_names_a_function_of_operators_spark_and_registration_loads_no_pyspark():
    import subprocess
    import sys

    code = ("import json, sys, operators; ops = operators.all_operators(); "
            "print(json.dumps([c.spark for c in ops if c.__module__.startswith('operators.library.')])); "
            "print(json.dumps(any(m == 'pyspark' or m.startswith('pyspark.') for m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    halves, pyspark_loaded = map(json.loads, out.splitlines())
    assert len(halves) >= 22 and all(half and half.startswith("operators.spark.") for half in halves)
    assert pyspark_loaded is False


def test_params_reject_unknown_names():
    cls = operators.get("split_random")
    with pytest.raises(Exception, match="bogus"):
        cls.Params(bogus=1)
    assert isinstance(cls.Params(), Params)


def test_an_operators_messages_are_declared_once_on_it_and_raise_with_their_fields():
    from operators import OperatorError
    from operators.library.models_gbdt import TrainGBDT

    train_lr = operators.get("train_lr")
    assert train_lr.Messages is TrainGBDT.Messages  # the two trainers say the same about their label
    err = train_lr.Messages.one_class(port="train", column="default")
    assert isinstance(err, OperatorError) and (err.port, err.column, err.field) == ("train", "default", None)
    assert err.message == "the label of the 'train' input holds one class only; a classifier needs both"

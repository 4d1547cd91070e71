"""An operator for the schedule tests: it returns the text it was given, so a run's metrics show the value a
{"$param": ...} resolved to (run_date, fire_time, ...)."""
from __future__ import annotations

import operators
from operators import Operator, Params, Port, PortType


class Echo(Operator):
    name = "test_echo"
    category = "Testing"
    description = "Outputs a metrics dict holding `text`."
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        text: str = ""

    def run(self, ctx, inputs, params):
        return {"out": {"text": params.text}}


operators.register(Echo)

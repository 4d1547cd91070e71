"""Built-in run parameters (run_date, fire_time, data_interval_start / _end): usable as {"$param": ...} without
being declared; a run that sets them gets its values, one that does not gets its start time's."""
from __future__ import annotations

from datetime import UTC, datetime

import pipelines
from pipelines.graph import BUILTIN_PARAMETERS, with_builtins

import tests.pipelines.testing_operators  # noqa: F401  (registers the test operators)
import tests.studio.schedules.operators  # noqa: F401  (test_echo)
from tests.pipelines.testing_operators import node

GRAPH = {"nodes": [node("date", "test_echo", text={"$param": "run_date"}),
                   node("end", "test_echo", text={"$param": "data_interval_end"})], "edges": []}


def test_builtins_are_valid_references_and_overrides():
    graph = pipelines.from_json(GRAPH)
    assert pipelines.validate(graph) == []
    assert pipelines.validate(graph, {"run_date": "2024-02-29"}) == []
    assert [e.code for e in pipelines.validate(graph, {"run_day": "x"})] == ["unknown_parameter"]
    assert set(with_builtins(None)) == set(BUILTIN_PARAMETERS)


def test_a_run_gets_the_values_it_sets_or_its_start_time(store):
    result = pipelines.run(GRAPH, store=store, params={"run_date": "2024-02-29"})
    assert result.metrics["date"] == {"text": "2024-02-29"}
    assert result.metrics["end"]["text"].endswith("Z")
    result = pipelines.run(GRAPH, store=store)
    assert result.metrics["date"] == {"text": datetime.now(UTC).date().isoformat()}
    assert with_builtins({}, datetime(2024, 3, 31, 1, 0, 5, 123, tzinfo=UTC))["fire_time"] == "2024-03-31T01:00:05Z"

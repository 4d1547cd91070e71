"""The inference server in process: the v2 infer and v1 predict endpoints share one scoring path, so a bug in
scoring, the prediction log and the metrics behave the same on both."""
from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from pipelines.bundle import load_bundle, read_registry, table_to_columns, write_registry
from studio.serving.app import create_app
from studio.serving.repository import Repository

from .conftest import registry_models, v2_json


class BrokenScoring:
    """A real bundle whose scoring raises, as a bug in a kernel would: not the client's fault."""

    def __init__(self, bundle):
        self._bundle = bundle
        self.input_spec, self.output_spec = bundle.input_spec, bundle.output_spec
        self.contribution_names = bundle.contribution_names

    def predict(self, columns, n_rows, *, explain=False):
        raise RuntimeError("the kernel tripped")


def _app(tmp_path, bundles, loader, **options):
    registry = tmp_path / "registry.json"
    write_registry(registry, registry_models(bundles, live="1"))
    repository = Repository(registry, loader=loader, read_registry=read_registry, poll_interval=60)
    return create_app(repository=repository, **{"require_keys": False, **options})


def _requests(bundles, scoring_table):
    """(v2 JSON request, v1 records request) for the same three rows."""
    spec = load_bundle(bundles["1"]).input_spec
    rows = scoring_table.head(3)
    names = [s["name"] for s in spec]
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if k in names}
               for r in rows.to_dict("records")]
    return v2_json(table_to_columns(rows, spec), spec), {"instances": records}


def _sample(app, name: str, **labels) -> float:
    return app.state.metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_scoring_bug_is_a_500_in_the_protocols_shape_on_both_endpoints(tmp_path, bundles, scoring_table):
    app = _app(tmp_path, bundles, lambda path: BrokenScoring(load_bundle(path)))
    v2, v1 = _requests(bundles, scoring_table)
    with TestClient(app) as client:
        for path, body, protocol in (("/v2/models/credit/infer", v2, "v2"),
                                     ("/v1/models/credit:predict", v1, "v1")):
            answer = client.post(path, content=json.dumps(body))
            assert answer.status_code == 500
            assert answer.json() == {"error": "internal error: RuntimeError: the kernel tripped"}
            assert _sample(app, "serving_request_errors_total", model="credit", version="1", protocol=protocol,
                           code="500") == 1
            assert _sample(app, "serving_rows_total", model="credit", version="1") == 0


@pytest.mark.parametrize("path,protocol", [("/v2/models/credit/infer", "v2"), ("/v1/models/credit:predict", "v1")])
def test_both_endpoints_log_their_rows_and_count_them(tmp_path, bundles, scoring_table, path, protocol):
    import pyarrow.parquet as pq

    log_dir = tmp_path / "prediction_log"
    app = _app(tmp_path, bundles, load_bundle, prediction_log_dir=log_dir, log_flush_interval=0.05)
    v2, v1 = _requests(bundles, scoring_table)
    with TestClient(app) as client:
        answer = client.post(path, content=json.dumps(v2 if protocol == "v2" else v1))
        assert answer.status_code == 200, answer.text
        assert _sample(app, "serving_requests_total", model="credit", version="1", protocol=protocol,
                       code="200") == 1
        assert _sample(app, "serving_rows_total", model="credit", version="1") == 3
    # leaving the client closes the log, which writes what it holds
    rows = [r for f in sorted(log_dir.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert [r["row"] for r in rows] == [0, 1, 2]
    assert {r["version"] for r in rows} == {"1"} and len({r["request_id"] for r in rows}) == 1
    if protocol == "v1":  # the v1 answer names the id its rows were logged under
        assert rows[0]["request_id"] == answer.json()["id"]
    assert rows[1]["in_age"] == scoring_table["age"].iloc[1]


def test_a_request_id_in_the_body_is_bounded_as_the_header_is(tmp_path, bundles, scoring_table):
    """A v2 request's own "id" is echoed and written to the prediction log with every row: one of a megabyte was
    kept whole (found by a probe with a deployment's key). Now at most MAX_REQUEST_ID characters, as the
    X-Request-Id header, or a 400 naming it; nothing of the refused request is logged."""
    import pyarrow.parquet as pq

    from studio.serving.traffic import MAX_REQUEST_ID

    log_dir = tmp_path / "prediction_log"
    app = _app(tmp_path, bundles, load_bundle, prediction_log_dir=log_dir, log_flush_interval=0.05)
    v2, _ = _requests(bundles, scoring_table)
    with TestClient(app) as client:
        refused = client.post("/v2/models/credit/infer", content=json.dumps({**v2, "id": "x" * 1_000_000}))
        assert refused.status_code == 400 and refused.json() == {
            "error": f"\"id\" must be at most {MAX_REQUEST_ID} characters; it has 1000000"}
        kept = client.post("/v2/models/credit/infer", content=json.dumps({**v2, "id": "y" * MAX_REQUEST_ID}))
        assert kept.status_code == 200 and kept.json()["id"] == "y" * MAX_REQUEST_ID
    rows = [r for f in sorted(log_dir.rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {r["request_id"] for r in rows} == {"y" * MAX_REQUEST_ID}

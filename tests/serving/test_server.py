"""The serving process over real HTTP: parity with batch scoring, a real Triton client, metadata, errors,
explanations, metrics and the prediction log."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.bundle import load_bundle, table_to_columns, write_registry

from .conftest import decode_v2, http, registry_models, serving_process, v2_binary, v2_json
from datetime import UTC


@pytest.fixture(scope="module")
def server(tmp_path_factory, bundles):
    tmp = tmp_path_factory.mktemp("serving")
    write_registry(tmp / "var" / "serving" / "registry.json", registry_models(bundles, live="1"))
    with serving_process(tmp, {"SERVING_MAX_BODY_BYTES": str(8 * 1024 * 1024)}) as server:
        server.wait_for(lambda: server.get("/v2/models/credit/ready")[0] == 200, what="model credit ready")
        yield server


@pytest.fixture(scope="module")
def batch(bundles, scoring_table):
    """Batch scores of the 10,000 rows: the bundle's batch-scoring path over a pandas table."""
    bundle = load_bundle(bundles["1"])
    return bundle, bundle.score_table(scoring_table)


def test_parity_json_10000_rows(server, batch, scoring_table):
    bundle, expected = batch
    columns = table_to_columns(scoring_table, bundle.input_spec)
    status, headers, body = http("POST", server.url + "/v2/models/credit/infer",
                                 json.dumps(v2_json(columns, bundle.input_spec)).encode())
    assert status == 200, body[:500]
    response, outputs = decode_v2(headers, body)
    assert response["model_name"] == "credit" and response["model_version"] == "1"
    assert outputs["probability"].shape == (10_000,)
    assert np.max(np.abs(outputs["probability"] - expected["probability"])) <= 1e-9
    assert np.array_equal(outputs["label"], expected["label"])


def test_parity_binary_10000_rows(server, batch, scoring_table):
    bundle, expected = batch
    columns = table_to_columns(scoring_table, bundle.input_spec)
    body, headers = v2_binary(columns, bundle.input_spec)
    status, response_headers, answer = http("POST", server.url + "/v2/models/credit/infer", body, headers)
    assert status == 200, answer[:500]
    assert "inference-header-content-length" in {k.lower() for k in response_headers}
    response, outputs = decode_v2(response_headers, answer)
    assert response["outputs"][0]["parameters"]["binary_data_size"] == 8 * 10_000
    assert np.max(np.abs(outputs["probability"] - expected["probability"])) <= 1e-9
    assert np.array_equal(outputs["label"], expected["label"])


def test_tritonclient_reads_metadata_and_infers(server, batch, scoring_table):
    import tritonclient.http as triton

    bundle, expected = batch
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    assert client.is_server_live() and client.is_server_ready()
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert client.is_model_ready("credit")
    metadata = client.get_model_metadata("credit")
    assert [i["name"] for i in metadata["inputs"]] == [s["name"] for s in bundle.input_spec]
    assert {o["name"] for o in metadata["outputs"]} == {"probability", "label", "contributions"}

    rows = scoring_table.head(300)
    columns = table_to_columns(rows, bundle.input_spec)
    inputs = []
    for meta in metadata["inputs"]:
        tensor = triton.InferInput(meta["name"], [len(rows)], meta["datatype"])
        values = columns[meta["name"]]
        if meta["datatype"] == "BYTES":
            values = np.array([(v or "").encode() for v in values], dtype=np.object_)
        tensor.set_data_from_numpy(values, binary_data=True)
        inputs.append(tensor)
    result = client.infer("credit", inputs, outputs=[triton.InferRequestedOutput("probability", binary_data=True)])
    assert result.get_response()["model_version"] == "1"
    assert np.max(np.abs(result.as_numpy("probability") - expected["probability"][:300])) <= 1e-9
    # JSON outputs through the client as well, addressed by version
    result = client.infer("credit", inputs, model_version="1",
                          outputs=[triton.InferRequestedOutput("label", binary_data=False)])
    assert np.array_equal(result.as_numpy("label"), expected["label"][:300])


def test_explanations_are_contributions_that_sum_to_the_margin(server, batch, scoring_table):
    bundle, expected = batch
    rows = scoring_table.head(20)
    columns = table_to_columns(rows, bundle.input_spec)
    status, headers, body = http("POST", server.url + "/v2/models/credit/infer",
                                 json.dumps(v2_json(columns, bundle.input_spec, parameters={"explain": True})).encode())
    assert status == 200
    _, outputs = decode_v2(headers, body)
    contributions = outputs["contributions"]
    assert contributions.shape == (20, len(bundle.contribution_names))
    margin = contributions.sum(axis=1)
    assert np.allclose(1 / (1 + np.exp(-margin)), expected["probability"][:20], atol=1e-9)

    record = {k: (None if isinstance(v, float) and v != v else v) for k, v in rows.iloc[0].to_dict().items()
              if k in columns}
    status, answer = server.post_json("/v1/models/credit:predict?explain=true", {"instances": [record]})
    assert status == 200, answer
    prediction = answer["predictions"][0]
    assert abs(prediction["probability"] - expected["probability"][0]) <= 1e-9
    assert set(prediction["contributions"]) == set(bundle.contribution_names)


def test_v1_records(server, batch, scoring_table):
    bundle, expected = batch
    rows = scoring_table.head(50)
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()
                if k in {s["name"] for s in bundle.input_spec}} for r in rows.to_dict("records")]
    status, answer = server.post_json("/v1/models/credit:predict", {"instances": records})
    assert status == 200, answer
    assert answer["model_version"] == "1"
    got = np.array([p["probability"] for p in answer["predictions"]])
    assert np.max(np.abs(got - expected["probability"][:50])) <= 1e-9


def test_health_and_metadata(server):
    assert server.get("/v2/health/live") == (200, {"live": True})
    assert server.get("/v2/health/ready")[0] == 200
    status, meta = server.get("/v2/models/credit")
    assert status == 200 and meta["versions"] == ["1", "2"] and meta["parameters"]["live_version"] == "1"
    status, meta = server.get("/v2/models/credit/versions/2")
    assert status == 200 and meta["parameters"]["version"] == "2"
    assert server.get("/v2/models/credit/versions/2/ready")[0] == 200
    inputs = {i["name"]: i for i in meta["parameters"]["input_spec"]}
    assert inputs["region"]["datatype"] == "BYTES" and "south" in inputs["region"]["categories"]


def _one_row(bundle, scoring_table):
    return table_to_columns(scoring_table.head(3), bundle.input_spec)


def assert_error(status: int, answer, expected_status: int, *fragments: str) -> str:
    """A bad request's answer: `expected_status` and exactly the protocol's {"error": "..."}, whose message
    holds every fragment."""
    error = json.loads(answer) if isinstance(answer, (bytes, str)) else answer
    assert status == expected_status, (status, error)
    assert isinstance(error, dict) and set(error) == {"error"} and isinstance(error["error"], str), error
    for fragment in fragments:
        assert fragment in error["error"], (fragment, error)
    return error["error"]


def _infer(server, request, path: str = "/v2/models/credit/infer", headers: dict | None = None):
    body = request if isinstance(request, bytes) else json.dumps(request).encode()
    status, _, answer = http("POST", server.url + path, body, headers or {"Content-Type": "application/json"})
    return status, answer



def _binary_with(bundle, scoring_table, column: str, value: float):
    """Three rows in the binary extension, row 1 of `column` set to `value`: (body, headers)."""
    columns = _one_row(bundle, scoring_table)
    columns[column] = columns[column].astype(np.float64)
    columns[column][1] = value
    return v2_binary(columns, bundle.input_spec, binary_output=False)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_binary_nan_or_infinity_in_a_column_that_may_not_be_null_is_400(server, batch, scoring_table, value):
    """The binary extension has no null: a NaN (or an infinity) in an FP64 tensor is refused where JSON's null
    is, for an input that may not be null, naming the input and the row."""
    bundle, _ = batch
    assert next(s for s in bundle.input_spec if s["name"] == "debt_ratio")["nullable"] is False
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    next(t for t in request["inputs"] if t["name"] == "debt_ratio")["data"][1] = None
    assert_error(*_infer(server, request), 400, "input 'debt_ratio' may not be null")
    body, headers = _binary_with(bundle, scoring_table, "debt_ratio", value)
    assert_error(*_infer(server, body, headers=headers), 400, "input 'debt_ratio' may not be null",
                 f"row 1 is {value}")


def test_binary_nan_in_a_nullable_column_scores_as_json_null(server, batch, scoring_table):
    bundle, _ = batch
    assert next(s for s in bundle.input_spec if s["name"] == "income")["nullable"] is True
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    next(t for t in request["inputs"] if t["name"] == "income")["data"][1] = None
    status, headers, answer = http("POST", server.url + "/v2/models/credit/infer", json.dumps(request).encode())
    assert status == 200, answer
    _, from_json = decode_v2(headers, answer)
    status, headers, answer = http("POST", server.url + "/v2/models/credit/infer",
                                   *_binary_with(bundle, scoring_table, "income", float("nan")))
    assert status == 200, answer
    _, from_binary = decode_v2(headers, answer)
    assert np.array_equal(from_binary["probability"], from_json["probability"])

# Only the datatype is wrong: the values themselves would parse as the column's type, so nothing but the
# datatype check can refuse these requests.
@pytest.mark.parametrize("column,declared,expected", [
    ("age", "BYTES", "FP64"),  # a numeric column's numbers declared as strings
    ("age", "FP32", "FP64"),  # FP32 would not give the batch scores
    ("region", "INT64", "BYTES"),  # a string column's strings declared as integers
])
def test_wrong_datatype_is_400_naming_declared_and_expected(server, batch, scoring_table, column, declared,
                                                            expected):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    next(t for t in request["inputs"] if t["name"] == column)["datatype"] = declared
    assert_error(*_infer(server, request), 400, f"input {column!r} has datatype {declared!r}; expected {expected}")


def test_wrong_datatype_in_binary_is_400(server, batch, scoring_table):
    """FP32 binary data for an FP64 column: 4 bytes a row, which would decode cleanly as FP32."""
    bundle, _ = batch
    columns = _one_row(bundle, scoring_table)
    inputs, blobs = [], []
    for s in bundle.input_spec:
        if s["name"] == "age":
            blob = columns["age"].astype("<f4").tobytes()
            inputs.append({"name": "age", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 12}})
            blobs.append(blob)
        else:
            inputs.append(v2_json({s["name"]: columns[s["name"]]}, [s])["inputs"][0])  # the rest as JSON
    header = json.dumps({"inputs": inputs}).encode()
    status, answer = _infer(server, header + b"".join(blobs), headers={
        "Inference-Header-Content-Length": str(len(header)), "Content-Type": "application/octet-stream"})
    assert_error(status, answer, 400, "input 'age' has datatype 'FP32'; expected FP64")


@pytest.mark.parametrize("shape,data_rows,expect", [
    ([3, 2], 3, "input 'income' has shape [3, 2]; a column must have shape [n] or [n, 1]"),
    ([3, 1, 1], 3, "input 'income' has shape [3, 1, 1]"),
    ([-1], 3, "input 'income' has shape [-1]"),
    ([4], 3, "input 'income' has 3 values but its shape says 4"),
])
def test_wrong_shape_is_400_naming_the_shape(server, batch, scoring_table, shape, data_rows, expect):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    tensor = next(t for t in request["inputs"] if t["name"] == "income")
    tensor["shape"], tensor["data"] = shape, tensor["data"][:data_rows]
    assert_error(*_infer(server, request), 400, expect)


def test_missing_input_is_400_naming_it(server, batch, scoring_table):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    request["inputs"] = [t for t in request["inputs"] if t["name"] != "region"]
    assert_error(*_infer(server, request), 400, "missing input 'region'")
    request["inputs"] = [t for t in request["inputs"] if t["name"] not in ("purpose", "age")]
    assert_error(*_infer(server, request), 400, "missing input 'age' (and 2 more)")
    # the v1 records form: a key absent from a record is a null, refused for a column that may not be null
    status, answer = server.post_json("/v1/models/credit:predict", {"instances": [{"age": 40}]})
    assert_error(status, answer, 400, "instance 0 lacks column 'debt_ratio', which may not be null")


@pytest.mark.parametrize("case", ["string_in_number", "rows_disagree", "unknown_input", "not_json"])
def test_bad_requests_get_a_4xx_naming_the_input(server, batch, scoring_table, case):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    by_name = {t["name"]: t for t in request["inputs"]}
    if case == "string_in_number":
        by_name["debt_ratio"]["data"] = [0.1, "lots", 0.3]
        expect = "input 'debt_ratio' is FP64: its values must be numbers"
    elif case == "rows_disagree":
        by_name["purpose"]["shape"] = [2]
        by_name["purpose"]["data"] = by_name["purpose"]["data"][:2]
        expect = "input 'purpose' has 2 rows but the inputs before it have 3"
    elif case == "unknown_input":
        request["inputs"].append({"name": "shoe_size", "datatype": "FP64", "shape": [3], "data": [1, 2, 3]})
        expect = "unknown input 'shoe_size'; the model's inputs are: age, income"
    else:
        request = b"{not json"
        expect = "the request body is not valid JSON"
    assert_error(*_infer(server, request), 400, expect)


def test_unknown_model_is_404(server, batch, scoring_table):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    for path in ("/v2/models/nope/infer", "/v2/models/nope/versions/1/infer"):
        assert_error(*_infer(server, request, path), 404, "unknown model 'nope'; served models: credit")
    for path in ("/v2/models/nope", "/v2/models/nope/ready"):
        assert_error(*server.get(path), 404, "unknown model 'nope'")
    status, answer = server.post_json("/v1/models/nope:predict", {"instances": [{}]})
    assert_error(status, answer, 404, "unknown model 'nope'")


def test_unknown_version_is_404(server, batch, scoring_table):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    assert_error(*_infer(server, request, "/v2/models/credit/versions/7/infer"), 404,
                 "model 'credit' has no version '7'; versions: 1, 2")
    for path in ("/v2/models/credit/versions/7", "/v2/models/credit/versions/7/ready"):
        assert_error(*server.get(path), 404, "model 'credit' has no version '7'")


def _raw_post(server, headers: str, body: bytes) -> tuple[int, dict]:
    """Send a request by hand and read the answer: the server answers 413 before the whole body is sent."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(f"POST /v2/models/credit/infer HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, payload = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload)


def test_body_over_the_limit_is_413(server):
    limit = 8 * 1024 * 1024  # SERVING_MAX_BODY_BYTES of the module's server
    # declared too long: refused before reading it
    status, error = _raw_post(server, f"Content-Length: {9 * 1024 * 1024}\r\n", b'{"inputs": [')
    assert_error(status, error, 413, f"the request body of {9 * 1024 * 1024} bytes is over the limit of {limit} bytes")
    # chunked, no declared length: refused once the body read so far passes the limit
    chunk = b" " * (1024 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(9))
    status, error = _raw_post(server, "Transfer-Encoding: chunked\r\n", chunks)
    assert_error(status, error, 413, f"the request body is over the limit of {limit} bytes")


@pytest.mark.parametrize("case,expect", [
    ("not_an_integer", ["Inference-Header-Content-Length 'abc' is not an integer"]),
    ("past_the_body", ["Inference-Header-Content-Length 999999 is outside the body of"]),
    ("cuts_the_json", ["the inference header is not valid JSON"]),
    ("data_too_short", ["input 'purpose': binary_data_size", "runs past the end of the binary data"]),
    ("data_too_long", ["but the inputs' binary_data_size add up to"]),
    ("no_header", ["has binary_data_size but the request has no Inference-Header-Content-Length header"]),
])
def test_malformed_binary_header_is_400(server, batch, scoring_table, case, expect):
    bundle, _ = batch
    body, headers = v2_binary(_one_row(bundle, scoring_table), bundle.input_spec)
    if case == "not_an_integer":
        headers["Inference-Header-Content-Length"] = "abc"
    elif case == "past_the_body":
        headers["Inference-Header-Content-Length"] = "999999"
    elif case == "cuts_the_json":
        headers["Inference-Header-Content-Length"] = "12"
    elif case == "data_too_short":  # the last tensor (a BYTES column) lacks its last bytes
        body = body[:-4]
    elif case == "data_too_long":
        body += b"\0" * 8
    else:  # the JSON part alone, its tensors pointing at binary data, without the header that delimits it
        body = body[:int(headers.pop("Inference-Header-Content-Length"))]
    assert_error(*_infer(server, body, headers=headers), 400, *expect)


def test_metrics_count_requests_per_model_and_version(server, batch, scoring_table):
    bundle, _ = batch
    request = json.dumps(v2_json(_one_row(bundle, scoring_table), bundle.input_spec)).encode()
    for _ in range(3):
        assert http("POST", server.url + "/v2/models/credit/versions/2/infer", request)[0] == 200
    status, _, text = http("GET", server.url + "/metrics")
    text = text.decode()
    assert status == 200
    line = next(row for row in text.splitlines() if row.startswith("serving_requests_total{")
                and 'version="2"' in row and 'code="200"' in row)
    assert float(line.rsplit(" ", 1)[1]) >= 3
    assert 'serving_request_duration_seconds_bucket{le="0.005",model="credit",protocol="v2",version="2"}' in text
    assert "serving_request_errors_total{" in text


def _metric(server, name: str, **labels) -> float:
    """The value of one sample of the serving /metrics (0 when it has not been counted yet)."""
    from prometheus_client.parser import text_string_to_metric_families

    status, _, text = http("GET", server.url + "/metrics")
    assert status == 200
    return sum(sample.value for family in text_string_to_metric_families(text.decode()) for sample in family.samples
               if sample.name == name and sample.labels == labels)


def test_metrics_count_errors_per_model_and_version(server, batch, scoring_table):
    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
    request["inputs"] = request["inputs"][1:]  # missing input 'age'
    counted = [("1", "400"), ("2", "400"), ("", "404")]

    def errors():
        return {(v, code): (_metric(server, "serving_request_errors_total", model="credit", version=v, protocol="v2",
                                    code=code),
                            _metric(server, "serving_requests_total", model="credit", version=v, protocol="v2",
                                    code=code)) for v, code in counted}

    before = errors()
    for _ in range(2):
        assert _infer(server, request, "/v2/models/credit/versions/2/infer")[0] == 400
    assert _infer(server, request)[0] == 400  # the live version, 1
    assert _infer(server, request, "/v2/models/credit/versions/7/infer")[0] == 404  # the model's, no version
    after = errors()
    assert {k: (after[k][0] - before[k][0], after[k][1] - before[k][1]) for k in counted} == {
        ("1", "400"): (1, 1), ("2", "400"): (2, 2), ("", "404"): (1, 1)}


def test_prediction_log_holds_each_rows_request_version_and_inputs(server, batch, scoring_table):
    import pyarrow.parquet as pq

    bundle, _ = batch
    request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec, id="log-me-please")
    assert http("POST", server.url + "/v2/models/credit/infer", json.dumps(request).encode())[0] == 200
    folder = server.data_dir / "serving" / "prediction_log" / "credit"

    def logged():
        files = sorted(folder.rglob("*.parquet")) if folder.exists() else []
        rows = [r for f in files for r in pq.read_table(f).to_pylist()]
        return [r for r in rows if r["request_id"] == "log-me-please"]

    server.wait_for(lambda: len(logged()) == 3, timeout=10, what="prediction log rows")
    rows = logged()
    assert [r["row"] for r in rows] == [0, 1, 2] and rows[0]["version"] == "1"
    assert rows[0]["in_region"] == scoring_table["region"].iloc[0]
    assert rows[1]["in_age"] == scoring_table["age"].iloc[1]


def test_prediction_log_batches_many_requests_into_few_files(server, batch, scoring_table):
    """The writer flushes what accumulated once a second: a burst of requests lands in fewer files than
    requests, and one file holds the rows of several requests."""
    import pyarrow.parquet as pq

    bundle, _ = batch
    ids = [f"burst-{i}" for i in range(12)]
    for request_id in ids:
        request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec, id=request_id)
        assert _infer(server, request)[0] == 200
    folder = server.data_dir / "serving" / "prediction_log" / "credit"

    def files_with_ours():
        found = {}
        for path in folder.rglob("*.parquet"):
            mine = set(pq.read_table(path, columns=["request_id"]).column("request_id").to_pylist()) & set(ids)
            if mine:
                found[path] = mine
        return found

    server.wait_for(lambda: set().union(*files_with_ours().values()) == set(ids), timeout=10,
                    what="every request of the burst logged")
    files = files_with_ours()
    assert len(files) < len(ids) / 2, {p.name: sorted(m) for p, m in files.items()}
    assert max(len(m) for m in files.values()) > 1


def test_retention_setting_deletes_old_log_days_in_the_running_server(tmp_path, bundles, batch, scoring_table):
    """SERVING_LOG_RETENTION_DAYS=2: the serving process deletes the day folders older than 2 days (one of
    5 days ago, which the default of 30 days would keep) and keeps yesterday's and today's."""
    from datetime import datetime, timedelta

    bundle, _ = batch
    folder = tmp_path / "var" / "serving" / "prediction_log" / "credit"
    today = datetime.now(UTC)
    old, recent = [folder / (today - timedelta(days=d)).strftime("%Y-%m-%d") for d in (5, 1)]
    for day in (old, recent):
        day.mkdir(parents=True)
        (day / "part-1.parquet").write_bytes(b"PAR1")
    write_registry(tmp_path / "var" / "serving" / "registry.json", registry_models(bundles, live="1"))
    with serving_process(tmp_path, {"SERVING_LOG_RETENTION_DAYS": "2"}) as server:
        server.wait_for(lambda: server.get("/v2/models/credit/ready")[0] == 200, what="model credit ready")
        request = v2_json(_one_row(bundle, scoring_table), bundle.input_spec)
        assert _infer(server, request)[0] == 200
        server.wait_for(lambda: not old.exists(), timeout=10, what="the 5-day-old log folder deleted")
        server.wait_for(lambda: any((folder / today.strftime("%Y-%m-%d")).glob("*.parquet")), timeout=10,
                        what="today's log written")
        assert (recent / "part-1.parquet").exists()

"""The binary 1,000-row path's shortcuts (issue 19): infer requests answered ahead of Starlette's router, the
binary data copied to an aligned buffer when the header leaves it at an odd offset, a bundle's dense features in
column-major order. Each gives the same answers as the way it replaces, refuses what that refused, and reaches
no further (a key sees its own deployment only)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.testclient import TestClient

from operators.kernels import features as feature_kernel
from pipelines.bundle import load_bundle, read_registry, table_to_columns, write_registry
from studio.serving.app import create_app
from studio.serving.auth import hash_key, new_key
from studio.serving.protocol import RequestError, parse_infer
from studio.serving.repository import Repository

from .conftest import v2_binary

KEY_ALICE, KEY_BOB = new_key(), new_key()
SPEC = [{"name": "x", "datatype": "FP64", "nullable": False}, {"name": "y", "datatype": "FP64", "nullable": True}]


def make_app(tmp_path, bundles, require_keys: bool):
    path = tmp_path / "registry.json"
    write_registry(path, {
        "credit": {"live": "1", "versions": {v: {"bundle": str(p)} for v, p in bundles.items()},
                   "keys": [hash_key(KEY_ALICE)]},
        "bobs": {"live": "1", "versions": {"1": {"bundle": str(bundles["1"])}}, "keys": [hash_key(KEY_BOB)]},
    })
    repository = Repository(path, loader=load_bundle, read_registry=read_registry, poll_interval=3600)
    return create_app(repository=repository, require_keys=require_keys)


@pytest.fixture(scope="module")
def binary_request(bundles, scoring_table):
    spec = load_bundle(bundles["1"]).input_spec
    return v2_binary(table_to_columns(scoring_table.head(1000), spec), spec)


def probabilities(answer) -> np.ndarray:
    length = int(answer.headers["inference-header-content-length"])
    header = json.loads(answer.content[:length])
    assert header["outputs"][0]["name"] == "probability"
    size = header["outputs"][0]["parameters"]["binary_data_size"]
    return np.frombuffer(answer.content[length:length + size], dtype="<f8")


def test_infer_routes_answer_ahead_of_the_router_as_through_it(tmp_path, bundles, scoring_table, binary_request):
    body, headers = binary_request
    spec = load_bundle(bundles["1"]).input_spec
    columns = table_to_columns(scoring_table.head(1000), spec)
    app = make_app(tmp_path, bundles, require_keys=False)
    with TestClient(app) as client:
        for path, version in (("/v2/models/credit/infer", "1"), ("/v2/models/credit/versions/2/infer", "2")):
            answer = client.post(path, content=body, headers=headers)
            assert answer.status_code == 200 and answer.headers["model-version"] == version
            expected = load_bundle(bundles[version]).predict(columns, 1000)["probability"]
            assert np.allclose(probabilities(answer), expected, rtol=0, atol=1e-12)
        assert client.get("/v2/models/credit/infer").status_code == 405  # other methods: the router, as before
        unknown = client.post("/v2/models/credit/versions/9/infer", content=body, headers=headers)
        assert unknown.status_code == 404 and "no version '9'" in unknown.json()["error"]
        # the infer routes no longer need the router at all; every other path still does
        app.router.routes = [r for r in app.router.routes if not r.path.endswith("/infer")]
        assert client.post("/v2/models/credit/infer", content=body, headers=headers).status_code == 200
        assert client.get("/v2/health/ready").status_code == 200


def test_a_key_reaches_its_own_deployment_only_on_the_fast_route(tmp_path, bundles, binary_request):
    body, headers = binary_request
    app = make_app(tmp_path, bundles, require_keys=True)
    with TestClient(app) as client:
        for path in ("/v2/models/credit/infer", "/v2/models/credit/versions/1/infer",
                     "/v2/models/credit/versions/2/infer"):
            answer = client.post(path, content=body, headers={**headers, "Authorization": f"Bearer {KEY_BOB}"})
            assert answer.status_code == 404 and "for this key" in answer.json()["error"], path
            answer = client.post(path, content=body, headers=headers)  # no key at all
            assert answer.status_code == 401, path
        assert app.state.server.body_reads == 0  # refused from the headers alone
        own = client.post("/v2/models/bobs/infer", content=body, headers={**headers,
                                                                          "Authorization": f"Bearer {KEY_BOB}"})
        assert own.status_code == 200
        alice = client.post("/v2/models/credit/versions/2/infer", content=body,
                            headers={**headers, "Authorization": f"Bearer {KEY_ALICE}"})
        assert alice.status_code == 200 and alice.headers["model-version"] == "2"


def odd_request(x: np.ndarray, y: np.ndarray, *, x_shape=None, x_size=None) -> tuple[bytes, str]:
    """Two FP64 tensors after a header padded to an odd length, so the binary data starts unaligned."""
    inputs = [{"name": "x", "datatype": "FP64", "shape": [len(x)] if x_shape is None else x_shape,
               "parameters": {"binary_data_size": 8 * len(x) if x_size is None else x_size}},
              {"name": "y", "datatype": "FP64", "shape": [len(y)], "parameters": {"binary_data_size": 8 * len(y)}}]
    header = json.dumps({"inputs": inputs}).encode()
    if len(header) % 2 == 0:
        header += b" "
    return header + x.astype("<f8").tobytes() + y.astype("<f8").tobytes(), str(len(header))


def test_binary_data_at_an_odd_offset_is_read_aligned_with_the_same_values():
    x, y = np.arange(1000.0) / 7, np.where(np.arange(1000) % 3 == 0, np.nan, np.arange(1000.0))
    body, length = odd_request(x, y)
    assert int(length) % 8
    parsed = parse_infer(body, length, SPEC)
    for name, expected in (("x", x), ("y", y)):
        column = parsed.columns[name]
        assert column.flags.aligned and not column.flags.writeable and column.dtype == np.float64
        assert np.array_equal(column, expected, equal_nan=True)


@pytest.mark.parametrize("case, expect", [
    ("huge shape", "input 'x': binary_data_size 16 does not match shape [1000000000000]"),
    ("huge declared size", "input 'x': binary_data_size 1000000000000000 runs past the end"),
    ("negative size", "input 'x': binary_data_size -8 runs past the end"),
    ("size not an integer", "input 'x': binary_data_size '16' runs past the end"),
    ("truncated", "input 'y': binary_data_size 16 runs past the end"),
    ("size and shape lie together", "input 'y': binary_data_size 16 runs past the end"),  # x took 8 of its bytes
    ("infinity where null is refused", "input 'x' may not be null, NaN or infinite (row 1 is inf)"),
])
def test_bad_binary_data_at_an_odd_offset_is_a_400_naming_the_input(case, expect):
    x, y = np.array([1.0, 2.0]), np.array([3.0, np.nan])
    options = {"huge shape": {"x_shape": [10**12]}, "huge declared size": {"x_size": 10**15},
               "negative size": {"x_size": -8}, "size not an integer": {"x_size": "16"},
               "size and shape lie together": {"x_shape": [3], "x_size": 24}}.get(case, {})
    if case == "infinity where null is refused":
        x = np.array([1.0, np.inf])
    body, length = odd_request(x, y, **options)
    if case == "truncated":
        body = body[:-1]
    with pytest.raises(RequestError, match=expect.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")) as err:
        parse_infer(body, length, SPEC)
    assert err.value.status == 400


@pytest.fixture(scope="module")
def numeric_bundles(tmp_path_factory):
    """LR and LightGBM on the credit table's numeric inputs, standardized with missing indicators: dense X."""
    import lightgbm as lgb
    from sklearn.linear_model import LogisticRegression

    from operators.library.features import FeatureConfig, apply_state, fit_feature_state
    from operators.library.sample_data import credit_default_table
    from operators.values import Fitted
    from pipelines.bundle import write_bundle

    table = credit_default_table(3000, seed=4)
    numeric = [c for c in table.columns if c not in ("default", "customer_id") and table[c].dtype.kind in "fi"]
    state, _ = fit_feature_state(table, FeatureConfig(label="default", mode="manual", columns={
        c: ["standardize", "missing_indicator"] for c in numeric}))
    features = apply_state(table, state)
    lr = LogisticRegression(max_iter=1000).fit(features.X, features.label)
    booster = lgb.train({"objective": "binary", "verbose": -1, "num_threads": 1}, lgb.Dataset(features.X,
                                                                                            features.label), 20)
    root = tmp_path_factory.mktemp("numeric")
    models = {"lr": Fitted("lr", {"feature_names": features.names},
                           arrays={"coef": lr.coef_.reshape(-1), "intercept": lr.intercept_}),
              "lightgbm": Fitted("lightgbm", {"feature_names": features.names},
                                 texts={"model": booster.model_to_string()})}
    return {kind: write_bundle(root / kind, name=kind, version="1", model=model, feature_state=state,
                               holdout=credit_default_table(300, seed=5)) for kind, model in models.items()}


@pytest.mark.parametrize("kind", ["lr", "lightgbm"])
def test_a_bundles_dense_features_are_column_major_with_the_row_major_values(numeric_bundles, kind):
    from operators.library.sample_data import credit_default_table

    bundle = load_bundle(numeric_bundles[kind])  # (its held-out rows replayed within 1e-9 on load)
    columns = table_to_columns(credit_default_table(1000, seed=6), bundle.input_spec)
    rows = feature_kernel.transform(bundle.feature_state, columns, 1000).X
    dense = bundle.features(columns, 1000)
    assert isinstance(dense, np.ndarray) and dense.flags.f_contiguous and rows.flags.c_contiguous
    assert np.isnan(columns["income"]).any()  # missing values go through the fill and the indicator
    assert np.array_equal(dense, rows)  # the same values to the bit, only their order in memory differs
    expected = bundle.scorer.predict_proba(rows)
    got = bundle.predict(columns, 1000)["probability"]
    if kind == "lightgbm":
        assert np.array_equal(got, expected)
    else:  # a matrix-vector product sums in another order over the other layout
        assert np.allclose(got, expected, rtol=0, atol=1e-12)


def block_request(columns: dict, spec=SPEC, **tensor_changes):
    """Every input FP64 in binary, back to back (the block path's case); `tensor_changes`: name -> changed keys."""
    inputs, blobs = [], []
    for s in spec:
        values = np.asarray(columns[s["name"]], dtype="<f8")
        tensor = {"name": s["name"], "datatype": "FP64", "shape": [len(values)],
                  "parameters": {"binary_data_size": values.nbytes}}
        tensor.update(tensor_changes.get(s["name"], {}))
        inputs.append(tensor)
        blobs.append(values.tobytes())
    header = json.dumps({"inputs": inputs}).encode()
    header += b" " * (-len(header) % 8)  # aligned: the block is a view of the body itself
    return header + b"".join(blobs), str(len(header))


def test_an_all_fp64_binary_request_is_one_block_of_views_with_the_values_of_the_json_reading():
    """Every column a contiguous, read-only row of one view of the body (no per-column copy), with the values
    the JSON form of the same rows gives, NaN where JSON says null."""
    x, y = np.arange(1000.0) / 7, np.where(np.arange(1000) % 3 == 0, np.nan, np.arange(1000.0))
    body, length = block_request({"x": x, "y": y})
    parsed = parse_infer(body, length, SPEC)
    json_body = json.dumps({"inputs": [
        {"name": "x", "datatype": "FP64", "shape": [1000], "data": x.tolist()},
        {"name": "y", "datatype": "FP64", "shape": [1000], "data": [None if v != v else v for v in y.tolist()]}]})
    from_json = parse_infer(json_body.encode(), None, SPEC)
    assert parsed.n_rows == from_json.n_rows == 1000
    base = parsed.columns["x"].base
    for name in ("x", "y"):
        column = parsed.columns[name]
        assert column.flags.c_contiguous and not column.flags.writeable and column.base is base
        assert np.array_equal(column, from_json.columns[name], equal_nan=True)


@pytest.mark.parametrize("case, expect", [
    ("NaN where null is refused", "input 'x' may not be null, NaN or infinite (row 2 is nan)"),
    ("infinity where null is refused", "input 'x' may not be null, NaN or infinite (row 0 is -inf)"),
    ("size does not match the shape", "input 'x': binary_data_size 24 does not match shape [2]"),
    ("rows disagree", "input 'y' has 2 rows but the inputs before it have 3"),
    ("FP32 for an FP64 input", "input 'y' has datatype 'FP32'; expected FP64"),
    ("a column twice", "input 'x' is given twice"),
    ("bytes left over", "the binary data is 56 bytes but the inputs' binary_data_size add up to 48"),
])
def test_a_bad_all_fp64_request_is_a_400_naming_the_input(case, expect):
    """What the block path does not take goes the general way, which names the fault, as before."""
    x, y = np.array([1.0, 2.0, 6.0]), np.array([3.0, np.nan, 4.0])
    columns, changes, tail = {"x": x, "y": y}, {}, b""
    if case == "NaN where null is refused":
        columns["x"] = np.array([1.0, 2.0, np.nan])
    elif case == "infinity where null is refused":
        columns["x"] = np.array([-np.inf, 1.0, 2.0])
    elif case == "size does not match the shape":
        changes = {"x": {"shape": [2]}, "y": {"shape": [2], "parameters": {"binary_data_size": 16}}}
        columns["y"] = y[:2]
    elif case == "rows disagree":
        changes = {"y": {"shape": [2], "parameters": {"binary_data_size": 16}}}
        columns["y"] = y[:2]
    elif case == "FP32 for an FP64 input":
        changes = {"y": {"datatype": "FP32"}}
    elif case == "a column twice":
        changes = {"y": {"name": "x"}}
    else:
        columns["x"] = np.array([1.0, 2.0, 5.0])
        tail = b"\0" * 8
    body, length = block_request(columns, **changes)
    with pytest.raises(RequestError, match=expect.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")) as err:
        parse_infer(body + tail, length, SPEC)
    assert err.value.status == 400

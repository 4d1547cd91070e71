"""Per-request work taken off a binary many-row request's path (issue 19, benchmarks/serving/request_instructions.py):
a known inference header is not parsed again, a 0/1 label's rule is decided once per bundle, many-row requests'
score bins are counted many requests at a time, the folded LR takes float64 columns as they are. Each gives the
same answers, and refuses the same requests, as the work it replaces."""
from __future__ import annotations

import json

import numpy as np
import pytest

from operators.kernels import linear
from pipelines import bundle as bundle_module
from pipelines.bundle import load_bundle, table_to_columns
from studio.serving import protocol
from studio.serving.protocol import RequestError, parse_infer
from studio.serving.server import BIN_ROWS, Metrics

SPEC = [{"name": "x", "datatype": "FP64", "nullable": False}, {"name": "y", "datatype": "FP64", "nullable": True}]


def fp64_request(x: np.ndarray, y: np.ndarray, parameters: dict | None = None) -> tuple[bytes, str]:
    inputs = [{"name": n, "datatype": "FP64", "shape": [len(v)], "parameters": {"binary_data_size": 8 * len(v)}}
              for n, v in (("x", x), ("y", y))]
    header = json.dumps({"inputs": inputs, **({"parameters": parameters} if parameters else {})}).encode()
    return header + x.astype("<f8").tobytes() + y.astype("<f8").tobytes(), str(len(header))


@pytest.fixture
def json_reads(monkeypatch):
    """How often the protocol parses JSON (the real parse, counted)."""
    calls = []
    real = protocol._json

    def counted(data, what):
        calls.append(what)
        return real(data, what)

    monkeypatch.setattr(protocol, "_json", counted)
    protocol._KNOWN_HEADERS.clear()
    return calls


def test_a_known_header_is_not_parsed_again_and_each_body_reads_its_own_values(json_reads):
    rng = np.random.default_rng(1)
    first = (rng.random(1000), np.where(np.arange(1000) % 5 == 0, np.nan, rng.random(1000)))
    second = (rng.random(1000), rng.random(1000))
    body1, length = fp64_request(*first, parameters={"binary_data_output": True})
    body2, length2 = fp64_request(*second, parameters={"binary_data_output": True})
    assert length == length2 and body1[:int(length)] == body2[:int(length)]
    one = parse_infer(body1, length, SPEC)
    two = parse_infer(body2, length, SPEC)
    assert len(json_reads) == 1  # before: one JSON parse a request
    for parsed, (x, y) in ((one, first), (two, second)):
        assert parsed.n_rows == 1000 and parsed.binary_output and parsed.id is None
        assert np.array_equal(parsed.columns["x"], x) and np.array_equal(parsed.columns["y"], y, equal_nan=True)
    two.parameters["explain"] = True  # a request's parameters are its own
    assert not parse_infer(body1, length, SPEC).explain


def test_a_known_header_still_refuses_a_bad_value_and_a_wrong_size_naming_the_input(json_reads):
    good, length = fp64_request(np.arange(4.0), np.arange(4.0))
    parse_infer(good, length, SPEC)
    bad, _ = fp64_request(np.array([1.0, np.nan, 3.0, 4.0]), np.arange(4.0))
    with pytest.raises(RequestError, match="input 'x' may not be null"):
        parse_infer(bad, length, SPEC)
    with pytest.raises(RequestError, match="input .y.: binary_data_size 32 runs past the end"):
        parse_infer(good[:-1], length, SPEC)
    with pytest.raises(RequestError, match="outside the body"):
        parse_infer(good[:int(length) - 1], length, SPEC)


def test_known_headers_are_bounded_in_number_and_size(json_reads):
    x, y = np.arange(2.0), np.arange(2.0)
    for i in range(protocol.MAX_KNOWN_HEADERS + 5):  # a new id in every header: each one a miss
        inputs = [{"name": n, "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": 16}} for n in "xy"]
        header = json.dumps({"id": str(i), "inputs": inputs}).encode()
        assert parse_infer(header + x.tobytes() + y.tobytes(), str(len(header)), SPEC).id == str(i)
        assert len(protocol._KNOWN_HEADERS) <= protocol.MAX_KNOWN_HEADERS
    protocol._KNOWN_HEADERS.clear()
    padded = json.dumps({"inputs": inputs, "pad": "x" * protocol.MAX_KNOWN_HEADER_BYTES}).encode()
    parse_infer(padded + x.tobytes() + y.tobytes(), str(len(padded)), SPEC)
    assert not protocol._KNOWN_HEADERS  # a header padded past the bound is read, never kept


def test_a_header_known_under_one_spec_is_read_again_under_another(json_reads):
    body, length = fp64_request(np.array([1.0, 2.0]), np.array([np.nan, 4.0]))
    assert np.isnan(parse_infer(body, length, SPEC).columns["y"][0])
    strict = [dict(s, nullable=False) for s in SPEC]  # (a new version's spec: y may not be null there)
    with pytest.raises(RequestError, match="input 'y' may not be null"):
        parse_infer(body, length, strict)
    assert len(json_reads) == 2


def test_a_zero_one_label_skips_the_rule_per_request_with_the_same_labels(bundles, scoring_table, monkeypatch):
    bundle = load_bundle(bundles["1"])
    calls = []
    real = bundle_module.predicted_values
    monkeypatch.setattr(bundle_module, "predicted_values", lambda *a, **k: calls.append(1) or real(*a, **k))
    columns = table_to_columns(scoring_table.head(1000), bundle.input_spec)
    out = bundle.predict(columns, 1000)
    assert calls == []  # before: the rule decided again on every request
    expected = real(out["probability"] >= bundle.threshold, bundle.classes)
    assert out["label"].dtype == expected.dtype == np.int64 and np.array_equal(out["label"], expected)
    bundle.classes, bundle._zero_one_labels = ["no", "yes"], False  # a text label still goes through the rule
    assert list(bundle.label_values(np.array([True, False]))) == ["yes", "no"] and calls == [1]


def test_many_row_score_bins_are_counted_many_requests_at_a_time(monkeypatch):
    counted = []
    real = np.bincount
    monkeypatch.setattr(np, "bincount", lambda *a, **k: counted.append(1) or real(*a, **k))
    rng = np.random.default_rng(3)
    requests = [rng.random(1000) for _ in range(BIN_ROWS // 1000 + 1)]  # just over BIN_ROWS rows
    metrics = Metrics()
    for p in requests:
        metrics.scores("m", "1", {"probability": p})
    assert len(counted) == 1  # before: one count a request
    metrics.scores("m", "1", {"probability": requests[0]})
    all_rows = np.concatenate(requests + requests[:1])
    expected = np.bincount(np.minimum(np.fmax(all_rows * 10, 0.0), 9.0).astype(np.int64), minlength=10)
    bins = [metrics.registry.get_sample_value("serving_scores_total", {"model": "m", "version": "1",
                                                                        "bin": f"{b / 10:.1f}"}) or 0.0
            for b in range(10)]
    assert bins == expected.tolist()  # the read counts what still waited


def test_the_folded_lr_takes_float64_columns_as_they_are_and_still_refuses_an_infinity_beside_a_nan(monkeypatch):
    folded = linear.FoldedLR(["a", "b"], np.array([0.5, -1.0]), np.array([0.25, 0.0]), np.array([1.0, 2.0]),
                             np.array([False, False]), 0.1)
    calls = []
    real = linear.numeric_column
    monkeypatch.setattr(linear, "numeric_column", lambda *a: calls.append(a[1]) or real(*a))
    a, b = np.array([1.0, np.nan, 3.0]), np.array([0.5, 0.25, -2.0])
    p = folded.probability({"a": a, "b": b}, 3)
    assert calls == []  # before: every column through numeric_column
    filled = np.where(np.isnan(a), 1.0, a)
    expected = 1 / (1 + np.exp(-(0.1 + 0.5 * filled - b + 0.25 * np.isnan(a))))
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12)
    assert folded.probability({"a": a, "b": np.array([1, 2, 3])}, 3) is not None and calls == ["b"]
    assert folded.probability({"a": np.array([np.inf, np.nan, 1.0]), "b": b}, 3) is None
    assert folded.probability({"a": a, "b": np.array([np.inf, 0.0, 1.0])}, 3) is None


def test_the_folded_lr_scores_a_missing_value_as_its_substitute_and_keeps_the_term_without_a_weight():
    a, b = np.array([1.0, np.nan, 3.0, np.nan]), np.array([np.nan, 0.25, -2.0, np.nan])
    # a has a weight: its NaN is the value fill + missing / weight; b has none (missing indicators only)
    folded = linear.FoldedLR(["a", "b"], np.array([0.5, 0.0]), np.array([0.25, 0.75]), np.array([1.0, 2.0]),
                             np.array([False, False]), 0.1)
    assert folded.substitute[0] == 1.0 + 0.25 / 0.5 and np.isnan(folded.substitute[1])  # (before: no substitute)
    logit = 0.1 + 0.5 * np.where(np.isnan(a), 1.0, a) + 0.25 * np.isnan(a) + 0.75 * np.isnan(b)
    np.testing.assert_allclose(folded.probability({"a": a, "b": b}, 4), 1 / (1 + np.exp(-logit)), rtol=0, atol=1e-12)

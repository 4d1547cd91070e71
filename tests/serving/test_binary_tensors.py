"""BYTES tensors decoded with numpy (studio.serving.binary) give exactly what the element-by-element reading
gives, hand the malformed ones back to it (so its error names the fault), and numeric tensors arrive as
zero-copy views of the request body."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from studio.serving.binary import decode_strings, element_offsets
from studio.serving.protocol import RequestError, parse_infer


def encode(values) -> bytes:
    return b"".join(struct.pack("<I", len(v)) + v for v in (s.encode("utf-8") for s in values))


def element_by_element(blob: bytes) -> list:
    values, position = [], 0
    while position < len(blob):
        (length,) = struct.unpack_from("<I", blob, position)
        values.append(blob[position + 4:position + 4 + length].decode("utf-8") or None)
        position += 4 + length
    return values


CASES = {
    "categories": ["rent", "own", "mortgage", "own", "", "rent"] * 300,
    "unicode and NUL bytes": ["café", "naïve", "a\x00b", "a\x00", "a", "日本語", "", "\x00"] * 40,
    "one": ["x"],
    "all empty": ["", "", ""],
    "distinct long strings": [f"customer-{i:06d}-" + "z" * (i % 50) for i in range(2000)],
    "length bytes that look like text": ["\x00\x00\x00\x00" * 3, "abcd", "\x01\x00\x00\x00x"] * 20,
}


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_decoding_equals_the_element_by_element_reading(name):
    values = CASES[name]
    blob = encode(values)
    decoded = decode_strings(memoryview(blob), len(values))
    assert decoded is not None  # numpy's reading, not the fallback
    assert decoded.dtype == object and decoded.tolist() == element_by_element(blob)


def test_random_tensors_decode_like_the_element_by_element_reading():
    rng = np.random.default_rng(3)
    alphabet = list("ab\x00é ") + ["\U0001F600"]
    for _ in range(200):
        n = int(rng.integers(1, 60))
        values = ["".join(rng.choice(alphabet, int(rng.integers(0, 12)))) for _ in range(n)]
        blob = encode(values)
        decoded = decode_strings(memoryview(blob), n)
        assert decoded is not None and decoded.tolist() == element_by_element(blob)


@pytest.mark.parametrize("blob, rows", [
    (encode(["abc", "de"]), 3),  # fewer elements than the shape says
    (encode(["abc", "de"]), 1),  # more
    (encode(["abc"])[:-1], 1),  # the last element runs past the end
    (b"\x05\x00", 1),  # a cut length prefix
    (encode(["ok"]) + b"\x01\x00", 2),  # trailing bytes too short for a prefix
    (struct.pack("<I", 2) + b"\xff\xfe", 1),  # not UTF-8
    (encode(["x" * 70_000]), 1),  # 64 KiB or more: read element by element
    (encode(["ab"] * 4), 10**12),  # a shape no body of this size can hold: nothing sized by it is allocated
])
def test_what_numpy_does_not_read_goes_back_to_the_element_by_element_reading(blob, rows):
    assert decode_strings(memoryview(blob), rows) is None


def test_offsets_are_the_starts_and_lengths_of_the_elements():
    blob = encode(["ab", "", "cde"])
    starts, lengths = element_offsets(np.frombuffer(blob, dtype=np.uint8), 3)
    assert starts.tolist() == [4, 10, 14] and lengths.tolist() == [2, 0, 3]


SPEC = [{"name": "x", "datatype": "FP64", "nullable": True}, {"name": "c", "datatype": "BYTES", "nullable": False}]


def request(values: np.ndarray, strings: list[str]) -> tuple[bytes, str]:
    import json

    numbers, texts = values.astype("<f8").tobytes(), encode(strings)
    header = json.dumps({"inputs": [
        {"name": "x", "datatype": "FP64", "shape": [len(values)], "parameters": {"binary_data_size": len(numbers)}},
        {"name": "c", "datatype": "BYTES", "shape": [len(strings)], "parameters": {"binary_data_size": len(texts)}},
    ]}).encode()
    return header + numbers + texts, str(len(header))


def test_a_binary_request_parses_numbers_as_a_view_of_the_body_and_strings_by_numpy():
    body, header_length = request(np.array([1.5, np.nan, 3.0]), ["a", "b", "a"])
    parsed = parse_infer(body, header_length, SPEC)
    x = parsed.columns["x"]
    assert x.dtype == np.float64 and not x.flags.owndata and not x.flags.writeable  # no copy of the body
    assert np.array_equal(x, [1.5, np.nan, 3.0], equal_nan=True)
    assert parsed.columns["c"].tolist() == ["a", "b", "a"]


def test_an_empty_string_in_a_column_that_may_not_be_null_is_refused_on_the_numpy_path():
    body, header_length = request(np.array([1.0, 2.0]), ["a", ""])
    with pytest.raises(RequestError, match="'c' may not be null"):
        parse_infer(body, header_length, SPEC)


def test_a_huge_shape_with_a_small_body_is_a_400_naming_the_input():
    import json

    texts = encode(["a", "b"])
    header = json.dumps({"inputs": [
        {"name": "x", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": 16}},
        {"name": "c", "datatype": "BYTES", "shape": [10**12], "parameters": {"binary_data_size": len(texts)}},
    ]}).encode()
    with pytest.raises(RequestError, match="'c'"):
        parse_infer(header + np.zeros(2).tobytes() + texts, str(len(header)), SPEC)


def test_a_column_that_may_not_be_null_is_checked_from_the_lengths():
    full, gap = ["rent", "own", "a\x00"] * 50, ["rent", "own", ""] * 50
    assert decode_strings(memoryview(encode(full)), len(full), nullable=False).tolist() == full
    assert decode_strings(memoryview(encode(gap)), len(gap), nullable=True)[2] is None
    assert decode_strings(memoryview(encode(gap)), len(gap), nullable=False) is None  # the slow reading names it
    body, header_length = request(np.arange(150.0), gap)
    with pytest.raises(RequestError, match="input 'c' may not be null"):
        parse_infer(body, header_length, SPEC)


def test_both_successor_lookups_give_the_same_offsets(monkeypatch):
    """The table of positions (up to DENSE_LOOKUP bytes) and the binary search beyond it agree, on tensors whose
    length prefixes put candidates everywhere (lengths 0-255 and text with NUL bytes)."""
    from studio.serving import binary

    rng = np.random.default_rng(11)
    values = ["\x00" * int(rng.integers(0, 3)) + "x" * int(rng.integers(0, 255)) for _ in range(500)] + ["", "\x00"]
    blob = encode(values)
    data = np.frombuffer(blob, dtype=np.uint8)
    by_table = element_offsets(data, len(values))
    monkeypatch.setattr(binary, "DENSE_LOOKUP", 0)
    by_search = element_offsets(data, len(values))
    assert by_table is not None and by_search is not None
    for a, b in zip(by_table, by_search, strict=True):
        assert np.array_equal(a, b)
    assert decode_strings(memoryview(blob), len(values)).tolist() == element_by_element(blob)
    monkeypatch.setattr(binary, "DENSE_LOOKUP", 8 << 20)
    assert decode_strings(memoryview(blob), len(values)).tolist() == element_by_element(blob)
    assert element_offsets(data, len(values) + 1) is None and element_offsets(data[:-1], len(values)) is None

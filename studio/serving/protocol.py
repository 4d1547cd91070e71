"""The Open Inference Protocol (KServe v2) on the wire: parse infer requests, JSON and the binary tensor data
extension, into one numpy column per model input; encode outputs back. Pure functions over bytes, numpy and
an input spec, so the rules are tested without a server.

An input spec is a list of dicts, one per raw column: name, datatype ("FP64", "INT64" or "BYTES"), nullable.
A bad request raises `RequestError` whose message names the input at fault; the app answers it as
{"error": "..."} with the error's HTTP status.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Mapping

import numpy as np
import orjson

from .binary import decode_strings
from .traffic import MAX_REQUEST_ID

HEADER_LENGTH = "inference-header-content-length"

# Wire datatypes -> numpy dtypes (little-endian, as the binary extension specifies).
NUMPY = {
    "BOOL": np.dtype("?"), "INT8": np.dtype("<i1"), "INT16": np.dtype("<i2"), "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"), "UINT8": np.dtype("<u1"), "UINT16": np.dtype("<u2"), "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"), "FP16": np.dtype("<f2"), "FP32": np.dtype("<f4"), "FP64": np.dtype("<f8"),
}
INTEGER = {"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"}
# Which wire datatypes a model input of a given datatype accepts. Integers widen exactly into FP64;
# FP32 / FP16 do not (their values would differ from the batch scores), so they are refused.
ACCEPTS = {"FP64": INTEGER | {"FP64"}, "INT64": INTEGER, "BYTES": {"BYTES"}}


class RequestError(Exception):
    """A bad request: answered with `status` and {"error": message}."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class InferRequest:
    id: str | None
    columns: dict[str, np.ndarray]
    n_rows: int
    parameters: dict[str, Any] = field(default_factory=dict)
    # output name -> wants binary; empty means "every output", in JSON unless binary_data_output is set
    outputs: dict[str, bool] = field(default_factory=dict)
    binary_output: bool = False

    @property
    def explain(self) -> bool:
        return bool(self.parameters.get("explain")) or "contributions" in self.outputs


def _json(data: bytes, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RequestError(f"{what} is not valid JSON: {exc}") from None


def parse_infer(body: bytes, header_length: str | None, spec: list[dict]) -> InferRequest:
    """An infer request body (with the binary extension's header length, if any) as numpy columns."""
    if header_length is not None:
        known = _known_header(body, header_length, spec)
        if known is not None:
            return known
    header, binary = _split_body(body, header_length)
    inputs = header.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise RequestError("the request has no \"inputs\" list")
    parameters = header.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise RequestError("\"parameters\" must be an object")
    layout = _fp64_layout(inputs, len(binary), spec) if header_length is not None else None
    block = _fp64_columns(binary, *layout) if layout is not None else None
    if block is not None:
        columns, n_rows = block, layout[1]
    else:
        one_row = _one_row_columns(inputs, spec) if header_length is None else None
        columns, n_rows = (one_row, 1) if one_row is not None else _columns_of(inputs, binary,
                                                                              header_length is not None, spec)
    request_id = str(header["id"]) if header.get("id") is not None else None
    if request_id is not None and len(request_id) > MAX_REQUEST_ID:  # echoed, and logged with every row
        raise RequestError(f"\"id\" must be at most {MAX_REQUEST_ID} characters; it has {len(request_id)}")
    request = InferRequest(request_id, columns, n_rows, parameters,
                           _requested_outputs(header), bool(parameters.get("binary_data_output")))
    if layout is not None:
        _remember_header(body[:int(header_length)], spec, layout, request)
    return request


# A client sends the same inference header with every request of one shape (the same inputs, shapes and sizes;
# only the binary data differs), so an all-FP64 header that was read once is known by its bytes: the next
# request with these bytes skips the JSON parse and the per-input checks (about half of a 6-input, 1,000-row
# request's parse). Keyed by the header's bytes, kept with the spec it was checked against (a version's spec is
# built once per load; a header met with another spec is read again). Bounded: emptied when full (a client
# sending a new id in every header only ever misses), and a header over MAX_KNOWN_HEADER_BYTES is not kept (at
# most 256 x 64 KB held, whatever a client pads its headers with).
_KNOWN_HEADERS: dict[bytes, tuple] = {}
MAX_KNOWN_HEADERS = 256
MAX_KNOWN_HEADER_BYTES = 1 << 16


def _remember_header(header: bytes, spec: list[dict], layout: tuple, request: InferRequest) -> None:
    if len(header) > MAX_KNOWN_HEADER_BYTES:
        return
    if len(_KNOWN_HEADERS) >= MAX_KNOWN_HEADERS:
        _KNOWN_HEADERS.clear()
    _KNOWN_HEADERS[header] = (spec, layout, request.id, dict(request.parameters), dict(request.outputs),
                              request.binary_output)


def _known_header(body: bytes, header_length: str, spec: list[dict]) -> InferRequest | None:
    """The request, when its header's bytes are a known all-FP64 header for this spec and its binary data is
    what that header says; None otherwise (the full reading then parses it, or names what is wrong)."""
    if not header_length.isdigit():
        return None
    json_size = int(header_length)
    known = _KNOWN_HEADERS.get(body[:json_size]) if json_size <= len(body) else None
    if known is None or known[0] is not spec:
        return None
    _, layout, request_id, parameters, outputs, binary_output = known
    names, n_rows, _ = layout
    if len(body) - json_size != len(names) * n_rows * 8:
        return None
    columns = _fp64_columns(_binary_data(body, json_size), *layout)
    if columns is None:
        return None
    return InferRequest(request_id, columns, n_rows, dict(parameters), dict(outputs), binary_output)


def _binary_data(body: bytes, json_size: int) -> memoryview:
    """The binary data after a header of `json_size` bytes. Numeric tensors are views of it: at an odd offset,
    numpy's kernels take their slow unaligned path on every column (about 7 us of a 6-column, 1,000-row request's
    features), so there a copy (about 2 us) starts on an aligned address."""
    binary = memoryview(body)[json_size:]
    return memoryview(bytes(binary)) if json_size % 8 and len(binary) else binary


def _split_body(body: bytes, header_length: str | None) -> tuple[dict, memoryview]:
    """(the JSON header as an object, the binary data after it): the whole body is JSON without the header."""
    if header_length is not None:
        try:
            json_size = int(header_length)
        except ValueError:
            raise RequestError(f"Inference-Header-Content-Length {header_length!r} is not an integer") from None
        if json_size < 0 or json_size > len(body):
            raise RequestError(f"Inference-Header-Content-Length {json_size} is outside the body of "
                               f"{len(body)} bytes")
        header, binary = _json(body[:json_size], "the inference header"), _binary_data(body, json_size)
    else:
        header, binary = _json(body, "the request body"), memoryview(b"")
    if not isinstance(header, dict):
        raise RequestError("the request must be a JSON object with an \"inputs\" list")
    return header, binary


def _columns_of(inputs: list, binary: memoryview, has_header: bool,
                spec: list[dict]) -> tuple[dict[str, np.ndarray], int]:
    """Every input tensor as a column, the binary data consumed in order; all rows agree, none is missing."""
    by_name = {s["name"]: s for s in spec}
    columns: dict[str, np.ndarray] = {}
    n_rows = None
    offset = 0
    for tensor in inputs:
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise RequestError("each input must be an object with a \"name\"")
        name = tensor["name"]
        if name in columns:
            raise RequestError(f"input {name!r} is given twice")
        column_spec = by_name.get(name)
        if column_spec is None:
            raise RequestError(f"unknown input {name!r}; the model's inputs are: {', '.join(by_name)}")
        rows = _rows_of(tensor, name)
        column, offset = _column_of(tensor, rows, column_spec, binary, offset, has_header)
        if n_rows is None:
            n_rows = rows
        elif rows != n_rows:
            raise RequestError(f"input {name!r} has {rows} rows but the inputs before it have {n_rows}")
        columns[name] = column
    if offset != len(binary):
        raise RequestError(f"the binary data is {len(binary)} bytes but the inputs' binary_data_size add up "
                           f"to {offset}")
    missing = [s["name"] for s in spec if s["name"] not in columns]
    if missing:
        raise RequestError(f"missing input {missing[0]!r}" + (f" (and {len(missing) - 1} more)"
                                                               if len(missing) > 1 else ""))
    return columns, n_rows or 0


_FP64_VALUE = (float, int)


def _fp64_layout(inputs: list, binary_size: int, spec: list[dict]) -> tuple[list[str], int, list[int]] | None:
    """The commonest binary request, every input an FP64 tensor of shape [n] with exactly its n * 8 bytes, the
    tensors' data back to back filling the binary data: (the inputs' names in order, n, the positions of those
    that may not be null). None for anything else, which the general reading then parses or names."""
    if len(inputs) != len(spec) or not inputs:
        return None
    by_name = {s["name"]: s for s in spec}
    names: list[str] = []
    n_rows = None
    for tensor in inputs:
        if type(tensor) is not dict:
            return None
        name, shape = tensor.get("name"), tensor.get("shape")
        column_spec = by_name.get(name)
        if (column_spec is None or column_spec["datatype"] != "FP64" or tensor.get("datatype") != "FP64"
                or type(shape) is not list or len(shape) != 1 or type(shape[0]) is not int
                or tensor.get("parameters") != {"binary_data_size": shape[0] * 8} or "data" in tensor):
            return None
        if n_rows is None:
            n_rows = shape[0]
        elif shape[0] != n_rows:
            return None
        names.append(name)
    if len(set(names)) != len(names) or binary_size != len(names) * n_rows * 8:
        return None
    return names, n_rows, [i for i, name in enumerate(names) if not by_name[name].get("nullable", True)]


def _fp64_columns(binary: memoryview, names: list[str], n_rows: int, strict: list[int]) -> dict[str, np.ndarray] | None:
    """The binary data of a _fp64_layout as one (inputs, n) view, each column a row (a contiguous view, no copy),
    the non-finite check of the columns that may not be null by sums (reading each tensor on its own cost 41 us
    of a 6-input, 1,000-row request; this, 10). None when a strict column has a NaN or an infinity (or its sum
    overflows): the general reading then checks value by value and names it."""
    block = np.frombuffer(binary, dtype="<f8").reshape(len(names), n_rows)
    if strict and n_rows:
        if len(strict) == len(names):
            if not math.isfinite(np.add.reduce(block.reshape(-1))):  # finite unless a value is NaN or infinite
                return None
        else:  # a sum per column (no copy of the strict rows)
            sums = np.add.reduce(block, axis=1).tolist()
            if not all(math.isfinite(sums[i]) for i in strict):
                return None
    return dict(zip(names, block, strict=True))


def _one_row_columns(inputs: list, spec: list[dict]) -> dict[str, np.ndarray] | None:
    """The columns of the commonest request, one row in JSON with every input given once by its own datatype,
    read straight from the parsed values (the general reading costs several times the row's scoring). None for
    anything else, which the general reading then parses or refuses with its message."""
    if len(inputs) != len(spec):
        return None
    by_name = {s["name"]: s for s in spec}
    columns: dict[str, np.ndarray] = {}
    for tensor in inputs:
        if type(tensor) is not dict or tensor.get("parameters"):
            return None
        name, data = tensor.get("name"), tensor.get("data")
        column_spec = by_name.get(name)
        if (column_spec is None or name in columns or type(data) is not list or len(data) != 1
                or tensor.get("shape") not in ([1], [1, 1]) or tensor.get("datatype") != column_spec["datatype"]):
            return None
        value, datatype = data[0], column_spec["datatype"]
        if value is None or (value == "" and datatype == "BYTES"):  # "" is missing, as in a CSV file
            if not column_spec.get("nullable", True):
                return None
            value = None
        if datatype == "BYTES" and (value is None or type(value) is str):
            columns[name] = np.array([value], dtype=object)
        elif datatype == "FP64" and (value is None or type(value) in _FP64_VALUE):
            columns[name] = np.array([np.nan if value is None else value], dtype=np.float64)
        else:
            return None
    return columns


def _column_of(tensor: dict, rows: int, column_spec: dict, binary: memoryview, offset: int,
               has_header: bool) -> tuple[np.ndarray, int]:
    """One tensor's column, from its "data" or from binary data at `offset`; and the offset after it."""
    name = column_spec["name"]
    tensor_parameters = tensor.get("parameters") or {}
    size = tensor_parameters.get("binary_data_size") if isinstance(tensor_parameters, dict) else None
    if size is None:
        if "data" not in tensor:
            raise RequestError(f"input {name!r} has neither \"data\" nor binary_data_size")
        return _from_json(tensor["data"], tensor.get("datatype"), rows, column_spec), offset
    if not has_header:
        raise RequestError(f"input {name!r} has binary_data_size but the request has no "
                           "Inference-Header-Content-Length header")
    if not isinstance(size, int) or size < 0 or offset + size > len(binary):
        raise RequestError(f"input {name!r}: binary_data_size {size!r} runs past the end of the "
                           f"binary data ({len(binary)} bytes after the header)")
    column = _from_binary(binary[offset:offset + size], tensor.get("datatype"), rows, column_spec)
    return column, offset + size


def _requested_outputs(header: dict) -> dict[str, bool]:
    """Output name -> wants binary, as the request's "outputs" list asks."""
    outputs: dict[str, bool] = {}
    for out in header.get("outputs") or []:
        if not isinstance(out, dict) or not isinstance(out.get("name"), str):
            raise RequestError("each requested output must be an object with a \"name\"")
        out_parameters = out.get("parameters") or {}
        outputs[out["name"]] = bool(out_parameters.get("binary_data")) if isinstance(out_parameters, dict) else False
    return outputs


def _rows_of(tensor: dict, name: str) -> int:
    """The row count of a column tensor: shape [n] or [n, 1]."""
    shape = tensor.get("shape")
    if type(shape) is list and len(shape) == 1 and type(shape[0]) is int and shape[0] >= 0:  # the usual [n]
        return shape[0]
    if (not isinstance(shape, list) or not shape or len(shape) > 2
            or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
            or (len(shape) == 2 and shape[1] != 1)):
        raise RequestError(f"input {name!r} has shape {shape!r}; a column must have shape [n] or [n, 1]")
    return shape[0]


def _check_datatype(datatype: Any, column_spec: dict) -> str:
    name, expected = column_spec["name"], column_spec["datatype"]
    if datatype not in ACCEPTS[expected]:
        raise RequestError(f"input {name!r} has datatype {datatype!r}; expected {expected}")
    return datatype


def _from_json(data: Any, datatype: Any, rows: int, column_spec: dict) -> np.ndarray:
    name, expected = column_spec["name"], column_spec["datatype"]
    _check_datatype(datatype, column_spec)
    if not isinstance(data, list):
        raise RequestError(f"input {name!r}: \"data\" must be a list")
    if data and isinstance(data[0], list):  # row-major nested form of shape [n, 1]
        data = [v for row in data for v in (row if isinstance(row, list) else [row])]
    if len(data) != rows:
        raise RequestError(f"input {name!r} has {len(data)} values but its shape says {rows}")
    if expected == "BYTES":
        bad = next((v for v in data if not (isinstance(v, str) or v is None)), _NONE)
        if bad is not _NONE:
            raise RequestError(f"input {name!r} is BYTES: its values must be strings, not {bad!r}")
        return _strings(data, column_spec)
    array = np.asarray(data)
    if array.dtype.kind in "iu" or array.dtype.kind == "f":
        pass
    elif array.dtype.kind == "O" and all(v is None or (type(v) in (int, float)) for v in data):
        if not column_spec.get("nullable", True):
            raise RequestError(f"input {name!r} may not be null")
        if expected == "INT64":
            raise RequestError(f"input {name!r} is INT64 and has a null; send it as FP64 or fill it")
        array = np.array(data, dtype=np.float64)  # None -> NaN
    else:
        raise RequestError(f"input {name!r} is {expected}: its values must be numbers"
                           + ("" if array.dtype.kind != "f" else ""))
    if expected == "INT64":
        return array.astype(np.int64)
    return array.astype(np.float64)


_NONE = object()


def _strings(values: list, column_spec: dict) -> np.ndarray:
    """A BYTES column as an object array with None for missing. An empty string is a missing value, as in a
    CSV file, so that the binary extension (which has no null) and JSON mean the same thing."""
    array = np.array(values, dtype=object)
    array[array == ""] = None
    if not column_spec.get("nullable", True) and None in array:  # (numpy compares in one pass)
        raise RequestError(f"input {column_spec['name']!r} may not be null (or empty)")
    return array


def _from_binary(raw: memoryview, datatype: Any, rows: int, column_spec: dict) -> np.ndarray:
    name, expected = column_spec["name"], column_spec["datatype"]
    _check_datatype(datatype, column_spec)
    if datatype == "BYTES":
        # numpy's reading (which checks a column that may not be null from the lengths); None: read element by
        # element, which names the fault
        decoded = decode_strings(raw, rows, column_spec.get("nullable", True))
        if decoded is not None:
            return decoded
        values, position, data = [], 0, bytes(raw)
        while position < len(data):
            if position + 4 > len(data):
                raise RequestError(f"input {name!r}: BYTES data ends inside a 4-byte length prefix")
            (length,) = struct.unpack_from("<I", data, position)
            position += 4
            if position + length > len(data):
                raise RequestError(f"input {name!r}: a BYTES element of {length} bytes runs past the end of "
                                   "its binary data")
            try:
                values.append(data[position:position + length].decode("utf-8"))
            except UnicodeDecodeError:
                raise RequestError(f"input {name!r}: element {len(values)} is not UTF-8 text") from None
            position += length
        if len(values) != rows:
            raise RequestError(f"input {name!r} has {len(values)} values but its shape says {rows}")
        return _strings(values, column_spec)
    dtype = NUMPY[datatype]
    if len(raw) != rows * dtype.itemsize:
        raise RequestError(f"input {name!r}: binary_data_size {len(raw)} does not match shape [{rows}] of "
                           f"{datatype} ({rows * dtype.itemsize} bytes)")
    array = np.frombuffer(raw, dtype=dtype)  # a read-only view of the body: no copy when the types agree
    _refuse_non_finite(array, column_spec)
    wanted = np.int64 if expected == "INT64" else np.float64
    return array if array.dtype == wanted else array.astype(wanted)


def _refuse_non_finite(array: np.ndarray, column_spec: dict) -> None:
    """The binary extension has no null: a NaN is how a float column says "missing", and an infinity is no
    value the model was trained on. A column that may not be null refuses both, as JSON's null is refused."""
    if array.dtype.kind != "f" or column_spec.get("nullable", True):
        return
    total = np.add.reduce(array, dtype=np.float64)  # finite unless a value is NaN or infinite (or it overflows)
    if total - total == 0:
        return
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise RequestError(f"input {column_spec['name']!r} may not be null, NaN or infinite "
                           f"(row {int(bad[0])} is {array[bad[0]]})")


def parse_records(body: bytes, spec: list[dict]) -> tuple[dict[str, np.ndarray], int]:
    """The v1 form: {"instances": [{column: value, ...}, ...]} (or a bare list of records) as columns.
    A key absent from a record is a null, allowed only for nullable columns."""
    payload = _json(body, "the request body")
    records = payload.get("instances") if isinstance(payload, dict) else payload
    if not isinstance(records, list) or not records:
        raise RequestError("the request must be {\"instances\": [{column: value, ...}, ...]} with at least one row")
    if not all(isinstance(r, dict) for r in records):
        raise RequestError("each instance must be an object mapping column names to values")
    known = {s["name"] for s in spec}
    for i, record in enumerate(records):
        extra = next((k for k in record if k not in known), None)
        if extra is not None:
            raise RequestError(f"instance {i} has unknown column {extra!r}; the model's inputs are: "
                               f"{', '.join(s['name'] for s in spec)}")
    columns = {}
    for column_spec in spec:
        name = column_spec["name"]
        values = [r.get(name) for r in records]
        if not column_spec.get("nullable", True):
            row = next((i for i, v in enumerate(values) if v is None), None)
            if row is not None:
                raise RequestError(f"instance {row} lacks column {name!r}, which may not be null")
        datatype = "BYTES" if column_spec["datatype"] == "BYTES" else column_spec["datatype"]
        try:
            columns[name] = _from_json(values, datatype, len(records), column_spec)
        except RequestError as exc:
            raise RequestError(exc.message.replace("input ", "column ", 1)) from None
    return columns, len(records)


# ------------------------------------------------------------------------------------------- responses
def output_datatype(array: np.ndarray) -> str:
    if array.dtype.kind == "f":
        return "FP64"
    if array.dtype.kind in "iu":
        return "INT64"
    if array.dtype.kind == "b":
        return "BOOL"
    return "BYTES"  # (object arrays of strings: a label's class names)


def encode_infer(model_name: str, model_version: str, request: InferRequest, outputs: Mapping[str, np.ndarray],
                 parameters: dict | None = None) -> tuple[bytes, str | None]:
    """The infer response body and, when any output goes as binary, the JSON header's length."""
    wanted = request.outputs or {name: request.binary_output for name in outputs}
    unknown = [name for name in wanted if name not in outputs]
    if unknown:
        raise RequestError(f"unknown output {unknown[0]!r}; the model's outputs are: {', '.join(outputs)}")
    tensors, blobs = [], []
    for name, binary in wanted.items():
        array = outputs[name]
        datatype = output_datatype(array)
        tensor = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary and datatype in ("FP64", "INT64"):
            blob = np.ascontiguousarray(array, dtype=NUMPY[datatype]).tobytes()
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        elif datatype == "BYTES":  # orjson writes numeric arrays itself, not object ones
            tensor["data"] = array.ravel().tolist()
        else:
            tensor["data"] = np.ascontiguousarray(array).ravel()
        tensors.append(tensor)
    response = {"model_name": model_name, "model_version": model_version, "outputs": tensors}
    if request.id is not None:
        response["id"] = request.id
    if parameters:
        response["parameters"] = parameters
    header = orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return b"".join([header, *blobs]), str(len(header))

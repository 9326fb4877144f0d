"""The safetensors container for float32 tensors, standard library only.

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length N, N bytes of JSON

    {"__metadata__": {"key": "value", ...},
     "name": {"dtype": "F32", "shape": [d0, d1], "data_offsets": [b, e]}, ...}

then the tensors' bytes, offsets relative to the end of the header. This
module writes float32 little-endian tensors, back to back in the given order,
with the header padded with spaces to a multiple of 8 bytes (as the reference
implementation and elman's writer do), and reads such files strictly. A
tensor is (shape, flat row-major values).
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

Tensor = Tuple[List[int], Sequence[float]]  # (shape, row-major values)

# Refuse absurd headers before decoding them (the reference implementation
# caps the header at 100 MB as well).
MAX_HEADER_BYTES = 100_000_000


class SafetensorsError(ValueError):
    """A malformed file, or tensors that cannot be written."""


def _reject_duplicates(pairs: List[Tuple[str, object]]) -> Dict[str, object]:
    """json object hook: a dict, or SafetensorsError on a repeated key."""
    result: Dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise SafetensorsError(f"duplicated key {key!r} in the header")
        result[key] = value
    return result


def encode(tensors: Mapping[str, Tensor],
           metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """The bytes of a file holding `tensors` (float32) and `metadata`."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks: List[bytes] = []
    offset = 0
    for name, (shape, values) in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("'__metadata__' cannot name a tensor")
        if math.prod(shape) != len(values):
            raise SafetensorsError(f"tensor {name!r}: shape {list(shape)} "
                                   f"does not hold {len(values)} values")
        chunk = struct.pack(f"<{len(values)}f", *values)
        header[name] = {
            "dtype": "F32",
            "shape": list(shape),
            "data_offsets": [offset, offset + len(chunk)],
        }
        chunks.append(chunk)
        offset += len(chunk)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def _tensor(name: str, info: object, body: memoryview,
            fail) -> Tuple[Tensor, int, int]:
    """One header entry's tensor and its byte range, checked."""
    if not isinstance(info, dict) or set(info) != {"dtype", "shape",
                                                   "data_offsets"}:
        raise fail(f"tensor {name!r}: expected dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype != "F32":
        raise fail(f"tensor {name!r} has dtype {dtype}, only F32 is "
                   f"supported")
    if not (isinstance(shape, list) and all(
            type(d) is int and d >= 0 for d in shape)):
        raise fail(f"tensor {name!r}: bad shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(
            type(o) is int for o in offsets)):
        raise fail(f"tensor {name!r}: bad data_offsets {offsets!r}")
    begin, end = offsets
    count = math.prod(shape)
    if not 0 <= begin <= end <= len(body) or end - begin != 4 * count:
        raise fail(f"tensor {name!r}: data_offsets [{begin}, {end}] do not "
                   f"hold {count} floats within {len(body)} bytes")
    values = struct.unpack_from(f"<{count}f", body, begin)
    return (shape, values), begin, end


def decode(data: bytes, source: str = "<bytes>") -> Tuple[Dict[str, Tensor],
                                                          Dict[str, str]]:
    """(tensors in the header's order, metadata) of a float32 file.

    Raises SafetensorsError, its message starting with `source`, for a short
    file, a header that is not a JSON object (or repeats a key), metadata
    that is not strings, a dtype other than F32, a shape that does not match
    its byte range, and ranges that overlap, leave holes or run past the end.
    """

    def fail(message: str) -> SafetensorsError:
        return SafetensorsError(f"{source}: {message}")

    if len(data) < 8:
        raise fail(f"{len(data)} bytes, too short for a safetensors file")
    (header_size,) = struct.unpack_from("<Q", data, 0)
    if header_size > min(len(data) - 8, MAX_HEADER_BYTES):
        raise fail(f"header length {header_size} exceeds the file "
                   f"({len(data)} bytes)")
    try:
        header = json.loads(bytes(data[8:8 + header_size]).decode("utf-8"),
                            object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise fail(f"header is not valid JSON: {error}") from None
    except SafetensorsError as error:
        raise fail(str(error)) from None
    if not isinstance(header, dict):
        raise fail("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise fail("__metadata__ must map strings to strings")

    body = memoryview(data)[8 + header_size:]
    tensors: Dict[str, Tensor] = {}
    spans = []
    for name, info in header.items():
        tensors[name], begin, end = _tensor(name, info, body, fail)
        spans.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise fail(f"tensor {name!r} starts at byte {begin}, expected "
                       f"{position} (overlap or hole)")
        position = end
    if position != len(body):
        raise fail(f"{len(body) - position} bytes after the last tensor")
    return tensors, metadata


def write_file(path: str | os.PathLike, data: bytes) -> None:
    """Writes `data` to a temporary file beside `path`, then renames it over
    `path`: `path` never holds a partial file."""
    temporary = f"{os.fspath(path)}.tmp{os.getpid()}"
    try:
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write(path: str | os.PathLike, tensors: Mapping[str, Tensor],
          metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes encode(tensors, metadata) to `path`."""
    write_file(path, encode(tensors, metadata))


def read(path: str | os.PathLike) -> Tuple[Dict[str, Tensor],
                                           Dict[str, str]]:
    """decode() of the file at `path`."""
    with open(path, "rb") as file:
        return decode(file.read(), os.fspath(path))

"""Canonical safetensors bytes for NamedWeights, and strict decoding of untrusted update bytes.

The encoder writes the safetensors layout itself (header JSON with sorted keys,
compact separators, space padding to 8 bytes, little-endian data in name order)
so that the same numbers always give the same bytes, whatever safetensors
version is installed (a test checks it equals `safetensors.numpy.save`).

The decoder is the project's own strict parser of the safetensors format, not
the library's: what validators vote on must not depend on a library's error
text or on the order in which it happens to check tensors. It checks, in a
fixed order and always in the same way, and raises InvalidUpdateError whose
reason and detail are derived only from the task's specs and integers:

  too_large       more bytes than the task's limit
  malformed       not a safetensors container: bad header length, header too
                  long for the model, not UTF-8 JSON, duplicate keys, entries
                  not {dtype, shape, data_offsets}, unknown dtype, offsets that
                  overlap, leave gaps or do not match their shapes
  missing_tensor  a tensor of the model is absent (the first in name order named)
  extra_tensor    tensors the model does not have (counted, never echoed)
  wrong_dtype     a model tensor that is not F32 (first in name order)
  wrong_shape     a model tensor of another shape (first in name order)

Memory stays bounded by a small constant times the input: the header may be at
most `header_limit(specs)` bytes (what a container of the model's tensors can
need), so parsing it is cheap whatever the input, and the only large allocation
is one float32 copy of the tensors. Never pickle.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

import numpy as np

from offchain.fl.errors import InvalidUpdateError, InvalidWeightsError
from offchain.fl.reasons import Reason
from offchain.types import NamedWeights, TensorSpec

# safetensors dtype code -> bytes per element (the format's full list).
_ST_SIZES: dict[str, int] = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
}  # fmt: skip
_ALIGN = 8  # safetensors pads the header with spaces to this multiple
_METADATA = "__metadata__"
_ENTRY_KEYS = {"data_offsets", "dtype", "shape"}


def encode_weights(weights: NamedWeights) -> bytes:
    """Canonical safetensors bytes of float32 `weights` (tensors in name order)."""
    header: dict[str, dict[str, object]] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(weights):
        data = _float32_bytes(name, weights[name])
        header[name] = {
            "dtype": "F32",
            "shape": list(weights[name].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    head += b" " * (-len(head) % _ALIGN)
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


def header_limit(specs: Sequence[TensorSpec]) -> int:
    """Most header bytes a container of these tensors can need: generous per tensor (name, shape,
    offsets) plus room for metadata. Longer headers are refused before they are parsed."""
    return 4096 + sum(256 + 2 * len(spec.name.encode()) + 24 * len(spec.shape) for spec in specs)


def decode_weights(data: bytes, specs: Sequence[TensorSpec], max_bytes: int) -> NamedWeights:
    """Decode untrusted `data` into NamedWeights that match `specs` exactly (see the module doc)."""
    if len(data) > max_bytes:
        raise InvalidUpdateError(Reason.TOO_LARGE, f"more than {max_bytes} bytes")
    expected = sorted(specs, key=lambda s: s.name)
    if len({s.name for s in expected}) != len(expected):
        raise InvalidWeightsError("tensor specs contain duplicate names")
    entries, body = _parse(memoryview(data), header_limit(expected))
    _check_names(set(entries), [s.name for s in expected])
    for spec in expected:
        if entries[spec.name][0] != "F32":
            raise InvalidUpdateError(Reason.WRONG_DTYPE, f"{spec.name}: not F32")
    for spec in expected:
        if entries[spec.name][1] != tuple(spec.shape):
            raise InvalidUpdateError(Reason.WRONG_SHAPE, f"{spec.name}: shape is not {list(spec.shape)}")
    out: NamedWeights = {}
    for spec in expected:
        _, shape, start, end = entries[spec.name]
        # One copy: a writable float32 array in native order, detached from the input bytes.
        out[spec.name] = np.frombuffer(body[start:end], dtype="<f4").astype(np.float32).reshape(shape)
    return out


Entry = tuple[str, tuple[int, ...], int, int]  # dtype, shape, start, end (offsets into the data)


def _parse(data: memoryview, limit: int) -> tuple[dict[str, Entry], memoryview]:
    if len(data) < 8:
        raise InvalidUpdateError(Reason.MALFORMED, "shorter than the 8-byte header length")
    (size,) = struct.unpack("<Q", data[:8])
    if size > limit or size > len(data) - 8:
        raise InvalidUpdateError(Reason.MALFORMED, "header length out of range")
    try:
        header = json.loads(bytes(data[8 : 8 + size]).decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidUpdateError(Reason.MALFORMED, "header is not UTF-8 JSON without duplicate keys") from None
    if not isinstance(header, dict):
        raise InvalidUpdateError(Reason.MALFORMED, "header is not a JSON object")
    body = data[8 + size :]
    entries = _entries(header)
    _check_layout(entries, len(body))
    return entries, body


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _entries(header: dict[str, object]) -> dict[str, Entry]:
    metadata = header.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise InvalidUpdateError(Reason.MALFORMED, "metadata is not a map of strings")
    entries: dict[str, Entry] = {}
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            raise InvalidUpdateError(Reason.MALFORMED, "a tensor entry is not {dtype, shape, data_offsets}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _ST_SIZES:
            raise InvalidUpdateError(Reason.MALFORMED, "a tensor has an unknown dtype")
        if not _is_list_of_uints(shape) or not _is_list_of_uints(offsets) or len(offsets) != 2:
            raise InvalidUpdateError(Reason.MALFORMED, "a tensor's shape or offsets are not unsigned integers")
        start, end = offsets
        if end < start or (end - start) != _ST_SIZES[dtype] * _product(shape):
            raise InvalidUpdateError(Reason.MALFORMED, "a tensor's offsets do not match its shape")
        entries[name] = (dtype, tuple(shape), start, end)
    return entries


def _check_layout(entries: dict[str, Entry], body_size: int) -> None:
    # As the format requires: tensors packed back to back from offset 0 to the end of the data.
    position = 0
    for _, _, start, end in sorted(entries.values(), key=lambda e: (e[2], e[3])):
        if start != position:
            raise InvalidUpdateError(Reason.MALFORMED, "tensor data overlaps or leaves gaps")
        position = end
    if position != body_size:
        raise InvalidUpdateError(Reason.MALFORMED, "tensor data does not cover the byte buffer exactly")


def _is_list_of_uints(value: object) -> bool:
    return isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)


def _product(shape: list[int]) -> int:
    count = 1
    for dim in shape:
        count *= dim  # Python ints: a huge declared shape cannot overflow, it just fails to match
    return count


def _check_names(found: set[str], expected: list[str]) -> None:
    missing = [name for name in expected if name not in found]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise InvalidUpdateError(Reason.MISSING_TENSOR, f"{missing[0]} is missing{more}")
    extra = len(found) - len(expected)
    if extra:
        raise InvalidUpdateError(Reason.EXTRA_TENSOR, f"{extra} tensors the model does not have")


def _float32_bytes(name: str, array: np.ndarray) -> bytes:
    if not isinstance(name, str) or not name:
        raise InvalidWeightsError(f"tensor name must be a non-empty string, got {name!r}")
    if not isinstance(array, np.ndarray) or array.dtype != np.float32:
        kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise InvalidWeightsError(f"tensor {name!r} must be a float32 numpy array, got {kind}")
    return np.ascontiguousarray(array, dtype="<f4").tobytes()

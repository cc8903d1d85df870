"""Canonical safetensors bytes for NamedWeights, and strict decoding against specs.

The encoder writes the safetensors layout itself (header JSON with sorted keys,
compact separators, space padding to 8 bytes, little-endian data in name order)
so that the same numbers always give the same bytes, whatever safetensors
version is installed. For safetensors 0.8 this equals `safetensors.numpy.save`
byte for byte (a test checks it). Decoding uses safetensors' own parser, which
validates header and offsets; never pickle.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence

import numpy as np
from safetensors import SafetensorError, deserialize

from offchain.fl.errors import InvalidUpdateError, InvalidWeightsError
from offchain.fl.reasons import Reason
from offchain.types import NamedWeights, TensorSpec

# numpy dtype name -> safetensors dtype code (only what models here use).
_ST_DTYPES: dict[str, str] = {
    "float16": "F16",
    "float32": "F32",
    "float64": "F64",
    "int32": "I32",
    "int64": "I64",
}
_ALIGN = 8  # safetensors pads the header with spaces to this multiple


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


def decode_weights(data: bytes, specs: Sequence[TensorSpec], max_bytes: int) -> NamedWeights:
    """Decode `data` into NamedWeights that match `specs` exactly.

    Raises InvalidUpdateError with reason too_large, malformed, missing_tensor,
    extra_tensor, wrong_dtype or wrong_shape (checked in that order).
    """
    if len(data) > max_bytes:
        raise InvalidUpdateError(Reason.TOO_LARGE, f"{len(data)} bytes exceed the limit of {max_bytes}")
    views = _parse(data)
    _check_names(set(views), [spec.name for spec in specs])
    return {spec.name: _to_array(spec, views[spec.name]) for spec in sorted(specs, key=lambda s: s.name)}


def _float32_bytes(name: str, array: np.ndarray) -> bytes:
    if not isinstance(name, str) or not name:
        raise InvalidWeightsError(f"tensor name must be a non-empty string, got {name!r}")
    if not isinstance(array, np.ndarray) or array.dtype != np.float32:
        kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
        raise InvalidWeightsError(f"tensor {name!r} must be a float32 numpy array, got {kind}")
    return np.ascontiguousarray(array, dtype="<f4").tobytes()


def _parse(data: bytes) -> dict[str, dict[str, object]]:
    # safetensors' Rust parser validates header length, JSON and offsets.
    try:
        return {name: view for name, view in deserialize(bytes(data))}
    except (SafetensorError, ValueError, TypeError, OverflowError) as exc:
        raise InvalidUpdateError(Reason.MALFORMED, f"not a safetensors container: {exc}") from None


def _check_names(found: set[str], expected: list[str]) -> None:
    if len(set(expected)) != len(expected):
        raise InvalidWeightsError("tensor specs contain duplicate names")
    missing = sorted(set(expected) - found)
    if missing:
        raise InvalidUpdateError(Reason.MISSING_TENSOR, f"missing tensors: {', '.join(missing)}")
    extra = sorted(found - set(expected))
    if extra:
        raise InvalidUpdateError(Reason.EXTRA_TENSOR, f"unexpected tensors: {', '.join(extra)}")


def _to_array(spec: TensorSpec, view: dict[str, object]) -> np.ndarray:
    code = _ST_DTYPES.get(spec.dtype)
    if code is None:
        raise InvalidWeightsError(f"unsupported spec dtype {spec.dtype!r} for {spec.name!r}")
    if view["dtype"] != code:
        raise InvalidUpdateError(Reason.WRONG_DTYPE, f"{spec.name}: dtype {view['dtype']}, expected {code}")
    shape = tuple(view["shape"])  # type: ignore[arg-type]
    if shape != tuple(spec.shape):
        raise InvalidUpdateError(Reason.WRONG_SHAPE, f"{spec.name}: shape {list(shape)}, expected {list(spec.shape)}")
    little = np.dtype(spec.dtype).newbyteorder("<")
    # Copy: a writable array in native byte order, detached from the input bytes.
    return np.frombuffer(view["data"], dtype=little).reshape(shape).astype(spec.dtype)  # type: ignore[arg-type]

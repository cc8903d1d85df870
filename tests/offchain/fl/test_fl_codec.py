from __future__ import annotations

import numpy as np
import pytest
from fl_helpers import specs_of, weights
from safetensors.numpy import save

from offchain.fl.codec import decode_weights, encode_weights
from offchain.fl.errors import InvalidUpdateError, InvalidWeightsError
from offchain.fl.reasons import Reason
from offchain.types import TensorSpec

MODEL = weights(kernel=np.arange(6, dtype=np.float32).reshape(2, 3), bias=[0.5, -1.0, 2.0], scale=np.float32(3))
SPECS = specs_of(MODEL)
LIMIT = 1 << 20


def _reason(data: bytes, specs: list[TensorSpec] = SPECS, max_bytes: int = LIMIT) -> Reason:
    with pytest.raises(InvalidUpdateError) as info:
        decode_weights(data, specs, max_bytes=max_bytes)
    return info.value.reason


def test_round_trip_preserves_names_shapes_and_bits() -> None:
    special = weights(w=np.array([-0.0, np.float32(1e-45), 3.4e38, 1 / 3], dtype=np.float32))
    for model in (MODEL, special):
        out = decode_weights(encode_weights(model), specs_of(model), max_bytes=LIMIT)
        assert list(out) == sorted(model)
        for name, array in model.items():
            assert out[name].dtype == np.float32 and out[name].shape == array.shape
            assert out[name].tobytes() == array.tobytes()
            assert out[name].flags.writeable


def test_same_numbers_give_same_bytes_whatever_dict_order() -> None:
    reordered = dict(reversed(list(MODEL.items())))
    copied = {k: v.copy(order="F") for k, v in MODEL.items()}
    assert encode_weights(MODEL) == encode_weights(reordered) == encode_weights(copied)


def test_encoding_is_the_safetensors_file_format() -> None:
    assert encode_weights(MODEL) == save(MODEL)


def test_encoder_refuses_non_float32() -> None:
    with pytest.raises(InvalidWeightsError):
        encode_weights({"0000/w": np.zeros(2, dtype=np.float64)})


def test_size_limit_is_checked_before_parsing() -> None:
    data = encode_weights(MODEL)
    assert _reason(data, max_bytes=len(data) - 1) == Reason.TOO_LARGE
    assert _reason(b"\xff" * 100, max_bytes=99) == Reason.TOO_LARGE
    assert decode_weights(data, SPECS, max_bytes=len(data))


@pytest.mark.parametrize(
    "garbage",
    [b"", b"garbage", b"\xff" * 16, b"\x08" + b"\x00" * 7 + b"[]      ", b"\x08" + b"\x00" * 7 + b'{"a":1} '],
)
def test_garbage_is_malformed(garbage: bytes) -> None:
    assert _reason(garbage) == Reason.MALFORMED


def test_truncated_or_padded_bytes_are_malformed() -> None:
    data = encode_weights(MODEL)
    assert _reason(data[:-1]) == Reason.MALFORMED
    assert _reason(data + b"\x00") == Reason.MALFORMED


def test_missing_tensor() -> None:
    partial = {k: v for k, v in MODEL.items() if not k.endswith("bias")}
    assert _reason(encode_weights(partial)) == Reason.MISSING_TENSOR


def test_extra_tensor() -> None:
    assert _reason(encode_weights({**MODEL, "0009/extra": np.zeros(1, np.float32)})) == Reason.EXTRA_TENSOR


def test_wrong_shape() -> None:
    reshaped = {**MODEL, "0001/kernel": MODEL["0001/kernel"].reshape(3, 2)}
    assert _reason(encode_weights(reshaped)) == Reason.WRONG_SHAPE


def test_wrong_dtype() -> None:
    doubled = {**MODEL, "0000/bias": MODEL["0000/bias"].astype(np.float64)}
    assert _reason(save(doubled)) == Reason.WRONG_DTYPE
    halved = {**MODEL, "0000/bias": MODEL["0000/bias"].astype(np.float16)}
    assert _reason(save(halved)) == Reason.WRONG_DTYPE

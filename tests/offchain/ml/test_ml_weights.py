"""Weights leave and re-enter a model under canonical names, and mismatches are refused."""

from __future__ import annotations

import numpy as np
import pytest

from offchain.ml._keras import load_keras
from offchain.ml.errors import WeightsError
from offchain.ml.models import build_model, model_from_spec, model_to_spec
from offchain.ml.weights import get_weights, set_weights, weight_specs
from offchain.types import TensorSpec


def test_weight_specs_name_every_tensor_in_model_order() -> None:
    specs = weight_specs(build_model("mlp", input_shape=(64,), num_classes=10))
    assert specs == (
        TensorSpec("0000/dense_0/kernel", (64, 10)),
        TensorSpec("0001/dense_0/bias", (10,)),
        TensorSpec("0002/dense_1/kernel", (10, 10)),
        TensorSpec("0003/dense_1/bias", (10,)),
    )
    assert [s.name for s in specs] == sorted(s.name for s in specs)


def test_get_weights_returns_float32_copies_matching_the_specs() -> None:
    model = build_model("cnn", input_shape=(28, 28, 1))
    weights = get_weights(model)
    assert [(name, array.shape) for name, array in weights.items()] == [(s.name, s.shape) for s in weight_specs(model)]
    assert all(array.dtype == np.float32 for array in weights.values())
    weights["0000/conv_0/kernel"][...] = 0.0
    assert np.any(get_weights(model)["0000/conv_0/kernel"] != 0.0), "get_weights must copy"


def test_set_then_get_round_trips_into_a_model_built_from_the_spec() -> None:
    source = build_model("mlp", input_shape=(64,), seed=1)
    target = model_from_spec(model_to_spec(build_model("mlp", input_shape=(64,), seed=2)))
    set_weights(target, get_weights(source))
    assert all(np.array_equal(a, b) for a, b in zip(get_weights(source).values(), get_weights(target).values()))


def _weights_with(**changes: np.ndarray | None) -> tuple:
    model = build_model("mlp", input_shape=(64,), seed=0)
    weights = get_weights(model)
    for key, value in changes.items():
        name = key.replace("__", "/")
        if value is None:
            del weights[name]
        else:
            weights[name] = value
    return model, weights


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"0003/dense_1__bias": None}, r"missing tensor '0003/dense_1/bias'"),
        ({"0004/extra__bias": np.zeros(3, np.float32)}, r"unexpected tensor '0004/extra/bias'"),
        ({"0001/dense_0__bias": np.zeros(11, np.float32)}, r"shape \(11,\), expected \(10,\)"),
        ({"0001/dense_0__bias": np.zeros(10, np.float64)}, r"dtype float64, expected float32"),
    ],
)
def test_mismatched_weights_are_refused_and_the_model_is_unchanged(changes: dict, message: str) -> None:
    model, weights = _weights_with(**changes)
    before = get_weights(model)
    for name in weights:
        if name in before and weights[name].shape == before[name].shape:
            weights[name] = weights[name] + 1.0  # would show if a partial load happened
    with pytest.raises(WeightsError, match=message):
        set_weights(model, weights)
    assert all(np.array_equal(before[name], value) for name, value in get_weights(model).items())


def test_a_python_built_sequential_and_its_spec_agree_on_weight_names() -> None:
    # A Sequential built in Python prefixes variable paths with its name; loaded from its spec it does not.
    keras = load_keras()
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden")], name="encoder")
    inputs = keras.Input((4,))
    nested = keras.Model(inputs, keras.layers.Dense(2, name="head")(inner(inputs)), name="outer")
    flat = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, name="d0"), keras.layers.Dense(10, name="d1")])
    for model in (flat, nested):
        assert weight_specs(model_from_spec(model_to_spec(model))) == weight_specs(model)
    names = [spec.name for spec in weight_specs(nested)]
    assert names == ["0000/hidden/kernel", "0001/hidden/bias", "0002/head/kernel", "0003/head/bias"]

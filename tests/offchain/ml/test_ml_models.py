"""Presets build the documented architectures; specs round-trip and load safely."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest

from offchain.ml._keras import load_keras
from offchain.ml.errors import ModelSpecError
from offchain.ml.models import build_model, model_from_spec, model_to_spec
from offchain.ml.weights import get_weights, weight_specs

if TYPE_CHECKING:
    import keras


def _layer_summary(model: keras.Model) -> list[tuple[str, str, tuple[int | None, ...]]]:
    return [(layer.__class__.__name__, layer.name, tuple(layer.output.shape)) for layer in model.layers]


def test_mlp_preset_is_784_relu_10_softmax_10() -> None:
    model = build_model("mlp", input_shape=(28, 28, 1), num_classes=10)
    assert model.input_shape == (None, 784)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [(d.units, d.activation.__name__) for d in dense] == [(10, "relu"), (10, "softmax")]
    assert model.count_params() == 784 * 10 + 10 + 10 * 10 + 10


def test_mlp_preset_follows_input_shape_and_class_count() -> None:
    model = build_model("mlp", input_shape=(8, 8, 1), num_classes=3)
    assert model.input_shape == (None, 64) and model.output_shape == (None, 3)


def test_cnn_preset_has_the_fedavg_paper_layers_and_582k_parameters() -> None:
    model = build_model("cnn", input_shape=(28, 28, 1), num_classes=10)
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dense"]
    assert model.count_params() == 582_026
    assert model.output_shape == (None, 10)


def test_cnn_preset_refuses_inputs_too_small_for_its_convolutions() -> None:
    with pytest.raises(ModelSpecError, match=r"use the mlp preset"):
        build_model("cnn", input_shape=(8, 8, 1))


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(ModelSpecError, match=r"mlp, cnn"):
        build_model("resnet", input_shape=(28, 28, 1))


def test_same_seed_same_initial_weights_other_seed_other_weights() -> None:
    first = get_weights(build_model("mlp", input_shape=(64,), seed=4))
    again = get_weights(build_model("mlp", input_shape=(64,), seed=4))
    other = get_weights(build_model("mlp", input_shape=(64,), seed=5))
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert not np.array_equal(first["0000/dense_0/kernel"], other["0000/dense_0/kernel"])


@pytest.mark.parametrize("preset", ["mlp", "cnn"])
def test_spec_round_trip_keeps_architecture_and_weight_specs(preset: str) -> None:
    model = build_model(preset, input_shape=(28, 28, 1), seed=1)
    spec = model_to_spec(model)
    loaded = model_from_spec(spec)
    assert _layer_summary(loaded) == _layer_summary(model)
    assert weight_specs(loaded) == weight_specs(model)
    assert model_to_spec(loaded) == spec, "a spec must be a fixed point, so its bytes (and CID) are stable"


def test_spec_carries_no_compile_settings_or_weights() -> None:
    model = build_model("mlp", input_shape=(64,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    spec = model_to_spec(model)
    assert "compile_config" not in json.loads(spec)
    assert len(spec) < 10_000


def test_spec_with_a_lambda_layer_is_refused() -> None:
    keras = load_keras()
    inputs = keras.Input(shape=(4,))
    outputs = keras.layers.Lambda(lambda x: x * 2.0)(inputs)
    spec = model_to_spec(keras.Model(inputs, outputs))
    with pytest.raises(ModelSpecError, match=r"Lambda .*arbitrary code"):
        model_from_spec(spec)


def test_spec_referring_to_code_outside_keras_is_refused() -> None:
    config = json.loads(model_to_spec(build_model("mlp", input_shape=(64,))))
    dense = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")
    dense["config"]["activation"] = {
        "module": "os",
        "class_name": "function",
        "config": "system",
        "registered_name": "function",
    }
    with pytest.raises(ModelSpecError, match=r"module 'os'"):
        model_from_spec(json.dumps(config))
    dense["config"]["activation"] = "relu"
    dense["registered_name"] = "evil_pkg>Dense"
    with pytest.raises(ModelSpecError, match=r"custom object 'evil_pkg>Dense'"):
        model_from_spec(json.dumps(config))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not json", r"not valid JSON"),
        ("[1, 2]", r"JSON object"),
        ('{"module": "keras.layers", "class_name": "Dense", "config": {"units": 3}}', r"Dense, not a Keras model"),
    ],
)
def test_malformed_spec_is_refused(spec: str, message: str) -> None:
    with pytest.raises(ModelSpecError, match=message):
        model_from_spec(spec)

"""Model presets and safe (de)serialisation of model architectures as JSON specs.

A spec is the Keras JSON config of a model, without compile settings and
without weights: the architecture a task publishes. Loading one never runs
arbitrary code (no Lambda layers, no custom classes or functions).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from offchain.ml._keras import load_keras
from offchain.ml.errors import ModelSpecError

if TYPE_CHECKING:
    import keras

PRESETS: tuple[str, ...] = ("mlp", "cnn")

# Refused even in safe mode: Lambda layers and "__lambda__" objects carry Python
# code, TFSMLayer loads a SavedModel from the local filesystem.
_REFUSED_CLASSES = frozenset({"Lambda", "__lambda__", "TFSMLayer"})

# Keys Keras adds to a model's JSON that are not architecture.
_NON_ARCHITECTURE_KEYS = ("compile_config",)


def build_model(
    preset: str,
    *,
    input_shape: tuple[int, ...],
    num_classes: int = 10,
    seed: int = 0,
) -> keras.Model:
    """Build a preset model with seeded initial weights (same seed, same weights)."""
    if num_classes < 2:
        raise ModelSpecError(f"num_classes must be at least 2, got {num_classes}")
    if preset == "mlp":
        return _mlp(input_shape, num_classes, seed)
    if preset == "cnn":
        return _cnn(input_shape, num_classes, seed)
    raise ModelSpecError(f"unknown model preset {preset!r}: choose one of {', '.join(PRESETS)}")


def _init(seed: int, offset: int) -> Any:
    # One seed per layer: a seeded Keras initializer yields the same values on
    # every call, so two layers sharing a seed would start identical.
    return load_keras().initializers.GlorotUniform(seed=seed * 1000 + offset)


def _mlp(input_shape: tuple[int, ...], num_classes: int, seed: int) -> keras.Model:
    # The user's example model: 784 inputs -> Dense 10 relu -> Dense softmax.
    keras = load_keras()
    inputs = keras.Input(shape=(math.prod(input_shape),), name="input")
    hidden = keras.layers.Dense(10, activation="relu", kernel_initializer=_init(seed, 0), name="dense_0")(inputs)
    outputs = keras.layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed, 1), name="dense_1")(
        hidden
    )
    # Functional, not Sequential: a Sequential built from an Input prefixes
    # variable paths with its own name, and a reloaded one does not.
    return keras.Model(inputs, outputs, name="mlp")


def _cnn(input_shape: tuple[int, ...], num_classes: int, seed: int) -> keras.Model:
    # The FedAvg paper's CNN ("valid" convolutions: 582k parameters at 28x28x1).
    if len(input_shape) != 3 or min(input_shape[:2]) < 16:
        raise ModelSpecError(
            f"the cnn preset needs image inputs (height, width, channels) of at least 16x16, "
            f"got {input_shape}: use the mlp preset for small or flat inputs"
        )
    keras = load_keras()
    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    x = layers.Conv2D(32, 5, activation="relu", kernel_initializer=_init(seed, 0), name="conv_0")(inputs)
    x = layers.MaxPooling2D(2, name="pool_0")(x)
    x = layers.Conv2D(64, 5, activation="relu", kernel_initializer=_init(seed, 1), name="conv_1")(x)
    x = layers.MaxPooling2D(2, name="pool_1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", kernel_initializer=_init(seed, 2), name="dense_0")(x)
    outputs = layers.Dense(num_classes, activation="softmax", kernel_initializer=_init(seed, 3), name="dense_1")(x)
    return keras.Model(inputs, outputs, name="cnn")


def model_to_spec(model: keras.Model) -> str:
    """The model's architecture as canonical JSON (sorted keys, no compile settings)."""
    config = json.loads(model.to_json())
    for key in _NON_ARCHITECTURE_KEYS:
        config.pop(key, None)
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def model_from_spec(spec: str) -> keras.Model:
    """Build a model from a spec, refusing anything that could run foreign code."""
    try:
        config = json.loads(spec)
    except json.JSONDecodeError as exc:
        raise ModelSpecError(f"model spec is not valid JSON ({exc}): pass the output of model_to_spec") from exc
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelSpecError("model spec must be a JSON object with a 'class_name': pass the output of model_to_spec")
    _check_safe(config)
    for key in _NON_ARCHITECTURE_KEYS:
        config.pop(key, None)
    keras = load_keras()
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:  # Keras raises ValueError, TypeError, KeyError... for bad configs.
        raise ModelSpecError(f"model spec could not be loaded: {exc}") from exc
    if not isinstance(model, keras.Model):
        raise ModelSpecError(f"model spec describes a {type(model).__name__}, not a Keras model")
    return model


def _check_safe(config: dict[str, Any]) -> None:
    for obj in _serialized_objects(config):
        class_name = str(obj.get("class_name"))
        module = obj.get("module")
        registered = obj.get("registered_name")
        if class_name in _REFUSED_CLASSES:
            raise ModelSpecError(
                f"model spec contains a {class_name} object, which can run arbitrary code: "
                "refused; express the model with built-in Keras layers only"
            )
        if module is not None and not str(module).startswith("keras"):
            raise ModelSpecError(
                f"model spec refers to {class_name!r} from module {module!r}: only built-in Keras objects are allowed"
            )
        if registered not in (None, class_name):
            raise ModelSpecError(
                f"model spec refers to the custom object {registered!r}: only built-in Keras objects are allowed"
            )


def _serialized_objects(node: Any) -> Iterator[dict[str, Any]]:
    # Every dict carrying a "class_name" is a serialized Keras object, at any depth.
    if isinstance(node, dict):
        if "class_name" in node:
            yield node
        for value in node.values():
            yield from _serialized_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _serialized_objects(value)

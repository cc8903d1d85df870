"""A model's weights as canonically named float32 arrays, and back.

Names are f"{index:04d}/{variable.path}" over `model.weights`, so sorting by
name gives the model's order. A model built in Python (e.g. a Sequential) may
prefix paths with its own name or a sub-model's, which the same model loaded
from its spec does not: those model-name prefixes are dropped, so a model and
`model_from_spec(model_to_spec(model))` always agree on names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from offchain.ml._keras import load_keras
from offchain.ml.errors import WeightsError
from offchain.types import NamedWeights, TensorSpec

if TYPE_CHECKING:
    import keras

_DTYPE = "float32"


def weight_specs(model: keras.Model) -> tuple[TensorSpec, ...]:
    """Name, shape and dtype of every weight tensor, in the model's order."""
    return tuple(
        TensorSpec(name=name, shape=tuple(int(d) for d in variable.shape), dtype=_DTYPE)
        for name, variable in zip(weight_names(model), model.weights)
    )


def get_weights(model: keras.Model) -> NamedWeights:
    """Copy the model's weights out as float32 arrays keyed by canonical name."""
    return {
        name: np.array(variable.numpy(), dtype=np.float32, copy=True)
        for name, variable in zip(weight_names(model), model.weights)
    }


def set_weights(model: keras.Model, weights: NamedWeights) -> None:
    """Load named weights into the model; nothing is changed unless all match."""
    specs = weight_specs(model)
    problems = weight_mismatches(specs, weights)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise WeightsError(
            f"weights do not fit model {model.name!r}: {shown}. "
            "Use weights produced by get_weights on a model built from the same spec"
        )
    for spec, variable in zip(specs, model.weights):
        variable.assign(weights[spec.name])


def weight_mismatches(specs: tuple[TensorSpec, ...], weights: NamedWeights) -> list[str]:
    """Every way the weights differ from the specs (empty list: they match)."""
    expected = {spec.name: spec for spec in specs}
    problems = [f"missing tensor {name!r}" for name in expected if name not in weights]
    problems += [f"unexpected tensor {name!r}" for name in weights if name not in expected]
    for name, array in weights.items():
        spec = expected.get(name)
        if spec is None:
            continue
        if tuple(np.shape(array)) != spec.shape:
            problems.append(f"tensor {name!r} has shape {tuple(np.shape(array))}, expected {spec.shape}")
        if np.asarray(array).dtype != np.dtype(spec.dtype):
            problems.append(f"tensor {name!r} has dtype {np.asarray(array).dtype}, expected {spec.dtype}")
    return problems


def weight_names(model: keras.Model) -> list[str]:
    """Canonical names of `model.weights`, in order."""
    model_names = _model_names(model)
    return [f"{index:04d}/{_path(variable.path, model_names)}" for index, variable in enumerate(model.weights)]


def _model_names(model: keras.Model) -> set[str]:
    # The model's own name and those of models nested in it, at any depth.
    keras = load_keras()
    names = {model.name}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            names |= _model_names(layer)
    return names


def _path(path: str, model_names: set[str]) -> str:
    parts = path.split("/")
    # Keep at least "<layer>/<variable>", even if a layer shares a model's name.
    while len(parts) > 2 and parts[0] in model_names:
        parts = parts[1:]
    return "/".join(parts)
